"""GNU Radio interoperability: real flowgraphs on both ends of a stream (ICD §8).

Each flowgraph is a script of ``tools/gnuradio/`` run as its own process by the system
Python that has Debian's ``gnuradio``; the tests skip, saying why, where it is absent.

* A recording played by GNU Radio (file_source -> throttle -> zeromq.pub_sink, and
  -> network.udp_sink) into ``groundstation listen`` gives the images and frames that
  ``decode`` finds in the same samples.
* ``groundstation transmit --to zmq://`` into GNU Radio (zeromq.sub_source -> file_sink)
  gives a file whose frames decode with good parity.

Ports are found free on 127.0.0.1; every process and wait is bounded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
GR_PYTHON = "/usr/bin/python3"
SEND = ROOT / "tools" / "gnuradio" / "send_recording.py"
RECEIVE = ROOT / "tools" / "gnuradio" / "receive_stream.py"
TIMEOUT_S = 180


def _gnuradio_reason() -> str | None:
    if not Path(GR_PYTHON).exists():
        return f"{GR_PYTHON} is absent"
    try:
        done = subprocess.run(
            [GR_PYTHON, "-c", "from gnuradio import gr, blocks, zeromq, network"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "importing gnuradio took over 60 s"
    if done.returncode != 0:
        return "GNU Radio is not installed for the system Python: " + done.stderr.decode()[-200:]
    return None


REASON = _gnuradio_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"GNU Radio interop: {REASON}")


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


def _groundstation(*args: str) -> list[str]:
    return [sys.executable, "-m", "groundstation", *args]


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def _rows(folder: Path) -> list[str]:
    """Telemetry rows without the sample_start and time columns (a stream has no start)."""
    lines = (folder / "telemetry.csv").read_text(encoding="utf-8").splitlines()
    return [",".join(line.split(",")[2:]) for line in lines[1:]]


def _listen_to_flowgraph(tmp_path, fixture: str, band: str, fs: float, scheme: str, extra):
    """Play ``fixture``'s samples with GNU Radio into ``listen``; also decode the same."""
    samples = np.fromfile(ROOT / "fixtures" / fixture, np.complex64)
    if scheme == "udp":
        # GNU Radio's UDP sink sends whole 1472-byte payloads only: the same samples are
        # those of whole datagrams
        samples = samples[: samples.size - samples.size % 184]
    data = tmp_path / "played.cf32"
    samples.tofile(data)
    port = _free_port(socket.SOCK_DGRAM if scheme == "udp" else socket.SOCK_STREAM)
    address = f"{scheme}://127.0.0.1:{port}"
    listen = subprocess.Popen(
        _groundstation(
            "listen", address, "--band", band, "--samp-rate", f"{fs:g}",
            "--idle-timeout", "4", "-o", str(tmp_path / "live"), *extra,
        ),
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        line = b""
        while b"listening on" not in line and time.monotonic() < deadline:
            line = listen.stderr.readline()  # bound and connected: the flowgraph may start
            if not line and listen.poll() is not None:
                break
        assert b"listening on" in line, line
        sender = subprocess.run(
            [GR_PYTHON, str(SEND), str(data), "--samp-rate", f"{fs:g}", "--speed", "8",
             "--to", address],
            capture_output=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
        assert sender.returncode == 0, sender.stderr.decode()[-2000:]
        out, err = listen.communicate(timeout=TIMEOUT_S)
    finally:
        if listen.poll() is None:
            listen.kill()
            listen.wait(10)
    assert listen.returncode == 0, err.decode()[-2000:]
    decoded = subprocess.run(
        _groundstation(
            "decode", str(data), "--format", "cf32", "--samp-rate", f"{fs:g}", "--band", band,
            "-o", str(tmp_path / "decoded"), *extra,
        ),
        env=_env(), capture_output=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert decoded.returncode == 0, decoded.stderr.decode()[-2000:]
    report = json.loads((tmp_path / "live" / "listen.json").read_text(encoding="utf-8"))
    assert report["stream"]["dropped_samples"] == 0
    assert report["samples_fed"] == samples.size
    return tmp_path / "live", tmp_path / "decoded", out.decode()


def test_a_recording_over_zmq_pub_gives_listen_the_images_decode_finds(tmp_path):
    live, decoded, printed = _listen_to_flowgraph(
        tmp_path, "ppm/ppm_limits.sigmf-data", "5cm-ppm", 180000.0, "zmq", []
    )
    live_images = sorted((live / "images").glob("image_*.png"))
    assert live_images
    for png in live_images:
        assert (decoded / "images" / png.name).read_bytes() == png.read_bytes()
    lines = sum(i["lines_received"] for i in _summary(decoded)["images"])
    assert printed.count(" line ") == lines  # each line printed as it was decided


def test_a_recording_over_udp_gives_listen_the_frames_decode_finds(tmp_path):
    live, decoded, printed = _listen_to_flowgraph(
        tmp_path, "tlm/tlm32cm_64bps.sigmf-data", "32cm-tlm", 8000.0, "udp",
        ["--bit-rate", "64"],
    )  # fmt: skip
    rows = _rows(decoded)
    assert rows and _rows(live) == rows
    assert printed.count(" frame ") == len(rows)


def test_transmit_into_a_gnuradio_sub_source_gives_parity_good_frames(tmp_path):
    port = _free_port()
    address = f"zmq://127.0.0.1:{port}"
    samples = 368004  # the default contact's 32 cm downlink: 46 s at 8 kS/s
    receiver = subprocess.Popen(
        [GR_PYTHON, str(RECEIVE), address, "--samples", str(samples), "--idle", "10",
         "-o", str(tmp_path / "received.cf32")],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        sent = subprocess.run(
            _groundstation("transmit", "--band", "32cm-tlm", "--speed", "10", "--to", address),
            env=_env(), capture_output=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr.decode()[-2000:]
        receiver.communicate(timeout=TIMEOUT_S)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait(10)
    facts = sent.stdout.decode()
    assert "32cm-tlm: 8000 S/s cf32" in facts and "128 bit/s" in facts
    got = (tmp_path / "received.cf32").stat().st_size // 8
    assert got == samples
    decoded = subprocess.run(
        _groundstation(
            "decode", str(tmp_path / "received.cf32"), "--format", "cf32", "--samp-rate",
            "8000", "--band", "32cm-tlm", "--bit-rate", "128", "-o", str(tmp_path / "out"),
        ),
        env=_env(), capture_output=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert decoded.returncode == 0, decoded.stderr.decode()[-2000:]
    frames = _summary(tmp_path / "out")
    rows = (tmp_path / "out" / "telemetry.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(rows) >= 10, frames
    assert all(",true," in row for row in rows)
