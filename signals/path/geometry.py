"""Where Mars 1 is: Earth, Mars and the probe's transfer orbit (ICD §1).

Earth and Mars come from the JPL DE421 ephemeris shipped by ``skyfield-data`` (read
offline). The probe flies a two-body heliocentric conic from Earth at launch
(1962-11-01 16:14:16 UTC) to a point beside Mars at the flyby (1963-06-19), found by
solving Lambert's problem with a universal-variable solver written here. For the first
days a geocentric hyperbolic departure from a 200 km parking orbit is blended into the
heliocentric arc so that the distance from Earth is continuous and physical from launch.
``docs/geometry.md`` describes the model and checks it against the mission record.

All positions are in the ICRF (skyfield's frame), kilometres; velocities km/s.

>>> from datetime import datetime, UTC
>>> traj = get_trajectory()
>>> round(traj.range_km(datetime(1963, 3, 21, tzinfo=UTC)) / 1e6)
105
"""

from __future__ import annotations

import atexit
import functools
import math
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from skyfield.api import Loader, wgs84
from skyfield.functions import mxv
from skyfield.nutationlib import iau2000b_radians

from signals.bands import band, station
from signals.constants import C_M_S
from signals.errors import ConfigError

#: Speed of light (km/s).
C_KM_S: Final = C_M_S / 1e3
#: Gravitational parameters (km^3/s^2): Sun, Earth (DE421 values), Mars.
GM_SUN_KM3_S2: Final = 1.32712440018e11
GM_EARTH_KM3_S2: Final = 398_600.4418
#: Astronomical unit (km).
AU_KM: Final = 149_597_870.700
#: Equatorial radius of the Earth (km) and the parking-orbit altitude of the departure (km).
EARTH_RADIUS_KM: Final = 6378.137
PARKING_ALTITUDE_KM: Final = 200.0

#: Launch (Molniya 8K78, Baikonur), ICD §1. The departure burn is placed at this epoch.
LAUNCH_UTC: Final = datetime(1962, 11, 1, 16, 14, 16, tzinfo=UTC)
#: Epoch at which the transfer arc reaches its aim point beside Mars (1963-06-19).
FLYBY_AIM_UTC: Final = datetime(1963, 6, 19, 12, 0, 0, tzinfo=UTC)
#: Miss distance aimed at (km): the middle of the documented 193,000-197,000 km.
FLYBY_AIM_DISTANCE_KM: Final = 195_000.0
#: The geocentric departure hyperbola is blended into the heliocentric arc between these
#: times after launch (s): it is the probe's path before, the heliocentric arc after.
BLEND_START_S: Final = 1.0 * 86_400.0
BLEND_END_S: Final = 8.0 * 86_400.0

#: Span of the DE421 ephemeris (UTC).
DE421_START_UTC: Final = datetime(1899, 7, 29, tzinfo=UTC)
DE421_END_UTC: Final = datetime(2053, 10, 9, tzinfo=UTC)

_UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_TWO_PI: Final = 2.0 * math.pi


class GeometryError(ConfigError):
    """A time or an orbit problem the geometry model cannot answer."""


# ---------------------------------------------------------------------------------------
# Two-body mechanics (universal variables)
# ---------------------------------------------------------------------------------------


def stumpff_c(z: np.ndarray) -> np.ndarray:
    """Stumpff function C(z) = (1 - cos sqrt z) / z, for any real z (array)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z > 1e-6
    neg = z < -1e-6
    mid = ~(pos | neg)
    sp = np.sqrt(z[pos])
    out[pos] = 2.0 * np.sin(0.5 * sp) ** 2 / z[pos]
    sn = np.sqrt(-z[neg])
    out[neg] = (np.cosh(sn) - 1.0) / (-z[neg])
    zm = z[mid]
    out[mid] = 0.5 - zm / 24.0 + zm**2 / 720.0
    return out


def stumpff_s(z: np.ndarray) -> np.ndarray:
    """Stumpff function S(z) = (sqrt z - sin sqrt z) / sqrt(z)^3, for any real z (array)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z > 1e-6
    neg = z < -1e-6
    mid = ~(pos | neg)
    sp = np.sqrt(z[pos])
    out[pos] = (sp - np.sin(sp)) / sp**3
    sn = np.sqrt(-z[neg])
    out[neg] = (np.sinh(sn) - sn) / sn**3
    zm = z[mid]
    out[mid] = 1.0 / 6.0 - zm / 120.0 + zm**2 / 5040.0
    return out


def propagate_kepler(
    r0_km: np.ndarray, v0_km_s: np.ndarray, dt_s: np.ndarray, mu_km3_s2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Propagate a two-body orbit by universal-variable Kepler's equation.

    Parameters
    ----------
    r0_km, v0_km_s : ndarray, shape (3,)
        Position (km) and velocity (km/s) at the epoch.
    dt_s : ndarray
        Times after the epoch (s), any shape; negative values propagate backwards.
    mu_km3_s2 : float
        Gravitational parameter of the central body (km^3/s^2).

    Returns
    -------
    r_km, v_km_s : ndarray, shape dt_s.shape + (3,)
        Position (km) and velocity (km/s) at each time.
    """
    r0 = np.asarray(r0_km, dtype=float)
    v0 = np.asarray(v0_km_s, dtype=float)
    dt = np.asarray(dt_s, dtype=float)
    shape = dt.shape
    dt = dt.ravel()
    sqrt_mu = math.sqrt(mu_km3_s2)
    r0n = float(np.linalg.norm(r0))
    vr0 = float(r0 @ v0) / r0n
    alpha = 2.0 / r0n - float(v0 @ v0) / mu_km3_s2  # 1/a (km^-1)

    # Initial guess (Vallado, Algorithm 8): elliptic, parabolic or hyperbolic.
    if alpha > 1e-9:
        chi = sqrt_mu * alpha * dt
    elif alpha < -1e-9:
        a = 1.0 / alpha
        sgn = np.where(dt >= 0, 1.0, -1.0)
        arg = (-2.0 * mu_km3_s2 * alpha * dt) / (
            float(r0 @ v0) + sgn * math.sqrt(-mu_km3_s2 * a) * (1.0 - r0n * alpha)
        )
        chi = np.where(
            (dt != 0) & (arg > 0), sgn * math.sqrt(-a) * np.log(np.abs(arg) + 1e-300), 0.0
        )
    else:
        chi = np.cbrt(6.0 * sqrt_mu * dt) / math.sqrt(r0n)

    def residual(chi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = alpha * chi**2
        c, s = stumpff_c(z), stumpff_s(z)
        f = (
            r0n * vr0 / sqrt_mu * chi**2 * c
            + (1.0 - alpha * r0n) * chi**3 * s
            + r0n * chi
            - sqrt_mu * dt
        )
        df = r0n * vr0 / sqrt_mu * chi * (1.0 - z * s) + (1.0 - alpha * r0n) * chi**2 * c + r0n
        return f, df

    for _ in range(100):
        f, df = residual(chi)
        step = f / df
        # Damped Newton: never move more than a factor of the current size at once.
        limit = np.maximum(np.abs(chi), 1.0)
        step = np.clip(step, -limit, limit)
        chi = chi - step
        if np.all(np.abs(step) <= 1e-12 * np.maximum(np.abs(chi), 1.0)):
            break
    else:
        raise GeometryError("Kepler propagation did not converge")

    z = alpha * chi**2
    c, s = stumpff_c(z), stumpff_s(z)
    f_lag = 1.0 - chi**2 / r0n * c
    g_lag = dt - chi**3 / sqrt_mu * s
    r = f_lag[:, None] * r0 + g_lag[:, None] * v0
    rn = np.linalg.norm(r, axis=1)
    fdot = sqrt_mu / (rn * r0n) * (alpha * chi**3 * s - chi)
    gdot = 1.0 - chi**2 / rn * c
    v = fdot[:, None] * r0 + gdot[:, None] * v0
    return r.reshape(*shape, 3), v.reshape(*shape, 3)


def solve_lambert(
    r1_km: np.ndarray,
    r2_km: np.ndarray,
    tof_s: float,
    mu_km3_s2: float,
    *,
    prograde: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve Lambert's problem (single revolution) with universal variables.

    The transfer angle is taken in the prograde sense about the +z axis of the frame of
    ``r1_km`` and ``r2_km`` (or retrograde when ``prograde`` is false). The universal
    time-of-flight equation is monotonic in z on (-inf, 4 pi^2) and is solved by Brent's
    method on a bracket found by expansion, so no initial guess is needed.

    Parameters
    ----------
    r1_km, r2_km : ndarray, shape (3,)
        Positions at departure and arrival (km).
    tof_s : float
        Time of flight (s), positive.
    mu_km3_s2 : float
        Gravitational parameter (km^3/s^2).
    prograde : bool
        Direction of motion about +z.

    Returns
    -------
    v1_km_s, v2_km_s : ndarray, shape (3,)
        Velocities at departure and arrival (km/s).

    Raises
    ------
    GeometryError
        Degenerate geometry (collinear positions) or a non-positive time of flight.
    """
    r1 = np.asarray(r1_km, dtype=float)
    r2 = np.asarray(r2_km, dtype=float)
    if not tof_s > 0:
        raise GeometryError(f"Lambert time of flight must be positive, got {tof_s} s")
    r1n, r2n = float(np.linalg.norm(r1)), float(np.linalg.norm(r2))
    cos_dnu = float(np.clip(r1 @ r2 / (r1n * r2n), -1.0, 1.0))
    cross_z = float(np.cross(r1, r2)[2])
    dnu = math.acos(cos_dnu)
    if (prograde and cross_z < 0) or (not prograde and cross_z >= 0):
        dnu = _TWO_PI - dnu
    if abs(math.sin(dnu)) < 1e-10:
        raise GeometryError("Lambert problem is degenerate: positions are collinear")
    a_const = math.sin(dnu) * math.sqrt(r1n * r2n / (1.0 - math.cos(dnu)))
    sqrt_mu = math.sqrt(mu_km3_s2)

    def y_of(z: float) -> float:
        c = float(stumpff_c(np.array(z)))
        s = float(stumpff_s(np.array(z)))
        return r1n + r2n + a_const * (z * s - 1.0) / math.sqrt(c)

    def tof_residual(z: float) -> float:
        y = y_of(z)
        if y <= 0.0:
            # Continuous extension into the region with no real solution (y < 0).
            return -sqrt_mu * tof_s + y
        c = float(stumpff_c(np.array(z)))
        s = float(stumpff_s(np.array(z)))
        return (y / c) ** 1.5 * s + a_const * math.sqrt(y) - sqrt_mu * tof_s

    # Time of flight grows without bound as z -> 4 pi^2 (a parabola-to-ellipse limit of
    # one full revolution); approach it until the bracket closes.
    gap = 1e-2
    while tof_residual(_TWO_PI**2 * (1.0 - gap)) <= 0.0:
        gap *= 0.1
        if gap < 1e-12:
            raise GeometryError("Lambert problem has no single-revolution solution")
    z_hi = _TWO_PI**2 * (1.0 - gap)
    z_lo = -1.0
    while tof_residual(z_lo) > 0.0:
        z_lo *= 2.0
        if z_lo < -1e6:
            raise GeometryError("Lambert solver could not bracket the solution")
    z = brentq(tof_residual, z_lo, z_hi, xtol=1e-14, rtol=1e-15, maxiter=500)
    y = y_of(z)
    f = 1.0 - y / r1n
    g = a_const * math.sqrt(y / mu_km3_s2)
    gdot = 1.0 - y / r2n
    v1 = (r2 - f * r1) / g
    v2 = (gdot * r2 - r1) / g
    return v1, v2


# ---------------------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------------------


def _to_unix_seconds(t_utc: object) -> tuple[np.ndarray, bool]:
    """UTC time(s) as POSIX seconds (float64 array) and whether the input was a scalar."""
    if isinstance(t_utc, datetime):
        t = t_utc if t_utc.tzinfo is not None else t_utc.replace(tzinfo=UTC)
        return np.array([(t - _UNIX_EPOCH).total_seconds()]), True
    if isinstance(t_utc, np.datetime64):
        us = np.array([t_utc]).astype("datetime64[us]").astype(np.int64)
        return us.astype(float) * 1e-6, True
    arr = np.asarray(t_utc)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[us]").astype(np.int64).astype(float).ravel() * 1e-6, False
    if arr.dtype == object:
        out = np.empty(arr.size)
        for i, t in enumerate(arr.ravel()):
            if not isinstance(t, datetime):
                raise GeometryError(f"expected datetimes, got {type(t).__name__}")
            t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
            out[i] = (t - _UNIX_EPOCH).total_seconds()
        return out, False
    raise GeometryError(f"expected a datetime or an array of datetimes, got {arr.dtype}")


def _datetime_from_unix(seconds: float) -> datetime:
    return _UNIX_EPOCH + timedelta(seconds=float(seconds))


# ---------------------------------------------------------------------------------------
# The trajectory
# ---------------------------------------------------------------------------------------


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


class Trajectory:
    """Earth, Mars, the station and the probe from launch to beyond the Mars flyby.

    Build it once with :func:`get_trajectory` (cached). Every method takes a tz-aware UTC
    ``datetime`` (a naive one is taken as UTC), a ``numpy.datetime64``, or an array of
    either, and returns a float for a scalar time and an array otherwise. Times before
    launch or outside DE421 raise :class:`GeometryError`.

    Range, range rate, light time and Doppler are measured from the station (Yevpatoria,
    :data:`STATION`), geometrically (no light-time iteration, no aberration).
    """

    def __init__(self) -> None:
        from skyfield_data import get_skyfield_data_path

        with warnings.catch_warnings():
            # skyfield-data warns that its Earth-orientation file is old; the timescale
            # here is built in (builtin=True) and does not read that file.
            warnings.simplefilter("ignore", RuntimeWarning)
            data_path = get_skyfield_data_path()
        loader = Loader(data_path, expire=False, verbose=False)
        self._ts = loader.timescale(builtin=True)
        self._eph = loader("de421.bsp")
        atexit.register(self._eph.close)
        self._sun = self._eph["sun"]
        self._earth = self._eph["earth"]
        self._mars = self._eph["mars"]
        st = station()
        self._station = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.elevation_m)
        self._t0_unix = (LAUNCH_UTC - _UNIX_EPOCH).total_seconds()
        self._tof_s = (FLYBY_AIM_UTC - LAUNCH_UTC).total_seconds()

        t_launch = self._time([self._t0_unix])
        t_arrive = self._time([self._t0_unix + self._tof_s])
        r_e, v_e = self._helio(self._earth, t_launch)
        r_m, v_m = self._helio(self._mars, t_arrive)
        r_e, v_e, r_m, v_m = r_e[0], v_e[0], r_m[0], v_m[0]

        # Aim beside Mars: the offset is perpendicular to the arrival velocity relative to
        # Mars and lies in the plane of that velocity and the Sun-Mars line, on the side
        # away from the Sun (the probe passes Mars on its night side).
        aim = np.zeros(3)
        for _ in range(20):
            v1, v2 = solve_lambert(r_e, r_m + aim, self._tof_s, GM_SUN_KM3_S2)
            v_rel = v2 - v_m
            u = v_rel / np.linalg.norm(v_rel)
            out = r_m / np.linalg.norm(r_m)
            perp = out - (out @ u) * u
            new_aim = FLYBY_AIM_DISTANCE_KM * perp / np.linalg.norm(perp)
            moved_km = float(np.linalg.norm(new_aim - aim))
            aim = new_aim
            if moved_km < 1e-4:
                break
        v1, _ = solve_lambert(r_e, r_m + aim, self._tof_s, GM_SUN_KM3_S2)
        self._r1_helio = r_e
        self._v1_helio = v1
        self._v_inf_km_s = v1 - v_e
        self._setup_departure()
        self._flyby: tuple[datetime, float] | None = None

    # -- departure hyperbola ---------------------------------------------------------------

    def _setup_departure(self) -> None:
        v_inf_vec = self._v_inf_km_s
        v_inf = float(np.linalg.norm(v_inf_vec))
        u = v_inf_vec / v_inf
        # Orbit plane of least inclination containing the asymptote (eastward departure).
        z = np.array([0.0, 0.0, 1.0])
        h = z - (z @ u) * u
        h /= np.linalg.norm(h)
        w = np.cross(h, u)
        r_p = EARTH_RADIUS_KM + PARKING_ALTITUDE_KM
        ecc = 1.0 + r_p * v_inf**2 / GM_EARTH_KM3_S2
        theta_inf = math.acos(-1.0 / ecc)
        p_hat = math.cos(theta_inf) * u - math.sin(theta_inf) * w
        q_hat = math.cos(theta_inf) * w + math.sin(theta_inf) * u
        v_p = math.sqrt(v_inf**2 + 2.0 * GM_EARTH_KM3_S2 / r_p)
        self._hyp_r0 = r_p * p_hat
        self._hyp_v0 = v_p * q_hat

    # -- helpers ---------------------------------------------------------------------------

    def _time(self, unix_s: np.ndarray):
        t = self._ts.utc(1970, 1, 1, 0, 0, np.asarray(unix_s, dtype=float))
        # The short IAU 2000B nutation series (1 mas) instead of the full 2000A: ten times
        # faster for the station's orientation, far finer than anything a radio link sees.
        t._nutation_angles_radians = iau2000b_radians(t)
        return t

    def _helio(self, body, t) -> tuple[np.ndarray, np.ndarray]:
        sun = self._sun.at(t)
        pos = body.at(t)
        r = (pos.position.km - sun.position.km).T
        v = (pos.velocity.km_per_s - sun.velocity.km_per_s).T
        return r, v

    def _check(self, unix_s: np.ndarray) -> None:
        if not np.all(np.isfinite(unix_s)):
            raise GeometryError("time is not finite")
        lo = (DE421_START_UTC - _UNIX_EPOCH).total_seconds()
        hi = (DE421_END_UTC - _UNIX_EPOCH).total_seconds()
        if np.any(unix_s < lo) or np.any(unix_s > hi):
            bad = unix_s[(unix_s < lo) | (unix_s > hi)][0]
            raise GeometryError(
                f"time {_datetime_from_unix(bad):%Y-%m-%d %H:%M:%S} UTC is outside the DE421 "
                "ephemeris (1899-07-29 to 2053-10-09)"
            )
        if np.any(unix_s < self._t0_unix):
            bad = unix_s[unix_s < self._t0_unix][0]
            raise GeometryError(
                f"time {_datetime_from_unix(bad):%Y-%m-%d %H:%M:%S} UTC is before the launch "
                f"({LAUNCH_UTC:%Y-%m-%d %H:%M:%S} UTC)"
            )

    def _geocentric(self, unix_s: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
        """Probe position (km) and velocity (km/s) relative to the Earth's centre."""
        dt = unix_s - self._t0_unix
        r_h, v_h = propagate_kepler(self._r1_helio, self._v1_helio, dt, GM_SUN_KM3_S2)
        r_e, v_e = self._helio(self._earth, t)
        p_arc, v_arc = r_h - r_e, v_h - v_e
        early = dt < BLEND_END_S
        if not np.any(early):
            return p_arc, v_arc
        p_hyp, v_hyp = propagate_kepler(self._hyp_r0, self._hyp_v0, dt[early], GM_EARTH_KM3_S2)
        span = BLEND_END_S - BLEND_START_S
        x = np.clip((dt[early] - BLEND_START_S) / span, 0.0, 1.0)
        # Weight of the hyperbola: 1 before the blend, 0 after, raised-cosine in between.
        wgt = 0.5 * (1.0 + np.cos(math.pi * x))
        dwgt = np.where((x > 0) & (x < 1), -0.5 * math.pi * np.sin(math.pi * x) / span, 0.0)
        pa, va = p_arc[early], v_arc[early]
        p_arc[early] = wgt[:, None] * p_hyp + (1 - wgt[:, None]) * pa
        v_arc[early] = wgt[:, None] * v_hyp + (1 - wgt[:, None]) * va + dwgt[:, None] * (p_hyp - pa)
        return p_arc, v_arc

    def _station_gcrs(self, t) -> tuple[np.ndarray, np.ndarray]:
        pos = self._station.at(t)
        return pos.position.km.T, pos.velocity.km_per_s.T

    def _compute(self, t_utc: object) -> tuple[ProbeState, bool]:
        unix_s, scalar = _to_unix_seconds(t_utc)
        self._check(unix_s)
        t = self._time(unix_s)
        p, v = self._geocentric(unix_s, t)
        s_p, s_v = self._station_gcrs(t)
        topo = p - s_p
        topo_v = v - s_v
        rng = np.linalg.norm(topo, axis=1)
        rr = np.einsum("ij,ij->i", topo, topo_v) / rng
        rot = self._station.rotation_at(t)
        local = mxv(rot, topo.T)
        elev = np.degrees(np.arcsin(np.clip(local[2] / rng, -1.0, 1.0)))
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
        )
        return state, scalar

    @staticmethod
    def _out(values: np.ndarray, scalar: bool):
        return float(values[0]) if scalar else values

    # -- public API ------------------------------------------------------------------------

    def state(self, t_utc: object) -> ProbeState:
        """The full :class:`ProbeState` at ``t_utc`` (arrays of length 1 for a scalar time)."""
        return self._compute(t_utc)[0]

    def range_km(self, t_utc: object) -> float | np.ndarray:
        """Distance from the station to the probe (km)."""
        s, scalar = self._compute(t_utc)
        return self._out(s.range_km, scalar)

    def distance_from_earth_km(self, t_utc: object) -> float | np.ndarray:
        """Distance from the Earth's centre to the probe (km)."""
        s, scalar = self._compute(t_utc)
        return self._out(s.distance_from_earth_km, scalar)

    def range_rate_km_s(self, t_utc: object) -> float | np.ndarray:
        """Rate of the station-probe distance (km/s); positive when the probe recedes."""
        s, scalar = self._compute(t_utc)
        return self._out(s.range_rate_km_s, scalar)

    def light_time_s(self, t_utc: object) -> float | np.ndarray:
        """One-way light time from the probe to the station (s) = range / c."""
        s, scalar = self._compute(t_utc)
        return self._out(s.light_time_s, scalar)

    def sun_distance_au(self, t_utc: object) -> float | np.ndarray:
        """Distance of the probe from the Sun (au)."""
        s, scalar = self._compute(t_utc)
        return self._out(s.sun_distance_au, scalar)

    def mars_distance_km(self, t_utc: object) -> float | np.ndarray:
        """Distance of the probe from the centre of Mars (km)."""
        s, scalar = self._compute(t_utc)
        return self._out(s.mars_distance_km, scalar)

    def mars_phase_angle_deg(self, t_utc: object) -> float | np.ndarray:
        """Sun–Mars–probe angle (deg): 0 sees the lit face full on, 180 the night side."""
        unix_s, scalar = _to_unix_seconds(t_utc)
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

    def elevation_deg(self, t_utc: object) -> float | np.ndarray:
        """Geometric elevation of the probe seen from the station (degrees)."""
        s, scalar = self._compute(t_utc)
        return self._out(s.elevation_deg, scalar)

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
        if two_way and band_id not in ("32cm-tlm", "8cm-carrier"):
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
        t0 = _to_unix_seconds(start_utc)[0][0]
        t1 = _to_unix_seconds(end_utc)[0][0]
        if not t1 > t0:
            raise GeometryError("visibility window end must be after its start")
        self._check(np.array([t0, t1]))
        n = max(math.ceil((t1 - t0) / step_s), 1) + 1
        grid = np.linspace(t0, t1, n)
        elev = self._compute(_unix_to_dt64(grid))[0].elevation_deg
        above = elev >= min_elevation_deg

        def crossing(a: float, b: float) -> float:
            def g(x: float) -> float:
                e = self._compute(_unix_to_dt64(np.array([x])))[0].elevation_deg[0]
                return e - min_elevation_deg

            return brentq(g, a, b, xtol=0.5)

        windows: list[tuple[datetime, datetime]] = []
        rise = t0 if above[0] else None
        changes = np.flatnonzero(above[1:] != above[:-1])
        for i in changes:
            x = crossing(grid[i], grid[i + 1])
            if above[i + 1]:
                rise = x
            elif rise is not None:
                windows.append((_datetime_from_unix(rise), _datetime_from_unix(x)))
                rise = None
        if rise is not None:
            windows.append((_datetime_from_unix(rise), _datetime_from_unix(t1)))
        return windows

    def flyby(self) -> tuple[datetime, float]:
        """Closest approach to Mars in the model: (UTC time, distance from Mars' centre, km)."""
        if self._flyby is None:
            centre = (FLYBY_AIM_UTC - _UNIX_EPOCH).total_seconds()
            grid = centre + np.linspace(-3, 3, 145) * 86_400.0
            d = self._compute(_unix_to_dt64(grid))[0].mars_distance_km
            k = int(np.argmin(d))

            def dist(x: float) -> float:
                return float(self._compute(_unix_to_dt64(np.array([x])))[0].mars_distance_km[0])

            lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
            res = minimize_scalar(dist, bounds=(lo, hi), method="bounded", options={"xatol": 0.1})
            self._flyby = (_datetime_from_unix(res.x), float(res.fun))
        return self._flyby


def _unix_to_dt64(unix_s: np.ndarray) -> np.ndarray:
    """POSIX seconds to datetime64[us] (UTC)."""
    return (np.round(np.asarray(unix_s) * 1e6)).astype(np.int64).astype("datetime64[us]")


@functools.cache
def get_trajectory() -> Trajectory:
    """The mission trajectory, built once per process."""
    return Trajectory()


#: The ground station (Yevpatoria, NIP-16): latitude (deg N), longitude (deg E), height (m).
STATION: Final = (station().latitude_deg, station().longitude_deg, station().elevation_m)
