"""Recording to output folder: PNGs, masks, summary, annotated metadata, errors; and the
``synth ppm`` options."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from groundstation.cli.options import add_synth_ppm_arguments, parse_line_list
from groundstation.cli.synth.ppm import run_synth
from groundstation.errors import DataFileError, NoSignalError
from groundstation.io.recording import open_recording
from groundstation.io.writer import write_recording
from groundstation.outputs.ppm import decode_ppm_to_dir, grey_to_8bit, image_names
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap
from signals.sources.images import make_image

START = datetime(1962, 11, 5, 9, 0, tzinfo=UTC)


def _write(tmp_path: Path, items, channel=None, name="rec", fs_hz=180e3, cut=None) -> Path:
    sig = PpmSignal(items, fs_hz=fs_hz, channel=channel, lead_s=0.03, tail_s=0.03)
    x = sig.samples(np.random.default_rng(0))
    if cut is not None:
        x = x[:cut]
    return write_recording(
        tmp_path / name,
        [x],
        fs_hz=fs_hz,
        band="5cm-ppm",
        start_utc=START,
        center_frequency_hz=5.86e9,
    )


def test_8_bit_values_and_names():
    assert grey_to_8bit(np.arange(64)).tolist() == [round(g * 255 / 63) for g in range(64)]

    class Img:
        def __init__(self, image_id):
            self.image_id = image_id

    names = image_names([Img(7), Img(3), Img(7), Img(7)])
    assert names == ["image_7", "image_3", "image_7_2", "image_7_3"]


def test_decode_to_dir_writes_images_masks_summary_and_annotations(tmp_path):
    image = make_image("mars", 24, 20, np.random.default_rng(1))
    other = make_image("ramp", 6, 64, np.random.default_rng(1))
    items = [
        ImageTransmission(image, 7, faded_lines=(4, 5)),
        SilentGap(30),
        ImageTransmission(other, 300),
        SilentGap(30),
        ImageTransmission(image, 7),
    ]
    meta = _write(tmp_path, items, PpmChannel(esn0_db=16, carrier_offset_hz=2500))
    out = tmp_path / "out"
    result = decode_ppm_to_dir(open_recording(meta), out, show_progress=False)

    assert [i.image_id for i in result.images] == [7, 300, 7]
    assert result.image_names == ("image_7", "image_300", "image_7_2")
    first = result.images[0]
    assert (first.lines, first.pixels, first.mode) == (24, 20, 0)
    assert first.lines_received == 22 and first.lines_missing == [4, 5]
    assert 13 < first.snr_db < 18
    assert result.images[2].lines_missing == []
    assert result.decode.nonfinite_samples == 0 and result.warnings == []
    assert result.lines_received == 22 + 6 + 24

    png = np.asarray(Image.open(out / "images" / "image_7.png"))
    mask = np.asarray(Image.open(out / "images" / "image_7_mask.png"))
    expected = grey_to_8bit(image)
    expected[[4, 5]] = 0
    assert np.array_equal(png, expected)
    assert np.array_equal(mask[:, 0] == 255, ~np.isin(np.arange(24), [4, 5]))
    assert np.array_equal(
        np.asarray(Image.open(out / "images" / "image_7_2.png")), grey_to_8bit(image)
    )
    assert (out / "images" / "image_300.png").exists()
    assert json.loads((out / "summary.json").read_text())["images"][1]["id"] == 300

    annotated = json.loads((out / "rec.sigmf-meta").read_text())
    labels = [a["core:label"] for a in annotated["annotations"]]
    assert labels.count("ppm-header 7") == 2 and labels.count("ppm-header 300") == 1
    assert labels.count("ppm-line 0") == 3  # in each transmission
    in_7 = [a["core:label"] for a in annotated["annotations"] if a.get("mars1:image_id") == 7]
    assert in_7.count("ppm-line 4") == 1 and in_7.count("ppm-line 3") == 2
    line = next(a for a in annotated["annotations"] if a["core:label"] == "ppm-line 0")
    assert line["mars1:snr_db"] > 10 and line["core:sample_count"] > 0
    starts = [a["core:sample_start"] for a in annotated["annotations"]]
    assert starts == sorted(starts)


def test_truncated_recording_warns_in_the_summary(tmp_path, caplog):
    image = make_image("random", 20, 16, np.random.default_rng(2))
    sig = PpmSignal([ImageTransmission(image, 1)], fs_hz=180e3, lead_s=0.03)
    cut = int(sig.period_start_samples(np.array([18 + 10 * 21 + 5]))[0])
    meta = _write(tmp_path, [ImageTransmission(image, 1)], PpmChannel(esn0_db=16), cut=cut)
    result = decode_ppm_to_dir(open_recording(meta), tmp_path / "out", show_progress=False)
    assert result.images[0].lines_missing == list(range(10, 20))
    assert result.images[0].truncated
    assert any("ends inside image 1" in w for w in result.warnings)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["images"][0]["truncated"] is True
    assert "ends inside image 1" in caplog.text


def test_noise_only_raises_and_writes_nothing(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(300_000) + 1j * rng.standard_normal(300_000)).astype(np.complex64)
    meta = write_recording(
        tmp_path / "noise",
        [x],
        fs_hz=180e3,
        band="5cm-ppm",
        start_utc=START,
        center_frequency_hz=5.86e9,
    )
    out = tmp_path / "out"
    with pytest.raises(NoSignalError, match=r"no PPM image found in noise\.sigmf-meta"):
        decode_ppm_to_dir(open_recording(meta), out, show_progress=False)
    assert not out.exists() or not any(out.rglob("*"))


def test_empty_data_file_is_a_clear_error(tmp_path):
    meta = write_recording(
        tmp_path / "empty",
        [],
        fs_hz=180e3,
        band="5cm-ppm",
        start_utc=START,
        center_frequency_hz=5.86e9,
    )
    try:
        recording = open_recording(meta)
    except DataFileError as error:
        assert "\n" not in str(error)
        return
    with pytest.raises(NoSignalError):
        decode_ppm_to_dir(recording, tmp_path / "out", show_progress=False)


def test_line_list_parsing():
    assert parse_line_list("10-12,40") == (10, 11, 12, 40)
    assert parse_line_list("") == ()
    with pytest.raises(argparse.ArgumentTypeError, match="bad line list"):
        parse_line_list("12-10")


def test_synth_then_decode(tmp_path):
    parser = argparse.ArgumentParser()
    add_synth_ppm_arguments(parser)
    args = parser.parse_args(
        [
            "--source",
            "checkerboard",
            "--lines",
            "16",
            "--pixels",
            "16",
            "--image-id",
            "9",
            "--repeat",
            "2",
            "--fade-lines",
            "3,7-8",
            "--clock-ppm",
            "-100",
            "--doppler-ppm",
            "60",
            "--carrier-offset-hz",
            "-30000",
            "--carrier-rate-hz-per-s",
            "5",
            "--drift-ppm-per-hour",
            "1",
            "--fs-hz",
            "100000",
            "--seed",
            "4",
            "--output",
            str(tmp_path / "syn"),
        ]
    )
    meta = run_synth(args)
    truth = json.loads((tmp_path / "syn.truth.json").read_text())
    assert truth["seed"] == 4 and len(truth["images"]) == 2
    assert truth["images"][0]["lines_missing"] == [3, 7, 8]
    recording = open_recording(meta)
    assert recording.band == "5cm-ppm" and recording.fs_hz == 100e3
    result = decode_ppm_to_dir(recording, tmp_path / "out", show_progress=False)
    for image, sent in zip(result.images, truth["images"], strict=True):
        assert image.image_id == 9 and image.lines_missing == sent["lines_missing"]
    png = np.asarray(Image.open(tmp_path / "out" / "images" / "image_9_2.png"))
    grey = np.array(truth["images"][1]["grey"])
    rows = [n for n in range(16) if n not in (3, 7, 8)]
    assert np.array_equal(png[rows], grey_to_8bit(grey)[rows])


@pytest.mark.parametrize("datatype", ["ci16_le", "cf64_le"])
def test_other_datatypes_decode(tmp_path, datatype):
    # ci16 full scale is 1.0: keep pulse and noise well inside it (A = 0.25, σ ≈ 0.04).
    image = make_image("random", 10, 12, np.random.default_rng(3))
    channel = PpmChannel(esn0_db=16, amplitude=0.25, carrier_offset_hz=-7000)
    sig = PpmSignal(
        [ImageTransmission(image, 55)], fs_hz=150e3, channel=channel, lead_s=0.02, tail_s=0.02
    )
    meta = write_recording(
        tmp_path / "other",
        sig.chunks(np.random.default_rng(1)),
        fs_hz=150e3,
        band="5cm-ppm",
        start_utc=START,
        center_frequency_hz=5.86e9,
        datatype=datatype,
    )
    result = decode_ppm_to_dir(open_recording(meta), tmp_path / "out", show_progress=False)
    assert result.images[0].image_id == 55 and result.images[0].lines_missing == []
    png = np.asarray(Image.open(tmp_path / "out" / "images" / "image_55.png"))
    assert np.array_equal(png, grey_to_8bit(image))
