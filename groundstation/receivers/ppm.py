"""5 cm PPM image receiver (ICD §2-§3): from samples to grey levels, vectorised over blocks.

The receiver works from the samples alone. It does not know where a transmission starts,
the transmitter's clock (±100 ppm, drifting, further scaled by Doppler) or the residual
carrier (±30 kHz, drifting at up to 5 Hz/s).

Acquisition
    A dense scan sums each chip of samples coherently for five carrier hypotheses 15 kHz
    apart and adds the chip energies at the four frame-marker chips. A candidate is
    verified and refined: carrier offset by a grid over the marker pulses, timing by a fine
    search, the other frame marker 9 periods away, a header that passes its check (either
    copy, both added, or a short list of runner-up levels), and the first line markers
    where that header puts them; those markers also fix the clock rate before any data.
Tracking
    Once locked, only the slot windows are touched. The period grid is a local straight
    line (period index to sample time) fitted by weighted least squares to timing
    measurements over the last 1500 periods (older ones weighted down, e^(-Δp/500)), so a
    drifting clock is followed. Each block of periods gives one measurement: marker pulses
    by a fine search, data pulses by an early-late discriminator on the decided slots
    (energies half a chip either side).
    The carrier offset is followed the same way with a three-point fit in frequency.
    Lines are expected every ``5 + pixels`` periods; where a line marker is missing the
    receiver looks for it later on the grid (silent periods inside an image) or for the
    next frame marker, else reports the line lost.
Detection
    Each window is matched to the sampled pulse: the weight of a sample is its overlap with
    the chip (integrate-and-dump sampling) times the conjugate of the carrier across it.
    The weights are tabulated for 32 fractional positions and the current carrier offset.
    The energy |z|² of the 64 slot windows is compared (non-coherent across pulses) and
    the largest wins.
Cost
    The window sums run in :mod:`groundstation.receivers.ppm_kernels`: compiled (numba) when it
    imports, else (or with ``MARS1_NO_NUMBA=1``) their numpy reference. Once locked, a
    line costs one pass over its slot windows (decisions, noise sums and the early-late
    energies together), one over its decided pulses (carrier) and one short marker search:
    about a fifth of the samples are read, each once.

Non-finite samples are erasures: a line that touches one is reported missing.

The stages are modules of one job each: :mod:`~groundstation.receivers.ppm_sources` (sample
access), :mod:`~groundstation.receivers.ppm_detect` (matched windows and decisions),
:mod:`~groundstation.receivers.ppm_acquire` (acquisition),
:mod:`~groundstation.receivers.ppm_timing` (period grid and loop state),
:mod:`~groundstation.receivers.ppm_track` (line decoding) and
:mod:`~groundstation.receivers.ppm_image` (image assembly); this module runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import numpy as np

from groundstation.errors import DecodeError
from groundstation.receivers.ppm_acquire import Acquirer
from groundstation.receivers.ppm_detect import (
    PulseFilter,
    genie_decisions,
    slot_decisions,
    slot_energies,
)
from groundstation.receivers.ppm_sources import (
    ArraySource,
    MappedCf32Source,
    SampleReader,
    SampleSource,
)
from groundstation.receivers.ppm_track import LineTracker
from groundstation.results import DecodedImage, PpmDecodeResult
from signals.formats.ppm import MIN_FS_HZ

__all__ = [
    "ArraySource",
    "MappedCf32Source",
    "PpmReceiver",
    "PulseFilter",
    "SampleSource",
    "decode_ppm",
    "genie_decisions",
    "slot_decisions",
    "slot_energies",
]

log = logging.getLogger(__name__)

#: An image is reported only with this many lines received (fewer when its header expects
#: fewer): over an hour of pure noise at 90 kS/s, a header that passed its check by chance
#: and one line marker found by chance made two false one-line images.
MIN_LINES_RECEIVED: Final = 2


class PpmReceiver:
    """Decode every PPM image transmission in a sample source.

    Parameters
    ----------
    source : SampleSource
        A recording (:class:`groundstation.io.recording.Recording`) or an :class:`ArraySource`.
    on_progress : callable, optional
        Called with the sample position reached, from time to time.
    """

    def __init__(self, source: SampleSource, on_progress: Callable[[int], None] | None = None):
        if source.fs_hz < MIN_FS_HZ:
            raise DecodeError(
                f"sample rate {source.fs_hz:g} Hz is below the {MIN_FS_HZ:g} Hz a PPM decode needs"
            )
        self.reader = SampleReader(source, on_progress)
        self.tracker = LineTracker(self.reader)
        self.acquirer = Acquirer(self.reader, self.tracker)
        self.warnings: list[str] = []

    def _next_image(self, start: int) -> DecodedImage | None:
        """The first image whose frame marker is at or after ``start``, or None."""
        for candidate, f_guess, sigma2 in self.acquirer.scan_for_frame_marker(start):
            lock = self.acquirer.acquire(candidate, f_guess, sigma2)
            if lock is None:
                continue
            image = self.tracker.decode_image(lock)
            expected = len(range(0, image.lines, max(image.mode, 1)))
            if np.count_nonzero(image.received) >= min(MIN_LINES_RECEIVED, expected):
                return image
        return None

    def run(self) -> PpmDecodeResult:
        """Decode the whole source."""
        images: list[DecodedImage] = []
        pos = 0
        while (image := self._next_image(pos)) is not None:
            images.append(image)
            if image.truncated:
                self.warnings.append(
                    f"recording ends inside image {image.image_id}: "
                    f"{len(image.lines_missing)} line(s) missing"
                )
            if image.nonfinite_lines:
                self.warnings.append(
                    f"image {image.image_id}: {len(image.nonfinite_lines)} line(s) hold "
                    "non-finite samples, decoded as zeros"
                )
            pos = max(image.sample_start + image.sample_count, pos + 1)
        skipped = []
        cursor = 0
        for image in images:
            if image.sample_start > cursor:
                skipped.append((cursor, image.sample_start))
            cursor = max(cursor, image.sample_start + image.sample_count)
        if cursor < self.reader.n_samples:
            skipped.append((cursor, self.reader.n_samples))
        for message in self.warnings:
            log.warning(message)
        return PpmDecodeResult(images, skipped, self.reader.nonfinite, list(self.warnings))


def decode_ppm(
    source: SampleSource, *, on_progress: Callable[[int], None] | None = None
) -> PpmDecodeResult:
    """Decode every PPM image in ``source`` (a recording or :class:`ArraySource`).

    A ``cf32_le`` recording is read through :class:`MappedCf32Source`; any other source
    through its own ``read``.
    """
    if getattr(source, "datatype", None) == "cf32_le" and hasattr(source, "data_path"):
        source = MappedCf32Source(
            source.data_path,
            source.n_samples,
            source.fs_hz,
            getattr(source, "data_offset_bytes", 0),
        )
    result = PpmReceiver(source, on_progress).run()
    shrunk_at = getattr(source, "shrunk_at", None)
    if shrunk_at is not None:
        message = (
            f"the data file shrank during the decode: samples from {shrunk_at} on were not read"
        )
        log.warning(message)
        result.warnings.append(message)
    return result
