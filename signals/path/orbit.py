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


def _integrator() -> tuple[Any, Any, dict[str, Any]]:
    """scipy's ``solve_ivp`` (imported here: a fifth of a second, for a flight not stored),
    the force model's right-hand side and the flights' DOP853 settings."""
    from scipy.integrate import solve_ivp

    rhs = body_table().acceleration_function(ephemeris().gm_km3_s2)
    atol = np.array([ATOL_KM] * 3 + [ATOL_KM_S] * 3)
    return solve_ivp, rhs, {"method": "DOP853", "rtol": RTOL, "atol": atol, "dense_output": True}


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
        solve_ivp, rhs, kwargs = _integrator()
        y0 = self._launch_state()
        coast_arc = None
        if self.burn_s > 0:
            coast = solve_ivp(rhs, (0.0, self.burn_s), y0, **kwargs)
            if not coast.success:
                raise GeometryError(f"parking-orbit integration failed: {coast.message}")
            coast_arc = Arc.from_solution(coast.sol)
            y_burn = coast.y[:, -1]
        else:
            y_burn = y0
        y_burn, injection_state_km = self._burn(y_burn)
        cruise = solve_ivp(rhs, (self.burn_s, self.correction_s), y_burn, **kwargs)
        if not cruise.success:
            raise GeometryError(f"flight integration failed: {cruise.message}")
        n_steps = cruise.t.size - 1
        corrected_arc = None
        if self.correction is not None:
            y_corr = self._correct(cruise.y[:, -1])
            after = solve_ivp(rhs, (self.correction_s, self.end_s), y_corr, **kwargs)
            if not after.success:
                raise GeometryError(f"flight integration failed: {after.message}")
            corrected_arc = Arc.from_solution(after.sol)
            n_steps += after.t.size - 1
        return FlightArcs(
            coast_arc, Arc.from_solution(cruise.sol), corrected_arc, injection_state_km, n_steps
        )

    def _launch_state(self) -> np.ndarray:
        """Barycentric state at launch: on the parking orbit (:func:`parking_orbit_state`)."""
        eph = ephemeris()
        e_p, e_v = eph.barycentric(EARTH_INDEX, eph.time([LAUNCH_UNIX_S]))
        r0, v0 = parking_orbit_state(self.injection, eph)
        return np.concatenate([r0 + e_p[0], v0 + e_v[0]])

    def _burn(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The barycentric state ``y`` at the burn changed by the injection's impulse (along
        the track and across the orbit), and the geocentric state after it."""
        eph = ephemeris()
        e_p, e_v = eph.barycentric(EARTH_INDEX, eph.time([LAUNCH_UNIX_S + self.burn_s]))
        r, v = y[:3] - e_p[0], y[3:] - e_v[0]
        radial = r / np.linalg.norm(r)
        cross = np.cross(r, v)
        cross /= np.linalg.norm(cross)
        along = np.cross(cross, radial)
        after = y.copy()
        after[3:] += self.injection.dv_along_km_s * along + self.injection.dv_cross_km_s * cross
        return after, np.concatenate([r, after[3:] - e_v[0]])

    def _correct(self, y: np.ndarray) -> np.ndarray:
        """The state ``y`` at the midcourse correction changed by its impulse."""
        assert self.correction is not None
        after = y.copy()
        after[3:] += np.asarray(self.correction.dv_km_s, dtype=float)
        return after

    def model_differences(self) -> tuple[float, float]:
        """How far this flight is from what today's code integrates, step by step: largest
        differences of position (km) and velocity (km/s).

        Each step of each arc is taken again from the state the arc holds at its start,
        with today's force model and DOP853 (the same step length: the same step where the
        arithmetic rounds as it did), and compared with the arc at the step's middle and
        end; the launch state, the burn and the correction are worked out again from the
        arcs' own states, each step's start against the end of the step before, and each
        arc's span (infinite differences where one is missing or ends elsewhere). A stored
        flight that is today's differs by rounding only. Two
        whole flights integrated apart are a worse test: a difference of rounding at the
        launch (another CPU's vector arithmetic in numpy) grows over months of flight to
        metres, and to kilometres past Mars.
        """
        solve_ivp, rhs, kwargs = _integrator()
        arcs = self.arcs
        spans = [
            (arcs.coast, 0.0, self.burn_s, self.burn_s > 0),
            (arcs.cruise, self.burn_s, self.correction_s, True),
            (arcs.corrected, self.correction_s, self.end_s, self.correction is not None),
        ]
        for arc, start, stop, wanted in spans:  # each arc there, from its start to its end
            if (arc is not None) != wanted or (
                arc is not None and (arc.ts[0] != start or arc.ts[-1] != stop)
            ):
                return math.inf, math.inf
        expected, found = [], []
        if arcs.coast is not None:
            expected.append(self._launch_state())
            found.append(arcs.coast.y_start[0])
            before_burn = arcs.coast(self.burn_s)[0]
        else:
            before_burn = self._launch_state()
        expected += self._burn(before_burn)
        found += [arcs.cruise.y_start[0], arcs.injection_state_km]
        if arcs.corrected is not None:
            expected.append(self._correct(arcs.cruise(self.correction_s)[0]))
            found.append(arcs.corrected.y_start[0])
        for arc in (arcs.coast, arcs.cruise, arcs.corrected):
            if arc is None:
                continue
            for i in range(arc.y_start.shape[0]):
                t0, t1 = float(arc.ts[i]), float(arc.ts[i + 1])
                step = solve_ivp(rhs, (t0, t1), arc.y_start[i], first_step=t1 - t0, **kwargs)
                times = np.array([0.5 * (t0 + t1), t1])
                expected.append(step.sol(times).T)
                found.append(arc(times))
            expected.append(arc(arc.ts[1:-1]))  # each step starts where the one before ends
            found.append(arc.y_start[1:])
        diff = np.abs(np.vstack(expected) - np.vstack(found))
        return float(diff[:, :3].max()), float(diff[:, 3:].max())

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


#: How far a flight may be from today's code, step by step (:meth:`Flight.model_differences`;
#: km, km/s), and still be its flight: a stored flight made on another machine differs by
#: the rounding of one step (3e-8 km, a unit in the last place of a barycentric position);
#: a force a billionth stronger moves a step by 1.6 m.
SAME_STEP_KM: Final = 1e-5
SAME_STEP_KM_S: Final = 1e-11


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
