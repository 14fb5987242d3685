"""A whole ``groundstation contact`` (the default session), as a ratio to a fixed workload.

Each run is a fresh interpreter writing a fresh session folder, as a user runs it: plan,
uplink, four downlinks generated and decoded, the folder and its report. The baseline,
measured in the same test, is a fresh interpreter that imports numpy and matplotlib and
saves one empty figure (the fixed costs every session pays), so the ratio does not depend
on the machine or its load. ``extra_info`` gives both times and the ratio.
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


def _contact() -> None:
    folder = Path(tempfile.mkdtemp(prefix="mars1-bench-contact-"))
    try:
        _run(["-m", "groundstation", "contact", "-o", str(folder / "c")])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_contact_whole_process(benchmark):
    rounds = pick(smoke=1, full=3)
    _contact()  # warm the file cache and the compiled kernels' cache
    baseline_s = best_time_s(lambda: _run(["-c", BASELINE]), rounds=rounds)
    benchmark.pedantic(_contact, rounds=rounds, iterations=1)
    benchmark.extra_info["baseline_s"] = baseline_s
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["ratio_to_baseline"] = stats.stats.min / baseline_s
