"""Geometry: two-body mechanics against textbook cases, the trajectory against the record."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from signals.bands import band
from signals.errors import ConfigError
from signals.path import geometry
from signals.path.geometry import (
    C_KM_S,
    GM_EARTH_KM3_S2,
    GM_MARS_KM3_S2,
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
    burn_h = traj.injection.coast_s / 3600.0
    parking = hours < burn_h
    # On the circular parking orbit until the Blok L burn, about an hour after launch.
    assert 0.5 < burn_h < 2.0
    np.testing.assert_allclose(d[parking], 6578.137, atol=1.0)
    # Outbound all the way from the burn, never faster than escape speed from 200 km.
    assert np.all(np.diff(d[~parking]) > 0)
    assert np.max(np.abs(np.diff(d))) < 11.7 * 60
    # The 6,000-40,000 km zone (Taurid hits) is crossed within two hours of the burn.
    assert 0.5 < hours[np.searchsorted(d[~parking], 40_000.0) + parking.sum()] - burn_h < 2.0


def test_distance_on_21_march_1963_within_one_percent(traj):
    # ICD §1: 106,760,000 km at the last contact; the fit does not use it.
    d = traj.range_km(datetime(1963, 3, 21, 12, tzinfo=UTC))
    assert abs(d / 106.76e6 - 1) < 0.01


def test_flyby_is_a_result_of_mars_gravity(traj):
    # Mars bends the path: the Mars-relative speed peaks at closest approach and its
    # direction turns by the hyperbolic deflection 2 asin(1 / e), within 2 %.
    when, dist_km = traj.flyby()
    t_ca = (when - LAUNCH_UTC).total_seconds()
    flight = traj.flight
    offsets_s = np.array([-10.0, 0.0, 10.0]) * 86_400.0
    states = flight.state(t_ca + offsets_s)
    mars = geometry.ephemeris().barycentric(
        geometry._MARS, geometry.ephemeris().time(geometry._LAUNCH_UNIX_S + t_ca + offsets_s)
    )
    rel_v = states[:, 3:] - mars[1]
    speeds = np.linalg.norm(rel_v, axis=1)
    assert speeds[1] > speeds[0] and speeds[1] > speeds[2]
    v_inf = 0.5 * (speeds[0] + speeds[2])
    ecc = 1.0 + dist_km * v_inf**2 / GM_MARS_KM3_S2
    turn = np.degrees(np.arccos(rel_v[0] @ rel_v[2] / (speeds[0] * speeds[2])))
    assert turn == pytest.approx(np.degrees(2 * np.arcsin(1 / ecc)), rel=0.02)
    assert turn > 1.0


def test_integration_agrees_with_two_body_where_one_body_dominates(traj):
    flight = traj.flight
    eph = geometry.ephemeris()
    # Near the Earth, for two hours after the burn: Kepler about the Earth within 0.5 km.
    t0 = traj.injection.coast_s + 1.0
    dt = np.linspace(0.0, 7200.0, 25)
    earth = eph.barycentric(geometry._EARTH, eph.time(geometry._LAUNCH_UNIX_S + t0 + dt))
    y = flight.state(t0 + dt)
    geo_r, geo_v = y[:, :3] - earth[0], y[:, 3:] - earth[1]
    r_k, _ = propagate_kepler(geo_r[0], geo_v[0], dt, GM_EARTH_KM3_S2)
    assert np.max(np.linalg.norm(r_k - geo_r, axis=1)) < 0.5
    # Geocentric energy: the C3 at the burn is the square of the excess speed a week later.
    c3 = geo_v[0] @ geo_v[0] - 2 * GM_EARTH_KM3_S2 / np.linalg.norm(geo_r[0])
    week = t0 + 7 * 86_400.0
    earth_w = eph.barycentric(geometry._EARTH, eph.time([geometry._LAUNCH_UNIX_S + week]))
    v_week = np.linalg.norm(flight.state(np.array([week]))[0, 3:] - earth_w[1][0])
    assert np.sqrt(c3) == pytest.approx(v_week, rel=0.02)
    # In cruise (February 1963), five days against a Kepler orbit about the Sun: the
    # planets pull it aside by tens of km over 10 million km travelled.
    t1 = (datetime(1963, 2, 1, tzinfo=UTC) - LAUNCH_UTC).total_seconds()
    dt = np.linspace(0.0, 5 * 86_400.0, 11)
    sun = eph.barycentric(0, eph.time(geometry._LAUNCH_UNIX_S + t1 + dt))
    y = flight.state(t1 + dt)
    h_r, h_v = y[:, :3] - sun[0], y[:, 3:] - sun[1]
    r_k, _ = propagate_kepler(h_r[0], h_v[0], dt, GM_SUN_KM3_S2)
    miss = np.linalg.norm(r_k - h_r, axis=1)
    assert miss[-1] < 500.0
    assert np.linalg.norm(h_r[-1] - h_r[0]) > 5e6


def test_injection_file_is_validated():
    parking = (
        "[parking_orbit]\nsite_latitude_deg = 45.9\nsite_longitude_deg = 63.3\n"
        "altitude_km = 200.0\ninclination_deg = 64.9\n"
    )
    with pytest.raises(ConfigError, match=r"missing section \[burn\]"):
        geometry.parse_injection(parking)
    good = parking + "[burn]\ncoast_s = 4000.0\ndv_along_km_s = 3.9\ndv_cross_km_s = 'x'\n"
    with pytest.raises(ConfigError, match="dv_cross_km_s"):
        geometry.parse_injection(good)
    assert geometry.parse_injection(good.replace("'x'", "0.4")).coast_s == 4000.0


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


def test_nominal_scenario_flies_the_planned_close_flyby(traj):
    # As planned: a small midcourse correction turns the 195,000 km pass into ~11,000 km.
    nominal = get_trajectory("nominal")
    when, dist_km = nominal.flyby()
    assert when.date() == datetime(1963, 6, 19).date()
    assert 10_500 <= dist_km <= 11_500
    dv_m_s = 1e3 * np.linalg.norm(nominal.correction.dv_km_s)
    assert 1.0 < dv_m_s < 50.0
    # Identical to the flown trajectory until the correction, apart after it.
    before = nominal.correction.epoch_utc - timedelta(hours=1)
    assert nominal.range_km(before) == pytest.approx(traj.range_km(before), abs=1e-3)
    assert (
        abs(
            nominal.range_km(datetime(1963, 3, 1, tzinfo=UTC))
            - traj.range_km(datetime(1963, 3, 1, tzinfo=UTC))
        )
        > 1e4
    )
    assert traj.correction is None and traj.flyby()[1] > 190_000
    with pytest.raises(GeometryError, match="unknown scenario"):
        get_trajectory("optimistic")
