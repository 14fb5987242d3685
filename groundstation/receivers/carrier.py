"""Carrier frequency, rate and C/N0 from samples; range rate from Doppler (ICD §6).

A feed-forward estimator in four steps, all over whole arrays:

1. *Track.* Short blocks (about 1/8 s, short enough that a 20 Hz/s drift stays inside one
   bin) give a peak frequency each; a Theil-Sen line through them gives a coarse rate.
2. *Detect.* The signal is de-chirped by each candidate rate (the coarse rate and 0) and
   one zero-padded FFT of the whole record is taken; the candidate with the strongest
   peak wins. The peak must stand above the noise floor by a false-alarm threshold
   (probability ~1e-6 over all bins), else :class:`NoSignalError`.
3. *Search.* The record, shifted by the peak, is summed into short blocks; a grid of
   small rate corrections (step 1/(2 T²): a quadratic phase of π/16 at most at the ends)
   times zero-padded FFTs of those block sums finds the best (frequency, rate) cell, on
   the likelihood's main lobe, where the refinement starts.
4. *Refine.* The maximum-likelihood cost |sum x(t) exp(-j 2π (f t + r t²/2))|² is
   maximised over (f, r) by Newton's method on the block sums, with its exact gradient and
   Hessian (the ML estimator of a chirp in white noise; it reaches the Cramér-Rao bound
   above threshold).

C/N0 follows from the coherent amplitude and the total power. The frequency is reported at
the middle of the record, where the estimate is best and uncorrelated with the rate.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import fft as sp_fft

from groundstation.errors import DataFileError, DecodeError, NoSignalError
from groundstation.io.recording import Recording
from groundstation.progress import progress
from groundstation.receivers.stream import Event
from groundstation.results import CarrierEstimate
from signals.bands import band
from signals.constants import C_M_S
from signals.dsp import noise_floor, nonfinite_to_zero, parabolic_offset
from signals.modulators.carrier import COHERENT_BANDS, MAX_OSCILLATOR_PPM, TURNAROUND_RATIO

log = logging.getLogger(__name__)

#: Block length of the coarse frequency track (s).
TRACK_BLOCK_S: Final = 0.125
#: Blocks summed in the search and refinement steps.
SUM_BLOCKS: Final = 2048
#: Probability that noise alone passes the detection test.
FALSE_ALARM_PROBABILITY: Final = 1e-6
#: Fewest samples the estimator works with.
MIN_SAMPLES: Final = 256
#: Largest rate correction searched around the coarse rate (Hz/s).
MAX_RATE_SEARCH_HZ_PER_S: Final = 2.0
#: Sample rate a recording is reduced to by block means (at least this, below twice; Hz).
ANALYSIS_FS_HZ: Final = 16_000.0
#: Most (reduced) samples analysed; a longer recording is analysed from its start.
MAX_ANALYSIS_SAMPLES: Final = 1 << 22
#: Rate corrections of the search grid transformed together: a few rows of zero-padded
#: block sums stay in the processor's cache (each row's numbers do not depend on it).
GRID_ROWS: Final = 16


def frequency_crlb_hz(cn0_dbhz: float, duration_s: float) -> float:
    """Cramér-Rao bound (std, Hz) of a tone's frequency at mid-record: sqrt(6/((2π)² C/N0 T³))."""
    cn0 = 10.0 ** (cn0_dbhz / 10.0)
    return math.sqrt(6.0 / ((2.0 * math.pi) ** 2 * cn0 * duration_s**3))


def rate_crlb_hz_per_s(cn0_dbhz: float, duration_s: float) -> float:
    """Cramér-Rao bound (std, Hz/s) of a linear chirp's rate: sqrt(90/(π² C/N0 T⁵))."""
    cn0 = 10.0 ** (cn0_dbhz / 10.0)
    return math.sqrt(90.0 / (math.pi**2 * cn0 * duration_s**5))


def _peak_interp(power: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Parabolic interpolation of log-power around integer peaks ``k`` (last axis), in bins."""
    n = power.shape[-1]
    lp = np.log(np.maximum(power, 1e-300))
    a = np.take_along_axis(lp, ((k - 1) % n)[..., None], -1)[..., 0]
    b = np.take_along_axis(lp, k[..., None], -1)[..., 0]
    c = np.take_along_axis(lp, ((k + 1) % n)[..., None], -1)[..., 0]
    return parabolic_offset(a, b, c)


def _signed_bins(k: np.ndarray | float, n: int) -> np.ndarray:
    k = np.asarray(k, dtype=float)
    return np.where(k >= n / 2, k - n, k)


def _theil_sen(t: np.ndarray, f: np.ndarray, max_points: int = 400) -> float:
    if t.size > max_points:
        idx = np.linspace(0, t.size - 1, max_points).astype(int)
        t, f = t[idx], f[idx]
    i, j = np.triu_indices(t.size, 1)
    return float(np.median((f[j] - f[i]) / (t[j] - t[i])))


def _coarse_rate(x: np.ndarray, fs_hz: float, max_rate: float) -> float:
    """Rate (Hz/s) of the block-peak track; 0 when the record is too short for a track."""
    lb = 1 << max(round(math.log2(TRACK_BLOCK_S * fs_hz)), 5)
    k = x.size // lb
    if k < 6:
        return 0.0
    blocks = x[: k * lb].reshape(k, lb)
    nfft = 4 * lb
    power = np.abs(sp_fft.fft(blocks, nfft, axis=1)) ** 2
    peak = np.argmax(power, axis=1)
    f = (_signed_bins(peak, nfft) + _peak_interp(power, peak)) * fs_hz / nfft
    t = (np.arange(k) + 0.5) * lb / fs_hz
    rate = _theil_sen(t, f)
    return float(np.clip(rate, -max_rate, max_rate))


def _block_sums(y: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Sums of about SUM_BLOCKS consecutive blocks, their centre times (s), block length."""
    lz = max(1, y.size // SUM_BLOCKS)
    k = y.size // lz
    z = y[: k * lz].reshape(k, lz).sum(axis=1, dtype=np.complex128)
    t = (np.arange(k) * lz + 0.5 * (lz - 1)) / fs_hz
    return z, t, lz


#: Newton steps of the refinement: most taken, and the step (in resolution cells) below
#: which it has converged.
REFINE_MAX_STEPS: Final = 50
REFINE_TOLERANCE_CELLS: Final = 1e-9


def _chirp_power(
    z: np.ndarray, t: np.ndarray, df: float, dr: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """P = |S|², S = Σ z·exp(-2πj(df·t + dr·t²/2)), with its gradient and Hessian over
    (df, dr): S's derivatives are sums of z·w weighted by powers of t."""
    w = z * np.exp(-2j * math.pi * (df * t + 0.5 * dr * t * t))
    s0, s1, s2, s3, s4 = (np.sum(w * t**k) for k in range(5))
    ds = np.array([-2j * math.pi * s1, -1j * math.pi * s2])
    d2s = np.array(
        [
            [-4 * math.pi**2 * s2, -2 * math.pi**2 * s3],
            [-2 * math.pi**2 * s3, -(math.pi**2) * s4],
        ]
    )
    power = float(abs(s0) ** 2)
    gradient = 2.0 * np.real(np.conj(s0) * ds)
    hessian = 2.0 * np.real(np.outer(np.conj(ds), ds) + np.conj(s0) * d2s)
    return power, gradient, hessian


def _refine(
    z: np.ndarray, t: np.ndarray, df0: float, dr0: float, fscale: float, rscale: float
) -> tuple[tuple[float, float], float]:
    """The (df, dr) maximising |Σ z·exp(-2πj(df·t + dr·t²/2))|² near (df0, dr0), and that
    maximum: Newton's method on the exact gradient and Hessian, in units of one resolution
    cell (``fscale`` Hz, ``rscale`` Hz/s), each step halved until it gains (a gradient
    step where the surface is not concave). The start, from the search grid, lies within
    a cell of the peak, on its main lobe."""
    cell = np.array([fscale, rscale])
    p = np.array([df0, dr0]) / cell
    power, gradient, hessian = _chirp_power(z, t, *(p * cell))
    for _ in range(REFINE_MAX_STEPS):
        g = gradient * cell  # per cell
        h = hessian * np.outer(cell, cell)
        if np.all(np.linalg.eigvalsh(h) < 0):
            step = -np.linalg.solve(h, g)
        else:  # not concave here: uphill, about a tenth of a cell
            step = 0.1 * g / max(float(np.linalg.norm(g)), 1e-300)
        while True:
            trial = p + step
            trial_power, trial_gradient, trial_hessian = _chirp_power(z, t, *(trial * cell))
            if trial_power >= power or np.max(np.abs(step)) < REFINE_TOLERANCE_CELLS:
                break
            step = 0.5 * step
        if trial_power < power:  # no step gains any more: at the peak
            break
        p, power, gradient, hessian = trial, trial_power, trial_gradient, trial_hessian
        if np.max(np.abs(step)) < REFINE_TOLERANCE_CELLS:
            break
    df, dr = p * cell
    return (float(df), float(dr)), power


def estimate_carrier(
    samples: np.ndarray | Recording,
    fs_hz: float | None = None,
    *,
    tuned_frequency_hz: float | None = None,
    max_rate_hz_per_s: float = 20.0,
) -> CarrierEstimate:
    """Estimate an unmodulated carrier's frequency, rate and C/N0.

    Parameters
    ----------
    samples : ndarray of complex, or Recording
        Complex baseband samples, centred on ``tuned_frequency_hz``; NaN/Inf count as 0.
        A :class:`Recording` is read through :func:`measure_recording` (its own sample rate
        and tuned frequency; the band's rate limit).
    fs_hz : float
        Sample rate (Hz); required for an array.
    tuned_frequency_hz : float, optional
        Frequency the receiver was tuned to (Hz), added to the offset for
        ``frequency_hz``; default 0 for an array.
    max_rate_hz_per_s : float
        Largest frequency rate to expect (Hz/s).

    Returns
    -------
    CarrierEstimate

    Raises
    ------
    DecodeError
        Fewer than 256 samples.
    NoSignalError
        No carrier stands above the noise.
    """
    if isinstance(samples, Recording):
        return measure_recording(samples, show_progress=False).estimate
    if fs_hz is None:
        raise DecodeError("estimate_carrier needs fs_hz for an array of samples")
    tuned_frequency_hz = 0.0 if tuned_frequency_hz is None else float(tuned_frequency_hz)
    x = np.asarray(samples)
    if x.ndim != 1:
        raise DecodeError(f"expected a 1-D sample array, got shape {x.shape}")
    if x.size < MIN_SAMPLES:
        raise DecodeError(f"too few samples for a carrier estimate: {x.size} < {MIN_SAMPLES}")
    x = x.astype(np.complex64, copy=True)
    nonfinite_to_zero(x, in_place=True)
    n = x.size
    duration_s = n / fs_hz
    t = np.arange(n, dtype=np.float64) / fs_hz

    # 1-2. Coarse rate candidates, de-chirp, one long FFT each.
    candidates = {0.0, _coarse_rate(x, fs_hz, max_rate_hz_per_s)}
    nfft = 1 << int(math.ceil(math.log2(n)) + (2 if n <= 1 << 20 else 1))
    best = None
    for rate in sorted(candidates):
        y = x * np.exp(-1j * math.pi * rate * t * t).astype(np.complex64)
        power = np.abs(sp_fft.fft(y, nfft)) ** 2
        k = int(np.argmax(power))
        snr = power[k] / np.mean(power)
        if best is None or snr > best[0]:
            best = (snr, rate, k, power)
    snr, rate0, k, power = best
    noise_bin = noise_floor(power)
    detection = power[k] / noise_bin
    threshold = math.log(nfft / FALSE_ALARM_PROBABILITY)
    if not detection > threshold:
        raise NoSignalError(
            f"no carrier found: strongest spectral peak {10 * math.log10(detection):.1f} dB "
            f"above the noise, detection needs {10 * math.log10(threshold):.1f} dB"
        )
    f0 = float(_signed_bins(k, nfft) + _peak_interp(power[None, :], np.array([k]))[0])
    f0 *= fs_hz / nfft

    # 3. Block sums of the record shifted by (f0, rate0); grid over rate corrections.
    phase = f0 * t + 0.5 * rate0 * t * t
    phase -= np.floor(phase)
    y = x * np.exp(-2j * math.pi * phase).astype(np.complex64)
    z, tz, lz = _block_sums(y, fs_hz)
    tc = tz - 0.5 * duration_s  # centred times: frequency at mid-record decouples from rate
    # The coarse rate is good to about two track bins over the record; search that far.
    step = 0.5 / duration_s**2
    track_bin_hz = 1.0 / (4.0 * TRACK_BLOCK_S)
    span = min(MAX_RATE_SEARCH_HZ_PER_S, max(2.0 * track_bin_hz / duration_s, 5.0 * step))
    n_grid = min(int(2.0 * span / step) + 1, 2001)
    grid = np.linspace(-span, span, n_grid)
    nz = 1 << int(math.ceil(math.log2(z.size)) + 2)
    fz_res = fs_hz / lz / nz  # Hz per bin of the block-sum FFT
    best_val, best_dr, best_df = -1.0, 0.0, 0.0
    tc2 = tc[None, :] ** 2
    for lo in range(0, n_grid, GRID_ROWS):
        dr = grid[lo : lo + GRID_ROWS]
        zz = np.exp(-1j * math.pi * dr[:, None] * tc2)
        np.multiply(z[None, :], zz, out=zz)  # z · exp(…), in this order (to the bit)
        pz = np.abs(sp_fft.fft(zz, nz, axis=1))
        np.square(pz, out=pz)
        idx = np.unravel_index(int(np.argmax(pz)), pz.shape)
        if pz[idx] > best_val:
            best_val = float(pz[idx])
            best_dr = float(dr[idx[0]])
            best_df = float(_signed_bins(idx[1], nz)) * fz_res

    # 4. Maximum-likelihood refinement (scaled so one unit ~ one resolution cell).
    fscale, rscale = 1.0 / duration_s, 1.0 / duration_s**2
    (df_c, dr), peak = _refine(z, tc, best_df, best_dr, fscale, rscale)
    rate = rate0 + dr
    # Frequency at mid-record: the de-chirped residual df_c is measured with centred time.
    t_ref = 0.5 * duration_s
    offset_mid = f0 + rate0 * t_ref + df_c
    offset_start = offset_mid - rate * t_ref

    amp2 = peak / float(n) ** 2  # |A|² (coherent)
    total = float(np.mean(np.abs(x.astype(np.complex128)) ** 2))
    noise_var = total - amp2
    amp2_unbiased = amp2 - max(noise_var, 0.0) / n
    if noise_var <= 1e-12 * total:
        cn0_dbhz = math.inf
        f_std = r_std = 0.0
    else:
        cn0_dbhz = 10.0 * math.log10(max(amp2_unbiased, 1e-30) * fs_hz / noise_var)
        f_std = frequency_crlb_hz(cn0_dbhz, duration_s)
        r_std = rate_crlb_hz_per_s(cn0_dbhz, duration_s)
    return CarrierEstimate(
        frequency_offset_hz=float(offset_mid),
        frequency_hz=float(tuned_frequency_hz + offset_mid),
        rate_hz_per_s=float(rate),
        cn0_dbhz=float(cn0_dbhz),
        reference_time_s=float(t_ref),
        offset_at_start_hz=float(offset_start),
        frequency_std_hz=float(f_std),
        rate_std_hz_per_s=float(r_std),
        detection_snr_db=float(10.0 * math.log10(detection)),
        tuned_frequency_hz=float(tuned_frequency_hz),
        fs_hz=float(fs_hz),
        n_samples=int(n),
    )


def range_rate_from_doppler(
    received_hz: float,
    band_id: str = "8cm-carrier",
    *,
    two_way: bool = False,
    uplink_hz: float | None = None,
    oscillator_offset_ppm: float = 0.0,
) -> float:
    """Range rate (km/s, positive receding) from a coherent downlink's received frequency.

    Inverts ICD §6 to first order: one-way ṙ = c·(1 − f_rx/f_tx) with f_tx the nominal
    carrier × (1 + ppm·1e-6); two-way ṙ = (c/2)·(1 − f_rx/(m·(6/5)·f_up)) with m = 4 for
    the 8 cm carrier and 1 for 32 cm.

    Parameters
    ----------
    received_hz : float
        Absolute received carrier frequency (Hz).
    band_id : str
        ``8cm-carrier`` or ``32cm-tlm``.
    two_way : bool
        Coherent two-way mode.
    uplink_hz : float, optional
        Station 39 cm transmitter frequency (Hz), two-way; default the band table's.
    oscillator_offset_ppm : float
        Assumed on-board oscillator offset (ppm), one-way.
    """
    try:
        mult = COHERENT_BANDS[band_id]
    except KeyError:
        raise DecodeError(f"band {band_id!r} carries no coherent carrier") from None
    c_km_s = C_M_S * 1e-3
    if two_way:
        f_up = band("39cm-up").carrier_hz if uplink_hz is None else float(uplink_hz)
        f_ref = mult * float(TURNAROUND_RATIO) * f_up
        return 0.5 * c_km_s * (1.0 - received_hz / f_ref)
    f_tx = band("32cm-tlm").carrier_hz * mult * (1.0 + oscillator_offset_ppm * 1e-6)
    return c_km_s * (1.0 - received_hz / f_tx)


def one_way_range_rate_bounds(received_hz: float, band_id: str = "8cm-carrier") -> float:
    """Half-width (km/s) of the one-way range rate's interval from the ±1 ppm oscillator."""
    hi = range_rate_from_doppler(received_hz, band_id, oscillator_offset_ppm=MAX_OSCILLATOR_PPM)
    lo = range_rate_from_doppler(received_hz, band_id, oscillator_offset_ppm=-MAX_OSCILLATOR_PPM)
    return 0.5 * abs(hi - lo)


# ------------------------------------------------------------------------------ recordings


def _analysis_decimation(fs_hz: float) -> int:
    """D of the block means a recording is reduced by (fs // 16 kHz, at least 1)."""
    return max(1, int(fs_hz // ANALYSIS_FS_HZ))


def reduce_recording(
    recording: Recording, *, show_progress: bool = True
) -> tuple[np.ndarray, float, int, int]:
    """Read a recording and sum blocks of D samples.

    Returns
    -------
    samples : ndarray of complex64
        Block sums divided by D (at most :data:`MAX_ANALYSIS_SAMPLES`).
    fs_hz : float
        Their sample rate (Hz).
    decimation : int
        D.
    n_nonfinite : int
        NaN/Inf samples replaced by 0.
    """
    receiver = CarrierReceiver(recording.fs_hz, block_s=math.inf)
    _feed_recording(receiver, recording, show_progress=show_progress)
    return receiver.samples, receiver.analysis_fs_hz, receiver.decimation, receiver.nonfinite


def _feed_recording(
    receiver: CarrierReceiver, recording: Recording, *, show_progress: bool
) -> list[str]:
    """Feed ``recording`` to ``receiver`` chunk by chunk, as far as it analyses.

    A data file that shrinks while it is read ends the input at the last whole chunk read:
    the receiver keeps what it was fed, and the returned warning says where the input ended.
    """
    d = receiver.decimation
    stop = min(recording.n_samples, MAX_ANALYSIS_SAMPLES * d)
    stop -= stop % d
    with progress(stop, f"carrier {recording.name}", enabled=show_progress) as bar:
        try:
            for _first, chunk in recording.chunks(d * (1 << 16), 0, stop):
                receiver.feed(chunk)
                bar.update(chunk.size)
        except DataFileError as exc:
            message = f"{exc}; analysed the first {receiver.samples_fed} samples"
            log.warning("%s", message)
            return [message]
    return []


class CarrierReceiver:
    """Push-based carrier receiver (see :mod:`groundstation.receivers.stream`).

    Chunks of any size are reduced by block means of D = fs // 16 kHz samples (the partial
    block is carried to the next chunk), and the reduced samples are kept, at most
    :data:`MAX_ANALYSIS_SAMPLES` of them (32 MB; a longer input is analysed from its
    start). Every ``block_s`` seconds of input the carrier of that block alone is estimated
    and handed out (when one stands above the noise); :meth:`end` hands out the estimate
    over everything analysed, which :meth:`result` returns. Times are from sample 0 of the
    input; C/N0 is corrected for the block-mean response.

    Parameters
    ----------
    fs_hz : float
        Sample rate of the chunks (Hz).
    tuned_frequency_hz : float
        Frequency the receiver is tuned to (Hz).
    max_rate_hz_per_s : float
        Largest frequency rate to expect (Hz/s).
    block_s : float
        Length of the blocks estimated on their own as the input arrives (s); ``inf`` for
        the final estimate only.
    """

    def __init__(
        self,
        fs_hz: float,
        *,
        tuned_frequency_hz: float = 0.0,
        max_rate_hz_per_s: float = 20.0,
        block_s: float = 60.0,
    ) -> None:
        self.fs_hz = float(fs_hz)
        self.tuned_frequency_hz = float(tuned_frequency_hz)
        self.max_rate_hz_per_s = float(max_rate_hz_per_s)
        self.decimation = _analysis_decimation(fs_hz)
        self.analysis_fs_hz = self.fs_hz / self.decimation
        self.samples_fed = 0
        self.nonfinite = 0
        d = self.decimation
        self._block = (
            0 if not math.isfinite(block_s) else max(MIN_SAMPLES, round(block_s * self.fs_hz / d))
        )
        self._carry = np.zeros(0, np.complex64)  # the partial block of D samples
        self._out = np.zeros(1 << 16, np.complex64)
        self._count = 0  # reduced samples kept
        self._next_block = self._block
        self._final: CarrierEstimate | None = None
        self._error: Exception | None = None
        self._ended = False

    @property
    def delay_s(self) -> float:
        """Time of reduced sample 0 after input sample 0 ((D - 1) / 2 samples, s)."""
        return 0.5 * (self.decimation - 1) / self.fs_hz

    @property
    def samples(self) -> np.ndarray:
        """The reduced samples kept so far (block means of D; complex64)."""
        return self._out[: self._count]

    def feed(self, chunk: np.ndarray) -> list[Event]:
        """Take the next samples; returns the block estimates they complete."""
        if self._ended:
            raise DecodeError("the carrier receiver was fed after end()")
        chunk = np.asarray(chunk)
        self.samples_fed += chunk.size
        d = self.decimation
        room = (MAX_ANALYSIS_SAMPLES - self._count) * d - self._carry.size
        x = np.array(chunk[: max(0, room)], dtype=np.complex64)
        self.nonfinite += nonfinite_to_zero(x, in_place=True)[1]
        if self._carry.size:
            x = np.concatenate([self._carry, x])
        whole = x.size - x.size % d
        self._carry = x[whole:]
        reduced = x[:whole].reshape(-1, d).mean(axis=1)
        if self._count + reduced.size > self._out.size:
            grown = np.zeros(max(2 * self._out.size, self._count + reduced.size), np.complex64)
            grown[: self._count] = self._out[: self._count]
            self._out = grown
        self._out[self._count : self._count + reduced.size] = reduced
        self._count += reduced.size
        events: list[Event] = []
        while self._block and self._count >= self._next_block:
            first = self._next_block - self._block
            estimate = self._estimate(first, self._next_block)
            if estimate is not None:
                events.append(estimate)
            self._next_block += self._block
        return events

    def end(self) -> list[Event]:
        """The input is over: the estimate over everything analysed (none without a carrier)."""
        if self._ended:
            return [self._final] if self._final is not None else []
        self._ended = True
        try:
            self._final = self._estimate(0, self._count, raise_errors=True)
        except (NoSignalError, DecodeError) as exc:
            self._error = exc
            return []
        return [self._final]

    def result(self) -> CarrierEstimate:
        """The estimate over everything analysed (after :meth:`end`).

        Raises
        ------
        NoSignalError
            No carrier stands above the noise.
        DecodeError
            Too few samples, or :meth:`end` not called yet.
        """
        if self._error is not None:
            raise self._error
        if self._final is None:
            raise DecodeError("the carrier receiver has no final estimate before end()")
        return self._final

    def _estimate(
        self, first: int, stop: int, *, raise_errors: bool = False
    ) -> CarrierEstimate | None:
        """The carrier of reduced samples ``[first, stop)``, in the input's terms."""
        try:
            est = estimate_carrier(
                self._out[first:stop],
                self.analysis_fs_hz,
                tuned_frequency_hz=self.tuned_frequency_hz,
                max_rate_hz_per_s=self.max_rate_hz_per_s,
            )
        except (NoSignalError, DecodeError):
            if raise_errors:
                raise
            return None
        d = self.decimation
        delay_s = self.delay_s + first * d / self.fs_hz
        gain = _block_sum_gain(est.frequency_offset_hz, self.fs_hz, d)
        reference_s = est.reference_time_s + delay_s
        return dataclasses.replace(
            est,
            reference_time_s=reference_s,
            offset_at_start_hz=est.offset_at_start_hz - est.rate_hz_per_s * delay_s,
            cn0_dbhz=est.cn0_dbhz - 20.0 * math.log10(gain),
            fs_hz=self.fs_hz,
            n_samples=(stop - first) * d,
        )


def _block_sum_gain(offset_hz: float, fs_hz: float, d: int) -> float:
    """Amplitude gain of the mean of D samples for a tone at ``offset_hz`` (Dirichlet)."""
    x = math.pi * offset_hz / fs_hz
    if d == 1 or abs(math.sin(x)) < 1e-12:
        return 1.0
    return abs(math.sin(d * x) / (d * math.sin(x)))


@dataclass(frozen=True)
class RecordingMeasurement:
    """A recording's carrier and the reduced samples it was measured on.

    Attributes
    ----------
    estimate : CarrierEstimate
        In the recording's own terms: times from its sample 0, its tuned frequency, its
        sample rate, C/N0 corrected for the block-mean response.
    samples : ndarray of complex64
        The reduced samples (block means of D).
    fs_hz : float
        Their sample rate (Hz).
    decimation : int
        D.
    delay_s : float
        Time of reduced sample 0 after the recording's sample 0 ((D - 1) / 2 samples, s).
    n_nonfinite : int
        NaN/Inf samples replaced by 0.
    warnings : tuple of str
        One-line messages for the user (a data file that shrank while it was read).
    """

    estimate: CarrierEstimate
    samples: np.ndarray
    fs_hz: float
    decimation: int
    delay_s: float
    n_nonfinite: int
    warnings: tuple[str, ...] = ()


def measure_recording(recording: Recording, *, show_progress: bool = True) -> RecordingMeasurement:
    """Measure the carrier of a recording, fed chunk by chunk to a :class:`CarrierReceiver`
    (bounded memory).

    A recording sampled well above what a ±2 kHz residual needs is reduced first by block
    means of D = fs // 16 kHz samples: means of white noise stay white (N0 unchanged) and a
    carrier at 2 kHz loses at most 0.2 dB, restored in the C/N0. At most
    :data:`MAX_ANALYSIS_SAMPLES` reduced samples are analysed (from the start).

    Raises
    ------
    NoSignalError
        No carrier in the recording.
    """
    receiver = CarrierReceiver(
        recording.fs_hz,
        tuned_frequency_hz=recording.center_frequency_hz,
        max_rate_hz_per_s=band(recording.band).max_residual_rate_hz_per_s,
        block_s=math.inf,
    )
    warnings = _feed_recording(receiver, recording, show_progress=show_progress)
    receiver.end()
    est = receiver.result()
    return RecordingMeasurement(
        est,
        receiver.samples,
        receiver.analysis_fs_hz,
        receiver.decimation,
        receiver.delay_s,
        receiver.nonfinite,
        tuple(warnings),
    )
