"""Hostile and unlucky use of the command line: one line, the right exit status, no debris.

Each test here is a case that once ended in a traceback, an "internal error", a hang, a
written input or a mixed result folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from groundstation.cli.app import main
from groundstation.io.files import folder_lock
from groundstation.io.writer import write_recording
from signals.formats import ppm as ppm_format  # noqa: F401  (the format the fixture uses)

FIXTURE = Path(__file__).parents[3] / "fixtures" / "ppm"


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[3]))
    return subprocess.Popen(
        [sys.executable, "-m", "groundstation", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _recording(folder: Path, n: int = 40_000, name: str = "rec") -> Path:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    return write_recording(
        folder / name,
        [x],
        fs_hz=180e3,
        band="5cm-ppm",
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=5.86e9,
    )


def _leftovers(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name.endswith((".part", ".lock")) or ".staging-" in p.name or ".old-" in p.name
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["decode"],
        ["synth", "ppm", "-o", "x", "--seed", "-1"],
        ["synth", "ppm", "-o", "x", "--fs-hz", "nan"],
        ["synth", "ppm", "-o", "x", "--esn0-db", "1e9"],
        ["synth", "ppm", "-o", "x", "--lead-s", "1e12"],
        ["synth", "tlm", "-o", "x", "--duration", "inf"],
        ["contact", "--seed", "-1"],
        ["mission", "--workers", "1", "--seed", "-5"],
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_metadata_text_is_escaped_on_the_terminal(tmp_path, capsys):
    meta = _recording(tmp_path)
    doc = json.loads(meta.read_text())
    doc["global"]["core:num_channels"] = "\x1b]0;owned\x07\x1b[2J\nsecond line"
    meta.write_text(json.dumps(doc))
    assert main(["decode", str(meta), "-o", str(tmp_path / "out")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "\x1b" not in line and "\x07" not in line and "\\x1b" in line


def test_decoding_into_the_recordings_folder_never_writes_the_input(tmp_path, capsys):
    meta = _recording(tmp_path)
    before = meta.read_bytes()
    assert main(["decode", str(meta), "-o", str(tmp_path)]) == 2
    assert "inputs are never written" in _one_line(capsys.readouterr().err)
    assert meta.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_folder_of_other_files_is_never_replaced(tmp_path, capsys):
    meta = _recording(tmp_path / "in")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("precious")
    assert main(["decode", str(meta), "-o", str(tmp_path / "home")]) == 2
    assert "holds other files" in _one_line(capsys.readouterr().err)
    assert (tmp_path / "home" / "thesis.tex").read_text() == "precious"


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, capsys):
    meta = _recording(tmp_path / "in")
    out = tmp_path / "out"
    with folder_lock(out.absolute()):
        assert main(["decode", str(meta), "-o", str(out)]) == 2
    assert "another run is writing" in _one_line(capsys.readouterr().err)
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_a_new_result_set_replaces_the_old_one_whole(tmp_path):
    fixtures = sorted(FIXTURE.glob("*.sigmf-meta"))
    assert fixtures
    out = tmp_path / "out"
    assert main(["decode", str(fixtures[0]), "-o", str(out)]) == 0
    (out / "images" / "image_999.png").write_bytes(b"stale")
    assert main(["decode", str(fixtures[0]), "-o", str(out)]) == 0
    assert not (out / "images" / "image_999.png").exists()
    annotated = json.loads(next(out.glob("*.sigmf-meta")).read_text())
    starts = [a["core:sample_start"] for a in annotated["annotations"]]
    assert len(starts) == len(set(starts))  # never the annotations twice
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupted_synth_leaves_nothing_behind(tmp_path, signum):
    proc = _cli(
        "synth",
        "ppm",
        "--lines",
        "400",
        "--pixels",
        "400",
        "-o",
        str(tmp_path / "big"),
        cwd=tmp_path,
    )
    time.sleep(2.5)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("synth finished before the signal")
    assert proc.returncode == 128 + signum, err
    assert "interrupted" in _one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _wait_for_own_handlers(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Wait until the child catches SIGTERM: the interpreter's own start-up is over and
    the command line's first statement has run (on a loaded machine that can take seconds)."""
    status = Path(f"/proc/{proc.pid}/status")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        caught = next(
            (
                line.split()[1]
                for line in status.read_text().splitlines()
                if line.startswith("SigCgt")
            ),
            "0",
        )
        if int(caught, 16) >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.002)
    raise AssertionError("the command line never installed its signal handlers")


def test_an_interrupt_during_start_up_is_one_line(tmp_path):
    for delay_s in (0.0, 0.1, 0.3, 0.6):  # from our first statement on, through the imports
        proc = _cli("contact", "-o", str(tmp_path / "c"), cwd=tmp_path)
        _wait_for_own_handlers(proc)
        time.sleep(delay_s)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted" in _one_line(err)
        # Nothing, or (when the signal landed too late to stop the run) the whole new set.
        out = tmp_path / "c"
        assert not out.exists() or {"session.json", "report.html"} <= {
            p.name for p in out.iterdir()
        }
        assert _leftovers(tmp_path) == []


_REPORT_PEAK = """
import atexit, sys
def _report():
    status = open("/proc/self/status").read()
    peak_kb = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM:"))
    open(sys.argv[1], "w").write(str(peak_kb))
atexit.register(_report)
from groundstation.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _peak_rss_mb(args: list[str], cwd: Path) -> tuple[int, float, str]:
    """Run the command line; return (exit status, peak resident memory in MB, stderr).

    The peak is the process's own ``VmHWM`` (read at exit), not the rusage of a child,
    which on Linux also counts the test process it was forked from.
    """
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[3]))
    report = cwd / "peak_kb.txt"
    result = subprocess.run(
        [sys.executable, "-c", _REPORT_PEAK, str(report), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    peak_kb = int(report.read_text())
    report.unlink()
    return result.returncode, peak_kb / 1024, result.stderr


@pytest.mark.parametrize(
    ("band", "fs_hz", "status"),
    [
        ("5cm-ppm", 1e12, 2),  # once grew a decode to 22 GB
        ("5cm-ppm", 1e11, 2),  # once MemoryError, exit 1
        ("5cm-ppm", 10e6, 3),  # the highest rate accepted: decodes (no signal) in bounds
        ("32cm-tlm", 1e9, 2),
        ("32cm-tlm", 1e6, 3),
        ("8cm-carrier", 1e6, 3),
    ],
)
def test_metadata_never_sizes_memory(tmp_path, band, fs_hz, status):
    centre = {"5cm-ppm": 5.86e9, "32cm-tlm": 922.76e6, "8cm-carrier": 3691.04e6}[band]
    rng = np.random.default_rng(9)
    x = (rng.standard_normal(500_000) + 1j * rng.standard_normal(500_000)).astype(np.complex64)
    meta = write_recording(
        tmp_path / "rec",
        [x],
        fs_hz=8e3,
        band=band,
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=centre,
        bit_rate_bps=64 if band.endswith("-tlm") else None,
    )
    doc = json.loads(meta.read_text())
    doc["global"]["core:sample_rate"] = fs_hz
    meta.write_text(json.dumps(doc))
    code, peak_mb, err = _peak_rss_mb(["decode", str(meta), "-o", "out"], tmp_path)
    assert code == status, err
    _one_line(err)
    assert peak_mb < 300, f"peak resident memory {peak_mb:.0f} MB"


def test_an_interrupted_decode_leaves_the_old_set_or_the_new_one(tmp_path):
    fixtures = sorted(FIXTURE.glob("*.sigmf-meta"))
    rng = np.random.default_rng()
    for round_ in range(3):
        out = tmp_path / f"out{round_}"
        out.mkdir()
        (out / ".mars1-results").write_text("old\n")
        (out / "summary.json").write_text('{"old": true}\n')
        signum = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP][round_]
        proc = _cli("decode", str(fixtures[round_ % len(fixtures)]), "-o", str(out))
        _wait_for_own_handlers(proc)
        time.sleep(rng.uniform(0.0, 2.7))
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        summary = json.loads((out / "summary.json").read_text())
        if proc.returncode != 0:
            assert proc.returncode == 128 + signum, err
            assert "interrupted" in _one_line(err)
        if summary == {"old": True}:  # interrupted before the swap: the old set, whole
            assert proc.returncode == 128 + signum, err
            assert sorted(p.name for p in out.iterdir()) == [".mars1-results", "summary.json"]
        else:  # finished, or interrupted after the swap: the new set, whole
            assert "images" in summary and (out / "images").is_dir()
            assert len(list((out / "images").iterdir())) == 2 * len(summary["images"])
        assert _leftovers(tmp_path) == []


_SIGNAL_AT_SHUT_DOWN = """
import atexit, os, signal, sys
atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))
sys.argv = ["groundstation", "--version"]
from groundstation.cli import run
run()
"""


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by a Python of its own, with this checkout importable."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[3]))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )


def test_a_signal_after_the_run_keeps_the_runs_status():
    """SIGTERM while the interpreter shuts down, after the outputs are final: status 0."""
    done = _run_python(_SIGNAL_AT_SHUT_DOWN)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


_SIGNAL_IN_A_FINALISER = """
import os, signal, time
from groundstation.cli import interrupts
interrupts.install()
interrupts.arm()
class Finalised:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs here, inside the finaliser
try:
    Finalised()
    for _ in range(200):
        time.sleep(0.01)
    print("ran on")
except interrupts.Interrupted as exc:
    print("interrupted", exc.exit_status)
"""


def test_a_signal_inside_a_finaliser_still_interrupts_quietly():
    """Python swallows an exception raised in ``__del__``: the signal must end the run anyway,
    with no "Exception ignored" lines before the one-line message."""
    done = _run_python(_SIGNAL_IN_A_FINALISER)
    assert done.stdout.split() == ["interrupted", "143"], done.stderr
    assert done.stderr == ""


def test_the_unraisable_hook_is_chained_and_put_back():
    """In a process that runs the command line in-process (a test runner, a notebook), the
    hook it had before is called for every other unraisable exception and put back after."""
    from groundstation.cli import interrupts

    seen = []
    before = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        outer = interrupts.install()
        inner = interrupts.install()
        sys.unraisablehook(SimpleNamespace(exc_value=ValueError("x")))
        interrupts.restore(inner)
        assert sys.unraisablehook is not seen.append  # still ours inside the run
        interrupts.restore(outer)
        assert sys.unraisablehook == seen.append
        assert [type(u.exc_value) for u in seen] == [ValueError]
    finally:
        sys.unraisablehook = before


_INTERRUPT_TURNED_INTO_AN_ERROR = """
import os, signal, sys, time
from groundstation.cli import app

def contact(args):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here
    except:  # noqa: E722  (what a library's bare except does to it: skyfield's imports)
        raise ModuleNotFoundError("No module named 'urlparse'")
    return 0

app._cmd_contact = contact
sys.exit(app.main(["contact"]))
"""


def test_an_interrupt_a_library_turns_into_an_error_is_still_an_interrupt():
    """A signal landing inside a library's bare ``except:`` (once: skyfield's import of
    ``urllib``, which then imported Python 2's ``urlparse``) comes out as that library's
    error: the run still ends as interrupted, not as an internal error."""
    done = _run_python(_INTERRUPT_TURNED_INTO_AN_ERROR)
    assert done.returncode == 143, done.stderr
    assert done.stderr == (
        "groundstation: interrupted; temporary files removed, finished outputs kept\n"
    )
