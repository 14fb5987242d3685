"""Where Mars 1 is: one trajectory, integrated from the injection burn (ICD §1).

The Sun, Venus, the Earth, the Moon, Mars, Jupiter and Saturn come from the JPL DE421
ephemeris shipped by ``skyfield-data`` (read offline). The probe starts on its parking
orbit at launch (1962-11-01 16:14:16 UTC): a circular 200 km orbit inclined 64.9° whose
plane holds Baikonur at the launch epoch. After a coast the Blok L burn (impulsive) adds a
velocity along the track and across it; from then on the probe's barycentric motion under
the gravity of those seven bodies is integrated numerically (scipy ``solve_ivp``, DOP853)
through the Mars encounter to the end of 1963. Nothing about the flyby is typed in: the
closest approach is where the integrated path comes nearest to Mars.

The three burn parameters (coast time, along-track and cross-track velocity) are fitted
offline by ``tools/fit_trajectory.py`` to the documented flyby (19 June 1963 at
193,000–197,000 km) and stored in ``signals/data/trajectory.toml``; at run time the flight
is integrated once per process from them (:func:`get_trajectory`).
``docs/geometry.md`` gives the model, the fit and its residuals.

All positions are in the ICRF (skyfield's frame), kilometres; velocities km/s.

In: UTC times. Out: the probe as the station sees it (:class:`ProbeState`: range, range
rate, light time, elevation, distances from the Sun and Mars) and what follows from it
(Doppler, visibility windows, the flyby). Built on :mod:`signals.path.ephemeris` (DE421,
times), :mod:`signals.path.injection` (the fitted burn) and :mod:`signals.path.orbit`
(the integrated flight); :mod:`signals.path.kepler` holds the two-body tools of the fit.

>>> from datetime import datetime, UTC
>>> traj = get_trajectory()
>>> round(traj.range_km(datetime(1963, 3, 21, 12, tzinfo=UTC)) / 1e6)
106
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np

from signals.bands import COHERENT_BANDS, band, station
from signals.constants import AU_KM, C_KM_S
from signals.dsp import true_runs
from signals.errors import GeometryError
from signals.mission import LAUNCH_UTC, SCENARIOS
from signals.path.ephemeris import (
    DE421_END_UTC,
    DE421_START_UTC,
    LAUNCH_UNIX_S,
    TRAJECTORY_END_UTC,
    UNIX_EPOCH,
    datetime_from_unix,
    ephemeris,
    seen_from_station,
    to_unix_seconds,
    unix_to_dt64,
)
from signals.path.injection import Correction, Injection, load_correction, load_injection
from signals.path.orbit import Flight, closest_approach
from signals.path.roots import brent_root

#: Obliquity of the ecliptic at J2000 (IAU 2006), the tilt between the ICRF and the
#: ecliptic frame of :func:`ecliptic_from_icrf` (deg).
OBLIQUITY_J2000_DEG: Final = 23.439279444


@dataclass(frozen=True)
class ProbeState:
    """The probe as seen from the ground station at some times (arrays, or floats).

    Attributes
    ----------
    geocentric_km, geocentric_velocity_km_s : ndarray
        Probe position (km) and velocity (km/s) relative to the Earth's centre, ICRF axes.
    distance_from_earth_km : ndarray
        Distance from the Earth's centre (km).
    range_km, range_rate_km_s : ndarray
        Distance from the station (km) and its rate (km/s, positive = receding).
    light_time_s : ndarray
        One-way light time station-probe (s).
    sun_distance_au : ndarray
        Heliocentric distance (au).
    mars_distance_km : ndarray
        Distance from the centre of Mars (km).
    elevation_deg : ndarray
        Geometric elevation of the probe above the station's horizon (degrees).
    heliocentric_km : ndarray
        Probe position relative to the Sun (km), ICRF axes; :func:`ecliptic_from_icrf`
        turns it to ecliptic coordinates.
    """

    geocentric_km: np.ndarray
    geocentric_velocity_km_s: np.ndarray
    distance_from_earth_km: np.ndarray
    range_km: np.ndarray
    range_rate_km_s: np.ndarray
    light_time_s: np.ndarray
    sun_distance_au: np.ndarray
    mars_distance_km: np.ndarray
    elevation_deg: np.ndarray
    heliocentric_km: np.ndarray


def _probe_quantity(field: str, doc: str) -> Callable[[Trajectory, object], float | np.ndarray]:
    """A :class:`Trajectory` method that returns one :class:`ProbeState` field at ``t_utc``:
    a float for a scalar time, an array otherwise."""

    def quantity(self: Trajectory, t_utc: object) -> float | np.ndarray:
        s, scalar = self._compute(t_utc)
        return self._out(getattr(s, field), scalar)

    quantity.__name__ = field
    quantity.__qualname__ = f"Trajectory.{field}"
    quantity.__doc__ = doc
    return quantity


class Trajectory:
    """Earth, Mars, the station and the probe from launch to beyond the Mars flyby.

    Build it once with :func:`get_trajectory` (cached): that reads the mission's flight as
    stored, or integrates it from the fitted :class:`Injection` (a fifth of a second; always
    with ``integrate``: :class:`~signals.path.orbit.Flight`). Every method takes a tz-aware
    UTC ``datetime`` (a naive one is taken as UTC), a ``numpy.datetime64``, or an array of
    either, and returns a float for a scalar time and an array otherwise. Times before
    launch or after :data:`TRAJECTORY_END_UTC` raise :class:`GeometryError`.

    Range, range rate, light time and Doppler are measured from the station (Yevpatoria,
    :data:`STATION`), geometrically (no light-time iteration, no aberration).
    """

    def __init__(
        self,
        injection: Injection | None = None,
        correction: Correction | None = None,
        *,
        integrate: bool = False,
    ) -> None:
        self._ephemeris = ephemeris()
        eph = self._ephemeris.eph
        self._sun = eph["sun"]
        self._earth = eph["earth"]
        self._mars = eph["mars"]
        self._t0_unix = LAUNCH_UNIX_S
        self._end_unix = (TRAJECTORY_END_UTC - UNIX_EPOCH).total_seconds()
        self.injection = load_injection() if injection is None else injection
        self.correction = correction
        self._flight = Flight(
            self.injection, self._end_unix - self._t0_unix, correction, integrate=integrate
        )
        self._flyby: tuple[datetime, float] | None = None

    # -- helpers ---------------------------------------------------------------------------

    def _time(self, unix_s: np.ndarray):
        return self._ephemeris.time(unix_s)

    def _helio(self, body, t) -> tuple[np.ndarray, np.ndarray]:
        sun = self._sun.at(t)
        pos = body.at(t)
        r = (pos.position.km - sun.position.km).T
        v = (pos.velocity.km_per_s - sun.velocity.km_per_s).T
        return r, v

    def _check(self, unix_s: np.ndarray) -> None:
        if not np.all(np.isfinite(unix_s)):
            raise GeometryError("time is not finite")
        lo = (DE421_START_UTC - UNIX_EPOCH).total_seconds()
        hi = (DE421_END_UTC - UNIX_EPOCH).total_seconds()
        if np.any(unix_s < lo) or np.any(unix_s > hi):
            bad = unix_s[(unix_s < lo) | (unix_s > hi)][0]
            raise GeometryError(
                f"time {datetime_from_unix(bad):%Y-%m-%d %H:%M:%S} UTC is outside the DE421 "
                "ephemeris (1899-07-29 to 2053-10-09)"
            )
        if np.any(unix_s < self._t0_unix):
            bad = unix_s[unix_s < self._t0_unix][0]
            raise GeometryError(
                f"time {datetime_from_unix(bad):%Y-%m-%d %H:%M:%S} UTC is before the launch "
                f"({LAUNCH_UTC:%Y-%m-%d %H:%M:%S} UTC)"
            )
        if np.any(unix_s > self._end_unix):
            bad = unix_s[unix_s > self._end_unix][0]
            raise GeometryError(
                f"time {datetime_from_unix(bad):%Y-%m-%d %H:%M:%S} UTC is after the end of "
                f"the integrated flight ({TRAJECTORY_END_UTC:%Y-%m-%d} UTC)"
            )

    def _geocentric(self, unix_s: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
        """Probe position (km) and velocity (km/s) relative to the Earth's centre."""
        y = self._flight.state(unix_s - self._t0_unix)
        earth = self._earth.at(t)
        return y[:, :3] - earth.position.km.T, y[:, 3:] - earth.velocity.km_per_s.T

    def _compute(self, t_utc: object) -> tuple[ProbeState, bool]:
        unix_s, scalar = to_unix_seconds(t_utc)
        self._check(unix_s)
        t = self._time(unix_s)
        p, v = self._geocentric(unix_s, t)
        rng, rr, elev = seen_from_station(t, p, v)
        r_e, _ = self._helio(self._earth, t)
        helio = r_e + p
        r_m, _ = self._helio(self._mars, t)
        state = ProbeState(
            geocentric_km=p,
            geocentric_velocity_km_s=v,
            distance_from_earth_km=np.linalg.norm(p, axis=1),
            range_km=rng,
            range_rate_km_s=rr,
            light_time_s=rng / C_KM_S,
            sun_distance_au=np.linalg.norm(helio, axis=1) / AU_KM,
            mars_distance_km=np.linalg.norm(helio - r_m, axis=1),
            elevation_deg=elev,
            heliocentric_km=helio,
        )
        return state, scalar

    @staticmethod
    def _out(values: np.ndarray, scalar: bool):
        return float(values[0]) if scalar else values

    # -- public API ------------------------------------------------------------------------

    def state(self, t_utc: object) -> ProbeState:
        """The full :class:`ProbeState` at ``t_utc`` (arrays of length 1 for a scalar time)."""
        return self._compute(t_utc)[0]

    def positions(self, t_utc: object) -> tuple[np.ndarray, np.ndarray]:
        """The probe's position relative to the Earth's centre and to the Sun (km, ICRF, shape
        (n, 3); n = 1 for a scalar time): the :class:`ProbeState` fields ``geocentric_km`` and
        ``heliocentric_km``, the same values, without the station's view (the Earth's
        orientation) nor Mars, which make most of the cost of :meth:`state`.
        """
        unix_s, _ = to_unix_seconds(t_utc)
        self._check(unix_s)
        t = self._ephemeris.time(unix_s, orientation=False)
        p, _ = self._geocentric(unix_s, t)
        r_e, _ = self._helio(self._earth, t)
        return p, r_e + p

    range_km = _probe_quantity("range_km", "Distance from the station to the probe (km).")
    distance_from_earth_km = _probe_quantity(
        "distance_from_earth_km", "Distance from the Earth's centre to the probe (km)."
    )
    range_rate_km_s = _probe_quantity(
        "range_rate_km_s",
        "Rate of the station-probe distance (km/s); positive when the probe recedes.",
    )
    light_time_s = _probe_quantity(
        "light_time_s", "One-way light time from the probe to the station (s) = range / c."
    )
    sun_distance_au = _probe_quantity("sun_distance_au", "Distance of the probe from the Sun (au).")
    mars_distance_km = _probe_quantity(
        "mars_distance_km", "Distance of the probe from the centre of Mars (km)."
    )
    elevation_deg = _probe_quantity(
        "elevation_deg", "Geometric elevation of the probe seen from the station (degrees)."
    )

    def mars_phase_angle_deg(self, t_utc: object) -> float | np.ndarray:
        """Sun–Mars–probe angle (deg): 0 sees the lit face full on, 180 the night side."""
        unix_s, scalar = to_unix_seconds(t_utc)
        self._check(unix_s)
        t = self._time(unix_s)
        p, _ = self._geocentric(unix_s, t)
        r_e, _ = self._helio(self._earth, t)
        r_m, _ = self._helio(self._mars, t)
        to_sun = -r_m
        to_probe = r_e + p - r_m
        cos = np.einsum("ij,ij->i", to_sun, to_probe) / (
            np.linalg.norm(to_sun, axis=1) * np.linalg.norm(to_probe, axis=1)
        )
        return self._out(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), scalar)

    def doppler_hz(self, band_id: str, t_utc: object, two_way: bool = False) -> float | np.ndarray:
        """Predicted Doppler shift of a band's carrier (Hz), to first order in v/c.

        One way (downlink to the station, or uplink to the probe): -f * rdot / c. Two way
        (coherent 32 cm or 8 cm downlink locked to the 39 cm uplink, ICD §6):
        -2 * f * rdot / c with f the band's nominal carrier. Positive range rate
        (receding) gives a negative shift: the carrier is received lower.

        Parameters
        ----------
        band_id : str
            An ICD band id.
        t_utc : datetime or array
            Time(s) of reception (UTC).
        two_way : bool
            Coherent two-way mode; only for ``32cm-tlm`` and ``8cm-carrier``.

        Raises
        ------
        GeometryError
            ``two_way`` for a band that is not part of the coherent link, or a bad time.
        """
        b = band(band_id)
        if two_way and band_id not in COHERENT_BANDS:
            raise GeometryError(f"band {band_id!r} has no two-way coherent mode")
        s, scalar = self._compute(t_utc)
        factor = 2.0 if two_way else 1.0
        return self._out(-factor * b.carrier_hz * s.range_rate_km_s / C_KM_S, scalar)

    def visibility_windows(
        self,
        start_utc: datetime,
        end_utc: datetime,
        min_elevation_deg: float = 5.0,
        step_s: float = 300.0,
    ) -> list[tuple[datetime, datetime]]:
        """Intervals when the probe is above ``min_elevation_deg`` at the station.

        Elevation is sampled every ``step_s`` seconds and each crossing refined by Brent's
        method to about a second. A window open at ``start_utc`` (or ``end_utc``) starts
        (ends) there.

        Returns
        -------
        list of (rise, set)
            tz-aware UTC datetimes, in time order.
        """
        t0 = to_unix_seconds(start_utc)[0][0]
        t1 = to_unix_seconds(end_utc)[0][0]
        if not t1 > t0:
            raise GeometryError("visibility window end must be after its start")
        self._check(np.array([t0, t1]))
        n = max(math.ceil((t1 - t0) / step_s), 1) + 1
        grid = np.linspace(t0, t1, n)
        elev = self._compute(unix_to_dt64(grid))[0].elevation_deg
        above = elev >= min_elevation_deg

        def crossing(a: float, b: float) -> float:
            def g(x: float) -> float:
                e = self._compute(unix_to_dt64(np.array([x])))[0].elevation_deg[0]
                return e - min_elevation_deg

            return brent_root(g, a, b, xtol=0.5)

        windows: list[tuple[datetime, datetime]] = []
        for start, stop in true_runs(above):
            rise = t0 if start == 0 else crossing(grid[start - 1], grid[start])
            set_ = t1 if stop == above.size else crossing(grid[stop - 1], grid[stop])
            windows.append((datetime_from_unix(rise), datetime_from_unix(set_)))
        return windows

    def flyby(self) -> tuple[datetime, float]:
        """Closest approach to Mars in the integrated flight: (UTC time, km from Mars' centre)."""
        if self._flyby is None:
            self._flyby = closest_approach(self._flight, datetime(1963, 6, 19, 12, tzinfo=UTC))
        return self._flyby

    @property
    def flight(self) -> Flight:
        """The integrated flight (barycentric states, seconds after launch)."""
        return self._flight


def ecliptic_from_icrf(vectors_km: np.ndarray) -> np.ndarray:
    """Rotate ICRF vectors (..., 3) to the J2000 ecliptic frame (x to the equinox).

    >>> np.round(ecliptic_from_icrf(np.array([0.0, 0.0, 1.0])), 6)
    array([0.      , 0.397777, 0.917482])
    """
    eps = math.radians(OBLIQUITY_J2000_DEG)
    c, s = math.cos(eps), math.sin(eps)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])
    return np.asarray(vectors_km, dtype=float) @ rot.T


@functools.cache
def get_trajectory(scenario: str = "historical") -> Trajectory:
    """The mission trajectory of ``scenario``, built once per process.

    ``historical`` is the flight as flown (no correction: the attitude-control gas was
    lost); ``nominal`` adds the planned midcourse correction towards a close flyby
    (``docs/geometry.md``).
    """
    if scenario not in SCENARIOS:
        raise GeometryError(f"unknown scenario {scenario!r}; expected one of {SCENARIOS}")
    return Trajectory(correction=load_correction() if scenario == "nominal" else None)


#: The ground station (Yevpatoria, NIP-16): latitude (deg N), longitude (deg E), height (m).
STATION: Final = (station().latitude_deg, station().longitude_deg, station().elevation_m)
