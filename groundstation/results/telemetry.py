"""Telemetry records (ICD §4): one received frame, a frame the recording cuts off, and what
the telemetry receiver found in a recording.

:class:`DecodedFrame` and :class:`TruncatedFrame` stand on their own, so the push-based
receiver hands them out one at a time; :class:`TelemetryDecodeResult` gathers a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DecodedFrame:
    """One received telemetry frame.

    Attributes
    ----------
    sample_start : int
        First sample at or after the start of the frame's first bit.
    time_utc : datetime
        UTC of the frame's first bit at the receiver.
    frame_counter : int
        Word 3 (mod 128).
    frame_type : int
        Word 4 (0 engineering, 1 science; other values after bit errors).
    parity_ok : bool
        True only if all 29 words pass odd parity, the type is known, the spare words
        are zero and ``undetected_error_prob`` ≤ 10⁻³ (a single parity bit per word
        cannot see two errors; the soft bits tell when two are likely).
    words : tuple of int
        The 32 8-bit words, parity bits included, after polarity correction.
    channels : dict
        Engineering value of each channel of the frame type (ICD §4 names).
    inverted : bool
        The sync word arrived inverted (every bit was inverted back). Bit starts fix the
        subcarrier's sign (ICD §4: sin starts positive at each bit), so this is the
        transmitter's inversion wherever the bit-start half cycle is resolved (the
        higher rates); at a few bit/s over few frames it is the ambiguity of BPSK.
    quality_db : float
        Soft quality: 10·log10(mean(|b|)² / var(|b|)) of the frame's soft bits (dB);
        about 2.4 dB for pure noise, ≈ Eb/N0 + 3 dB at high SNR.
    first_bit_sample : float
        Fractional sample position of the first bit's start.
    sample_count : int
        Samples spanned by the frame.
    word_parity : tuple of bool
        Parity result of each data word 3-31.
    sync_errors : int
        Bits of the (polarity-corrected) sync word received wrong.
    ebn0_db : float
        Eb/N0 estimated from this frame's 256 soft bits (M2M4 moments, dB; coarse).
    undetected_error_prob : float
        Probability, from the soft bits, that some word holds an even number of bit
        errors (which parity cannot see).
    """

    sample_start: int
    time_utc: datetime
    frame_counter: int
    frame_type: int
    parity_ok: bool
    words: tuple[int, ...]
    channels: dict[str, float | int]
    inverted: bool
    quality_db: float
    first_bit_sample: float = 0.0
    sample_count: int = 0
    word_parity: tuple[bool, ...] = ()
    sync_errors: int = 0
    undetected_error_prob: float = 0.0
    ebn0_db: float = math.nan

    def __post_init__(self) -> None:
        # parity_ok is a bool everywhere it travels (CSV, JSONL, annotations, the session).
        object.__setattr__(self, "parity_ok", bool(self.parity_ok))
        object.__setattr__(self, "inverted", bool(self.inverted))


@dataclass(frozen=True)
class TruncatedFrame:
    """A frame the recording cuts off (reported, not decoded).

    Attributes
    ----------
    sample_start : int
        First sample of the frame's first bit.
    bits_received : int
        Whole bits received before the recording ends.
    inverted : bool
        Polarity of its sync word (or of the frames before it).
    """

    sample_start: int
    bits_received: int
    inverted: bool


@dataclass
class TelemetryDecodeResult:
    """What the telemetry receiver found in one recording.

    Attributes
    ----------
    frames : list of DecodedFrame
        Every frame found, in time order, parity failures included.
    cn0_dbhz : float
        Estimated C/N0 of the whole signal (dB-Hz).
    ebn0_db : float
        Estimated Eb/N0 from the frames' soft bits (dB); NaN without frames.
    carrier_offset_hz : float
        Residual carrier offset at the first sample (Hz, + above the tuned frequency).
    carrier_rate_hz_per_s : float
        Rate of the residual offset (Hz/s).
    truncated_frames : list of TruncatedFrame
        Frames cut off by the end of the recording.
    warnings : list of str
        One-line messages for the user.
    bit_rate_bps : float
        Bit rate decoded (bit/s).
    fs_hz : float
        Sample rate (Hz).
    n_samples : int
        Samples processed.
    clock_offset : float
        Estimated on-board clock error ε (intervals × (1 + ε)), dimensionless.
    message : str
        One line describing the outcome.
    """

    frames: list[DecodedFrame]
    cn0_dbhz: float
    ebn0_db: float
    carrier_offset_hz: float
    carrier_rate_hz_per_s: float
    truncated_frames: list[TruncatedFrame] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bit_rate_bps: float = 0.0
    fs_hz: float = 0.0
    n_samples: int = 0
    clock_offset: float = 0.0
    message: str = ""

    @property
    def parity_failures(self) -> int:
        """Number of frames that are not ``parity_ok``."""
        return sum(not f.parity_ok for f in self.frames)
