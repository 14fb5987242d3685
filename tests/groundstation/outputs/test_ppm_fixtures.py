"""The PPM fixtures (fixtures/ppm/README.md) decode to their truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from groundstation.io.recording import open_recording
from groundstation.outputs.ppm import decode_ppm_to_dir

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "ppm"
NAMES = sorted(p.name.removesuffix(".sigmf-meta") for p in FIXTURES.glob("*.sigmf-meta"))


def test_the_fixtures_are_there():
    assert NAMES == ["ppm_fade_90k", "ppm_limits", "ppm_survey_fractional"]


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_to_its_truth(name, tmp_path):
    truth = json.loads((FIXTURES / f"{name}.truth.json").read_text())
    recording = open_recording(FIXTURES / name)
    assert recording.fs_hz == truth["fs_hz"] and recording.n_samples == truth["n_samples"]
    decode_ppm_to_dir(recording, tmp_path, show_progress=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["images"]) == len(truth["images"])
    for entry, sent in zip(summary["images"], truth["images"], strict=True):
        assert (entry["id"], entry["lines"], entry["pixels"], entry["mode"]) == (
            sent["image_id"],
            sent["lines"],
            sent["pixels"],
            sent["mode"],
        )
        assert entry["lines_missing"] == sent["lines_missing"]
        assert abs(entry["sample_start"] - sent["sample_start"]) <= 1
        received = [n for n in sent["sent_lines"] if n not in sent["faded_lines"]]
        assert entry["lines_received"] == len(received)
        png = np.asarray(Image.open(tmp_path / entry["png"]))
        grey = np.array(sent["grey"])
        # ICD §3: 8-bit value = round(g·255/63) (g·255/63 is never half-way between integers)
        expected = np.floor(grey[received] * 255 / 63 + 0.5).astype(np.uint8)
        assert png.dtype == np.uint8
        assert np.array_equal(png[received], expected)
        others = np.setdiff1d(np.arange(sent["lines"]), received)
        assert np.all(png[others] == 0)
