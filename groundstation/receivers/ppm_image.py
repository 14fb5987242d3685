"""PPM image assembly (ICD §3): line numbers checked against each other, then the image.

The lines found by the tracker arrive with the line number read from their first two
pixels; :func:`line_numbers` checks those numbers against the lines' places on the period
grid, so a number read wrongly is corrected from its neighbours. :func:`assemble_image`
builds the :class:`~groundstation.results.DecodedImage` with its header and line records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    """

    present: bool
    grey: np.ndarray
    peak: np.ndarray
    nonfinite: bool
    start: float
    stop: float


def assemble_image(
    header: PpmHeader,
    copy: int,
    grid: PeriodGrid,
    first_start: float,
    found: list[tuple[int, int, LineResult]],
    end_period: int,
    truncated: bool,
    state: TrackState,
    n_samples: int,
    period0: float,
) -> DecodedImage:
    """The image of one transmission from the lines found in it.

    Parameters
    ----------
    header : PpmHeader
        The transmission's header.
    copy : int
        The copy it was read from (see :class:`~groundstation.receivers.ppm_timing.ImageLock`).
    grid : PeriodGrid
        The period grid at the end of the transmission.
    first_start : float
        Sample time of the first frame marker (samples).
    found : list of (int, int, LineResult)
        Each line found: its period on the grid, the line number read, the decisions.
    end_period : int
        Period after the last line found.
    truncated : bool
        The recording ends inside the transmission.
    state : TrackState
        The tracking state at the end (its filter gives the carrier and the capture).
    n_samples : int
        Samples in the recording.
    period0 : float
        Nominal period length (samples).
    """
    step = header.line_step
    valid = set(header.sent_lines.tolist())
    lp = header.line_periods
    final, corrected = line_numbers(
        [p for p, _, _ in found], [n for _, n, _ in found], lp, step, valid
    )
    grey = np.zeros((header.lines, header.pixels), np.int16)
    received = np.zeros(header.lines, bool)
    line_snr = np.full(header.lines, np.nan)
    lines: list[ImageLine] = []
    nonfinite_lines: list[int] = []
    sigma_capture = state.filter.capture
    peaks: list[np.ndarray] = []
    for (_, _, res), number in zip(found, final, strict=True):
        if number is None or received[number]:
            continue
        if res.nonfinite:  # decoded with its NaN/Inf samples as zeros
            nonfinite_lines.append(number)
        received[number] = True
        grey[number] = res.grey[4:]
        snr = esn0_db(res.peak, sigma_capture)
        line_snr[number] = snr
        peaks.append(res.peak)
        lines.append(
            ImageLine(
                image_id=header.image_id,
                line=number,
                grey=grey[number].copy(),
                snr_db=snr,
                sample_start=max(math.floor(res.start), 0),
                sample_count=max(math.ceil(res.stop - res.start), 1),
                line_number_corrected=number in corrected,
            )
        )
    expected = header.sent_lines
    missing = [int(n) for n in expected if not received[n]]
    snr_db = esn0_db(np.concatenate(peaks), sigma_capture) if peaks else float("nan")
    start = math.floor(first_start)
    stop = math.ceil(grid.time(end_period))
    received_header = ImageHeader(
        image_id=header.image_id,
        lines=header.lines,
        pixels=header.pixels,
        mode=header.mode,
        header_copy=copy + 1 if copy >= 0 else 0,
        sample_start=max(start, 0),
        sample_count=max(math.ceil(grid.time(PREAMBLE_PERIODS)) - start, 1),
    )
    return DecodedImage(
        image_id=header.image_id,
        lines=header.lines,
        pixels=header.pixels,
        mode=header.mode,
        grey=grey,
        received=received,
        lines_missing=missing,
        snr_db=snr_db,
        line_snr_db=line_snr,
        sample_start=max(start, 0),
        sample_count=max(min(stop, n_samples) - max(start, 0), 0),
        header=received_header,
        received_lines=tuple(lines),
        carrier_offset_hz=float(state.filter.freq_hz),
        clock_ppm=(grid.slope / period0 - 1.0) * 1e6,
        corrected_lines=sorted(set(corrected)),
        nonfinite_lines=nonfinite_lines,
        truncated=truncated,
    )


def line_numbers(
    periods: list[int], numbers: list[int], line_periods: int, step: int, valid: set[int]
) -> tuple[list[int | None], list[int]]:
    """Line number of each found line, read numbers checked against the sequence.

    Lines whose distance on the grid is a whole number of line lengths belong to one run;
    within a run line number = first + step × (distance / line length). Each line votes for
    the run's first number; the most voted one (at least two votes) fixes every line of the
    run, so a number read wrongly is corrected from its neighbours. A run without two
    agreeing votes keeps the numbers as read. Returns (numbers, corrected numbers); a number
    outside the transmitted set becomes None.
    """
    final: list[int | None] = [None] * len(periods)
    corrected: list[int] = []
    run_start = 0
    for i in range(1, len(periods) + 1):
        if i < len(periods) and (periods[i] - periods[run_start]) % line_periods == 0:
            continue
        run = range(run_start, i)
        k = [(periods[j] - periods[run_start]) // line_periods for j in run]
        votes = [numbers[j] - step * kj for j, kj in zip(run, k, strict=True)]
        values, counts = np.unique(votes, return_counts=True)
        best = int(np.argmax(counts))
        for j, kj in zip(run, k, strict=True):
            if counts[best] >= 2:
                number = int(values[best]) + step * kj
                if number != numbers[j] and number in valid:
                    corrected.append(number)
            else:
                number = numbers[j]
            final[j] = number if number in valid else None
        run_start = i
    return final, corrected
