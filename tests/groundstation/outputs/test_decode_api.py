"""The public decode API: one call per recording, a typed result, the same content on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import groundstation
from groundstation.decode import DECODERS, decode_recording
from groundstation.errors import GroundStationError
from groundstation.io.files import to_json
from groundstation.outputs.records import summary_record
from groundstation.results import PpmBandResult, TelemetryBandResult

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def test_the_package_exports_the_decode_api():
    assert groundstation.decode_recording is decode_recording
    assert groundstation.TelemetryBandResult is TelemetryBandResult
    assert set(DECODERS) == {"5cm-ppm", "32cm-tlm", "1.6m-tlm", "8cm-carrier", "39cm-up"}


def test_telemetry_recording_gives_a_typed_result_and_its_summary(tmp_path):
    truth = json.loads((FIXTURES / "tlm" / "tlm32cm_64bps.truth.json").read_text())
    meta = FIXTURES / "tlm" / "tlm32cm_64bps.sigmf-meta"
    result = decode_recording(meta, tmp_path, show_progress=False)
    assert isinstance(result, TelemetryBandResult) and result.kind == "telemetry"
    assert result.recording.band == "32cm-tlm" and result.recording.name == "tlm32cm_64bps"
    sent = [f for f in truth["frames"] if f.get("complete", True)]
    assert [f.frame_counter for f in result.frames] == [f["frame_counter"] for f in sent]
    assert all(f.parity_ok is True for f in result.frames)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == json.loads(to_json(summary_record(result)))
    assert sorted(on_disk["outputs"]) == sorted(p.name for p in tmp_path.iterdir())


def test_ppm_recording_gives_images_with_their_line_records(tmp_path):
    result = decode_recording(FIXTURES / "ppm" / "ppm_limits", tmp_path, show_progress=False)
    assert isinstance(result, PpmBandResult) and result.kind == "ppm"
    (image,) = result.images
    assert [line.line for line in image.received_lines] == sorted(
        int(n) for n in image.received.nonzero()[0]
    )
    assert image.header is not None and image.header.image_id == image.image_id
    assert (tmp_path / "images" / f"{result.image_names[0]}.png").exists()


def test_an_uplink_band_is_refused(tmp_path):
    from datetime import UTC, datetime

    import numpy as np

    from groundstation.io.writer import write_recording

    meta = write_recording(
        tmp_path / "up",
        [np.zeros(4000, np.complex64)],
        fs_hz=4000.0,
        band="1.6m-cmd",
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=183.6e6,
    )
    with pytest.raises(GroundStationError, match="uplink"):
        decode_recording(meta, tmp_path / "out", show_progress=False)


@pytest.mark.parametrize("recording", ["tlm/tlm32cm_64bps.sigmf-meta", "ppm/ppm_limits.sigmf-meta"])
def test_without_a_folder_the_same_result_and_no_file(tmp_path, monkeypatch, recording):
    # A session that keeps no folder decodes with outdir None: nothing is drawn or written.
    monkeypatch.chdir(tmp_path)
    with_files = decode_recording(FIXTURES / recording, tmp_path / "out", show_progress=False)
    without = decode_recording(FIXTURES / recording, None, show_progress=False)
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]
    assert json.loads(to_json(summary_record(without) | {"outputs": None})) == json.loads(
        to_json(summary_record(with_files) | {"outputs": None})
    )


@pytest.mark.parametrize(
    "fixture", ["tlm/tlm32cm_64bps", "tlm/tlm1.6m_8bps_inverted", "ppm/ppm_fade_90k"]
)
def test_the_annotated_copy_a_decode_writes_is_valid_sigmf(tmp_path, fixture):
    """The writer does not check its copy against the SigMF schema at every decode: this does,
    for each band's annotations."""
    from groundstation.io.recording import as_sigmf

    meta = FIXTURES / f"{fixture}.sigmf-meta"
    decode_recording(meta, tmp_path, show_progress=False)
    copy = tmp_path / meta.name
    annotated = json.loads(copy.read_text())
    assert annotated["annotations"]
    as_sigmf(annotated, copy)  # raises MetadataError naming what is not valid SigMF
