"""Telemetry decoding throughput (ICD §4) against a same-run numpy baseline.

The baseline is one FFT-based mixer and matched-filter pass over the same samples (mix
to the subcarrier, box-car filter one bit long): the least any receiver must do. The
telemetry receiver's real-time factor (samples/s ÷ fs) says how many times faster than
the signal arrives it decodes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import best_time_s, pick, record_throughput
from scipy import fft as sp_fft
from scipy import signal as sps

from groundstation.receivers.tlm_decode import decode_tlm_samples
from signals.formats.tlm import CHANNELS, SUBCARRIER_HZ, FrameType, from_raw
from signals.formats.tlm_frames import frame_from_channels
from signals.modulators.tlm import TelemetryTransmission

START = datetime(1962, 11, 5, 9, 0, tzinfo=UTC)


def _signal(bit_rate: int, fs_hz: float, n_frames: int) -> np.ndarray:
    rng = np.random.default_rng(bit_rate)
    frames = []
    for k in range(n_frames):
        ft = FrameType(k % 2)
        values = {c.name: from_raw(c, int(rng.integers(0, c.raw_max + 1))) for c in CHANNELS[ft]}
        frames.append(frame_from_channels(k, ft, values))
    tx = TelemetryTransmission(
        frames, fs_hz=fs_hz, bit_rate_bps=bit_rate, rng=rng, carrier_s=5.0, ebn0_db=10.0,
        carrier_offset_hz=350.0, carrier_rate_hz_per_s=1.0, phase_noise_rad_per_sqrt_s=0.05,
        clock_offset=50e-6,
    )  # fmt: skip
    return tx.samples()


def _baseline(x: np.ndarray, fs_hz: float, bit_rate: int) -> np.ndarray:
    """FFT mixer (rotate the spectrum to the subcarrier) + one-bit box-car matched filter."""
    n = sp_fft.next_fast_len(x.size)
    spectrum = sp_fft.fft(x, n)
    shift = round(SUBCARRIER_HZ / fs_hz * n)
    mixed = sp_fft.ifft(np.roll(spectrum, -shift))[: x.size]
    taps = np.ones(int(fs_hz / bit_rate)) / (fs_hz / bit_rate)
    return sps.oaconvolve(mixed, taps, mode="same")


@pytest.mark.parametrize(("bit_rate", "fs_hz"), [(64, 8000.0), (128, 9600.0), (8, 8000.0)])
@pytest.mark.parametrize("minutes", [2, 10])
def test_tlm_decode(benchmark, bit_rate: int, fs_hz: float, minutes: int) -> None:
    frame_s = 256 / bit_rate
    n_frames = pick(smoke=2, full=max(2, int(60 * minutes // frame_s)))
    x = _signal(bit_rate, fs_hz, n_frames)
    baseline_s = best_time_s(lambda: _baseline(x, fs_hz, bit_rate), rounds=2)
    result = benchmark(decode_tlm_samples, x, fs_hz, bit_rate_bps=bit_rate, start_utc=START)
    assert len(result.frames) == n_frames
    record_throughput(
        benchmark, x.size, baseline_s=baseline_s, fs_hz=fs_hz, bit_rate_bps=bit_rate,
        frames=len(result.frames),
    )  # fmt: skip
