"""The solar system the probe flies through: DE421 read offline, and the time conversions.

In: UTC times (``datetime``, ``numpy.datetime64`` or arrays of them). Out: POSIX seconds
(:func:`to_unix_seconds`), skyfield times (:meth:`Ephemeris.time`), and the barycentric
positions and velocities of the seven bodies whose gravity acts on the probe
(:data:`BODIES`: the Sun, Venus, the Earth, the Moon, Mars, Jupiter and Saturn), either
straight from the JPL DE421 ephemeris shipped by ``skyfield-data``
(:meth:`Ephemeris.barycentric`) or from a table interpolated between its nodes for the
integrator (:class:`BodyTable`). Kilometres, km/s, ICRF axes.
"""

from __future__ import annotations

import atexit
import functools
import math
import warnings
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
from skyfield.api import Loader, wgs84
from skyfield.functions import mxv
from skyfield.nutationlib import iau2000b_radians

from signals.bands import station
from signals.constants import (
    GM_EARTH_KM3_S2,
    GM_JUPITER_KM3_S2,
    GM_MARS_KM3_S2,
    GM_MOON_KM3_S2,
    GM_SATURN_KM3_S2,
    GM_SUN_KM3_S2,
    GM_VENUS_KM3_S2,
)
from signals.errors import GeometryError
from signals.mission import LAUNCH_UTC

#: The integrated flight ends here; later times raise :class:`GeometryError`.
TRAJECTORY_END_UTC: Final = datetime(1964, 1, 1, tzinfo=UTC)

#: Span of the DE421 ephemeris (UTC).
DE421_START_UTC: Final = datetime(1899, 7, 29, tzinfo=UTC)
DE421_END_UTC: Final = datetime(2053, 10, 9, tzinfo=UTC)

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
#: Indices of the Earth and Mars in :data:`BODIES`.
EARTH_INDEX: Final = 2
MARS_INDEX: Final = 4
#: Node spacing of the tabulated body positions (s); cubic Hermite between nodes.
TABLE_STEP_S: Final = 3 * 3600.0

UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: The launch in POSIX seconds: seconds after launch + this = POSIX seconds.
LAUNCH_UNIX_S: Final = (LAUNCH_UTC - UNIX_EPOCH).total_seconds()


def to_unix_seconds(t_utc: object) -> tuple[np.ndarray, bool]:
    """UTC time(s) as POSIX seconds (float64 array) and whether the input was a scalar."""
    if isinstance(t_utc, datetime):
        t = t_utc if t_utc.tzinfo is not None else t_utc.replace(tzinfo=UTC)
        return np.array([(t - UNIX_EPOCH).total_seconds()]), True
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
            out[i] = (t - UNIX_EPOCH).total_seconds()
        return out, False
    raise GeometryError(f"expected a datetime or an array of datetimes, got {arr.dtype}")


def datetime_from_unix(seconds: float) -> datetime:
    """POSIX seconds to a tz-aware UTC datetime."""
    return UNIX_EPOCH + timedelta(seconds=float(seconds))


def unix_to_dt64(unix_s: np.ndarray) -> np.ndarray:
    """POSIX seconds to datetime64[us] (UTC)."""
    return (np.round(np.asarray(unix_s) * 1e6)).astype(np.int64).astype("datetime64[us]")


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

    def time(self, unix_s: np.ndarray, *, orientation: bool = True):
        """A skyfield Time for POSIX seconds (UTC).

        ``orientation`` False leaves out the nutation, which only the Earth's orientation
        (the station's place and horizon) needs: for positions in the ICRF alone, such as the
        bodies' and the probe's.
        """
        t = self.ts.utc(1970, 1, 1, 0, 0, np.asarray(unix_s, dtype=float))
        if orientation:
            # The short IAU 2000B nutation series (1 mas) instead of the full 2000A: ten
            # times faster for the station's orientation, far finer than anything a radio
            # link sees.
            t._nutation_angles_radians = iau2000b_radians(t)
        return t

    def barycentric(self, index: int, t) -> tuple[np.ndarray, np.ndarray]:
        """Position (km) and velocity (km/s) of ``BODIES[index]``, shape (n, 3)."""
        pos = self.bodies[index].at(t)
        return pos.position.km.T, pos.velocity.km_per_s.T

    def heliocentric(self, index: int, unix_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Position (km) and velocity (km/s) of ``BODIES[index]`` relative to the Sun at one
        instant (POSIX seconds), shape (3,)."""
        t = self.time([unix_s])
        p, v = self.barycentric(index, t)
        s_p, s_v = self.barycentric(0, t)
        return p[0] - s_p[0], v[0] - s_v[0]


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
        t = eph.time(LAUNCH_UNIX_S + t_s, orientation=False)  # positions in the ICRF alone
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


@functools.cache
def station_site():
    """The ground station (Yevpatoria, the band table's ``[station]``) as a skyfield place."""
    st = station()
    return wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.elevation_m)


def seen_from_station(
    t, geocentric_km: np.ndarray, geocentric_velocity_km_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A craft seen from the station, geometrically (no light time, no aberration).

    Parameters
    ----------
    t : skyfield Time
        The instants (:meth:`Ephemeris.time`).
    geocentric_km, geocentric_velocity_km_s : ndarray, shape (n, 3)
        The craft's position (km) and velocity (km/s) relative to the Earth's centre, ICRF.

    Returns
    -------
    range_km, range_rate_km_s, elevation_deg : ndarray, shape (n,)
        Distance from the station (km), its rate (km/s, positive receding) and the
        elevation above the station's horizon (deg).
    """
    site = station_site()
    at = site.at(t)
    topo = geocentric_km - at.position.km.T
    topo_v = geocentric_velocity_km_s - at.velocity.km_per_s.T
    range_km = np.linalg.norm(topo, axis=1)
    range_rate_km_s = np.einsum("ij,ij->i", topo, topo_v) / range_km
    local = mxv(site.rotation_at(t), topo.T)
    elevation_deg = np.degrees(np.arcsin(np.clip(local[2] / range_km, -1.0, 1.0)))
    return range_km, range_rate_km_s, elevation_deg
