"""Telemetry subcarrier and bit synchronisation (ICD §4): data bins to soft bits.

The imaginary part of the derotated signal holds 2·J1(β)·A·d(t)·sin θ(t). The functions here
work on bins of ``m`` samples (:mod:`~groundstation.receivers.tlm_frontend`): sums over a
bin of Im(z)·exp(−j·2π·1024·t) for the subcarrier, of Im(z)·sin θ̂ for the bits; a span
that ends inside a bin takes that bin's sum in proportion (linear within the bin, as the
integrand is zero at the half-cycle edges where spans end). Integrals over
nominal subcarrier cycles, grouped and squared (removing the data), give the subcarrier
frequency (hence the clock error ε) and its phase modulo π from the peak of their spectrum.
Half-cycle integrals of the matched product Im(z)·sin θ̂ are summed into bits for each of the
2·(1024/R) possible bit starts; the start with the largest Σ|soft bit| wins. The soft-bit
statistics (quality, M2M4 Eb/N0, the probability of an undetected double error) are here too.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from groundstation.errors import DecodeError
from groundstation.receivers.compiled import COMPILED, kernel
from groundstation.receivers.tlm_carrier import mean, peak_offset
from groundstation.receivers.tlm_frontend import active_kernel, grid_sums
from signals.formats.tlm import (
    SUBCARRIER_HZ,
    SYNC_BITS,
    cycles_per_bit,
)

#: Largest clock error searched (|ε|), with margin over the ICD's 100 ppm.
SEARCH_CLOCK_OFFSET: Final = 250e-6


def subcarrier(
    mix: np.ndarray,
    first: float,
    m: int,
    n: int,
    fs_hz: float,
    bit_rate_bps: float,
    *,
    delta_hz: float | None = None,
) -> tuple[float, float]:
    """Subcarrier frequency offset δ (Hz) and phase ψ0 (rad, mod π) of Im(z).

    θ(t) = 2π·(1024 + δ)·t + ψ0 with t from the segment's first sample.

    Parameters
    ----------
    mix : ndarray of complex
        Bins of Im(z)·exp(−j·2π·1024·t), ``m`` samples each, the first starting ``first``
        samples after the segment's first sample.
    first : float
        Position of the first bin's first sample in the segment (samples).
    m : int
        Samples per bin.
    n : int
        Samples in the segment.
    fs_hz, bit_rate_bps : float
        Sample rate (Hz) and bit rate (bit/s).
    delta_hz : float, optional
        The offset δ when it is known (measured over a longer stretch before): only the
        phase is estimated, with no spectrum.
    """
    n_per_bit = cycles_per_bit(bit_rate_bps)
    group = max(1, n_per_bit // 2)
    samples_per_cycle = fs_hz / SUBCARRIER_HZ
    n_cycles = int(np.floor((n - 1) / samples_per_cycle))
    n_groups = n_cycles // group
    if n_groups < 4 or mix.size < 2:
        raise DecodeError("segment too short to recover the telemetry subcarrier")
    group_samples = group * samples_per_cycle
    cum = grid_sums(mix, -first / m, group_samples / m, n_groups + 1)
    y = np.diff(cum)
    sq = y * y
    t_g = (np.arange(n_groups) + 0.5) * group_samples / fs_hz
    if delta_hz is not None:
        f_peak = 2.0 * delta_hz
    else:
        group_rate = fs_hz / (group * samples_per_cycle)
        max_f = 2 * SUBCARRIER_HZ * SEARCH_CLOCK_OFFSET
        nfft = 1 << int(np.ceil(np.log2(n_groups * 16)))
        spec = np.fft.fft(sq, nfft)
        sel, freqs = low_frequencies(nfft, 1.0 / group_rate, max_f)
        mag = np.abs(spec[sel])
        i = int(np.argmax(mag))
        f_peak = float(freqs[i]) + peak_offset(mag, i) * group_rate / nfft
    # the group's sum is (a·d/2j)·e^{jψ}: its square has phase 2ψ + π
    arg = float(np.angle(np.sum(sq * np.exp(-2j * np.pi * f_peak * t_g))))
    return 0.5 * f_peak, 0.5 * (arg - np.pi)


def low_frequencies(n: int, d: float, max_f: float) -> tuple[np.ndarray, np.ndarray]:
    """The indices ``np.flatnonzero(np.abs(np.fft.fftfreq(n, d)) <= max_f)`` and those
    frequencies, in that order, without the n-long arrays (131072 values for a segment's
    subcarrier spectrum, of which a thousand are kept): the same integers times the same
    1/(n·d), so the same numbers."""
    val = 1.0 / (n * d)
    reach = int(max_f / val) + 2
    k = np.concatenate(
        [np.arange(0, min((n - 1) // 2 + 1, reach)), np.arange(-min(n // 2, reach), 0)]
    )
    freqs = k * val
    ok = np.abs(freqs) <= max_f
    return np.where(k >= 0, k, k + n)[ok], freqs[ok]


def soft_bits(
    w: np.ndarray,
    first: float,
    m: int,
    n: int,
    fs_hz: float,
    bit_rate_bps: float,
    delta_hz: float,
    psi0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Soft bits by half-cycle matched integration; returns (bit start positions, soft).

    ``w`` holds bins of Im(z)·sin θ̂ (θ̂ from ``delta_hz``, ``psi0``), laid out as the
    ``mix`` of :func:`subcarrier`; positions are samples from the segment's first.
    """
    f_sc = SUBCARRIER_HZ + delta_hz
    half_s = 0.5 / f_sc
    # half cycles may start up to half a sample before the first sample (a frame that
    # starts the recording), as they may end up to half a sample after the last one
    k0 = int(np.ceil((psi0 - np.pi * f_sc / fs_hz) / np.pi))
    t_first = (k0 * np.pi - psi0) / (2 * np.pi * f_sc)
    # a half cycle counts when it ends within half a sample of the last sample's end
    n_half = int(np.floor(((n + 0.5) / fs_hz - t_first) / half_s))
    if n_half < 2 or w.size < 2:
        return np.zeros(0), np.zeros(0)
    h = grid_sums(w, (t_first * fs_hz - first) / m, half_s * fs_hz / m, n_half + 1)
    h /= fs_hz
    per_bit = 2 * cycles_per_bit(bit_rate_bps)
    # for each start j, the mean |h[j + k·per_bit] − h[j + (k−1)·per_bit]|
    j = 0
    if h.size > per_bit:
        counts, sums = _step_sums(h, per_bit)
        metric = sums / np.maximum(counts, 1)
        metric[(counts == 0) | (np.arange(per_bit) >= n_half)] = -1.0
        j = int(np.argmax(metric))
    idx = np.arange(j, n_half + 1, per_bit)
    # Bits start where sin(2π·f_sc·t) starts a positive half cycle (θ ≡ 0 mod 2π). If
    # the chosen starts sit at θ̂ ≡ π, the phase estimate is off by π (squaring leaves
    # ψ mod π): flip the sign, so a remaining inversion is the transmitter's own. The
    # half cycle of the bit start shows only in the bit transitions, 1/(2·f_sc/R) of a
    # bit each: it is resolved at the higher rates; at a few bit/s with few frames it may
    # not be, and the inversion flag is then only the sync word's polarity.
    sign = -1.0 if (k0 + j) % 2 else 1.0
    return (t_first + idx[:-1] * half_s) * fs_hz, sign * np.diff(h[idx])


def quality_db(soft: np.ndarray) -> float:
    """Squared mean over variance of the soft bits' magnitudes (dB; noise alone: 2.4 dB).
    The variance is ``np.var``'s: the mean removed, squared, summed, over the count."""
    a = np.abs(soft)
    mu = np.add.reduce(a) / a.size
    d = a - mu
    var = float(np.add.reduce(d * d) / a.size)
    return float(10 * np.log10(max(float(mu) ** 2, 1e-300) / max(var, 1e-300)))


def _m2m4(soft: np.ndarray) -> tuple[float, float]:
    """Second moment M2 of soft BPSK decisions and the squared signal power (3·M2² − M4)/2."""
    m2, m4 = _moments(soft)
    return m2, 0.5 * (3 * m2 * m2 - m4)


def soft_llr_scale(soft: np.ndarray) -> float:
    """Factor turning soft bits into log-likelihood ratios, 2·A/σ², from M2M4 moments."""
    m2, s2 = _m2m4(soft)
    power = math.sqrt(s2) if s2 > 0 else mean(np.abs(soft)) ** 2
    noise = max(m2 - power, 1e-3 * m2, 1e-300)
    return 2.0 * math.sqrt(max(power, 0.0)) / noise


if COMPILED:

    @kernel("f8[::1], f8[::1]")
    def _logistic_kernel(x, out):  # pragma: no cover - compiled
        for i in range(x.size):
            out[i] = 1.0 / (1.0 + math.exp(-x[i]))


def _logistic_one(x: float) -> float:
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exp(−x) beyond the largest double: 1/(1 + inf)
        return 0.0


def logistic(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(−x)) of float64 values, elementwise.

    Each value is computed as ``scipy.special.expit`` computes it, with the C library's
    ``exp`` (numpy's own vectorised exp may differ in the last bit), so the two agree to the
    bit (tested) without importing ``scipy.special``.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(x.ravel())
    if active_kernel() == "numba":
        out = np.empty(flat.size)
        _logistic_kernel(flat, out)
    else:
        out = np.array([_logistic_one(v) for v in flat.tolist()], dtype=np.float64)
    return out.reshape(x.shape)


def undetected_error_prob(soft: np.ndarray, llr_scale: float) -> float:
    """Probability that a data word holds two bit errors (parity blind), summed over words.

    Bit error probabilities from the soft values: p = 1 / (1 + exp(|LLR|)).
    """
    p = logistic(-np.abs(soft[SYNC_BITS:]) * llr_scale).reshape(-1, 8)
    total = p.sum(axis=1)
    pairs = 0.5 * (total**2 - (p**2).sum(axis=1))
    return float(pairs.sum())


def snr_m2m4(soft: np.ndarray) -> float:
    """Eb/N0 (dB) from soft BPSK decisions by the second and fourth moments."""
    if soft.size < 16:
        return math.nan
    return snr_m2m4_from_moments(soft.size, *_moments(soft))


def _moments(soft: np.ndarray) -> tuple[float, float]:
    return mean(soft**2), mean(soft**4)


def snr_m2m4_from_moments(count: int, m2: float, m4: float) -> float:
    """Eb/N0 (dB) from the second and fourth moments ``m2``, ``m4`` of ``count`` soft BPSK
    decisions (NaN below 16 decisions or where the moments hold no signal)."""
    if count < 16:
        return math.nan
    s2 = 0.5 * (3 * m2 * m2 - m4)
    if s2 <= 0:
        return math.nan
    s = math.sqrt(s2)
    noise = m2 - s
    if noise <= 0:
        return math.inf
    return 10 * math.log10(s / (2 * noise))


#: Steps of :func:`_step_sums` taken at a time (1 MiB of float64).
STEP_BLOCK: Final = 1 << 17


def _step_sums(h: np.ndarray, per_bit: int) -> tuple[np.ndarray, np.ndarray]:
    """For each start j < ``per_bit``: how many steps |h[i + per_bit] − h[i]| have
    i ≡ j (mod ``per_bit``), and their sum, added in the order of i.

    A block of rows of ``per_bit`` steps at a time, the sums so far carried as the block's
    first row: the steps of a segment are never held whole (12 MB at 1 bit/s and 48 kS/s),
    and the sums are those of a ``bincount`` over ``i % per_bit``, bit for bit.
    """
    rows, rest = divmod(h.size - per_bit, per_bit)
    block_rows = max(1, STEP_BLOCK // per_bit)
    sums = np.zeros(per_bit)
    block = np.empty((block_rows + 1, per_bit))
    for row in range(0, rows, block_rows):
        k = min(block_rows, rows - row)
        lo, part = row * per_bit, block[: k + 1]
        part[0] = sums
        steps = part[1:].reshape(-1)
        np.subtract(h[lo + per_bit : lo + (k + 1) * per_bit], h[lo : lo + k * per_bit], out=steps)
        np.abs(steps, out=steps)
        np.add.reduce(part, axis=0, out=sums)
    lo = rows * per_bit
    sums[:rest] += np.abs(h[lo + per_bit : lo + per_bit + rest] - h[lo : lo + rest])
    counts = np.full(per_bit, rows)
    counts[:rest] += 1
    return counts, sums
