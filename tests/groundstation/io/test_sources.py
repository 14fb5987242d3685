"""Sample sources (groundstation.io.sources): every form of one recording reads the same.

The recordings here are written by minimal independent writers (numpy ``tofile``, the stdlib
``wave`` module, a hand-packed RIFF header, ``tarfile``), not by the project's writer, so
the reader is checked against the formats themselves.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tarfile
import wave
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from groundstation.errors import DataFileError, MetadataError, RecordingError
from groundstation.io.facts import SourceOptions
from groundstation.io.sources import open_source, source_form
from groundstation.io.wav import facts_from_name, read_wav_layout

FS_HZ = 8000.0
T0 = datetime(1962, 11, 5, 9, 0, tzinfo=UTC)
OPTIONS = SourceOptions(fs_hz=FS_HZ, band="32cm-tlm", bit_rate_bps=64.0, start_utc=T0)


def _iq(n: int = 3001, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.25 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)


def _interleaved(x: np.ndarray) -> np.ndarray:
    out = np.empty(2 * x.size, np.float64)
    out[0::2], out[1::2] = x.real, x.imag
    return out


def _raw_bytes(x: np.ndarray, fmt: str) -> bytes:
    """The ICD §2 storage of ``x`` in ``fmt``, written without the project's code."""
    iq = _interleaved(x)
    if fmt == "cf32":
        return x.astype("<c8").tobytes()
    if fmt == "cf64":
        return x.astype("<c16").tobytes()
    if fmt == "ci16":
        return np.clip(np.rint(iq * 32768), -32768, 32767).astype("<i2").tobytes()
    if fmt == "ci8":
        return np.clip(np.rint(iq * 128), -128, 127).astype("i1").tobytes()
    if fmt == "cu8":
        return np.clip(np.rint(iq * 128 + 127.5), 0, 255).astype("u1").tobytes()
    raise ValueError(fmt)


def _expected(data: bytes, fmt: str) -> np.ndarray:
    """What the bytes mean (ICD §2: ints scaled to ±1, cu8 offset by 127.5)."""
    if fmt in ("cf32", "cf64"):
        return np.frombuffer(data, "<c8" if fmt == "cf32" else "<c16").astype(np.complex128)
    if fmt == "ci16":
        v = np.frombuffer(data, "<i2") / 32768.0
    elif fmt == "ci8":
        v = np.frombuffer(data, "i1") / 128.0
    else:
        v = (np.frombuffer(data, "u1") - 127.5) / 128.0
    return v[0::2] + 1j * v[1::2]


def _read_all(source) -> np.ndarray:
    return np.concatenate(list(source.chunks(1000)))


@pytest.mark.parametrize("fmt", ["cf32", "cf64", "ci16", "ci8", "cu8"])
def test_raw_file_each_format(tmp_path, fmt):
    x = _iq()
    data = _raw_bytes(x, fmt)
    path = tmp_path / "capture.bin"
    path.write_bytes(data)
    with open_source(path, SourceOptions(sample_format=fmt, fs_hz=FS_HZ, band="32cm-tlm")) as src:
        got = _read_all(src)
        assert src.facts.form == "raw"
        assert src.facts.n_samples == x.size
        assert src.facts.start_utc is None
        assert src.facts.center_frequency_hz == 922.76e6
    assert got.dtype == np.complex64
    np.testing.assert_allclose(got, _expected(data, fmt), rtol=0, atol=1e-6)


def test_raw_format_from_the_extension_and_band_from_the_frequency(tmp_path):
    x = _iq()
    path = tmp_path / "rtl_capture.cu8"
    path.write_bytes(_raw_bytes(x, "cu8"))
    options = SourceOptions(fs_hz=FS_HZ, frequency_hz=183.6e6 - 2500.0)
    with open_source(path, options) as src:
        assert src.facts.datatype == "cu8"
        assert src.facts.band == "1.6m-tlm"
        assert src.facts.center_frequency_hz == 183.6e6 - 2500.0
        assert src.facts.name == "rtl_capture"


def test_raw_file_without_its_facts_is_one_clear_error(tmp_path):
    path = tmp_path / "raw.cf32"
    path.write_bytes(_raw_bytes(_iq(), "cf32"))
    with pytest.raises(RecordingError, match="--samp-rate") as info:
        open_source(path)
    assert "\n" not in str(info.value)
    unnamed = path.rename(tmp_path / "raw.dat")
    with pytest.raises(RecordingError, match="--format"):
        open_source(unnamed, SourceOptions(fs_hz=FS_HZ, band="32cm-tlm"))
    with pytest.raises(RecordingError, match="--band"):
        open_source(tmp_path / "raw.dat", SourceOptions(sample_format="cf32", fs_hz=FS_HZ))
    with pytest.raises(DataFileError, match="no such recording"):
        open_source(tmp_path / "absent.cf32", OPTIONS)


def _write_wav_int16(path: Path, x: np.ndarray, fs_hz: float) -> bytes:
    frames = np.clip(np.rint(_interleaved(x) * 32768), -32768, 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(int(fs_hz))
        w.writeframes(frames)
    return frames


def _write_wav_float32(path: Path, x: np.ndarray, fs_hz: float, *, extra: bool = True) -> bytes:
    """A float WAV packed by hand (tag 3), with a LIST chunk before and after the data."""
    frames = x.astype("<c8").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 2, int(fs_hz), int(fs_hz) * 8, 8, 32)
    chunks = [b"fmt " + struct.pack("<I", len(fmt)) + fmt]
    if extra:
        chunks.append(b"LIST" + struct.pack("<I", 5) + b"INFOx\x00")  # odd size, padded
    chunks.append(b"data" + struct.pack("<I", len(frames)) + frames)
    if extra:
        chunks.append(b"LIST" + struct.pack("<I", 4) + b"INFO")
    body = b"WAVE" + b"".join(chunks)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return frames


def test_wav_int16_and_float32(tmp_path):
    x = _iq()
    frames16 = _write_wav_int16(tmp_path / "a.wav", x, FS_HZ)
    _write_wav_float32(tmp_path / "b.wav", x, FS_HZ)
    layout = read_wav_layout(tmp_path / "b.wav")
    assert (layout.datatype, layout.fs_hz, layout.data_bytes) == ("cf32_le", FS_HZ, x.size * 8)
    options = SourceOptions(band="32cm-tlm")
    with (
        open_source(tmp_path / "a.wav", options) as a,
        open_source(tmp_path / "b.wav", options) as b,
    ):
        assert a.facts.form == b.facts.form == "wav"
        assert a.facts.fs_hz == b.facts.fs_hz == FS_HZ
        np.testing.assert_allclose(_read_all(a), _expected(frames16, "ci16"), atol=1e-7)
        np.testing.assert_array_equal(_read_all(b), x)
        # The annotated copy describes the WAV itself: header and trailing bytes around it.
        glob = b.recording.metadata["global"]
        assert b.recording.metadata["captures"][0]["core:header_bytes"] == 44 + 14
        assert glob["core:trailing_bytes"] == 12


def test_wav_facts_from_an_sdr_program_file_name(tmp_path):
    name = "SDRSharp_19621105_090000Z_922757000Hz_IQ.wav"
    _write_wav_int16(tmp_path / name, _iq(), FS_HZ)
    with open_source(tmp_path / name) as src:
        assert src.facts.band == "32cm-tlm"
        assert src.facts.center_frequency_hz == 922757000.0
        assert src.facts.start_utc == T0
    hdsdr = facts_from_name("HDSDR_19621105_090000Z_183600kHz_RF.wav")
    assert hdsdr.frequency_hz == 183.6e6 and hdsdr.start_utc == T0


@pytest.mark.parametrize(
    ("channels", "width", "match"), [(1, 2, "1 channel"), (2, 1, "8-bit integer")]
)
def test_wav_that_is_not_iq_is_refused(tmp_path, channels, width, match):
    path = tmp_path / "mono.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(8000)
        w.writeframes(b"\x00" * 400)
    with pytest.raises(DataFileError, match=match):
        open_source(path, SourceOptions(band="32cm-tlm"))


def _sigmf_meta(datatype: str, **capture) -> dict:
    return {
        "global": {"core:datatype": datatype, "core:sample_rate": FS_HZ, "core:version": "1.0.0"},
        "captures": [{"core:sample_start": 0, **capture}],
        "annotations": [],
    }


def _write_archive(path: Path, name: str, meta: dict, data: bytes, *, prefix: str = "") -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, payload in (
            (f"{prefix}{name}/{name}.sigmf-meta", json.dumps(meta).encode()),
            (f"{prefix}{name}/{name}.sigmf-data", data),
        ):
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_sigmf_archive_reads_the_member_in_place(tmp_path):
    x = _iq()
    data = _raw_bytes(x, "ci16")
    meta = _sigmf_meta(
        "ci16_le", **{"core:frequency": 922.76e6, "core:datetime": "1962-11-05T09:00:00Z"}
    )
    _write_archive(tmp_path / "pass.sigmf", "pass", meta, data)
    assert source_form(tmp_path / "pass.sigmf") == "sigmf-archive"
    with open_source(tmp_path / "pass.sigmf") as src:
        assert src.facts.form == "sigmf-archive"
        assert src.facts.name == "pass"
        assert src.facts.start_utc == T0
        assert src.recording.data_path == tmp_path / "pass.sigmf"
        # core:sha512 of an archive covers its data member only.
        assert src.dataset_sha512() == hashlib.sha512(data).hexdigest()
        np.testing.assert_allclose(_read_all(src), _expected(data, "ci16"), atol=1e-7)
    # Nothing was extracted.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pass.sigmf"]


def test_the_archive_member_hash_over_several_blocks(tmp_path, monkeypatch):
    """The member's bytes hashed a block at a time into one buffer: blocks that end inside
    the member, a last block shorter than the buffer, and the tar blocks after it left out;
    a hash stopped at once is of nothing."""
    import threading

    from groundstation.io import hashing

    data = _raw_bytes(_iq(), "ci16")
    meta = _sigmf_meta("ci16_le", **{"core:frequency": 922.76e6})
    _write_archive(tmp_path / "pass.sigmf", "pass", meta, data)
    with open_source(tmp_path / "pass.sigmf") as src:
        for block_bytes in (1, 7, 512, len(data) - 1, len(data), 1 << 30):
            monkeypatch.setattr(hashing, "HASH_BLOCK_BYTES", block_bytes)
            assert src.dataset_sha512() == hashlib.sha512(data).hexdigest()
            assert src.dataset_sha512_aside().hexdigest() == hashlib.sha512(data).hexdigest()
        stop = threading.Event()
        stop.set()
        assert src.dataset_sha512(stop=stop) == hashlib.sha512(b"").hexdigest()


def test_sigmf_archive_with_a_path_escape_or_a_link_is_refused(tmp_path):
    meta = _sigmf_meta("cf32_le", **{"core:frequency": 922.76e6})
    _write_archive(tmp_path / "evil.sigmf", "evil", meta, b"\x00" * 80, prefix="../")
    with pytest.raises(DataFileError, match="leaves the archive"):
        open_source(tmp_path / "evil.sigmf")
    with tarfile.open(tmp_path / "link.sigmf", "w") as tar:
        payload = json.dumps(meta).encode()
        info = tarfile.TarInfo("r/r.sigmf-meta")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
        link = tarfile.TarInfo("r/r.sigmf-data")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(DataFileError, match="not a regular file"):
        open_source(tmp_path / "link.sigmf")
    (tmp_path / "junk.sigmf").write_bytes(b"not a tar at all" * 64)
    with pytest.raises(DataFileError, match="not a SigMF archive"):
        open_source(tmp_path / "junk.sigmf")
    _write_archive(tmp_path / "two.sigmf", "a", meta, b"\x00" * 80)
    with tarfile.open(tmp_path / "two.sigmf", "a") as tar:
        payload = json.dumps(meta).encode()
        info = tarfile.TarInfo("b/b.sigmf-meta")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(MetadataError, match="2 recordings"):
        open_source(tmp_path / "two.sigmf")


@pytest.mark.parametrize("member", ["r/r.sigmf-meta", "r/r.sigmf-data"])
def test_sigmf_archive_whose_member_announces_more_than_it_holds_is_refused(tmp_path, member):
    """A member header declaring 1 TiB in a file of a few kB: once "internal error:
    ReadError: unexpected end of data" and exit 1."""
    meta = json.dumps(_sigmf_meta("cf32_le", **{"core:frequency": 922.76e6})).encode()
    payloads = {"r/r.sigmf-meta": meta, "r/r.sigmf-data": b"\x00" * 4000}
    with open(tmp_path / "huge.sigmf", "wb") as f:
        for name, payload in payloads.items():
            info = tarfile.TarInfo(name)
            info.size = 2**40 if name == member else len(payload)
            f.write(info.tobuf(tarfile.GNU_FORMAT))
            f.write(payload + b"\x00" * (-len(payload) % 512))
    with pytest.raises(DataFileError, match="a damaged SigMF archive"):
        open_source(tmp_path / "huge.sigmf")


def test_gnu_radio_minimal_sigmf_reads_with_relative_times(tmp_path):
    """GNU Radio's SigMF sink: datatype and sample rate, no core:datetime, no mars1: keys."""
    x = _iq()
    (tmp_path / "gr.sigmf-data").write_bytes(_raw_bytes(x, "cf32"))
    meta = _sigmf_meta("cf32_le", **{"core:frequency": 922.76e6 + 300.0})
    (tmp_path / "gr.sigmf-meta").write_text(json.dumps(meta))
    with open_source(tmp_path / "gr.sigmf-meta") as src:
        assert src.facts.start_utc is None
        assert src.facts.band == "32cm-tlm"
        assert not src.recording.start_utc_known
        np.testing.assert_array_equal(_read_all(src), x)
    with open_source(tmp_path / "gr.sigmf-meta", SourceOptions(start_utc=T0)) as src:
        assert src.facts.start_utc == T0
        assert src.recording.metadata["captures"][0]["core:datetime"].startswith("1962-11-05")


def test_stdin_is_spooled_and_bounded(tmp_path):
    x = _iq()
    data = _raw_bytes(x, "ci8")
    options = SourceOptions(sample_format="ci8", fs_hz=FS_HZ, band="1.6m-tlm")
    with open_source("-", options, stdin=io.BytesIO(data)) as src:
        spool = src.recording.data_path
        assert src.facts.form == "stdin" and src.facts.name == "stdin"
        np.testing.assert_allclose(_read_all(src), _expected(data, "ci8"), atol=1e-7)
    assert not spool.exists()
    with pytest.raises(DataFileError, match="longer than 1000 bytes"):
        open_source("-", options, stdin=io.BytesIO(data), max_stdin_bytes=1000)


def test_messages_name_the_file_the_user_gave(tmp_path):
    # A raw or WAV file has no metadata file of its own: a message that named the metadata
    # made for it (capture.sigmf-meta) would send the user looking for a file that is not
    # there.
    raw = tmp_path / "capture.cf32"
    raw.write_bytes(_raw_bytes(_iq()[:100], "cf32"))
    _write_wav_float32(tmp_path / "sdr.wav", _iq()[:100], FS_HZ)
    for path, options in (
        (raw, SourceOptions(fs_hz=FS_HZ, band="32cm-tlm")),
        (tmp_path / "sdr.wav", SourceOptions(band="32cm-tlm")),
    ):
        with open_source(path, options) as src:
            with pytest.raises(RecordingError, match="too short") as info:
                src.recording.require_min_sample_rate()
        assert str(info.value).startswith(f"{path.name}: ")
    stdin = io.BytesIO(_raw_bytes(_iq()[:100], "cf32"))
    options = SourceOptions(sample_format="cf32", fs_hz=FS_HZ, band="32cm-tlm")
    with open_source("-", options, stdin=stdin) as src:
        with pytest.raises(RecordingError, match=r"^standard input: .* too short"):
            src.recording.require_min_sample_rate()


@pytest.mark.parametrize("name", ["..cf32", "...cf32"])
def test_a_raw_file_whose_stem_is_only_dots_opens(tmp_path, name):
    # its stem ("." or "..") names no file: the outputs are named after the whole file name
    path = tmp_path / name
    path.write_bytes(_raw_bytes(_iq(), "cf32"))
    with open_source(path, SourceOptions(fs_hz=FS_HZ, band="32cm-tlm")) as src:
        assert src.facts.name.strip(".")
        assert src.recording.meta_path.parent == tmp_path
