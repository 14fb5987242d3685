"""Start-up cost of the command line, as a ratio to ``python -c "import numpy"``.

Each run is a fresh interpreter (a subprocess), as a user's shell starts it; the numpy
baseline is measured in the same test, so the ratio does not depend on the machine or
its load. Target: ``groundstation --version`` within 2.5× the numpy import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import best_time_s, pick

REPO_ROOT = Path(__file__).resolve().parents[1]

#: What a decode imports before it reads a sample: the parser, the recording reader and
#: the band's decoder, measured by importing them (the decode itself is benchmarked in
#: test_bench_ppm.py and test_bench_tlm.py).
DECODE_START = (
    "from groundstation.cli.app import build_parser; build_parser(); "
    "import groundstation.io.recording, groundstation.outputs.ppm"
)

COMMANDS = {
    "version": ["-m", "groundstation", "--version"],
    "decode_help": ["-m", "groundstation", "decode", "--help"],
    "decode_start": ["-c", DECODE_START],
}


def _run(arguments: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, *arguments], check=True, capture_output=True, env=env)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_start_up(benchmark, command):
    rounds = pick(smoke=1, full=7)
    _run(COMMANDS[command])  # warm the file cache for both
    baseline_s = best_time_s(lambda: _run(["-c", "import numpy"]), rounds=rounds)
    benchmark.pedantic(_run, args=(COMMANDS[command],), rounds=rounds, iterations=1)
    benchmark.extra_info["numpy_import_s"] = baseline_s
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # best against best: start-up noise only ever adds time
        benchmark.extra_info["ratio_to_numpy_import"] = stats.stats.min / baseline_s
