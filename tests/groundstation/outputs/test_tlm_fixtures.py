"""The telemetry fixtures (fixtures/tlm/README.md) decode to their truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundstation.io.recording import open_recording
from groundstation.receivers.tlm_decode import decode_tlm_recording

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "tlm"
NAMES = ("tlm32cm_64bps", "tlm1.6m_8bps_inverted", "tlm32cm_128bps_9k6_cut")


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_to_truth(name: str) -> None:
    recording = open_recording(FIXTURES / f"{name}.sigmf-meta")
    truth = json.loads((FIXTURES / f"{name}.truth.json").read_text())
    assert recording.n_samples == truth["n_samples"]
    assert recording.bit_rate_bps == truth["bit_rate_bps"]
    result = decode_tlm_recording(recording)
    sent = [f for f in truth["frames"] if f["complete"]]
    cut = [f for f in truth["frames"] if not f["complete"]]
    # at Eb/N0 ≥ 9 dB a 256-bit frame is lost with probability < 1 %: all must be exact
    assert [list(f.words) for f in result.frames] == [f["words"] for f in sent]
    assert all(f.parity_ok for f in result.frames)
    assert all(f.inverted == truth["invert"] for f in result.frames)
    for f, t in zip(result.frames, sent, strict=True):
        assert abs(f.first_bit_sample - t["first_bit_sample"]) < 0.5
        assert f.channels == pytest.approx(t["channels"])
    assert len(result.truncated_frames) == len(cut)
    for got, t in zip(result.truncated_frames, cut, strict=True):
        assert abs(got.sample_start - t["sample_start"]) <= 1
    assert result.carrier_offset_hz == pytest.approx(truth["carrier_offset_hz"], abs=0.1)
    assert result.carrier_rate_hz_per_s == pytest.approx(truth["carrier_rate_hz_per_s"], abs=0.02)
    assert result.clock_offset == pytest.approx(truth["clock_offset"], abs=5e-6)
    assert result.ebn0_db == pytest.approx(truth["ebn0_db"], abs=1.5)
