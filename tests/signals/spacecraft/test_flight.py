"""The flight state model against the documented mission (ICD §1) and its own definitions."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from signals.constants import EARTH_RADIUS_KM
from signals.errors import ConfigError
from signals.formats.tlm import AttitudeMode
from signals.mission import LAUNCH_UTC
from signals.spacecraft.environment import (
    METEOROID_BACKGROUND_RATE_PER_S,
    METEOROID_ZONE_RATE_PER_S,
    parker_field_nt,
)
from signals.spacecraft.flight import (
    CHANNEL_MODELS,
    CHANNEL_NAMES,
    SPIN_PERIOD_S,
    FlightModel,
    FlightTimeError,
    seconds_since_launch,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def flight() -> FlightModel:
    return FlightModel("historical", rng=np.random.default_rng(1962))


def _poisson_interval(mean: float, p: float = 1e-4) -> tuple[float, float]:
    return stats.poisson.ppf(p / 2, mean), stats.poisson.isf(p / 2, mean)


def test_launch_instant() -> None:
    assert LAUNCH_UTC == utc(1962, 11, 1, 16, 14, 16)


def test_every_icd_channel_present_and_documented(flight: FlightModel) -> None:
    channels = flight.channels_at(utc(1962, 11, 20))
    assert tuple(channels) == CHANNEL_NAMES
    assert set(CHANNEL_MODELS) == set(CHANNEL_NAMES)
    assert len(CHANNEL_NAMES) == 19


def test_unknown_scenario_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown flight scenario 'martian'"):
        FlightModel("martian")


def test_times_outside_the_flight_are_refused(flight: FlightModel) -> None:
    with pytest.raises(FlightTimeError, match="outside the modelled flight"):
        flight.channels_at(utc(1962, 10, 1))
    with pytest.raises(FlightTimeError, match="no time zone"):
        flight.channels_at(datetime(1962, 11, 20))


def test_nitrogen_one_bottle_empty_at_cutoff_the_other_spent_by_the_spin_up(
    flight: FlightModel,
) -> None:
    # The record: one bottle at zero right after the engine cutoff; the other held
    # Sun-star orientation until the gyroscopes took over and its gas spun the craft up.
    cutoff = LAUNCH_UTC + timedelta(seconds=flight.engine_cutoff_s)
    before = flight.channels_at(cutoff - timedelta(minutes=1))
    assert before["n2_pressure_a_mpa"] > 14.0 and before["n2_pressure_b_mpa"] > 14.0
    after = flight.channels_at(cutoff + timedelta(hours=1))
    assert after["n2_pressure_a_mpa"] == 0.0
    assert after["n2_pressure_b_mpa"] > 14.0
    on_5_nov = flight.channels_at(utc(1962, 11, 5, 12))
    assert on_5_nov["n2_pressure_a_mpa"] == 0.0
    assert 12.0 < on_5_nov["n2_pressure_b_mpa"] < 14.5
    spinning_up = flight.channels_at(utc(1962, 11, 6, 12))
    assert 4.0 < spinning_up["n2_pressure_b_mpa"] < 8.0
    for day in (utc(1962, 11, 7), utc(1962, 11, 7, 6), utc(1962, 12, 1), utc(1963, 3, 1)):
        channels = flight.channels_at(day)
        assert channels["n2_pressure_a_mpa"] == 0.0
        assert channels["n2_pressure_b_mpa"] == 0.0
    days = np.arange(0.5, 5.0, 0.5) * 86400.0
    assert np.all(np.diff(flight.channels_s(days)["n2_pressure_b_mpa"]) < 0)


def test_attitude_modes_follow_the_documented_sequence(flight: FlightModel) -> None:
    assert flight.attitude_mode_at(utc(1962, 11, 3)) == AttitudeMode.SUN_STAR
    assert flight.attitude_mode_at(utc(1962, 11, 6, 12)) == AttitudeMode.GYRO
    assert flight.attitude_mode_at(utc(1962, 11, 8)) == AttitudeMode.SPIN_SUN_AXIS
    assert flight.attitude_mode_at(utc(1963, 3, 20)) == AttitudeMode.SPIN_SUN_AXIS
    assert flight.dish_pointed_at(utc(1962, 11, 3))
    assert not flight.dish_pointed_at(utc(1962, 11, 10))
    assert flight.channels_at(utc(1962, 11, 3))["tx_state"] == 0b1_0001
    assert flight.channels_at(utc(1962, 11, 10))["tx_state"] == 0b0_0001


def test_nominal_scenario_keeps_gas_orientation_and_dish() -> None:
    nominal = FlightModel("nominal", rng=np.random.default_rng(3))
    for day in (utc(1962, 11, 10), utc(1963, 3, 20)):
        assert nominal.attitude_mode_at(day) == AttitudeMode.SUN_STAR
        assert nominal.dish_pointed_at(day)
        channels = nominal.channels_at(day)
        assert channels["n2_pressure_a_mpa"] > 10.0
        assert channels["n2_pressure_b_mpa"] > 10.0


def test_distances_come_from_the_mission_trajectory(flight: FlightModel) -> None:
    from signals.path.geometry import get_trajectory

    trajectory = get_trajectory()
    for t in (LAUNCH_UTC + timedelta(hours=3), utc(1962, 11, 4), utc(1963, 3, 21)):
        t_s = [seconds_since_launch(t)]
        assert flight.distance_km_s(t_s)[0] == pytest.approx(
            trajectory.distance_from_earth_km(t), rel=1e-3
        )
        assert flight.sun_distance_au_s(t_s)[0] == pytest.approx(
            trajectory.sun_distance_au(t), rel=1e-4
        )
    # The documented last contact at 106.76 million km (ICD §1), within the trajectory's
    # own tolerance of the record.
    assert flight.distance_km_s([seconds_since_launch(utc(1963, 3, 21))])[0] == pytest.approx(
        106.76e6, rel=0.05
    )
    # Escape in the first hours: beyond the Moon's distance within two days.
    assert flight.distance_km_s([2 * 86400.0])[0] > 384_400.0


def _zone_duration_s(flight: FlightModel, low_km: float, high_km: float) -> tuple[float, float]:
    grid_s = np.arange(0.0, 200 * 86400.0, 1.0 if high_km < 1e6 else 60.0)
    if high_km < 1e6:
        grid_s = grid_s[: 86400 * 2]
    altitude = flight.altitude_km_s(grid_s)
    inside = grid_s[(altitude >= low_km) & (altitude <= high_km)]
    return inside[0], inside[-1]


@pytest.mark.parametrize(("low_km", "high_km"), [(6_000.0, 40_000.0), (20e6, 40e6)])
def test_micrometeoroid_rate_in_the_documented_zones(
    flight: FlightModel, low_km: float, high_km: float
) -> None:
    """About one hit per two minutes: the count is that of a Poisson process at 1/120 s."""
    start_s, end_s = _zone_duration_s(flight, low_km, high_km)
    hits = flight.channels_s(np.array([start_s, end_s]))["micrometeoroid_hits"]
    count = int(hits[1] - hits[0])
    expected = METEOROID_ZONE_RATE_PER_S * (end_s - start_s)
    low, high = _poisson_interval(expected)
    assert low <= count <= high
    assert 90.0 < (end_s - start_s) / count < 160.0  # seconds per hit: "about two minutes"


def test_micrometeoroid_rate_is_low_between_the_zones(flight: FlightModel) -> None:
    grid_s = np.arange(0.0, 200 * 86400.0, 60.0)
    altitude_km = flight.altitude_km_s(grid_s)
    start_s = grid_s[np.argmax(altitude_km > 60_000.0)]
    end_s = grid_s[np.argmax(altitude_km > 19e6)]
    hits = flight.channels_s(np.array([start_s, end_s]))["micrometeoroid_hits"]
    count = int(hits[1] - hits[0])
    low, high = _poisson_interval(METEOROID_BACKGROUND_RATE_PER_S * (end_s - start_s))
    assert low <= count <= high
    assert count / (end_s - start_s) < METEOROID_ZONE_RATE_PER_S / 100


def test_hit_count_is_cumulative_and_consistent_across_calls(flight: FlightModel) -> None:
    times = [utc(1962, 12, 25, h) for h in range(0, 24, 3)]
    first = [flight.channels_at(t)["micrometeoroid_hits"] for t in times]
    again = [flight.channels_at(t)["micrometeoroid_hits"] for t in reversed(times)][::-1]
    assert first == again
    assert np.all(np.diff(first) >= 0)
    assert first[-1] > first[0]


def test_interplanetary_field_3_to_4_nt_falling_with_sun_distance(flight: FlightModel) -> None:
    # Early in the cruise (1.0-1.1 AU) the field is the documented 3-4 nT; it falls
    # along the Parker spiral, (1/r^2) sqrt(1 + (k r)^2), by March (1.43 AU).
    def magnitudes(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t_s = days * 86400.0
        ch = flight.channels_s(t_s)
        mag = np.sqrt(ch["mag_x_nt"] ** 2 + ch["mag_y_nt"] ** 2 + ch["mag_z_nt"] ** 2)
        return mag, flight.sun_distance_au_s(t_s)

    early, r_early = magnitudes(np.arange(15.0, 45.0, 0.01))
    late, r_late = magnitudes(np.arange(125.0, 140.0, 0.01))
    assert 3.0 <= np.median(early) <= 4.0
    b_r, b_phi = parker_field_nt(np.array([np.median(r_early), np.median(r_late)]))
    expected_ratio = np.hypot(b_r[1], b_phi[1]) / np.hypot(b_r[0], b_phi[0])
    assert np.median(late) / np.median(early) == pytest.approx(expected_ratio, rel=0.1)
    assert expected_ratio < 0.8
    # Disturbances: distinct peaks of 6-9 nT near 1 AU.
    assert 6.0 <= np.max(early) <= 9.3
    above = early > 5.5
    assert np.count_nonzero(above[1:] & ~above[:-1]) >= 3


def test_spin_turns_the_cross_axis_components_only(flight: FlightModel) -> None:
    # Spinning about the Sun axis from 7 Nov: x and y go round once per SPIN_PERIOD_S, z
    # (along the spin axis) does not, and the cross-axis magnitude is unchanged.
    t_s = seconds_since_launch(utc(1962, 11, 20)) + np.arange(0.0, SPIN_PERIOD_S, 1.0)
    x, y, z = flight.field_nt(t_s)
    assert np.min(x) < -0.5 < 0.5 < np.max(x) and np.min(y) < -0.5 < 0.5 < np.max(y)
    assert np.ptp(z) < 0.05 * np.max(np.abs(z)) + 1e-9
    assert np.ptp(np.hypot(x, y)) < 0.05 * np.max(np.hypot(x, y))
    spectrum = np.abs(np.fft.rfft(x - np.mean(x)))
    assert np.argmax(spectrum) == 1  # one turn in the window
    # Before the gyroscopes the craft holds its orientation: nothing turns.
    t_s = seconds_since_launch(utc(1962, 11, 3)) + np.arange(0.0, SPIN_PERIOD_S, 1.0)
    x, y, _ = flight.field_nt(t_s)
    assert np.ptp(x) < 0.2 and np.ptp(y) < 0.2


def _time_at_l_s(flight: FlightModel, l_shell: float) -> float:
    """First time after the burn the probe reaches ``l_shell`` (the parking orbit's high
    magnetic latitudes reach large L at 200 km, below the belts)."""
    grid_s = np.arange(flight.engine_cutoff_s, 86400.0, 1.0)
    return float(grid_s[np.argmax(flight.l_shell_s(grid_s) >= l_shell)])


def test_radiation_belts_stand_out_from_the_cosmic_background(flight: FlightModel) -> None:
    far_s = np.arange(30 * 86400.0, 30 * 86400.0 + 4000.0, 1.0)
    background = flight.channels_s(far_s)
    for channel, rate_cps in (("gas_discharge_cps", 2.5), ("scintillation_cps", 15.0)):
        counts = background[channel]
        # Poisson counts: mean within 4 standard errors of the rate, variance ≈ mean.
        assert abs(np.mean(counts) - rate_cps) < 4 * np.sqrt(rate_cps / counts.size)
        assert np.var(counts) == pytest.approx(rate_cps, rel=0.15)
    for shell in (1.6, 4.0):
        t_s = _time_at_l_s(flight, shell) + np.arange(5.0)
        in_belt = flight.channels_s(t_s)
        assert np.min(in_belt["gas_discharge_cps"]) > 100 * 2.5
        assert np.min(in_belt["scintillation_cps"]) > 100 * 15.0
    slot = flight.radiation_rates_cps([_time_at_l_s(flight, 2.6)])[0][0]
    inner = flight.radiation_rates_cps([_time_at_l_s(flight, 1.6)])[0][0]
    outer = flight.radiation_rates_cps([_time_at_l_s(flight, 4.0)])[0][0]
    assert slot < 0.5 * min(inner, outer)  # two belts, not one


def test_the_departure_crosses_the_belts_at_high_magnetic_latitude(flight: FlightModel) -> None:
    # Leaving at a declination of about +45 deg, the probe crosses the field lines of both
    # belts within half an hour of the burn, much closer in than r = 4 R_E.
    burn_s = flight.engine_cutoff_s
    inner_s, outer_s = _time_at_l_s(flight, 1.6), _time_at_l_s(flight, 4.0)
    assert burn_s < inner_s < outer_s < burn_s + 1800.0
    r_outer = flight.distance_km_s([outer_s])[0] / EARTH_RADIUS_KM
    assert 1.5 < r_outer < 2.5
    # L is r / cos^2(lambda) >= r: equal on the magnetic equator only.
    t_s = np.arange(burn_s, burn_s + 86400.0, 60.0)
    assert np.all(flight.l_shell_s(t_s) >= flight.distance_km_s(t_s) / EARTH_RADIUS_KM - 1e-9)


def test_power_follows_the_sun_distance(flight: FlightModel) -> None:
    t_s = np.arange(10 * 86400.0, 200 * 86400.0, 86400.0)
    ch = flight.channels_s(t_s)
    sun_au = flight.sun_distance_au_s(t_s)
    assert sun_au[-1] > 1.4 * sun_au[0]
    # solar-array current ∝ flux ∝ 1/r²: the fitted exponent is −2.
    slope = np.polyfit(np.log(sun_au), np.log(ch["solar_array_a"]), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.05)
    assert np.mean(ch["battery_a"][:10]) > 0  # charging near 1 AU
    assert np.mean(ch["battery_a"][:10]) > np.mean(ch["battery_a"][-10:]) + 1.0
    assert np.polyfit(sun_au, ch["battery_v"], 1)[0] < 0
    assert np.polyfit(sun_au, ch["temp_radiator_c"], 1)[0] < 0
    assert np.polyfit(sun_au, ch["temp_experiment_c"], 1)[0] < 0


def test_channels_fit_the_telemetry_ranges(flight: FlightModel) -> None:
    t_s = np.concatenate([np.arange(0.0, 86400.0, 30.0), np.arange(86400.0, 250 * 86400.0, 7e3)])
    ch = flight.channels_s(t_s)
    limits = {
        "n2_pressure_a_mpa": (0.0, 127 * 0.125),
        "n2_pressure_b_mpa": (0.0, 127 * 0.125),
        "battery_v": (20.0, 32.7),
        "battery_a": (-16.0, 15.75),
        "solar_array_a": (0.0, 12.7),
        "temp_orbital_c": (-40.0, 87.0),
        "temp_experiment_c": (-40.0, 87.0),
        "temp_radiator_c": (-100.0, 90.5),
        "mag_x_nt": (-40.96, 40.96),
        "gas_discharge_cps": (0, 16383),
        "scintillation_cps": (0, 16383),
    }
    for name, (low, high) in limits.items():
        assert low <= np.min(ch[name]) and np.max(ch[name]) <= high, name


def test_seeded_models_are_reproducible() -> None:
    t_s = np.arange(0.0, 60 * 86400.0, 3600.0)
    a = FlightModel(rng=np.random.default_rng(7)).channels_s(t_s)
    b = FlightModel(rng=np.random.default_rng(7)).channels_s(t_s)
    c = FlightModel(rng=np.random.default_rng(8)).channels_s(t_s)
    for name in CHANNEL_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["micrometeoroid_hits"], c["micrometeoroid_hits"])
    assert not np.array_equal(a["battery_v"], c["battery_v"])


def test_scalar_and_vector_forms_agree(flight: FlightModel) -> None:
    t = utc(1963, 1, 10, 5, 6, 7)
    scalar = flight.channels_at(t)
    vector = flight.channels_s([seconds_since_launch(t)])
    for name in CHANNEL_NAMES:
        assert scalar[name] == vector[name][0]
