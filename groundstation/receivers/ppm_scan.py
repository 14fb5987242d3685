"""The PPM frame-marker scan (ICD §3): where a transmission may start, over every sample.

Acquisition sums each chip of samples coherently for a few carrier hypotheses and adds the
chip energies at the four frame-marker chips; a (position, hypothesis) pair whose four
energies pass the thresholds is a candidate. Over noise this runs on every sample, so its
cost per sample is what a quiet stretch of a recording costs.

Two implementations giving the same hits:

- the numpy reference (:func:`scan_hits_numpy`), the definition;
- the compiled kernel (:func:`scan_hits_numba`), in the reference's order of operations with
  strict floating point, tile by tile (:data:`SCAN_TILE` positions) so that its working
  arrays stay in the caches, each loop a plain pass over contiguous float32 arrays that the
  compiler turns into vector instructions. A tile without a position passing the sum and
  each-chip thresholds (nearly every tile of noise) is not looked at again.

:func:`scan_hits` dispatches as the other kernels do
(:func:`~groundstation.receivers.ppm_kernels.dispatching`).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from groundstation.receivers.compiled import kernel
from groundstation.receivers.ppm_kernels import NUMBA_AVAILABLE, _as_pairs, dispatching
from signals.dsp import noise_floor

#: Median / mean of the power of complex Gaussian noise (exponential): ln 2, the fraction
#: :func:`signals.dsp.noise_floor` divides by.
MEDIAN_OVER_MEAN: Final = math.log(2.0)
#: Marker start positions examined together by the compiled scan.
SCAN_TILE: Final = 2048


def scan_energies_numpy(
    x: np.ndarray, rotator: np.ndarray, chip_taps: int, scale: float
) -> np.ndarray:
    """Chip energies of the frame-marker scan for one carrier hypothesis (numpy reference).

    ``e[i] = |Σ_{l<k} x[i+l]·r[i+l]|² · scale`` for ``i < len(x) - k + 1``, with r the
    de-rotation phasors of the hypothesis and k = ``chip_taps`` (float32 throughout).
    """
    y = x * rotator[: x.size]
    chip_sum = y[: y.size - chip_taps + 1].copy()  # coherent sum over one chip
    for lag in range(1, chip_taps):
        chip_sum += y[lag : y.size - chip_taps + 1 + lag]
    e = np.square(chip_sum.real)
    e += np.square(chip_sum.imag)
    e *= np.float32(scale)
    return e


def scan_hits_numpy(
    x: np.ndarray,
    rotators: np.ndarray,
    chip_taps: int,
    offsets: np.ndarray,
    count: int,
    scale: float,
    thresholds: tuple[float, float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame-marker scan of a block (numpy reference): where the four chip energies pass.

    Parameters
    ----------
    x : ndarray of complex64
        The block's samples (``count`` positions plus the marker's span).
    rotators : ndarray of complex64, shape (hypotheses, >= len(x))
        De-rotation phasors of each carrier hypothesis.
    chip_taps : int
        Samples summed coherently per chip.
    offsets : ndarray of int, shape (4,)
        Marker pulse offsets (samples).
    count : int
        Marker start positions examined: 0 .. count - 1.
    scale : float
        1 / (chip_taps · σ²): chip energies in units of their noise mean.
    thresholds : (float, float, float)
        The four energies' sum must exceed the first, each of them the second, the two
        smallest together the third.

    Returns
    -------
    (positions, totals, hypotheses)
        Every passing (position, hypothesis), by hypothesis then position: int64, float32,
        int64 arrays.
    """
    sum_min, each_min, pair_min = thresholds
    found = []
    for h in range(rotators.shape[0]):
        e = scan_energies_numpy(x, rotators[h], chip_taps, scale)
        parts = [e[o : o + count] for o in offsets]
        total = parts[0] + parts[1] + parts[2] + parts[3]
        low = np.minimum(np.minimum(parts[0], parts[1]), np.minimum(parts[2], parts[3]))
        at = np.flatnonzero((total > sum_min) & (low > each_min))
        if at.size:
            # All four pulses must be there: a strong data pulse (or two pulses of the
            # other marker) with noise is not a marker.
            four = np.stack([part[at] for part in parts], axis=-1)
            keep = np.partition(four, 1, axis=-1)[:, :2].sum(-1) > pair_min
            at = at[keep]
            found.append((at, total[at], np.full(at.size, h, np.int64)))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64)
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def scan_noise_floor_numpy(x: np.ndarray, count: int) -> float:
    """σ² of a scan block from its first ``count`` samples (numpy reference): the median of
    the sample powers over its fraction of the mean (:func:`signals.dsp.noise_floor`); the
    mean power where that median is 0 (1 where that is 0 as well)."""
    power = np.square(x.real) + np.square(x.imag)
    sigma2 = noise_floor(power[:count])
    if sigma2 <= 0.0:
        sigma2 = float(np.mean(power)) or 1.0
    return sigma2


if NUMBA_AVAILABLE:

    @kernel("f4[::1], f4[:, ::1], i8, i8[::1], i8, f4, f4, f4, f4, i8[::1], f4[::1], i8[::1]")
    def _scan_hits_kernel(
        xf, rotf, taps, offsets, count, scale, sum_min, each_min, pair_min, out_at, out_total, out_h
    ):
        # Strict floating point in the reference's order of operations (numpy's complex
        # product may still round differently in the last bit): a chip sum adds its samples
        # first to last, the energy is re² then + im², then the scale.
        n = xf.size // 2
        o0, o1, o2, o3 = offsets[0], offsets[1], offsets[2], offsets[3]
        if count > 0 and count + o3 + taps - 1 > n:
            raise IndexError("PPM scan positions fall outside the samples given")
        width = SCAN_TILE + o3 + taps
        yr = np.empty(width, np.float32)
        yi = np.empty(width, np.float32)
        sr = np.empty(width, np.float32)
        si = np.empty(width, np.float32)
        e = np.empty(width, np.float32)
        found = 0
        # Every inner loop reads and writes whole slices, index by index: that is what the
        # compiler vectorises (the same loops indexed with run-time offsets stay scalar).
        for h in range(rotf.shape[0]):
            for p0 in range(0, count, SCAN_TILE):
                m = min(SCAN_TILE, count - p0)  # marker starts in this tile
                ne = m + o3  # chip energies they read
                ny = ne + taps - 1  # samples those read
                xs = xf[2 * p0 : 2 * (p0 + ny)]
                rs = rotf[h, 2 * p0 : 2 * (p0 + ny)]
                for j in range(ny):
                    ar = xs[2 * j]
                    ai = xs[2 * j + 1]
                    br = rs[2 * j]
                    bi = rs[2 * j + 1]
                    yr[j] = ar * br - ai * bi
                    yi[j] = ar * bi + ai * br
                if taps == 4:  # 180 and 200 kS/s: the chip sums and energies in one pass
                    yr1, yr2, yr3 = yr[1 : 1 + ne], yr[2 : 2 + ne], yr[3 : 3 + ne]
                    yi1, yi2, yi3 = yi[1 : 1 + ne], yi[2 : 2 + ne], yi[3 : 3 + ne]
                    for j in range(ne):
                        re = yr[j] + yr1[j]
                        re += yr2[j]
                        re += yr3[j]
                        im = yi[j] + yi1[j]
                        im += yi2[j]
                        im += yi3[j]
                        v = re * re
                        v += im * im
                        e[j] = v * scale
                elif taps == 2:  # 90 kS/s
                    yr1, yi1 = yr[1 : 1 + ne], yi[1 : 1 + ne]
                    for j in range(ne):
                        re = yr[j] + yr1[j]
                        im = yi[j] + yi1[j]
                        v = re * re
                        v += im * im
                        e[j] = v * scale
                else:
                    if taps == 1:
                        sr[:ne] = yr[:ne]
                        si[:ne] = yi[:ne]
                    else:  # the first two samples of each chip, then the others in turn
                        yr_lag = yr[1 : 1 + ne]
                        yi_lag = yi[1 : 1 + ne]
                        for j in range(ne):
                            sr[j] = yr[j] + yr_lag[j]
                            si[j] = yi[j] + yi_lag[j]
                    for lag in range(2, taps):
                        yr_lag = yr[lag : lag + ne]
                        yi_lag = yi[lag : lag + ne]
                        for j in range(ne):
                            sr[j] += yr_lag[j]
                            si[j] += yi_lag[j]
                    for j in range(ne):
                        v = sr[j] * sr[j]
                        v += si[j] * si[j]
                        e[j] = v * scale
                e0 = e[o0 : o0 + m]
                e1 = e[o1 : o1 + m]
                e2 = e[o2 : o2 + m]
                e3 = e[o3 : o3 + m]
                passing = 0
                for j in range(m):
                    total = e0[j] + e1[j] + e2[j] + e3[j]
                    low = min(min(e0[j], e1[j]), min(e2[j], e3[j]))
                    passing += np.int32(total > sum_min) & np.int32(low > each_min)
                if passing == 0:
                    continue
                for j in range(m):
                    a = e0[j]
                    b = e1[j]
                    c = e2[j]
                    d = e3[j]
                    total = a + b + c + d
                    if not (total > sum_min and min(min(a, b), min(c, d)) > each_min):
                        continue
                    lo1 = min(a, b)
                    hi1 = max(a, b)
                    lo2 = min(c, d)
                    hi2 = max(c, d)
                    smallest = min(lo1, lo2)
                    second = min(max(lo1, lo2), min(hi1, hi2))
                    if smallest + second > pair_min:
                        if found < out_at.size:
                            out_at[found] = p0 + j
                            out_total[found] = total
                            out_h[found] = h
                        found += 1
        return found

    @kernel()
    def _kth_smallest_bits(bits, k, scratch):
        # Radix selection on the bit patterns of non-negative float32 values (they sort
        # as the numbers do): the 11 top bits, then 11, then 10; after the first digit only
        # the values that share it are looked at again.
        values = bits
        prefix = np.uint32(0)
        for shift, width in ((21, 11), (10, 11), (0, 10)):
            mask = np.uint32((1 << width) - 1)
            hist = np.zeros(1 << width, np.int64)
            for i in range(values.size):
                hist[(values[i] >> shift) & mask] += 1
            digit = 0
            while k >= hist[digit]:
                k -= hist[digit]
                digit += 1
            prefix |= np.uint32(digit) << np.uint32(shift)
            kept = 0
            for i in range(values.size):
                if (values[i] >> shift) & mask == digit:
                    scratch[kept] = values[i]
                    kept += 1
            values = scratch[:kept].copy()
        return prefix

    @kernel("f4[::1], i8, u4[::1]")
    def _middle_powers_kernel(xf, count, out):
        # The one (odd count) or two (even) middle values of the sorted sample powers,
        # each power re² + im² in float32 as numpy computes it.
        power = np.empty(count, np.float32)
        for i in range(count):
            re = xf[2 * i]
            im = xf[2 * i + 1]
            power[i] = re * re + im * im
        bits = power.view(np.uint32)
        scratch = np.empty(count, np.uint32)
        high = _kth_smallest_bits(bits, count // 2, scratch)
        out[1] = high
        if count % 2 == 0:
            # The one below: the same value unless exactly count // 2 values are smaller,
            # then the largest of those (one pass instead of a second selection).
            below = 0
            low = np.uint32(0)
            for i in range(count):
                v = bits[i]
                if v < high:
                    below += 1
                    low = max(low, v)
            out[0] = high if below < count // 2 else low
            return 2
        out[0] = high
        return 1


def scan_hits_numba(
    x: np.ndarray,
    rotators: np.ndarray,
    chip_taps: int,
    offsets: np.ndarray,
    count: int,
    scale: float,
    thresholds: tuple[float, float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compiled :func:`scan_hits_numpy` (same arguments and results)."""
    rotf = np.ascontiguousarray(rotators[:, : x.size], dtype=np.complex64).view(np.float32)
    sum_min, each_min, pair_min = (np.float32(t) for t in thresholds)
    size = 1024
    while True:
        out = np.empty(size, np.int64), np.empty(size, np.float32), np.empty(size, np.int64)
        found = _scan_hits_kernel(
            _as_pairs(x),
            rotf,
            int(chip_taps),
            np.ascontiguousarray(offsets, dtype=np.int64),
            int(count),
            np.float32(scale),
            sum_min,
            each_min,
            pair_min,
            *out,
        )
        if found <= size:
            return tuple(a[:found] for a in out)
        size = found


def scan_noise_floor_numba(x: np.ndarray, count: int) -> float:
    """Compiled :func:`scan_noise_floor_numpy` (the same value): the middle sample powers
    by a radix selection instead of a partition of them all."""
    if count < 1 or count > x.size:
        return scan_noise_floor_numpy(x, count)
    out = np.empty(2, np.uint32)
    middle = _middle_powers_kernel(_as_pairs(x), int(count), out)
    values = out.view(np.float32)
    # The median as numpy takes it: the mean of the middle values in float32 (their sum
    # in float32, halved), over its fraction of the mean, ln 2, in float32 as well.
    median = (values[0] + values[1]) / 2 if middle == 2 else values[0]
    sigma2 = float(median / MEDIAN_OVER_MEAN)
    if sigma2 <= 0.0:
        return scan_noise_floor_numpy(x, count)
    return sigma2


scan_hits = dispatching(scan_hits_numpy, scan_hits_numba)
scan_noise_floor = dispatching(scan_noise_floor_numpy, scan_noise_floor_numba)
