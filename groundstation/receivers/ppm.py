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
"""

from __future__ import annotations

import copy
import functools
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from groundstation.errors import DecodeError
from groundstation.receivers.ppm_kernels import (
    Decisions,
    energy_sums,
    marker_scores,
    period_decisions,
    window_energies,
)
from groundstation.results import DecodedImage, ImageHeader, ImageLine, PpmDecodeResult
from signals.formats.ppm import (
    CHIP_RATE_HZ,
    FRAME_MARKER_CHIPS,
    HEADER_COPY_PERIODS,
    HEADER_PERIODS,
    LINE_MARKER_CHIPS,
    MIN_FS_HZ,
    N_LEVELS,
    PERIOD_CHIPS,
    PREAMBLE_PERIODS,
    SLOT_CHIPS,
    PpmFormatError,
    PpmHeader,
    header_check,
    join12,
)

log = logging.getLogger(__name__)

#: Samples mapped at a time when reading a cf32_le file directly (64 MiB).
MAP_WINDOW_SAMPLES: Final = 1 << 23
#: Fractional sample positions tabulated for the window weights.
FRACTION_STEPS: Final = 32
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
#: A marker is present when its four normalised pulse energies sum above this
#: (noise only: Gamma(4) maximised over a short search, P ≈ 1e-5).
MARKER_THRESHOLD: Final = 18.0
#: ... and its two weakest pulses together above this: one or two strong pulses (a data
#: pulse, part of the other marker) with noise never make a marker (noise: P(Gamma(2) > 5)).
MARKER_PAIR_MIN: Final = 5.0
#: Timing measurements kept for the local least-squares fit (periods back from now), and
#: the memory of its exponential weighting: older measurements count less, so the fit
#: follows a drifting clock (the ICD's 1 ppm/h moves the grid by < 0.001 chip within it).
FIT_SPAN_PERIODS: Final = 1500
FIT_MEMORY_PERIODS: Final = 500.0
#: Blocks of periods decoded between timing updates: short while the clock rate is still
#: uncertain, then longer.
BLOCK_SCHEDULE: Final = (4, 8, 16, 32, 64, 128, 256)
#: Mean of the largest of 64 unit exponential variables (harmonic number H_64) and the
#: standard deviation of that largest one.
_NOISE_MAX_MEAN: Final = float(np.sum(1.0 / np.arange(1, N_LEVELS + 1)))
_NOISE_MAX_STD: Final = math.pi / math.sqrt(6.0)


class SampleSource(Protocol):
    """What the receiver reads: a recording or an array (see :class:`ArraySource`)."""

    fs_hz: float
    n_samples: int

    def read(self, start: int, count: int) -> np.ndarray:
        """``count`` complex64 samples from ``start`` (fewer at the end)."""
        ...


class ArraySource:
    """An in-memory array as a :class:`SampleSource`."""

    def __init__(self, samples: np.ndarray, fs_hz: float):
        self.samples = np.asarray(samples, dtype=np.complex64)
        self.fs_hz = float(fs_hz)
        self.n_samples = int(self.samples.size)

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples ``[start, start + count)`` clipped to the array (a view)."""
        start = max(0, int(start))
        return self.samples[start : start + max(0, int(count))]


class MappedCf32Source:
    """A ``cf32_le`` recording read through one read-only memory map at a time.

    The receiver touches the file sparsely and often; mapping a fresh window for every
    read (as :meth:`Recording.read` does) costs more than the reads. Here a window of
    :data:`MAP_WINDOW_SAMPLES` stays mapped until a read falls outside it, so the mapped
    (and resident) size stays bounded whatever the length of the recording.
    """

    def __init__(self, data_path: Any, n_samples: int, fs_hz: float):
        self.data_path = data_path
        self.n_samples = int(n_samples)
        self.fs_hz = float(fs_hz)
        self._map: np.ndarray | None = None
        self._lo = self._hi = 0

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples ``[start, start + count)`` clipped to the file (a read-only view)."""
        start = max(0, int(start))
        stop = min(start + max(0, int(count)), self.n_samples)
        if stop <= start:
            return np.zeros(0, np.complex64)
        if self._map is None or start < self._lo or stop > self._hi:
            self._map = None  # unmap the old window first
            lo = max(0, start - MAP_WINDOW_SAMPLES // 16)
            hi = min(self.n_samples, max(stop, lo + MAP_WINDOW_SAMPLES))
            mapped = np.memmap(
                self.data_path, dtype="<c8", mode="r", offset=lo * 8, shape=(hi - lo,)
            )
            self._map, self._lo, self._hi = mapped.view(np.ndarray), lo, hi
        return self._map[start - self._lo : stop - self._lo]


# ------------------------------------------------------------------------ matched filter


@functools.lru_cache(maxsize=64)
def _chip_geometry(chip_samples: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Overlap of each sample with a chip at each tabulated start fraction (samples), the
    middle of that overlap (samples from the window start), shapes (FRACTION_STEPS, taps),
    and the mean captured fraction of the chip energy."""
    frac = (np.arange(FRACTION_STEPS) + 0.5) / FRACTION_STEPS
    taps = math.ceil(frac[-1] + chip_samples)
    lags = np.arange(taps)
    lo = np.maximum(lags[None, :], frac[:, None])
    hi = np.minimum(lags[None, :] + 1.0, frac[:, None] + chip_samples)
    overlap = np.clip(hi - lo, 0.0, None)
    middle = (lo + hi) / 2
    capture = float(np.mean(np.sum(overlap**2, axis=1)) / chip_samples)
    overlap.flags.writeable = False
    middle.flags.writeable = False
    return overlap, middle, capture


class PulseFilter:
    """Pulse-matched window weights for one chip length and carrier offset.

    ``energies(x, positions)`` returns |z|² of the windows starting at fractional sample
    ``positions`` of ``x``: z = Σ_l x[floor(u) + l]·w_q[l], the weights being the overlap of
    each sample with a chip starting at u (fraction quantised to 1/32 sample), times the
    conjugate carrier across it, normalised to unit noise gain (so noise gives E[|z|²] = σ²).

    Parameters
    ----------
    chip_samples : float
        Chip length in samples (fs/45 kHz, times the clock scale).
    freq_hz : float
        Carrier offset to remove (Hz).
    fs_hz : float
        Sample rate (Hz).
    """

    def __init__(self, chip_samples: float, freq_hz: float, fs_hz: float):
        self.chip_samples = float(chip_samples)
        self.freq_hz = float(freq_hz)
        overlap, middle, capture = _chip_geometry(self.chip_samples)
        #: Samples a chip starting at a tabulated fraction can touch.
        self.taps = overlap.shape[1]
        cycles = freq_hz / fs_hz
        # Integrate-and-dump across each overlap (sinc), de-rotated at its middle.
        amplitude = overlap * np.sinc(cycles * overlap)
        amplitude /= np.sqrt(np.sum(np.square(amplitude), axis=1))[:, None]
        weights = amplitude * np.exp(-2j * np.pi * cycles * middle)
        #: Mean captured pulse energy relative to a whole chip (sampling loss), ≤ 1.
        self.capture = capture
        #: Window weights, shape (FRACTION_STEPS, taps): row q for a chip starting
        #: (q + ½)/32 into the first sample.
        self.weights = weights.astype(np.complex64)

    def energies(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """|z|² (float32) of the windows starting at ``positions`` (samples into ``x``).

        Positions must satisfy 0 <= position and position + taps <= len(x).
        """
        return window_energies(x, positions, self.weights)


def slot_energies(
    x: np.ndarray, period_starts: np.ndarray, chip_samples: float, pulse_filter: PulseFilter
) -> np.ndarray:
    """Energies of the 64 slot windows of each period, shape (periods, 64).

    Parameters
    ----------
    x : ndarray of complex64
        Samples; ``period_starts`` are fractional sample positions into it.
    period_starts : ndarray
        Start of each period (samples into ``x``).
    chip_samples : float
        Chip length (samples).
    pulse_filter : PulseFilter
        Weights for this chip length and carrier offset.
    """
    positions = period_starts[:, None] + (SLOT_CHIPS * chip_samples)[None, :]
    return pulse_filter.energies(x, positions)


def slot_decisions(
    x: np.ndarray, period_starts: np.ndarray, chip_samples: float, pulse_filter: PulseFilter
) -> Decisions:
    """Decided grey level of each period and the energies behind it.

    The decision of :func:`slot_energies` (largest of the 64 slot energies) without
    returning the energies themselves: the compiled kernel of
    :mod:`groundstation.receivers.ppm_kernels` touches only the slot windows and keeps nothing else.
    With it come the energies half a chip either side of the decided window (the
    early-late timing discriminator).

    Parameters
    ----------
    x : ndarray of complex64
        Samples; ``period_starts`` are fractional sample positions into it.
    period_starts : ndarray
        Start of each period (samples into ``x``).
    chip_samples : float
        Chip length (samples).
    pulse_filter : PulseFilter
        Weights for this chip length and carrier offset.

    Returns
    -------
    Decisions
        ``grey`` (int64, 0..63), ``peak`` (|z|² of the decided slot, units of the sample
        power), ``total`` (Σ|z|² over the 64 slots), ``finite`` (False where a window holds a
        non-finite sample; the others are 0 there), ``late`` and ``early`` (|z|² half a chip
        after and before the decided window).
    """
    return period_decisions(
        x, period_starts, SLOT_CHIPS * chip_samples, pulse_filter.weights, 0.5 * chip_samples
    )


def genie_decisions(
    x: np.ndarray,
    period_starts: np.ndarray,
    chip_samples: float,
    freq_hz: np.ndarray | float,
    fs_hz: float,
) -> np.ndarray:
    """Grey-level decisions with timing and carrier known (the ICD's reference receiver).

    Parameters
    ----------
    x : ndarray of complex64
        The samples.
    period_starts : ndarray
        True start of each period (fractional samples).
    chip_samples : float
        True chip length (samples).
    freq_hz : float or ndarray
        True carrier offset (Hz), one value or one per period.
    fs_hz : float
        Sample rate (Hz).
    """
    freq = np.broadcast_to(np.asarray(freq_hz, float), period_starts.shape)
    out = np.zeros(period_starts.size, np.int64)
    # One filter per 100 Hz of carrier: the loss of that rounding is far below 0.01 dB.
    bins = np.round(freq / 100.0)
    for value in np.unique(bins):
        sel = bins == value
        filt = PulseFilter(chip_samples, value * 100.0, fs_hz)
        out[sel] = np.argmax(slot_energies(x, period_starts[sel], chip_samples, filt), axis=1)
    return out


# ------------------------------------------------------------------------ timing model


class _Grid:
    """Period grid: sample time of a period start, as a local weighted straight line."""

    def __init__(self, period0: int, time0: float, period_samples: float):
        self.points: list[tuple[float, float, float]] = [(float(period0), time0, 1.0)]
        self.nominal = period_samples
        self.p_ref, self.t_ref, self.slope = float(period0), time0, period_samples

    def add(self, period: float, time: float, weight: float) -> None:
        self.points.append((float(period), float(time), float(weight)))
        newest = self.points[-1][0]
        keep = [pt for pt in self.points if pt[0] >= newest - FIT_SPAN_PERIODS]
        self.points = keep if len(keep) >= 2 else self.points[-2:]
        self._fit()

    def _fit(self) -> None:
        # A dozen points or so: plain floats beat array operations here.
        newest = max(pt[0] for pt in self.points)
        sw = swp = swt = 0.0
        weighted = []
        for p, t, weight in self.points:
            w = weight * math.exp((p - newest) / FIT_MEMORY_PERIODS)
            weighted.append((w, p, t))
            sw += w
            swp += w * p
            swt += w * t
        p_ref, t_ref = swp / sw, swt / sw
        spread = cross = 0.0
        for w, p, t in weighted:
            spread += w * (p - p_ref) ** 2
            cross += w * (p - p_ref) * (t - t_ref)
        if spread >= 1.0:
            slope = cross / spread
            # A clock can be off by at most ~200 ppm: reject fits outside that.
            if abs(slope / self.nominal - 1.0) < 4e-4:
                self.slope = slope
        self.p_ref, self.t_ref = p_ref, t_ref

    def time(self, periods: np.ndarray | float) -> np.ndarray:
        """Start of ``periods`` (samples, fractional)."""
        if isinstance(periods, (int, float)):
            return self.t_ref + (float(periods) - self.p_ref) * self.slope
        return self.t_ref + (np.asarray(periods, float) - self.p_ref) * self.slope

    @property
    def chip_samples(self) -> float:
        return self.slope / PERIOD_CHIPS


# ------------------------------------------------------------------------ the receiver


@dataclass
class _LineResult:
    present: bool
    grey: np.ndarray
    peak: np.ndarray
    nonfinite: bool
    start: float
    stop: float


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
        self.source = source
        self.fs_hz = float(source.fs_hz)
        self.n_samples = int(source.n_samples)
        self.chip0 = self.fs_hz / CHIP_RATE_HZ
        self.period0 = self.chip0 * PERIOD_CHIPS
        self.on_progress = on_progress or (lambda _: None)
        self.nonfinite = 0
        self._counted_to = 0
        self.warnings: list[str] = []
        self._filters: dict[tuple[int, int], PulseFilter] = {}
        self._carrier_sets: dict[tuple[int, int, float], np.ndarray] = {}

    # ---------------------------------------------------------------- sample access

    def _filter(self, chip_samples: float, freq_hz: float) -> PulseFilter:
        """A :class:`PulseFilter`, cached: chip to 1e-5 sample, carrier to 20 Hz (the loss
        of that rounding is below 0.001 dB)."""
        key = (round(chip_samples * 1e5), round(freq_hz / 20.0))
        filt = self._filters.get(key)
        if filt is None:
            if len(self._filters) > 512:
                self._filters.clear()
            filt = PulseFilter(key[0] * 1e-5, key[1] * 20.0, self.fs_hz)
            self._filters[key] = filt
        return filt

    def _carrier_set(self, chip_samples: float, center_hz: float, step_hz: float) -> np.ndarray:
        """Weights of the filters at ``center_hz`` - step, center, + step, stacked (cached)."""
        key = (round(chip_samples * 1e5), round(center_hz / 20.0), step_hz)
        stack = self._carrier_sets.get(key)
        if stack is None:
            if len(self._carrier_sets) > 512:
                self._carrier_sets.clear()
            filters = [self._filter(chip_samples, center_hz + k * step_hz) for k in (-1, 0, 1)]
            stack = np.stack([filt.weights for filt in filters])
            self._carrier_sets[key] = stack
        return stack

    def _read(self, start: int, stop: int) -> tuple[np.ndarray, int]:
        """Samples ``[start, stop)`` with zeros outside the recording; returns (x, start)."""
        lo, hi = max(start, 0), min(stop, self.n_samples)
        x = self.source.read(lo, max(hi - lo, 0)) if hi > lo else np.zeros(0, np.complex64)
        if lo != start or hi != stop or x.size != hi - lo:
            padded = np.zeros(stop - start, np.complex64)
            padded[lo - start : lo - start + x.size] = x
            x = padded
        return x, start

    def _read_within(
        self, buffer: tuple[np.ndarray, int] | None, start: int, stop: int
    ) -> tuple[np.ndarray, int]:
        """``buffer`` (samples, first sample index) when it covers ``[start, stop)``, else
        :meth:`_read` of that range."""
        if buffer is not None and buffer[1] <= start and stop <= buffer[1] + buffer[0].size:
            return buffer
        return self._read(start, stop)

    def _count_nonfinite(self, x: np.ndarray, start: int) -> int:
        """Count non-finite samples of x (absolute start) not counted before."""
        skip = max(self._counted_to - start, 0)
        if skip < x.size:
            self.nonfinite += int(np.count_nonzero(~np.isfinite(x[skip:])))
            self._counted_to = start + x.size
        return self.nonfinite

    # ---------------------------------------------------------------- acquisition

    def _rotators(self, length: int) -> list[tuple[float, np.ndarray]]:
        """Carrier hypotheses of the scan and their de-rotation phasors (cached)."""
        if getattr(self, "_rot_cache", (0, []))[0] != length:
            n = np.arange(length)
            self._rot_cache = (
                length,
                [
                    (f, np.exp(-2j * np.pi * f / self.fs_hz * n).astype(np.complex64))
                    for f in ACQUISITION_OFFSETS_HZ
                    if abs(f) < 0.5 * self.fs_hz
                ],
            )
        return self._rot_cache[1]

    def _scan_for_frame_marker(self, start: int) -> Iterator[tuple[int, float, float]]:
        """Frame-marker candidates at or after ``start``, in order: (sample, carrier Hz, σ²).

        Each block is scanned once; its candidates (one per cluster of neighbouring hits,
        the best carrier hypothesis) are yielded in order of time.
        """
        chip = self.chip0
        k = max(1, round(chip))
        offsets = np.round(np.array(FRAME_MARKER_CHIPS) * chip).astype(np.intp)
        overlap = int(offsets[-1]) + k + 1
        rotators = self._rotators(ACQUISITION_BLOCK + overlap)
        pos = max(start, 0)
        while pos + overlap < self.n_samples:
            self.on_progress(pos)
            x, _ = self._read(pos, pos + ACQUISITION_BLOCK + overlap)
            self._count_nonfinite(x, pos)
            x = _finite_samples(x)
            power = np.square(x.real) + np.square(x.imag)
            real = min(x.size, self.n_samples - pos)
            sigma2 = float(np.median(power[:real])) / math.log(2.0)
            if sigma2 <= 0.0:
                sigma2 = float(np.mean(power)) or 1.0
            m = min(x.size - overlap, real)
            hits: list[tuple[int, float, float]] = []
            for f, rot in rotators:
                y = x * rot[: x.size]
                chip_sum = y[: y.size - k + 1].copy()  # coherent sum over one chip
                for lag in range(1, k):
                    chip_sum += y[lag : y.size - k + 1 + lag]
                e = np.square(chip_sum.real)
                e += np.square(chip_sum.imag)
                e *= np.float32(1.0 / (k * sigma2))
                parts = [e[o : o + m] for o in offsets]
                total = parts[0] + parts[1] + parts[2] + parts[3]
                low = np.minimum(np.minimum(parts[0], parts[1]), np.minimum(parts[2], parts[3]))
                at = np.flatnonzero((total > ACQ_SUM_THRESHOLD) & (low > ACQ_MIN_THRESHOLD))
                if at.size:
                    # All four pulses must be there: a strong data pulse (or two pulses of
                    # the other marker) with noise is not a marker.
                    four = np.stack([part[at] for part in parts], axis=-1)
                    keep = np.partition(four, 1, axis=-1)[:, :2].sum(-1) > MARKER_PAIR_MIN
                    hits += [(int(i), float(total[i]), f) for i in at[keep]]
            hits.sort()
            i = 0
            while i < len(hits):
                j = i
                while j + 1 < len(hits) and hits[j + 1][0] <= hits[i][0] + 2 * k:
                    j += 1
                at_best, _, f_best = max(hits[i : j + 1], key=lambda h: h[1])
                yield pos + at_best, f_best, sigma2
                i = j + 1
            pos += m
        self.on_progress(self.n_samples)

    def _marker_search(
        self,
        x: np.ndarray,
        t: float,
        chips: tuple[int, ...],
        chip: float,
        filt: PulseFilter,
        sigma2: float,
        span_chips: float,
        step_chips: float = 0.125,
    ) -> tuple[float, float]:
        """Best marker start near ``t`` (samples into x): (start, normalised score)."""
        deltas = np.arange(-span_chips, span_chips + 1e-9, step_chips) * chip
        positions = (t + deltas)[:, None] + (np.asarray(chips) * chip)[None, :]
        scores = marker_scores(x, positions, filt.weights, sigma2, MARKER_PAIR_MIN)
        i = int(np.argmax(scores))
        delta = deltas[i]
        if 0 < i < scores.size - 1:
            a, b, c = scores[i - 1], scores[i], scores[i + 1]
            denom = a - 2 * b + c
            if denom < 0:
                delta += 0.5 * (a - c) / denom * (deltas[1] - deltas[0])
        return t + delta, float(scores[i])

    def _acquire(self, candidate: int, f_guess: float, sigma2: float):
        """Verify a frame-marker candidate; return the image lock or None."""
        chip = self.chip0
        span = int(2 * HEADER_COPY_PERIODS * self.period0)
        base = candidate - span - 64
        x, _ = self._read(base, candidate + 2 * span + int(self.period0) + 64)
        x = _finite_samples(x)
        t = float(candidate - base)
        # Carrier: grid over the marker pulses, at three timing offsets.
        limit = min(MAX_CARRIER_OFFSET_HZ, 0.45 * self.fs_hz)
        freqs = np.arange(f_guess - 9000.0, f_guess + 9001.0, 1000.0)
        freqs = freqs[np.abs(freqs) <= limit + 1000.0]
        best = (-1.0, f_guess, t)
        for f in freqs:
            filt = self._filter(chip, f)
            t_f, score = self._marker_search(
                x, t, FRAME_MARKER_CHIPS, chip, filt, sigma2, 0.75, 0.25
            )
            if score > best[0]:
                best = (score, f, t_f)
        _, f, t = best
        filt = self._filter(chip, f)
        t1, s1 = self._marker_search(x, t, FRAME_MARKER_CHIPS, chip, filt, sigma2, 0.5, 1 / 16)
        if s1 < ACQ_SUM_THRESHOLD:
            return None
        copy_span = HEADER_COPY_PERIODS * self.period0
        t2, s2 = self._marker_search(x, t1 + copy_span, FRAME_MARKER_CHIPS, chip, filt, sigma2, 2.0)
        t0, s0 = self._marker_search(x, t1 - copy_span, FRAME_MARKER_CHIPS, chip, filt, sigma2, 2.0)
        if s0 >= MARKER_THRESHOLD and s0 > s2:
            marks = [(0, t0), (HEADER_COPY_PERIODS, t1)]
        elif s2 >= MARKER_THRESHOLD:
            marks = [(0, t1), (HEADER_COPY_PERIODS, t2)]
        else:
            marks = [(0, t1)]
        candidates = [marks]
        if len(marks) == 1:  # a lone marker may be either copy
            candidates.append([(HEADER_COPY_PERIODS, t1)])
        fallback = None
        for option in candidates:
            grid = _Grid(option[0][0], option[0][1] + base, self.period0)
            for period, time in option[1:]:
                grid.add(period, time + base, 4.0)
            headers = self._read_header(grid, f, sigma2, option)
            # A header is believed when the line markers it predicts are there.
            for header, copy_index in headers:
                lock = self._lines_where_expected(grid, header, f, sigma2)
                if lock is not None:
                    return header, copy_index, lock[0], lock[1], sigma2
            direct = [(h, c) for h, c in headers if c >= 0]
            if direct and fallback is None:
                fallback = (direct[0][0], direct[0][1], grid, f, sigma2)
        return fallback

    def _lines_where_expected(
        self, grid: _Grid, header: PpmHeader, f: float, sigma2: float
    ) -> tuple[_Grid, float] | None:
        """Check ``header`` against the first four line markers and lock onto them.

        The markers are searched one after the other, each found one refining the period
        grid before the next (the search widens with the distance from the last fix). The
        header is believed when at least two are found (one for a one-line image). Returns
        the refined grid and a carrier estimate from all the marker pulses, or None.
        """
        grid = copy.deepcopy(grid)
        n = min(header.sent_lines.size, 4)
        state = {"filter": self._filter(grid.chip_samples, f), "sigma2": sigma2}
        slope_known = len(grid.points) >= 2
        last = max(p for p, _, _ in grid.points)
        marks = [(p, FRAME_MARKER_CHIPS) for p, _, _ in grid.points]
        for j in range(n):
            period = PREAMBLE_PERIODS + header.line_periods * j
            if grid.time(period) + 64 * grid.chip_samples >= self.n_samples:
                break
            # Slope uncertainty: ±200 ppm unknown, or about 0.01 chip per period from a fit.
            per_period = 0.01 if slope_known else 0.1
            span = min(1.0 + per_period * (period - last), 8.0)
            t, score = self._line_marker(grid, period, state, span)
            if score >= MARKER_THRESHOLD:
                grid.add(period, t, 4.0)
                marks.append((period, LINE_MARKER_CHIPS))
                last, slope_known = period, len(grid.points) >= 2
        found = sum(chips == LINE_MARKER_CHIPS for _, chips in marks)
        if found < min(n, 2):
            return None
        return grid, self._refine_carrier(grid, marks, f, sigma2)

    def _refine_carrier(
        self, grid: _Grid, marks: list[tuple[int, tuple[int, ...]]], f: float, sigma2: float
    ) -> float:
        """Carrier offset maximising the marker pulses' energy: grid ±8 kHz, then a parabola."""
        chip = grid.chip_samples
        starts = np.concatenate(
            [float(grid.time(p)) + np.asarray(chips) * chip for p, chips in marks]
        )
        lo = math.floor(starts.min()) - 8
        x, base = self._read(lo, math.ceil(starts.max() + 2 * chip) + 8)
        freqs = f + np.arange(-8000.0, 8001.0, 500.0)
        weight_sets = np.stack([self._filter(chip, fq).weights for fq in freqs])
        energy = energy_sums(x, starts - base, weight_sets)
        if not np.isfinite(energy).all():  # a non-finite sample under a pulse: as zero
            energy = energy_sums(_finite_samples(x), starts - base, weight_sets)
        i = int(np.argmax(energy))
        best = float(freqs[i])
        if 0 < i < freqs.size - 1:
            a, b, c = energy[i - 1], energy[i], energy[i + 1]
            if a - 2 * b + c < 0:
                best += 0.5 * (a - c) / (a - 2 * b + c) * 500.0
        return best

    def _read_header(
        self, grid: _Grid, f: float, sigma2: float, marks
    ) -> list[tuple[PpmHeader, int]]:
        """Header candidates from both copies on ``grid``, most trusted first.

        Each is (header, copy): 0 or 1 for a copy read alone, -1 for the two copies added,
        -2 for the added copies with one doubtful period taken as its runner-up.
        """
        periods = np.concatenate(
            [
                np.arange(1, 1 + HEADER_PERIODS),
                HEADER_COPY_PERIODS + np.arange(1, 1 + HEADER_PERIODS),
            ]
        )
        chip = grid.chip_samples
        starts = grid.time(periods)
        lo = math.floor(starts.min()) - 16
        x, base = self._read(lo, math.ceil(starts.max() + self.period0) + 16)
        x = _finite_samples(x)
        filt = self._filter(chip, f)
        e = slot_energies(x, starts - base, chip, filt)
        e = e.reshape(2, HEADER_PERIODS, N_LEVELS)
        present = [any(p == c * HEADER_COPY_PERIODS for p, _ in marks) for c in range(2)]
        tries = [(c, np.argmax(e[c], axis=1)) for c in range(2) if present[c]]
        # Both copies added non-coherently (about 2.5 dB better than either alone).
        both = e[0] + e[1]
        tries.append((-1, np.argmax(both, axis=1)))
        found: list[tuple[PpmHeader, int]] = []
        for copy_index, values in tries:
            try:
                header = PpmHeader.unpack(values)
            except PpmFormatError:
                continue
            if all(header != h for h, _ in found):
                found.append((header, copy_index))
        if found:
            return found
        # List decoding: the three best levels of the four least certain periods, most
        # likely combinations first; keep those that pass the check (the caller then asks
        # the line markers).
        order = np.argsort(both, axis=1)[:, ::-1][:, :3]
        top = np.take_along_axis(both, order, axis=1)
        doubt = np.argsort(-(top[:, 1] / np.maximum(top[:, 0], 1e-30)))[:4]
        choices = np.stack(np.meshgrid(*([np.arange(3)] * doubt.size), indexing="ij"), -1)
        choices = choices.reshape(-1, doubt.size)
        loss = np.sum(top[doubt, 0][None, :] - top[doubt[None, :], choices], axis=1)
        candidates = np.repeat(order[None, :, 0], choices.shape[0], axis=0)
        candidates[:, doubt] = order[doubt[None, :], choices]
        # Only combinations that pass the check (the first, all best levels, was tried).
        passing = np.flatnonzero(header_check(candidates) == candidates[:, -1])
        passing = passing[passing > 0]
        for index in passing[np.argsort(loss[passing], kind="stable")]:
            try:
                found.append((PpmHeader.unpack(candidates[index]), -2))
            except PpmFormatError:
                continue
            if len(found) >= 3:
                break
        return found

    # ---------------------------------------------------------------- tracking

    def _decode_block(
        self,
        grid: _Grid,
        periods: np.ndarray,
        state: dict[str, Any],
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
        x, base = self._read_within(buffer, lo, hi)
        rel = starts - base
        grey, peak, total, finite, late, early = slot_decisions(x, rel, chip, state["filter"])
        nonfinite = not bool(finite.all())
        if nonfinite:
            self._count_nonfinite(np.asarray(x), base)
        noise = (total - peak) / (N_LEVELS - 1)
        good_noise = noise[finite] if nonfinite else noise
        if good_noise.size:
            state["sigma2"] = 0.9 * state["sigma2"] + 0.1 * float(good_noise.mean())
        sigma2 = state["sigma2"]
        peak_n = peak / sigma2
        if nonfinite:
            stat = float(peak_n[finite].mean()) if finite.any() else 0.0
            n_ok = max(int(np.count_nonzero(finite)), 1)
        else:
            stat, n_ok = float(peak_n.mean()), peak_n.size
        present = stat > _NOISE_MAX_MEAN + 4.0 * _NOISE_MAX_STD / math.sqrt(n_ok)
        if learn and (present or hint):
            use = finite & (peak_n > 4.0)
            if np.count_nonzero(use) >= 2:
                pos = rel[use] + SLOT_CHIPS[grey[use]] * chip
                self._learn(x, pos, peak[use], late[use], early[use], grid, periods[use], state)
        return grey, peak_n, present, nonfinite

    def _learn(
        self,
        x: np.ndarray,
        positions: np.ndarray,
        peak: np.ndarray,
        late: np.ndarray,
        early: np.ndarray,
        grid: _Grid,
        periods: np.ndarray,
        state: dict[str, Any],
    ) -> None:
        """Early-late timing and three-point carrier updates from decided pulses.

        ``late`` and ``early`` are the energies half a chip either side of the pulses."""
        chip = grid.chip_samples
        filt: PulseFilter = state["filter"]
        sigma2 = state["sigma2"]
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
        step = 6000.0
        f = filt.freq_hz
        center = round(f / 250.0) * 250.0
        a, b, c = energy_sums(x, positions + delta, self._carrier_set(chip, center, step))
        denom = a - 2 * b + c
        f_new = f
        if denom < 0:
            vertex = center + min(max(0.5 * (a - c) / denom * step, -step), step)
            f_new = f + min(1.0, peak.size / 64.0) * 0.5 * (vertex - f)
        state["filter"] = self._filter(grid.chip_samples, f_new)

    def _line_marker(
        self,
        grid: _Grid,
        period: int,
        state: dict[str, Any],
        span_chips: float,
        buffer: tuple[np.ndarray, int] | None = None,
    ) -> tuple[float, float]:
        """Search a line marker at the start of ``period``: (start samples, score)."""
        chip = grid.chip_samples
        t = float(grid.time(period))
        margin = math.ceil((span_chips + 2) * chip) + 4
        lo = math.floor(t) - margin
        hi = math.ceil(t + LINE_MARKER_CHIPS[-1] * chip) + 2 * margin
        x, base = self._read_within(buffer, lo, hi)
        t_found, score = self._marker_search(
            x, t - base, LINE_MARKER_CHIPS, chip, state["filter"], state["sigma2"], span_chips
        )
        return t_found + base, score

    def _frame_marker_at(self, grid: _Grid, period: int, state: dict[str, Any]) -> bool:
        chip = grid.chip_samples
        t = float(grid.time(period))
        margin = math.ceil(4 * chip) + 4
        x, base = self._read(
            math.floor(t) - margin,
            math.ceil(t + FRAME_MARKER_CHIPS[-1] * chip) + 2 * margin,
        )
        _, score = self._marker_search(
            x, t - base, FRAME_MARKER_CHIPS, chip, state["filter"], state["sigma2"], 1.0
        )
        return score >= MARKER_THRESHOLD

    def _decode_line(
        self, grid: _Grid, period: int, header: PpmHeader, state: dict[str, Any], coast: int
    ) -> tuple[_LineResult, float]:
        """Decode the line whose marker is expected at grid ``period``."""
        span = min(1.0 + 0.02 * coast, 4.0)
        margin = (span + 16) * grid.chip_samples + 16
        lo = math.floor(grid.time(period) - margin)
        buffer = self._read(lo, math.ceil(grid.time(period + header.line_periods) + margin))
        t_mark, score = self._line_marker(grid, period, state, span, buffer)
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
            size = BLOCK_SCHEDULE[min(state["blocks"], len(BLOCK_SCHEDULE) - 1)]
            block = data[i : i + size]
            g, pk, present, bad = self._decode_block(grid, block, state, True, marker, buffer)
            grey[i : i + block.size], peak[i : i + block.size] = g, pk
            nonfinite |= bad
            if present or marker:
                state["blocks"] += 1
            i += block.size
        # Present: the line's mean decided energy stands clear of the largest of 64 noise
        # windows (4 standard deviations; 2 when the marker was found as well).
        spread = _NOISE_MAX_STD / math.sqrt(data.size)
        stat = float(peak.mean())
        present = stat > _NOISE_MAX_MEAN + (2.0 if marker else 4.0) * spread
        start = float(grid.time(period))
        stop = float(grid.time(period + header.line_periods))
        return _LineResult(present, grey, peak, nonfinite, start, stop), score

    def _decode_image(self, header: PpmHeader, copy: int, grid: _Grid, f: float, sigma2: float):
        chip = grid.chip_samples
        state: dict[str, Any] = {
            "filter": self._filter(chip, f),
            "sigma2": sigma2,
            "blocks": 0,
        }
        # Header pulses refine timing and carrier before the first line.
        for first in (1, 1 + HEADER_COPY_PERIODS):
            self._decode_block(grid, first + np.arange(HEADER_PERIODS), state, True, True)
            state["blocks"] += 1
        first_start = float(grid.time(0))
        lp = header.line_periods
        period = PREAMBLE_PERIODS
        slots = header.sent_lines.size
        found: list[tuple[int, int, _LineResult]] = []  # (period, number read, result)
        coast = absent = 0
        slot = 0
        truncated = False
        end_period = period
        while slot < slots:
            t_line = float(grid.time(period))
            last_window = (lp - 1) * grid.slope + (SLOT_CHIPS[-1] + 2) * grid.chip_samples
            if t_line + last_window > self.n_samples:
                truncated = True  # the recording ends before this line's last pulse
                break
            self.on_progress(int(t_line))
            res, score = self._decode_line(grid, period, header, state, coast)
            if score < MARKER_THRESHOLD:
                if self._frame_marker_at(grid, period, state):
                    break  # the next transmission starts here
                # Silent periods inserted before this line? Its marker comes later.
                shift = self._scan_line_marker(grid, period + 1, period + lp, state)
                if shift is not None:
                    # The slots passed over since the last line were silence, not lines.
                    period, slot = shift, slot - absent
                    coast = absent = 0
                    continue
            if res.present:
                found.append((period, join12(res.grey[0], res.grey[1]), res))
                end_period = period + lp
                period += lp
                slot += 1
                coast = absent = 0
                continue
            period += lp
            slot += 1
            absent += 1
            coast += lp
        return self._assemble(header, copy, grid, first_start, found, end_period, truncated, state)

    def _scan_line_marker(
        self, grid: _Grid, p_lo: int, p_hi: int, state: dict[str, Any]
    ) -> int | None:
        """First period in [p_lo, p_hi) that starts with a line marker, or None."""
        chip = grid.chip_samples
        periods = np.arange(p_lo, p_hi)
        starts = grid.time(periods)
        lo = math.floor(starts[0] - 3 * chip) - 4
        x, base = self._read(lo, math.ceil(starts[-1] + 40 * chip) + 8)
        deltas = np.arange(-1.0, 1.01, 0.25) * chip
        chips = np.asarray(LINE_MARKER_CHIPS) * chip
        pos = (starts - base)[:, None, None] + deltas[None, :, None] + chips[None, None, :]
        weights, sigma2 = state["filter"].weights, state["sigma2"]
        scores = marker_scores(x, pos.reshape(-1, chips.size), weights, sigma2, MARKER_PAIR_MIN)
        scores = scores.reshape(periods.size, deltas.size).max(axis=1)
        hits = np.flatnonzero(scores >= MARKER_THRESHOLD + 4.0)
        return int(periods[hits[0]]) if hits.size else None

    def _assemble(self, header, copy, grid, first_start, found, end_period, truncated, state):
        step = header.line_step
        valid = set(header.sent_lines.tolist())
        lp = header.line_periods
        final, corrected = _line_numbers(
            [p for p, _, _ in found], [n for _, n, _ in found], lp, step, valid
        )
        grey = np.zeros((header.lines, header.pixels), np.int16)
        received = np.zeros(header.lines, bool)
        line_snr = np.full(header.lines, np.nan)
        lines: list[ImageLine] = []
        nonfinite_lines: list[int] = []
        sigma_capture = state["filter"].capture
        peaks: list[np.ndarray] = []
        for (_, _, res), number in zip(found, final, strict=True):
            if number is None or received[number]:
                continue
            if res.nonfinite:
                nonfinite_lines.append(number)
                continue
            received[number] = True
            grey[number] = res.grey[4:]
            snr = _esn0_db(res.peak, sigma_capture)
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
        snr_db = _esn0_db(np.concatenate(peaks), sigma_capture) if peaks else float("nan")
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
            sample_count=max(min(stop, self.n_samples) - max(start, 0), 0),
            header=received_header,
            received_lines=tuple(lines),
            carrier_offset_hz=float(state["filter"].freq_hz),
            clock_ppm=(grid.slope / self.period0 - 1.0) * 1e6,
            corrected_lines=sorted(set(corrected)),
            nonfinite_lines=nonfinite_lines,
            truncated=truncated,
        )

    # ---------------------------------------------------------------- driver

    def _next_image(self, start: int) -> DecodedImage | None:
        """The first image whose frame marker is at or after ``start``, or None."""
        for candidate, f_guess, sigma2 in self._scan_for_frame_marker(start):
            lock = self._acquire(candidate, f_guess, sigma2)
            if lock is None:
                continue
            header, copy_index, grid, f, sigma2 = lock
            image = self._decode_image(header, copy_index, grid, f, sigma2)
            if image.received.any():
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
                    f"image {image.image_id}: {len(image.nonfinite_lines)} line(s) lost to "
                    "non-finite samples"
                )
            pos = max(image.sample_start + image.sample_count, pos + 1)
        skipped = []
        cursor = 0
        for image in images:
            if image.sample_start > cursor:
                skipped.append((cursor, image.sample_start))
            cursor = max(cursor, image.sample_start + image.sample_count)
        if cursor < self.n_samples:
            skipped.append((cursor, self.n_samples))
        for message in self.warnings:
            log.warning(message)
        return PpmDecodeResult(images, skipped, self.nonfinite, list(self.warnings))


def _finite_samples(x: np.ndarray) -> np.ndarray:
    """``x`` itself when every sample is finite, else a copy with NaN/Inf set to zero."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    x = np.array(x)
    x[bad] = 0
    return x


def _line_numbers(
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


def _esn0_db(peak_normalised: np.ndarray, capture: float) -> float:
    """Es/N0 (dB) from decided-slot energies in units of the window noise energy.

    E[peak] = 1 + γ·capture for a unit-noise window, capture being the mean fraction of
    the pulse energy the sampled window keeps.
    """
    excess = float(np.mean(peak_normalised)) - 1.0
    if excess <= 0:
        return float("nan")
    return 10.0 * math.log10(excess / capture)


def decode_ppm(
    source: SampleSource, *, on_progress: Callable[[int], None] | None = None
) -> PpmDecodeResult:
    """Decode every PPM image in ``source`` (a recording or :class:`ArraySource`).

    A ``cf32_le`` recording is read through :class:`MappedCf32Source`; any other source
    through its own ``read``.
    """
    if getattr(source, "datatype", None) == "cf32_le" and hasattr(source, "data_path"):
        source = MappedCf32Source(source.data_path, source.n_samples, source.fs_hz)
    return PpmReceiver(source, on_progress).run()
