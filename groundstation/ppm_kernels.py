"""Inner loops of the PPM receiver: pulse-matched window energies and per-period decisions.

Two implementations of each, giving the same numbers to float32 rounding:

- the numpy reference (``*_numpy``): a few vectorised operations per tap over all windows;
- the compiled kernel (``*_numba``): one pass per window, summing its few samples in
  registers, so that nothing but the decided values leaves it. Once the timing is known
  this touches only the samples of the slot windows and makes no temporaries.

The receiver calls the dispatching functions (:func:`window_energies`,
:func:`period_decisions`), which use the compiled kernel when numba imports and the
environment variable ``MARS1_NO_NUMBA`` is not ``1``; the numpy reference stays the
definition the kernel is tested against.

A window starting at fractional sample ``u`` is ``z = Σ_l x[floor(u) + l] · w[q, l]`` with
``q = floor(frac(u) · F)`` the tabulated fraction (``F`` = rows of ``w``); its energy is |z|².
"""

from __future__ import annotations

import math
import os
from typing import Final

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; the reference still works
    numba = None

#: True when the compiled kernels can be used at all.
NUMBA_AVAILABLE: Final = numba is not None
#: Environment variable that forces the numpy reference when set to ``1``.
NO_NUMBA_ENV: Final = "MARS1_NO_NUMBA"


def active_kernel() -> str:
    """``"numba"`` or ``"numpy"``: the implementation the dispatching functions use now."""
    if NUMBA_AVAILABLE and os.environ.get(NO_NUMBA_ENV, "") != "1":
        return "numba"
    return "numpy"


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


def period_decisions_numpy(
    x: np.ndarray, period_starts: np.ndarray, slot_offsets: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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

    Returns
    -------
    grey : ndarray of int64, shape (periods,)
        Index of the slot of largest energy (the first one on a tie); 0 where not finite.
    peak : ndarray of float32
        Its energy |z|²; 0 where not finite.
    total : ndarray of float32
        Sum of the energies of all slots of the period; 0 where not finite.
    finite : ndarray of bool
        False for a period with a non-finite slot energy (a NaN or Inf sample in a window).
    """
    starts = np.asarray(period_starts, dtype=np.float64)
    e = window_energies_numpy(x, starts[:, None] + slot_offsets[None, :], weights)
    finite = np.isfinite(e).all(axis=1)
    if not finite.all():
        e[~finite] = 0.0
    grey = np.argmax(e, axis=1)
    peak = e[np.arange(grey.size), grey]
    total = np.sum(e, axis=1, dtype=np.float32)
    return grey.astype(np.int64), peak, total, finite


# ------------------------------------------------------------------------ compiled kernels

if NUMBA_AVAILABLE:
    # Reassociation and contraction only: no assumption of finite values (NaN and Inf
    # samples are erasures the receiver must see).
    _FASTMATH: Final = {"reassoc", "contract", "nsz", "arcp"}

    @numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
    def _window_energy(xf, start, wr, wi):
        """|z|² of one window; ``xf`` is the complex64 array viewed as float32 pairs."""
        fractions, taps = wr.shape
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
            br = wr[q, lag]
            bi = wi[q, lag]
            zr += ar * br - ai * bi
            zi += ar * bi + ai * br
        return zr * zr + zi * zi

    @numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
    def _window_energies_kernel(xf, positions, wr, wi, out):
        for k in range(positions.size):
            out[k] = _window_energy(xf, positions[k], wr, wi)

    @numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
    def _period_decisions_kernel(xf, starts, offsets, wr, wi, grey, peak, total):
        # The window sum is written out here rather than called: that keeps the whole
        # period in one loop nest the compiler schedules as such (about twice as fast).
        fractions, taps = wr.shape
        n = xf.size // 2
        for p in range(starts.size):
            start = starts[p]
            best = np.float32(-1.0)
            best_slot = 0
            s = np.float32(0.0)
            for k in range(offsets.size):
                u = start + offsets[k]
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
                    br = wr[q, lag]
                    bi = wi[q, lag]
                    zr += ar * br - ai * bi
                    zi += ar * bi + ai * br
                e = zr * zr + zi * zi
                s += e
                if e > best:
                    best = e
                    best_slot = k
            # A NaN or Inf energy makes the sum NaN or Inf (energies are >= 0): the
            # caller checks the sums, outside these relaxed floating-point rules.
            grey[p] = best_slot
            peak[p] = best
            total[p] = s


def _planes(x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x`` as interleaved float32 pairs and the real and imaginary weight planes."""
    xf = np.ascontiguousarray(x, dtype=np.complex64).view(np.float32)
    wr = np.ascontiguousarray(weights.real, dtype=np.float32)
    wi = np.ascontiguousarray(weights.imag, dtype=np.float32)
    return xf, wr, wi


def window_energies_numba(x: np.ndarray, positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Compiled :func:`window_energies_numpy` (same arguments and result)."""
    positions = np.asarray(positions, dtype=np.float64)
    flat = np.ascontiguousarray(positions).reshape(-1)
    out = np.empty(flat.size, np.float32)
    xf, wr, wi = _planes(x, weights)
    _window_energies_kernel(xf, flat, wr, wi, out)
    return out.reshape(positions.shape)


def period_decisions_numba(
    x: np.ndarray, period_starts: np.ndarray, slot_offsets: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Compiled :func:`period_decisions_numpy` (same arguments and results)."""
    starts = np.ascontiguousarray(period_starts, dtype=np.float64)
    offsets = np.ascontiguousarray(slot_offsets, dtype=np.float64)
    n = starts.size
    grey = np.empty(n, np.int64)
    peak = np.empty(n, np.float32)
    total = np.empty(n, np.float32)
    xf, wr, wi = _planes(x, weights)
    _period_decisions_kernel(xf, starts, offsets, wr, wi, grey, peak, total)
    finite = np.isfinite(total)
    if not finite.all():
        # Rare: a non-finite sample in a window (or a sum that overflowed): the reference
        # decides those periods.
        bad = np.flatnonzero(~finite)
        g, pk, tot, fin = period_decisions_numpy(x, starts[bad], offsets, weights)
        grey[bad], peak[bad], total[bad], finite[bad] = g, pk, tot, fin
    return grey, peak, total, finite


def window_energies(x: np.ndarray, positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """|z|² (float32) of the windows starting at ``positions``; see :func:`window_energies_numpy`.

    Uses the compiled kernel unless :func:`active_kernel` says ``"numpy"``.
    """
    if active_kernel() == "numba":
        return window_energies_numba(x, positions, weights)
    return window_energies_numpy(x, positions, weights)


def period_decisions(
    x: np.ndarray, period_starts: np.ndarray, slot_offsets: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grey, peak, total, finite) of each period; see :func:`period_decisions_numpy`.

    Uses the compiled kernel unless :func:`active_kernel` says ``"numpy"``.
    """
    if active_kernel() == "numba":
        return period_decisions_numba(x, period_starts, slot_offsets, weights)
    return period_decisions_numpy(x, period_starts, slot_offsets, weights)
