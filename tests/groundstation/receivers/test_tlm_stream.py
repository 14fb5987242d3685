"""The telemetry receiver is push-based: chunks of any size, the same frames, handed out early.

A file is decoded by feeding it chunk by chunk (groundstation.receivers.stream), so the same
samples split anywhere (single samples at a segment boundary, one huge chunk) must give the
same events and the same aggregate, byte for byte. A frame is handed out once decided, long
before the input ends; a recording whose file shrinks while it is read keeps the frames
decided from what was read; NaN/Inf samples are erasures, decoded as zeros.
"""

from __future__ import annotations

import functools
import itertools
import os
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from groundstation.io.recording import open_recording
from groundstation.io.writer import write_recording
from groundstation.receivers.tlm import EARLY_STEP_S, TelemetryReceiver
from groundstation.receivers.tlm_carrier import ACQUISITION_WINDOW_S
from groundstation.receivers.tlm_decode import decode_tlm_recording, decode_tlm_samples
from groundstation.receivers.tlm_segments import segment_geometry
from groundstation.results import DecodedFrame, TruncatedFrame
from signals.formats.tlm import CHANNELS, FRAME_BITS, FrameType, from_raw
from signals.formats.tlm_frames import frame_from_channels
from signals.modulators.tlm import TelemetryTransmission

START = datetime(1962, 11, 7, 9, 30, tzinfo=UTC)
FS_HZ = 8000.0
RATE = 128
#: Segments of 64 s starting every 58 s: 150 s hold two regular segments and the last one.
LENGTH, STEP = segment_geometry(FS_HZ, RATE)


@functools.cache
def _signal(ebn0_db: float = 9.0) -> np.ndarray:
    rng = np.random.default_rng(42)
    frames = []
    for k in range(80):
        ft = FrameType(k % 2)
        values = {c.name: from_raw(c, int(rng.integers(0, c.raw_max + 1))) for c in CHANNELS[ft]}
        frames.append(frame_from_channels(k % 128, ft, values))
    tx = TelemetryTransmission(
        frames, fs_hz=FS_HZ, bit_rate_bps=RATE, rng=rng, carrier_s=4.0, duration_s=150.3,
        ebn0_db=ebn0_db, carrier_offset_hz=-420.0, carrier_rate_hz_per_s=0.5,
        phase_noise_rad_per_sqrt_s=0.05, clock_offset=30e-6,
    )  # fmt: skip
    return tx.samples()


def _feed(x: np.ndarray, cuts: list[int]) -> tuple[list, TelemetryReceiver]:
    receiver = TelemetryReceiver(FS_HZ, RATE, start_utc=START)
    events = []
    edges = [0, *sorted(set(cuts)), x.size]
    for lo, hi in itertools.pairwise(edges):
        events += receiver.feed(x[lo:hi])
    events += receiver.end()
    return events, receiver


@functools.cache
def _reference() -> tuple[list, str]:
    events, receiver = _feed(_signal(), [])
    return events, repr(receiver.result())


def test_reference_decodes_every_frame_and_the_cut_one() -> None:
    events, _ = _reference()
    frames = [e for e in events if isinstance(e, DecodedFrame)]
    assert len(frames) == 73 and all(f.parity_ok for f in frames)
    assert [f.frame_counter for f in frames] == list(range(73))
    assert isinstance(events[-1], TruncatedFrame)  # 150.3 s end inside frame 73


# single samples around both regular segments' decision points and the last segment's start
_BOUNDARY_SINGLES = [
    c + d for c in (LENGTH, STEP + LENGTH, round(150.3 * FS_HZ) - LENGTH) for d in range(-2, 3)
]


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True)
@given(cuts=st.lists(st.integers(0, round(150.3 * FS_HZ)), max_size=40))
@example(cuts=_BOUNDARY_SINGLES)
@example(cuts=[1, 2, 3, 4, 5])
def test_any_chunking_gives_identical_events_and_result(cuts: list[int]) -> None:
    x = _signal()
    events, receiver = _feed(x, cuts)
    ref_events, ref_result = _reference()
    assert events == ref_events
    assert repr(receiver.result()) == ref_result
    assert receiver.samples_fed == x.size


def test_frames_are_handed_out_as_soon_as_decided() -> None:
    """Fed one second at a time, a frame comes out at most a segment and a step (plus a
    frame and the chunk) after its first bit: never held back to the end."""
    x = _signal()
    receiver = TelemetryReceiver(FS_HZ, RATE, start_utc=START)
    second = int(FS_HZ)
    handed_at = []
    for lo in range(0, x.size, second):
        for event in receiver.feed(x[lo : lo + second]):
            handed_at.append((event, receiver.samples_fed))
    assert len(handed_at) > 20  # most frames before end()
    frame_samples = FRAME_BITS * FS_HZ / RATE
    for event, fed in handed_at:
        assert isinstance(event, DecodedFrame)
        assert fed - event.sample_start <= LENGTH + STEP + frame_samples + second
    tail = receiver.end()
    ref_events, _ = _reference()
    assert [e for e, _ in handed_at] + tail == ref_events


def test_a_parity_good_frame_is_out_one_step_after_its_last_sample() -> None:
    """Fed 20 ms at a time (as ``transmit`` sends), every frame after the acquisition comes
    out at the first early step (0.25 s) after its last sample, a bit of margin included;
    those that ended during the first 16 s come out at the acquisition. None twice."""
    x = _signal()
    receiver = TelemetryReceiver(FS_HZ, RATE, start_utc=START)
    chunk = round(0.02 * FS_HZ)
    handed_at = []
    for lo in range(0, x.size, chunk):
        for event in receiver.feed(x[lo : lo + chunk]):
            handed_at.append((event, receiver.samples_fed))
    acquired = ACQUISITION_WINDOW_S * FS_HZ
    step = EARLY_STEP_S * FS_HZ
    bit = FS_HZ / RATE
    frames = [(e, fed) for e, fed in handed_at if isinstance(e, DecodedFrame)]
    assert len(frames) == 73  # every whole frame before the end (the cut one is the end's)
    for event, fed in frames:
        assert event.parity_ok
        last = event.sample_start + event.sample_count
        assert fed - max(last, acquired) <= step + bit + chunk, (event.frame_counter, fed - last)
    counters = [e.frame_counter for e, _ in frames]
    assert counters == sorted(set(counters))
    tail = receiver.end()
    assert [e for e, _ in handed_at] + tail == _reference()[0]


def test_without_early_looks_the_segments_decide_the_same_frames() -> None:
    """A file's receiver (``early=False``) looks at nothing before a segment is decided:
    no frame comes out within the first segment, and the frames are the same bits at the
    same positions (to a hundredth of a bit) as those handed out early."""
    x = _signal()
    early, _ = _reference()
    receiver = TelemetryReceiver(FS_HZ, RATE, start_utc=START, early=False)
    chunk = round(0.02 * FS_HZ)
    handed_at = []
    for lo in range(0, x.size, chunk):
        handed_at += [(e, receiver.samples_fed) for e in receiver.feed(x[lo : lo + chunk])]
    late = [e for e, _ in handed_at] + receiver.end()
    assert min(fed for _, fed in handed_at) > LENGTH  # the first segment decided first
    early, late = ([e for e in events if isinstance(e, DecodedFrame)] for events in (early, late))
    assert [f.words for f in late] == [f.words for f in early]
    starts = np.array([[f.first_bit_sample for f in events] for events in (early, late)])
    assert np.abs(np.diff(starts, axis=0)).max() < 0.01 * FS_HZ / RATE
    assert len(late) >= 73


def test_a_look_after_a_segment_takes_its_line_and_finds_the_same_bits() -> None:
    """An early look after a segment takes the segment's carrier line, noise density and
    subcarrier offset as known, and may make bits from the frame due only: the frames it
    finds are those of a full decode of the same stretch, bit for bit, at the same
    positions (to a hundredth of a bit)."""
    x = _signal()
    receiver = TelemetryReceiver(FS_HZ, RATE, start_utc=START)
    t = LENGTH + round(12 * FS_HZ)
    receiver.feed(x[:t])
    known = receiver._known
    assert known is not None  # the first segment is decoded
    a = t - round(12 * FS_HZ)
    full = receiver._decode_segment(a, t, final=False)
    quick = receiver._decode_segment(a, t, final=False, known=known)
    frame_n = FRAME_BITS * FS_HZ / RATE
    short = receiver._decode_segment(a, t, final=False, known=known, data_from=int(t - 2 * frame_n))
    bit = FS_HZ / RATE
    assert len(full.frames) >= 5 and len(short.frames) >= 1
    assert abs(quick.delta_hz - known.delta_hz) < 1e-12
    assert abs(full.delta_hz - known.delta_hz) < 0.01  # the segment's δ, 12 s: close
    by_start = {round(f.first_bit_sample / bit): f for f in full.frames}
    for look in (quick, short):
        for f in look.frames:
            twin = by_start[round(f.first_bit_sample / bit)]
            assert abs(f.first_bit_sample - twin.first_bit_sample) < 0.01 * bit
            assert np.array_equal(f.soft > 0, twin.soft > 0)
            assert f.inverted == twin.inverted
    assert len(quick.frames) == len(full.frames)


def test_a_frame_that_fails_its_parity_is_held_for_the_segments_and_comes_out_once() -> None:
    """At 6 dB about half the frames fail their parity in the latest stretch: those are held
    until the segments decide them (no correction follows a frame), each frame comes out
    once, and the frames are those of the same samples fed whole."""
    x = _signal(ebn0_db=6.0)
    receiver = TelemetryReceiver(FS_HZ, RATE, start_utc=START)
    chunk = round(0.02 * FS_HZ)
    handed = []
    for lo in range(0, x.size, chunk):
        handed += [(e, receiver.samples_fed) for e in receiver.feed(x[lo : lo + chunk])]
    handed += [(e, receiver.samples_fed) for e in receiver.end()]
    frames = [(e, fed) for e, fed in handed if isinstance(e, DecodedFrame)]
    starts = sorted(e.first_bit_sample for e, _ in frames)
    assert np.all(np.diff(starts) > FRAME_BITS * FS_HZ / RATE / 2)  # none twice
    failed = [fed - (e.sample_start + e.sample_count) for e, fed in frames if not e.parity_ok]
    assert len(failed) >= 10
    assert min(failed) > FS_HZ  # held: more than a second after their last sample
    late = ACQUISITION_WINDOW_S * FS_HZ
    passed = [fed - (e.sample_start + e.sample_count) for e, fed in frames
              if e.parity_ok and e.sample_start + e.sample_count > late]  # fmt: skip
    bound = EARLY_STEP_S * FS_HZ + FS_HZ / RATE + chunk
    # most at once (27 of 30); the others failed in their first stretch, passed in a later one
    assert len(passed) >= 20 and sum(d <= bound for d in passed) >= 0.8 * len(passed)
    whole = TelemetryReceiver(FS_HZ, RATE, start_utc=START)
    assert [e for e, _ in handed] == whole.feed(x) + whole.end()
    assert len(frames) == len(_reference()[0]) - 1  # every frame of the 9 dB run


def test_nan_samples_are_erasures() -> None:
    """1 % NaN/Inf samples decode exactly as zeros in their place, counted in a warning."""
    x = _signal()[: 40 * round(FS_HZ)].copy()
    rng = np.random.default_rng(3)
    bad = rng.choice(x.size, size=x.size // 100, replace=False)
    zeros = x.copy()
    zeros[bad] = 0
    x[bad[::2]] = np.nan
    x[bad[1::2]] = complex(np.inf, 1.0)
    with_nan = decode_tlm_samples(x, FS_HZ, bit_rate_bps=RATE, start_utc=START)
    with_zeros = decode_tlm_samples(zeros, FS_HZ, bit_rate_bps=RATE, start_utc=START)
    assert with_nan.frames == with_zeros.frames
    assert len(with_nan.frames) >= 17 and all(f.parity_ok for f in with_nan.frames)
    assert f"{bad.size} non-finite samples were replaced by 0" in with_nan.warnings


def test_a_recording_that_shrinks_keeps_the_frames_decided(tmp_path) -> None:
    x = _signal()
    meta = write_recording(
        tmp_path / "rec", [x], fs_hz=FS_HZ, band="32cm-tlm", start_utc=START,
        center_frequency_hz=922.76e6, bit_rate_bps=RATE,
    )  # fmt: skip
    recording = open_recording(meta)
    read = [0]

    def shrink_after_half(n: int) -> None:
        read[0] += n
        if read[0] >= x.size // 2 and os.path.getsize(recording.data_path) == x.size * 8:
            os.truncate(recording.data_path, (x.size * 2 // 3) * 8)  # cf32: 8 bytes a sample

    result = decode_tlm_recording(recording, progress=shrink_after_half)
    assert any("shrank" in w for w in result.warnings)
    fed = result.n_samples
    assert x.size // 2 <= fed < x.size * 2 // 3
    expected = decode_tlm_samples(x[:fed], FS_HZ, bit_rate_bps=RATE, start_utc=START)
    assert result.frames == expected.frames
    assert len(result.frames) >= 30
