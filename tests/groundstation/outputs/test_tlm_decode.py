"""Telemetry recording -> output folder, and ``groundstation synth tlm``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from groundstation.cli.app import main
from groundstation.errors import NoSignalError
from groundstation.io.files import to_json
from groundstation.io.recording import open_recording
from groundstation.io.writer import write_recording
from groundstation.outputs.records import CSV_COLUMNS, summary_record
from groundstation.outputs.tlm import decode_tlm_to_dir
from groundstation.receivers.tlm_decode import decode_tlm_recording, decode_tlm_samples
from signals.formats.tlm import CHANNELS, FrameType
from signals.modulators.tlm import TelemetryTransmission

from groundstation.cli.synth.tlm import synth_tlm  # isort: skip


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 frames at 64 bit/s, 3 s of carrier, Eb/N0 12 dB, inverted, with clock error."""
    base = tmp_path_factory.mktemp("tlm") / "rec"
    return synth_tlm(
        base,
        bit_rate_bps=64,
        duration_s=3.0 + 5 * 4.0 * (1 + 30e-6),
        carrier_s=3.0,
        ebn0_db=12.0,
        carrier_offset_hz=-420.0,
        carrier_rate_hz_per_s=0.8,
        phase_noise_rad_per_sqrt_s=0.03,
        clock_offset=30e-6,
        invert=True,
        seed=11,
    )


def _truth(meta: Path) -> dict:
    return json.loads(meta.with_name(meta.name.replace(".sigmf-meta", ".truth.json")).read_text())


def test_decode_to_dir_writes_every_output(recording: Path, tmp_path: Path) -> None:
    truth = _truth(recording)
    rec = open_recording(recording)
    result = decode_tlm_to_dir(rec, tmp_path / "out", show_progress=False)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["telemetry.csv", "telemetry.jsonl", "rec.sigmf-meta", "summary.json", "telemetry.png"]
    )
    sent = [f for f in truth["frames"] if f["complete"]]
    decoded = result.decode
    assert len(result.frames) == len(sent) == 5
    assert decoded.parity_failures == 0 and result.frames_ok == 5
    assert result.recording.band == "32cm-tlm" and decoded.bit_rate_bps == 64
    assert decoded.carrier_offset_hz == pytest.approx(-420.0, abs=0.1)
    assert decoded.carrier_rate_hz_per_s == pytest.approx(0.8, abs=0.02)
    assert all(type(f.parity_ok) is bool for f in result.frames)
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(to_json(summary_record(result)))
    assert summary["frames"] == 5 and summary["parity_failures"] == 0
    assert summary["first_frame_sample"] == sent[0]["sample_start"]

    with (out / "telemetry.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(CSV_COLUMNS)
    for row, t in zip(rows, sent, strict=True):
        assert [int(row[f"w{i:02d}"]) for i in range(32)] == t["words"]
        assert row["parity_ok"] == "true"
        assert int(row["frame_counter"]) == t["frame_counter"]
        assert abs(int(row["sample_start"]) - t["sample_start"]) <= 1
        assert row["time_utc"].endswith("Z")
        ft = FrameType(int(row["frame_type"]))
        for ft_other in FrameType:
            for ch in CHANNELS[ft_other]:
                if ft_other == ft:
                    assert float(row[ch.name]) == pytest.approx(t["channels"][ch.name])
                else:
                    assert row[ch.name] == ""
    lines = (out / "telemetry.jsonl").read_text().splitlines()
    assert len(lines) == len(rows)
    first = json.loads(lines[0])
    assert list(first) == list(CSV_COLUMNS)
    assert first["parity_ok"] is True and first["w00"] == 0xFA

    meta = json.loads((out / "rec.sigmf-meta").read_text())
    notes = [a for a in meta["annotations"] if a["core:label"].startswith("tlm-frame")]
    assert [a["mars1:frame_counter"] for a in notes] == [t["frame_counter"] for t in sent]
    assert all(a["mars1:parity_ok"] and a["mars1:inverted"] for a in notes)
    assert notes[0]["core:label"] == f"tlm-frame {sent[0]['frame_counter']}"
    assert (out / "telemetry.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recording_in_segments_equals_in_memory(recording: Path) -> None:
    rec = open_recording(recording)
    chunked = decode_tlm_recording(rec)
    whole = decode_tlm_samples(
        rec.read(0, rec.n_samples), rec.fs_hz, bit_rate_bps=64, start_utc=rec.start_utc
    )
    assert [f.words for f in chunked.frames] == [f.words for f in whole.frames]
    assert chunked.frames[0].time_utc == whole.frames[0].time_utc


def test_long_recording_is_decoded_segment_by_segment(tmp_path: Path) -> None:
    """160 s at 128 bit/s spans three overlapping segments: each frame once, none lost."""
    meta = synth_tlm(
        tmp_path / "long", bit_rate_bps=128, duration_s=2.0 + 79 * 2.0, carrier_s=2.0,
        ebn0_db=11.0, carrier_offset_hz=900.0, carrier_rate_hz_per_s=-4.0, seed=4,
    )  # fmt: skip
    rec = open_recording(meta)
    result = decode_tlm_recording(rec)
    truth = _truth(meta)
    assert [list(f.words) for f in result.frames] == [f["words"] for f in truth["frames"]]
    assert result.carrier_rate_hz_per_s == pytest.approx(-4.0, abs=0.01)


def test_no_frame_raises_and_writes_nothing(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    tx = TelemetryTransmission(
        [], fs_hz=8000.0, bit_rate_bps=16, rng=rng, carrier_s=0.0, duration_s=20.0,
        cn0_dbhz=41.0, carrier_offset_hz=312.0,
    )  # fmt: skip
    from signals.spacecraft.flight import LAUNCH_UTC

    meta = write_recording(
        tmp_path / "carrier", tx.chunks(), fs_hz=8000.0, band="1.6m-tlm",
        start_utc=LAUNCH_UTC, center_frequency_hz=183.6e6, bit_rate_bps=16,
    )  # fmt: skip
    out = tmp_path / "out"
    with pytest.raises(NoSignalError, match=r"carrier found at \+312 Hz, C/N0 41 dB-Hz"):
        decode_tlm_to_dir(open_recording(meta), out, show_progress=False)
    assert not out.exists() or not any(out.iterdir())


def test_cli_synth_and_decode(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    name = tmp_path / "cli"
    args = ["synth", "tlm", "--band", "1.6m", "--rate", "128", "--duration", "9",
            "--carrier-s", "2", "--cn0-dbhz", "40", "--clock-ppm", "-80", "--seed", "5",
            "-o", str(name)]  # fmt: skip
    assert main(args) == 0
    truth = _truth(Path(str(name) + ".sigmf-meta"))
    assert truth["band"] == "1.6m-tlm" and truth["clock_offset"] == pytest.approx(-80e-6)
    assert len(truth["frames"]) == 4 and not truth["frames"][-1]["complete"]
    assert main(["decode", str(name), "-o", str(tmp_path / "dec")]) == 0
    summary = json.loads((tmp_path / "dec" / "summary.json").read_text())
    assert summary["frames"] == 3 and summary["truncated_frames"] == 1
    assert summary["cn0_dbhz"] == pytest.approx(40.0, abs=0.5)
    assert "3 telemetry frames" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [["--band", "8cm"], ["--rate", "3"]])
def test_cli_rejects_bad_options(tmp_path: Path, bad: list[str], capsys) -> None:
    assert main(["synth", "tlm", *bad, "-o", str(tmp_path / "x")]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_bit_rate_is_detected_when_the_metadata_lacks_it(tmp_path: Path) -> None:
    from signals.formats.tlm_frames import frame_from_channels
    from signals.spacecraft.flight import LAUNCH_UTC

    rng = np.random.default_rng(16)
    values = {c.name: 1 for ft in FrameType for c in CHANNELS[ft]}
    frames = [frame_from_channels(k, k % 2, values) for k in range(3)]
    tx = TelemetryTransmission(
        frames, fs_hz=8000.0, bit_rate_bps=16, rng=rng, carrier_s=2.0, ebn0_db=12.0
    )
    meta = write_recording(
        tmp_path / "norate", tx.chunks(), fs_hz=8000.0, band="1.6m-tlm",
        start_utc=LAUNCH_UTC, center_frequency_hz=183.6e6,
    )  # fmt: skip
    rec = open_recording(meta)
    assert rec.bit_rate_bps is None
    result = decode_tlm_recording(rec)
    assert result.bit_rate_bps == 16
    assert [f.words for f in result.frames] == [f.words for f in frames]
    assert "detected 16 bit/s" in result.warnings[0]


def test_decoded_channels_follow_the_flight_model(recording: Path) -> None:
    """synth tlm fills each frame from FlightModel.channels_at at the time the frame left
    the spacecraft (one light time before it arrives): the decoded engineering values equal
    the model's within half a count (clipped to range)."""
    from datetime import timedelta

    from signals.formats.tlm import CHANNEL_BY_NAME, ChannelKind
    from signals.spacecraft.flight import FlightModel

    truth = _truth(recording)
    flight = FlightModel("historical", rng=np.random.default_rng(truth["seed"]))
    result = decode_tlm_recording(open_recording(recording))
    start = open_recording(recording).start_utc
    frame_s = 256 / 64 * (1 + truth["clock_offset"])
    for k, frame in enumerate(result.frames):
        sent_s = 3.0 - truth["light_time_s"] + k * frame_s
        model = flight.channels_at(start + timedelta(seconds=sent_s))
        for name, value in frame.channels.items():
            ch = CHANNEL_BY_NAME[name]
            if ch.kind is ChannelKind.LINEAR:
                lo = ch.offset - ch.raw_zero * ch.scale
                hi = lo + ch.raw_max * ch.scale
                expect = min(max(model[name], lo), hi)
                assert abs(value - expect) <= 0.5 * ch.scale + 1e-9, name
            elif ch.kind is ChannelKind.COUNTER:
                assert value == model[name] % (ch.raw_max + 1), name
            else:
                assert value == min(max(model[name], 0), ch.raw_max), name
