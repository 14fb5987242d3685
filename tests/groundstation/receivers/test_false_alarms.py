"""False alarms: a receiver fed nothing but noise finds no image and no parity-good frame.

Once, a recording of pure noise produced a false image. The rates measured over hours of
noise are in ``bench/test_bench_false_alarms.py``; here a few minutes of each run in the
default suite.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from groundstation.errors import NoSignalError
from groundstation.receivers.ppm import PpmReceiver, decode_ppm
from groundstation.receivers.ppm_sources import CHUNK_SAMPLES
from groundstation.receivers.tlm_decode import decode_tlm_segments
from signals.path.noise import NoiseSource


def test_noise_source_is_unit_variance_and_order_independent():
    source = NoiseSource(300_000, 90e3, np.random.default_rng(1))
    whole = source.read(0, 300_000)
    assert np.var(whole) == pytest.approx(1.0, rel=0.01)
    np.testing.assert_array_equal(source.read(123_456, 70_000), whole[123_456:193_456])


@pytest.mark.parametrize(("fs_hz", "minutes", "seed"), [(90e3, 2.0, 1), (180e3, 0.33, 2)])
def test_ppm_finds_no_image_in_noise(fs_hz, minutes, seed):
    source = NoiseSource(int(fs_hz * 60 * minutes), fs_hz, np.random.default_rng(seed))
    assert decode_ppm(source).images == []


@pytest.mark.slow
def test_ppm_finds_no_image_in_an_hour_of_noise():
    """One hour at the lowest rate, fed as a stream: nothing gets past the header's line
    markers (docs/ppm-receiver.md puts a lock at < 4e-6 per candidate, about 3300
    candidates an hour), so no image."""
    fs_hz = 90e3
    source = NoiseSource(int(fs_hz * 3600), fs_hz, np.random.default_rng(11))
    receiver = PpmReceiver(fs_hz)
    for start in range(0, source.n_samples, CHUNK_SAMPLES):
        assert receiver.feed(source.read(start, CHUNK_SAMPLES)) == []
    assert receiver.end() == []
    counts = receiver.acquirer.counts
    assert 1000 < counts["candidates"] < 10_000
    assert counts["confirmed_headers"] == counts["unconfirmed_headers"] == 0
    assert receiver.result().images == []


@pytest.mark.parametrize(("bit_rate_bps", "seed"), [(64, 3), (1, 4)])
def test_telemetry_finds_no_parity_good_frame_in_noise(bit_rate_bps, seed):
    source = NoiseSource(8_000 * 60 * 10, 8e3, np.random.default_rng(seed))
    try:
        result = decode_tlm_segments(
            source.read,
            source.n_samples,
            source.fs_hz,
            bit_rate_bps=bit_rate_bps,
            start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        )
    except NoSignalError:
        return
    assert not any(frame.parity_ok for frame in result.frames)
