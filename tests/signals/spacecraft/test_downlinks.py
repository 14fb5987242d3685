"""The downlink generator: streamed chunks, truth, and the session's impairments as data."""

from __future__ import annotations

import itertools
import tracemalloc
from datetime import UTC, datetime
from importlib import resources

import numpy as np
import pytest

from signals.bands import impairments, parse_session_tables, session
from signals.errors import ConfigError
from signals.formats.tlm import FRAME_BITS
from signals.mission import LAUNCH_UTC
from signals.modulators.ppm import ImageTransmission, PpmChannel
from signals.path.geometry import get_trajectory
from signals.spacecraft.craft import BandTransmission
from signals.spacecraft.downlinks import (
    CarrierOptions,
    PpmOptions,
    StreamFacts,
    TelemetryOptions,
    carrier_downlink,
    ppm_downlink,
    telemetry_downlink,
)
from signals.spacecraft.flight import SPIN_ANTENNA_DEPTH, SPIN_PERIOD_S, FlightModel
from signals.spacecraft.session_downlinks import SessionLink, session_downlink

START = datetime(1962, 11, 4, 2, 17, tzinfo=UTC)


def _data_text() -> str:
    return resources.files("signals").joinpath("data/mars1.toml").read_text("utf-8")


def test_impairments_and_station_setup_are_read_from_the_data_file():
    setup, imp = parse_session_tables(_data_text())
    assert setup == session() and imp == impairments()
    assert setup.telemetry_fs_hz == 8000.0 and setup.min_elevation_deg == 5.0
    assert imp.telemetry.clock_max_ppm == 30.0
    assert imp.carrier.range_rate_prediction_sigma_m_s == 5.0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("clock_max_ppm = 30.0", "clock_max_ppm = -1.0", "telemetry].*'clock_max_ppm'"),
        ("clock_max_ppm = 30.0", "clock_max_ppm = 'fast'", "telemetry].*'clock_max_ppm'"),
        ("clock_max_ppm = 30.0", "clock_ppm = 30.0", r"telemetry\]: unknown key"),
        ("ppm_fs_hz = 180000.0", "", r"\[session\]: missing key 'ppm_fs_hz'"),
        ("[impairments.carrier]", "[impairments.lasers]", r"\[impairments.carrier\] is missing"),
    ],
)
def test_a_bad_key_is_named(old, new, message):
    text = _data_text()
    assert old in text
    with pytest.raises(ConfigError, match=message):
        parse_session_tables(text.replace(old, new, 1))


def test_telemetry_downlink_streams_chunks_and_tells_what_it_sent():
    flight = FlightModel("historical", np.random.default_rng(3))
    options = TelemetryOptions(start_utc=START, bit_rate_bps=8, n_frames=3, ebn0_db=10.0)
    downlink = telemetry_downlink(options, flight.channels_at, np.random.default_rng(4))
    chunks = list(downlink.chunks())
    assert len(chunks) > 1 and all(c.dtype == np.complex64 for c in chunks)
    assert sum(c.size for c in chunks) == downlink.n_samples
    assert downlink.frames_sent == 3 and len(downlink.truth["frames"]) == 3
    frame_s = FRAME_BITS / 8
    assert downlink.n_samples == pytest.approx((options.carrier_s + 3 * frame_s) * 8000, abs=1)
    nominal_hz = downlink.truth["nominal_frequency_hz"]
    range_rate_m_s = get_trajectory().range_rate_km_s(START) * 1e3
    doppler_hz = -range_rate_m_s / 299_792_458.0 * nominal_hz
    assert downlink.tuned_hz - nominal_hz == pytest.approx(doppler_hz, rel=1e-3)


def test_carrier_downlink_residual_is_the_prediction_error():
    """Two-way: the residual is the Doppler of the range-rate prediction's error."""
    options = CarrierOptions(start_utc=START, two_way=True, prediction_error_m_s=10.0)
    downlink = carrier_downlink(options, np.random.default_rng(1))
    truth = downlink.truth
    offset_hz = truth["received_frequency_start_hz"] - truth["tuned_frequency_hz"]
    wavelength_m = 299_792_458.0 / truth["nominal_frequency_hz"]
    assert offset_hz == pytest.approx(2 * 10.0 / wavelength_m, rel=1e-3)
    assert downlink.coherent_mode == "two-way" and downlink.uplink_hz is not None


def test_session_downlink_draws_within_the_impairment_limits():
    flight = FlightModel("historical", np.random.default_rng(3))
    link = SessionLink(
        light_time_s=2.9,
        two_way=True,
        cn0_dbhz={"32cm-tlm": 60.0},
        max_frames=2,
        max_telemetry_s=100.0,
        carrier_duration_s=10.0,
        image_size=None,
    )
    tx = BandTransmission("32cm-tlm", START, 10.0, 128.0)
    limits = impairments().telemetry
    for seed in range(5):
        downlink = session_downlink(tx, link, flight.channels_at, np.random.default_rng(seed))
        assert downlink.fs_hz == session().telemetry_fs_hz
        assert abs(downlink.truth["clock_offset"]) <= limits.clock_max_ppm * 1e-6
        assert downlink.truth["phase_noise_rad_per_sqrt_s"] == limits.phase_noise_rad_per_sqrt_s
        assert downlink.frames_sent == 2


def test_spin_sweeps_the_1p6m_antenna_once_a_turn_after_the_spin_up():
    flight = FlightModel("historical", np.random.default_rng(3))
    before = (datetime(1962, 11, 5, tzinfo=UTC) - LAUNCH_UTC).total_seconds()
    assert np.all(flight.antenna_power_gain_s(before + np.arange(0.0, 600.0, 7.0)) == 1.0)
    after = (datetime(1962, 12, 1, tzinfo=UTC) - LAUNCH_UTC).total_seconds()
    t = after + np.arange(0.0, SPIN_PERIOD_S, 0.01)
    gain = flight.antenna_power_gain_s(t)
    assert gain.max() == pytest.approx(1.0 + SPIN_ANTENNA_DEPTH, abs=1e-6)
    assert gain.min() == pytest.approx(1.0 - SPIN_ANTENNA_DEPTH, abs=1e-6)
    assert gain.mean() == pytest.approx(1.0, abs=1e-4)  # the link budget's G_t on average
    nominal = FlightModel("nominal", np.random.default_rng(3))
    assert np.all(nominal.antenna_power_gain_s(t) == 1.0)


def test_telemetry_power_follows_the_antenna_one_light_time_earlier():
    start = datetime(1962, 12, 1, tzinfo=UTC)
    light_time_s, fs_hz = 7.5, 8000.0
    period_s = 12.0

    def gain_s(t_s: np.ndarray) -> np.ndarray:
        return 1.0 + 0.25 * np.sin(2 * np.pi * t_s / period_s)

    options = TelemetryOptions(
        start_utc=start,
        band_id="1.6m-tlm",
        bit_rate_bps=64.0,
        light_time_s=light_time_s,
        n_frames=2,
        fs_hz=fs_hz,
        antenna_power_gain_s=gain_s,
    )
    flight = FlightModel("historical", np.random.default_rng(3))
    rng = np.random.default_rng(1)
    x = np.concatenate(list(telemetry_downlink(options, flight.channels_at, rng).chunks()))
    t = np.arange(x.size) / fs_hz
    left_s = (start - LAUNCH_UTC).total_seconds() - light_time_s
    np.testing.assert_allclose(np.abs(x) ** 2, gain_s(left_s + t), rtol=1e-4)


# ------------------------------------------------------------------------------ streaming


def _downlinks_of_every_band(seed: int):
    """A telemetry, a carrier and an image downlink, each from its own ``seed`` generator."""
    flight = FlightModel("historical", np.random.default_rng(3))
    tlm = TelemetryOptions(start_utc=START, bit_rate_bps=64, n_frames=2, cn0_dbhz=45.0)
    carrier = CarrierOptions(start_utc=START, duration_s=3.0, phase_noise_rad_per_sqrt_s=0.1)
    image = ImageTransmission(np.arange(4 * 6, dtype=np.uint8).reshape(4, 6), 9)
    ppm = PpmOptions(start_utc=START, items=(image,), channel=PpmChannel(esn0_db=15.0))
    return [
        telemetry_downlink(tlm, flight.channels_at, np.random.default_rng(seed)),
        carrier_downlink(carrier, np.random.default_rng(seed)),
        ppm_downlink(ppm, np.random.default_rng(seed)),
    ]


@pytest.mark.parametrize("band_index", [0, 1, 2])
def test_a_stream_in_any_chunk_length_is_the_whole_array_byte_for_byte(band_index):
    whole = _downlinks_of_every_band(5)[band_index].samples()
    assert whole.dtype == np.complex64 and whole.size > 0
    sizes = np.random.default_rng(band_index).integers(1, 70_000, 6).tolist()
    for chunk_samples in [1, 4096, whole.size, whole.size + 1, *sizes]:
        if chunk_samples == 1 and whole.size > 30_000:
            chunk_samples = 7  # one sample at a time is slow in Python for a long stream
        downlink = _downlinks_of_every_band(5)[band_index]
        chunks = list(downlink.stream(chunk_samples))
        assert all(c.dtype == np.complex64 for c in chunks)
        assert all(c.size == chunk_samples for c in chunks[:-1])
        assert 1 <= chunks[-1].size <= chunk_samples
        assert np.concatenate(chunks).tobytes() == whole.tobytes(), chunk_samples


def test_stream_facts_are_what_the_recording_metadata_states():
    tlm, carrier, ppm = _downlinks_of_every_band(5)
    facts = tlm.facts
    assert type(facts) is StreamFacts and isinstance(tlm, StreamFacts)
    assert facts.datatype == "cf32_le" and facts.band_id == "32cm-tlm"
    assert (facts.fs_hz, facts.tuned_hz, facts.start_utc) == (tlm.fs_hz, tlm.tuned_hz, START)
    assert facts.nominal_hz == tlm.truth["nominal_frequency_hz"]
    assert facts.bit_rate_bps == 64 and facts.n_samples == tlm.n_samples
    assert facts.duration_s == pytest.approx(tlm.n_samples / 8000.0)
    assert carrier.facts.coherent_mode == "one-way" and carrier.facts.bit_rate_bps is None
    assert ppm.facts.fs_hz == 180_000.0 and ppm.facts.band_id == "5cm-ppm"


def test_a_long_stream_holds_only_its_chunk_in_memory():
    """An hour of carrier (230 MB as one array): the first chunks come within a few MB."""
    options = CarrierOptions(start_utc=START, duration_s=3600.0, cn0_dbhz=40.0)
    downlink = carrier_downlink(options, np.random.default_rng(0))
    assert downlink.n_samples * 8 > 200e6
    tracemalloc.start()
    try:
        first = list(itertools.islice(downlink.stream(100_000), 5))
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [c.size for c in first] == [100_000] * 5
    assert peak_bytes < 40e6


def test_a_chunk_length_below_one_is_refused():
    downlink = _downlinks_of_every_band(5)[0]
    with pytest.raises(ValueError, match="at least 1"):
        downlink.stream(0)
