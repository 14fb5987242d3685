"""Geometry: the integrated trajectory against the record and against two-body motion."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from signals.bands import band
from signals.constants import C_KM_S, GM_EARTH_KM3_S2, GM_MARS_KM3_S2, GM_SUN_KM3_S2
from signals.errors import ConfigError, GeometryError
from signals.mission import LAUNCH_UTC
from signals.path.ephemeris import EARTH_INDEX, LAUNCH_UNIX_S, MARS_INDEX, ephemeris
from signals.path.geometry import get_trajectory
from signals.path.kepler import propagate_kepler


@pytest.fixture(scope="module")
def traj():
    return get_trajectory()


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
    mars = ephemeris().barycentric(MARS_INDEX, ephemeris().time(LAUNCH_UNIX_S + t_ca + offsets_s))
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
    eph = ephemeris()
    # Near the Earth, for two hours after the burn: Kepler about the Earth within 0.5 km.
    t0 = traj.injection.coast_s + 1.0
    dt = np.linspace(0.0, 7200.0, 25)
    earth = eph.barycentric(EARTH_INDEX, eph.time(LAUNCH_UNIX_S + t0 + dt))
    y = flight.state(t0 + dt)
    geo_r, geo_v = y[:, :3] - earth[0], y[:, 3:] - earth[1]
    r_k, _ = propagate_kepler(geo_r[0], geo_v[0], dt, GM_EARTH_KM3_S2)
    assert np.max(np.linalg.norm(r_k - geo_r, axis=1)) < 0.5
    # Geocentric energy: the C3 at the burn is the square of the excess speed a week later.
    c3 = geo_v[0] @ geo_v[0] - 2 * GM_EARTH_KM3_S2 / np.linalg.norm(geo_r[0])
    week = t0 + 7 * 86_400.0
    earth_w = eph.barycentric(EARTH_INDEX, eph.time([LAUNCH_UNIX_S + week]))
    v_week = np.linalg.norm(flight.state(np.array([week]))[0, 3:] - earth_w[1][0])
    assert np.sqrt(c3) == pytest.approx(v_week, rel=0.02)
    # In cruise (February 1963), five days against a Kepler orbit about the Sun: the
    # planets pull it aside by tens of km over 10 million km travelled.
    t1 = (datetime(1963, 2, 1, tzinfo=UTC) - LAUNCH_UTC).total_seconds()
    dt = np.linspace(0.0, 5 * 86_400.0, 11)
    sun = eph.barycentric(0, eph.time(LAUNCH_UNIX_S + t1 + dt))
    y = flight.state(t1 + dt)
    h_r, h_v = y[:, :3] - sun[0], y[:, 3:] - sun[1]
    r_k, _ = propagate_kepler(h_r[0], h_v[0], dt, GM_SUN_KM3_S2)
    miss = np.linalg.norm(r_k - h_r, axis=1)
    assert miss[-1] < 500.0
    assert np.linalg.norm(h_r[-1] - h_r[0]) > 5e6


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


def test_positions_are_the_states_positions(traj):
    """The cheap positions (no Earth orientation) are the full state's, bit for bit."""
    times = np.array([datetime(1962, 11, 1, 18, tzinfo=UTC), datetime(1963, 6, 19, 12, tzinfo=UTC)])
    geocentric_km, heliocentric_km = traj.positions(times)
    state = traj.state(times)
    np.testing.assert_array_equal(geocentric_km, state.geocentric_km)
    np.testing.assert_array_equal(heliocentric_km, state.heliocentric_km)
    assert traj.positions(times[0])[0].shape == (1, 3)
    with pytest.raises(GeometryError):
        traj.positions(datetime(1962, 10, 1, tzinfo=UTC))


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
