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

>>> from datetime import datetime, UTC
>>> traj = get_trajectory()
>>> round(traj.range_km(datetime(1963, 3, 21, 12, tzinfo=UTC)) / 1e6)
106
"""

from __future__ import annotations

import atexit
import functools
import math
import tomllib
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, minimize_scalar
from skyfield.api import Loader, wgs84
from skyfield.functions import mxv
from skyfield.nutationlib import iau2000b_radians

from signals.bands import band, station
from signals.constants import (
    AU_KM,
    C_KM_S,
    EARTH_RADIUS_KM,
    GM_EARTH_KM3_S2,
    GM_JUPITER_KM3_S2,
    GM_MARS_KM3_S2,
    GM_MOON_KM3_S2,
    GM_SATURN_KM3_S2,
    GM_SUN_KM3_S2,
    GM_VENUS_KM3_S2,
)
from signals.dsp import true_runs
from signals.errors import ConfigError

#: Launch (Molniya 8K78, Baikonur), ICD §1.
LAUNCH_UTC: Final = datetime(1962, 11, 1, 16, 14, 16, tzinfo=UTC)
#: The integrated flight ends here; later times raise :class:`GeometryError`.
TRAJECTORY_END_UTC: Final = datetime(1964, 1, 1, tzinfo=UTC)

#: Span of the DE421 ephemeris (UTC).
DE421_START_UTC: Final = datetime(1899, 7, 29, tzinfo=UTC)
DE421_END_UTC: Final = datetime(2053, 10, 9, tzinfo=UTC)

#: Integration tolerances (relative; absolute in km and km/s) of the flight.
RTOL: Final = 1e-12
ATOL_KM: Final = 1e-6
ATOL_KM_S: Final = 1e-12

#: Bodies whose gravity acts on the probe: (DE421 name, GM in km^3/s^2).
BODIES: Final[tuple[tuple[str, float], ...]] = (
    ("sun", GM_SUN_KM3_S2),
    ("venus", GM_VENUS_KM3_S2),
    ("earth", GM_EARTH_KM3_S2),
    ("moon", GM_MOON_KM3_S2),
    ("mars", GM_MARS_KM3_S2),
    ("jupiter barycenter", GM_JUPITER_KM3_S2),
    ("saturn barycenter", GM_SATURN_KM3_S2),
)
_EARTH: Final = 2
_MARS: Final = 4
#: Node spacing of the tabulated body positions (s); cubic Hermite between nodes.
TABLE_STEP_S: Final = 3 * 3600.0

#: Obliquity of the ecliptic at J2000 (IAU 2006), the tilt between the ICRF and the
#: ecliptic frame of :func:`ecliptic_from_icrf` (deg).
OBLIQUITY_J2000_DEG: Final = 23.439279444

_UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_TWO_PI: Final = 2.0 * math.pi
_LAUNCH_UNIX_S: Final = (LAUNCH_UTC - _UNIX_EPOCH).total_seconds()


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
# The injection, the ephemeris and the integrated flight
# ---------------------------------------------------------------------------------------

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


class Ephemeris:
    """DE421 and skyfield's built-in timescale, read offline from ``skyfield-data``."""

    def __init__(self) -> None:
        from skyfield_data import get_skyfield_data_path

        with warnings.catch_warnings():
            # skyfield-data warns that its Earth-orientation file is old; the timescale
            # here is built in (builtin=True) and does not read that file.
            warnings.simplefilter("ignore", RuntimeWarning)
            data_path = get_skyfield_data_path()
        loader = Loader(data_path, expire=False, verbose=False)
        self.ts = loader.timescale(builtin=True)
        self.eph = loader("de421.bsp")
        atexit.register(self.eph.close)
        self.bodies = [self.eph[name] for name, _ in BODIES]
        self.gm_km3_s2 = np.array([gm for _, gm in BODIES])

    def time(self, unix_s: np.ndarray):
        """A skyfield Time for POSIX seconds (UTC)."""
        t = self.ts.utc(1970, 1, 1, 0, 0, np.asarray(unix_s, dtype=float))
        # The short IAU 2000B nutation series (1 mas) instead of the full 2000A: ten times
        # faster for the station's orientation, far finer than anything a radio link sees.
        t._nutation_angles_radians = iau2000b_radians(t)
        return t

    def barycentric(self, index: int, t) -> tuple[np.ndarray, np.ndarray]:
        """Position (km) and velocity (km/s) of ``BODIES[index]``, shape (n, 3)."""
        pos = self.bodies[index].at(t)
        return pos.position.km.T, pos.velocity.km_per_s.T


@functools.cache
def ephemeris() -> Ephemeris:
    """The DE421 ephemeris, loaded once per process."""
    return Ephemeris()


class BodyTable:
    """Barycentric positions of :data:`BODIES`, cubic Hermite between DE421 nodes.

    The integrator asks for the bodies tens of thousands of times; a table of positions and
    velocities every :data:`TABLE_STEP_S` seconds, evaluated in one vectorised skyfield
    call, answers in microseconds. Interpolation error: below 1 m for the Moon, less for
    the planets.
    """

    def __init__(self, eph: Ephemeris, start_s: float, end_s: float) -> None:
        h = TABLE_STEP_S
        n = math.ceil((end_s - start_s) / h) + 1
        self.start_s = start_s
        t_s = start_s + h * np.arange(n)
        t = eph.time(_LAUNCH_UNIX_S + t_s)
        pos, vel = zip(*(eph.barycentric(i, t) for i in range(len(BODIES))), strict=True)
        p = np.concatenate(pos, axis=1)
        v = np.concatenate(vel, axis=1)
        self.coef = np.stack(
            [
                p[:-1],
                h * v[:-1],
                3.0 * (p[1:] - p[:-1]) - h * (2.0 * v[:-1] + v[1:]),
                2.0 * (p[:-1] - p[1:]) + h * (v[:-1] + v[1:]),
            ],
            axis=1,
        )

    def positions(self, t_s: np.ndarray) -> np.ndarray:
        """Positions (km) at seconds after launch, shape t_s.shape + (n_bodies, 3)."""
        x = (np.asarray(t_s, dtype=float) - self.start_s) / TABLE_STEP_S
        k = np.clip(x.astype(int), 0, self.coef.shape[0] - 1)
        s = (x - k)[..., None]
        c = self.coef[k]
        p = c[..., 0, :] + s * (c[..., 1, :] + s * (c[..., 2, :] + s * c[..., 3, :]))
        return p.reshape(*x.shape, len(BODIES), 3)

    def acceleration_function(self, gm_km3_s2: np.ndarray):
        """``f(t_s, y)`` for ``solve_ivp``: y = barycentric position (km) and velocity."""
        coef = self.coef
        start_s = self.start_s
        last = coef.shape[0] - 1
        n_bodies = len(BODIES)

        def rhs(t_s: float, y: np.ndarray) -> np.ndarray:
            x = (t_s - start_s) / TABLE_STEP_S
            k = min(max(int(x), 0), last)
            s = x - k
            c = coef[k]
            pos = (c[0] + s * (c[1] + s * (c[2] + s * c[3]))).reshape(n_bodies, 3)
            d = pos - y[:3]
            r2 = np.einsum("ij,ij->i", d, d)
            out = np.empty(6)
            out[:3] = y[3:]
            out[3:] = (gm_km3_s2 / (r2 * np.sqrt(r2))) @ d
            return out

        return rhs


@functools.cache
def body_table() -> BodyTable:
    """The body table from launch to :data:`TRAJECTORY_END_UTC`, built once per process."""
    end_s = (TRAJECTORY_END_UTC - LAUNCH_UTC).total_seconds()
    return BodyTable(ephemeris(), -TABLE_STEP_S, end_s + TABLE_STEP_S)


def parking_orbit_state(injection: Injection, eph: Ephemeris) -> tuple[np.ndarray, np.ndarray]:
    """Geocentric position (km) and velocity (km/s) on the parking orbit at launch.

    The orbit is circular and its plane holds the launch site at the launch epoch, on the
    northbound pass; the probe is put above the site at that instant (the ascent itself is
    not modelled). ICRF axes (the GCRS).
    """
    site = wgs84.latlon(injection.site_latitude_deg, injection.site_longitude_deg)
    p_site = site.at(eph.time([_LAUNCH_UNIX_S])).position.km[:, 0]
    lat = math.asin(p_site[2] / float(np.linalg.norm(p_site)))
    ra = math.atan2(p_site[1], p_site[0])
    inc = math.radians(injection.inclination_deg)
    u_site = math.asin(math.sin(lat) / math.sin(inc))
    node = ra - math.atan2(math.cos(inc) * math.sin(u_site), math.cos(u_site))
    p_hat = np.array([math.cos(node), math.sin(node), 0.0])
    q_hat = np.array(
        [-math.cos(inc) * math.sin(node), math.cos(inc) * math.cos(node), math.sin(inc)]
    )
    a_km = EARTH_RADIUS_KM + injection.altitude_km
    v_circ = math.sqrt(GM_EARTH_KM3_S2 / a_km)
    r0 = a_km * (math.cos(u_site) * p_hat + math.sin(u_site) * q_hat)
    v0 = v_circ * (-math.sin(u_site) * p_hat + math.cos(u_site) * q_hat)
    return r0, v0


class Flight:
    """The probe's barycentric state from launch to ``end_s`` (dense DOP853 output).

    Integrated arcs: the parking orbit from launch to the burn, and the flight from the
    burn on (split at the midcourse correction when one is given). Times are seconds after
    launch.
    """

    def __init__(
        self, injection: Injection, end_s: float, correction: Correction | None = None
    ) -> None:
        eph = ephemeris()
        table = body_table()
        rhs = table.acceleration_function(eph.gm_km3_s2)
        t_launch = eph.time([_LAUNCH_UNIX_S])
        e_p, e_v = eph.barycentric(_EARTH, t_launch)
        r0, v0 = parking_orbit_state(injection, eph)
        y0 = np.concatenate([r0 + e_p[0], v0 + e_v[0]])
        atol = np.array([ATOL_KM] * 3 + [ATOL_KM_S] * 3)
        self.injection = injection
        self.burn_s = injection.coast_s
        self.end_s = end_s
        if not 0.0 <= self.burn_s < end_s:
            raise GeometryError("the burn must come after launch and before the end")
        kwargs = {"method": "DOP853", "rtol": RTOL, "atol": atol, "dense_output": True}
        if self.burn_s > 0:
            coast = solve_ivp(rhs, (0.0, self.burn_s), y0, **kwargs)
            if not coast.success:
                raise GeometryError(f"parking-orbit integration failed: {coast.message}")
            self._coast = coast.sol
            y_burn = coast.y[:, -1].copy()
        else:
            self._coast = None
            y_burn = y0
        t_burn = eph.time([_LAUNCH_UNIX_S + self.burn_s])
        e_p, e_v = eph.barycentric(_EARTH, t_burn)
        r, v = y_burn[:3] - e_p[0], y_burn[3:] - e_v[0]
        radial = r / np.linalg.norm(r)
        cross = np.cross(r, v)
        cross /= np.linalg.norm(cross)
        along = np.cross(cross, radial)
        y_burn[3:] += injection.dv_along_km_s * along + injection.dv_cross_km_s * cross
        self.injection_state_km = np.concatenate([r, y_burn[3:] - e_v[0]])
        self.correction = correction
        self.correction_s = end_s
        if correction is not None:
            self.correction_s = (correction.epoch_utc - LAUNCH_UTC).total_seconds()
            if not self.burn_s < self.correction_s < end_s:
                raise GeometryError("the correction must come after the burn and before the end")
        cruise = solve_ivp(rhs, (self.burn_s, self.correction_s), y_burn, **kwargs)
        if not cruise.success:
            raise GeometryError(f"flight integration failed: {cruise.message}")
        self._cruise = cruise.sol
        self.n_steps = cruise.t.size - 1
        self._corrected = None
        if correction is not None:
            y_corr = cruise.y[:, -1].copy()
            y_corr[3:] += np.asarray(correction.dv_km_s, dtype=float)
            after = solve_ivp(rhs, (self.correction_s, end_s), y_corr, **kwargs)
            if not after.success:
                raise GeometryError(f"flight integration failed: {after.message}")
            self._corrected = after.sol
            self.n_steps += after.t.size - 1

    def state(self, t_s: np.ndarray) -> np.ndarray:
        """Barycentric position (km) and velocity (km/s), shape (n, 6), at seconds after launch."""
        t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
        out = np.empty((t_s.size, 6))
        before = t_s < self.burn_s
        later = t_s >= self.correction_s if self._corrected is not None else np.zeros_like(before)
        cruise = ~before & ~later
        if np.any(before):
            out[before] = self._coast(t_s[before]).T
        if np.any(cruise):
            out[cruise] = self._cruise(t_s[cruise]).T
        if np.any(later):
            out[later] = self._corrected(t_s[later]).T
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
        m_p, _ = eph.barycentric(_MARS, eph.time(_LAUNCH_UNIX_S + np.atleast_1d(t_s)))
        return np.linalg.norm(flight.state(t_s)[:, :3] - m_p, axis=1)

    d = distance_km(grid_s)
    k = int(np.argmin(d))
    lo, hi = grid_s[max(k - 1, 0)], grid_s[min(k + 1, grid_s.size - 1)]
    res = minimize_scalar(
        lambda x: float(distance_km(np.array([x]))[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 0.1},
    )
    return LAUNCH_UTC + timedelta(seconds=float(res.x)), float(res.fun)


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


class Trajectory:
    """Earth, Mars, the station and the probe from launch to beyond the Mars flyby.

    Build it once with :func:`get_trajectory` (cached): that integrates the flight from the
    fitted :class:`Injection` (about a second). Every method takes a tz-aware UTC
    ``datetime`` (a naive one is taken as UTC), a ``numpy.datetime64``, or an array of
    either, and returns a float for a scalar time and an array otherwise. Times before
    launch or after :data:`TRAJECTORY_END_UTC` raise :class:`GeometryError`.

    Range, range rate, light time and Doppler are measured from the station (Yevpatoria,
    :data:`STATION`), geometrically (no light-time iteration, no aberration).
    """

    def __init__(
        self, injection: Injection | None = None, correction: Correction | None = None
    ) -> None:
        self._ephemeris = ephemeris()
        eph = self._ephemeris.eph
        self._sun = eph["sun"]
        self._earth = eph["earth"]
        self._mars = eph["mars"]
        st = station()
        self._station = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.elevation_m)
        self._t0_unix = _LAUNCH_UNIX_S
        self._end_unix = (TRAJECTORY_END_UTC - _UNIX_EPOCH).total_seconds()
        self.injection = load_injection() if injection is None else injection
        self.correction = correction
        self._flight = Flight(self.injection, self._end_unix - self._t0_unix, correction)
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
        if np.any(unix_s > self._end_unix):
            bad = unix_s[unix_s > self._end_unix][0]
            raise GeometryError(
                f"time {_datetime_from_unix(bad):%Y-%m-%d %H:%M:%S} UTC is after the end of "
                f"the integrated flight ({TRAJECTORY_END_UTC:%Y-%m-%d} UTC)"
            )

    def _geocentric(self, unix_s: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
        """Probe position (km) and velocity (km/s) relative to the Earth's centre."""
        y = self._flight.state(unix_s - self._t0_unix)
        earth = self._earth.at(t)
        return y[:, :3] - earth.position.km.T, y[:, 3:] - earth.velocity.km_per_s.T

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
        for start, stop in true_runs(above):
            rise = t0 if start == 0 else crossing(grid[start - 1], grid[start])
            set_ = t1 if stop == above.size else crossing(grid[stop - 1], grid[stop])
            windows.append((_datetime_from_unix(rise), _datetime_from_unix(set_)))
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


def _unix_to_dt64(unix_s: np.ndarray) -> np.ndarray:
    """POSIX seconds to datetime64[us] (UTC)."""
    return (np.round(np.asarray(unix_s) * 1e6)).astype(np.int64).astype("datetime64[us]")


#: Trajectory scenarios: the flight as flown, and as planned (with the midcourse correction).
SCENARIOS: Final = ("historical", "nominal")


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
