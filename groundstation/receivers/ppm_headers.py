"""The header words a PPM frame-marker candidate may carry (ICD §3), from its slot energies.

A candidate's verification reads the eight header periods of both copies
(:meth:`~groundstation.receivers.ppm_acquire.Acquirer.read_header`); from the 64 slot
energies of each period come the words to check, most trusted first:

- **direct**: the best level of each period, in each copy present alone (copy 0, 1), then
  in both copies added non-coherently (-1, about 2.5 dB better than either alone);
- **listed** (list decoding, asked for when no direct word makes a header): in the added
  energies, the :data:`LIST_DOUBTFUL_PERIODS` periods whose runner-up is closest to their
  best, and every choice among the three best levels of each (:data:`LIST_CHOICES`), the
  choices whose word passes the check (sum of the first seven values mod 64), in order of
  the energy they give up; not the first choice (all best levels: the direct word of -1).

Order where energies are equal: the lower level first, the earlier period first, as the
slot decisions take the first slot on a tie (``docs/ppm-receiver.md``). numpy's default sort
leaves equal values in no defined order, so the reference sorts stably. A NaN energy (a
window whose sum overflowed: non-finite samples are erased before) ranks above every number,
as ``np.argmax`` takes it, so that the list's all-best word is always the direct word of the
added copies; a period whose ratio is NaN is the least doubtful, a loss that is NaN the
last listed.

Over noise the scan passes about four candidates a second, and nearly every one asks for
the list: the numpy reference (:func:`header_words_numpy`) is a dozen small array
operations for that, the compiled kernel (:func:`header_words_numba`) one call with the same
words in the same order (tested). :func:`header_words` dispatches as the other kernels do.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from groundstation.receivers.compiled import kernel
from groundstation.receivers.ppm_kernels import NUMBA_AVAILABLE, dispatching
from signals.formats.ppm import N_LEVELS, header_check

#: Header list decoding: the periods least certain, and every choice among the three best
#: levels (0, 1, 2) of each, in order (the first, all best levels, is what was tried).
LIST_DOUBTFUL_PERIODS: Final = 4
LIST_CHOICES: Final = np.stack(
    np.meshgrid(*([np.arange(3)] * LIST_DOUBTFUL_PERIODS), indexing="ij"), -1
).reshape(-1, LIST_DOUBTFUL_PERIODS)
LIST_CHOICES.flags.writeable = False
#: The smallest best energy a period's runner-up is compared with (float32, as numpy
#: takes the Python float against float32 energies).
_TINY: Final = np.float32(1e-30)

#: Direct words (copy, values) and listed words (values), each a list of 8 levels.
HeaderWords = tuple[list[tuple[int, list[int]]], list[list[int]]]


def header_words_numpy(energies: np.ndarray, present: tuple[bool, bool]) -> HeaderWords:
    """The direct and listed header words of a candidate (numpy reference; see the module).

    Parameters
    ----------
    energies : ndarray of float32, shape (2, HEADER_PERIODS, N_LEVELS)
        Slot energies of each copy's header periods.
    present : (bool, bool)
        Whether each copy's frame marker was found (a copy is read alone only then).
    """
    e = np.asarray(energies, dtype=np.float32)
    direct = [(c, np.argmax(e[c], axis=1).tolist()) for c in range(2) if present[c]]
    with np.errstate(over="ignore"):
        both = e[0] + e[1]
    direct.append((-1, np.argmax(both, axis=1).tolist()))
    nan = np.isnan(both)
    order = np.lexsort((np.where(nan, 0, -both), ~nan), axis=-1)[:, :3]
    top = np.take_along_axis(both, order, axis=1)
    choices = LIST_CHOICES
    with np.errstate(invalid="ignore", over="ignore"):  # NaN as the kernel makes it
        ratio = top[:, 1] / np.maximum(top[:, 0], _TINY)
        doubt = np.argsort(-ratio, kind="stable")[:LIST_DOUBTFUL_PERIODS]
        gap = top[doubt, 0][None, :] - top[doubt[None, :], choices]
        loss = gap[:, 0] + gap[:, 1]  # added period after period
        for k in range(2, LIST_DOUBTFUL_PERIODS):
            loss += gap[:, k]
    words = np.repeat(order[None, :, 0], choices.shape[0], axis=0)
    words[:, doubt] = order[doubt[None, :], choices]
    passing = np.flatnonzero(header_check(words) == words[:, -1])
    passing = passing[passing > 0]
    listed = words[passing[np.argsort(loss[passing], kind="stable")]].tolist()
    return direct, listed


if NUMBA_AVAILABLE:

    @kernel()
    def _first_best(row):
        # np.argmax: the first largest value (the first NaN if there is one).
        best = 0
        for k in range(row.size):
            v = row[k]
            if v != v:
                return k
            if v > row[best]:
                best = k
        return best

    @kernel()
    def _ranks_before(v, w, nan_first):
        # Whether v comes strictly before w in a decreasing order (NaN first or last).
        if v != v:
            return nan_first and w == w
        if w != w:
            return not nan_first
        return v > w

    @kernel()
    def _descending(values, out, nan_first, taken):
        # The indices of ``values`` by decreasing value, equal values in index order, NaN
        # first or last (as a stable sort orders them), the first out.size of them;
        # ``taken`` is scratch of values.size.
        n = values.size
        for k in range(n):
            taken[k] = False
        for j in range(out.size):
            best = -1
            for k in range(n):
                if taken[k]:
                    continue
                if best < 0 or _ranks_before(values[k], values[best], nan_first):
                    best = k
            taken[best] = True
            out[j] = best

    @kernel("f4[:, :, ::1], b1[::1], i8[:, ::1], i8[:, ::1], i8[::1], i8[:, ::1], i8[::1]")
    def _header_words_kernel(e, present, choices, direct, direct_copy, listed, counts):
        periods = e.shape[1]
        n_direct = 0
        for c in range(2):
            if present[c]:
                for p in range(periods):
                    direct[n_direct, p] = _first_best(e[c, p])
                direct_copy[n_direct] = c
                n_direct += 1
        both = np.empty((periods, e.shape[2]), np.float32)
        for p in range(periods):
            for k in range(e.shape[2]):
                both[p, k] = e[0, p, k] + e[1, p, k]
            direct[n_direct, p] = _first_best(both[p])
        direct_copy[n_direct] = -1
        n_direct += 1
        # List decoding on the added energies.
        order = np.empty((periods, 3), np.int64)
        top = np.empty((periods, 3), np.float32)
        ratio = np.empty(periods, np.float32)
        taken = np.empty(e.shape[2], np.bool_)
        for p in range(periods):
            _descending(both[p], order[p], True, taken)
            for j in range(3):
                top[p, j] = both[p, order[p, j]]
            best = top[p, 0]
            if not (best >= _TINY or best != best):  # np.maximum (NaN stays NaN)
                best = _TINY
            ratio[p] = top[p, 1] / best
        doubt = np.empty(choices.shape[1], np.int64)
        _descending(ratio, doubt, False, taken[:periods])
        n_combos = choices.shape[0]
        loss = np.empty(n_combos, np.float32)
        passing = np.empty(n_combos, np.int64)
        n_pass = 0
        word = np.empty(periods, np.int64)
        for r in range(n_combos):
            for p in range(periods):
                word[p] = order[p, 0]
            total = np.float32(0.0)
            for k in range(doubt.size):
                d = doubt[k]
                word[d] = order[d, choices[r, k]]
                gap = top[d, 0] - top[d, choices[r, k]]
                total = gap if k == 0 else total + gap
            loss[r] = total
            check = 0
            for p in range(periods - 1):
                check += word[p]
            if r > 0 and check % N_LEVELS == word[periods - 1]:
                passing[n_pass] = r
                n_pass += 1
        # In order of the energy given up, NaN last, equal losses in the order of the
        # choices (a stable insertion sort). Coming after another in that order is
        # ranking before it in a decreasing one with NaN first.
        for i in range(1, n_pass):
            r = passing[i]
            j = i
            while j > 0 and _ranks_before(loss[passing[j - 1]], loss[r], True):
                passing[j] = passing[j - 1]
                j -= 1
            passing[j] = r
        for i in range(n_pass):
            r = passing[i]
            for p in range(periods):
                listed[i, p] = order[p, 0]
            for k in range(doubt.size):
                d = doubt[k]
                listed[i, d] = order[d, choices[r, k]]
        counts[0] = n_direct
        counts[1] = n_pass


def header_words_numba(energies: np.ndarray, present: tuple[bool, bool]) -> HeaderWords:
    """Compiled :func:`header_words_numpy` (same arguments and results)."""
    e = np.ascontiguousarray(energies, dtype=np.float32)
    periods = e.shape[1]
    direct = np.empty((3, periods), np.int64)
    direct_copy = np.empty(3, np.int64)
    listed = np.empty((LIST_CHOICES.shape[0], periods), np.int64)
    counts = np.zeros(2, np.int64)
    _header_words_kernel(
        e, np.array(present, np.bool_), LIST_CHOICES, direct, direct_copy, listed, counts
    )
    n_direct, n_listed = int(counts[0]), int(counts[1])
    copies = direct_copy[:n_direct].tolist()
    return list(zip(copies, direct[:n_direct].tolist(), strict=True)), listed[:n_listed].tolist()


header_words = dispatching(header_words_numpy, header_words_numba)
