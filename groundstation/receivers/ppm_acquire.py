"""PPM acquisition (ICD §3): find a transmission's frame marker and lock onto it.

The receiver does not know where a transmission starts, the transmitter's clock (±100 ppm,
drifting, further scaled by Doppler) or the residual carrier (±30 kHz). A dense scan sums
each chip of samples coherently for five carrier hypotheses 15 kHz apart and adds the chip
energies at the four frame-marker chips. A candidate is verified and refined: carrier offset
by a grid over the marker pulses, timing by a fine search, the other frame marker 9 periods
away, a header that passes its check (either copy, both added, or a short list of runner-up
levels), and the first line markers where that header puts them; those markers also fix the
clock rate before any data.

False alarms. On noise the scan passes about 4.6e-6 of the (position, carrier hypothesis)
pairs (four chip energies, each Exp(1): sum > 18, each > 1, the two smallest > 5), about one
candidate per second at 90 kS/s. Noise then finds the other header copy's marker with
P ≈ 6e-5 and two of the first four line markers with P ≈ 6e-8, so a lock costs under 4e-6
per candidate: a header is believed only behind its line markers, or, read alone, behind
both frame markers. The image needs two lines with their line markers as well
(:data:`~groundstation.receivers.ppm_image.MIN_LINES_RECEIVED`): about 3e-8 false images an
hour at 180 kS/s. The derivation and the measured counts are in ``docs/ppm-receiver.md``;
:attr:`Acquirer.counts` counts each stage.
"""

from __future__ import annotations

import copy
import functools
import math
from collections import Counter
from typing import Final

import numpy as np

from groundstation.receivers.ppm_detect import (
    MARKER_PAIR_MIN,
    MARKER_THRESHOLD,
    marker_search,
    marker_search_filters,
    slot_energies,
)
from groundstation.receivers.ppm_headers import header_words
from groundstation.receivers.ppm_kernels import energy_sums
from groundstation.receivers.ppm_scan import scan_hits, scan_noise_floor
from groundstation.receivers.ppm_sources import SampleBuffer
from groundstation.receivers.ppm_timing import ImageLock, PeriodGrid, TrackState
from groundstation.receivers.ppm_track import LineTracker
from signals.dsp import parabolic_offset
from signals.formats.ppm import (
    FRAME_MARKER_CHIPS,
    HEADER_COPY_PERIODS,
    HEADER_PERIODS,
    LINE_MARKER_CHIPS,
    N_LEVELS,
    PREAMBLE_PERIODS,
    PpmFormatError,
    PpmHeader,
    join12,
)

#: Largest residual carrier offset searched (Hz), a little over the ICD's ±30 kHz.
MAX_CARRIER_OFFSET_HZ: Final = 34_000.0
#: Carrier hypotheses of the acquisition scan (Hz): 15 kHz apart, ≤ 0.2 dB loss between.
ACQUISITION_OFFSETS_HZ: Final = (-30_000.0, -15_000.0, 0.0, 15_000.0, 30_000.0)
#: Samples per acquisition block.
ACQUISITION_BLOCK: Final = 1 << 15
#: Frame-marker candidate thresholds, in units of the mean noise energy of one chip:
#: the sum of the four chip energies (noise only: Gamma(4), P(> 18) ≈ 2e-5), each of them, and
#: the three weakest together (> 6).
ACQ_SUM_THRESHOLD: Final = 18.0
ACQ_MIN_THRESHOLD: Final = 1.0
#: What :attr:`Acquirer.counts` counts: candidates from the scan, frame markers confirmed by
#: the fine search, candidates with the other copy's marker as well, headers passing their
#: check, headers confirmed by line markers, headers believed without them.
ACQUISITION_COUNTS: Final = (
    "candidates",
    "frame_markers",
    "marker_pairs",
    "headers",
    "confirmed_headers",
    "unconfirmed_headers",
)


#: Data periods of the two header copies, from the first frame marker.
_HEADER_DATA_PERIODS: Final = np.concatenate(
    [np.arange(1, 1 + HEADER_PERIODS), HEADER_COPY_PERIODS + np.arange(1, 1 + HEADER_PERIODS)]
)
_HEADER_DATA_PERIODS.flags.writeable = False


def _header_or_none(values: list[int]) -> PpmHeader | None:
    """``PpmHeader.unpack`` of 8 decided levels (0..63), or None where it would refuse
    them: the same check, on Python integers (a noise candidate asks a dozen times)."""
    if sum(values[: HEADER_PERIODS - 1]) % N_LEVELS != values[-1]:
        return None
    try:
        return PpmHeader(
            image_id=join12(values[0], values[1]),
            lines=join12(values[2], values[3]),
            pixels=join12(values[4], values[5]),
            mode=values[6],
        )
    except PpmFormatError:
        return None


@functools.lru_cache(maxsize=4)
def _scan_rotators(fs_hz: float, length: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Acquirer.rotators`, shared by the receivers at one rate (a few milliseconds of
    ``np.exp`` each, once per process instead of once per receiver). Shared: not to be
    written to (left writeable so that the scan kernel keeps its one array type)."""
    n = np.arange(length)
    freqs = np.array([f for f in ACQUISITION_OFFSETS_HZ if abs(f) < 0.5 * fs_hz])
    phasors = np.exp(-2j * np.pi * freqs[:, None] / fs_hz * n[None, :]).astype(np.complex64)
    return freqs, phasors


class Acquirer:
    """Find and verify transmission starts in a :class:`SampleBuffer`."""

    def __init__(self, reader: SampleBuffer, tracker: LineTracker):
        self.reader = reader
        self.tracker = tracker
        #: How many candidates passed each check (see :data:`ACQUISITION_COUNTS`).
        self.counts: Counter[str] = Counter({name: 0 for name in ACQUISITION_COUNTS})
        # what each candidate's first stages found, kept while it waits for samples
        self._memos: dict[tuple[int, float, float], tuple] = {}
        # the carrier grid of the frame-marker refinement around each scan hypothesis:
        # (carriers Hz, their filters, the filters' weights stacked)
        self._carrier_grids: dict[tuple[float, float, float], tuple] = {}
        #: Set by :meth:`lines_where_expected` when it finds a header's first line marker:
        #: the samples read up to then (:attr:`SampleBuffer.reach`); None before. And
        #: whether a line marker was missed after that. (The receiver resets both.)
        self.line_found_reach: int | None = None
        self.line_missed_after = False

    def rotators(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Carrier hypotheses of the scan (Hz) and their de-rotation phasors, shape
        (hypotheses, length) (cached for the process)."""
        return _scan_rotators(self.reader.fs_hz, int(length))

    def scan_overlap(self) -> int:
        """Samples a scan block reads past its own length (the frame marker's span)."""
        k = max(1, round(self.reader.chip0))
        return round(FRAME_MARKER_CHIPS[-1] * self.reader.chip0) + k + 1

    def scan_stop(self, pos: int) -> int:
        """One past the last sample the block at ``pos`` reads (the input permitting)."""
        return pos + ACQUISITION_BLOCK + self.scan_overlap()

    def scan_block(self, pos: int) -> tuple[list[tuple[int, float, float]], int] | None:
        """Frame-marker candidates of the block at ``pos`` and the next block's start.

        Candidates (sample, carrier Hz, σ²) come one per cluster of neighbouring hits, with
        the best carrier hypothesis, in order of time. None when the recording ends before
        the block (raises :class:`~groundstation.receivers.ppm_sources.NeedSamples` while
        that is not known yet).
        """
        chip = self.reader.chip0
        k = max(1, round(chip))
        offsets = np.round(np.array(FRAME_MARKER_CHIPS) * chip).astype(np.intp)
        overlap = self.scan_overlap()
        if self.reader.at_or_after_end(pos + overlap):
            return None
        freqs, rotators = self.rotators(ACQUISITION_BLOCK + overlap)
        x, _ = self.reader.read(pos, pos + ACQUISITION_BLOCK + overlap)
        real = self.reader.end_or(pos + x.size) - pos
        sigma2 = scan_noise_floor(x, real)
        m = min(x.size - overlap, real)
        thresholds = (ACQ_SUM_THRESHOLD, ACQ_MIN_THRESHOLD, MARKER_PAIR_MIN)
        at, total, which = scan_hits(x, rotators, k, offsets, m, 1.0 / (k * sigma2), thresholds)
        hits = list(zip(at.tolist(), total.tolist(), freqs[which].tolist(), strict=True))
        hits.sort()
        candidates = []
        i = 0
        while i < len(hits):
            j = i
            while j + 1 < len(hits) and hits[j + 1][0] <= hits[i][0] + 2 * k:
                j += 1
            at_best, _, f_best = max(hits[i : j + 1], key=lambda h: h[1])
            candidates.append((pos + at_best, f_best, sigma2))
            i = j + 1
        return candidates, pos + m

    def acquire(self, candidate: int, f_guess: float, sigma2: float) -> ImageLock | None:
        """Verify a frame-marker candidate; return the image lock or None.

        Raises :class:`~groundstation.receivers.ppm_sources.NeedSamples` (and counts
        nothing) when the samples it needs have not all been fed yet.
        """
        counts: Counter[str] = Counter()
        lock = self._acquire(candidate, f_guess, sigma2, counts)
        self.counts.update(counts)
        self._memos.pop((candidate, f_guess, sigma2), None)
        return lock

    def forget(self) -> None:
        """Drop what the candidates waiting for samples had found (they are dropped)."""
        self._memos.clear()

    def _acquire(
        self, candidate: int, f_guess: float, sigma2: float, counts: Counter[str]
    ) -> ImageLock | None:
        # What a candidate's first stages found is kept while it waits for the samples of
        # its line markers: a stream fed in small chunks asks again and again.
        key = (candidate, f_guess, sigma2)
        if key not in self._memos:
            self._memos[key] = (self._frame_markers(candidate, f_guess, sigma2), {}, {})
        found, headers_of, searches = self._memos[key]
        counts["candidates"] += 1
        if found is None:
            return None
        counts["frame_markers"] += 1
        base, f, marks = found
        if len(marks) > 1:
            counts["marker_pairs"] += 1
        candidates = [marks]
        if len(marks) == 1:  # a lone marker may be either copy
            candidates.append([(HEADER_COPY_PERIODS, marks[0][1])])
        fallback = None
        for option in candidates:
            if tuple(option) not in headers_of:  # the grid and headers, kept while it waits
                grid = PeriodGrid(option[0][0], option[0][1] + base, self.reader.period0)
                for period, time in option[1:]:
                    grid.add(period, time + base, 4.0)
                headers_of[tuple(option)] = grid, self.read_header(grid, f, sigma2, option)
            grid, headers = headers_of[tuple(option)]
            counts["headers"] += len(headers)
            # A header is believed when the line markers it predicts are there.
            for index, (header, copy_index) in enumerate(headers):
                searched = searches.setdefault((tuple(option), index), [])
                locked = self.lines_where_expected(grid, header, f, sigma2, searched)
                if locked is not None:
                    counts["confirmed_headers"] += 1
                    return ImageLock(header, copy_index, locked[0], locked[1], sigma2)
            # Without line markers, a header read alone is believed only behind both
            # frame markers (noise passes a lone marker and a check 1 time in 30).
            direct = [(h, c) for h, c in headers if c >= 0]
            if direct and fallback is None and len(option) > 1:
                fallback = ImageLock(direct[0][0], direct[0][1], copy.copy(grid), f, sigma2)
        if fallback is not None:
            counts["unconfirmed_headers"] += 1
        return fallback

    def _frame_markers(
        self, candidate: int, f_guess: float, sigma2: float
    ) -> tuple[int, float, list[tuple[int, float]]] | None:
        """Carrier and timing refined on a candidate's frame marker, and the other copy's
        marker looked for: (first sample read, carrier Hz, [(period, start)]) or None."""
        chip = self.reader.chip0
        span = int(2 * HEADER_COPY_PERIODS * self.reader.period0)
        base = candidate - span - 64
        x, _ = self.reader.read(base, candidate + 2 * span + int(self.reader.period0) + 64)
        t = float(candidate - base)
        # Carrier: grid over the marker pulses, at three timing offsets.
        limit = min(MAX_CARRIER_OFFSET_HZ, 0.45 * self.reader.fs_hz)
        grid_key = (f_guess, limit, chip)
        if grid_key not in self._carrier_grids:  # one per scan hypothesis: made once
            freqs = np.arange(f_guess - 9000.0, f_guess + 9001.0, 1000.0)
            freqs = freqs[np.abs(freqs) <= limit + 1000.0]
            filters = [self.reader.filter(chip, f) for f in freqs]
            stacked = np.stack([filt.weights for filt in filters])
            self._carrier_grids[grid_key] = freqs, filters, stacked
        freqs, filters, stacked = self._carrier_grids[grid_key]
        best = (-1.0, f_guess, t)
        found = marker_search_filters(
            x, t, FRAME_MARKER_CHIPS, chip, filters, sigma2, 0.75, 0.25, stacked=stacked
        )
        for f, (t_f, score) in zip(freqs, found, strict=True):
            if score > best[0]:
                best = (score, f, t_f)
        _, f, t = best
        filt = self.reader.filter(chip, f)
        t1, s1 = marker_search(x, t, FRAME_MARKER_CHIPS, chip, filt, sigma2, 0.5, 1 / 16)
        if s1 < ACQ_SUM_THRESHOLD:
            return None
        copy_span = HEADER_COPY_PERIODS * self.reader.period0
        t2, s2 = marker_search(x, t1 + copy_span, FRAME_MARKER_CHIPS, chip, filt, sigma2, 2.0)
        t0, s0 = marker_search(x, t1 - copy_span, FRAME_MARKER_CHIPS, chip, filt, sigma2, 2.0)
        if s0 >= MARKER_THRESHOLD and s0 > s2:
            marks = [(0, t0), (HEADER_COPY_PERIODS, t1)]
        elif s2 >= MARKER_THRESHOLD:
            marks = [(0, t1), (HEADER_COPY_PERIODS, t2)]
        else:
            marks = [(0, t1)]
        return base, float(f), marks

    def lines_where_expected(
        self,
        grid: PeriodGrid,
        header: PpmHeader,
        f: float,
        sigma2: float,
        searched: list[tuple[float, float]] | None = None,
    ) -> tuple[PeriodGrid, float] | None:
        """Check ``header`` against the first four line markers and lock onto them.

        The markers are searched one after the other, each found one refining the period
        grid before the next (the search widens with the distance from the last fix). The
        header is believed when at least two are found (one for a one-line image). Returns
        the refined grid and a carrier estimate from all the marker pulses, or None.

        ``searched`` holds the (start, score) of each search done, in order: a candidate
        waiting for the samples of a later marker passes the same list again and the
        searches it holds are not done twice (the same samples give the same results).
        """
        if searched is None:
            searched = []
        grid = copy.copy(grid)  # its arrays are never changed in place
        n = min(header.sent_lines.size, 4)
        state = TrackState(self.reader.filter(grid.chip_samples, f), sigma2)
        slope_known = len(grid.points) >= 2
        last = max(p for p, _, _ in grid.points)
        marks = [(p, FRAME_MARKER_CHIPS) for p, _, _ in grid.points]
        found = 0
        for j in range(n):
            if found + (n - j) < min(n, 2):
                return None  # too few markers left to find: no need to wait for them
            period = PREAMBLE_PERIODS + header.line_periods * j
            if self.reader.at_or_after_end(grid.time(period) + 64 * grid.chip_samples):
                break
            # Slope uncertainty: ±200 ppm unknown, or about 0.01 chip per period from a fit.
            per_period = 0.01 if slope_known else 0.1
            span = min(1.0 + per_period * (period - last), 8.0)
            if j < len(searched):
                t, score = searched[j]
            else:
                t, score = self.tracker.line_marker(grid, period, state, span)
                searched.append((t, score))
            if score >= MARKER_THRESHOLD:
                if j == 0 and self.line_found_reach is None:
                    self.line_found_reach = self.reader.reach
                grid.add(period, t, 4.0)
                marks.append((period, LINE_MARKER_CHIPS))
                last, slope_known = period, len(grid.points) >= 2
                found += 1
            elif self.line_found_reach is not None:
                self.line_missed_after = True
        if found < min(n, 2):
            return None
        return grid, self.refine_carrier(grid, marks, f, sigma2)

    def refine_carrier(
        self, grid: PeriodGrid, marks: list[tuple[int, tuple[int, ...]]], f: float, sigma2: float
    ) -> float:
        """Carrier offset maximising the marker pulses' energy: grid ±8 kHz, then a parabola."""
        chip = grid.chip_samples
        starts = np.concatenate(
            [float(grid.time(p)) + np.asarray(chips) * chip for p, chips in marks]
        )
        lo = math.floor(starts.min()) - 8
        x, base = self.reader.read(lo, math.ceil(starts.max() + 2 * chip) + 8)
        freqs = f + np.arange(-8000.0, 8001.0, 500.0)
        weight_sets = np.stack([self.reader.filter(chip, fq).weights for fq in freqs])
        energy = energy_sums(x, starts - base, weight_sets)
        i = int(np.argmax(energy))
        best = float(freqs[i])
        if 0 < i < freqs.size - 1:
            best += parabolic_offset(energy[i - 1], energy[i], energy[i + 1]) * 500.0
        return best

    def read_header(
        self, grid: PeriodGrid, f: float, sigma2: float, marks
    ) -> list[tuple[PpmHeader, int]]:
        """Header candidates from both copies on ``grid``, most trusted first.

        Each is (header, copy): 0 or 1 for a copy read alone, -1 for the two copies added,
        -2 for the added copies with doubtful periods taken as their runners-up (list
        decoding, when no copy alone nor both added make a header: at most three, from
        :func:`~groundstation.receivers.ppm_headers.header_words`).
        """
        chip = grid.chip_samples
        starts = grid.time(_HEADER_DATA_PERIODS)
        lo = math.floor(starts.min()) - 16
        x, base = self.reader.read(lo, math.ceil(starts.max() + self.reader.period0) + 16)
        filt = self.reader.filter(chip, f)
        e = slot_energies(x, starts - base, chip, filt)
        e = e.reshape(2, HEADER_PERIODS, N_LEVELS)
        present = tuple(any(p == c * HEADER_COPY_PERIODS for p, _ in marks) for c in range(2))
        direct, listed = header_words(e, present)
        found: list[tuple[PpmHeader, int]] = []
        for copy_index, values in direct:
            header = _header_or_none(values)
            if header is not None and all(header != h for h, _ in found):
                found.append((header, copy_index))
        if found:
            return found
        # Listed words, most likely first (the caller then asks the line markers).
        for values in listed:
            header = _header_or_none(values)
            if header is None:
                continue
            found.append((header, -2))
            if len(found) >= 3:
                break
        return found
