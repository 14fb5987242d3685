"""Hostile inputs to the newer ways in: raw I/Q files, WAV headers, SigMF archives, standard
input, and the options of ``listen``, ``transmit``, ``ephemeris`` and ``--start``.

Each case is one line on standard error and exit 2 (or 3: ran, no signal), never a
traceback, never an input written, never a temporary file left. The cases marked "once"
ended in an internal error (exit 1) before.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from groundstation.cli.app import main

#: Where the inputs of the table are written (one folder for the module).
_FILES: dict[str, bytes] = {}


def _iq(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (0.1 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)


def _wav(channels: int = 2, width: int = 2, rate: int = 48_000, frames: int = 4_800) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(frames * channels * width))
    return out.getvalue()


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


_META = json.dumps(
    {
        "global": {"core:datatype": "cf32_le", "core:sample_rate": 8000.0, "core:version": "1.0.0"},
        "captures": [{"core:sample_start": 0, "core:frequency": 922.76e6}],
        "annotations": [],
    }
).encode()


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for info, payload in members:
            tar.addfile(info, None if payload is None else io.BytesIO(payload))
    return out.getvalue()


def _member(name: str, payload: bytes | None = None, kind: bytes = tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(payload) if payload is not None else 0
    return info, payload


def _announcing(size: int) -> bytes:
    """An archive whose data member's header announces ``size`` bytes (the file holds 4 kB)."""
    head, _ = _member("r/r.sigmf-meta", _META)
    data = tarfile.TarInfo("r/r.sigmf-data")
    data.size = size
    pad = b"\x00" * (-len(_META) % 512)
    return head.tobuf() + _META + pad + data.tobuf() + bytes(4096)


def _inputs() -> dict[str, bytes]:
    wav = _wav()
    data = _iq(4_000).tobytes()
    return {
        "ok.cf32": _iq(40_000).tobytes(),
        "ragged.cf32": _iq(1_000).tobytes()[:-3],
        "empty.cf32": b"",
        "one.cs8": b"\x01",
        "mono.wav": _wav(channels=1),
        "u8.wav": _wav(width=1),
        "rate0.wav": _patched(wav, 24, "<I", 0),
        "huge_data.wav": _patched(wav, 40, "<I", 0xFFFFFFF0),
        "extensible.wav": _patched(wav, 20, "<H", 0xFFFE),
        "truncated.wav": wav[:30],
        "no_data.wav": b"RIFF\x10\x00\x00\x00WAVEjunk" + b"\xff" * 100,
        "chunk_past_end.wav": b"RIFF\xff\xff\xff\x7fWAVELIST\xf0\xff\xff\xff" + bytes(100),
        "dotdot.sigmf": _tar(
            [_member("../r/r.sigmf-meta", _META), _member("../r/r.sigmf-data", data)]
        ),
        "absolute.sigmf": _tar(
            [_member("/r/r.sigmf-meta", _META), _member("/r/r.sigmf-data", data)]
        ),
        "symlink.sigmf": _tar(
            [
                _member("r/r.sigmf-meta", _META),
                _member("r/r.sigmf-data", None, tarfile.SYMTYPE, "/etc/passwd"),
            ]
        ),
        "hardlink.sigmf": _tar(
            [
                _member("r/r.sigmf-meta", _META),
                _member("r/r.sigmf-data", None, tarfile.LNKTYPE, "r/r.sigmf-meta"),
            ]
        ),
        "huge_member.sigmf": _announcing(2**40),  # once: internal error ReadError, exit 1
        "many.sigmf": _tar([_member(f"junk/{k}", b"") for k in range(1100)]),
        "no_meta.sigmf": _tar([_member("r/r.sigmf-data", data)]),
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile_inputs")
    for name, payload in _inputs().items():
        (folder / name).write_bytes(payload)
    (folder / "a_folder").mkdir()
    return folder


RAW = ["--format", "cf32", "--samp-rate", "8000", "--band", "32cm-tlm"]
LISTEN = ["listen", "-o", "lo", "--band", "32cm-tlm", "--samp-rate", "8000", "--bit-rate", "64"]
EPHEMERIS = ["ephemeris", "--from", "1962-11-02", "--to", "1962-11-03"]

#: (argv with {in} for the inputs folder, exit status, text of the one line)
CASES = [
    # raw I/Q
    (["decode", "{in}/empty.cf32", *RAW], 2, "is empty"),
    (["decode", "{in}/ragged.cf32", *RAW], 2, "not a whole number of 8-byte samples"),
    (["decode", "{in}/one.cs8", "--samp-rate", "8000", "--band", "32cm-tlm"], 2, "2-byte"),
    (["decode", "{in}/ok.cf32", "--band", "32cm-tlm"], 2, "give --samp-rate"),
    (["decode", "{in}/ok.cf32", "--samp-rate", "8000"], 2, "--band ID or --freq"),
    (["decode", "{in}/ok.cf32", *RAW[:2], "--samp-rate", "1e12", "--band", "32cm-tlm"], 2, "above"),
    (["decode", "{in}/ok.cf32", *RAW[:2], "--samp-rate", "nan", "--band", "32cm-tlm"], 2, "finite"),
    (["decode", "{in}/ok.cf32", *RAW, "--bit-rate", "3"], 2, "not a telemetry rate"),
    (["decode", "--rawfile", "{in}/a_folder", *RAW], 2, "not a regular file"),
    (["decode", "--rawfile", "/dev/zero", *RAW], 2, "not a regular file"),
    (["decode", "--rawfile", "{in}/missing.cf32", *RAW], 2, "no such recording"),
    (["decode", "{in}/ok.cf32", *RAW[:4], "--band", "../../x"], 2, "unknown band"),
    # a path that names no recording (once: internal error ValueError, exit 1)
    (["decode", "."], 2, "names a folder"),
    (["decode", "/"], 2, "names a folder"),
    (["synth", "ppm", "--lines", "4", "--pixels", "4", "-o", "."], 2, "names a folder"),
    ([*LISTEN, "--record", ".", "-"], 2, "names a folder"),
    (["transmit", "--fast", "--to", ""], 2, "names a folder"),
    # WAV headers
    (["decode", "{in}/mono.wav", "--band", "32cm-tlm"], 2, "1 channel"),
    (["decode", "{in}/u8.wav", "--band", "32cm-tlm"], 2, "8-bit integer"),
    (["decode", "{in}/rate0.wav", "--band", "32cm-tlm"], 2, "not positive"),
    (["decode", "{in}/huge_data.wav", "--band", "32cm-tlm"], 2, "truncated"),
    (["decode", "{in}/extensible.wav", "--band", "32cm-tlm"], 2, "tag 65534"),
    (["decode", "{in}/truncated.wav", "--band", "32cm-tlm"], 2, "truncated"),
    (["decode", "{in}/no_data.wav", "--band", "32cm-tlm"], 2, "no data chunk"),
    (["decode", "{in}/chunk_past_end.wav", "--band", "32cm-tlm"], 2, "no data chunk"),
    (["decode", "--wavfile", "{in}/mono.wav", "--band", "32cm-tlm"], 2, "1 channel"),
    (["decode", "--wavfile", "{in}/ok.cf32", *RAW], 2, "not a WAV file"),  # once: read as raw
    # SigMF archives
    (["decode", "{in}/dotdot.sigmf"], 2, "leaves the archive"),
    (["decode", "{in}/absolute.sigmf"], 2, "leaves the archive"),
    (["decode", "{in}/symlink.sigmf"], 2, "not a regular file"),
    (["decode", "{in}/hardlink.sigmf"], 2, "not a regular file"),
    (["decode", "{in}/huge_member.sigmf"], 2, "a damaged SigMF archive"),
    (["decode", "{in}/many.sigmf"], 2, "more than 1024 archive members"),
    (["decode", "{in}/no_meta.sigmf"], 2, "no .sigmf-meta member"),
    # --start (once: 0001 became an internal error in listen, a metadata error in decode)
    (["decode", "{in}/ok.cf32", *RAW, "--start", "1962-13-01T00:00:00Z"], 2, "not an ISO 8601"),
    (["decode", "{in}/ok.cf32", *RAW, "--start", "0001-01-01T00:00:00Z"], 2, "outside 1957-2099"),
    (["decode", "{in}/ok.cf32", *RAW, "--start", "9999-12-31T23:59:59Z"], 2, "outside 1957-2099"),
    ([*LISTEN, "--start", "0001-01-01T00:00:00Z", "-"], 2, "outside 1957-2099"),
    (["synth", "tlm", "--start", "2100-01-01", "-o", "x"], 2, "outside 1957-2099"),
    # standard input
    (["decode", "-", "-", *RAW], 2, "can be read once"),
    (["decode", "-", "{in}/ok.cf32", *RAW], 2, "decodes alone"),
    # listen
    (["listen", "-o", "lo", "--band", "32cm-tlm", "--samp-rate", "8000", "-"], 2, "--bit-rate"),
    ([*LISTEN, "zmq://127.0.0.1:65536"], 2, "outside 1-65535"),
    ([*LISTEN, "udp://127.0.0.1:0"], 2, "outside 1-65535"),
    ([*LISTEN, "tcp://127.0.0.1:5000"], 2, "unknown stream scheme"),
    ([*LISTEN, "file:///etc/passwd"], 2, "not a stream address"),
    ([*LISTEN, "--duration", "-1", "-"], 2, "not a positive number"),
    ([*LISTEN, "--duration", "nan", "-"], 2, "not a positive number"),
    ([*LISTEN, "--idle-timeout", "inf", "-"], 2, "not a positive number"),
    ([*LISTEN[:-1], "1e300", "-"], 2, "out of range"),
    ([*LISTEN[:-1], "1e9", "-"], 2, "not a telemetry rate"),
    # transmit
    (["transmit", "--session", "81", "--to", "t"], 2, "sessions 1 to 80"),
    (["transmit", "--at", "1962-01-01T00:00:00Z", "--to", "t"], 2, "before the launch"),
    (["transmit", "--speed", "nan", "--to", "t"], 2, "not a positive number"),
    (["transmit", "--samp-rate", "1e15", "--to", "t"], 2, "outside"),
    (["transmit", "--seed", "-1", "--to", "t"], 2, "0 or more"),
    (["transmit", "--to", "zmq://127.0.0.1:70000"], 2, "outside 1-65535"),
    # ephemeris
    ([*EPHEMERIS[:4], "1962-11-01", "--step", "1h"], 2, "before --from"),
    ([*EPHEMERIS, "--step", "0s"], 2, "longer than zero"),
    ([*EPHEMERIS, "--step", "nanh"], 2, "not a duration"),
    (["ephemeris", "--from", "1962-11-02", "--to", "1963-11-02", "--step", "1s"], 2, "rows"),
    (["ephemeris", "--from", "1950-01-01", "--to", "1950-01-02", "--step", "1h"], 2, "covers"),
    ([*EPHEMERIS, "--step", "1h", "-o", "{in}/a_folder"], 2, "Is a directory"),  # once: .part
]


@pytest.mark.parametrize(("argv", "status", "says"), CASES, ids=lambda v: str(v)[:60])
def test_hostile_input_is_one_line(inputs, tmp_path, monkeypatch, capsys, argv, status, says):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    before = {p.name: p.stat().st_mtime_ns for p in inputs.iterdir()}
    args = [a.replace("{in}", str(inputs)) for a in argv]
    assert main(args) == status
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("groundstation: error: ") and says in lines[-1], err
    assert "Traceback" not in err and all(line.startswith("groundstation: ") for line in lines)
    assert ".part" not in err  # never the name of a temporary file
    assert {p.name: p.stat().st_mtime_ns for p in inputs.iterdir()} == before
    assert [p.name for p in tmp_path.rglob("*")] == []  # no output, no temporary file


def test_metadata_only_read_is_bounded_for_hostile_archives(inputs, tmp_path):
    """The archives whose headers announce a terabyte are refused within the memory bound."""
    from tests.groundstation.cli.test_hostile import _peak_rss_mb

    for name in ("huge_member.sigmf", "many.sigmf"):
        code, peak_mb, err = _peak_rss_mb(["decode", str(inputs / name)], tmp_path)
        assert code == 2, err
        assert peak_mb < 300, f"{name}: peak resident memory {peak_mb:.0f} MB"
    assert not [p for p in tmp_path.iterdir() if not os.path.basename(p).startswith("peak")]


def test_a_stream_without_a_signal_ends_in_its_reason(tmp_path, monkeypatch, capsys):
    """``listen`` given samples with nothing in them: exit 3 and the reason as the last line,
    as ``decode`` says it (once: exit 3 with no line saying why)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "noise.cf32").write_bytes(_iq(16_000).tobytes()[:-3])  # and a ragged end
    with open(tmp_path / "noise.cf32") as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        assert main([*LISTEN, "-"]) == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("groundstation: error: no telemetry carrier"), lines
    assert "5 stray bytes" in lines[-2]  # the 5 bytes of the last, partial sample
    assert json.loads((tmp_path / "lo" / "summary.json").read_text())["found"] is False


_NAMES = st.sampled_from(
    ["r/r", "../r/r", "/r/r", "r/../../r", "./r/r", "r//r", "r/r\x00", "r\\..\\r", "..", ""]
)
_KINDS = st.sampled_from(
    [tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE]
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    meta_name=_NAMES,
    data_name=_NAMES,
    data_kind=_KINDS,
    declared=st.sampled_from([None, 0, 7, 2**33, 2**40]),
    extra=st.integers(0, 3),
)
# members with no usable name of their own: ".sigmf-meta", "...sigmf-meta"
@example(meta_name="", data_name="", data_kind=tarfile.REGTYPE, declared=None, extra=0)
@example(meta_name="..", data_name="..", data_kind=tarfile.REGTYPE, declared=None, extra=0)
def test_any_archive_is_refused_in_one_line(
    tmp_path_factory, capsys, meta_name, data_name, data_kind, declared, extra
):
    """Member names that leave the archive, links, folders, sizes the file does not hold:
    exit 2 and one line, nothing written beside the archive (its samples, 100 at 8 kS/s,
    are too short to decode, so every archive ends in an error)."""
    folder = tmp_path_factory.mktemp("archive")
    data = _iq(100).tobytes()
    members = [_member(f"junk/{k}", b"x") for k in range(extra)]
    members.append(_member(meta_name + ".sigmf-meta", _META))
    payload = data if data_kind == tarfile.REGTYPE else None
    members.append(_member(data_name + ".sigmf-data", payload, data_kind, "r/r.sigmf-meta"))
    raw = bytearray(_tar(members))
    if declared is not None:  # the data member's header announces another size
        info = members[-1][0]
        info.size = declared
        start = raw.rfind(members[-1][0].name.encode()[:100])
        header = info.tobuf(tarfile.GNU_FORMAT)
        if start >= 0 and len(header) == 512:
            raw[start : start + 512] = header
    (folder / "a.sigmf").write_bytes(bytes(raw))
    capsys.readouterr()
    assert main(["decode", str(folder / "a.sigmf"), "-o", str(folder / "out")]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("groundstation: error: "), err
    assert sorted(p.name for p in folder.iterdir()) == ["a.sigmf"]


@pytest.mark.parametrize(
    ("cut", "says"), [(3, "3 bytes left over"), (None, "is empty"), (-5, "3 bytes left over")]
)
def test_standard_input_with_ragged_bytes_is_one_line(tmp_path, monkeypatch, capsys, cut, says):
    """``decode -`` given bytes that are not whole samples: one line, exit 2, the spool gone."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    data = _iq(16_000).tobytes()
    payload = b"" if cut is None else data[:cut]
    (tmp_path / "in.bin").write_bytes(payload)
    with open(tmp_path / "in.bin") as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        assert main(["decode", "-", *RAW, "-o", "out"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.bin"]
