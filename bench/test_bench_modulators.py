"""Modulation throughput: the PPM and telemetry transmitters with their channel.

The baseline is the one thing no modulator can skip: drawing the complex white Gaussian
noise of the same number of samples with numpy, in the same run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import best_time_s, pick, record_throughput

from signals.formats.tlm_frames import frame_from_channels
from signals.modulators.carrier import CarrierSignal
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal
from signals.modulators.tlm import TelemetryTransmission
from signals.sources.images import make_image
from signals.spacecraft.flight import FlightModel


def _noise_baseline_s(n_samples: int) -> float:
    rng = np.random.default_rng(0)

    def draw():
        for start in range(0, n_samples, 1 << 18):
            m = min(1 << 18, n_samples - start)
            rng.standard_normal(2 * m, dtype=np.float32).view(np.complex64)

    return best_time_s(draw)


def _drain(chunks) -> int:
    return sum(chunk.size for chunk in chunks)


@pytest.mark.parametrize("fs_hz", [100e3, 180e3, 200e3])
def test_ppm_modulation(benchmark, fs_hz):
    lines = pick(smoke=4, full=60)
    rng = np.random.default_rng(1)
    image = ImageTransmission(make_image("random", lines, 200, rng), 7)
    channel = PpmChannel(
        clock_ppm=50.0,
        doppler_v_over_c=3e-5,
        carrier_offset_hz=12e3,
        carrier_rate_hz_per_s=2.0,
        esn0_db=14.0,
    )
    signal = PpmSignal([image], fs_hz=fs_hz, channel=channel)
    baseline_s = _noise_baseline_s(signal.n_samples)
    n = benchmark(lambda: _drain(signal.chunks(np.random.default_rng(2))))
    record_throughput(benchmark, n, baseline_s=baseline_s, fs_hz=fs_hz)


@pytest.mark.parametrize(("fs_hz", "bit_rate_bps"), [(8e3, 64), (9.6e3, 128), (48e3, 64)])
def test_telemetry_modulation(benchmark, fs_hz, bit_rate_bps):
    n_frames = pick(smoke=2, full=40)
    flight = FlightModel("historical", np.random.default_rng(3))
    channels = flight.channels_at(datetime(1962, 11, 4, tzinfo=UTC))
    frames = [frame_from_channels(k, k % 2, channels) for k in range(n_frames)]

    def signal():
        return TelemetryTransmission(
            frames,
            fs_hz=fs_hz,
            bit_rate_bps=bit_rate_bps,
            rng=np.random.default_rng(4),
            carrier_s=2.0,
            ebn0_db=10.0,
            carrier_offset_hz=300.0,
            carrier_rate_hz_per_s=2.0,
            phase_noise_rad_per_sqrt_s=0.05,
            clock_offset=50e-6,
        )

    baseline_s = _noise_baseline_s(signal().n_samples)
    n = benchmark(lambda: _drain(signal().chunks(1 << 16)))
    record_throughput(benchmark, n, baseline_s=baseline_s, fs_hz=fs_hz)


@pytest.mark.parametrize("fs_hz", [8e3, 48e3, 192e3])
def test_channel(benchmark, fs_hz):
    """The channel on its own (:mod:`signals.path.channel`): an unmodulated carrier with residual
    Doppler offset and rate, oscillator phase noise and AWGN (the 8 cm carrier, ICD §6)."""
    duration_s = pick(smoke=2e5, full=2.4e7) / fs_hz
    signal = CarrierSignal(
        fs_hz=fs_hz,
        duration_s=duration_s,
        offset_hz=500.0,
        rate_hz_per_s=0.2,
        cn0_dbhz=40.0,
        phase_noise_rad_per_sqrt_s=0.05,
    )
    baseline_s = _noise_baseline_s(signal.n_samples)
    n = benchmark(lambda: _drain(signal.chunks(np.random.default_rng(5), 1 << 18)))
    record_throughput(benchmark, n, baseline_s=baseline_s, fs_hz=fs_hz)
