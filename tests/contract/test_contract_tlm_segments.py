"""A frame seen by two overlapping segments, decoded differently by each: the copy that
passes odd parity (ICD §4) must win, whichever segment holds it.

The receiver cuts a long recording into overlapping segments and keeps one copy of a frame
found in two. Here the two segments decode the same frame differently: the receiver reads
each sample once (it is push-based, and both segments are cut from the same bins), so one
segment's decision is altered where the segment decoder hands it back: that segment's copy
has one data bit flipped (its word then has an even number of ones), as if noise had flipped
it there only. Everything else is identical.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from contract.icd_tlm import frame_bytes, pm_waveform

from groundstation.receivers import tlm
from groundstation.receivers.tlm_decode import decode_tlm_samples

START_UTC = datetime(1962, 11, 5, 9, 0, 0, tzinfo=UTC)
FS_HZ = 8000.0
RATE_BPS = 128  # a frame lasts 2 s
CARRIER_S = 4.2
DURATION_S = 121.9995  # two segments of 64 s, the second starting 58.0 s in
N_FRAMES = 57
#: The frame that starts 58.2 s in: inside the overlap of the first two segments (at least
#: 64 s long, overlapping by one frame and 4 s, a frame kept within half a frame of a
#: segment's start), so two segments decode it whole.
TARGET = 27
FLIPPED_BIT = 10 * 8 + 2  # a data bit of word 10 (mag_z_nt in a science frame)


def _waveform() -> tuple[np.ndarray, list[bytes]]:
    frames = [
        frame_bytes(k, k % 2, {"battery_v": 40 + k, "mag_z_nt": 8192 + 37 * k})
        for k in range(N_FRAMES)
    ]
    clean = pm_waveform(
        frames,
        rng=np.random.default_rng(1),
        fs_hz=FS_HZ,
        bit_rate_bps=RATE_BPS,
        carrier_s=CARRIER_S,
        duration_s=DURATION_S,
        ebn0_db=None,
        carrier_offset_hz=125.0,
    )
    rng = np.random.default_rng(2)
    noise = 0.05 * (rng.standard_normal(clean.size) + 1j * rng.standard_normal(clean.size))
    return clean + noise.astype(np.complex64), frames


@pytest.mark.parametrize("spoiled_segment", [0, 1], ids=["first-spoiled", "second-spoiled"])
def test_overlapping_segments_keep_the_copy_with_odd_parity(
    spoiled_segment: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean, frames = _waveform()
    first_bit = round((CARRIER_S + 2.0 * TARGET) * FS_HZ)
    frame_end = first_bit + round(2.0 * FS_HZ)
    covering: list[int] = []  # segments that hold the whole target frame
    decode_segment = tlm.TelemetryReceiver._decode_segment

    def segment_with_a_flipped_bit(self, a: int, b: int, **kw):
        result = decode_segment(self, a, b, **kw)
        if a <= first_bit and b >= frame_end:
            covering.append(a)
            if len(covering) - 1 == spoiled_segment:
                (copy,) = [f for f in result.frames if abs(f.first_bit_sample - first_bit) < 8]
                copy.soft = copy.soft.copy()
                copy.soft[FLIPPED_BIT] = -copy.soft[FLIPPED_BIT]
        return result

    monkeypatch.setattr(tlm.TelemetryReceiver, "_decode_segment", segment_with_a_flipped_bit)
    result = decode_tlm_samples(clean, FS_HZ, bit_rate_bps=RATE_BPS, start_utc=START_UTC)
    assert len(covering) >= 2, "the test needs the frame whole in two segments"
    # one copy of every frame, the target's the one sent, with its parity right
    assert [bytes(f.words) for f in result.frames] == frames
    assert all(f.parity_ok for f in result.frames)
    target = result.frames[TARGET]
    assert target.frame_type == 1
    assert target.channels["mag_z_nt"] == pytest.approx(37 * TARGET * 0.005)
    assert all(target.word_parity)
