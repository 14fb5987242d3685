"""The probe's flight, integrated: from the injection to its barycentric state at any time.

In: an :class:`~signals.path.injection.Injection` (and the ``nominal`` scenario's
:class:`~signals.path.injection.Correction`). Out: a :class:`Flight`, the probe's
barycentric position (km) and velocity (km/s) at any second after launch, and its
closest approach to Mars (:func:`closest_approach`). The probe starts on its parking orbit
at launch (:func:`parking_orbit_state`); the burn is impulsive; from then on its motion
under the gravity of the bodies of :data:`~signals.path.ephemeris.BODIES` is integrated
numerically (scipy ``solve_ivp``, DOP853, dense output). The mission's own flights are
integrated once and stored with the package (:data:`STORED_FLIGHTS`); a session reads them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, Final

import numpy as np
from skyfield.api import wgs84

from signals.constants import EARTH_RADIUS_KM, GM_EARTH_KM3_S2
from signals.errors import GeometryError
from signals.mission import LAUNCH_UTC
from signals.path.ephemeris import (
    BODIES,
    EARTH_INDEX,
    LAUNCH_UNIX_S,
    MARS_INDEX,
    TABLE_STEP_S,
    Ephemeris,
    body_table,
    ephemeris,
)
from signals.path.injection import Correction, Injection

#: Integration tolerances (relative; absolute in km and km/s) of the flight.
RTOL: Final = 1e-12
ATOL_KM: Final = 1e-6
ATOL_KM_S: Final = 1e-12


def orbit_plane(
    latitude_deg: float, longitude_deg: float, inclination_deg: float, unix_s: float, eph: Ephemeris
) -> tuple[np.ndarray, np.ndarray, float]:
    """The plane of an orbit that holds a launch site at an instant, on a northbound pass.

    Parameters
    ----------
    latitude_deg, longitude_deg : float
        The site (deg N, deg E).
    inclination_deg : float
        Inclination of the orbit to the equator (deg), at least the site's latitude.
    unix_s : float
        The instant (POSIX seconds, UTC).
    eph : Ephemeris
        The time scale (and the Earth's orientation).

    Returns
    -------
    p_hat, q_hat : ndarray, shape (3,)
        Unit vectors (ICRF) to the ascending node and 90° further along the orbit.
    u_site : float
        The site's argument of latitude at ``unix_s`` (rad).
    """
    site = wgs84.latlon(latitude_deg, longitude_deg)
    p_site = site.at(eph.time([unix_s])).position.km[:, 0]
    lat = math.asin(p_site[2] / float(np.linalg.norm(p_site)))
    ra = math.atan2(p_site[1], p_site[0])
    inc = math.radians(inclination_deg)
    u_site = math.asin(math.sin(lat) / math.sin(inc))
    node = ra - math.atan2(math.cos(inc) * math.sin(u_site), math.cos(u_site))
    p_hat = np.array([math.cos(node), math.sin(node), 0.0])
    q_hat = np.array(
        [-math.cos(inc) * math.sin(node), math.cos(inc) * math.cos(node), math.sin(inc)]
    )
    return p_hat, q_hat, u_site


def parking_orbit_state(injection: Injection, eph: Ephemeris) -> tuple[np.ndarray, np.ndarray]:
    """Geocentric position (km) and velocity (km/s) on the parking orbit at launch.

    The orbit is circular and its plane holds the launch site at the launch epoch, on the
    northbound pass (:func:`orbit_plane`); the probe is put above the site at that instant
    (the ascent itself is not modelled). ICRF axes (the GCRS).
    """
    p_hat, q_hat, u_site = orbit_plane(
        injection.site_latitude_deg,
        injection.site_longitude_deg,
        injection.inclination_deg,
        LAUNCH_UNIX_S,
        eph,
    )
    a_km = EARTH_RADIUS_KM + injection.altitude_km
    v_circ = math.sqrt(GM_EARTH_KM3_S2 / a_km)
    r0 = a_km * (math.cos(u_site) * p_hat + math.sin(u_site) * q_hat)
    v0 = v_circ * (-math.sin(u_site) * p_hat + math.cos(u_site) * q_hat)
    return r0, v0


@dataclass(frozen=True)
class Arc:
    """One integrated arc as DOP853 leaves it: the times of its steps and, per step, the state
    at its start and the 7 coefficients per state component of its dense output.

    Evaluated as scipy's ``OdeSolution`` evaluates it (the step holding each time, the same
    nested products in the same order), so that a stored arc gives the states, to the bit,
    that the integration that made it gave.
    """

    ts: np.ndarray  # (n + 1,) s after launch, increasing
    y_start: np.ndarray  # (n, 6) km, km/s
    coef: np.ndarray  # (n, 7, 6)

    @classmethod
    def from_solution(cls, solution: Any) -> Arc:
        """The arc of a ``solve_ivp(..., method="DOP853", dense_output=True).sol``."""
        steps = solution.interpolants
        return cls(
            np.asarray(solution.ts, dtype=float),
            np.array([step.y_old for step in steps]),
            np.array([step.F for step in steps]),
        )

    def __call__(self, t_s: np.ndarray) -> np.ndarray:
        """States (km, km/s) at seconds after launch, shape (n, 6) (n = 1 for a scalar)."""
        t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
        step = np.searchsorted(self.ts, t_s, side="left") - 1
        step = np.clip(step, 0, self.y_start.shape[0] - 1)
        t_old = self.ts[step]
        x = ((t_s - t_old) / (self.ts[step + 1] - t_old))[:, None]
        y = np.zeros((t_s.size, 6))
        for i, f in enumerate(self.coef[step][:, ::-1].transpose(1, 0, 2)):
            y += f
            y *= x if i % 2 == 0 else 1 - x
        return y + self.y_start[step]


@dataclass(frozen=True)
class FlightArcs:
    """What integrating a flight gives: its arcs and the injection state it reached."""

    coast: Arc | None  # launch to the burn (None without a parking-orbit coast)
    cruise: Arc  # the burn to the correction (or the end)
    corrected: Arc | None  # the correction to the end (None without one)
    injection_state_km: np.ndarray  # geocentric state just after the burn (km, km/s)
    n_steps: int  # integration steps after the burn


class Flight:
    """The probe's barycentric state from launch to ``end_s`` (dense DOP853 output).

    Integrated arcs: the parking orbit from launch to the burn, and the flight from the
    burn on (split at the midcourse correction when one is given). Times are seconds after
    launch.

    The mission's own flights (the injection and correction of ``signals/data``, to
    :data:`~signals.mission.TRAJECTORY_END_UTC`) are integrated once and stored
    (:data:`STORED_FLIGHTS`, written by ``tools/flight_tables.py``): a flight whose inputs
    match a stored one is read from there, the same states to the bit, without the
    integration and scipy's integrator (a fifth of a second of every session). Any other is
    integrated; ``integrate=True`` integrates whatever is stored.
    """

    def __init__(
        self,
        injection: Injection,
        end_s: float,
        correction: Correction | None = None,
        *,
        integrate: bool = False,
    ) -> None:
        self.injection = injection
        self.burn_s = injection.coast_s
        self.end_s = end_s
        if not 0.0 <= self.burn_s < end_s:
            raise GeometryError("the burn must come after launch and before the end")
        self.correction = correction
        self.correction_s = end_s
        if correction is not None:
            self.correction_s = (correction.epoch_utc - LAUNCH_UTC).total_seconds()
            if not self.burn_s < self.correction_s < end_s:
                raise GeometryError("the correction must come after the burn and before the end")
        self.key = flight_key(injection, end_s, correction)
        arcs = None if integrate else stored_flight(self.key)
        if arcs is None:
            arcs = self._integrate()
        self.arcs = arcs
        self.injection_state_km = arcs.injection_state_km
        self.n_steps = arcs.n_steps

    def _integrate(self) -> FlightArcs:
        from scipy.integrate import solve_ivp  # a fifth of a second, for a flight not stored

        injection, correction = self.injection, self.correction
        eph = ephemeris()
        table = body_table()
        rhs = table.acceleration_function(eph.gm_km3_s2)
        t_launch = eph.time([LAUNCH_UNIX_S])
        e_p, e_v = eph.barycentric(EARTH_INDEX, t_launch)
        r0, v0 = parking_orbit_state(injection, eph)
        y0 = np.concatenate([r0 + e_p[0], v0 + e_v[0]])
        atol = np.array([ATOL_KM] * 3 + [ATOL_KM_S] * 3)
        kwargs = {"method": "DOP853", "rtol": RTOL, "atol": atol, "dense_output": True}
        coast_arc = None
        if self.burn_s > 0:
            coast = solve_ivp(rhs, (0.0, self.burn_s), y0, **kwargs)
            if not coast.success:
                raise GeometryError(f"parking-orbit integration failed: {coast.message}")
            coast_arc = Arc.from_solution(coast.sol)
            y_burn = coast.y[:, -1].copy()
        else:
            y_burn = y0
        t_burn = eph.time([LAUNCH_UNIX_S + self.burn_s])
        e_p, e_v = eph.barycentric(EARTH_INDEX, t_burn)
        r, v = y_burn[:3] - e_p[0], y_burn[3:] - e_v[0]
        radial = r / np.linalg.norm(r)
        cross = np.cross(r, v)
        cross /= np.linalg.norm(cross)
        along = np.cross(cross, radial)
        y_burn[3:] += injection.dv_along_km_s * along + injection.dv_cross_km_s * cross
        injection_state_km = np.concatenate([r, y_burn[3:] - e_v[0]])
        cruise = solve_ivp(rhs, (self.burn_s, self.correction_s), y_burn, **kwargs)
        if not cruise.success:
            raise GeometryError(f"flight integration failed: {cruise.message}")
        n_steps = cruise.t.size - 1
        corrected_arc = None
        if correction is not None:
            y_corr = cruise.y[:, -1].copy()
            y_corr[3:] += np.asarray(correction.dv_km_s, dtype=float)
            after = solve_ivp(rhs, (self.correction_s, self.end_s), y_corr, **kwargs)
            if not after.success:
                raise GeometryError(f"flight integration failed: {after.message}")
            corrected_arc = Arc.from_solution(after.sol)
            n_steps += after.t.size - 1
        return FlightArcs(
            coast_arc, Arc.from_solution(cruise.sol), corrected_arc, injection_state_km, n_steps
        )

    def state(self, t_s: np.ndarray) -> np.ndarray:
        """Barycentric position (km) and velocity (km/s), shape (n, 6), at seconds after launch."""
        t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
        out = np.empty((t_s.size, 6))
        before = t_s < self.burn_s
        arcs = self.arcs
        later = t_s >= self.correction_s if arcs.corrected is not None else np.zeros_like(before)
        cruise = ~before & ~later
        if np.any(before):
            if arcs.coast is None:  # no parking-orbit coast: the flight starts at launch
                raise GeometryError("the flight starts at launch: no state before it")
            out[before] = arcs.coast(t_s[before])
        if np.any(cruise):
            out[cruise] = arcs.cruise(t_s[cruise])
        if np.any(later):
            assert arcs.corrected is not None
            out[later] = arcs.corrected(t_s[later])
        return out


# ------------------------------------------------------------------------ stored flights

#: The mission's flights, integrated once: ``signals/data/flights.npz``, each flight's
#: arrays named after its :func:`flight_key`.
STORED_FLIGHTS: Final = "flights.npz"
_ARC_NAMES: Final = ("coast", "cruise", "corrected")


def flight_key(injection: Injection, end_s: float, correction: Correction | None) -> str:
    """A digest of the data a flight's integration is given: the injection, the correction,
    the end, the tolerances, the bodies and their GM, the Earth's radius and GM and the
    launch epoch. Not the code (the force model, scipy's DOP853), DE421 nor skyfield's time
    scale: the test of the stored flights checks those by integrating them again, as
    ``tools/flight_tables.py --check`` does."""
    inputs = {
        "injection": dataclasses.asdict(injection),
        "correction": None
        if correction is None
        else [correction.epoch_utc.isoformat(), list(correction.dv_km_s)],
        "end_s": end_s,
        "tolerances": [RTOL, ATOL_KM, ATOL_KM_S],
        "bodies": [list(b) for b in BODIES],
        "table_step_s": TABLE_STEP_S,
        "earth": [EARTH_RADIUS_KM, GM_EARTH_KM3_S2],
        "launch_unix_s": LAUNCH_UNIX_S,
    }
    text = json.dumps(inputs, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def _stored() -> dict[str, np.ndarray]:
    """The stored flights' arrays, read-only (every flight shares them); none when the file
    is missing or unreadable (the flights are then integrated)."""
    try:
        with resources.files("signals").joinpath("data", STORED_FLIGHTS).open("rb") as f:
            with np.load(f) as npz:
                arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return {}
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def stored_flight(key: str) -> FlightArcs | None:
    """The stored flight of :func:`flight_key` ``key``, or None."""
    stored = _stored()
    if f"{key}.injection_state_km" not in stored:
        return None
    arcs = {
        name: Arc(*(stored[f"{key}.{name}.{part}"] for part in ("ts", "y_start", "coef")))
        if f"{key}.{name}.ts" in stored
        else None
        for name in _ARC_NAMES
    }
    return FlightArcs(
        arcs["coast"],
        arcs["cruise"],
        arcs["corrected"],
        stored[f"{key}.injection_state_km"],
        int(stored[f"{key}.n_steps"]),
    )


#: How far a stored flight may be from the same flight integrated again and still be it
#: (km, km/s): where numpy rounds its arithmetic as it did when the flight was stored, the
#: two are the same to the bit; elsewhere the integration's own rounding moves them a little.
SAME_FLIGHT_KM: Final = 1e-3
SAME_FLIGHT_KM_S: Final = 1e-9


def state_differences(a: Flight, b: Flight, n_times: int = 2000) -> tuple[float, float]:
    """Largest differences of position (km) and velocity (km/s) between two flights of the
    same span: at ``n_times`` seeded random times, at the burn, the correction and the end,
    and on every seventh step of ``b``'s cruise."""
    rng = np.random.default_rng(7)
    t_s = np.concatenate(
        [
            rng.uniform(0.0, b.end_s, n_times),
            [0.0, b.burn_s, b.correction_s, b.end_s],
            b.arcs.cruise.ts[::7],
        ]
    )
    t_s = t_s[t_s <= b.end_s]
    diff = np.abs(a.state(t_s) - b.state(t_s))
    return float(diff[:, :3].max()), float(diff[:, 3:].max())


def flight_arrays(flight: Flight) -> dict[str, np.ndarray]:
    """``flight``'s arrays as :func:`stored_flight` reads them (``tools/flight_tables.py``)."""
    out = {
        f"{flight.key}.injection_state_km": flight.injection_state_km,
        f"{flight.key}.n_steps": np.array(flight.n_steps),
    }
    for name in _ARC_NAMES:
        arc = getattr(flight.arcs, name)
        if arc is not None:
            for part in ("ts", "y_start", "coef"):
                out[f"{flight.key}.{name}.{part}"] = getattr(arc, part)
    return out


def closest_approach(flight: Flight, around_utc: datetime) -> tuple[datetime, float]:
    """Closest approach to Mars' centre within ±10 days of ``around_utc``: (UTC, km).

    Mars from DE421 (skyfield); the minimum on an hourly grid is refined by Brent's method.
    """
    eph = ephemeris()
    centre_s = (around_utc - LAUNCH_UTC).total_seconds()
    grid_s = centre_s + np.arange(-240.0, 240.0 + 1, 1.0) * 3600.0
    grid_s = grid_s[(grid_s > flight.burn_s) & (grid_s < flight.end_s)]

    def distance_km(t_s: np.ndarray) -> np.ndarray:
        m_p, _ = eph.barycentric(MARS_INDEX, eph.time(LAUNCH_UNIX_S + np.atleast_1d(t_s)))
        return np.linalg.norm(flight.state(t_s)[:, :3] - m_p, axis=1)

    d = distance_km(grid_s)
    k = int(np.argmin(d))
    lo, hi = grid_s[max(k - 1, 0)], grid_s[min(k + 1, grid_s.size - 1)]
    from scipy.optimize import minimize_scalar  # the flyby's, not every session's

    res = minimize_scalar(
        lambda x: float(distance_km(np.array([x]))[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 0.1},
    )
    return LAUNCH_UTC + timedelta(seconds=float(res.x)), float(res.fun)
