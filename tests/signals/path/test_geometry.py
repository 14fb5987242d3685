"""Geometry: two-body mechanics against textbook cases, the trajectory against the record."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from signals.bands import band
from signals.errors import ConfigError
from signals.path.geometry import (
    C_KM_S,
    GM_EARTH_KM3_S2,
    GM_SUN_KM3_S2,
    LAUNCH_UTC,
    GeometryError,
    get_trajectory,
    propagate_kepler,
    solve_lambert,
)

MU_CURTIS = 398_600.0  # km^3/s^2, the value used in Curtis' examples


@pytest.fixture(scope="module")
def traj():
    return get_trajectory()


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


def test_distance_at_last_contact_matches_record(traj):
    # Last contact 1963-03-21 at 106,760,000 km (ICD §1): the model is within 3 %.
    d = traj.range_km(datetime(1963, 3, 21, tzinfo=UTC))
    assert abs(d / 106.76e6 - 1) < 0.03


def test_flyby_distance_of_documented_order(traj):
    when, dist_km = traj.flyby()
    assert when.date() == datetime(1963, 6, 19).date()
    assert 193_000 <= dist_km <= 197_000
    # The minimum really is a minimum of the distance from Mars.
    around = [when - timedelta(hours=1), when + timedelta(hours=1)]
    assert np.all(traj.mars_distance_km(np.array(around)) > dist_km)


def test_departure_distance_continuous_and_in_documented_range(traj):
    hours = np.arange(0, 48 * 60) / 60.0
    times = np.array([LAUNCH_UTC + timedelta(hours=h) for h in hours])
    d = traj.distance_from_earth_km(times)
    assert d[0] == pytest.approx(6578.137, abs=1e-3)  # parking orbit radius at injection
    assert np.all(np.diff(d) > 0)  # outbound all the way
    assert np.max(np.abs(np.diff(d))) < 15.0 * 60  # never faster than escape speed
    # The 6,000-40,000 km zone (Taurid hits) is crossed within the first hours.
    assert 0.5 < hours[np.searchsorted(d, 40_000.0)] < 3.0


def test_light_time_is_range_over_c(traj):
    t = datetime(1963, 1, 10, 3, 0, tzinfo=UTC)
    assert traj.light_time_s(t) == pytest.approx(traj.range_km(t) / C_KM_S, rel=1e-12)


@pytest.mark.parametrize(
    "t",
    [
        LAUNCH_UTC + timedelta(hours=2),
        LAUNCH_UTC + timedelta(days=3),  # inside the departure blend
        datetime(1962, 12, 13, 7, 30, tzinfo=UTC),
        datetime(1963, 3, 21, 12, 0, tzinfo=UTC),
    ],
)
def test_range_rate_and_doppler_match_finite_differences(traj, t):
    h = timedelta(seconds=1)
    rdot_fd = (traj.range_km(t + h) - traj.range_km(t - h)) / 2.0
    rdot = traj.range_rate_km_s(t)
    assert rdot == pytest.approx(rdot_fd, abs=1e-6)
    f = band("8cm-carrier").carrier_hz
    assert traj.doppler_hz("8cm-carrier", t) == pytest.approx(-f * rdot_fd / C_KM_S, abs=0.02)
    assert traj.doppler_hz("8cm-carrier", t, two_way=True) == pytest.approx(
        -2 * f * rdot_fd / C_KM_S, abs=0.04
    )


def test_vectorised_matches_scalar(traj):
    times = [datetime(1963, 2, 1, h, tzinfo=UTC) for h in range(0, 24, 6)]
    vec = traj.range_km(np.array(times))
    assert vec.shape == (4,)
    np.testing.assert_allclose(vec, [traj.range_km(t) for t in times], rtol=1e-12)
    dt64 = np.array([t.replace(tzinfo=None) for t in times], dtype="datetime64[us]")
    np.testing.assert_allclose(traj.range_km(dt64), vec, rtol=1e-12)


def test_elevation_rises_and_sets_once_a_day(traj):
    start = datetime(1962, 12, 1, tzinfo=UTC)
    windows = traj.visibility_windows(start, start + timedelta(days=5), min_elevation_deg=10.0)
    assert 4 <= len(windows) <= 6
    for rise, set_ in windows:
        assert set_ > rise
        assert traj.elevation_deg(rise + (set_ - rise) / 2) > 10.0
    interior = [w for w in windows if w[0] > start and w[1] < start + timedelta(days=5)]
    for rise, set_ in interior:
        assert traj.elevation_deg(rise) == pytest.approx(10.0, abs=0.01)
        assert traj.elevation_deg(set_) == pytest.approx(10.0, abs=0.01)
        assert timedelta(hours=4) < set_ - rise < timedelta(hours=20)
    rises = [w[0] for w in interior]
    for a, b in itertools.pairwise(rises):
        # A distant probe rises about once per sidereal day.
        assert abs((b - a) - timedelta(hours=23, minutes=56)) < timedelta(minutes=20)


@pytest.mark.parametrize(
    "t",
    [
        LAUNCH_UTC - timedelta(seconds=1),
        datetime(1890, 1, 1, tzinfo=UTC),
        datetime(2060, 1, 1, tzinfo=UTC),
    ],
)
def test_bad_times_raise_one_line_config_error(traj, t):
    with pytest.raises(GeometryError) as err:
        traj.range_km(t)
    assert isinstance(err.value, ConfigError)
    assert "\n" not in str(err.value) and "UTC" in str(err.value)


def test_two_way_only_for_coherent_bands(traj):
    with pytest.raises(GeometryError, match="two-way"):
        traj.doppler_hz("5cm-ppm", datetime(1963, 1, 1, tzinfo=UTC), two_way=True)


def test_lambert_rejects_degenerate_problems():
    r1 = np.array([7000.0, 0.0, 0.0])
    with pytest.raises(GeometryError, match="collinear"):
        solve_lambert(r1, np.array([-9000.0, 0.0, 0.0]), 3600.0, GM_EARTH_KM3_S2)
    with pytest.raises(GeometryError, match="positive"):
        solve_lambert(r1, np.array([0.0, 9000.0, 0.0]), 0.0, GM_EARTH_KM3_S2)
