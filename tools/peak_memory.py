"""Peak resident memory of a command and the processes it waits for, as ``/usr/bin/time -f %M``
reports it, from Python.

    python tools/peak_memory.py [--json FILE] -- python -m groundstation decode REC -o OUT

The command runs as this launcher's child, with the launcher's standard streams; when it has
ended the launcher prints ``peak NNN.N MB (NNNNNN KiB), exit N`` on standard error (or writes
``{"peak_rss_kib": ..., "returncode": ...}`` to FILE) and exits with the command's status.

The figure is the ``ru_maxrss`` that ``wait4`` returns for the child: the largest resident set
of the child and of every process it waited for (a decode's second process, which draws the
figures), imports and mapped pages included. It is measured through this launcher because
Linux hands a process's peak down to a child started by ``fork`` or ``vfork`` and ``exec``:
a test runner that has grown to 500 MB and starts the decode itself would read its own 500 MB
back. The launcher is small, so what it hands down is too (about 10 MB, below any decode).

:func:`measure` runs a command this way from Python (tests and benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: A megabyte as the targets count it (10⁶ bytes).
MB = 1e6


@dataclass(frozen=True)
class PeakMemory:
    """What :func:`measure` found.

    Attributes
    ----------
    peak_rss_kib : int
        Peak resident set of the command's process tree (KiB, as ``ru_maxrss``).
    returncode : int
        The command's exit status (negative: killed by that signal).
    stdout, stderr : str
        Its output.
    """

    peak_rss_kib: int
    returncode: int
    stdout: str
    stderr: str

    @property
    def peak_mb(self) -> float:
        """The peak in MB (10⁶ bytes)."""
        return self.peak_rss_kib * 1024 / MB


def measure(
    command: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 600.0
) -> PeakMemory:
    """Run ``command`` through this launcher and return its peak resident memory.

    Parameters
    ----------
    command : list of str
        The program and its arguments.
    env : dict, optional
        Its environment (default: this process's).
    timeout_s : float
        Longest run (s); past it the launcher and the command are killed (their process
        group) and :class:`subprocess.TimeoutExpired` is raised.
    """
    with tempfile.TemporaryDirectory(prefix="mars1-peak-") as folder:
        report = Path(folder) / "peak.json"
        launcher = [sys.executable, str(Path(__file__).resolve()), "--json", str(report), "--"]
        process = subprocess.Popen(
            [*launcher, *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # one group: a timeout kills the command too
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        if not report.exists():
            raise RuntimeError(f"the launcher did not report (exit {process.returncode}): {stderr}")
        found = json.loads(report.read_text(encoding="utf-8"))
    return PeakMemory(int(found["peak_rss_kib"]), int(found["returncode"]), stdout, stderr)


def _run(command: list[str]) -> tuple[int, int]:
    """Run ``command`` as a child; (its exit status, the peak ``ru_maxrss`` in KiB)."""
    child = subprocess.Popen(command)
    while True:
        try:
            _, status, usage = os.wait4(child.pid, 0)
            break
        except InterruptedError:
            continue
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return child.returncode, int(usage.ru_maxrss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Peak resident memory of a command and the processes it waits for."
    )
    parser.add_argument("--json", metavar="FILE", help="write the figures to FILE as JSON")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- PROGRAM [ARGS ...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    returncode, peak_kib = _run(command)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"peak_rss_kib": peak_kib, "returncode": returncode}), encoding="utf-8"
        )
    else:
        print(
            f"peak {peak_kib * 1024 / MB:.1f} MB ({peak_kib} KiB), exit {returncode}",
            file=sys.stderr,
        )
    return returncode if returncode >= 0 else 128 - returncode


if __name__ == "__main__":
    sys.exit(main())
