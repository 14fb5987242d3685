"""SigMF reading: chunked reads through :class:`Recording` against one raw memory-map pass."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import best_time_s, pick, record_throughput

from groundstation.io.recording import open_recording
from groundstation.io.writer import write_recording

CHUNK = 1 << 20


def _make(bench_dir, datatype: str, n_samples: int):
    base = bench_dir / f"io_{datatype}_{n_samples}"
    if not base.with_suffix(".sigmf-meta").exists():
        rng = np.random.default_rng(7)
        block = (0.1 * (rng.standard_normal(CHUNK) + 1j * rng.standard_normal(CHUNK))).astype(
            np.complex64
        )
        write_recording(
            base,
            (block for _ in range(n_samples // CHUNK)),
            fs_hz=180e3,
            band="5cm-ppm",
            start_utc=datetime(1962, 11, 2, tzinfo=UTC),
            center_frequency_hz=5.86e9,
            datatype=datatype,
        )
    return open_recording(base)


def _raw_pass(recording) -> float:
    """Baseline: one numpy reduction over a memory map of the whole data file."""
    dtype = {"cf32_le": "<c8", "cf64_le": "<c16", "ci16_le": "<i2"}[recording.datatype]
    raw = np.memmap(recording.data_path, dtype=dtype, mode="r")
    return float(np.abs(np.add.reduce(raw)))


def _chunked_pass(recording) -> float:
    total = 0j
    for _, chunk in recording.chunks(CHUNK):
        total += np.add.reduce(chunk)
    return abs(total)


@pytest.mark.parametrize("datatype", ["cf32_le", "ci16_le"])
@pytest.mark.parametrize("size", ["small", "large"])
def test_sigmf_read(benchmark, bench_dir, datatype, size):
    chunks = {"small": pick(smoke=1, full=8), "large": pick(smoke=4, full=64)}[size]
    n = chunks * CHUNK
    recording = _make(bench_dir, datatype, n)
    _chunked_pass(recording)  # warm the page cache for both passes
    baseline_s = best_time_s(lambda: _raw_pass(recording))
    benchmark(_chunked_pass, recording)
    record_throughput(benchmark, recording.n_samples, baseline_s=baseline_s, fs_hz=recording.fs_hz)
