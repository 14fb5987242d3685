"""Shared pieces of the benchmark suite (pytest-benchmark).

Every benchmark reports, in ``benchmark.extra_info``:

- ``n_samples`` and ``samples_per_s``: throughput of the timed function;
- ``baseline_samples_per_s`` and ``ratio_to_baseline``: a simple numpy baseline run on the
  same data in the same test, so the ratio is immune to how fast or busy the machine is;
- ``realtime_factor`` where the signal has a sample rate: samples/s ÷ fs.

Sizes come from ``MARS1_BENCH_SIZE``: ``full`` (default, the sizes quoted in the README)
or ``smoke`` (seconds in all; CI runs it so that the suite never rots).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

SIZES = ("smoke", "full")


def bench_size() -> str:
    """The benchmark size chosen by ``MARS1_BENCH_SIZE`` (``smoke`` or ``full``)."""
    size = os.environ.get("MARS1_BENCH_SIZE", "full")
    if size not in SIZES:
        raise pytest.UsageError(f"MARS1_BENCH_SIZE must be one of {SIZES}, not {size!r}")
    return size


def pick(smoke: Any, full: Any) -> Any:
    """Return ``smoke`` or ``full`` according to the benchmark size."""
    return smoke if bench_size() == "smoke" else full


def best_time_s(function: Callable[[], Any], rounds: int = 3) -> float:
    """Best wall-clock time of ``rounds`` calls of ``function`` (s), for same-run baselines."""
    best = float("inf")
    for _ in range(max(1, rounds)):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def timed_mean_s(benchmark) -> float | None:
    """Mean time of the benchmarked function (s), or ``None`` when timing is disabled."""
    stats = getattr(benchmark, "stats", None)
    if stats is None:
        return None
    return float(stats.stats.min if os.environ.get("MARS1_BENCH_USE_MIN") else stats.stats.mean)


def record_throughput(
    benchmark,
    n_samples: int,
    *,
    baseline_s: float | None = None,
    fs_hz: float | None = None,
    **extra: Any,
) -> None:
    """Fill ``benchmark.extra_info`` with throughput, ratio to baseline and real-time factor."""
    info = benchmark.extra_info
    info["n_samples"] = int(n_samples)
    info.update(extra)
    mean_s = timed_mean_s(benchmark)
    if mean_s is None or mean_s <= 0:
        return
    rate = n_samples / mean_s
    info["samples_per_s"] = rate
    if baseline_s:
        info["baseline_samples_per_s"] = n_samples / baseline_s
        info["ratio_to_baseline"] = rate / info["baseline_samples_per_s"]
    if fs_hz:
        info["fs_hz"] = float(fs_hz)
        info["realtime_factor"] = rate / fs_hz


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory) -> Any:
    """A folder for recordings shared by the whole benchmark session."""
    return tmp_path_factory.mktemp("bench")
