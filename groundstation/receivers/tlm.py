"""Telemetry receiver (ICD §4): PM carrier -> BPSK subcarrier -> bits -> frames.

Every stage is a feed-forward block estimator over arrays; the recording is processed in
overlapping segments so memory stays bounded and a slowly changing Doppler rate is
followed segment by segment. Within one segment:

1. **Carrier acquisition.** Power spectra of short blocks (about 0.5 s) over the first
   16 s, summed along straight lines f0 + ḟ·t (an incoherent Hough search over
   |f0| ≤ 2 kHz + margin, |ḟ| ≤ 5.5 Hz/s): the residual carrier (J0(β)² = 58.6 % of the
   power) gives the peak. The peak is tested against the noise-only distribution.
2. **Carrier tracking.** The segment is derotated with that line and box-car decimated to
   about 256 Hz (the box car suppresses the data sidebands at 1024 Hz); a second line
   search (blocks of 2 s) on the
   decimated carrier over the whole segment refines offset and rate; a least-squares
   quadratic fit to the unwrapped phase of the smoothed carrier and a final zero-phase
   box-car average of the remaining phasor give the carrier phase. The averaging time
   minimises thermal plus random-walk phase error for the measured C/N0.
3. **Subcarrier and bit timing.** The imaginary part of the derotated signal holds
   2·J1(β)·A·d(t)·sin θ(t). Integrals over nominal subcarrier cycles, grouped and
   squared (removing the data), give the subcarrier frequency (hence the clock error ε)
   and its phase modulo π from the peak of their spectrum. Half-cycle integrals of the
   matched product Im(z)·sin θ̂ are summed into bits for each of the 2·(1024/R) possible
   bit starts; the start with the largest Σ|soft bit| wins.
4. **Frames.** Correlation of the hard bits with the 24-bit sync word in both polarities;
   near-exact matches anchor a 256-bit grid on which weaker matches are accepted. An
   inverted sync word inverts every bit of its frame. Every frame is kept; it is
   ``parity_ok`` only if all 29 words pass odd parity, its type is known, its spare
   words are zero, and its soft bits make an undetected double error in some word
   improbable (< 10⁻³; single parity cannot see two errors, nor a whole inverted word).

Estimates: C/N0 = (carrier power + data-sideband power scaled to the total) over the
noise density (Welch spectrum, median over frequency); this holds whatever fraction of
the segment is modulated. Eb/N0 from the moments of the frames' soft bits (M2M4).
Carrier offset (at the first sample) and rate from the fitted phase.

Long recordings are cut into segments of at least 64 s or three frames, overlapping by
one frame and 4 s; a frame belongs to the segment in which it starts (before the next
segment's start), so every frame is decoded once and whole.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
from scipy import signal as sps
from scipy import special, stats

from groundstation.errors import DecodeError, NoSignalError
from groundstation.io.recording import Recording, nonfinite_to_zero
from groundstation.results import DecodedFrame, TelemetryDecodeResult, TruncatedFrame
from signals.formats.tlm import (
    BIT_RATES_BPS,
    CARRIER_POWER_FRACTION,
    DATA_POWER_FRACTION,
    FRAME_BITS,
    MAX_CARRIER_OFFSET_HZ,
    MAX_CARRIER_RATE_HZ_PER_S,
    MAX_PHASE_NOISE_RAD_PER_SQRT_S,
    MIN_FS_HZ,
    SUBCARRIER_HZ,
    SYNC_BITS,
    SYNC_PATTERN,
    cycles_per_bit,
    frame_duration_s,
)
from signals.formats.tlm_frames import TelemetryFrame, words_parity_ok

log = logging.getLogger(__name__)

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
#: Largest clock error searched (|ε|), with margin over the ICD's 100 ppm.
SEARCH_CLOCK_OFFSET: Final = 250e-6
#: Sync detection: errors allowed for an anchor match and for a match on the grid.
SYNC_ANCHOR_ERRORS: Final = 2
SYNC_GRID_ERRORS: Final = 6
#: A frame that passes every parity check is still not ``parity_ok`` when its soft bits
#: make an undetected (two-error) word error more likely than this.
MAX_UNDETECTED_ERROR_PROB: Final = 1e-3
#: Frames whose soft bits look like noise (half-normal: 2.4 dB) are rejected.
MIN_FRAME_QUALITY_DB: Final = 3.5
#: Segments: at least this long (s) and at least this many frames.
MIN_SEGMENT_S: Final = 64.0
SEGMENT_FRAMES: Final = 3.0
SEGMENT_MARGIN_S: Final = 4.0


# ============================================================================ helpers


def _prefix_at(prefix: np.ndarray, values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` up to fractional sample position ``pos``.

    ``prefix[n]`` is the sum of ``values[:n]``; the partial sample is linearly weighted.
    """
    pos = np.clip(pos, 0.0, values.size - 1e-9)
    i = np.floor(pos).astype(np.int64)
    return prefix[i] + (pos - i) * values[i]


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.size + 1, dtype=values.dtype)
    np.cumsum(values, out=out[1:])
    return out


def _boxcar(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of ``width`` samples (zero-phase), shortened at the ends."""
    width = max(1, min(int(width), x.size))
    csum = _prefix(x)
    half = width // 2
    lo = np.clip(np.arange(x.size) - half, 0, x.size)
    hi = np.clip(lo + width, 0, x.size)
    lo = np.clip(hi - width, 0, x.size)
    return (csum[hi] - csum[lo]) / (hi - lo)


def _derotate(x: np.ndarray, phase_rad: np.ndarray, dtype: type = np.complex64) -> np.ndarray:
    """``x·exp(−j·phase)`` block by block (bounded temporaries), as ``dtype``."""
    out = np.empty(x.size, dtype=dtype)
    block = 1 << 18
    for start in range(0, x.size, block):
        stop = start + block
        out[start:stop] = x[start:stop] * np.exp(-1j * phase_rad[start:stop])
    return out


def _peak_offset(y: np.ndarray, i: int) -> float:
    """Fractional position (bins, within ±0.5) of the parabola's vertex through the peak
    ``y[i]`` and its neighbours; 0 at an edge or where the three points hold no maximum."""
    if not 0 < i < y.size - 1:
        return 0.0
    y0, y1, y2 = y[i - 1], y[i], y[i + 1]
    denom = y0 - 2 * y1 + y2
    if not denom < 0:
        return 0.0
    return float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))


def _noise_density(x: np.ndarray, fs_hz: float, max_blocks: int = 512) -> float:
    """Noise density N0 (power/Hz, so that σ² = N0·fs per sample) from the spectrum median.

    Hann-windowed periodograms of up to ``max_blocks`` blocks spread over ``x``, averaged;
    the median over frequency is corrected for the median of a chi-square with 2K degrees
    of freedom (the signal occupies a small part of the band).
    """
    nperseg = int(min(1024, max(64, 2 ** int(np.log2(max(x.size // 8, 64))))))
    n_blocks = max(1, x.size // nperseg)
    blocks = x[: n_blocks * nperseg].reshape(n_blocks, nperseg)
    blocks = blocks[:: max(1, n_blocks // max_blocks)][:max_blocks]
    window = sps.get_window("hann", nperseg)
    psd = np.mean(np.abs(np.fft.fft(blocks * window, axis=1)) ** 2, axis=0)
    psd /= fs_hz * np.sum(window**2)
    median_over_mean = (1.0 - 1.0 / (9.0 * blocks.shape[0])) ** 3
    return float(np.median(psd)) / median_over_mean


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
    best = (-np.inf, 0, 0)
    rows = np.arange(k)[:, None]
    cols = np.arange(b)[None, :]
    for h in range(rates.size):
        total = padded[rows, cols + pad + shifts[h][:, None]].sum(axis=0)
        j = int(np.argmax(total))
        if total[j] > best[0]:
            best = (float(total[j]), j, h)
    score, j, h = best
    total = padded[rows, cols + pad + shifts[h][:, None]].sum(axis=0)
    return j + _peak_offset(total, j), float(rates[h]), score / k, b * rates.size


def _block_spectra(
    x: np.ndarray, fs_hz: float, nfft: int, n_blocks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectra of consecutive blocks, fftshifted, each normalised to noise mean 1."""
    blocks = x[: n_blocks * nfft].reshape(n_blocks, nfft)
    spec = np.fft.fftshift(np.abs(np.fft.fft(blocks, axis=1)) ** 2, axes=1)
    freqs = np.fft.fftshift(np.fft.fftfreq(nfft, 1.0 / fs_hz))
    med = np.median(spec, axis=1, keepdims=True)
    spec = spec / np.maximum(med / np.log(2.0), 1e-300)
    times = (np.arange(n_blocks) + 0.5) * nfft / fs_hz
    return spec, freqs, times


# ============================================================================ segment


@dataclass
class _CarrierTrack:
    phase_rad: np.ndarray  # full-rate carrier phase of the segment
    offset_hz: float  # residual offset at the segment's first sample
    rate_hz_per_s: float
    carrier_power: float  # mean power of the residual carrier line
    n0: float  # noise density, σ² = N0·fs per sample


@dataclass
class _SegmentFrame:
    first_bit_sample: float  # absolute
    bit_index: int
    soft: np.ndarray  # 256 polarity-corrected soft bits
    inverted: bool
    sync_errors: int
    undetected_error_prob: float = 0.0


@dataclass
class _SegmentResult:
    carrier: _CarrierTrack
    frames: list[_SegmentFrame]
    truncated: list[TruncatedFrame]
    clock_offset: float
    bit_s: float
    cn0_dbhz: float


class _NoCarrier(Exception):
    def __init__(self, peak_db: float, threshold_db: float):
        super().__init__(peak_db, threshold_db)
        self.peak_db = peak_db
        self.threshold_db = threshold_db


def _track_carrier(x: np.ndarray, fs_hz: float) -> _CarrierTrack:
    """Acquire and track the residual carrier of one segment (see the module docstring)."""
    n = x.size
    # --- 1. acquisition: Hough search over the first window
    nfft = int(2 ** round(np.log2(ACQUISITION_BLOCK_S * fs_hz)))
    window = min(n, int(ACQUISITION_WINDOW_S * fs_hz))
    n_blocks = max(1, window // nfft)
    if n < nfft:
        nfft = int(2 ** np.floor(np.log2(max(n, 16))))
        n_blocks = 1
    spec, freqs, times = _block_spectra(x, fs_hz, nfft, n_blocks)
    keep = np.abs(freqs) <= SEARCH_OFFSET_HZ
    spec, freqs = spec[:, keep], freqs[keep]
    bin_hz = fs_hz / nfft
    span_s = max(times[-1] - times[0], 1e-9)
    n_rates = 1 if n_blocks < 3 else int(np.ceil(2 * SEARCH_RATE_HZ_PER_S * span_s / bin_hz)) + 1
    rates = np.linspace(-SEARCH_RATE_HZ_PER_S, SEARCH_RATE_HZ_PER_S, n_rates)
    if n_rates == 1:
        rates = np.zeros(1)
    j, rate1, score, cells = _line_search(spec, times, bin_hz, rates)
    threshold = stats.gamma.isf(CARRIER_FALSE_ALARM / cells, a=n_blocks) / n_blocks
    if score < threshold:
        raise _NoCarrier(10 * np.log10(max(score, 1e-12)), 10 * np.log10(threshold))
    t_mid = 0.5 * (times[0] + times[-1])
    f_mid = float(np.interp(j, np.arange(freqs.size), freqs))
    f0 = f_mid - rate1 * t_mid  # offset at the segment's first sample
    t = np.arange(n) / fs_hz
    phase1 = 2 * np.pi * (f0 * t + 0.5 * rate1 * t * t)
    z = _derotate(x, phase1)

    # --- 2. decimate to CARRIER_RATE_HZ with a box car, refine by a line search
    m = max(1, round(fs_hz / CARRIER_RATE_HZ))
    fs_c = fs_hz / m
    n_c = n // m
    if n_c < 16:
        raise _NoCarrier(-np.inf, 0.0)
    c = z[: n_c * m].reshape(n_c, m).mean(axis=1)
    t_c = (np.arange(n_c) * m + 0.5 * (m - 1)) / fs_hz
    n0 = _noise_density(x, fs_hz)
    nfft2 = int(min(2 ** round(np.log2(2.0 * fs_c)), 2 ** np.floor(np.log2(n_c))))
    k2 = n_c // nfft2
    spec2, freqs2, times2 = _block_spectra(c, fs_c, nfft2, k2)
    bin2 = fs_c / nfft2
    span2 = max(times2[-1] - times2[0], 1e-9)
    # the first stage resolves its line to about a bin over its window (noise and
    # leakage make it up to two): search three bins per window either side
    rate_err = 3.0 * bin_hz / max(span_s, nfft / fs_hz) + 0.05
    n_rates2 = 1 if k2 < 3 else int(np.ceil(2 * rate_err * span2 / bin2)) + 1
    rates2 = np.linspace(-rate_err, rate_err, n_rates2) if n_rates2 > 1 else np.zeros(1)
    j2, rate2, _, _ = _line_search(spec2, times2, bin2, rates2)
    tmid2 = 0.5 * (times2[0] + times2[-1])
    f2 = float(np.interp(j2, np.arange(freqs2.size), freqs2)) - rate2 * tmid2
    phase2 = 2 * np.pi * (f2 * t_c + 0.5 * rate2 * t_c * t_c)
    c2 = c * np.exp(-1j * phase2)

    # --- 3. smoothed phase, quadratic fit, final smoothing with the optimum window
    # without a rate search in stage 2 (a segment of a few seconds) the residual may still
    # sweep a few hertz: smooth over a quarter second for the fit, else over one second
    w1 = max(1, round((1.0 if n_rates2 > 1 else 0.25) * fs_c))
    v = _boxcar(c2, w1)
    ph = np.unwrap(np.angle(v))
    poly = np.polynomial.polynomial.polyfit(t_c, ph, 2, w=np.abs(v))
    quad = np.polynomial.polynomial.polyval(t_c, poly)
    c3 = c2 * np.exp(-1j * quad)
    v = _boxcar(c3, w1)
    carrier_power = max(float(np.mean(np.abs(v) ** 2)) - n0 * fs_c / w1, 1e-30)
    cn0_carrier = carrier_power / max(n0, 1e-300)
    q = MAX_PHASE_NOISE_RAD_PER_SQRT_S
    t_opt = np.sqrt(6.0 / (cn0_carrier * q * q))
    t_opt = float(np.clip(t_opt, 0.25, min(20.0, max(0.25, n_c / fs_c / 4))))
    v3 = _boxcar(c3, max(1, round(t_opt * fs_c)))
    resid = np.unwrap(np.angle(v3))
    resid -= 2 * np.pi * np.round(np.mean(resid) / (2 * np.pi))
    phase_c = phase2 + quad + resid
    phase1 += np.interp(t, t_c, phase_c)
    phase = phase1
    offset = f0 + f2 + poly[1] / (2 * np.pi)
    rate = rate1 + rate2 + 2 * poly[2] / (2 * np.pi)
    return _CarrierTrack(phase, float(offset), float(rate), carrier_power, n0)


def _subcarrier(xi: np.ndarray, fs_hz: float, bit_rate_bps: float) -> tuple[float, float]:
    """Subcarrier frequency offset δ (Hz) and phase ψ0 (rad, mod π) of Im(z).

    θ(t) = 2π·(1024 + δ)·t + ψ0 with t from the segment's first sample.
    """
    n = xi.size
    n_per_bit = cycles_per_bit(bit_rate_bps)
    group = max(1, n_per_bit // 2)
    samples_per_cycle = fs_hz / SUBCARRIER_HZ
    n_cycles = int(np.floor((n - 1) / samples_per_cycle))
    mix = _derotate(xi, 2 * np.pi * SUBCARRIER_HZ / fs_hz * np.arange(n), np.complex128)
    pre = _prefix(mix)
    n_groups = n_cycles // group
    if n_groups < 4:
        raise DecodeError("segment too short to recover the telemetry subcarrier")
    edges = np.arange(n_groups + 1) * group * samples_per_cycle
    cum = _prefix_at(pre, mix, edges)
    y = np.diff(cum)
    sq = y * y
    t_g = (edges[:-1] + 0.5 * group * samples_per_cycle) / fs_hz
    group_rate = fs_hz / (group * samples_per_cycle)
    max_f = 2 * SUBCARRIER_HZ * SEARCH_CLOCK_OFFSET
    nfft = 1 << int(np.ceil(np.log2(n_groups * 16)))
    spec = np.fft.fft(sq, nfft)
    freqs = np.fft.fftfreq(nfft, 1.0 / group_rate)
    sel = np.flatnonzero(np.abs(freqs) <= max_f)
    mag = np.abs(spec[sel])
    i = int(np.argmax(mag))
    f_peak = float(freqs[sel[i]]) + _peak_offset(mag, i) * group_rate / nfft
    # the group's sum is (a·d/2j)·e^{jψ}: its square has phase 2ψ + π
    arg = float(np.angle(np.sum(sq * np.exp(-2j * np.pi * f_peak * t_g))))
    return 0.5 * f_peak, 0.5 * (arg - np.pi)


def _bits(
    xi: np.ndarray, fs_hz: float, bit_rate_bps: float, delta_hz: float, psi0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Soft bits by half-cycle matched integration; returns (bit start positions, soft)."""
    n = xi.size
    f_sc = SUBCARRIER_HZ + delta_hz
    theta = 2 * np.pi * f_sc / fs_hz * np.arange(n) + psi0
    w = xi * np.sin(theta)
    pre = _prefix(w)
    half_s = 0.5 / f_sc
    # half cycles may start up to half a sample before the first sample (a frame that
    # starts the recording), as they may end up to half a sample after the last one
    k0 = int(np.ceil((psi0 - np.pi * f_sc / fs_hz) / np.pi))
    t_first = (k0 * np.pi - psi0) / (2 * np.pi * f_sc)
    # a half cycle counts when it ends within half a sample of the last sample's end
    n_half = int(np.floor(((n + 0.5) / fs_hz - t_first) / half_s))
    if n_half < 2:
        return np.zeros(0), np.zeros(0)
    pos = (t_first + np.arange(n_half + 1) * half_s) * fs_hz
    h = _prefix_at(pre, w, pos) / fs_hz
    per_bit = 2 * cycles_per_bit(bit_rate_bps)
    best = (-1.0, 0)
    for j in range(min(per_bit, n_half)):
        idx = np.arange(j, n_half + 1, per_bit)
        if idx.size < 2:
            continue
        metric = float(np.mean(np.abs(np.diff(h[idx]))))
        if metric > best[0]:
            best = (metric, j)
    j = best[1]
    idx = np.arange(j, n_half + 1, per_bit)
    # Bits start where sin(2π·f_sc·t) starts a positive half cycle (θ ≡ 0 mod 2π). If
    # the chosen starts sit at θ̂ ≡ π, the phase estimate is off by π (squaring leaves
    # ψ mod π): flip the sign, so a remaining inversion is the transmitter's own. The
    # half cycle of the bit start shows only in the bit transitions, 1/(2·f_sc/R) of a
    # bit each: it is resolved at the higher rates; at a few bit/s with few frames it may
    # not be, and the inversion flag is then only the sync word's polarity.
    sign = -1.0 if (k0 + j) % 2 else 1.0
    return pos[idx[:-1]], sign * np.diff(h[idx])


def _quality_db(soft: np.ndarray) -> float:
    a = np.abs(soft)
    var = float(np.var(a))
    return float(10 * np.log10(max(float(np.mean(a)) ** 2, 1e-300) / max(var, 1e-300)))


def _find_frames(
    soft: np.ndarray, *, final: bool
) -> tuple[list[tuple[int, bool, int]], list[tuple[int, bool]]]:
    """Frame starts in a soft-bit sequence.

    Returns ``(frames, truncated)``: frames as (bit index, inverted, sync errors) with all
    256 bits present; truncated as (bit index, inverted), only when ``final``.
    """
    nb = soft.size
    levels = np.where(soft > 0, 1.0, -1.0)
    if nb < SYNC_BITS:
        return [], []
    corr = np.correlate(levels, SYNC_PATTERN, mode="valid")  # length nb - 23
    errors = ((SYNC_BITS - np.abs(corr)) / 2).astype(int)
    anchors = np.flatnonzero(errors <= SYNC_ANCHOR_ERRORS)
    cand: dict[int, int] = {}
    for residue in np.unique(anchors % FRAME_BITS):
        grid = np.arange(residue, corr.size, FRAME_BITS)
        grid = grid[errors[grid] <= SYNC_GRID_ERRORS]
        cand.update(zip(grid.tolist(), errors[grid].tolist(), strict=True))
    # Candidates whose bits look like noise (a sync look-alike in the carrier) go first.
    # Then a greedy choice, frames never overlapping: first the grids with the most anchors
    # (real frames come back to back; a look-alike in the data stands alone), then the
    # strongest soft sync correlation.
    cand = {
        p: e
        for p, e in cand.items()
        if _quality_db(soft[p : p + FRAME_BITS]) >= MIN_FRAME_QUALITY_DB
    }
    support = Counter(p % FRAME_BITS for p, e in cand.items() if e <= SYNC_ANCHOR_ERRORS)
    soft_corr = np.abs(np.correlate(soft, SYNC_PATTERN, mode="valid"))
    taken: list[int] = []
    for p in sorted(cand, key=lambda q: (-support[q % FRAME_BITS], -soft_corr[q], q)):
        if all(abs(p - q) >= FRAME_BITS for q in taken):
            taken.append(p)
    frames: list[tuple[int, bool, int]] = []
    truncated: list[tuple[int, bool]] = []
    for p in sorted(taken):
        inverted = bool(corr[p] < 0)
        if p + FRAME_BITS <= nb:
            frames.append((p, inverted, cand[p]))
        elif final:
            truncated.append((p, inverted))
    if final and frames:
        # a frame whose sync word itself is cut off: next slot on the grid after the last
        last, inverted, _ = frames[-1]
        p = last + FRAME_BITS
        if p < nb and p not in {q for q, _ in truncated} and p >= corr.size:
            tail = soft[p:]
            want = SYNC_PATTERN[: tail.size] * (-1.0 if inverted else 1.0)
            agree = float(np.mean(np.sign(tail) == want))
            if tail.size >= 4 and agree >= 0.75 and _quality_db(tail) >= MIN_FRAME_QUALITY_DB:
                truncated.append((p, inverted))
    return frames, truncated


def _m2m4(soft: np.ndarray) -> tuple[float, float]:
    """Second moment M2 of soft BPSK decisions and the squared signal power (3·M2² − M4)/2."""
    m2 = float(np.mean(soft**2))
    m4 = float(np.mean(soft**4))
    return m2, 0.5 * (3 * m2 * m2 - m4)


def _llr_scale(soft: np.ndarray) -> float:
    """Factor turning soft bits into log-likelihood ratios, 2·A/σ², from M2M4 moments."""
    m2, s2 = _m2m4(soft)
    power = math.sqrt(s2) if s2 > 0 else float(np.mean(np.abs(soft))) ** 2
    noise = max(m2 - power, 1e-3 * m2, 1e-300)
    return 2.0 * math.sqrt(max(power, 0.0)) / noise


def _undetected_error_prob(soft: np.ndarray, llr_scale: float) -> float:
    """Probability that a data word holds two bit errors (parity blind), summed over words.

    Bit error probabilities from the soft values: p = 1 / (1 + exp(|LLR|)).
    """
    p = special.expit(-np.abs(soft[SYNC_BITS:]) * llr_scale).reshape(-1, 8)
    total = p.sum(axis=1)
    pairs = 0.5 * (total**2 - (p**2).sum(axis=1))
    return float(pairs.sum())


def _decode_segment(
    x: np.ndarray, fs_hz: float, bit_rate_bps: float, offset: int, *, final: bool
) -> _SegmentResult:
    carrier = _track_carrier(x, fs_hz)
    xi = _derotate(x, carrier.phase_rad).imag.astype(np.float64)
    carrier.phase_rad = np.zeros(0)  # no longer needed: free it
    delta, psi0 = _subcarrier(xi, fs_hz, bit_rate_bps)
    starts, soft = _bits(xi, fs_hz, bit_rate_bps, delta, psi0)
    found, cut = _find_frames(soft, final=final)
    frames = []
    for p, inverted, errs in found:
        s = soft[p : p + FRAME_BITS] * (-1.0 if inverted else 1.0)
        frames.append(_SegmentFrame(offset + starts[p], p, s, inverted, errs))
    if frames:
        llr_scale = _llr_scale(np.concatenate([f.soft for f in frames]))
        for f in frames:
            f.undetected_error_prob = _undetected_error_prob(f.soft, llr_scale)
    bit_s = cycles_per_bit(bit_rate_bps) / (SUBCARRIER_HZ + delta)
    truncated = [
        TruncatedFrame(int(np.ceil(offset + starts[p] - 1e-6)), int(soft.size - p), inverted)
        for p, inverted in cut
    ]
    clock_offset = SUBCARRIER_HZ / (SUBCARRIER_HZ + delta) - 1.0
    # total power: carrier line plus data sidebands. Over a fraction f of modulated
    # time, P_carrier = C·(1 − f) + C·f·J0², P_data = C·f·2·J1², so
    # C = P_carrier + P_data·(1 − J0²)/(2·J1²) whatever f is. Soft bits carry the data
    # amplitude: b = ±a·Tb/2 + noise of variance N0·Tb/4, with data power a²/2.
    bit_noise = carrier.n0 * bit_s / 4.0
    s_b = max(float(np.mean(soft**2)) - bit_noise, 0.0) if soft.size else 0.0
    data_power = 2.0 * s_b / bit_s**2
    power = carrier.carrier_power + data_power * (1 - CARRIER_POWER_FRACTION) / (
        DATA_POWER_FRACTION
    )
    cn0_dbhz = float(10 * np.log10(max(power, 1e-300) / max(carrier.n0, 1e-300)))
    return _SegmentResult(carrier, frames, truncated, clock_offset, bit_s, cn0_dbhz)


# ============================================================================ public


def _segments(n: int, fs_hz: float, bit_rate_bps: float) -> list[tuple[int, int]]:
    """Overlapping ``(start, stop)`` segments; every frame fits whole in the segment that
    owns its start (owner: the last segment starting at or before it)."""
    frame_s = frame_duration_s(bit_rate_bps) * (1 + SEARCH_CLOCK_OFFSET)
    length = int(max(MIN_SEGMENT_S, SEGMENT_FRAMES * frame_s) * fs_hz)
    step = length - int((frame_s + SEGMENT_MARGIN_S) * fs_hz)
    if n <= length:
        return [(0, n)]
    starts = [*list(range(0, n - length, step)), n - length]
    return [(s, s + length) for s in starts]


def _unique_frames(frames: list[_SegmentFrame], min_gap_samples: float) -> list[_SegmentFrame]:
    """Frames in time order, one per start: of two closer than ``min_gap_samples`` (the same
    frame seen by two overlapping segments) keep the one with fewer parity failures, then
    the lower undetected-error probability."""

    def badness(f: _SegmentFrame) -> tuple[int, float]:
        words = np.packbits(f.soft > 0)[SYNC_BITS // 8 :]
        return int(np.sum(~words_parity_ok(words))), f.undetected_error_prob

    out: list[_SegmentFrame] = []
    for f in sorted(frames, key=lambda f: f.first_bit_sample):
        if out and f.first_bit_sample - out[-1].first_bit_sample < min_gap_samples:
            if badness(f) < badness(out[-1]):
                out[-1] = f
            continue
        out.append(f)
    return out


def _snr_m2m4(soft: np.ndarray) -> float:
    """Eb/N0 (dB) from soft BPSK decisions by the second and fourth moments."""
    if soft.size < 16:
        return math.nan
    m2, s2 = _m2m4(soft)
    if s2 <= 0:
        return math.nan
    s = math.sqrt(s2)
    noise = m2 - s
    if noise <= 0:
        return math.inf
    return 10 * math.log10(s / (2 * noise))


def decode_tlm_segments(
    read: Callable[[int, int], np.ndarray],
    n_samples: int,
    fs_hz: float,
    *,
    bit_rate_bps: float,
    start_utc: datetime,
    progress: Callable[[int], object] | None = None,
) -> TelemetryDecodeResult:
    """Decode telemetry from any sample source, segment by segment.

    Parameters
    ----------
    read : callable
        ``read(start, count)`` returns complex samples ``[start, start + count)``.
    n_samples : int
        Number of samples.
    fs_hz : float
        Complex sample rate (Hz), ≥ 8000.
    bit_rate_bps : float
        Bit rate (bit/s), one of ICD §4.
    start_utc : datetime
        UTC of sample 0.
    progress : callable, optional
        Called with the number of new samples processed after each segment.

    Raises
    ------
    NoSignalError
        If no segment holds a telemetry carrier.
    DecodeError
        If the bit rate or the sample rate is not one of ICD §4.
    """
    if bit_rate_bps not in BIT_RATES_BPS:
        raise DecodeError(
            f"bit rate {bit_rate_bps:g} bit/s is not a telemetry rate {list(BIT_RATES_BPS)}"
        )
    if fs_hz < MIN_FS_HZ:
        raise DecodeError(f"sample rate {fs_hz:g} Hz is below the {MIN_FS_HZ:g} Hz needed")
    if n_samples <= 0:
        raise NoSignalError("the recording holds no samples")
    segments = _segments(n_samples, fs_hz, bit_rate_bps)
    warnings: list[str] = []
    frames: list[_SegmentFrame] = []
    truncated: list[TruncatedFrame] = []
    tracks: list[tuple[int, int, _CarrierTrack]] = []
    cn0s: list[float] = []
    clock: list[float] = []
    bit_s = 1.0 / bit_rate_bps
    best_miss = (-np.inf, 0.0)
    done = 0
    nonfinite = 0
    # a frame belongs to the segment it starts in; half a frame of slack either side
    # keeps one whose start estimate differs by a sample between two segments
    half_frame = 0.5 * FRAME_BITS * fs_hz / bit_rate_bps
    for i, (a, b) in enumerate(segments):
        x = np.array(read(a, b - a), dtype=np.complex64)
        nonfinite += nonfinite_to_zero(x)
        own_lo = a - half_frame if i > 0 else -np.inf
        own_hi = segments[i + 1][0] + half_frame if i + 1 < len(segments) else np.inf
        final = i + 1 == len(segments)
        try:
            res = _decode_segment(x, fs_hz, bit_rate_bps, a, final=final)
        except _NoCarrier as exc:
            best_miss = max(best_miss, (exc.peak_db, exc.threshold_db))
            warnings.append(
                f"no carrier in samples {a}-{b} ({(b - a) / fs_hz:.0f} s from {a / fs_hz:.0f} s)"
            )
        else:
            log.debug(
                "segment %d-%d: carrier %+.2f Hz, %+.4f Hz/s, C/N0 %.1f dB-Hz, %d frames",
                a, b, res.carrier.offset_hz, res.carrier.rate_hz_per_s, res.cn0_dbhz,
                len(res.frames),
            )  # fmt: skip
            tracks.append((a, b, res.carrier))
            cn0s.append(res.cn0_dbhz)
            clock.append(res.clock_offset)
            bit_s = res.bit_s
            frames += [f for f in res.frames if own_lo <= f.first_bit_sample < own_hi]
            truncated += [t for t in res.truncated if own_lo <= t.sample_start < own_hi]
        if progress is not None:
            progress(b - done)
            done = b
    if nonfinite:
        warnings.append(f"{nonfinite} non-finite samples were replaced by 0")
    if not tracks:
        raise NoSignalError(
            f"no telemetry carrier within ±{MAX_CARRIER_OFFSET_HZ:.0f} Hz of the tuned "
            f"frequency (strongest line {best_miss[0]:.1f} dB, detection threshold "
            f"{best_miss[1]:.1f} dB)"
        )
    # --- merge estimates
    a0, _b0, first = tracks[0]
    lengths = np.array([b - a for a, b, _ in tracks], dtype=float)
    cn0_lin = 10 ** (np.array(cn0s) / 10)
    cn0_dbhz = float(10 * np.log10(np.sum(cn0_lin * lengths) / np.sum(lengths)))
    if len(tracks) > 1:
        mids = np.array([(a + b) / 2 / fs_hz for a, b, _ in tracks])
        fmid = np.array(
            [tr.offset_hz + tr.rate_hz_per_s * (b - a) / 2 / fs_hz for a, b, tr in tracks]
        )
        rate, offset0 = np.polyfit(mids, fmid, 1)
        offset = float(offset0)
        rate = float(rate)
    else:
        offset = first.offset_hz - first.rate_hz_per_s * a0 / fs_hz
        rate = first.rate_hz_per_s
    frames = _unique_frames(frames, half_frame)
    decoded = [_to_decoded(f, fs_hz, start_utc, bit_s) for f in frames]
    soft_all = np.concatenate([f.soft for f in frames]) if frames else np.zeros(0)
    ebn0 = _snr_m2m4(soft_all)
    clock_offset = float(np.median(clock))
    for t in truncated:
        warnings.append(
            f"frame at sample {t.sample_start} is cut off by the end of the recording "
            f"({t.bits_received} of {FRAME_BITS} bits)"
        )
    failures = sum(not d.parity_ok for d in decoded)
    if decoded:
        message = (
            f"{len(decoded)} telemetry frames ({failures} with parity errors), carrier at "
            f"{offset:+.1f} Hz, C/N0 {cn0_dbhz:.1f} dB-Hz, Eb/N0 {ebn0:.1f} dB"
        )
    else:
        message = (
            f"carrier found at {offset:+.0f} Hz, C/N0 {cn0_dbhz:.0f} dB-Hz, but no telemetry frame"
        )
        warnings.append(message)
    return TelemetryDecodeResult(
        frames=decoded,
        cn0_dbhz=cn0_dbhz,
        ebn0_db=ebn0,
        carrier_offset_hz=offset,
        carrier_rate_hz_per_s=rate,
        truncated_frames=truncated,
        warnings=warnings,
        bit_rate_bps=float(bit_rate_bps),
        fs_hz=float(fs_hz),
        n_samples=int(n_samples),
        clock_offset=clock_offset,
        message=message,
    )


def _to_decoded(f: _SegmentFrame, fs_hz: float, start_utc: datetime, bit_s: float) -> DecodedFrame:
    bits = (f.soft > 0).astype(np.uint8)
    frame = TelemetryFrame.unpack(np.packbits(bits).tobytes())
    start = int(np.ceil(f.first_bit_sample - 1e-6))
    end = f.first_bit_sample + FRAME_BITS * bit_s * fs_hz
    return DecodedFrame(
        sample_start=start,
        time_utc=start_utc + timedelta(seconds=f.first_bit_sample / fs_hz),
        frame_counter=frame.frame_counter,
        frame_type=int(frame.frame_type),
        parity_ok=(
            frame.parity_ok
            and frame.spare_ok
            and f.undetected_error_prob <= MAX_UNDETECTED_ERROR_PROB
        ),
        words=frame.words,
        channels={k: (v if isinstance(v, float) else int(v)) for k, v in frame.channels().items()},
        inverted=f.inverted,
        quality_db=_quality_db(f.soft),
        first_bit_sample=float(f.first_bit_sample),
        sample_count=int(np.ceil(end - 1e-6)) - start,
        word_parity=frame.word_parity,
        sync_errors=f.sync_errors,
        undetected_error_prob=f.undetected_error_prob,
        ebn0_db=_snr_m2m4(f.soft),
    )


def decode_tlm_samples(
    samples: np.ndarray,
    fs_hz: float,
    *,
    bit_rate_bps: float,
    start_utc: datetime,
) -> TelemetryDecodeResult:
    """Decode telemetry from an in-memory complex baseband array.

    Parameters
    ----------
    samples : ndarray of complex
        Baseband samples centred on the tuned frequency (ICD §2); not modified.
    fs_hz : float
        Complex sample rate (Hz), ≥ 8000.
    bit_rate_bps : float
        Bit rate (bit/s).
    start_utc : datetime
        UTC of sample 0.
    """
    samples = np.asarray(samples)
    return decode_tlm_segments(
        lambda start, count: samples[start : start + count],
        samples.size,
        fs_hz,
        bit_rate_bps=bit_rate_bps,
        start_utc=start_utc,
    )


def detect_bit_rate(read: Callable[[int, int], np.ndarray], n_samples: int, fs_hz: float) -> float:
    """Guess the bit rate of a recording without ``mars1:bit_rate``: the rate whose first
    segment yields the most frames that pass every parity check (fastest first).

    Raises
    ------
    NoSignalError
        If no rate gives a frame.
    """
    best = (0, 0.0)
    for rate in sorted(BIT_RATES_BPS, reverse=True):
        a, b = _segments(n_samples, fs_hz, rate)[0]
        x = np.array(read(a, b - a), dtype=np.complex64)
        nonfinite_to_zero(x)
        try:
            res = _decode_segment(x, fs_hz, rate, a, final=True)
        except (_NoCarrier, DecodeError):
            continue
        # a frame read at the wrong rate almost never passes 29 parity checks (2⁻²⁹)
        good = sum(
            TelemetryFrame.unpack(np.packbits(f.soft > 0).tobytes()).parity_ok for f in res.frames
        )
        if good > best[0]:
            best = (good, float(rate))
    if best[0] == 0:
        raise NoSignalError("no telemetry frame at any bit rate of ICD §4")
    return best[1]


def decode_tlm_recording(
    recording: Recording,
    *,
    bit_rate_bps: float | None = None,
    progress: Callable[[int], object] | None = None,
) -> TelemetryDecodeResult:
    """Decode a telemetry :class:`~groundstation.io.recording.Recording` segment by segment.

    Only one segment (at least 64 s or three frames) is in memory at a time.

    Parameters
    ----------
    recording : Recording
        An opened 32 cm or 1.6 m telemetry recording.
    bit_rate_bps : float, optional
        Bit rate (bit/s); default ``mars1:bit_rate``, else detected.
    progress : callable, optional
        Called with the number of samples processed after each segment.
    """
    rate = bit_rate_bps or recording.bit_rate_bps
    warnings = []
    if rate is None:
        rate = detect_bit_rate(recording.read, recording.n_samples, recording.fs_hz)
        warnings.append(f"recording has no mars1:bit_rate; detected {rate:g} bit/s")
    result = decode_tlm_segments(
        recording.read,
        recording.n_samples,
        recording.fs_hz,
        bit_rate_bps=rate,
        start_utc=recording.start_utc,
        progress=progress,
    )
    result.warnings[:0] = warnings
    return result
