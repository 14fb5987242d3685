"""False alarms over hours of noise: images and parity-good frames found in nothing.

Each receiver reads pure complex white noise (:class:`signals.path.noise.NoiseSource`,
generated on demand) for ``pick(smoke, full)`` hours; ``extra_info`` reports the hours
read and the false images / parity-good frames per hour, which must be zero.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import pick, record_throughput

from groundstation.errors import NoSignalError
from groundstation.receivers.ppm import PpmReceiver
from groundstation.receivers.ppm_sources import CHUNK_SAMPLES
from groundstation.receivers.tlm_decode import decode_tlm_segments
from signals.path.noise import NoiseSource


@pytest.mark.parametrize("fs_hz", [90e3, 180e3])
def test_ppm_false_images_per_hour(benchmark, fs_hz: float) -> None:
    """Hours of noise through the push-based receiver; ``extra_info`` also holds how often
    per hour a candidate passed each check of the acquisition (docs/ppm-false-alarms.md)."""
    hours = pick(1 / 60, 4.0 if fs_hz < 100e3 else 2.0)
    source = NoiseSource(int(fs_hz * 3600 * hours), fs_hz, np.random.default_rng(int(fs_hz)))

    def decode() -> PpmReceiver:
        receiver = PpmReceiver(fs_hz)
        for start in range(0, source.n_samples, CHUNK_SAMPLES):
            receiver.feed(source.read(start, CHUNK_SAMPLES))
        receiver.end()
        return receiver

    receiver = benchmark.pedantic(decode, rounds=1, iterations=1)
    images = receiver.result().images
    record_throughput(
        benchmark,
        source.n_samples,
        fs_hz=fs_hz,
        noise_hours=hours,
        false_images_per_hour=len(images) / hours,
        **{f"{name}_per_hour": n / hours for name, n in receiver.acquirer.counts.items()},
    )
    assert images == []


@pytest.mark.parametrize("bit_rate_bps", [1, 64, 128])
def test_tlm_false_frames_per_hour(benchmark, bit_rate_bps: int) -> None:
    hours, fs_hz = pick(5 / 60, 4.0), 8e3
    source = NoiseSource(int(fs_hz * 3600 * hours), fs_hz, np.random.default_rng(bit_rate_bps))

    def decode() -> int:
        try:
            result = decode_tlm_segments(
                source.read,
                source.n_samples,
                fs_hz,
                bit_rate_bps=bit_rate_bps,
                start_utc=datetime(1962, 11, 4, tzinfo=UTC),
            )
        except NoSignalError:
            return 0
        return sum(frame.parity_ok for frame in result.frames)

    good = benchmark.pedantic(decode, rounds=1, iterations=1)
    record_throughput(
        benchmark,
        source.n_samples,
        fs_hz=fs_hz,
        noise_hours=hours,
        false_frames_per_hour=good / hours,
    )
    assert good == 0
