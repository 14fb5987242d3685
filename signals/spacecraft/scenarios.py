"""The flights the emulator can fly, by name (light: the command line lists them).

- ``historical``: the flight as it went, with the nitrogen leak of the orientation
  system from the first days (the pressures fall to zero and the probe is spun up).
- ``nominal``: the flight as planned, without the leak.
"""

from typing import Final

SCENARIOS: Final[tuple[str, ...]] = ("historical", "nominal")
