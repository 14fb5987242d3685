"""The 5 cm pulse-position image format (ICD §3), defined once for both ends of the link.

Everything the modulator (:mod:`signals.modulators.ppm`) and the demodulator
(:mod:`groundstation.receivers.ppm`) must agree on lives here: the chip and period lengths,
the slot of each grey level, the two marker patterns, the header layout and its check, and
the order of periods in a transmission.

A transmission of one image is a run of whole periods on one continuous grid::

    frame marker, 8 header periods, frame marker, 8 header periods,   (18 periods)
    then for each line sent: line marker, line hi, line lo, g=0, g=63, pixels...

Every period holds either the pulses of a marker (4 pulses) or one data pulse.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np

from signals.errors import SignalsError

#: Chip length τ (s) and its rate (chips per second).
CHIP_RATE_HZ: Final = 45_000.0
CHIP_S: Final = 1.0 / CHIP_RATE_HZ
#: Chips in one pixel period T (T = 1/90 s).
PERIOD_CHIPS: Final = 500
PERIOD_S: Final = PERIOD_CHIPS * CHIP_S
#: Number of grey levels (6 bits) and their slots: level g starts at chip 50 + 6 g.
N_LEVELS: Final = 64
GREY_MAX: Final = N_LEVELS - 1
SLOT_FIRST_CHIP: Final = 50
SLOT_STEP_CHIPS: Final = 6
#: Slot start chip of every grey level, index = g.
SLOT_CHIPS: Final = SLOT_FIRST_CHIP + SLOT_STEP_CHIPS * np.arange(N_LEVELS)
SLOT_CHIPS.flags.writeable = False

#: Chips of the four pulses of each marker period.
LINE_MARKER_CHIPS: Final = (0, 4, 13, 31)
FRAME_MARKER_CHIPS: Final = (0, 9, 24, 44)

#: Header: 8 periods, sent twice, each copy after its own frame marker.
HEADER_PERIODS: Final = 8
HEADER_COPIES: Final = 2
HEADER_COPY_PERIODS: Final = 1 + HEADER_PERIODS
#: Periods before the first line (two copies of frame marker + header).
PREAMBLE_PERIODS: Final = HEADER_COPIES * HEADER_COPY_PERIODS
#: Periods of a line before its pixels: marker, line number hi, lo, calibration g=0, g=63.
LINE_PREFIX_PERIODS: Final = 5
CALIBRATION_LEVELS: Final = (0, GREY_MAX)
#: 12-bit fields (id, lines, pixels, line number) are sent as two 6-bit values.
FIELD_MAX: Final = (1 << 12) - 1

#: Lowest sample rate decoders must handle (ICD §3), complex samples per second.
MIN_FS_HZ: Final = 90_000.0


class PeriodKind(IntEnum):
    """What a period of the grid carries."""

    SILENT = 0
    DATA = 1
    LINE_MARKER = 2
    FRAME_MARKER = 3


class PpmFormatError(SignalsError):
    """A value cannot be represented in, or read back from, the PPM format."""


def slot_chip(grey: np.ndarray | int) -> np.ndarray | int:
    """Chip (within its period) where the data pulse of grey level ``grey`` starts."""
    return SLOT_FIRST_CHIP + SLOT_STEP_CHIPS * grey


def header_check(values: np.ndarray) -> np.ndarray:
    """Check value of header(s): sum of the first 7 values mod 64.

    Parameters
    ----------
    values : array, shape (..., 7) or (..., 8)
        Header values (6-bit); only the first 7 are summed.
    """
    values = np.asarray(values)
    return np.sum(values[..., : HEADER_PERIODS - 1], axis=-1) % N_LEVELS


def split12(value: int) -> tuple[int, int]:
    """Split a 12-bit number into its (hi, lo) 6-bit halves."""
    if not 0 <= value <= FIELD_MAX:
        raise PpmFormatError(f"{value} does not fit in 12 bits (0..{FIELD_MAX})")
    return value >> 6, value & GREY_MAX


def join12(hi: int, lo: int) -> int:
    """Join two 6-bit halves into a 12-bit number."""
    return (int(hi) << 6) | int(lo)


@dataclass(frozen=True)
class PpmHeader:
    """An image header (ICD §3).

    Attributes
    ----------
    image_id : int
        Image number, 0..4095.
    lines : int
        Full image height in lines, 1..4095.
    pixels : int
        Pixels per line, 1..4095.
    mode : int
        0 for a full image, k >= 2 for a survey sending lines 0, k, 2k, ...
    """

    image_id: int
    lines: int
    pixels: int
    mode: int = 0

    def __post_init__(self) -> None:
        for name in ("image_id", "lines", "pixels"):
            value = getattr(self, name)
            if not 0 <= value <= FIELD_MAX:
                raise PpmFormatError(f"header {name} {value} is outside 0..{FIELD_MAX}")
        if self.lines < 1 or self.pixels < 1:
            raise PpmFormatError(
                f"an image needs at least one line and one pixel, got {self.lines}x{self.pixels}"
            )
        if self.mode == 1 or not 0 <= self.mode <= GREY_MAX:
            raise PpmFormatError(f"mode {self.mode} is not 0 (full) or 2..63 (survey)")

    def pack(self) -> np.ndarray:
        """The 8 header values (grey levels 0..63), check last."""
        values = [*split12(self.image_id), *split12(self.lines), *split12(self.pixels), self.mode]
        return np.array([*values, int(header_check(np.array(values)))], dtype=np.int64)

    @classmethod
    def unpack(cls, values: np.ndarray) -> PpmHeader:
        """Read a header from its 8 values; raise :class:`PpmFormatError` if it is invalid."""
        values = np.asarray(values, dtype=np.int64)
        if values.shape != (HEADER_PERIODS,):
            raise PpmFormatError(f"a header has {HEADER_PERIODS} values, got {values.shape}")
        if np.any((values < 0) | (values > GREY_MAX)):
            raise PpmFormatError("header values must be grey levels 0..63")
        if int(header_check(values)) != int(values[-1]):
            raise PpmFormatError(
                f"header check {int(values[-1])} != {int(header_check(values))} (sum mod 64)"
            )
        return cls(
            image_id=join12(values[0], values[1]),
            lines=join12(values[2], values[3]),
            pixels=join12(values[4], values[5]),
            mode=int(values[6]),
        )

    @property
    def line_step(self) -> int:
        """Line number step between sent lines (1 for a full image, k for a survey)."""
        return self.mode if self.mode >= 2 else 1

    @property
    def sent_lines(self) -> np.ndarray:
        """Line numbers transmitted, in order."""
        return np.arange(0, self.lines, self.line_step)

    @property
    def line_periods(self) -> int:
        """Periods per line: marker, line number, calibration, pixels."""
        return LINE_PREFIX_PERIODS + self.pixels

    @property
    def total_periods(self) -> int:
        """Periods of the whole transmission when no line is lost or delayed."""
        return PREAMBLE_PERIODS + self.sent_lines.size * self.line_periods


def line_prefix(line_number: np.ndarray | int) -> np.ndarray:
    """Grey levels of the 4 data periods after a line marker: line hi, lo, 0, 63.

    Parameters
    ----------
    line_number : int or array of int
        Line number(s), 0..4095.

    Returns
    -------
    ndarray of int64, shape (..., 4)
        One row of 4 grey levels per line number.
    """
    line = np.asarray(line_number, dtype=np.int64)
    if np.any((line < 0) | (line > FIELD_MAX)):
        raise PpmFormatError(f"line numbers must fit in 12 bits (0..{FIELD_MAX})")
    calibration = [np.full_like(line, level) for level in CALIBRATION_LEVELS]
    return np.stack([line >> 6, line & GREY_MAX, *calibration], axis=-1)
