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

import numpy as np

from groundstation.receivers.ppm_kernels import NUMBA_AVAILABLE, _as_pairs


@functools.lru_cache(maxsize=256)
def search_deltas(span_chips: float, step_chips: float, chip: float) -> np.ndarray:
    """Offsets of the starts searched from the guess (samples), as the numpy path has them."""
    deltas = np.arange(-span_chips, span_chips + 1e-9, step_chips) * chip
    deltas.flags.writeable = False
    return deltas


if NUMBA_AVAILABLE:
    # The search kernels live beside the line tracker's (ppm_kernels), which calls them.
    from groundstation.receivers.ppm_kernels import _search_kernel, _search_sets_kernel


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
