"""PPM pulse detection (ICD §3): pulse-matched windows, slot decisions, marker scores.

Each window is matched to the sampled pulse: the weight of a sample is its overlap with the
chip (integrate-and-dump sampling) times the conjugate of the carrier across it. The weights
are tabulated for 32 fractional positions and one carrier offset (:class:`PulseFilter`); the
window sums run in :mod:`groundstation.receivers.ppm_kernels`.
"""

from __future__ import annotations

import functools
import math
from typing import Final

import numpy as np

from groundstation.receivers.ppm_kernels import (
    Decisions,
    active_kernel,
    marker_scores,
    period_decisions,
    window_energies,
)
from groundstation.receivers.ppm_marker_kernels import (
    marker_search_compiled,
    marker_search_sets,
    search_deltas,
)
from signals.dsp import parabolic_offset
from signals.formats.ppm import N_LEVELS, SLOT_CHIPS

#: Fractional sample positions tabulated for the window weights.
FRACTION_STEPS: Final = 32

#: A marker is present when its four normalised pulse energies sum above this
#: (noise only: Gamma(4) maximised over a short search, P ≈ 1e-5).
MARKER_THRESHOLD: Final = 18.0
#: ... and its two weakest pulses together above this: one or two strong pulses (a data
#: pulse, part of the other marker) with noise never make a marker (noise: P(Gamma(2) > 5)).
MARKER_PAIR_MIN: Final = 5.0

#: Mean of the largest of 64 unit exponential variables (harmonic number H_64) and the
#: standard deviation of that largest one.
NOISE_MAX_MEAN: Final = float(np.sum(1.0 / np.arange(1, N_LEVELS + 1)))
NOISE_MAX_STD: Final = math.pi / math.sqrt(6.0)


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
    early-late timing discriminator). The parameters are those of :func:`slot_energies`.

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


@functools.lru_cache(maxsize=64)
def _chip_offsets(chips: tuple[int, ...], chip: float) -> np.ndarray:
    offsets = np.asarray(chips) * chip
    offsets.flags.writeable = False
    return offsets


def marker_search(
    x: np.ndarray,
    t: float,
    chips: tuple[int, ...],
    chip: float,
    filt: PulseFilter,
    sigma2: float,
    span_chips: float,
    step_chips: float = 0.125,
) -> tuple[float, float]:
    """Best marker start near ``t`` (samples into x): (start, normalised score).

    One compiled call (:mod:`~groundstation.receivers.ppm_marker_kernels`) unless
    :func:`~groundstation.receivers.ppm_kernels.active_kernel` says ``"numpy"``; the same
    numbers either way.
    """
    if active_kernel() == "numba":
        return marker_search_compiled(
            x,
            t,
            _chip_offsets(tuple(chips), chip),
            search_deltas(span_chips, step_chips, chip),
            filt.weights,
            sigma2,
            MARKER_PAIR_MIN,
        )
    deltas = np.arange(-span_chips, span_chips + 1e-9, step_chips) * chip
    positions = (t + deltas)[:, None] + (np.asarray(chips) * chip)[None, :]
    scores = marker_scores(x, positions, filt.weights, sigma2, MARKER_PAIR_MIN)
    i = int(np.argmax(scores))
    delta = deltas[i]
    if 0 < i < scores.size - 1:
        delta += parabolic_offset(scores[i - 1], scores[i], scores[i + 1]) * (deltas[1] - deltas[0])
    return t + delta, float(scores[i])


def marker_search_filters(
    x: np.ndarray,
    t: float,
    chips: tuple[int, ...],
    chip: float,
    filters: list[PulseFilter],
    sigma2: float,
    span_chips: float,
    step_chips: float = 0.125,
    *,
    stacked: np.ndarray | None = None,
) -> list[tuple[float, float]]:
    """:func:`marker_search` with each of ``filters`` (a carrier grid): one compiled call.

    ``stacked``: the filters' weights stacked (``np.stack``), when the caller keeps them."""
    if active_kernel() == "numba":
        if stacked is None:
            stacked = np.stack([filt.weights for filt in filters])
        found, scores = marker_search_sets(
            x,
            t,
            _chip_offsets(tuple(chips), chip),
            search_deltas(span_chips, step_chips, chip),
            stacked,
            sigma2,
            MARKER_PAIR_MIN,
        )
        return list(zip(found.tolist(), scores.tolist(), strict=True))
    return [
        marker_search(x, t, chips, chip, filt, sigma2, span_chips, step_chips) for filt in filters
    ]


def esn0_db(peak_normalised: np.ndarray, capture: float) -> float:
    """Es/N0 (dB) from decided-slot energies in units of the window noise energy.

    E[peak] = 1 + γ·capture for a unit-noise window, capture being the mean fraction of
    the pulse energy the sampled window keeps.
    """
    peak = np.asarray(peak_normalised)
    if peak.size == 0:
        return float("nan")
    # np.mean's own sum and division, in the input's precision (numpy 1 divides a float32
    # scalar in float64), without its dispatch: a few microseconds a line
    total = np.add.reduce(peak, axis=None)
    excess = float(total.dtype.type(total / peak.size)) - 1.0
    if excess <= 0:
        return float("nan")
    return 10.0 * math.log10(excess / capture)
