"""PPM line decoding once a transmission is locked (ICD §3): tracking and decisions.

Only the slot windows are touched. Each block of periods gives one timing measurement: marker
pulses by a fine search, data pulses by an early-late discriminator on the decided slots
(energies half a chip either side); the carrier offset is followed by a three-point fit in
frequency. Lines are expected every ``5 + pixels`` periods; where a line marker is missing the
tracker looks for it later on the grid (silent periods inside an image) or for the next frame
marker, else reports the line lost. Blocks grow as tracking settles
(:data:`BLOCK_SCHEDULE`); then the whole line is one block.

A line that finds its line marker and is there (nearly every line of an image received) is
decoded in the compiled kernel, with the lines after it in the same call as far as the
samples fed go (``ImageTracking._lines_compiled``; the same numbers as
:meth:`LineTracker.decode_line`): the cost of a line no longer depends on how few pixels it
has. Any other line (its marker missing, the line absent, a non-finite sample in a window,
the end of the input) is decoded here in Python, which looks further for its marker or for
the next frame marker. Which one decodes a line depends on the samples only, never on how
they were fed.
"""

from __future__ import annotations

import copy
import math
from typing import Final

import numpy as np

from groundstation.receivers.ppm_detect import (
    MARKER_PAIR_MIN,
    MARKER_THRESHOLD,
    NOISE_MAX_MEAN,
    NOISE_MAX_STD,
    PulseFilter,
    marker_search,
    slot_decisions,
)
from groundstation.receivers.ppm_image import ImageAssembly, LineResult
from groundstation.receivers.ppm_kernels import (
    NUMBA_AVAILABLE,
    _as_pairs,
    active_kernel,
    energy_sums,
    marker_scores,
)
from groundstation.receivers.ppm_sources import NeedSamples, SampleBuffer, filter_key
from groundstation.receivers.ppm_timing import (
    FIT_MEMORY_PERIODS,
    FIT_SPAN_PERIODS,
    ImageLock,
    PeriodGrid,
    TrackState,
)
from groundstation.results import DecodedImage
from signals.dsp import parabolic_offset
from signals.formats.ppm import (
    FRAME_MARKER_CHIPS,
    HEADER_COPY_PERIODS,
    HEADER_PERIODS,
    LINE_MARKER_CHIPS,
    N_LEVELS,
    PREAMBLE_PERIODS,
    SLOT_CHIPS,
    PpmHeader,
    join12,
)

if NUMBA_AVAILABLE:
    from groundstation.receivers.ppm_kernels import _track_lines_kernel

#: Blocks of periods decoded between timing updates: short while the clock rate is still
#: uncertain, then longer.
BLOCK_SCHEDULE: Final = (4, 8, 16, 32, 64, 128, 256)
#: Carrier probes either side of the estimate in the tracking loop's three-point fit (Hz).
CARRIER_PROBE_HZ: Final = 6000.0
#: Carrier filters either side of one the compiled line tracker asks for, made with it
#: (20 Hz apart): the tracking loop moves the carrier a few steps at a time.
FILTERS_AHEAD_STEPS: Final = 12
#: Most pulse filters the compiled line tracker is given at once: past it, the table starts
#: again from the filters around the one asked for. A clock and carrier that drift all
#: through a long image ask for new ones without end (4836 filters in a 1500-line image
#: drifting 2000 ppm an hour, the table stacked again at each and searched one by one).
FILTER_TABLE_LIMIT: Final = 256
#: Periods tracked past the last line found before the transmission is taken as over
#: (about 23 s): a longer silence ends it, and the receiver's look-back stays bounded.
COAST_LIMIT_PERIODS: Final = 2048


#: Why the compiled line tracker stopped: the samples of the next line have not all come,
#: or it needs a pulse filter it was not given (the other reasons: the next line in Python).
_NEEDS_SAMPLES: Final = 1
_NEEDS_FILTER: Final = 3
#: What the compiled line tracker is given besides the samples and its state.
_TRACK_CONSTANTS: Final = np.array(
    [
        MARKER_THRESHOLD,
        MARKER_PAIR_MIN,
        NOISE_MAX_MEAN,
        NOISE_MAX_STD,
        FIT_MEMORY_PERIODS,
        float(FIT_SPAN_PERIODS),
        CARRIER_PROBE_HZ,
    ]
)
_SLOT_CHIPS_F8: Final = SLOT_CHIPS.astype(np.float64)
_LINE_MARKER_CHIPS_F8: Final = np.asarray(LINE_MARKER_CHIPS, np.float64)
_SCHEDULE: Final = np.asarray(BLOCK_SCHEDULE, np.int64)


def _filter_key(filt: PulseFilter) -> tuple[int, int]:
    """The key of ``filt`` in the receiver's filter cache
    (:func:`~groundstation.receivers.ppm_sources.filter_key`)."""
    return filter_key(filt.chip_samples, filt.freq_hz)


class LineTracker:
    """Decode the lines of a locked transmission from a :class:`SampleBuffer`."""

    def __init__(self, reader: SampleBuffer):
        self.reader = reader

    def decode_block(
        self,
        grid: PeriodGrid,
        periods: np.ndarray,
        state: TrackState,
        learn: bool,
        hint: bool,
        buffer: tuple[np.ndarray, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        """Decide a block of data periods; update timing and carrier when ``learn``.

        ``hint`` says the block is known to hold signal (its line marker was found), so it
        may teach the loops even when its own energy is too weak to say so. ``buffer`` is
        (samples, first sample index) already read, used when it covers the block.
        Returns (grey, peak energy normalised, present, nonfinite seen).
        """
        chip = grid.chip_samples
        starts = grid.time(periods)
        lo = math.floor(starts[0] - 2 * chip) - 2
        hi = math.ceil(starts[-1] + SLOT_CHIPS[-1] * chip + 3 * chip) + 4
        x, base = self.reader.read_within(buffer, lo, hi)
        rel = starts - base
        grey, peak, total, finite, late, early = slot_decisions(x, rel, chip, state.filter)
        nonfinite = not bool(finite.all())
        noise = (total - peak) / (N_LEVELS - 1)
        good_noise = noise[finite] if nonfinite else noise
        if good_noise.size:
            state.sigma2 = 0.9 * state.sigma2 + 0.1 * float(good_noise.mean())
        sigma2 = state.sigma2
        peak_n = peak / sigma2
        if nonfinite:
            stat = float(peak_n[finite].mean()) if finite.any() else 0.0
            n_ok = max(int(np.count_nonzero(finite)), 1)
        else:
            stat, n_ok = float(peak_n.mean()), peak_n.size
        present = stat > NOISE_MAX_MEAN + 4.0 * NOISE_MAX_STD / math.sqrt(n_ok)
        if learn and (present or hint):
            use = finite & (peak_n > 4.0)
            if np.count_nonzero(use) >= 2:
                pos = rel[use] + SLOT_CHIPS[grey[use]] * chip
                self.learn(x, pos, peak[use], late[use], early[use], grid, periods[use], state)
        return grey, peak_n, present, nonfinite

    def learn(
        self,
        x: np.ndarray,
        positions: np.ndarray,
        peak: np.ndarray,
        late: np.ndarray,
        early: np.ndarray,
        grid: PeriodGrid,
        periods: np.ndarray,
        state: TrackState,
    ) -> None:
        """Early-late timing and three-point carrier updates from decided pulses.

        ``late`` and ``early`` are the energies half a chip either side of the pulses."""
        chip = grid.chip_samples
        filt: PulseFilter = state.filter
        sigma2 = state.sigma2
        signal = float(np.sum(peak) - sigma2 * peak.size)
        if signal <= 0:
            return
        # On the linear flanks of the triangular correlation: E(+½) − E(−½) = 2·δ·E(0).
        delta = float(np.sum(late - early)) / (2.0 * signal) * chip
        delta = min(max(delta, -0.5 * chip), 0.5 * chip)
        p_mean = float(periods.mean())
        grid.add(p_mean, float(grid.time(p_mean)) + delta, float(peak.size))
        # Carrier: parabola through the summed energies at c − Δ, c, c + Δ, with c the
        # current estimate rounded to 250 Hz (so that the three filters come from the cache).
        step = CARRIER_PROBE_HZ
        f = filt.freq_hz
        center = round(f / 250.0) * 250.0
        a, b, c = energy_sums(x, positions + delta, self.reader.carrier_set(chip, center, step))
        f_new = f
        if a - 2 * b + c < 0:  # the probes hold a maximum: move towards its vertex
            vertex = center + parabolic_offset(a, b, c) * step
            f_new = f + min(1.0, peak.size / 64.0) * 0.5 * (vertex - f)
        state.filter = self.reader.filter(grid.chip_samples, f_new)

    def line_marker(
        self,
        grid: PeriodGrid,
        period: int,
        state: TrackState,
        span_chips: float,
        buffer: tuple[np.ndarray, int] | None = None,
    ) -> tuple[float, float]:
        """Search a line marker at the start of ``period``: (start samples, score)."""
        chip = grid.chip_samples
        t = float(grid.time(period))
        margin = math.ceil((span_chips + 2) * chip) + 4
        lo = math.floor(t) - margin
        hi = math.ceil(t + LINE_MARKER_CHIPS[-1] * chip) + 2 * margin
        x, base = self.reader.read_within(buffer, lo, hi)
        t_found, score = marker_search(
            x, t - base, LINE_MARKER_CHIPS, chip, state.filter, state.sigma2, span_chips
        )
        return t_found + base, score

    def frame_marker_at(self, grid: PeriodGrid, period: int, state: TrackState) -> bool:
        chip = grid.chip_samples
        t = float(grid.time(period))
        margin = math.ceil(4 * chip) + 4
        x, base = self.reader.read(
            math.floor(t) - margin,
            math.ceil(t + FRAME_MARKER_CHIPS[-1] * chip) + 2 * margin,
        )
        _, score = marker_search(
            x, t - base, FRAME_MARKER_CHIPS, chip, state.filter, state.sigma2, 1.0
        )
        return score >= MARKER_THRESHOLD

    def decode_line(
        self, grid: PeriodGrid, period: int, header: PpmHeader, state: TrackState, coast: int
    ) -> tuple[LineResult, float]:
        """Decode the line whose marker is expected at grid ``period``."""
        span = min(1.0 + 0.02 * coast, 4.0)
        margin = (span + 16) * grid.chip_samples + 16
        lo = math.floor(grid.time(period) - margin)
        buffer = self.reader.read(lo, math.ceil(grid.time(period + header.line_periods) + margin))
        t_mark, score = self.line_marker(grid, period, state, span, buffer)
        marker = score >= MARKER_THRESHOLD
        if marker:
            grid.add(period, t_mark, 4.0)
        data = period + 1 + np.arange(header.line_periods - 1)
        grey = np.zeros(data.size, np.int64)
        peak = np.zeros(data.size)
        nonfinite = False
        i = 0
        # Blocks grow as tracking settles; then the whole line is one block.
        while i < data.size:
            size = BLOCK_SCHEDULE[min(state.blocks, len(BLOCK_SCHEDULE) - 1)]
            block = data[i : i + size]
            g, pk, present, bad = self.decode_block(grid, block, state, True, marker, buffer)
            grey[i : i + block.size], peak[i : i + block.size] = g, pk
            nonfinite |= bad
            if present or marker:
                state.blocks += 1
            i += block.size
        # Present: the line's mean decided energy stands clear of the largest of 64 noise
        # windows (4 standard deviations; 2 when the marker was found as well).
        spread = NOISE_MAX_STD / math.sqrt(data.size)
        stat = float(peak.mean())
        present = stat > NOISE_MAX_MEAN + (2.0 if marker else 4.0) * spread
        start = float(grid.time(period))
        stop = float(grid.time(period + header.line_periods))
        nonfinite |= self.reader.erased_within(start, stop)
        return LineResult(present, grey, peak, nonfinite, start, stop, marker), score

    def scan_line_marker(
        self, grid: PeriodGrid, p_lo: int, p_hi: int, state: TrackState
    ) -> int | None:
        """First period in [p_lo, p_hi) that starts with a line marker, or None."""
        chip = grid.chip_samples
        periods = np.arange(p_lo, p_hi)
        starts = grid.time(periods)
        lo = math.floor(starts[0] - 3 * chip) - 4
        x, base = self.reader.read(lo, math.ceil(starts[-1] + 40 * chip) + 8)
        deltas = np.arange(-1.0, 1.01, 0.25) * chip
        chips = np.asarray(LINE_MARKER_CHIPS) * chip
        pos = (starts - base)[:, None, None] + deltas[None, :, None] + chips[None, None, :]
        weights, sigma2 = state.filter.weights, state.sigma2
        scores = marker_scores(x, pos.reshape(-1, chips.size), weights, sigma2, MARKER_PAIR_MIN)
        scores = scores.reshape(periods.size, deltas.size).max(axis=1)
        hits = np.flatnonzero(scores >= MARKER_THRESHOLD + 4.0)
        return int(periods[hits[0]]) if hits.size else None


class ImageTracking:
    """One transmission being decoded, a line per :meth:`step`, from its lock to its end.

    The state between steps is the period grid, the tracking state and the place on the
    grid; a step that needs samples not fed yet leaves them as they were (it raises
    :class:`~groundstation.receivers.ppm_sources.NeedSamples` and runs again later).

    Parameters
    ----------
    tracker : LineTracker
        The line decoder over the receiver's sample buffer.
    lock : ImageLock
        The verified transmission start.
    """

    def __init__(self, tracker: LineTracker, lock: ImageLock):
        self.tracker = tracker
        self.reader = tracker.reader
        self.header = lock.header
        self.grid = lock.grid
        filt = self.reader.filter(self.grid.chip_samples, lock.freq_hz)
        self.state = TrackState(filt, lock.sigma2)
        self.first_start = float(self.grid.time(0))
        self.assembly = ImageAssembly(lock.header, lock.copy_index, self.first_start)
        self.period = PREAMBLE_PERIODS
        self.end_period = PREAMBLE_PERIODS  # period after the last line found
        self.slot = 0
        self.coast = 0
        self.absent = 0
        self.truncated = False
        self.done = False
        self._primed = False
        # the pulse filters of the compiled line tracker, their keys and weights
        self._filters: list[PulseFilter] = []
        self._filter_index: dict[tuple[int, int], int] = {}
        self._filter_keys = np.zeros((0, 2), np.int64)
        self._filter_table = np.zeros((0, 0, 0), np.complex64)

    @property
    def resume_from(self) -> float:
        """Sample where the transmission ends so far (after its last line found)."""
        return float(self.grid.time(self.end_period))

    def step(self) -> bool:
        """Decode the next line (the first step: the header pulses); False once it is over.

        The header and lines it releases wait in :attr:`assembly` (``take_events``).
        """
        if self.done:
            return False
        saved = self.grid.snapshot(), self.state.snapshot()
        try:
            more = self._step()
        except NeedSamples:
            self.grid.restore(saved[0])
            self.state.restore(saved[1])
            raise
        self.done = not more
        return more

    def _step(self) -> bool:
        grid, state, header = self.grid, self.state, self.header
        if not self._primed:
            # Header pulses refine timing and carrier before the first line.
            for first in (1, 1 + HEADER_COPY_PERIODS):
                self.tracker.decode_block(
                    grid, first + np.arange(HEADER_PERIODS), state, True, True
                )
                state.blocks += 1
            self._primed = True
            return True
        if self.slot >= header.sent_lines.size:
            return False
        if self.period - self.end_period > COAST_LIMIT_PERIODS:
            return False  # that long without a line: the transmission is over
        lp = header.line_periods
        period = self.period
        t_line = float(grid.time(period))
        last_window = (lp - 1) * grid.slope + (SLOT_CHIPS[-1] + 2) * grid.chip_samples
        if self.reader.after_end(t_line + last_window):
            self.truncated = True  # the recording ends before this line's last pulse
            return False
        if self.coast == 0 and active_kernel() == "numba":
            # The lines that find their marker and are there, in one compiled call.
            if self._lines_compiled(t_line):
                return True
        res, score = self.tracker.decode_line(grid, period, header, state, self.coast)
        if score < MARKER_THRESHOLD:
            if self.tracker.frame_marker_at(grid, period, state):
                return False  # the next transmission starts here
            # Silent periods inserted before this line? Its marker comes later.
            shift = self.tracker.scan_line_marker(grid, period + 1, period + lp, state)
            if shift is not None:
                # The slots passed over since the last line were silence, not lines.
                self.period, self.slot = shift, self.slot - self.absent
                self.coast = self.absent = 0
                return True
        self.period += lp
        self.slot += 1
        if res.present:
            number = join12(res.grey[0], res.grey[1])
            self.assembly.add(period, number, res, grid, state.filter.capture)
            self.end_period = period + lp
            self.coast = self.absent = 0
        else:
            self.absent += 1
            self.coast += lp
        return True

    def _lines_compiled(self, t_line: float) -> bool:
        """Decode the lines from :attr:`period` on in the compiled kernel for as long as each
        finds its line marker and is there (``ppm_kernels._track_lines_kernel``: what
        :meth:`LineTracker.decode_line` and :meth:`_step` do for such a line, with the same
        numbers). False when the kernel decided none: the next line is one for
        :meth:`LineTracker.decode_line` (a line marker not found, a line not there, a
        non-finite sample, the end of the input). Raises
        :class:`~groundstation.receivers.ppm_sources.NeedSamples`, having changed nothing,
        when the next line's samples have not all come.
        """
        grid, state, header, reader = self.grid, self.state, self.header, self.reader
        lp = header.line_periods
        lines_left = header.sent_lines.size - self.slot
        chip = grid.chip_samples
        lo = max(math.floor(t_line - (17.0 * chip + 16.0)) - 16, reader.first_held)
        if reader.fed - lo < 1 or lines_left < 1:
            return False
        x, x_base = reader.read(lo, reader.fed)
        decoded = 0
        restart = True  # the filter table may start again: no line is half decoded
        while True:
            lines = min(lines_left - decoded, int((reader.fed - lo) / (lp * grid.slope)) + 1)
            points = grid.snapshot()[0]
            n_points = points.shape[0]
            work = np.empty((n_points + lines * (3 + (lp - 1) // BLOCK_SCHEDULE[0]), 3))
            work[:n_points] = points
            if _filter_key(state.filter) not in self._filter_index:  # set in Python
                self._add_filters(state.filter, restart)
            fidx = self._filter_index[_filter_key(state.filter)]
            floats = np.array([grid.p_ref, grid.t_ref, grid.slope, grid.nominal, state.sigma2])
            ints = np.zeros(11, np.int64)
            ints[:6] = n_points, self.period, lines, state.blocks, fidx, lp
            out_grey = np.empty((lines, lp - 1), np.int64)
            out_peak = np.empty((lines, lp - 1))
            out_line = np.empty((lines, 7))
            _track_lines_kernel(
                _as_pairs(x),
                x_base,
                work,
                floats,
                ints,
                self._filter_keys,
                self._filter_table,
                _TRACK_CONSTANTS,
                _SLOT_CHIPS_F8,
                _LINE_MARKER_CHIPS_F8,
                _SCHEDULE,
                out_grey,
                out_peak,
                out_line,
            )
            done, reason, need = int(ints[6]), int(ints[7]), int(ints[8])
            grid.restore((work[: ints[0]].copy(), *floats[:3].tolist()))
            state.sigma2 = float(floats[4])
            state.blocks = int(ints[3])
            state.filter = self._filters[int(ints[4])]
            for k, line in enumerate(out_line[:done].tolist()):
                self._add_compiled_line(out_grey[k], out_peak[k], line)
            decoded += done
            if reason == _NEEDS_FILTER:
                needed = reader.filter(int(ints[9]) * 1e-5, int(ints[10]) * 20.0)
                if needed.taps != self._filters[0].taps:
                    return decoded > 0  # the next line in Python
                # The line it stopped in is decoded again from its start: the table may start
                # again only at the first filter that line asks for (a line was finished in
                # this call), then it keeps every one the line asks for until it is done
                # (started again for each, a wide line whose clock drifts went round forever).
                self._add_filters(needed, restart=done > 0)
                restart = False
                continue
            if reason == _NEEDS_SAMPLES and decoded == 0 and not reader.ended:
                raise NeedSamples(need)
            return decoded > 0

    def _add_compiled_line(self, grey: np.ndarray, peak: np.ndarray, line: list[float]) -> None:
        """Hand a line decoded by the kernel to the image, as :meth:`_step` does (``line``:
        the kernel's row of floats for it)."""
        start, stop = line[0], line[1]
        res = LineResult(
            True, grey, peak, self.reader.erased_within(start, stop), start, stop, True
        )
        period = self.period
        grid = self.grid
        if not self.assembly.confirmed:  # the grid as it was after this line
            grid = copy.copy(self.grid)
            grid.p_ref, grid.t_ref, grid.slope = line[2], line[3], line[4]
        capture = self._filters[int(line[5])].capture
        self.assembly.add(period, join12(grey[0], grey[1]), res, grid, capture)
        self.period += self.header.line_periods
        self.slot += 1
        self.end_period = self.period
        self.coast = self.absent = 0

    def _filters_around(self, filt: PulseFilter, known: list[PulseFilter]) -> list[PulseFilter]:
        """``filt`` and the filters the kernel is likely to ask for after it, those not in
        ``known`` (by :func:`~groundstation.receivers.ppm_sources.filter_key`): the carrier
        :data:`FILTERS_AHEAD_STEPS` steps of 20 Hz either side at the same chip length, and
        the carrier loop's probe triples around it (:meth:`LineTracker.learn`).

        A filter the kernel is not given sends it back here, and the line it was decoding is
        decoded again from its start once the filter is made: one at a time, that happened
        again and again on an image's first lines. The kernel looks filters up by their
        exact key, so the ones made ahead change no number. A new chip length (a clock
        that drifts) still sends it back once.
        """
        chip, freq = filt.chip_samples, filt.freq_hz
        freqs = [freq + 20.0 * k for k in range(-FILTERS_AHEAD_STEPS, FILTERS_AHEAD_STEPS + 1)]
        center = round(freq / 250.0) * 250.0
        for c in (center - 250.0, center, center + 250.0):
            freqs += [c - CARRIER_PROBE_HZ, c, c + CARRIER_PROBE_HZ]
        have = {_filter_key(f) for f in known}
        around = []
        for f_hz in freqs:  # filt's own carrier among them
            key = filter_key(chip, f_hz)
            if key not in have:
                have.add(key)
                around.append(self.reader.filter(chip, f_hz))
        return around

    def _add_filters(self, filt: PulseFilter, restart: bool) -> None:
        """Give the kernel ``filt`` and the filters around it (:meth:`_filters_around`),
        with those it has (of the same number of taps); with ``restart``, without them once
        the table would grow past :data:`FILTER_TABLE_LIMIT`. So the table holds at most
        the limit and what one line asks for. Which filters it holds changes no number (the
        kernel looks them up by key), only how often the kernel comes back for one."""
        kept = self._filters if self._filters and filt.taps == self._filters[0].taps else []
        around = self._filters_around(filt, kept)
        if restart and len(kept) + len(around) > FILTER_TABLE_LIMIT:
            kept, around = [], self._filters_around(filt, [])
        self._use_filters([*kept, *around])

    def _use_filters(self, filters: list[PulseFilter]) -> None:
        """The pulse filters the kernel may switch between (one number of taps)."""
        self._filters = filters
        self._filter_index = {_filter_key(f): i for i, f in enumerate(filters)}
        self._filter_keys = np.array(list(self._filter_index), np.int64).reshape(-1, 2)
        self._filter_table = np.stack([f.weights for f in filters])

    def finish(self) -> DecodedImage | None:
        """The decoded image (None when too few lines were received to believe it)."""
        stop = self.reader.end_or(math.ceil(self.grid.time(self.end_period)))
        return self.assembly.finish(
            self.grid, self.end_period, stop, self.truncated, self.state, self.reader.period0
        )
