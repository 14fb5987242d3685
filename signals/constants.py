"""Physical constants used on both sides of the link, defined once (SI or km, unit in each name)."""

from typing import Final

#: Speed of light in vacuum (m/s, exact).
C_M_S: Final = 299_792_458.0

#: Speed of light (km/s).
C_KM_S: Final = C_M_S / 1e3
#: Gravitational parameters of DE421 (km^3/s^2). Mars, Jupiter and Saturn: their systems.
GM_SUN_KM3_S2: Final = 1.32712440040944e11
GM_VENUS_KM3_S2: Final = 324_858.592
GM_EARTH_KM3_S2: Final = 398_600.436233
GM_MOON_KM3_S2: Final = 4_902.800076
GM_MARS_KM3_S2: Final = 42_828.375214
GM_JUPITER_KM3_S2: Final = 126_712_764.8
GM_SATURN_KM3_S2: Final = 37_940_585.2
#: Astronomical unit (km).
AU_KM: Final = 149_597_870.700
#: Equatorial radius of the Earth (km, WGS-84): orbit altitudes and the dipole's L-shells
#: are measured in it.
EARTH_RADIUS_KM: Final = 6378.137

#: Boltzmann constant (J/K, exact).
BOLTZMANN_J_PER_K: Final = 1.380649e-23
