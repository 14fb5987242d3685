"""``groundstation bench``: run the benchmark suite and print a throughput table.

The suite itself is ``bench/`` in the source tree (pytest-benchmark); this command runs it
with a size, collects the JSON report and prints one row per benchmark: throughput in
samples/s, the ratio to the numpy baseline measured in the same run, and the real-time
factor. ``--save NAME`` and ``--compare NAME`` pass through to pytest-benchmark's own
saving and comparison (see the README's regression workflow).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from groundstation.errors import GroundStationError

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def _pytest_command(args: argparse.Namespace, json_path: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(BENCH_DIR),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--benchmark-json={json_path}",
        "--benchmark-sort=name",
    ]
    if args.size == "smoke":
        command += [
            "--benchmark-min-rounds=1",
            "--benchmark-max-time=0.1",
            "--benchmark-warmup=off",
        ]
    if args.select:
        command += ["-k", args.select]
    if args.save:
        command += [f"--benchmark-save={args.save}"]
    if args.compare:
        command += (
            ["--benchmark-compare"]
            if args.compare == "last"
            else [f"--benchmark-compare={args.compare}"]
        )
        if args.fail_over is not None:
            command += [f"--benchmark-compare-fail=mean:{args.fail_over}%"]
    return command


def _fmt_rate(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.1f} {unit}S/s"
    return f"{value:.0f} S/s"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}×"


def format_table(report: dict) -> str:
    """The throughput table of a pytest-benchmark JSON report."""
    rows = [("benchmark", "mean", "throughput", "vs baseline", "real time", "note")]
    for bench in report.get("benchmarks", []):
        info = bench.get("extra_info", {})
        note = info.get("note", "")
        if "peak_rss_mib" in info:
            note = f"peak RSS {info['peak_rss_mib']:.0f} MiB " + note
        if "ratio_to_read_pass" in info:
            note = f"{info['ratio_to_read_pass']:.2f}× read pass " + note
        peer = info.get("speedup_over_gnuradio", info.get("gnuradio_over_groundstation"))
        if peer is not None:  # whole-process decode against the GNU Radio flowgraph
            asides = []
            if "gnuradio_over_receiver" in info:
                asides.append(f"{info['gnuradio_over_receiver']:.2f}× receiver alone")
            if "raw_speedup_over_gnuradio" in info:  # its data file read as raw cf32
                asides.append(f"{info['raw_speedup_over_gnuradio']:.2f}× as raw cf32")
            aside = f" ({'; '.join(asides)})" if asides else ""
            note = f"{peer:.2f}× GNU Radio's speed{aside} " + note
        rows.append(
            (
                bench["name"],
                f"{bench['stats']['mean'] * 1e3:.1f} ms",
                _fmt_rate(info.get("samples_per_s")),
                _fmt_ratio(info.get("ratio_to_baseline")),
                _fmt_ratio(info.get("realtime_factor")),
                note.strip(),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_bench_command(args: argparse.Namespace) -> int:
    """Run the suite, print the table; the exit status is pytest's."""
    if not BENCH_DIR.is_dir():
        raise GroundStationError(
            f"no benchmark suite at {BENCH_DIR}: run from a source checkout of the project"
        )
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "bench.json"
        env = dict(os.environ, MARS1_BENCH_SIZE=args.size)
        result = subprocess.run(_pytest_command(args, json_path), env=env, cwd=BENCH_DIR.parent)
        if not json_path.exists():
            raise GroundStationError(f"the benchmark run failed (pytest exit {result.returncode})")
        report = json.loads(json_path.read_text())
    print()
    print(format_table(report))
    return result.returncode
