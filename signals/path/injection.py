"""The injection the trajectory is integrated from, read from ``signals/data/trajectory.toml``.

In: the TOML text (the package's own file, or another path). Out: an :class:`Injection`
(the parking orbit and the Blok L burn, fitted offline by ``tools/fit_trajectory.py`` to
the documented flyby) and the ``nominal`` scenario's :class:`Correction` (the planned
midcourse manoeuvre). A missing section or key, or a value of the wrong kind, raises
:class:`~signals.errors.ConfigError` naming the file, the section and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Final

from signals.errors import ConfigError
from signals.mission import LAUNCH_UTC

#: The fitted injection (``tools/fit_trajectory.py`` writes it).
TRAJECTORY_FILE: Final = "trajectory.toml"

_INJECTION_KEYS: Final = {
    "parking_orbit": (
        "site_latitude_deg",
        "site_longitude_deg",
        "altitude_km",
        "inclination_deg",
    ),
    "burn": ("coast_s", "dv_along_km_s", "dv_cross_km_s"),
}


@dataclass(frozen=True)
class Injection:
    """The parking orbit and the Blok L burn that sent the probe towards Mars.

    Attributes
    ----------
    site_latitude_deg, site_longitude_deg : float
        Launch site (deg N, deg E). The parking orbit's plane holds the site at launch,
        on a northbound (ascending) pass.
    altitude_km : float
        Altitude of the circular parking orbit above the equatorial radius (km).
    inclination_deg : float
        Inclination of the parking orbit to the equator (deg).
    coast_s : float
        Time from launch to the burn (s); the probe coasts on the parking orbit until then.
    dv_along_km_s, dv_cross_km_s : float
        The impulsive burn (km/s): along the orbital velocity and along the orbit normal.
    """

    site_latitude_deg: float
    site_longitude_deg: float
    altitude_km: float
    inclination_deg: float
    coast_s: float
    dv_along_km_s: float
    dv_cross_km_s: float

    @property
    def burn_utc(self) -> datetime:
        """Epoch of the burn (UTC)."""
        return LAUNCH_UTC + timedelta(seconds=self.coast_s)


@dataclass(frozen=True)
class Correction:
    """An impulsive midcourse correction: the ``nominal`` scenario's planned manoeuvre.

    Attributes
    ----------
    epoch_utc : datetime
        When the velocity is added (UTC).
    dv_km_s : tuple of float
        The velocity added (km/s), ICRF axes.
    """

    epoch_utc: datetime
    dv_km_s: tuple[float, float, float]


def parse_injection(text: str, where: str = TRAJECTORY_FILE) -> Injection:
    """Read an :class:`Injection` from TOML text; a bad file raises :class:`ConfigError`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    values: dict[str, float] = {}
    for section, keys in _INJECTION_KEYS.items():
        table = doc.get(section)
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: missing section [{section}]")
        for key in keys:
            value = table.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where}: [{section}] key {key!r} must be a number")
            values[key] = float(value)
    if values["altitude_km"] <= 0 or values["coast_s"] < 0:
        raise ConfigError(f"{where}: altitude_km must be positive and coast_s not negative")
    if not abs(values["site_latitude_deg"]) <= values["inclination_deg"] <= 180.0:
        raise ConfigError(f"{where}: inclination_deg must reach the site's latitude")
    return Injection(
        site_latitude_deg=values["site_latitude_deg"],
        site_longitude_deg=values["site_longitude_deg"],
        altitude_km=values["altitude_km"],
        inclination_deg=values["inclination_deg"],
        coast_s=values["coast_s"],
        dv_along_km_s=values["dv_along_km_s"],
        dv_cross_km_s=values["dv_cross_km_s"],
    )


def _trajectory_text(path: Path | None) -> tuple[str, str]:
    if path is None:
        text = resources.files("signals").joinpath("data", TRAJECTORY_FILE).read_text("utf-8")
        return text, TRAJECTORY_FILE
    return Path(path).read_text("utf-8"), str(path)


def load_injection(path: Path | None = None) -> Injection:
    """The fitted injection from ``signals/data/trajectory.toml`` (or ``path``)."""
    return parse_injection(*_trajectory_text(path))


def parse_correction(text: str, where: str = TRAJECTORY_FILE) -> Correction:
    """Read the ``[nominal_correction]`` section; a bad one raises :class:`ConfigError`."""
    try:
        table = tomllib.loads(text).get("nominal_correction")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: missing section [nominal_correction]")
    epoch = table.get("epoch_utc")
    if not isinstance(epoch, datetime):
        raise ConfigError(f"{where}: [nominal_correction] key 'epoch_utc' must be a date-time")
    epoch = epoch.replace(tzinfo=UTC) if epoch.tzinfo is None else epoch.astimezone(UTC)
    dv = []
    for key in ("dv_x_km_s", "dv_y_km_s", "dv_z_km_s"):
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: [nominal_correction] key {key!r} must be a number")
        dv.append(float(value))
    return Correction(epoch_utc=epoch, dv_km_s=(dv[0], dv[1], dv[2]))


def load_correction(path: Path | None = None) -> Correction:
    """The ``nominal`` scenario's fitted midcourse correction (``trajectory.toml``)."""
    return parse_correction(*_trajectory_text(path))
