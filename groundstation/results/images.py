"""PPM image records (ICD §3): one image line, an image's header, one received image and
what a PPM decode found and skipped.

:class:`ImageLine` and :class:`ImageHeader` stand on their own, so the push-based receiver
hands them out as it decides them; :class:`DecodedImage` and :class:`PpmDecodeResult` gather
a transmission and a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageLine:
    """One received line of a PPM image.

    Attributes
    ----------
    image_id : int
        Image the line belongs to (from its header).
    line : int
        Line number, after checking the number read against its neighbours.
    grey : ndarray of int16, shape (pixels,)
        Grey levels 0..63.
    snr_db : float
        Es/N0 estimated over the line (dB), NaN when the decided pulses do not stand above
        the noise.
    sample_start, sample_count : int
        Samples spanned, line marker to the end of the last pixel.
    line_number_corrected : bool
        The number read contradicted the neighbouring lines and was corrected.
    """

    image_id: int
    line: int
    grey: np.ndarray
    snr_db: float
    sample_start: int
    sample_count: int
    line_number_corrected: bool = False


@dataclass(frozen=True)
class ImageHeader:
    """The header of a received PPM transmission (ICD §3).

    Attributes
    ----------
    image_id, lines, pixels, mode : int
        The header's fields.
    header_copy : int
        Which copy was read: 1 or 2, 0 when the two were added or the header was taken
        from a short list of runner-up levels.
    sample_start, sample_count : int
        Samples spanned, from the first frame marker to the first line.
    """

    image_id: int
    lines: int
    pixels: int
    mode: int
    header_copy: int
    sample_start: int
    sample_count: int


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """One received transmission of an image.

    Attributes
    ----------
    image_id, lines, pixels, mode : int
        From the header.
    grey : ndarray of int16, shape (lines, pixels)
        Grey levels 0..63; 0 on lines not received.
    received : ndarray of bool, shape (lines,)
        Lines received.
    lines_missing : list of int
        Lines the mode sends that were not received (a survey expects lines 0, k, 2k, ...).
    snr_db : float
        Es/N0 estimate over the image (dB), from the decided slot vs the others.
    line_snr_db : ndarray, shape (lines,)
        Es/N0 estimate per line (dB), NaN where not received.
    sample_start, sample_count : int
        Samples spanned, from the first frame marker to the end of the last line.
    header : ImageHeader or None
        The header as received.
    received_lines : tuple of ImageLine
        Every line received, in order of reception.
    carrier_offset_hz : float
        Residual carrier estimated at the start (Hz).
    clock_ppm : float
        Period length relative to nominal at the start, ppm (clock and Doppler together).
    corrected_lines : list of int
        Lines whose received line number contradicted its neighbours and was corrected.
    nonfinite_lines : list of int
        Lines that held NaN/Inf samples (decoded with those samples as zeros).
    truncated : bool
        The recording ends inside the image.
    """

    image_id: int
    lines: int
    pixels: int
    mode: int
    grey: np.ndarray
    received: np.ndarray
    lines_missing: list[int]
    snr_db: float
    line_snr_db: np.ndarray
    sample_start: int
    sample_count: int
    header: ImageHeader | None = None
    received_lines: tuple[ImageLine, ...] = ()
    carrier_offset_hz: float = 0.0
    clock_ppm: float = 0.0
    corrected_lines: list[int] = field(default_factory=list)
    nonfinite_lines: list[int] = field(default_factory=list)
    truncated: bool = False

    @property
    def lines_received(self) -> int:
        """Number of lines received."""
        return int(np.count_nonzero(self.received))


@dataclass
class PpmDecodeResult:
    """What a PPM decode found and what it skipped.

    Attributes
    ----------
    images : list of DecodedImage
        In order of transmission.
    skipped : list of (int, int)
        Sample ranges ``[start, stop)`` in no decoded image.
    nonfinite_samples : int
        NaN/Inf samples met in the samples examined.
    warnings : list of str
        One line each (truncation, lines lost to non-finite samples, ...).
    """

    images: list[DecodedImage]
    skipped: list[tuple[int, int]]
    nonfinite_samples: int
    warnings: list[str]
