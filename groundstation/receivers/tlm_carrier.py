"""Telemetry carrier acquisition and tracking (ICD §4), feed-forward.

1. **Acquisition** (once, on the first 16 s of the input at its full rate, again on the
   next 16 s while none is found). Power spectra of short blocks (about 0.5 s), summed
   along straight lines f0 + ḟ·t (an incoherent Hough search over |f0| ≤ 2 kHz + margin,
   |ḟ| ≤ 5.5 Hz/s): the residual carrier (J0(β)² = 58.6 % of the power) gives the peak. The
   peak is tested against the noise-only distribution (:class:`NoCarrier` when it fails).
   The line starts the front end's NCO (:mod:`~groundstation.receivers.tlm_frontend`).
2. **Tracking** (every segment, on the carrier bins: means of about 1/256 s of the
   NCO-derotated samples; the box car nulls the subcarrier at 1024 Hz). A line search
   (blocks of 2 s) over the segment refines offset and rate and tests the carrier's presence
   again; a least-squares quadratic fit to the unwrapped phase of the smoothed carrier and a
   final zero-phase box-car average of the remaining phasor give the carrier phase. The
   averaging time minimises thermal plus random-walk phase error for the measured C/N0.
   The segment's line then moves the NCO, so the carrier stays locked from chunk to chunk.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from groundstation.receivers.compiled import COMPILED, kernel
from groundstation.receivers.tlm_frontend import active_kernel
from signals.dsp import block_power_spectra, noise_floor, parabolic_offset
from signals.formats.tlm import (
    MAX_CARRIER_OFFSET_HZ,
    MAX_CARRIER_RATE_HZ_PER_S,
    MAX_PHASE_NOISE_RAD_PER_SQRT_S,
)
from signals.gamma import inverse_upper_gamma

#: Search span of the carrier acquisition (Hz, Hz/s), a little beyond the ICD limits.
SEARCH_OFFSET_HZ: Final = MAX_CARRIER_OFFSET_HZ + 50.0
SEARCH_RATE_HZ_PER_S: Final = MAX_CARRIER_RATE_HZ_PER_S * 1.1
#: Length of the acquisition window (s) and of its spectral blocks (s, approximate).
ACQUISITION_WINDOW_S: Final = 16.0
ACQUISITION_BLOCK_S: Final = 0.5
#: False-alarm probability of the carrier detector over the whole search.
CARRIER_FALSE_ALARM: Final = 1e-4
#: Sample rate of the decimated carrier (Hz); fs/256 cycles of box car null 1024 Hz.
CARRIER_RATE_HZ: Final = 256.0
#: Most values transformed at once by the block spectra (bounded temporaries).
SPECTRA_BATCH_VALUES: Final = 1 << 15


def prefix_sums(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.size + 1, dtype=values.dtype)
    np.cumsum(values, out=out[1:])
    return out


def mean(x: np.ndarray) -> float:
    """``np.mean`` of a 1-D float64 array, the same number (numpy's pairwise sum over the
    count) without its dispatch, which costs more than the sum of a frame's bits."""
    return float(np.add.reduce(x) / x.size)


def _boxcar(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of ``width`` samples (zero-phase), the window moved inside
    at the ends."""
    n = x.size
    width = max(1, min(int(width), n))
    if active_kernel() == "numba" and x.dtype == np.complex128 and n > 0:
        out = np.empty(n, np.complex128)
        _boxcar_kernel(np.ascontiguousarray(x), width, out)
        return out
    csum = prefix_sums(x)
    half = width // 2
    # the window [i − half, i − half + width), moved inside [0, n) at the ends
    out = np.empty(n, dtype=csum.dtype)
    inner = n - width + 1  # windows that fit: those of i = half … n − width + half
    out[half : half + inner] = (csum[width:] - csum[:inner]) / width
    out[:half] = (csum[width] - csum[0]) / width
    out[half + inner :] = (csum[n] - csum[n - width]) / width
    return out


def _unwrap(p: np.ndarray) -> np.ndarray:
    """:func:`numpy.unwrap` of ``p`` (rad; period 2π, jumps beyond π), compiled where
    numba is: the same differences, remainders and running sum, to the bit."""
    if active_kernel() == "numba" and p.dtype == np.float64 and p.size > 0:
        out = np.empty(p.size)
        _unwrap_kernel(np.ascontiguousarray(p), out)
        return out
    return np.unwrap(p)


def peak_offset(y: np.ndarray, i: int) -> float:
    """Fractional position (bins) of the parabola's vertex through the peak ``y[i]`` and its
    neighbours (:func:`signals.dsp.parabolic_offset`); 0 at an edge."""
    if not 0 < i < y.size - 1:
        return 0.0
    return parabolic_offset(y[i - 1], y[i], y[i + 1])


def noise_density(x: np.ndarray, fs_hz: float, max_blocks: int = 512) -> float:
    """Noise density N0 (power/Hz, so that σ² = N0·fs per sample) from the spectrum median.

    Hann-windowed periodograms of up to ``max_blocks`` blocks spread over ``x``, averaged;
    the median over frequency, which the signal occupying a small part of the band hardly
    moves, is scaled to the mean by :func:`signals.dsp.noise_floor`.
    """
    nperseg = int(min(1024, max(64, 2 ** int(np.log2(max(x.size // 8, 64))))))
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nperseg) / nperseg)  # periodic Hann
    spectra = block_power_spectra(x, nperseg, max_blocks=max_blocks, window=window, centred=False)
    psd = np.mean(spectra, axis=0) / (fs_hz * np.sum(window**2))
    return float(noise_floor(psd, n_averaged=spectra.shape[0]))


if COMPILED:

    @kernel("f8[:, ::1], i8[:, ::1], i8")
    def _line_search_kernel(padded, starts, b):  # pragma: no cover - compiled
        # every line's sum, added in block order (the bits of the numpy loop), its first
        # largest bin; the best line first reached
        k = padded.shape[0]
        total = np.empty(b)
        best_score, best_j, best_h = -np.inf, 0, 0
        for h in range(starts.shape[0]):
            s = starts[h, 0]
            for j in range(b):
                total[j] = padded[0, s + j]
            for row in range(1, k):
                s = starts[h, row]
                for j in range(b):
                    total[j] += padded[row, s + j]
            jm = 0
            for j in range(1, b):
                if total[j] > total[jm]:
                    jm = j
            if total[jm] > best_score:
                best_score, best_j, best_h = total[jm], jm, h
        return best_score, best_j, best_h

    @kernel("c16[::1], i8, c16[::1]")
    def _boxcar_kernel(x, width, out):  # pragma: no cover - compiled
        # _boxcar's prefix sums (np.cumsum's order) and window differences; numpy divides a
        # complex by the real width as (re + im·0)·(1/width), (im − re·0)·(1/width)
        n = x.shape[0]
        csum = np.empty(n + 1, np.complex128)
        csum[0] = 0.0
        acc = x[0]
        csum[1] = acc
        for i in range(1, n):
            acc += x[i]
            csum[i + 1] = acc
        half = width // 2
        inner = n - width + 1
        scale = 1.0 / width
        for i in range(inner):
            d = csum[width + i] - csum[i]
            out[half + i] = complex(d.real * scale, d.imag * scale)
        d = csum[width] - csum[0]
        for i in range(half):
            out[i] = complex(d.real * scale, d.imag * scale)
        d = csum[n] - csum[n - width]
        for i in range(half + inner, n):
            out[i] = complex(d.real * scale, d.imag * scale)

    @kernel("f8[::1], f8[::1]")
    def _unwrap_kernel(p, out):  # pragma: no cover - compiled
        # np.unwrap: dd = diff(p); ddmod = mod(dd + π, 2π) − π (numpy's remainder and
        # Python's are the same), +π where it is −π and dd > 0; the correction
        # ddmod − dd, 0 where |dd| < π; p plus the running sum of the corrections
        pi = math.pi
        period = 2.0 * pi
        out[0] = p[0]
        acc = 0.0
        for i in range(1, p.shape[0]):
            dd = p[i] - p[i - 1]
            ddmod = (dd - (-pi)) % period + (-pi)
            if ddmod == -pi and dd > 0.0:
                ddmod = pi
            correction = ddmod - dd
            if abs(dd) < pi:
                correction = 0.0
            acc = correction if i == 1 else acc + correction
            out[i] = p[i] + acc

    @kernel()
    def _block_sum(a, lo, n):  # pragma: no cover - compiled
        # numpy's pairwise summation of a[lo : lo + n], n ≤ 128: one by one below 8, else
        # eight running sums added as a tree, then the rest one by one
        if n < 8:
            res = 0.0
            for i in range(lo, lo + n):
                res += a[i]
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

    @kernel("f8[::1]")
    def _pairwise_sum(a):  # pragma: no cover - compiled
        # np.sum of a float64 array: above 128 values, the sum of the first half (rounded
        # down to a multiple of 8) plus the sum of the rest, each halved again; the tree is
        # walked with a stack (a recursive kernel cannot be cached)
        los = np.empty(192, np.int64)
        ns = np.empty(192, np.int64)
        values = np.empty(64)
        top, depth = 0, 0
        los[0], ns[0] = 0, a.shape[0]
        top = 1
        while top > 0:
            top -= 1
            lo, n = los[top], ns[top]
            if n < 0:  # both halves summed: add them
                depth -= 1
                values[depth - 1] = values[depth - 1] + values[depth]
            elif n <= 128:
                values[depth] = _block_sum(a, lo, n)
                depth += 1
            else:
                n2 = n // 2
                n2 -= n2 % 8
                los[top], ns[top] = 0, -1
                los[top + 1], ns[top + 1] = lo + n2, n - n2
                los[top + 2], ns[top + 2] = lo, n2
                top += 3
        return values[0]

    @kernel("f8[::1], f8[::1], f8[::1], f8[::1]")
    def _fit_sums_kernel(u, weight, y, sums):  # pragma: no cover - compiled
        # _quadratic_fit's terms w²·u^k (k < 5, by products) and w²·u^k·y (k < 3), each
        # summed as np.sum sums it
        n = u.shape[0]
        terms = np.empty((8, n))
        for i in range(n):
            w2 = weight[i] * weight[i]
            t1 = w2 * u[i]
            t2 = t1 * u[i]
            t3 = t2 * u[i]
            terms[0, i] = w2
            terms[1, i] = t1
            terms[2, i] = t2
            terms[3, i] = t3
            terms[4, i] = t3 * u[i]
            terms[5, i] = w2 * y[i]
            terms[6, i] = t1 * y[i]
            terms[7, i] = t2 * y[i]
        for k in range(8):
            sums[k] = _pairwise_sum(terms[k])

    @kernel("f8[::1], f8, c16[::1]")
    def _unit_phasors_kernel(x, sign, out):  # pragma: no cover - compiled
        # numpy's ±1j·x is (±0·x ∓ 1·0) + j(±0·0 ± 1·x) (−1j is −0 − 1j): a zero real part
        # (exp of it is 1) and ±0 + (±x); its complex exp is then cos, sin of that
        zero = math.copysign(0.0, sign)
        for i in range(x.shape[0]):
            y = zero + sign * x[i]
            out[i] = complex(math.cos(y), math.sin(y))

    @kernel("f8[::1], f8, f8, f8, f8[::1], c16[::1]")
    def _quadratic_phasor_kernel(t, c0, c1, c2, quad, turn):  # pragma: no cover - compiled
        # c0 + t·(c1 + t·c2) and exp(−j·that) as numpy's complex exp makes it: (cos, sin)
        for i in range(t.shape[0]):
            q = c0 + t[i] * (c1 + t[i] * c2)
            quad[i] = q
            turn[i] = complex(math.cos(-q), math.sin(-q))


def _line_search(
    power: np.ndarray, times_s: np.ndarray, bin_hz: float, rates: np.ndarray
) -> tuple[float, float, float, int]:
    """Incoherent sum of block spectra along lines f = f_mid + ḟ·(t − t_mid).

    Parameters
    ----------
    power : ndarray, shape (K, B)
        Normalised block power spectra (noise mean 1), frequency bins in order.
    times_s : ndarray, shape (K,)
        Block centre times (s).
    bin_hz : float
        Bin spacing (Hz).
    rates : ndarray
        Rate hypotheses (Hz/s).

    Returns
    -------
    (peak bin index at t_mid (fractional), rate Hz/s, mean normalised power on the line,
    number of cells searched)
    """
    k, b = power.shape
    t_mid = 0.5 * (times_s[0] + times_s[-1])
    shifts = np.rint(np.outer(rates, times_s - t_mid) / bin_hz).astype(np.int64)
    pad = int(np.max(np.abs(shifts))) if shifts.size else 0
    padded = np.pad(power, ((0, 0), (pad, pad)), constant_values=0.0)
    starts = shifts + pad

    def along(h: int) -> np.ndarray:
        # block k's spectrum from its shifted start, added in block order: the sums of
        # gathering the (K, B) array and summing it over axis 0, to the bit, without the gather
        total = padded[0, starts[h, 0] : starts[h, 0] + b].copy()
        for row in range(1, k):
            total += padded[row, starts[h, row] : starts[h, row] + b]
        return total

    if active_kernel() == "numba" and rates.size > 1:
        score, j, h = _line_search_kernel(padded, np.ascontiguousarray(starts), b)
        best = (float(score), int(j), int(h))
    else:
        best = (-np.inf, 0, 0)
        for h in range(rates.size):
            total = along(h)
            j = int(np.argmax(total))
            if total[j] > best[0]:
                best = (float(total[j]), j, h)
    score, j, h = best
    total = along(h)
    return j + peak_offset(total, j), float(rates[h]), score / k, b * rates.size


def _block_spectra(
    x: np.ndarray, fs_hz: float, nfft: int, n_blocks: int, *, max_hz: float = np.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectra of consecutive blocks, fftshifted, each normalised to noise mean 1 (the
    median over its whole band), kept within ``max_hz`` of zero. The blocks are transformed
    a batch at a time (at most :data:`SPECTRA_BATCH_VALUES` values; one block of the
    acquisition's full rate), so only the kept bins are ever held for every block; each
    block's numbers are those of transforming it alone."""
    freqs = np.fft.fftshift(np.fft.fftfreq(nfft, 1.0 / fs_hz))
    keep = np.abs(freqs) <= max_hz
    spec = np.empty((n_blocks, int(np.count_nonzero(keep))))
    per_batch = max(1, SPECTRA_BATCH_VALUES // nfft)
    for k in range(0, n_blocks, per_batch):
        k1 = min(n_blocks, k + per_batch)
        power = block_power_spectra(x[k * nfft : k1 * nfft], nfft).astype(np.float64)
        floors = noise_floor(power, axis=1, keepdims=True)
        spec[k:k1] = power[:, keep] / np.maximum(floors, 1e-300)
    times = (np.arange(n_blocks) + 0.5) * nfft / fs_hz
    return spec, freqs[keep], times


@dataclass(frozen=True)
class Acquisition:
    """The carrier line found by the acquisition.

    Attributes
    ----------
    offset_hz : float
        Offset at the window's first sample (Hz).
    rate_hz_per_s : float
        Rate (Hz/s).
    rate_error_hz_per_s : float
        How far the rate may be off (Hz/s): three bins over the window, plus 0.05 Hz/s.
    """

    offset_hz: float
    rate_hz_per_s: float
    rate_error_hz_per_s: float


@dataclass
class CarrierTrack:
    """The carrier of one segment, relative to the reference line it was measured against.

    Attributes
    ----------
    phase_rad : ndarray
        Carrier phase at the carrier bins' centres, less the reference line's (rad).
    offset_hz, rate_hz_per_s : float
        Residual offset at the segment's first sample (Hz) and rate (Hz/s), both relative
        to the reference line.
    carrier_power : float
        Mean power of the residual carrier line.
    n0 : float
        Noise density, σ² = N0·fs per sample.
    """

    phase_rad: np.ndarray
    offset_hz: float
    rate_hz_per_s: float
    carrier_power: float
    n0: float


class NoCarrier(Exception):
    def __init__(self, peak_db: float, threshold_db: float):
        super().__init__(peak_db, threshold_db)
        self.peak_db = peak_db
        self.threshold_db = threshold_db


def _quadratic_fit(t: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Coefficients (c0, c1, c2) of c0 + c1·t + c2·t² fitted to ``y`` by least squares with
    weights ``weight`` (as :func:`numpy.polynomial.polynomial.polyfit` with ``w=weight``),
    from the 3×3 normal equations in t scaled to [−1, 1]: no matrix the size of ``t``."""
    mid = 0.5 * (t[0] + t[-1])
    half = max(0.5 * (t[-1] - t[0]), 1e-12)
    u = (t - mid) / half
    if active_kernel() == "numba" and t.size > 0:
        sums = np.empty(8)
        _fit_sums_kernel(
            np.ascontiguousarray(u, np.float64), np.ascontiguousarray(weight, np.float64),
            np.ascontiguousarray(y, np.float64), sums,
        )  # fmt: skip
        powers, rhs_sums = [float(v) for v in sums[:5]], [float(v) for v in sums[5:]]
    else:
        w2 = weight * weight
        terms = [w2, w2 * u]  # w²·u^k by products (a power per element costs ten times more)
        for _ in range(3):
            terms.append(terms[-1] * u)
        powers = [float(np.sum(term)) for term in terms]
        rhs_sums = [float(np.sum(term * y)) for term in terms[:3]]
    normal = np.array([[powers[i + j] for j in range(3)] for i in range(3)])
    rhs = np.array(rhs_sums)
    b0, b1, b2 = np.linalg.solve(normal, rhs)
    c2 = b2 / half**2
    return np.array([b0 - b1 * mid / half + c2 * mid * mid, b1 / half - 2 * c2 * mid, c2])


def _quadratic_phasor(t: np.ndarray, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The phase poly[0] + poly[1]·t + poly[2]·t² (rad) and exp(−j·phase), compiled where
    numba is (to the bit: numpy's complex exp of −j·q is cos q − j·sin q)."""
    if active_kernel() == "numba" and t.dtype == np.float64:
        quad = np.empty(t.size)
        turn = np.empty(t.size, np.complex128)
        _quadratic_phasor_kernel(
            np.ascontiguousarray(t), float(poly[0]), float(poly[1]), float(poly[2]), quad, turn
        )
        return quad, turn
    quad = poly[0] + t * (poly[1] + t * poly[2])
    return quad, np.exp(-1j * quad)


def unit_phasors(phase_rad: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """``np.exp(sign·1j·phase_rad)`` (``sign`` ±1), compiled where numba is: numpy's complex
    exp of ±j·x is cos, sin of 0 + (±x), to the bit."""
    if active_kernel() == "numba" and phase_rad.dtype == np.float64 and phase_rad.ndim == 1:
        out = np.empty(phase_rad.size, np.complex128)
        _unit_phasors_kernel(np.ascontiguousarray(phase_rad), float(sign), out)
        return out
    return np.exp(sign * 1j * phase_rad)


@functools.lru_cache(maxsize=256)
def _detection_threshold(n_blocks: int, cells: int) -> float:
    """Mean normalised power on the best of ``cells`` lines that noise alone exceeds with
    probability CARRIER_FALSE_ALARM (a gamma variable of shape ``n_blocks``, mean 1). Kept
    per (``n_blocks``, ``cells``): every regular segment asks for the same one."""
    return inverse_upper_gamma(n_blocks, CARRIER_FALSE_ALARM / cells) / n_blocks


def acquire_carrier(x: np.ndarray, fs_hz: float) -> Acquisition:
    """Find the residual carrier's line in ``x`` (full rate, up to 16 s; stage 1).

    Raises
    ------
    NoCarrier
        No line stands above the noise-only threshold.
    """
    n = x.size
    nfft = int(2 ** round(np.log2(ACQUISITION_BLOCK_S * fs_hz)))
    window = min(n, int(ACQUISITION_WINDOW_S * fs_hz))
    n_blocks = max(1, window // nfft)
    if n < nfft:
        nfft = int(2 ** np.floor(np.log2(max(n, 16))))
        n_blocks = 1
    spec, freqs, times = _block_spectra(x, fs_hz, nfft, n_blocks, max_hz=SEARCH_OFFSET_HZ)
    bin_hz = fs_hz / nfft
    span_s = max(times[-1] - times[0], 1e-9)
    n_rates = 1 if n_blocks < 3 else int(np.ceil(2 * SEARCH_RATE_HZ_PER_S * span_s / bin_hz)) + 1
    rates = np.linspace(-SEARCH_RATE_HZ_PER_S, SEARCH_RATE_HZ_PER_S, n_rates)
    if n_rates == 1:
        rates = np.zeros(1)
    j, rate1, score, cells = _line_search(spec, times, bin_hz, rates)
    threshold = _detection_threshold(n_blocks, cells)
    if score < threshold:
        raise NoCarrier(10 * np.log10(max(score, 1e-12)), 10 * np.log10(threshold))
    t_mid = 0.5 * (times[0] + times[-1])
    f_mid = float(np.interp(j, np.arange(freqs.size), freqs))
    # the line is good to about a bin over its window (noise and leakage make it up to
    # two): the tracking searches three bins per window either side
    rate_err = 3.0 * bin_hz / max(span_s, nfft / fs_hz) + 0.05
    return Acquisition(f_mid - rate1 * t_mid, rate1, rate_err)


def track_carrier(
    c: np.ndarray,
    t_c: np.ndarray,
    fs_c: float,
    n0: float,
    rate_error_hz_per_s: float,
    *,
    search: bool = True,
) -> CarrierTrack:
    """Track the residual carrier of one segment on its carrier bins (stage 2).

    Parameters
    ----------
    c : ndarray of complex
        Carrier bins (means of the samples derotated by the reference line).
    t_c : ndarray
        Their centre times from the segment's first sample (s).
    fs_c : float
        Their rate (Hz).
    n0 : float
        Noise density (σ² = N0·fs per full-rate sample).
    rate_error_hz_per_s : float
        Largest rate error of the reference line searched (Hz/s).
    search : bool
        Search offset and rate about the reference line, and test the carrier's presence
        (stage 2's line search). Without it the reference is taken as the line (it is one a
        segment tracked a few seconds before): only the phase fit and smoothing are done,
        about a tenth of the work.

    Raises
    ------
    NoCarrier
        Too few bins, or no line above the noise-only threshold.
    """
    n_c = c.size
    if n_c < 16:
        raise NoCarrier(-np.inf, 0.0)
    if not search:
        return _track_phase(c, t_c, fs_c, n0, 0.0, 0.0, None, max(1, round(fs_c)))
    nfft2 = int(min(2 ** round(np.log2(2.0 * fs_c)), 2 ** np.floor(np.log2(n_c))))
    k2 = n_c // nfft2
    spec2, freqs2, times2 = _block_spectra(c, fs_c, nfft2, k2)
    bin2 = fs_c / nfft2
    span2 = max(times2[-1] - times2[0], 1e-9)
    rate_err = rate_error_hz_per_s
    n_rates2 = 1 if k2 < 3 else int(np.ceil(2 * rate_err * span2 / bin2)) + 1
    rates2 = np.linspace(-rate_err, rate_err, n_rates2) if n_rates2 > 1 else np.zeros(1)
    j2, rate2, score, cells = _line_search(spec2, times2, bin2, rates2)
    threshold = _detection_threshold(k2, cells)
    if score < threshold:
        raise NoCarrier(10 * np.log10(max(score, 1e-12)), 10 * np.log10(threshold))
    tmid2 = 0.5 * (times2[0] + times2[-1])
    f2 = float(np.interp(j2, np.arange(freqs2.size), freqs2)) - rate2 * tmid2
    phase2 = 2 * np.pi * (f2 * t_c + 0.5 * rate2 * t_c * t_c)
    # without a rate search (a segment of a few seconds) the residual may still sweep a
    # few hertz: smooth over a quarter second for the fit, else over one second
    w1 = max(1, round((1.0 if n_rates2 > 1 else 0.25) * fs_c))
    return _track_phase(c, t_c, fs_c, n0, f2, rate2, phase2, w1)


def _track_phase(
    c: np.ndarray,
    t_c: np.ndarray,
    fs_c: float,
    n0: float,
    f2: float,
    rate2: float,
    phase2: np.ndarray | None,
    w1: int,
) -> CarrierTrack:
    """Stage 2 after the line search: the phase of ``c`` about the line ``phase2``
    (offset ``f2``, rate ``rate2``; None: the reference line itself) by a quadratic fit to
    the phase smoothed over ``w1`` bins, then a box-car average of the remaining phasor over
    the optimum time."""
    n_c = c.size
    c2 = c if phase2 is None else c * unit_phasors(phase2, -1.0)
    v = _boxcar(c2, w1)
    ph = _unwrap(np.angle(v))
    poly = _quadratic_fit(t_c, ph, np.abs(v))
    quad, turn = _quadratic_phasor(t_c, poly)
    c3 = c2 * turn
    v = _boxcar(c3, w1)
    carrier_power = max(mean(np.abs(v) ** 2) - n0 * fs_c / w1, 1e-30)
    cn0_carrier = carrier_power / max(n0, 1e-300)
    q = MAX_PHASE_NOISE_RAD_PER_SQRT_S
    t_opt = math.sqrt(6.0 / (cn0_carrier * q * q))
    t_opt = min(max(t_opt, 0.25), min(20.0, max(0.25, n_c / fs_c / 4)))  # np.clip's order
    v3 = _boxcar(c3, max(1, round(t_opt * fs_c)))
    resid = _unwrap(np.angle(v3))
    resid -= 2 * np.pi * np.rint(mean(resid) / (2 * np.pi))
    phase_c = quad + resid if phase2 is None else phase2 + quad + resid
    offset = f2 + poly[1] / (2 * np.pi)
    rate = rate2 + 2 * poly[2] / (2 * np.pi)
    return CarrierTrack(phase_c, float(offset), float(rate), carrier_power, n0)
