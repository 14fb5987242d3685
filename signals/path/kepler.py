"""Two-body mechanics in universal variables: the textbook tools the trajectory fit uses.

In: a state (position km, velocity km/s) and times of flight (s) about one central body
(GM, km^3/s^2). Out: the states at those times (:func:`propagate_kepler`), or the
velocities that join two positions in a given time (:func:`solve_lambert`, Lambert's
problem, single revolution). No ephemeris, no time scale: plain arrays.
``tools/fit_trajectory.py`` uses them for its first guess of the burn; the mission
trajectory itself is integrated numerically (:mod:`signals.path.orbit`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np

from signals.errors import GeometryError
from signals.path.roots import brent_root

TWO_PI: Final = 2.0 * math.pi
#: Below this |z| the Stumpff functions are taken from their series (cancellation).
_SERIES_Z: Final = 1e-6


def _by_sign(
    z: np.ndarray,
    positive: Callable[[np.ndarray], np.ndarray],
    negative: Callable[[np.ndarray], np.ndarray],
    series: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``positive(z)`` where z > 0, ``negative(-z)`` where z < 0, ``series(z)`` near 0."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z > _SERIES_Z
    neg = z < -_SERIES_Z
    mid = ~(pos | neg)
    out[pos] = positive(z[pos])
    out[neg] = negative(-z[neg])
    out[mid] = series(z[mid])
    return out


def stumpff_c(z: np.ndarray) -> np.ndarray:
    """Stumpff function C(z) = (1 - cos sqrt z) / z, for any real z (array)."""
    return _by_sign(
        z,
        lambda x: 2.0 * np.sin(0.5 * np.sqrt(x)) ** 2 / x,
        lambda x: (np.cosh(np.sqrt(x)) - 1.0) / x,
        lambda x: 0.5 - x / 24.0 + x**2 / 720.0,
    )


def stumpff_s(z: np.ndarray) -> np.ndarray:
    """Stumpff function S(z) = (sqrt z - sin sqrt z) / sqrt(z)^3, for any real z (array)."""

    def positive(x: np.ndarray) -> np.ndarray:
        sp = np.sqrt(x)
        return (sp - np.sin(sp)) / sp**3

    def negative(x: np.ndarray) -> np.ndarray:
        sn = np.sqrt(x)
        return (np.sinh(sn) - sn) / sn**3

    return _by_sign(z, positive, negative, lambda x: 1.0 / 6.0 - x / 120.0 + x**2 / 5040.0)


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
        dnu = TWO_PI - dnu
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
    while tof_residual(TWO_PI**2 * (1.0 - gap)) <= 0.0:
        gap *= 0.1
        if gap < 1e-12:
            raise GeometryError("Lambert problem has no single-revolution solution")
    z_hi = TWO_PI**2 * (1.0 - gap)
    z_lo = -1.0
    while tof_residual(z_lo) > 0.0:
        z_lo *= 2.0
        if z_lo < -1e6:
            raise GeometryError("Lambert solver could not bracket the solution")
    z = brent_root(tof_residual, z_lo, z_hi, xtol=1e-14, rtol=1e-15, maxiter=500)
    y = y_of(z)
    f = 1.0 - y / r1n
    g = a_const * math.sqrt(y / mu_km3_s2)
    gdot = 1.0 - y / r2n
    v1 = (r2 - f * r1) / g
    v2 = (gdot * r2 - r1) / g
    return v1, v2


def departure_periapsis_angle(
    r_hat: np.ndarray, h_hat: np.ndarray, v_inf_km_s: np.ndarray, r_p_km: float, mu_km3_s2: float
) -> float:
    """Where on a circular or elliptical orbit a departure hyperbola must start, as an angle.

    The hyperbola leaves with the excess speed |``v_inf_km_s``| towards the direction of
    ``v_inf_km_s`` projected into the plane of the orbit (unit normal ``h_hat``), from a
    periapsis at ``r_p_km`` in that plane. The angle is measured in the sense of the motion
    from the unit vector ``r_hat`` to that periapsis.

    Returns
    -------
    float
        The angle (rad), in [0, 2π).
    """
    u = v_inf_km_s - (v_inf_km_s @ h_hat) * h_hat
    u /= np.linalg.norm(u)
    ecc = 1.0 + r_p_km * float(v_inf_km_s @ v_inf_km_s) / mu_km3_s2
    theta = math.acos(-1.0 / ecc)
    periapsis = math.cos(theta) * u - math.sin(theta) * np.cross(h_hat, u)
    angle = math.atan2(float(np.cross(r_hat, periapsis) @ h_hat), float(r_hat @ periapsis))
    return angle % TWO_PI
