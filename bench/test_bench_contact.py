"""Whole ``groundstation contact`` and ``groundstation mission`` runs, as ratios to a fixed
workload measured in the same test.

Each run is a fresh interpreter writing a fresh output folder, as a user runs it:

- ``contact`` (the default session): plan, uplink, four downlinks generated and decoded,
  the folder, its figures and its report;
- ``mission`` (the historical replay on two local workers; in the smoke size only its first
  sessions): every session emulated, then ``mission.json`` and ``mission.html``.

The baseline, measured in the same test, is a fresh interpreter that imports numpy and
matplotlib and saves one empty figure (the fixed costs every session pays), so the ratio
does not depend on the machine or its load. ``extra_info`` gives both times and the ratio.
The targets on an idle two-core machine: ``contact`` within 3 s, ``mission`` within 30 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import best_time_s, pick

REPO_ROOT = Path(__file__).resolve().parents[1]

BASELINE = (
    "import io, numpy; from matplotlib.figure import Figure; "
    "Figure().savefig(io.BytesIO(), format='png')"
)


def _run(arguments: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, *arguments], check=True, capture_output=True, env=env)


def _groundstation(arguments: list[str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mars1-bench-session-"))
    try:
        _run(["-m", "groundstation", *arguments, "-o", str(folder / "out")])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _record(benchmark, baseline_s: float) -> None:
    benchmark.extra_info["baseline_s"] = baseline_s
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["best_s"] = stats.stats.min
        benchmark.extra_info["ratio_to_baseline"] = stats.stats.min / baseline_s


def test_contact_whole_process(benchmark):
    rounds = pick(smoke=1, full=3)
    _groundstation(["contact"])  # warm the file cache and the compiled kernels' cache
    baseline_s = best_time_s(lambda: _run(["-c", BASELINE]), rounds=rounds)
    benchmark.pedantic(_groundstation, args=(["contact"],), rounds=rounds, iterations=1)
    _record(benchmark, baseline_s)


def test_mission_whole_process(benchmark):
    arguments = ["mission", "--workers", "2", *pick(smoke=["--sessions", "1-4"], full=[])]
    baseline_s = best_time_s(lambda: _run(["-c", BASELINE]), rounds=pick(smoke=1, full=3))
    benchmark.pedantic(_groundstation, args=(arguments,), rounds=1, iterations=1)
    _record(benchmark, baseline_s)
