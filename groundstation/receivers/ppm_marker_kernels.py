"""Compiled marker search of the PPM receiver: a search window of marker starts in one call.

:func:`~groundstation.receivers.ppm_detect.marker_search` scores a marker (line or frame)
at starts around a guess, takes the best and refines it by a parabola through its
neighbours' scores. In numpy that is a dozen small array operations per search, and a
frame-marker candidate asks for 23 searches (a carrier grid of 19 filters, then three on
the best), a line for one or two: on noise and on narrow images those calls cost more than
the samples they read. Here a whole search, and a search over several filters at once
(:func:`marker_search_sets`), is one compiled call, in the reference's arithmetic: scores
as :func:`~groundstation.receivers.ppm_kernels.marker_scores_numpy` (strict floating point),
the first best start, and the parabola in float32 as
:func:`signals.dsp.parabolic_offset` computes it on float32 scores. The results are the
same numbers as the numpy path (tested).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from groundstation.receivers.compiled import kernel
from groundstation.receivers.ppm_kernels import NUMBA_AVAILABLE, _as_pairs


@functools.lru_cache(maxsize=256)
def search_deltas(span_chips: float, step_chips: float, chip: float) -> np.ndarray:
    """Offsets of the starts searched from the guess (samples), as the numpy path has them."""
    deltas = np.arange(-span_chips, span_chips + 1e-9, step_chips) * chip
    deltas.flags.writeable = False
    return deltas


if NUMBA_AVAILABLE:

    @kernel("f4[::1], f8, f8[::1], f8[::1], c8[:, ::1], f4, f4, f4[::1]")
    def _search_kernel(xf, t, deltas, chip_offsets, weights, noise_energy, pair_min, scores):
        """Best start (samples into x) and its score for one filter; ``scores`` is scratch."""
        fractions, taps = weights.shape
        n = xf.size // 2
        pulses = chip_offsets.size
        e = np.empty(pulses, np.float32)
        for r in range(deltas.size):
            start = t + deltas[r]
            total = np.float32(0.0)
            for k in range(pulses):
                u = start + chip_offsets[k]
                first = math.floor(u)
                q = int((u - first) * fractions)
                i = int(first)
                if i < 0 or i + taps > n:
                    raise IndexError("PPM window samples fall outside the samples given")
                zr = np.float32(0.0)
                zi = np.float32(0.0)
                for lag in range(taps):
                    ar = xf[2 * (i + lag)]
                    ai = xf[2 * (i + lag) + 1]
                    w = weights[q, lag]
                    br = w.real
                    bi = w.imag
                    zr += ar * br - ai * bi
                    zi += ar * bi + ai * br
                e[k] = (zr * zr + zi * zi) / noise_energy
                total += e[k]
            lo1 = np.float32(np.inf)
            lo2 = np.float32(np.inf)
            for k in range(pulses):
                if e[k] < lo1:
                    lo2 = lo1
                    lo1 = e[k]
                elif e[k] < lo2:
                    lo2 = e[k]
            pair = lo1 + lo2
            score = total if pair >= pair_min else pair
            scores[r] = score if math.isfinite(score) else np.float32(0.0)
        best = 0
        for r in range(1, deltas.size):
            if scores[r] > scores[best]:
                best = r
        delta = deltas[best]
        if 0 < best < deltas.size - 1:
            a = scores[best - 1]
            b = scores[best]
            c = scores[best + 1]
            curvature = a - np.float32(2.0) * b + c
            if curvature < 0:
                offset = np.float32(0.5) * (a - c) / curvature
                offset = min(max(offset, np.float32(-1.0)), np.float32(1.0))
                delta += np.float64(offset) * (deltas[1] - deltas[0])
        return t + delta, scores[best]

    @kernel("f4[::1], f8, f8[::1], f8[::1], c8[:, :, ::1], f4, f4, f8[::1], f4[::1]")
    def _search_sets_kernel(
        xf, t, deltas, chip_offsets, weight_sets, noise_energy, pair_min, out_t, out_score
    ):
        scores = np.empty(deltas.size, np.float32)
        for j in range(weight_sets.shape[0]):
            out_t[j], out_score[j] = _search_kernel(
                xf, t, deltas, chip_offsets, weight_sets[j], noise_energy, pair_min, scores
            )


def marker_search_compiled(
    x: np.ndarray,
    t: float,
    chip_offsets: np.ndarray,
    deltas: np.ndarray,
    weights: np.ndarray,
    noise_energy: float,
    pair_min: float,
) -> tuple[float, float]:
    """Best marker start near ``t`` (samples into ``x``) and its score, for one filter.

    Parameters
    ----------
    x : ndarray of complex64
        Samples.
    t : float
        Guessed marker start (samples into ``x``).
    chip_offsets : ndarray of float64
        Start of each marker pulse from the marker start (samples).
    deltas : ndarray of float64
        Starts searched, from ``t`` (samples; see :func:`search_deltas`).
    weights : ndarray of complex64, shape (fractions, taps)
        Pulse filter weights.
    noise_energy : float
        Mean noise energy of a window (σ²).
    pair_min : float
        Least score of the two weakest pulses of a marker.
    """
    scores = np.empty(deltas.size, np.float32)
    found, score = _search_kernel(
        _as_pairs(x),
        float(t),
        deltas,
        chip_offsets,
        weights,
        np.float32(noise_energy),
        np.float32(pair_min),
        scores,
    )
    return float(found), float(score)


def marker_search_sets(
    x: np.ndarray,
    t: float,
    chip_offsets: np.ndarray,
    deltas: np.ndarray,
    weight_sets: np.ndarray,
    noise_energy: float,
    pair_min: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`marker_search_compiled` for each filter of ``weight_sets`` (sets, fractions,
    taps): the best starts (float64) and their scores (float32), one per filter."""
    sets = weight_sets.shape[0]
    out_t = np.empty(sets, np.float64)
    out_score = np.empty(sets, np.float32)
    _search_sets_kernel(
        _as_pairs(x),
        float(t),
        deltas,
        chip_offsets,
        weight_sets,
        np.float32(noise_energy),
        np.float32(pair_min),
        out_t,
        out_score,
    )
    return out_t, out_score
