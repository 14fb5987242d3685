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
:mod:`~groundstation.receivers.ppm_marker_kernels` (its kernels are here).

The line tracker (``_track_lines_kernel``) decodes a run of lines in one call: for each
line, what ``LineTracker.decode_line`` does (the line-marker search, the period grid's fit,
the slot decisions block by block, the noise level, the early-late timing and the
three-point carrier update) for as long as each line finds its marker and is there; the
rest is left to the Python tracker (:mod:`~groundstation.receivers.ppm_track`). It gives
the Python tracker's numbers to the bit: numpy's sums are written out in numpy's order
(``_sum_as_numpy``), and both use the same compiled fit (``_grid_fit_kernel``). The
kernels it calls (decisions, carrier probes, marker search) are compiled in strict floating
point: numba's ahead-of-time compiler optimises a called kernel inside its caller, and
with reassociation allowed the build would not add up as numba's compilation on first use
does.

The kernels are compiled on first use and cached beside this module (``cache=True``): the
first use ever costs about two seconds, a new process then loads them in about a third
of a second. Each kernel sees one array type only (see :func:`_as_pairs`), so there is
one compiled version of each. A compiled kernel calls compiled helpers of its own module
only: numba's cache notices a change to a kernel's own file, not to another module's
(which is why the marker search kernels, which
:mod:`~groundstation.receivers.ppm_marker_kernels` calls, are here, and why the pairwise
sum's blocks, ``_block_sum`` below, repeat
:mod:`~groundstation.receivers.tlm_carrier`'s).

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
        "f4[::1], f8[::1], f8[::1], c8[:, ::1], f8, i8[::1], f4[::1], f4[::1], f4[::1], f4[::1]"
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

    @kernel()
    def _marker_score(e, total, pair_min):
        # One start's score from its pulses' energies ``e`` (their sum ``total``): the
        # sum, or the two lowest added if they fall below ``pair_min``; 0 if not finite.
        lo1 = np.float32(np.inf)
        lo2 = np.float32(np.inf)
        for k in range(e.size):
            if e[k] < lo1:
                lo2 = lo1
                lo1 = e[k]
            elif e[k] < lo2:
                lo2 = e[k]
        pair = lo1 + lo2
        score = total if pair >= pair_min else pair
        return score if math.isfinite(score) else np.float32(0.0)

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
            out[r] = _marker_score(e, total, pair_min)

    @kernel("f4[::1], f8[::1], c8[:, :, ::1], f8[::1]")
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

    @kernel("f4[::1], f8, f8[::1], f8[::1], c8[:, ::1], f4, f4, f4[::1]")
    def _search_kernel(xf, t, deltas, chip_offsets, weights, noise_energy, pair_min, scores):
        """Best start (samples into x) and its score for one filter; ``scores`` is scratch."""
        # The window sum is written out, as in _period_decisions_kernel, not called: the
        # same bits through _window_energy, but 5.7-7.4 against 5.4 µs a call (25 starts
        # of 4 pulses, 5 taps, built at install).
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
            scores[r] = _marker_score(e, total, pair_min)
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

    # ------------------------------------------------------------ tracking a run of lines

    @kernel()
    def _block_sum(a, lo, n):
        # numpy's sum of up to 128 values (n >= 1), in the type of ``a``: one after the
        # other below 8, else eight running sums added as a tree, then the rest
        if n < 8:
            res = a[lo]
            for i in range(1, n):
                res += a[lo + i]
            return res
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        stop = n - n % 8
        while i < stop:
            r0 += a[lo + i]
            r1 += a[lo + i + 1]
            r2 += a[lo + i + 2]
            r3 += a[lo + i + 3]
            r4 += a[lo + i + 4]
            r5 += a[lo + i + 5]
            r6 += a[lo + i + 6]
            r7 += a[lo + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res

    @kernel()
    def _sum_as_numpy(a, n):
        # np.sum(a[:n]) (n >= 1) to the bit: above 128 values, the first half (rounded down
        # to a multiple of 8) plus the rest, each halved again; walked with a stack (a
        # recursive kernel cannot be cached)
        if n <= 128:
            return _block_sum(a, 0, n)
        los = np.empty(96, np.int64)
        ns = np.empty(96, np.int64)
        values = np.empty_like(a[:32])
        los[0], ns[0] = 0, n
        top, depth = 1, 0
        while top > 0:
            top -= 1
            lo, m = los[top], ns[top]
            if m < 0:  # both halves summed: add them
                depth -= 1
                values[depth - 1] = values[depth - 1] + values[depth]
            elif m <= 128:
                values[depth] = _block_sum(a, lo, m)
                depth += 1
            else:
                m2 = m // 2
                m2 -= m2 % 8
                los[top], ns[top] = 0, -1
                los[top + 1], ns[top + 1] = lo + m2, m - m2
                los[top + 2], ns[top + 2] = lo, m2
                top += 3
        return values[0]

    @kernel("f8[:, ::1], i8, f8, f8, f8[::1]")
    def _grid_fit_kernel(points, n, nominal, memory, out):
        """The period grid's weighted straight line through ``points[:n]`` (period, time,
        weight); ``out`` = (p_ref, t_ref, slope), the slope kept unless the fit moves it
        within 400 ppm of ``nominal``."""
        p_max = points[0, 0]
        for i in range(1, n):
            p_max = max(p_max, points[i, 0])
        sw = 0.0
        sp = 0.0
        st = 0.0
        for i in range(n):
            w = points[i, 2] * math.exp((points[i, 0] - p_max) / memory)
            sw += w
            sp += w * points[i, 0]
            st += w * points[i, 1]
        p_ref = sp / sw
        t_ref = st / sw
        spread = 0.0
        cross = 0.0
        for i in range(n):
            w = points[i, 2] * math.exp((points[i, 0] - p_max) / memory)
            dp = points[i, 0] - p_ref
            spread += w * (dp * dp)
            cross += w * (dp * (points[i, 1] - t_ref))
        if spread >= 1.0:
            slope = cross / spread
            if abs(slope / nominal - 1.0) < 4e-4:
                out[2] = slope
        out[0] = p_ref
        out[1] = t_ref

    @kernel()
    def _grid_add(points, n, period, time, weight, span):
        # PeriodGrid.add: the measurement appended, those older than ``span`` periods
        # before it dropped (the last two kept at least); returns the count
        points[n, 0] = period
        points[n, 1] = time
        points[n, 2] = weight
        n += 1
        limit = period - span
        kept = 0
        for i in range(n):
            if points[i, 0] >= limit:
                kept += 1
        if kept >= 2:
            j = 0
            for i in range(n):
                if points[i, 0] >= limit:
                    points[j, 0] = points[i, 0]
                    points[j, 1] = points[i, 1]
                    points[j, 2] = points[i, 2]
                    j += 1
            return j
        for c in range(3):
            points[0, c] = points[n - 2, c]
            points[1, c] = points[n - 1, c]
        return 2

    @kernel()
    def _find_filter(keys, chip_key, freq_key):
        for j in range(keys.shape[0]):
            if keys[j, 0] == chip_key and keys[j, 1] == freq_key:
                return j
        return -1

    @kernel(
        "f4[::1], i8, f8[:, ::1], f8[::1], i8[::1], i8[:, ::1], c8[:, :, ::1], f8[::1], "
        "f8[::1], f8[::1], i8[::1], i8[:, ::1], f8[:, ::1], f8[:, ::1]"
    )
    def _track_lines_kernel(
        xf,
        x_base,
        points,
        state,
        ints,
        keys,
        table,
        consts,
        slot_chips,
        marker_chips,
        schedule,
        out_grey,
        out_peak,
        out_line,
    ):
        """Lines of a locked transmission, each as ``LineTracker.decode_line`` decodes it
        once its line marker is found and the line is there (see ``ppm_track``)."""
        n_x = xf.size // 2
        x_end = x_base + n_x
        threshold, pair_min, noise_mean, noise_std = consts[0], consts[1], consts[2], consts[3]
        memory, span_periods, step_hz = consts[4], consts[5], consts[6]
        fractions = table.shape[1]
        p_ref, t_ref, slope, nominal, sigma2 = state[0], state[1], state[2], state[3], state[4]
        n_points, period, lines_left = ints[0], ints[1], ints[2]
        blocks, fidx, lp = ints[3], ints[4], ints[5]
        data_n = lp - 1
        big = schedule[schedule.size - 1]
        starts = np.empty(big)
        rel = np.empty(big)
        offsets = np.empty(slot_chips.size)
        grey = np.empty(big, np.int64)
        peak = np.empty(big, np.float32)
        total = np.empty(big, np.float32)
        late = np.empty(big, np.float32)
        early = np.empty(big, np.float32)
        noise = np.empty(big, np.float32)
        peak_n = np.empty(big, np.float32)
        used = np.empty(big, np.float32)
        flanks = np.empty(big, np.float32)
        pos = np.empty(big)
        line_peak = np.empty(data_n)
        chip_offsets = np.empty(marker_chips.size)
        deltas = np.empty(17)
        scores = np.empty(17, np.float32)
        sets = np.empty((3, fractions, table.shape[2]), np.complex64)
        sums = np.empty(3)
        fit = np.empty(3)
        saved = np.empty_like(points)
        pair32 = np.float32(pair_min)
        reason = 0
        need = 0
        need_chip = 0
        need_freq = 0
        done = 0
        while done < lines_left:
            # the state at the line's start, to go back to when it is not decoded here
            saved[:n_points] = points[:n_points]
            s_points, s_p_ref, s_t_ref, s_slope = n_points, p_ref, t_ref, slope
            s_sigma2, s_blocks, s_fidx = sigma2, blocks, fidx
            chip = slope / 500.0
            t_line = t_ref + (float(period) - p_ref) * slope
            last_window = (data_n * slope) + (slot_chips[slot_chips.size - 1] + 2.0) * chip
            if t_line + last_window > x_end:  # the line's last pulse is not there yet
                reason, need = 1, math.ceil(t_line + last_window) + 1
                break
            # decode_line with span 1 chip (no line missed before it)
            margin = (1.0 + 16.0) * chip + 16.0
            lo = math.floor(t_line - margin)
            hi = math.ceil((t_ref + (float(period + lp) - p_ref) * slope) + margin)
            if hi > x_end:
                reason, need = 1, hi
                break
            if lo < x_base:
                reason = 2
                break
            # its line marker (line_marker: the line's samples, or a read of its own)
            margin2 = math.ceil((1.0 + 2.0) * chip) + 4
            lo2 = math.floor(t_line) - margin2
            hi2 = math.ceil(t_line + marker_chips[marker_chips.size - 1] * chip) + 2 * margin2
            if not (lo <= lo2 and hi2 <= hi):
                if hi2 > x_end:
                    reason, need = 1, hi2
                    break
                if lo2 < x_base:
                    reason = 2
                    break
                base, top = lo2, hi2
            else:
                base, top = lo, hi
            for r in range(17):
                deltas[r] = (-1.0 + 0.125 * r) * chip
            for k in range(marker_chips.size):
                chip_offsets[k] = marker_chips[k] * chip
            t_found, score = _search_kernel(
                xf[2 * (base - x_base) : 2 * (top - x_base)],
                t_line - base,
                deltas,
                chip_offsets,
                table[fidx],
                np.float32(sigma2),
                pair32,
                scores,
            )
            if not score >= threshold:
                reason = 2  # no line marker: the tracker looks further (Python)
                break
            n_points = _grid_add(points, n_points, float(period), t_found + base, 4.0, span_periods)
            fit[0], fit[1], fit[2] = p_ref, t_ref, slope
            _grid_fit_kernel(points, n_points, nominal, memory, fit)
            p_ref, t_ref, slope = fit[0], fit[1], fit[2]
            # the data periods, block by block (decode_block with the marker as hint)
            i = 0
            failed = False
            while i < data_n:
                size = schedule[min(blocks, schedule.size - 1)]
                m = min(size, data_n - i)
                chip = slope / 500.0
                for j in range(m):
                    starts[j] = t_ref + (float(period + 1 + i + j) - p_ref) * slope
                lo3 = math.floor(starts[0] - 2 * chip) - 2
                hi3 = math.ceil(starts[m - 1] + slot_chips[slot_chips.size - 1] * chip + 3 * chip)
                hi3 += 4
                if lo <= lo3 and hi3 <= hi:
                    b3, t3 = lo, hi
                else:
                    if hi3 > x_end:
                        reason, need = 1, hi3
                        failed = True
                        break
                    if lo3 < x_base:
                        reason = 2
                        failed = True
                        break
                    b3, t3 = lo3, hi3
                xb = xf[2 * (b3 - x_base) : 2 * (t3 - x_base)]
                for j in range(m):
                    rel[j] = starts[j] - b3
                for k in range(slot_chips.size):
                    offsets[k] = slot_chips[k] * chip
                weights = table[fidx]
                _period_decisions_kernel(
                    xb,
                    rel[:m],
                    offsets,
                    weights,
                    0.5 * chip,
                    grey[:m],
                    peak[:m],
                    total[:m],
                    late[:m],
                    early[:m],
                )
                finite = True
                for j in range(m):
                    finite = finite and math.isfinite(total[j])
                if not finite:
                    reason = 2
                    failed = True
                    break
                for j in range(m):
                    noise[j] = (total[j] - peak[j]) / np.float32(63.0)
                mean_noise = _sum_as_numpy(noise, m) / np.float32(m)
                sigma2 = 0.9 * sigma2 + 0.1 * float(mean_noise)
                s32 = np.float32(sigma2)
                for j in range(m):
                    peak_n[j] = peak[j] / s32
                # learn (the marker found says the block holds signal)
                count = 0
                p_sum = 0
                for j in range(m):
                    if peak_n[j] > 4.0:
                        pos[count] = rel[j] + slot_chips[grey[j]] * chip
                        used[count] = peak[j]
                        flanks[count] = late[j] - early[j]
                        p_sum += period + 1 + i + j
                        count += 1
                if count >= 2:
                    signal = float(_sum_as_numpy(used, count) - np.float32(sigma2 * count))
                    if signal > 0:
                        delta = float(_sum_as_numpy(flanks, count)) / (2.0 * signal) * chip
                        delta = min(max(delta, -0.5 * chip), 0.5 * chip)
                        p_mean = float(p_sum) / count
                        t_mean = t_ref + (p_mean - p_ref) * slope
                        n_points = _grid_add(
                            points, n_points, p_mean, t_mean + delta, float(count), span_periods
                        )
                        fit[0], fit[1], fit[2] = p_ref, t_ref, slope
                        _grid_fit_kernel(points, n_points, nominal, memory, fit)
                        p_ref, t_ref, slope = fit[0], fit[1], fit[2]
                        # carrier: three filters around the estimate rounded to 250 Hz
                        f = keys[fidx, 1] * 20.0
                        center = np.rint(f / 250.0) * 250.0
                        chip_key = np.int64(np.rint(chip * 1e5))
                        for k in range(3):
                            freq_key = np.int64(np.rint((center + (k - 1) * step_hz) / 20.0))
                            j3 = _find_filter(keys, chip_key, freq_key)
                            if j3 < 0:
                                reason, need_chip, need_freq = 3, chip_key, freq_key
                                failed = True
                                break
                            sets[k] = table[j3]
                        if failed:
                            break
                        for j in range(count):
                            pos[j] = pos[j] + delta
                        _energy_sums_kernel(xb, pos[:count], sets, sums)
                        a, b, c = sums[0], sums[1], sums[2]
                        f_new = f
                        if a - 2 * b + c < 0:
                            curvature = a - 2.0 * b + c
                            offset = 0.5 * (a - c) / curvature
                            offset = min(max(offset, -1.0), 1.0)
                            vertex = center + offset * step_hz
                            f_new = f + min(1.0, count / 64.0) * 0.5 * (vertex - f)
                        new_chip = np.int64(np.rint(slope / 500.0 * 1e5))
                        new_freq = np.int64(np.rint(f_new / 20.0))
                        fidx = _find_filter(keys, new_chip, new_freq)
                        if fidx < 0:
                            reason, need_chip, need_freq = 3, new_chip, new_freq
                            failed = True
                            break
                for j in range(m):
                    out_grey[done, i + j] = grey[j]
                    line_peak[i + j] = peak_n[j]
                blocks += 1
                i += m
            if not failed:
                mean_peak = _sum_as_numpy(line_peak, data_n) / data_n
                present = mean_peak > noise_mean + 2.0 * (noise_std / math.sqrt(data_n))
                if not present:
                    reason = 2
                    failed = True
            if failed:
                points[:s_points] = saved[:s_points]
                n_points, p_ref, t_ref, slope = s_points, s_p_ref, s_t_ref, s_slope
                sigma2, blocks, fidx = s_sigma2, s_blocks, s_fidx
                break
            for j in range(data_n):
                out_peak[done, j] = line_peak[j]
            out_line[done, 0] = t_ref + (float(period) - p_ref) * slope
            out_line[done, 1] = t_ref + (float(period + lp) - p_ref) * slope
            out_line[done, 2] = p_ref
            out_line[done, 3] = t_ref
            out_line[done, 4] = slope
            out_line[done, 5] = fidx
            out_line[done, 6] = score
            period += lp
            done += 1
        state[0], state[1], state[2], state[4] = p_ref, t_ref, slope, sigma2
        ints[0], ints[1], ints[3], ints[4] = n_points, period, blocks, fidx
        ints[6], ints[7], ints[8], ints[9], ints[10] = done, reason, need, need_chip, need_freq


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
