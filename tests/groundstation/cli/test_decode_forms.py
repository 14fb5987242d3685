"""``groundstation decode`` on every form a recording may take, and what it leaves behind.

The raw files, WAV files and archives are written here by minimal independent writers
(numpy ``tofile``, the stdlib ``wave`` module, a hand-packed float WAV, ``tarfile``), from
the samples of the repository's fixtures. The same bytes in another container must decode
to the same summary values and the same pictures or frames as their SigMF pair.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import subprocess
import sys
import tarfile
import wave
from pathlib import Path

import numpy as np
import pytest

from groundstation.cli.app import main

REPO = Path(__file__).resolve().parents[3]
PPM = REPO / "fixtures" / "ppm" / "ppm_fade_90k"
TLM = REPO / "fixtures" / "tlm" / "tlm32cm_128bps_9k6_cut"

#: Summary keys that name the input or the output, not what was decoded.
_NAMING_KEYS = {"recording", "source", "warnings", "report_html", "waterfall_png", "outputs"}


def _meta(base: Path) -> dict:
    return json.loads(base.with_suffix(".sigmf-meta").read_text())


def _samples(base: Path) -> np.ndarray:
    return np.fromfile(base.with_suffix(".sigmf-data"), "<c8")


def _interleaved(x: np.ndarray) -> np.ndarray:
    out = np.empty(2 * x.size, np.float64)
    out[0::2], out[1::2] = x.real, x.imag
    return out


def _quantised(x: np.ndarray, fmt: str, scale: float) -> bytes:
    iq = _interleaved(x) * scale
    if fmt == "ci16":
        return np.clip(np.rint(iq * 32768), -32768, 32767).astype("<i2").tobytes()
    if fmt == "ci8":
        return np.clip(np.rint(iq * 128), -128, 127).astype("i1").tobytes()
    return np.clip(np.rint(iq * 128 + 127.5), 0, 255).astype("u1").tobytes()


def _pair(folder: Path, name: str, meta: dict, data: bytes, datatype: str) -> Path:
    """A SigMF pair holding ``data`` with the fixture's metadata but ``datatype``."""
    meta = json.loads(json.dumps(meta))
    meta["global"]["core:datatype"] = datatype
    meta["global"].pop("core:sha512", None)
    (folder / f"{name}.sigmf-data").write_bytes(data)
    (folder / f"{name}.sigmf-meta").write_text(json.dumps(meta))
    return folder / f"{name}.sigmf-meta"


def _facts(meta: dict) -> list[str]:
    glob, capture = meta["global"], meta["captures"][0]
    args = [
        "--samp-rate",
        repr(glob["core:sample_rate"]),
        "--freq",
        repr(capture["core:frequency"]),
        "--start",
        capture["core:datetime"],
    ]
    if "mars1:bit_rate" in glob:
        args += ["--bit-rate", repr(glob["mars1:bit_rate"])]
    return args


def _write_wav_int16(path: Path, data: bytes, fs_hz: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(int(fs_hz))
        w.writeframes(data)


def _write_wav_float32(path: Path, data: bytes, fs_hz: float) -> None:
    fmt = struct.pack("<HHIIHH", 3, 2, int(fs_hz), int(fs_hz) * 8, 8, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def _write_archive(path: Path, name: str, meta: dict, data: bytes) -> None:
    with tarfile.open(path, "w") as tar:
        for member, payload in (
            (f"{name}/{name}.sigmf-meta", json.dumps(meta).encode()),
            (f"{name}/{name}.sigmf-data", data),
        ):
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def _decode(out: Path, *args: str) -> int:
    return main(["decode", *args, "-o", str(out)])


def _decoded(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k not in _NAMING_KEYS}


def _products(out: Path) -> dict[str, bytes]:
    """The decoded pictures and frame rows, byte for byte."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.suffix == ".png" and path.parent.name == "images":
            files[path.name] = path.read_bytes()
        if path.name in ("telemetry.csv", "telemetry.jsonl"):
            files[path.name] = path.read_bytes()
    return files


def _assert_same_decode(reference: Path, other: Path) -> None:
    assert _decoded(other) == _decoded(reference)
    products = _products(reference)
    assert products, "the reference decoded nothing"
    assert _products(other) == products


@pytest.fixture(scope="module")
def ppm_reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ppm_ref") / "out"
    assert _decode(out, str(PPM.with_suffix(".sigmf-meta"))) == 0
    return out


def test_ppm_raw_wav_and_archive_decode_like_the_pair(tmp_path, ppm_reference, capsys):
    meta, x = _meta(PPM), _samples(PPM)
    data = x.tobytes()
    (tmp_path / "capture.cf32").write_bytes(data)
    _write_wav_float32(tmp_path / "capture_f32.wav", data, meta["global"]["core:sample_rate"])
    _write_archive(tmp_path / "ppm_fade_90k.sigmf", "ppm_fade_90k", meta, data)
    facts = _facts(meta)
    cases = {
        "raw": [str(tmp_path / "capture.cf32"), *facts],
        "wav": [str(tmp_path / "capture_f32.wav"), *facts],
        "archive": [str(tmp_path / "ppm_fade_90k.sigmf")],
    }
    for name, args in cases.items():
        out = tmp_path / f"out_{name}"
        assert _decode(out, *args) == 0, name
        _assert_same_decode(ppm_reference, out)
        assert (out / "waterfall.png").stat().st_size > 0
        assert "<h1>" in (out / "report.html").read_text()
    assert "report.html" in capsys.readouterr().out


@pytest.mark.parametrize(("fmt", "datatype"), [("ci16", "ci16_le"), ("ci8", "ci8"), ("cu8", "cu8")])
def test_ppm_integer_raw_decodes_like_its_integer_pair(tmp_path, fmt, datatype):
    meta, x = _meta(PPM), _samples(PPM)
    data = _quantised(x, fmt, scale=0.6)
    pair = _pair(tmp_path, "pair", meta, data, datatype)
    raw = tmp_path / "capture.bin"
    np.frombuffer(data, np.uint8).tofile(raw)
    assert _decode(tmp_path / "out_pair", str(pair)) == 0
    assert _decode(tmp_path / "out_raw", str(raw), "--format", fmt, *_facts(meta)) == 0
    _assert_same_decode(tmp_path / "out_pair", tmp_path / "out_raw")
    if fmt == "ci16":
        wav = tmp_path / "capture_i16.wav"
        _write_wav_int16(wav, data, meta["global"]["core:sample_rate"])
        facts = _facts(meta)[2:]  # the WAV header gives the rate
        assert _decode(tmp_path / "out_wav", str(wav), *facts) == 0
        _assert_same_decode(tmp_path / "out_pair", tmp_path / "out_wav")


def test_telemetry_cu8_raw_decodes_like_its_pair_and_annotates_bands(tmp_path):
    meta, x = _meta(TLM), _samples(TLM)
    data = _quantised(x, "cu8", scale=1 / 12)
    pair = _pair(tmp_path, "pair", meta, data, "cu8")
    raw = tmp_path / "rtl_capture.cu8"
    np.frombuffer(data, np.uint8).tofile(raw)
    assert _decode(tmp_path / "out_pair", str(pair)) == 0
    assert _decode(tmp_path / "out_raw", str(raw), *_facts(meta)) == 0
    _assert_same_decode(tmp_path / "out_pair", tmp_path / "out_raw")
    assert _decoded(tmp_path / "out_raw")["frames"] == 8


def test_gnu_radio_minimal_sigmf_decodes_with_relative_times(tmp_path, capsys):
    """GNU Radio's SigMF sink: datatype and sample rate only, no core:datetime."""
    meta = _meta(TLM)
    minimal = {
        "global": {
            "core:datatype": "cf32_le",
            "core:sample_rate": meta["global"]["core:sample_rate"],
            "core:version": "1.0.0",
        },
        "captures": [{"core:sample_start": 0}],
        "annotations": [],
    }
    (tmp_path / "gr.sigmf-data").write_bytes(_samples(TLM).tobytes())
    (tmp_path / "gr.sigmf-meta").write_text(json.dumps(minimal))
    freq = repr(meta["captures"][0]["core:frequency"])
    assert _decode(tmp_path / "ref", str(TLM.with_suffix(".sigmf-meta"))) == 0
    assert _decode(tmp_path / "out", str(tmp_path / "gr.sigmf-meta"), "--freq", freq) == 0
    text = capsys.readouterr()
    assert "count from sample 0" in text.err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["source"]["start_utc_known"] is False
    assert any("count from sample 0" in w for w in summary["warnings"])
    ref_rows = (tmp_path / "ref" / "telemetry.jsonl").read_text().splitlines()
    rows = (tmp_path / "out" / "telemetry.jsonl").read_text().splitlines()
    assert len(rows) == len(ref_rows) == 8
    t0 = np.datetime64(meta["captures"][0]["core:datetime"].rstrip("Z"))
    for ref_row, row in zip(ref_rows, rows, strict=True):
        a, b = json.loads(ref_row), json.loads(row)
        assert a["w05"] == b["w05"] and a["frame_counter"] == b["frame_counter"]
        since_start = np.datetime64(a["time_utc"].rstrip("Z")) - t0
        assert np.datetime64(b["time_utc"].rstrip("Z")) - np.datetime64("1970-01-01") == (
            since_start
        )


def _noise(tmp_path: Path, fs_hz: float, seconds: float) -> Path:
    rng = np.random.default_rng(5)
    n = int(fs_hz * seconds)
    x = (0.1 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype("<c8")
    path = tmp_path / "noise.cf32"
    x.tofile(path)
    return path


def test_noise_only_exits_3_with_the_waterfall_and_measurements(tmp_path, capsys):
    path = _noise(tmp_path, 8000.0, 6.0)
    out = tmp_path / "out"
    status = _decode(out, str(path), "--samp-rate", "8000", "--band", "32cm-tlm")
    assert status == 3
    assert (out / "waterfall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "no signal"
    spectrum = summary["spectrum"]
    # Complex white noise of variance 2·0.1² at 8 kS/s: N0 = 0.02 / 8000 -> -56.0 dB re 1/Hz.
    assert spectrum["noise_floor_db_hz"] == pytest.approx(10 * np.log10(0.02 / 8000), abs=0.5)
    assert spectrum["searched_lower_hz"] == pytest.approx(922.76e6 - 2000.0, abs=10)
    assert spectrum["searched_upper_hz"] == pytest.approx(922.76e6 + 2000.0, abs=10)
    assert spectrum["strongest_peak_above_floor_db"] < 6.0
    assert (out / "report.html").exists()
    printed = capsys.readouterr()
    assert "noise floor" in printed.out
    errors = [line for line in printed.err.splitlines() if "error" in line]
    assert len(errors) == 1 and "no telemetry frame" in errors[0]


def test_a_tone_in_noise_is_measured_when_nothing_decodes(tmp_path):
    fs_hz = 8000.0
    rng = np.random.default_rng(6)
    n = int(fs_hz * 6)
    t = np.arange(n) / fs_hz
    x = 0.1 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    x += 0.5 * np.exp(2j * np.pi * 750.0 * t)  # a carrier with no frames on it
    path = tmp_path / "tone.cf32"
    x.astype("<c8").tofile(path)
    out = tmp_path / "out"
    assert _decode(out, str(path), "--samp-rate", "8000", "--band", "1.6m-tlm") == 3
    spectrum = json.loads((out / "summary.json").read_text())["spectrum"]
    assert spectrum["strongest_peak_offset_hz"] == pytest.approx(
        750.0, abs=spectrum["resolution_hz"]
    )
    assert spectrum["strongest_peak_above_floor_db"] > 20.0


def test_sha512_mismatch_warns_and_fails_with_strict(tmp_path, capsys):
    meta, x = _meta(PPM), _samples(PPM)
    meta["global"]["core:sha512"] = hashlib.sha512(x.tobytes()).hexdigest()
    good = _pair(tmp_path, "good", meta, x.tobytes(), "cf32_le")
    doc = json.loads(good.read_text())
    doc["global"]["core:sha512"] = hashlib.sha512(x.tobytes()).hexdigest()
    good.write_text(json.dumps(doc))
    assert _decode(tmp_path / "out_good", str(good), "--strict") == 0
    summary = json.loads((tmp_path / "out_good" / "summary.json").read_text())
    assert summary["source"]["sha512"] == "checked, matches"
    capsys.readouterr()
    damaged = x.copy()
    damaged[1000] += np.complex64(1e-3)
    (tmp_path / "good.sigmf-data").write_bytes(damaged.tobytes())
    assert _decode(tmp_path / "out_warn", str(good)) == 0
    assert "core:sha512" in capsys.readouterr().err
    assert _decode(tmp_path / "out_strict", str(good), "--strict") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "core:sha512" in err


def test_annotated_copy_opens_where_it_is_written(tmp_path):
    out = tmp_path / "out"
    assert _decode(out, str(PPM.with_suffix(".sigmf-meta"))) == 0
    data = out / "ppm_fade_90k.sigmf-data"
    assert data.is_symlink()
    assert data.resolve() == PPM.with_suffix(".sigmf-data").resolve()
    annotations = json.loads((out / "ppm_fade_90k.sigmf-meta").read_text())["annotations"]
    assert [a for a in annotations if a["core:label"].startswith("ppm-line")]


def test_every_mars1_key_is_documented():
    documented = set(
        re.findall(
            r"^\| `([a-z_0-9]+)` \|", (REPO / "docs" / "mars1.sigmf-ext.md").read_text(), re.M
        )
    )
    used = set()
    for path in [*(REPO / "groundstation").rglob("*.py"), *(REPO / "signals").rglob("*.py")]:
        used |= set(re.findall(r"[\"']mars1:([a-z_0-9]+)[\"']", path.read_text(encoding="utf-8")))
    assert used, "no mars1: key found in the code"
    assert sorted(used - documented) == []


def test_several_recordings_decode_in_parallel_one_folder_each(tmp_path):
    meta, x = _meta(PPM), _samples(PPM)
    (tmp_path / "a.cf32").write_bytes(x.tobytes())
    noise = _noise(tmp_path, 90000.0, 1.0)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "groundstation",
            "decode",
            str(tmp_path / "a.cf32"),
            str(noise),
            *_facts(meta),
            "--workers",
            "1",
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 3, result.stderr  # one decoded, one held nothing
    assert (tmp_path / "out" / "a" / "images" / "image_7.png").exists()
    assert json.loads((tmp_path / "out" / "noise" / "summary.json").read_text())["status"] == (
        "no signal"
    )
    assert "1 of 2 recordings decoded" in result.stdout


def test_bands_lists_every_band(capsys):
    assert main(["bands"]) == 0
    text = capsys.readouterr().out
    for band_id in ("1.6m-tlm", "1.6m-cmd", "39cm-up", "32cm-tlm", "8cm-carrier", "5cm-ppm"):
        assert band_id in text
    assert "90 kS/s" in text and "922.7600 MHz" in text


def test_standard_input_decodes_and_keeps_its_samples(tmp_path):
    meta, x = _meta(PPM), _samples(PPM)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "groundstation",
            "decode",
            "-",
            "--format",
            "cf32",
            *_facts(meta),
            "-o",
            str(out),
        ],
        input=x.tobytes(),
        capture_output=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert (out / "images" / "image_7.png").exists()
    kept = out / "stdin.sigmf-data"
    assert kept.is_file() and not kept.is_symlink()
    assert kept.read_bytes() == x.tobytes()
    doc = json.loads((out / "stdin.sigmf-meta").read_text())
    assert doc["global"]["core:dataset"] == "stdin.sigmf-data"


def test_annotations_carry_the_occupied_band_of_what_was_found(tmp_path):
    """ICD §2: core:freq_lower_edge / upper_edge, absolute Hz, from the receiver's estimates."""
    # PPM: each line is the pulse's main lobe, ±1/τ = ±45 kHz, around its image's carrier.
    out = tmp_path / "ppm"
    assert _decode(out, str(PPM.with_suffix(".sigmf-meta"))) == 0
    tuned = _meta(PPM)["captures"][0]["core:frequency"]
    offset = json.loads((out / "summary.json").read_text())["images"][0]["carrier_offset_hz"]
    lines = [
        a
        for a in json.loads((out / "ppm_fade_90k.sigmf-meta").read_text())["annotations"]
        if a["core:label"].startswith("ppm-")
    ]
    assert lines
    for a in lines:
        centre = (a["core:freq_lower_edge"] + a["core:freq_upper_edge"]) / 2
        assert centre == pytest.approx(tuned + offset, abs=1.0)
        assert a["core:freq_upper_edge"] - a["core:freq_lower_edge"] == pytest.approx(90e3)
    # Telemetry: the carrier where the frame is (the fixture's truth: +1830 Hz at sample 0,
    # +4.8 Hz/s) ± (1024 Hz subcarrier + 128 bit/s).
    out = tmp_path / "tlm"
    assert _decode(out, str(TLM.with_suffix(".sigmf-meta"))) == 0
    meta = _meta(TLM)
    tuned, fs_hz = meta["captures"][0]["core:frequency"], meta["global"]["core:sample_rate"]
    frames = [
        a
        for a in json.loads((out / f"{TLM.name}.sigmf-meta").read_text())["annotations"]
        if a["core:label"].startswith("tlm-frame")
    ]
    assert len(frames) == 9  # 8 whole, 1 cut off
    for a in frames:
        t_s = (a["core:sample_start"] + a["core:sample_count"] / 2) / fs_hz
        centre = (a["core:freq_lower_edge"] + a["core:freq_upper_edge"]) / 2
        assert centre == pytest.approx(tuned + 1830.0 + 4.8 * t_s, abs=2.0)
        width = a["core:freq_upper_edge"] - a["core:freq_lower_edge"]
        assert width == pytest.approx(2 * (1024 + 128))


def test_a_carrier_annotation_spans_its_resolution(tmp_path):
    fs_hz, seconds, offset_hz = 8000.0, 8.0, 1234.5
    rng = np.random.default_rng(8)
    t = np.arange(int(fs_hz * seconds)) / fs_hz
    x = np.exp(2j * np.pi * offset_hz * t) + 0.3 * (
        rng.standard_normal(t.size) + 1j * rng.standard_normal(t.size)
    )
    path = tmp_path / "carrier.cf32"
    x.astype("<c8").tofile(path)
    out = tmp_path / "out"
    args = [str(path), "--samp-rate", "8000", "--band", "8cm-carrier"]
    assert _decode(out, *args, "--start", "1962-11-05T09:00:00Z") == 0
    (a,) = json.loads((out / "carrier.sigmf-meta").read_text())["annotations"]
    analysed_s = a["core:sample_count"] / fs_hz
    assert a["core:freq_upper_edge"] - a["core:freq_lower_edge"] == pytest.approx(2 / analysed_s)
    centre = (a["core:freq_lower_edge"] + a["core:freq_upper_edge"]) / 2
    assert centre == pytest.approx(3691.04e6 + offset_hz, abs=0.1)
