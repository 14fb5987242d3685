"""PPM decode throughput (the project's hot path) against two same-run references.

- baseline: the numpy detector with the timing known, chunk by chunk over the memory map
  (ICD §3 at 180 kS/s: 4 samples per chip, 2000 per period)::

      p = x.real**2 + x.imag**2
      g = p.reshape(-1, 500, 4).sum(-1)[:, 50:434:6].argmax(1)

  At other rates the same code runs over the same samples: its cost per sample does not
  depend on what they hold, so it stays the same yardstick.
- read pass: ``np.add.reduce`` over the memory-mapped samples, chunk by chunk.

The receiver is timed whole: acquisition, header, timing and carrier tracking, decisions;
once with the compiled kernels (``numba``) and once with the numpy reference (``numpy``,
``MARS1_NO_NUMBA=1``), at 180 kS/s and at a non-integer 137 kS/s (3.04 samples per chip).
``extra_info`` holds samples/s of all three, the ratios ``ratio_to_baseline`` and
``ratio_to_read_pass`` (from the reported timing statistic), and ``best_ratio_to_*`` from
the best of N rounds on every side. Size: ``MARS1_BENCH_SIZE`` = ``full`` (≥ 1e8 samples)
or ``smoke``. The full size asserts the binding target on the compiled path: at least a
third of the read-pass rate and at least twice the baseline.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import bench_size, best_time_s, pick, record_throughput
from ppm_recordings import ppm_recording

from groundstation.receivers import ppm_kernels
from groundstation.receivers.ppm import decode_ppm

PERIOD_SAMPLES = 2000  # 500 chips × 4 samples at 180 kS/s
CHUNK_SAMPLES = PERIOD_SAMPLES * 512
#: Binding targets (full size, compiled path, best of N on both sides).
MIN_RATIO_TO_READ_PASS = 1.0 / 3.0
MIN_RATIO_TO_BASELINE = 2.0


@pytest.fixture(scope="module", params=[180e3, 137e3], ids=["180k", "137k"])
def recording(request, bench_dir):
    return ppm_recording(bench_dir, pick(2_000_000, 100_000_000), fs_hz=request.param)


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


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
def test_ppm_decode_throughput(benchmark, recording, kernel, monkeypatch):
    if kernel == "numba" and not ppm_kernels.NUMBA_AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setenv(ppm_kernels.NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
    assert ppm_kernels.active_kernel() == kernel
    rounds = pick(1, 5)
    # One warm-up decode: loads (or, the first time ever, compiles) the kernels.
    result = benchmark.pedantic(
        decode_ppm, args=(recording,), rounds=rounds, iterations=1, warmup_rounds=1
    )
    assert result.images
    assert all(not image.lines_missing for image in result.images)
    baseline_s = best_time_s(lambda: numpy_baseline(recording), rounds=pick(1, 3))
    read_s = best_time_s(lambda: read_pass(recording), rounds=pick(1, 5))
    n = recording.n_samples
    record_throughput(
        benchmark,
        n,
        baseline_s=baseline_s,
        fs_hz=recording.fs_hz,
        read_pass_samples_per_s=n / read_s,
        images=len(result.images),
        kernel=kernel,
    )
    info = benchmark.extra_info
    if "samples_per_s" not in info:  # timing disabled (--benchmark-disable)
        return
    info["ratio_to_read_pass"] = info["samples_per_s"] / info["read_pass_samples_per_s"]
    decode_best_s = float(benchmark.stats.stats.min)
    info["best_samples_per_s"] = n / decode_best_s
    info["best_ratio_to_read_pass"] = read_s / decode_best_s
    info["best_ratio_to_baseline"] = baseline_s / decode_best_s
    if bench_size() == "full" and kernel == "numba":
        assert info["best_ratio_to_read_pass"] >= MIN_RATIO_TO_READ_PASS, info
        assert info["best_ratio_to_baseline"] >= MIN_RATIO_TO_BASELINE, info
