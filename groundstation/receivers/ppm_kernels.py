"""Inner loops of the PPM receiver: pulse-matched window energies and per-period decisions.

Two implementations of each, giving the same numbers to float32 rounding:

- the numpy reference (``*_numpy``): a few vectorised operations per tap over all windows;
- the compiled kernel (``*_numba``): one pass per window, summing its few samples in
  registers, so that nothing but the decided values leaves it. Once the timing is known
  this touches only the samples of the slot windows and makes no temporaries.

The receiver calls the dispatching functions (:func:`window_energies`,
:func:`period_decisions`, :func:`energy_sums`, :func:`marker_scores`; each made by
:func:`dispatching`, as the scan's), which use the compiled kernel when numba imports and
the environment variable ``MARS1_NO_NUMBA`` is not ``1``; the numpy reference stays the
definition the kernel is tested against. The frame-marker scan is in
:mod:`~groundstation.receivers.ppm_scan`, a whole marker search in
:mod:`~groundstation.receivers.ppm_marker_kernels`.

The kernels are compiled on first use and cached beside this module (``cache=True``): the
first use ever costs about two seconds, a new process then loads them in about a third
of a second. Each kernel sees one array type only (see :func:`_as_pairs`), so there is
one compiled version of each. A compiled kernel calls compiled helpers of its own module
only: numba's cache notices a change to a kernel's own file, not to another module's
(which is why :mod:`~groundstation.receivers.ppm_marker_kernels` writes its window sum out
rather than calling ``_window_energy`` here).

A window starting at fractional sample ``u`` is ``z = Σ_l x[floor(u) + l] · w[q, l]`` with
``q = floor(frac(u) · F)`` the tabulated fraction (``F`` = rows of ``w``); its energy is |z|².
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Final, NamedTuple, TypeVar

import numpy as np

from groundstation.receivers.compiled import COMPILED, active_kernel, kernel
from groundstation.receivers.compiled import NO_NUMBA_ENV as NO_NUMBA_ENV  # re-exported

#: True when the compiled kernels can be used at all.
NUMBA_AVAILABLE: Final = COMPILED
#: Periods decided together by the compiled kernel (independent memory streams).
PERIOD_GROUP: Final = 8

F = TypeVar("F", bound=Callable[..., object])


def dispatching(reference: F, compiled: F) -> F:
    """The function the receiver calls: ``compiled`` unless :func:`active_kernel` says
    ``"numpy"``, then ``reference``; it carries the reference's name (without ``_numpy``),
    signature and docstring.

    Parameters
    ----------
    reference : callable
        The numpy reference (``*_numpy``), the definition.
    compiled : callable
        The compiled version (``*_numba``): the same arguments and results.
    """

    @functools.wraps(reference)
    def dispatch(*args, **kwargs):
        if active_kernel() == "numba":
            return compiled(*args, **kwargs)
        return reference(*args, **kwargs)

    dispatch.__name__ = dispatch.__qualname__ = reference.__name__.removesuffix("_numpy")
    dispatch.__doc__ = (
        f"``{compiled.__name__}`` or, when :func:`active_kernel` says so, "
        f"``{reference.__name__}``:\n\n{reference.__doc__ or ''}"
    )
    return dispatch  # type: ignore[return-value]


def _check_bounds(first: np.ndarray, taps: int, n_samples: int) -> None:
    if first.size and (first.min() < 0 or first.max() + taps > n_samples):
        raise IndexError(
            f"window samples [{int(first.min())}, {int(first.max()) + taps}) "
            f"fall outside the {n_samples} samples given"
        )


# ------------------------------------------------------------------------ numpy reference


def window_energies_numpy(x: np.ndarray, positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """|z|² (float32) of the windows starting at ``positions`` (numpy reference).

    Parameters
    ----------
    x : ndarray of complex64, shape (n,)
        Samples.
    positions : ndarray of float
        Window starts (fractional samples into ``x``), any shape.
    weights : ndarray of complex64, shape (fractions, taps)
        Window weights, one row per tabulated fraction of a sample.

    Returns
    -------
    ndarray of float32, shape of ``positions``
    """
    fractions, taps = weights.shape
    positions = np.asarray(positions, dtype=np.float64)
    first = np.floor(positions)
    q = ((positions - first) * fractions).astype(np.intp)
    index = first.astype(np.intp)
    _check_bounds(index, taps, x.size)
    by_tap = weights.T
    # Non-finite samples are erasures the caller looks for: no warnings on the way.
    with np.errstate(invalid="ignore", over="ignore"):
        z = x[index] * by_tap[0][q]
        for lag in range(1, taps):
            index += 1
            z += x[index] * by_tap[lag][q]
        return np.square(z.real) + np.square(z.imag)


class Decisions(NamedTuple):
    """Per-period decisions of :func:`period_decisions` (arrays of shape (periods,)).

    Attributes
    ----------
    grey : ndarray of int64
        Index of the slot of largest energy (the first one on a tie); 0 where not finite.
    peak : ndarray of float32
        Its energy |z|²; 0 where not finite.
    total : ndarray of float32
        Sum of the energies of all slots of the period; 0 where not finite.
    finite : ndarray of bool
        False for a period with a non-finite slot energy (a NaN or Inf sample in a window).
    late, early : ndarray of float32
        |z|² of the windows ``flank_samples`` after and before the decided one (for an
        early-late timing discriminator); 0 where not finite.
    """

    grey: np.ndarray
    peak: np.ndarray
    total: np.ndarray
    finite: np.ndarray
    late: np.ndarray
    early: np.ndarray


def period_decisions_numpy(
    x: np.ndarray,
    period_starts: np.ndarray,
    slot_offsets: np.ndarray,
    weights: np.ndarray,
    flank_samples: float,
) -> Decisions:
    """Decided slot of each period and its statistics (numpy reference).

    Parameters
    ----------
    x : ndarray of complex64
        Samples.
    period_starts : ndarray of float, shape (periods,)
        Period starts (fractional samples into ``x``).
    slot_offsets : ndarray of float, shape (slots,)
        Start of each slot window relative to its period start (samples).
    weights : ndarray of complex64, shape (fractions, taps)
        Window weights (see :func:`window_energies_numpy`).
    flank_samples : float
        Offset of the late and early windows from the decided one (samples).
    """
    starts = np.asarray(period_starts, dtype=np.float64)
    e = window_energies_numpy(x, starts[:, None] + slot_offsets[None, :], weights)
    finite = np.isfinite(e).all(axis=1)
    if not finite.all():
        e[~finite] = 0.0
    grey = np.argmax(e, axis=1).astype(np.int64)
    peak = e[np.arange(grey.size), grey]
    total = np.sum(e, axis=1, dtype=np.float32)
    at = starts + slot_offsets[grey]
    late, early = window_energies_numpy(
        x, at + np.array([[flank_samples], [-flank_samples]]), weights
    )
    late[~finite] = 0.0
    early[~finite] = 0.0
    return Decisions(grey, peak, total, finite, late, early)


def energy_sums_numpy(x: np.ndarray, positions: np.ndarray, weight_sets: np.ndarray) -> np.ndarray:
    """Σ|z|² over the windows at ``positions``, for each of several weight tables (reference).

    Parameters
    ----------
    x : ndarray of complex64
        Samples.
    positions : ndarray of float, shape (n,)
        Window starts (fractional samples into ``x``).
    weight_sets : ndarray of complex64, shape (sets, fractions, taps)
        Weight tables (see :func:`window_energies_numpy`).

    Returns
    -------
    ndarray of float64, shape (sets,)
    """
    return np.array(
        [
            float(np.sum(window_energies_numpy(x, positions, w), dtype=np.float64))
            for w in weight_sets
        ]
    )


def marker_scores_numpy(
    x: np.ndarray, positions: np.ndarray, weights: np.ndarray, noise_energy: float, pair_min: float
) -> np.ndarray:
    """Marker score of each row of pulse windows (numpy reference).

    The energies of a row's windows, over ``noise_energy``, add up to its score;
    when its two weakest windows together fall below ``pair_min``, only those two count (a
    strong pulse or two with noise is no marker). A non-finite score is 0.

    Parameters
    ----------
    x : ndarray of complex64
        Samples.
    positions : ndarray of float, shape (candidates, pulses)
        Window starts (fractional samples into ``x``), one row per candidate marker start.
    weights : ndarray of complex64, shape (fractions, taps)
        Window weights (see :func:`window_energies_numpy`).
    noise_energy : float
        Mean noise energy of a window (σ²): the energies are counted in units of it.
    pair_min : float
        Least score of the two weakest pulses of a marker.

    Returns
    -------
    ndarray of float32, shape (candidates,)
    """
    energies = window_energies_numpy(x, positions, weights) / np.float32(noise_energy)
    with np.errstate(invalid="ignore"):
        pair = np.partition(energies, 1, axis=-1)[..., :2].sum(axis=-1)
        total = energies.sum(axis=-1)
        score = np.where(pair >= pair_min, total, pair)
    return np.where(np.isfinite(score), score, np.float32(0.0))


# ------------------------------------------------------------------------ compiled kernels


def copy_finite_numpy(src: np.ndarray, dst: np.ndarray) -> bool:
    """Copy complex64 samples ``src`` into ``dst`` (same size); whether all are finite
    (numpy reference: the copy, then one sum over it, which NaN and Inf propagate through;
    a sum that overflows says not finite as well, and the caller then looks sample by
    sample)."""
    dst[...] = src
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.isfinite(np.add.reduce(dst.view(np.float32))))


# Reassociation and contraction only: no assumption of finite values (NaN and Inf samples
# are erasures the receiver must see).
_FASTMATH: Final = {"reassoc", "contract", "nsz", "arcp"}

if NUMBA_AVAILABLE:

    @kernel(fastmath=_FASTMATH, inline="always")
    def _window_energy(xf, start, weights):
        """|z|² of one window; ``xf`` is the complex64 array viewed as float32 pairs."""
        fractions, taps = weights.shape
        first = math.floor(start)
        q = int((start - first) * fractions)
        i = int(first)
        if i < 0 or 2 * (i + taps) > xf.size:
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
        return zr * zr + zi * zi

    @kernel("f4[::1], f8[::1], c8[:, ::1], f4[::1]", fastmath=_FASTMATH)
    def _window_energies_kernel(xf, positions, weights, out):
        for k in range(positions.size):
            out[k] = _window_energy(xf, positions[k], weights)

    @kernel(
        "f4[::1], f8[::1], f8[::1], c8[:, ::1], f8, i8[::1], f4[::1], f4[::1], f4[::1], f4[::1]",
        fastmath=_FASTMATH,
    )
    def _period_decisions_kernel(
        xf, starts, offsets, weights, flank, grey, peak, total, late, early
    ):
        # Periods are taken PERIOD_GROUP at a time, slot by slot across the group: that
        # keeps that many independent streams of memory reads in flight (about 1.6 times
        # faster than one period after the other on samples that are not in the caches).
        # The window sum is written out here rather than called, so that the compiler
        # schedules the loop nest as a whole.
        fractions, taps = weights.shape
        n = xf.size // 2
        best = np.empty(PERIOD_GROUP, np.float32)
        best_slot = np.empty(PERIOD_GROUP, np.int64)
        sums = np.empty(PERIOD_GROUP, np.float32)
        for p0 in range(0, starts.size, PERIOD_GROUP):
            group = min(PERIOD_GROUP, starts.size - p0)
            for g in range(group):
                best[g] = -1.0
                best_slot[g] = 0
                sums[g] = 0.0
            for k in range(offsets.size):
                for g in range(group):
                    u = starts[p0 + g] + offsets[k]
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
                        zr += ar * w.real - ai * w.imag
                        zi += ar * w.imag + ai * w.real
                    e = zr * zr + zi * zi
                    # A NaN or Inf energy makes the sum NaN or Inf (energies are >= 0):
                    # the caller checks the sums, outside these relaxed floating-point rules.
                    sums[g] += e
                    if e > best[g]:
                        best[g] = e
                        best_slot[g] = k
            for g in range(group):
                p = p0 + g
                grey[p] = best_slot[g]
                peak[p] = best[g]
                total[p] = sums[g]
                # The flanks of the decided window, while its samples are in the caches.
                at = starts[p] + offsets[best_slot[g]]
                late[p] = _window_energy(xf, at + flank, weights)
                early[p] = _window_energy(xf, at - flank, weights)

    @kernel("f4[::1], f8[:, ::1], c8[:, ::1], f4, f4, f4[::1]")
    def _marker_scores_kernel(xf, positions, weights, noise_energy, pair_min, out):
        # Strict floating point: the scores are compared with thresholds and NaN/Inf
        # must be seen as such.
        pulses = positions.shape[1]
        e = np.empty(pulses, np.float32)
        for r in range(positions.shape[0]):
            total = np.float32(0.0)
            for k in range(pulses):
                e[k] = _window_energy(xf, positions[r, k], weights) / noise_energy
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
            out[r] = score if math.isfinite(score) else np.float32(0.0)

    @kernel("f4[::1], f8[::1], c8[:, :, ::1], f8[::1]", fastmath=_FASTMATH)
    def _energy_sums_kernel(xf, positions, weight_sets, out):
        # Window by window, every weight table at once: one pass over the samples.
        sets = weight_sets.shape[0]
        for j in range(sets):
            out[j] = 0.0
        for k in range(positions.size):
            for j in range(sets):
                out[j] += _window_energy(xf, positions[k], weight_sets[j])

    @kernel("f4[::1], f4[::1]")
    def _copy_finite_kernel(src, dst):
        # One pass: each value copied and tested (x - x is NaN for NaN and ±Inf); the test
        # is an integer OR, which the compiler vectorises without reordering any sum.
        bad = 0
        for i in range(src.size):
            v = src[i]
            dst[i] = v
            bad |= np.int32(v - v != 0)
        return bad == 0


def copy_finite_numba(src: np.ndarray, dst: np.ndarray) -> bool:
    """Compiled :func:`copy_finite_numpy` (the same copy; True exactly when every value is
    finite)."""
    if src.size != dst.size:
        raise ValueError(f"cannot copy {src.size} samples into {dst.size}")
    return bool(_copy_finite_kernel(_as_pairs(src), dst.view(np.float32)))


def _weights(weights: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(weights, dtype=np.complex64)


def _as_pairs(x: np.ndarray) -> np.ndarray:
    """Complex64 samples as interleaved float32 (re, im) pairs, a view where possible.

    Always a read-only view, so that every kernel is compiled (and loaded from the cache)
    for one array type only, whether the samples come from a memory map or from memory.
    """
    pairs = np.ascontiguousarray(x, dtype=np.complex64).view(np.float32)
    if pairs.flags.writeable:
        pairs = pairs.view()
        pairs.flags.writeable = False
    return pairs


def window_energies_numba(x: np.ndarray, positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Compiled :func:`window_energies_numpy` (same arguments and result)."""
    positions = np.asarray(positions, dtype=np.float64)
    flat = np.ascontiguousarray(positions).reshape(-1)
    out = np.empty(flat.size, np.float32)
    _window_energies_kernel(_as_pairs(x), flat, _weights(weights), out)
    return out.reshape(positions.shape)


def period_decisions_numba(
    x: np.ndarray,
    period_starts: np.ndarray,
    slot_offsets: np.ndarray,
    weights: np.ndarray,
    flank_samples: float,
) -> Decisions:
    """Compiled :func:`period_decisions_numpy` (same arguments and results)."""
    starts = np.ascontiguousarray(period_starts, dtype=np.float64)
    offsets = np.ascontiguousarray(slot_offsets, dtype=np.float64)
    n = starts.size
    grey = np.empty(n, np.int64)
    peak, total, late, early = np.empty((4, n), np.float32)
    _period_decisions_kernel(
        _as_pairs(x),
        starts,
        offsets,
        _weights(weights),
        float(flank_samples),
        grey,
        peak,
        total,
        late,
        early,
    )
    finite = np.isfinite(total)
    if not finite.all():
        # Rare: a non-finite sample in a window (or a sum that overflowed): the reference
        # decides those periods.
        bad = np.flatnonzero(~finite)
        ref = period_decisions_numpy(x, starts[bad], offsets, weights, flank_samples)
        for mine, theirs in zip((grey, peak, total, finite, late, early), ref, strict=True):
            mine[bad] = theirs
    return Decisions(grey, peak, total, finite, late, early)


def energy_sums_numba(x: np.ndarray, positions: np.ndarray, weight_sets: np.ndarray) -> np.ndarray:
    """Compiled :func:`energy_sums_numpy` (same arguments and result)."""
    out = np.empty(len(weight_sets), np.float64)
    _energy_sums_kernel(
        _as_pairs(x),
        np.ascontiguousarray(positions, dtype=np.float64).reshape(-1),
        np.ascontiguousarray(weight_sets, dtype=np.complex64),
        out,
    )
    return out


def marker_scores_numba(
    x: np.ndarray, positions: np.ndarray, weights: np.ndarray, noise_energy: float, pair_min: float
) -> np.ndarray:
    """Compiled :func:`marker_scores_numpy` (same arguments and result)."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    out = np.empty(positions.shape[0], np.float32)
    _marker_scores_kernel(
        _as_pairs(x),
        positions,
        _weights(weights),
        np.float32(noise_energy),
        np.float32(pair_min),
        out,
    )
    return out


window_energies = dispatching(window_energies_numpy, window_energies_numba)
period_decisions = dispatching(period_decisions_numpy, period_decisions_numba)
energy_sums = dispatching(energy_sums_numpy, energy_sums_numba)
marker_scores = dispatching(marker_scores_numpy, marker_scores_numba)
copy_finite = dispatching(copy_finite_numpy, copy_finite_numba)
