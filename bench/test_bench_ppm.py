"""PPM decode throughput (the project's hot path) against two same-run references.

- baseline: the numpy detector with the timing known, chunk by chunk over the memory map
  (ICD §3 at 180 kS/s: 4 samples per chip, 2000 per period)::

      p = x.real**2 + x.imag**2
      g = p.reshape(-1, 500, 4).sum(-1)[:, 50:434:6].argmax(1)

- read pass: ``np.add.reduce`` over the memory-mapped samples, chunk by chunk.

The receiver is timed whole: acquisition, header, timing and carrier tracking, decisions.
``extra_info`` holds samples/s of all three and the ratios ``ratio_to_baseline`` and
``ratio_to_read_pass``. Size: ``MARS1_BENCH_SIZE`` = ``full`` (≥ 1e8 samples) or ``smoke``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import best_time_s, pick, record_throughput
from ppm_recordings import ppm_recording

from groundstation.ppm_receiver import decode_ppm

FS_HZ = 180e3
PERIOD_SAMPLES = 2000  # 500 chips × 4 samples at 180 kS/s
CHUNK_SAMPLES = PERIOD_SAMPLES * 512


@pytest.fixture(scope="module")
def recording(bench_dir):
    return ppm_recording(bench_dir, pick(2_000_000, 100_000_000), fs_hz=FS_HZ)


def numpy_baseline(recording) -> None:
    """Slot energies and argmax with the timing known (whole periods from sample 0)."""
    usable = recording.n_samples - recording.n_samples % PERIOD_SAMPLES
    for start in range(0, usable, CHUNK_SAMPLES):
        x = recording.read(start, min(CHUNK_SAMPLES, usable - start))
        p = x.real**2 + x.imag**2
        p.reshape(-1, 500, 4).sum(-1)[:, 50:434:6].argmax(1)


def read_pass(recording) -> None:
    """One pass over the memory-mapped samples."""
    for start in range(0, recording.n_samples, CHUNK_SAMPLES):
        np.add.reduce(recording.read(start, CHUNK_SAMPLES))


def test_ppm_decode_throughput(benchmark, recording):
    result = benchmark.pedantic(decode_ppm, args=(recording,), rounds=pick(1, 3), iterations=1)
    assert result.images
    assert all(not image.lines_missing for image in result.images)
    baseline_s = best_time_s(lambda: numpy_baseline(recording))
    read_s = best_time_s(lambda: read_pass(recording))
    record_throughput(
        benchmark,
        recording.n_samples,
        baseline_s=baseline_s,
        fs_hz=FS_HZ,
        read_pass_samples_per_s=recording.n_samples / read_s,
        images=len(result.images),
    )
    info = benchmark.extra_info
    if "samples_per_s" in info:
        info["ratio_to_read_pass"] = info["samples_per_s"] / info["read_pass_samples_per_s"]
