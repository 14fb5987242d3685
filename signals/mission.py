"""The mission's fixed facts, defined once: when Mars 1 left, and the flights the emulator flies.

Light (no numpy): the command line lists the scenarios from here without loading a model.

- ``historical``: the flight as it went, with the nitrogen leak of the orientation
  system from the first days (the pressures fall to zero and the probe is spun up), and
  no midcourse correction.
- ``nominal``: the flight as planned: no leak, and the planned midcourse correction
  towards a close flyby.
"""

from datetime import UTC, datetime
from typing import Final

#: Launch of Mars 1 (Molniya 8K78, Baikonur), ICD §1: the trajectory's and the state
#: model's time origin.
LAUNCH_UTC: Final[datetime] = datetime(1962, 11, 1, 16, 14, 16, tzinfo=UTC)

#: The flights (trajectory and state model) the emulator can fly, by name.
SCENARIOS: Final[tuple[str, ...]] = ("historical", "nominal")
