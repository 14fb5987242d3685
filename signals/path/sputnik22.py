"""The sister craft, 2MV-4 No.1 (Sputnik 22): its parking orbit, the failure, the passes.

Launched 1962-10-24 17:55:04 UTC by a Molniya 8K78 from Baikonur Site 1/5 into a parking
orbit of 180 × 485 km inclined 64.9°; the Blok L upper stage exploded at ignition and the
craft never left the orbit; 22 pieces were catalogued, which decayed between
29 October 1962 and 26 February 1963.

The model (nothing here touches the Mars 1 trajectory or its fitted data):

- the parking orbit is a Kepler ellipse about the Earth (two-body: over the two hours
  modelled the Earth's J2 turns its plane by about 0.3°), its plane through the launch
  site at the launch epoch (northbound, as for Mars 1), perigee at orbit insertion, taken
  530 s after launch and 20° downrange (assumptions: the record gives neither);
- the ignition time is the one the mission needed: the departure hyperbola towards Mars
  (Lambert's problem from the Earth at launch + 1 h to Mars on 1963-06-19, an assumed
  arrival) has its periapsis where the parking orbit must be left; the craft reaches that
  point :data:`PLANNED_COAST_S` after launch (computed here, about 70 min);
- Yevpatoria's view of the orbit: range, range rate, elevation and the 1.6 m telemetry
  band's Doppler (183.6 MHz) from the station (skyfield, DE421 Earth orientation).

>>> from datetime import timedelta
>>> 60 < planned_coast_s() / 60 < 80
True
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from signals.bands import band
from signals.constants import C_KM_S, EARTH_RADIUS_KM, GM_EARTH_KM3_S2, GM_SUN_KM3_S2
from signals.dsp import true_runs
from signals.path.ephemeris import (
    EARTH_INDEX,
    MARS_INDEX,
    UNIX_EPOCH,
    ephemeris,
    seen_from_station,
)
from signals.path.kepler import departure_periapsis_angle, propagate_kepler, solve_lambert
from signals.path.orbit import orbit_plane

LAUNCH_UTC: Final = datetime(1962, 10, 24, 17, 55, 4, tzinfo=UTC)
SITE_LATITUDE_DEG: Final = 45.920
SITE_LONGITUDE_DEG: Final = 63.342
PERIGEE_ALTITUDE_KM: Final = 180.0
APOGEE_ALTITUDE_KM: Final = 485.0
INCLINATION_DEG: Final = 64.9
#: Orbit insertion (perigee): time after launch (s) and downrange angle (deg), assumptions.
INSERTION_S: Final = 530.0
INSERTION_DOWNRANGE_DEG: Final = 20.0
#: The arrival the departure was aimed at (assumption: Mars 1's flyby day).
ASSUMED_ARRIVAL_UTC: Final = datetime(1963, 6, 19, 12, tzinfo=UTC)
DEBRIS_PIECES: Final = 22
DECAY_FIRST_UTC: Final = datetime(1962, 10, 29, tzinfo=UTC)
DECAY_LAST_UTC: Final = datetime(1963, 2, 26, tzinfo=UTC)
#: The band Yevpatoria would have listened on (omni antenna, works in any attitude).
LISTENING_BAND: Final = "1.6m-tlm"


def _unix(t: datetime) -> float:
    return (t - UNIX_EPOCH).total_seconds()


@functools.cache
def _orbit_frame() -> tuple[np.ndarray, np.ndarray, float]:
    """Node and in-plane unit vectors (ICRF) and the site's argument of latitude (rad)."""
    return orbit_plane(
        SITE_LATITUDE_DEG, SITE_LONGITUDE_DEG, INCLINATION_DEG, _unix(LAUNCH_UTC), ephemeris()
    )


def insertion_state() -> tuple[np.ndarray, np.ndarray]:
    """Geocentric position (km) and velocity (km/s) at perigee, :data:`INSERTION_S`."""
    p_hat, q_hat, u_site = _orbit_frame()
    r_p = EARTH_RADIUS_KM + PERIGEE_ALTITUDE_KM
    r_a = EARTH_RADIUS_KM + APOGEE_ALTITUDE_KM
    ecc = (r_a - r_p) / (r_a + r_p)
    u = u_site + math.radians(INSERTION_DOWNRANGE_DEG)
    radial = math.cos(u) * p_hat + math.sin(u) * q_hat
    along = -math.sin(u) * p_hat + math.cos(u) * q_hat
    return r_p * radial, math.sqrt(GM_EARTH_KM3_S2 * (1 + ecc) / r_p) * along


def orbit_km(t_utc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geocentric position (km) and velocity (km/s) on the parking orbit, shape (n, 3).

    Parameters
    ----------
    t_utc : array of datetime64
        Times (UTC) after the orbit insertion.
    """
    unix = np.asarray(t_utc, dtype="datetime64[us]").astype(np.int64) * 1e-6
    r0, v0 = insertion_state()
    return propagate_kepler(r0, v0, unix - _unix(LAUNCH_UTC) - INSERTION_S, GM_EARTH_KM3_S2)


@functools.cache
def planned_coast_s() -> float:
    """Time from launch to the ignition the departure towards Mars needed (s)."""
    eph = ephemeris()
    p_hat, q_hat, _ = _orbit_frame()
    h = np.cross(p_hat, q_hat)
    start = _unix(LAUNCH_UTC) + 3600.0
    r_e, v_e = eph.heliocentric(EARTH_INDEX, start)
    r_m, _ = eph.heliocentric(MARS_INDEX, _unix(ASSUMED_ARRIVAL_UTC))
    v1, _ = solve_lambert(r_e, r_m, _unix(ASSUMED_ARRIVAL_UTC) - start, GM_SUN_KM3_S2)
    r_p = EARTH_RADIUS_KM + PERIGEE_ALTITUDE_KM
    r0, _ = insertion_state()
    angle = departure_periapsis_angle(r0 / np.linalg.norm(r0), h, v1 - v_e, r_p, GM_EARTH_KM3_S2)
    # Time from perigee to that true anomaly on the ellipse (Kepler's equation).
    r_a = EARTH_RADIUS_KM + APOGEE_ALTITUDE_KM
    e = (r_a - r_p) / (r_a + r_p)
    a = 0.5 * (r_a + r_p)
    big_e = 2.0 * math.atan(math.sqrt((1 - e) / (1 + e)) * math.tan(angle / 2.0)) % (2 * math.pi)
    mean = big_e - e * math.sin(big_e)
    return INSERTION_S + mean / math.sqrt(GM_EARTH_KM3_S2 / a**3)


def ignition_utc() -> datetime:
    """When the Blok L ignited, and exploded (the modelled planned ignition)."""
    return LAUNCH_UTC + timedelta(seconds=planned_coast_s())


@dataclass(frozen=True)
class PassSample:
    """The orbit seen from Yevpatoria at some times (arrays)."""

    t_utc: np.ndarray
    elevation_deg: np.ndarray
    range_km: np.ndarray
    range_rate_km_s: np.ndarray
    doppler_hz: np.ndarray


def view_from_yevpatoria(t_utc: np.ndarray) -> PassSample:
    """Elevation, range, range rate and the 1.6 m band's Doppler at Yevpatoria."""
    t_utc = np.asarray(t_utc, dtype="datetime64[us]")
    t = ephemeris().time(t_utc.astype(np.int64) * 1e-6)
    r, v = orbit_km(t_utc)
    rng, rate, elevation = seen_from_station(t, r, v)
    doppler = -band(LISTENING_BAND).carrier_hz * rate / C_KM_S
    return PassSample(t_utc, elevation, rng, rate, doppler)


def passes(start_utc: datetime, end_utc: datetime, step_s: float = 10.0) -> list[PassSample]:
    """The passes above the horizon at Yevpatoria between two times (10 s samples)."""
    n = int((end_utc - start_utc).total_seconds() // step_s) + 1
    start = np.datetime64(start_utc.replace(tzinfo=None), "us")
    grid = start + (np.arange(n) * step_s * 1e6).astype("timedelta64[us]")
    view = view_from_yevpatoria(grid)
    out = []
    for a, b in true_runs(view.elevation_deg > 0.0):
        sl = slice(a, b)
        out.append(
            PassSample(
                view.t_utc[sl],
                view.elevation_deg[sl],
                view.range_km[sl],
                view.range_rate_km_s[sl],
                view.doppler_hz[sl],
            )
        )
    return out
