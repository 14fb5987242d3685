"""``groundstation transmit``: a session's downlinks streamed live (ICD §8).

The same session, seed and band give the same samples whichever way they leave (a
recording, a ZeroMQ PUB socket, standard output), and a recording of the stream decodes
into the frames the spacecraft sent, parity good.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from groundstation.cli.app import main
from groundstation.decode import decode_recording
from groundstation.errors import RecordingError
from groundstation.io.facts import SourceOptions
from groundstation.io.recording import open_recording
from groundstation.io.streams import open_stream
from groundstation.live.transmit import band_targets, open_sinks, plan_streams, send_streams
from groundstation.session.play import session_downlinks
from groundstation.session.schedule import default_session, session_start

WAIT_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def session_args():
    entry = default_session()
    return {"start_utc": session_start(entry), "number": entry.number, "kind": entry.kind}


def test_several_bands_go_to_consecutive_ports_or_one_recording_each():
    bands = ["32cm-tlm", "8cm-carrier", "5cm-ppm"]
    assert band_targets("zmq://127.0.0.1:5000", bands) == {
        "32cm-tlm": "zmq://127.0.0.1:5000",
        "8cm-carrier": "zmq://127.0.0.1:5001",
        "5cm-ppm": "zmq://127.0.0.1:5002",
    }
    assert band_targets("out/s.sigmf-meta", bands[:2])["8cm-carrier"] == "out/s_8cm-carrier"
    assert band_targets("out/s.sigmf-meta", bands[:1]) == {"32cm-tlm": "out/s"}
    with pytest.raises(RecordingError, match="standard output takes one band"):
        band_targets("-", bands)


def test_a_recorded_stream_decodes_into_the_frames_sent(tmp_path, session_args):
    session = session_downlinks(**session_args, bands=("32cm-tlm",))
    downlink = session.downlinks["32cm-tlm"]
    streams = plan_streams(session.downlinks, str(tmp_path / "tx.sigmf-meta"), "ci16")
    assert "ci16, gain -12 dB" in streams[0].facts_line()
    sent = send_streams(streams, open_sinks(streams), speed=None)
    assert sent == {"32cm-tlm": downlink.n_samples}
    recording = open_recording(tmp_path / "tx.sigmf-meta")
    assert recording.datatype == "ci16_le"
    assert recording.start_utc == downlink.start_utc
    assert recording.center_frequency_hz == downlink.tuned_hz
    result = decode_recording(tmp_path / "tx.sigmf-meta", tmp_path / "out", show_progress=False)
    good = [f for f in result.frames if f.parity_ok]
    assert len(good) == downlink.frames_sent


def test_zmq_pub_carries_the_same_samples_as_the_recording_paced(tmp_path, session_args):
    band = "8cm-carrier"
    reference = np.concatenate(
        list(session_downlinks(**session_args, bands=(band,)).downlinks[band].chunks())
    )
    port = _free_port()
    session = session_downlinks(**session_args, bands=(band,))
    streams = plan_streams(session.downlinks, f"zmq://127.0.0.1:{port}")
    options = SourceOptions(sample_format="cf32", fs_hz=8000.0, band=band)
    received: list[np.ndarray] = []
    with open_stream(f"zmq://127.0.0.1:{port}", options) as source:
        sinks = open_sinks(streams, wait_subscriber_s=WAIT_S)
        sender = threading.Thread(target=send_streams, args=(streams, sinks), kwargs={"speed": 50})
        t0 = time.monotonic()
        sender.start()
        got = 0
        while got < reference.size and time.monotonic() - t0 < WAIT_S:
            chunk = source.read(0.2)
            if chunk is None:
                break
            received.append(chunk)
            got += chunk.size
        sender.join(WAIT_S)
        assert source.stats.dropped_samples == 0
    np.testing.assert_array_equal(np.concatenate(received), reference)


def test_stdout_carries_one_band_and_the_facts_go_to_stderr(session_args):
    argv = [
        sys.executable, "-m", "groundstation", "transmit", "--session",
        str(session_args["number"]), "--band", "8cm-carrier", "--format", "cu8",
        "--fast", "--to", "-",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().startswith("session ")
    assert "8cm-carrier: 8000 S/s cu8, gain -12 dB" in done.stderr.decode()
    assert len(done.stdout) == 2 * 240000  # 30 s at 8 kS/s, 2 bytes a sample


def test_several_bands_to_stdout_is_a_usage_error(capsys):
    status = main(["transmit", "--band", "32cm-tlm", "--band", "8cm-carrier", "--to", "-"])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "standard output takes one band" in err[0]


def test_a_resampled_stream_decodes_into_the_frames_sent(tmp_path, session_args):
    session = session_downlinks(**session_args, bands=("32cm-tlm",))
    downlink = session.downlinks["32cm-tlm"]
    streams = plan_streams(session.downlinks, str(tmp_path / "rs.sigmf-meta"), "cf32", 9600.0)
    assert "32cm-tlm: 9600 S/s cf32" in streams[0].facts_line()
    sent = send_streams(streams, open_sinks(streams), speed=None)
    assert sent == {"32cm-tlm": streams[0].n_samples}
    recording = open_recording(tmp_path / "rs.sigmf-meta")
    assert recording.fs_hz == 9600.0
    assert recording.n_samples == round(downlink.n_samples * 9600 / 8000)
    result = decode_recording(tmp_path / "rs.sigmf-meta", tmp_path / "out", show_progress=False)
    assert len([f for f in result.frames if f.parity_ok]) == downlink.frames_sent
    with pytest.raises(RecordingError, match="below"):
        plan_streams(session.downlinks, "-", "cf32", 4000.0)
