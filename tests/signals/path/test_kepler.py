"""Two-body mechanics against textbook cases (Curtis, Vallado) and its own conservation laws."""

from __future__ import annotations

import numpy as np
import pytest

from signals.constants import GM_EARTH_KM3_S2, GM_SUN_KM3_S2
from signals.errors import GeometryError
from signals.path.kepler import (
    departure_periapsis_angle,
    propagate_kepler,
    solve_lambert,
    stumpff_c,
    stumpff_s,
)

MU_CURTIS = 398_600.0  # km^3/s^2, the value used in Curtis' examples


def test_lambert_curtis_example_5_2():
    # Curtis, Orbital Mechanics for Engineering Students, Example 5.2.
    v1, v2 = solve_lambert(
        np.array([5000.0, 10000.0, 2100.0]), np.array([-14600.0, 2500.0, 7000.0]), 3600.0, MU_CURTIS
    )
    np.testing.assert_allclose(v1, [-5.9925, 1.9254, 3.2456], atol=1e-4)
    np.testing.assert_allclose(v2, [-3.3125, -4.1966, -0.38529], atol=1e-4)


def test_lambert_vallado_example_7_5():
    # Vallado, Fundamentals of Astrodynamics and Applications, Example 7-5 (76 min).
    v1, v2 = solve_lambert(
        np.array([15945.34, 0.0, 0.0]),
        np.array([12214.83399, 10249.46731, 0.0]),
        76 * 60.0,
        398_600.4418,
    )
    np.testing.assert_allclose(v1, [2.058913, 2.915965, 0.0], atol=2e-5)
    np.testing.assert_allclose(v2, [-3.451565, 0.910315, 0.0], atol=2e-5)


@pytest.mark.parametrize(
    ("r2", "tof_s", "mu", "prograde"),
    [
        ([-1.2e8, 1.1e8, 3e6], 200 * 86400.0, GM_SUN_KM3_S2, True),  # Earth-Mars-like
        ([-1.2e8, 1.1e8, 3e6], 200 * 86400.0, GM_SUN_KM3_S2, False),  # long way round
        ([3e4, 4e4, 5e3], 1800.0, GM_EARTH_KM3_S2, True),  # hyperbolic (fast)
        ([-2e4, 1e3, 1e3], 40_000.0, GM_EARTH_KM3_S2, True),  # transfer angle > 180 deg
    ],
)
def test_lambert_round_trip_hits_target(r2, tof_s, mu, prograde):
    r1 = np.array([1.4e8, 4e7, 0.0]) if mu == GM_SUN_KM3_S2 else np.array([7000.0, 0.0, 500.0])
    r2 = np.array(r2)
    v1, v2 = solve_lambert(r1, r2, tof_s, mu, prograde=prograde)
    r_end, v_end = propagate_kepler(r1, v1, np.array(tof_s), mu)
    assert np.linalg.norm(r_end - r2) < 1e-3  # km: within a metre
    np.testing.assert_allclose(v_end, v2, atol=1e-8)
    h = np.cross(r1, v1)
    assert (h[2] > 0) == prograde


def test_kepler_curtis_example_3_7_and_conservation():
    r0, v0 = np.array([7000.0, -12124.0, 0.0]), np.array([2.6679, 4.6210, 0.0])
    r, v = propagate_kepler(r0, v0, np.array(3600.0), MU_CURTIS)
    np.testing.assert_allclose(r, [-3297.8, 7413.4, 0.0], atol=0.2)
    np.testing.assert_allclose(v, [-8.2977, -0.9640, 0.0], atol=2e-3)
    # Vectorised over many times, backwards included: energy and angular momentum hold.
    dt = np.linspace(-5e5, 5e5, 101)
    r, v = propagate_kepler(r0, v0, dt, MU_CURTIS)
    energy = 0.5 * np.sum(v**2, axis=1) - MU_CURTIS / np.linalg.norm(r, axis=1)
    e0 = 0.5 * v0 @ v0 - MU_CURTIS / np.linalg.norm(r0)
    np.testing.assert_allclose(energy, e0, rtol=1e-9)
    np.testing.assert_allclose(np.cross(r, v), np.tile(np.cross(r0, v0), (101, 1)), rtol=1e-9)


def test_lambert_rejects_degenerate_problems():
    r1 = np.array([7000.0, 0.0, 0.0])
    with pytest.raises(GeometryError, match="collinear"):
        solve_lambert(r1, np.array([-9000.0, 0.0, 0.0]), 3600.0, GM_EARTH_KM3_S2)
    with pytest.raises(GeometryError, match="positive"):
        solve_lambert(r1, np.array([0.0, 9000.0, 0.0]), 0.0, GM_EARTH_KM3_S2)


def test_stumpff_functions_are_continuous_through_zero():
    # The series near z = 0 meets the closed forms on both sides (circular to hyperbolic).
    z = np.array([-2e-6, -1e-6 - 1e-12, -1e-6, 0.0, 1e-6, 1e-6 + 1e-12, 2e-6, 4.0, -4.0])
    np.testing.assert_allclose(stumpff_c(z)[:7], 0.5 - z[:7] / 24.0, rtol=1e-9)
    np.testing.assert_allclose(stumpff_s(z)[:7], 1.0 / 6.0 - z[:7] / 120.0, rtol=1e-9)
    assert stumpff_c(z)[7] == pytest.approx((1 - np.cos(2.0)) / 4.0)
    assert stumpff_c(z)[8] == pytest.approx((np.cosh(2.0) - 1) / 4.0)
    assert stumpff_s(z)[7] == pytest.approx((2.0 - np.sin(2.0)) / 8.0)
    assert stumpff_s(z)[8] == pytest.approx((np.sinh(2.0) - 2.0) / 8.0)


def test_departure_periapsis_angle_puts_the_asymptote_along_the_excess_velocity():
    # In the x-y plane (h = +z), a hyperbola from r_p = 7000 km leaving with v_inf along +y:
    # its asymptote turns by acos(-1/e) from the periapsis, so the periapsis lies that far
    # back from +y; measured from +x in the sense of the motion.
    mu, r_p, v_inf = GM_EARTH_KM3_S2, 7000.0, np.array([0.0, 3.0, 0.0])
    ecc = 1.0 + r_p * 9.0 / mu
    expect = (np.pi / 2 - np.arccos(-1.0 / ecc)) % (2 * np.pi)
    h = np.array([0.0, 0.0, 1.0])
    angle = departure_periapsis_angle(np.array([1.0, 0.0, 0.0]), h, v_inf, r_p, mu)
    assert angle == pytest.approx(expect, abs=1e-12)
    # The out-of-plane part of v_inf does not move it; starting a quarter turn later does.
    tilted = v_inf + np.array([0.0, 0.0, 0.5])
    ecc_t = 1.0 + r_p * float(tilted @ tilted) / mu
    expect_t = (np.pi / 2 - np.arccos(-1.0 / ecc_t)) % (2 * np.pi)
    assert departure_periapsis_angle(
        np.array([1.0, 0.0, 0.0]), h, tilted, r_p, mu
    ) == pytest.approx(expect_t, abs=1e-12)
    later = departure_periapsis_angle(np.array([0.0, 1.0, 0.0]), h, v_inf, r_p, mu)
    assert later == pytest.approx((expect - np.pi / 2) % (2 * np.pi), abs=1e-12)
