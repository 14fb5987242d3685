"""PPM image assembly (ICD §3): line numbers checked against each other, then the image.

The lines found by the tracker arrive with the line number read from their first two
pixels; :class:`ImageAssembly` checks those numbers against the lines' places on the period
grid, so a number read wrongly is corrected from its neighbours, releases each line once its
number is settled, and builds the :class:`~groundstation.results.DecodedImage` with its
header and line records at the transmission's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from groundstation.receivers.ppm_detect import esn0_db
from groundstation.receivers.ppm_timing import PeriodGrid, TrackState
from groundstation.results import DecodedImage, ImageHeader, ImageLine
from signals.formats.ppm import PREAMBLE_PERIODS, PpmHeader


@dataclass
class LineResult:
    """The decisions over one line's periods.

    Attributes
    ----------
    present : bool
        The line's energy stands clear of the noise.
    grey : ndarray of int64
        Decided level of each data period (the first four hold the line number).
    peak : ndarray
        Decided-slot energy of each period, in units of the window noise.
    nonfinite : bool
        A window of the line held a non-finite sample.
    start, stop : float
        Sample times of the line's first and after its last period.
    marker : bool
        Its line marker was found.
    """

    present: bool
    grey: np.ndarray
    peak: np.ndarray
    nonfinite: bool
    start: float
    stop: float
    marker: bool = True


#: An image is believed (and reported) only once this many lines were received with their
#: line markers found (fewer when its header expects fewer): over an hour of pure noise at
#: 90 kS/s, a header that passed its check by chance and one line marker found by chance
#: once made two false one-line images. See docs/ppm-false-alarms.md for the rate.
MIN_LINES_RECEIVED: Final = 2


class ImageAssembly:
    """The lines of one transmission as they are found: numbered, checked, then released.

    A line arrives with the line number read from its first two pixels and its place on
    the period grid. Lines whose distance on the grid is a whole number of line lengths
    belong to one run; within a run, line number = first + step × (distance / line
    length), and each line votes for the run's first number. A line waits until its run
    has a first number with two votes (then that number fixes it, so a number read wrongly
    is corrected from its neighbours) or until the run ends (then the most voted number
    with two votes, else the number as read). A number outside the transmitted set drops
    the line.

    Nothing is released before the image is believed: :data:`MIN_LINES_RECEIVED` lines
    received with their line markers found (fewer when the header expects fewer). Then
    :attr:`events` receives the :class:`~groundstation.results.ImageHeader` and every line
    so far, and each later line as it is released.

    Parameters
    ----------
    header : PpmHeader
        The transmission's header.
    copy : int
        The copy it was read from (see :class:`~groundstation.receivers.ppm_timing.ImageLock`).
    first_start : float
        Sample time of the first frame marker (samples).
    """

    def __init__(self, header: PpmHeader, copy: int, first_start: float):
        self.header = header
        self.copy = copy
        self.first_start = first_start
        self.valid = set(header.sent_lines.tolist())
        self._lp, self._step = header.line_periods, header.line_step
        self.grey = np.zeros((header.lines, header.pixels), np.int16)
        self.received = np.zeros(header.lines, bool)
        self.line_snr = np.full(header.lines, np.nan)
        self.lines: list[ImageLine] = []
        self.corrected: set[int] = set()
        self.nonfinite_lines: list[int] = []
        self.peaks: list[np.ndarray] = []
        self.received_header: ImageHeader | None = None
        self._with_marker = 0  # lines received with their line marker found
        #: What was released since the caller last took it (header and lines, in order).
        self.events: list[ImageHeader | ImageLine] = []
        self._run_start: int | None = None
        self._votes: dict[int, int] = {}
        self._pending: list[tuple[int, int, LineResult, float]] = []

    @property
    def confirmed(self) -> bool:
        """Enough lines were received to believe the image."""
        return self.received_header is not None

    def add(
        self, period: int, number: int, res: LineResult, grid: PeriodGrid, capture: float
    ) -> None:
        """A line found at grid ``period`` with line ``number`` read.

        ``capture`` is the pulse filter's mean captured fraction (for the line's Es/N0).
        """
        lp, step = self._lp, self._step
        if self._run_start is not None and (period - self._run_start) % lp:
            self._release(self._best(), grid, run_over=True)  # the run ended before this line
        if self._run_start is None:
            self._run_start, self._votes = period, {}
        vote = number - step * ((period - self._run_start) // lp)
        self._votes[vote] = self._votes.get(vote, 0) + 1
        self._pending.append((period, number, res, capture))
        best = self._best()
        if best is not None:
            self._release(best, grid, run_over=False)

    def _best(self) -> int | None:
        """The run's first number: the most voted (the smallest of a tie) with two votes;
        None without one (at the end of the run: numbers as read)."""
        if not self._votes:
            return None
        count = max(self._votes.values())
        if count < 2:
            return None
        return min(v for v, c in self._votes.items() if c == count)

    def _release(self, best: int | None, grid: PeriodGrid, run_over: bool) -> None:
        lp, step = self._lp, self._step
        for period, read, res, capture in self._pending:
            k = (period - self._run_start) // lp
            number = read if best is None else best + step * k
            if number != read and number in self.valid:
                self.corrected.add(number)
            if number not in self.valid or self.received[number]:
                continue
            self._place(number, res, capture, grid)
        self._pending = []
        if run_over:
            self._run_start = None

    def _place(self, number: int, res: LineResult, capture: float, grid: PeriodGrid) -> None:
        if res.nonfinite:  # decoded with its NaN/Inf samples as zeros
            self.nonfinite_lines.append(number)
        self.received[number] = True
        self.grey[number] = res.grey[4:]
        snr = esn0_db(res.peak, capture)
        self.line_snr[number] = snr
        self.peaks.append((res.peak, capture))
        line = ImageLine(
            image_id=self.header.image_id,
            line=number,
            grey=self.grey[number].copy(),
            snr_db=snr,
            sample_start=max(math.floor(res.start), 0),
            sample_count=max(math.ceil(res.stop - res.start), 1),
            line_number_corrected=number in self.corrected,
        )
        self.lines.append(line)
        if self.confirmed:
            self.events.append(line)
            return
        self._with_marker += res.marker
        expected = self.header.sent_lines.size
        if self._with_marker >= min(MIN_LINES_RECEIVED, expected):
            start = math.floor(self.first_start)
            self.received_header = ImageHeader(
                image_id=self.header.image_id,
                lines=self.header.lines,
                pixels=self.header.pixels,
                mode=self.header.mode,
                header_copy=self.copy + 1 if self.copy >= 0 else 0,
                sample_start=max(start, 0),
                sample_count=max(math.ceil(grid.time(PREAMBLE_PERIODS)) - start, 1),
            )
            self.events += [self.received_header, *self.lines]

    def take_events(self) -> list[ImageHeader | ImageLine]:
        """The header and lines released since the last call."""
        events, self.events = self.events, []
        return events

    def finish(
        self,
        grid: PeriodGrid,
        end_period: int,
        stop: int,
        truncated: bool,
        state: TrackState,
        period0: float,
    ) -> DecodedImage | None:
        """The image of the transmission, or None when it was never believed.

        Parameters
        ----------
        grid : PeriodGrid
            The period grid at the end of the transmission.
        end_period : int
            Period after the last line found.
        stop : int
            Sample after the transmission (the end of the recording where that comes first).
        truncated : bool
            The recording ends inside the transmission.
        state : TrackState
            The tracking state at the end (its filter gives the carrier).
        period0 : float
            Nominal period length (samples).
        """
        if self._pending:
            self._release(self._best(), grid, run_over=True)
        if not self.confirmed:
            return None
        peaks = np.concatenate([peak for peak, _ in self.peaks])
        capture = float(np.mean([c for _, c in self.peaks]))
        snr_db = esn0_db(peaks, capture)
        start = max(math.floor(self.first_start), 0)
        return DecodedImage(
            image_id=self.header.image_id,
            lines=self.header.lines,
            pixels=self.header.pixels,
            mode=self.header.mode,
            grey=self.grey,
            received=self.received,
            lines_missing=[int(n) for n in self.header.sent_lines if not self.received[n]],
            snr_db=snr_db,
            line_snr_db=self.line_snr,
            sample_start=start,
            sample_count=max(stop - start, 0),
            header=self.received_header,
            received_lines=tuple(self.lines),
            carrier_offset_hz=float(state.filter.freq_hz),
            clock_ppm=(grid.slope / period0 - 1.0) * 1e6,
            corrected_lines=sorted(self.corrected),
            nonfinite_lines=self.nonfinite_lines,
            truncated=truncated,
        )
