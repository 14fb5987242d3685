"""The command line: version, help, and bad input as one line with a non-zero exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from groundstation.cli.app import main
from groundstation.io.writer import write_recording
from signals import __version__
from signals.bands import bands_of_kind


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "groundstation", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess, fragment: str, status: int = 2
) -> None:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_module_entry_point_and_help():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("contact", "mission", "synth", "decode", "bench"):
        assert command in result.stdout


def test_contact_help_and_error_give_the_same_session_range(capsys):
    from groundstation.session.schedule import mission_schedule

    last = len(mission_schedule())
    with pytest.raises(SystemExit):
        main(["contact", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert f"(1-{last})" in help_text
    result = run_cli("contact", "--session", str(last + 1))
    assert_one_line_error(result, f"sessions 1 to {last}")


def _noise_recording(
    tmp_path: Path,
    band: str = "5cm-ppm",
    fs_hz: float = 180e3,
    n: int = 200_000,
    name: str = "noise",
) -> Path:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    centre = {
        "5cm-ppm": 5.86e9,
        "32cm-tlm": 922.76e6,
        "1.6m-tlm": 183.6e6,
        "8cm-carrier": 3691.04e6,
        "1.6m-cmd": 102e6,
    }[band]
    return write_recording(
        tmp_path / name,
        [x],
        fs_hz=fs_hz,
        band=band,
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=centre,
        bit_rate_bps=64 if band in bands_of_kind("telemetry") else None,
    )


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("decode", str(tmp_path / "none.sigmf-meta")), "no metadata")


def test_metadata_not_json(tmp_path):
    meta = _noise_recording(tmp_path, n=1000)
    meta.write_text("{ not json")
    assert_one_line_error(run_cli("decode", str(meta)), "not valid JSON")


def test_metadata_lacking_fields(tmp_path):
    meta = _noise_recording(tmp_path, n=1000)
    doc = json.loads(meta.read_text())
    del doc["global"]["core:sample_rate"]
    meta.write_text(json.dumps(doc))
    assert_one_line_error(run_cli("decode", str(meta)), "core:sample_rate")


def test_unknown_datatype_and_band(tmp_path):
    meta = _noise_recording(tmp_path, n=1000)
    doc = json.loads(meta.read_text())
    doc["global"]["core:datatype"] = "ru8"
    meta.write_text(json.dumps(doc))
    assert_one_line_error(run_cli("decode", str(meta)), "ru8")
    doc["global"]["core:datatype"] = "cf32_le"
    doc["global"]["mars1:band"] = "13cm-tv"
    meta.write_text(json.dumps(doc))
    assert_one_line_error(run_cli("decode", str(meta)), "13cm-tv")


def test_ragged_and_empty_data(tmp_path):
    meta = _noise_recording(tmp_path, n=1000)
    data = meta.with_suffix(".sigmf-data")
    data.write_bytes(data.read_bytes()[:-3])
    assert_one_line_error(run_cli("decode", str(meta)), "whole number")
    data.write_bytes(b"")
    assert_one_line_error(run_cli("decode", str(meta)), "empty")


def test_wrong_sample_rate(tmp_path):
    meta = _noise_recording(tmp_path, fs_hz=48e3, n=1000)
    assert_one_line_error(run_cli("decode", str(meta)), "below")


def test_uplink_recordings_are_not_downlinks(tmp_path):
    meta = _noise_recording(tmp_path, band="1.6m-cmd", fs_hz=4000, n=1000)
    assert_one_line_error(run_cli("decode", str(meta)), "uplink")


@pytest.mark.parametrize(
    ("band", "fs_hz"), [("5cm-ppm", 180e3), ("32cm-tlm", 8e3), ("8cm-carrier", 8e3)]
)
def test_noise_only_exits_3_with_the_waterfall_and_measurements(tmp_path, band, fs_hz):
    """Nothing found is not bad input: status 3, one line saying what was not found, and
    the waterfall, the spectrum measurements and the report are written."""
    meta = _noise_recording(tmp_path, band=band, fs_hz=fs_hz, n=int(fs_hz * 3))
    out = tmp_path / "out"
    result = run_cli("decode", str(meta), "-o", str(out))
    assert_one_line_error(result, "no ", status=3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["found"] is False and summary["reason"].startswith("no ")
    assert summary["status"] == "no signal" and "noise_floor_db_hz" in summary["spectrum"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".mars1-results",
        "report.html",
        "summary.json",
        "waterfall.png",
    ]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging


def test_nan_filled_recording_is_not_a_crash(tmp_path):
    meta = _noise_recording(tmp_path, n=180_000)
    data = meta.with_suffix(".sigmf-data")
    x = np.fromfile(data, np.complex64)
    x[::7] = np.nan
    x[3::11] = np.inf
    x.tofile(data)
    result = run_cli("decode", str(meta), "-o", str(tmp_path / "out"))
    assert result.returncode == 3  # noise with NaN/Inf: no signal, not a crash
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error" in line]) == 1


def test_telemetry_without_bit_rate_key_is_detected(tmp_path):
    """A recording without mars1:bit_rate still decodes: the receiver finds the rate itself."""
    name = tmp_path / "tlm"
    made = run_cli(
        "synth",
        "tlm",
        "--band",
        "32cm",
        "--rate",
        "32",
        "--duration",
        "40",
        "--carrier-s",
        "5",
        "--ebn0-db",
        "12",
        "--seed",
        "9",
        "-o",
        str(name),
    )
    assert made.returncode == 0, made.stderr
    meta = name.with_suffix(".sigmf-meta")
    doc = json.loads(meta.read_text())
    del doc["global"]["mars1:bit_rate"]
    meta.write_text(json.dumps(doc))
    result = run_cli("decode", str(meta), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    truth = json.loads(name.with_suffix(".truth.json").read_text())
    whole = [
        f for f in truth["frames"] if f["sample_start"] + f["sample_count"] <= truth["n_samples"]
    ]
    assert summary["frames"] == len(whole) > 0
    assert summary["bit_rate_bps"] == 32
    assert summary["parity_failures"] == 0
