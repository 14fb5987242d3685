"""``groundstation listen``: a stream decoded as it arrives, into the folder ``decode`` writes.

Streams are real (a pipe, UDP on 127.0.0.1) and carry the fixtures; the command runs as its
own process. Every wait is bounded; a signal is sent only once the child has shown it is
running its own code (it printed a frame).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from groundstation.io.recording import open_recording

ROOT = Path(__file__).resolve().parents[3]
TLM = ROOT / "fixtures" / "tlm" / "tlm32cm_64bps.sigmf-meta"
PPM = ROOT / "fixtures" / "ppm" / "ppm_limits.sigmf-meta"
WAIT_S = 120


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "groundstation", *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tlm_args(recording) -> list[str]:
    return [
        "--band", "32cm-tlm", "--samp-rate", "8000", "--bit-rate", "64",
        "--start", recording.metadata["captures"][0]["core:datetime"],
    ]  # fmt: skip


def _send_udp(
    port: int,
    samples: np.ndarray,
    fs_hz: float,
    speed: float,
    stop: threading.Event,
    eof: bool = True,
) -> None:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    step = 184  # one 1472-byte datagram
    t0 = time.monotonic()
    for start in range(0, samples.size, step):
        if stop.is_set():
            break
        due = t0 + (start + step) / fs_hz / speed
        time.sleep(max(0.0, due - time.monotonic()))
        sender.sendto(samples[start : start + step].tobytes(), ("127.0.0.1", port))
    if eof and not stop.is_set():
        sender.sendto(b"", ("127.0.0.1", port))
    sender.close()


def _stop(proc: subprocess.Popen, sending: threading.Event) -> None:
    """Stop the sender, and the command if it still runs (a failed test leaves nothing)."""
    sending.set()
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _wait_listening(proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if b"listening on" in line:
            return
        if not line and proc.poll() is not None:
            break
    raise AssertionError("listen never said it was listening")


def test_a_pipe_gives_the_folder_decode_writes(tmp_path):
    recording = open_recording(TLM)
    proc = _cli("listen", "-", *_tlm_args(recording), "-o", str(tmp_path / "live"),
                stdin=subprocess.PIPE)  # fmt: skip
    out, err = proc.communicate(recording.data_path.read_bytes(), timeout=WAIT_S)
    assert proc.returncode == 0, err.decode()
    decoded = subprocess.run(
        [sys.executable, "-m", "groundstation", "decode", str(TLM), "-o", str(tmp_path / "dec")],
        env=_env(), capture_output=True, timeout=WAIT_S, check=True,
    )  # fmt: skip
    assert decoded.returncode == 0
    live_csv = (tmp_path / "live" / "telemetry.csv").read_text(encoding="utf-8")
    assert live_csv == (tmp_path / "dec" / "telemetry.csv").read_text(encoding="utf-8")
    printed = [line for line in out.decode().splitlines() if " frame " in line]
    assert len(printed) == len(live_csv.splitlines()) - 1  # one line per frame, as decided
    report = json.loads((tmp_path / "live" / "listen.json").read_text(encoding="utf-8"))
    assert report["ended_by"] == "end of input"
    assert report["samples_fed"] == recording.n_samples
    assert report["stream"]["dropped_samples"] == 0
    names = {p.name for p in (tmp_path / "live").iterdir()}
    assert {"summary.json", "report.html", "waterfall.png", "telemetry.png"} <= names
    assert not list(tmp_path.glob(".live.*"))  # no staging, spool or lock left behind


def test_lines_appear_while_listening_and_sigterm_keeps_what_was_decided(tmp_path):
    recording = open_recording(PPM)
    samples = recording.read(0, recording.n_samples)
    port = _free_udp_port()
    out_dir = tmp_path / "live"
    proc = _cli("listen", f"udp://127.0.0.1:{port}", "--band", "5cm-ppm", "--samp-rate",
                "180000", "--record", str(tmp_path / "kept"), "-o", str(out_dir))  # fmt: skip
    stop = threading.Event()
    try:
        _wait_listening(proc)
        # a quarter of real time: 10 s for the 2.6 s fixture, signalled in the middle
        sender = threading.Thread(target=_send_udp, args=(port, samples, 180_000.0, 0.25, stop))
        sender.start()
        printed = b""
        while b" line " not in printed:
            printed = proc.stdout.readline()  # an image line, printed as decided
            assert printed, "listen ended before deciding a line"
        assert list((out_dir / "images").glob("image_*.png"))  # the image, growing
        events = (out_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
        assert any('"kind":"image-line"' in e for e in events)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        _stop(proc, stop)
    assert proc.returncode == 143, err.decode()
    report = json.loads((out_dir / "listen.json").read_text(encoding="utf-8"))
    assert report["ended_by"] == "interrupted", report
    assert 0 < report["samples_fed"] < recording.n_samples
    assert (out_dir / "summary.json").exists() and (out_dir / "report.html").exists()
    kept = open_recording(tmp_path / "kept.sigmf-meta")
    assert kept.n_samples == report["samples_fed"]
    np.testing.assert_array_equal(kept.read(0, kept.n_samples), samples[: kept.n_samples])


@pytest.mark.parametrize("ending", ["duration", "idle"])
def test_duration_and_idle_timeout_end_a_listen(tmp_path, ending):
    recording = open_recording(TLM)
    samples = recording.read(0, recording.n_samples)
    port = _free_udp_port()
    limit = ["--duration", "20"] if ending == "duration" else ["--idle-timeout", "1.5"]
    proc = _cli("listen", f"udp://127.0.0.1:{port}", *_tlm_args(recording), *limit,
                "-o", str(tmp_path / "live"))  # fmt: skip
    stop = threading.Event()
    try:
        _wait_listening(proc)
        part = samples if ending == "duration" else samples[: 8000 * 15]
        # no end-of-stream datagram after the idle case's part: silence must end it
        sender = threading.Thread(
            target=_send_udp, args=(port, part, 8000.0, 50.0, stop, ending == "duration")
        )
        sender.start()
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        _stop(proc, stop)
    assert proc.returncode == 0, err.decode()
    report = json.loads((tmp_path / "live" / "listen.json").read_text(encoding="utf-8"))
    if ending == "duration":
        assert report["ended_by"] == "duration" and report["samples_fed"] == 20 * 8000
    else:
        assert report["ended_by"] == "idle timeout"
        assert report["samples_fed"] == 8000 * 15


def test_nothing_arriving_is_no_signal_with_a_complete_folder(tmp_path):
    address = f"udp://127.0.0.1:{_free_udp_port()}"
    proc = _cli("listen", address, "--band", "5cm-ppm", "--samp-rate", "180000",
                "--idle-timeout", "0.5", "-o", str(tmp_path / "o"))  # fmt: skip
    _, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 3, err.decode()
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["found"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--band", "32cm-tlm", "--samp-rate", "8000"], "--bit-rate"),
        (["--band", "5cm-ppm", "--samp-rate", "1000"], "outside"),
        (["--band", "nowhere", "--samp-rate", "8000"], "unknown band"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path, args, message):
    proc = _cli("listen", "udp://127.0.0.1:9", *args, "-o", str(tmp_path / "o"))
    _, err = proc.communicate(timeout=WAIT_S)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], lines


class _PacedPipe:
    """Standard input that hands out the next block only once the one before was fed.

    Each block is read only when the receiver has taken everything before it, so what the
    queue drops is decided by the block sizes alone: a block larger than the queue never
    fits, every other block always does.
    """

    def __init__(self, samples: np.ndarray, blocks: list[tuple[int, int]]):
        self._data = samples.tobytes()
        self._blocks = list(blocks)
        self._permits = threading.Semaphore(1)
        self._handed = 0  # samples handed out so far

    def read(self, size: int) -> bytes:
        if not self._blocks or not self._permits.acquire(timeout=WAIT_S):
            return b""  # the end of input (or the feeding stalled: end rather than hang)
        lo, hi = self._blocks.pop(0)
        assert (hi - lo) * 8 <= size
        self._handed = hi
        return self._data[lo * 8 : hi * 8]

    def fed(self, first: int, chunk: np.ndarray) -> None:
        if first + chunk.size >= self._handed:  # all handed out was fed: the next block
            self._permits.release()


def test_dropped_samples_become_erasures_and_later_times_stay_right(tmp_path):
    from groundstation.io.facts import SourceOptions
    from groundstation.io.streams import PIPE_READ_BYTES, open_stream
    from groundstation.live.listen import listen, make_receiver, spool_writer
    from groundstation.receivers.stream import run
    from groundstation.results import DecodedFrame

    recording = open_recording(TLM)
    samples = recording.read(0, recording.n_samples)
    block = PIPE_READ_BYTES // 16  # samples: half of what the reader asks for at once
    queue = block + block // 2
    dropped = (200_000, 200_000 + 2 * block)  # one read of twice the queue: never fits
    blocks = [(lo, min(lo + block, dropped[0])) for lo in range(0, dropped[0], block)]
    blocks.append(dropped)
    blocks += [(lo, min(lo + block, samples.size)) for lo in range(dropped[1], samples.size, block)]
    pipe = _PacedPipe(samples, blocks)
    options = SourceOptions(sample_format="cf32", fs_hz=8000.0, band="32cm-tlm", bit_rate_bps=64.0)
    events = []
    with open_stream("-", options, queue_samples=queue, stdin=pipe) as source:
        outcome = listen(
            source,
            make_receiver(source.facts),
            spool_writer(source.facts, tmp_path / "spool"),
            subscribers=[events.append],
            chunk_subscribers=[pipe.fed],
            idle_s=WAIT_S,
        )
    assert outcome.reason == "end of input"
    assert outcome.stats.dropped_samples == dropped[1] - dropped[0]
    assert outcome.samples_fed == samples.size  # the dropped span was fed as zeros
    # the same samples, undropped, decoded as a file is
    whole = list(run(make_receiver(source.facts), np.array_split(samples, 7)))
    starts = [e.sample_start for e in whole if isinstance(e, DecodedFrame)]
    got = [e.sample_start for e in events if isinstance(e, DecodedFrame)]
    frame = 256 * 8000 // 64
    after = [s for s in starts if s > dropped[1]]
    before = [s for s in starts if s + frame < dropped[0]]
    assert len(after) >= 3 and len(before) >= 3
    for start in before + after:  # every frame clear of the gap, at its own sample
        assert min(abs(g - start) for g in got) <= 1, (start, got)
