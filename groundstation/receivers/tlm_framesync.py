"""Telemetry frame synchronisation and de-duplication (ICD §4): soft bits to frames.

Correlation of the hard bits with the 24-bit sync word in both polarities; near-exact
matches anchor a 256-bit grid on which weaker matches are accepted. An inverted sync word
inverts every bit of its frame. Every frame is kept; it is ``parity_ok`` only if all 29 words
pass odd parity, its type is known, its spare words are zero, and its soft bits make an
undetected double error in some word improbable (< 10⁻³). Frames found twice (in the overlap
of two segments) are kept once, the better copy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from groundstation.receivers.tlm_bitsync import quality_db, snr_m2m4
from groundstation.results import DecodedFrame
from signals.formats.tlm import (
    FRAME_BITS,
    SYNC_BITS,
    SYNC_PATTERN,
)
from signals.formats.tlm_frames import TelemetryFrame, words_parity_ok

#: Sync detection: errors allowed for an anchor match and for a match on the grid.
SYNC_ANCHOR_ERRORS: Final = 2
SYNC_GRID_ERRORS: Final = 6
#: A frame that passes every parity check is still not ``parity_ok`` when its soft bits
#: make an undetected (two-error) word error more likely than this.
MAX_UNDETECTED_ERROR_PROB: Final = 1e-3
#: Frames whose soft bits look like noise (half-normal: 2.4 dB) are rejected.
MIN_FRAME_QUALITY_DB: Final = 3.5


@dataclass
class SegmentFrame:
    first_bit_sample: float  # absolute
    bit_index: int
    soft: np.ndarray  # 256 polarity-corrected soft bits
    inverted: bool
    sync_errors: int
    undetected_error_prob: float = 0.0
    bit_s: float = 0.0  # bit length estimated by the frame's segment (s)


def find_frames(
    soft: np.ndarray, *, final: bool
) -> tuple[list[tuple[int, bool, int]], list[tuple[int, bool]]]:
    """Frame starts in a soft-bit sequence.

    Returns ``(frames, truncated)``: frames as (bit index, inverted, sync errors) with all
    256 bits present; truncated as (bit index, inverted), only when ``final``.
    """
    nb = soft.size
    levels = np.where(soft > 0, 1.0, -1.0)
    if nb < SYNC_BITS:
        return [], []
    corr = np.correlate(levels, SYNC_PATTERN, mode="valid")  # length nb - 23
    errors = ((SYNC_BITS - np.abs(corr)) / 2).astype(int)
    anchors = np.flatnonzero(errors <= SYNC_ANCHOR_ERRORS)
    cand: dict[int, int] = {}
    for residue in np.unique(anchors % FRAME_BITS):
        grid = np.arange(residue, corr.size, FRAME_BITS)
        grid = grid[errors[grid] <= SYNC_GRID_ERRORS]
        cand.update(zip(grid.tolist(), errors[grid].tolist(), strict=True))
    # Candidates whose bits look like noise (a sync look-alike in the carrier) go first.
    # Then a greedy choice, frames never overlapping: first the grids with the most anchors
    # (real frames come back to back; a look-alike in the data stands alone), then the
    # strongest soft sync correlation.
    cand = {
        p: e
        for p, e in cand.items()
        if quality_db(soft[p : p + FRAME_BITS]) >= MIN_FRAME_QUALITY_DB
    }
    support = Counter(p % FRAME_BITS for p, e in cand.items() if e <= SYNC_ANCHOR_ERRORS)
    soft_corr = np.abs(np.correlate(soft, SYNC_PATTERN, mode="valid"))
    taken: list[int] = []
    for p in sorted(cand, key=lambda q: (-support[q % FRAME_BITS], -soft_corr[q], q)):
        if all(abs(p - q) >= FRAME_BITS for q in taken):
            taken.append(p)
    frames: list[tuple[int, bool, int]] = []
    truncated: list[tuple[int, bool]] = []
    for p in sorted(taken):
        inverted = bool(corr[p] < 0)
        if p + FRAME_BITS <= nb:
            frames.append((p, inverted, cand[p]))
        elif final:
            truncated.append((p, inverted))
    if final and frames:
        # a frame whose sync word itself is cut off: next slot on the grid after the last
        last, inverted, _ = frames[-1]
        p = last + FRAME_BITS
        if p < nb and p not in {q for q, _ in truncated} and p >= corr.size:
            tail = soft[p:]
            want = SYNC_PATTERN[: tail.size] * (-1.0 if inverted else 1.0)
            agree = float(np.mean(np.sign(tail) == want))
            if tail.size >= 4 and agree >= 0.75 and quality_db(tail) >= MIN_FRAME_QUALITY_DB:
                truncated.append((p, inverted))
    return frames, truncated


def frame_badness(f: SegmentFrame) -> tuple[int, float]:
    """Parity failures, then undetected-error probability: of two copies of one frame (seen
    by two overlapping segments) the one with the smaller badness is kept."""
    words = np.packbits(f.soft > 0)[SYNC_BITS // 8 :]
    return int(np.sum(~words_parity_ok(words))), f.undetected_error_prob


def to_decoded(f: SegmentFrame, fs_hz: float, start_utc: datetime, bit_s: float) -> DecodedFrame:
    bits = (f.soft > 0).astype(np.uint8)
    frame = TelemetryFrame.unpack(np.packbits(bits).tobytes())
    start = int(np.ceil(f.first_bit_sample - 1e-6))
    end = f.first_bit_sample + FRAME_BITS * bit_s * fs_hz
    word_parity = frame.word_parity  # each word's check, made once
    return DecodedFrame(
        sample_start=start,
        time_utc=start_utc + timedelta(seconds=f.first_bit_sample / fs_hz),
        frame_counter=frame.frame_counter,
        frame_type=int(frame.frame_type),
        parity_ok=(
            all(word_parity)
            and frame.spare_ok
            and f.undetected_error_prob <= MAX_UNDETECTED_ERROR_PROB
        ),
        words=frame.words,
        channels={k: (v if isinstance(v, float) else int(v)) for k, v in frame.channels().items()},
        inverted=f.inverted,
        quality_db=quality_db(f.soft),
        first_bit_sample=float(f.first_bit_sample),
        sample_count=int(np.ceil(end - 1e-6)) - start,
        word_parity=word_parity,
        sync_errors=f.sync_errors,
        undetected_error_prob=f.undetected_error_prob,
        ebn0_db=snr_m2m4(f.soft),
    )
