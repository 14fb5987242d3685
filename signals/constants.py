"""Physical constants used on both sides of the link, defined once."""

from typing import Final

#: Speed of light in vacuum (m/s, exact).
C_M_S: Final = 299_792_458.0
