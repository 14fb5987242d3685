"""The spacecraft's command receiver: uplink samples in, the command frames it found out.

:class:`CommandReceiver` is the on-board metre-band receiver: a non-coherent FSK
demodulator (ICD §5) working feed-forward over the whole uplink:

1. decimate to about 2 kS/s (anything above 4 kS/s);
2. residual carrier offset from the averaged power spectrum: the offset δ within
   ±60 Hz that maximises P(−250 Hz + δ) + P(+250 Hz + δ), refined by a parabola;
   the noise density from the median of the spectrum away from the tones;
3. per tone, the energy of a one-bit moving sum after mixing the tone to 0 Hz; the
   difference D = E(+250) − E(−250) decides each bit;
4. bursts (transmitter keyed) where the smoothed tone energy exceeds the noise
   (hysteresis between two thresholds);
5. bit timing per burst from |D| folded over the bit period (its peak marks bit ends);
6. frames where the 0xEB90 sync matches with at most one bit error, exact matches
   first, frames never overlapping; the check byte decides. Frames 40 bits apart form
   a chain counted in slots from the start of the burst, slots are grouped in triples,
   and the first frame of each triple whose check is right (and whose opcode is known)
   is acted on.

Measured (tests and a 12-trial sweep of 5-command uplinks, offsets ±50 Hz): bit errors
follow ½·exp(−Eb/2N0) within 0.3 dB at 8–10 dB; every command acted on at 10 dB (the ICD
§7 threshold), 90 % at 8 dB; below ~6 dB bursts break up and the 8-bit check lets about
1 in 256 corrupted frames through.

In: complex baseband at the metre-band receiver, its sample rate and the UTC of sample 0.
Out: every :class:`ReceivedCommand` (the frame, its time, whether it was acted on and why
not) and a :class:`ReceiverReport` of what was counted on the way. The spacecraft
(:mod:`signals.spacecraft.craft`) acts on the frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from signals.dsp import noise_floor, nonfinite_to_zero, parabolic_offset, true_runs
from signals.errors import ReceiverConfigError
from signals.formats.uplink import (
    BIT_RATE_BPS,
    FRAME_BITS,
    MAX_RESIDUAL_HZ,
    MIN_FS_HZ,
    REPEATS,
    SYNC_BITS,
    SYNC_PATTERN,
    TONE_HZ,
    Command,
    UnknownOpcodeError,
)

WORK_FS_HZ: Final[float] = 2000.0
"""Approximate sample rate the receiver decimates to."""
OFFSET_SEARCH_HZ: Final[float] = MAX_RESIDUAL_HZ + 10.0
"""Half-width of the residual-offset search."""
DETECTION_HIGH: Final[float] = 4.5
DETECTION_LOW: Final[float] = 2.8
"""Keyed intervals: the 4-bit average of the tone energy, in units of the per-bit noise
energy (noise alone averages 2), stays above the low threshold and reaches the high one."""
SMOOTHING_BITS: Final[int] = 8
"""Length of the tone-energy average used to find keyed intervals (bits)."""
EDGE_BITS: Final[int] = 2
"""Bits added before and after each keyed interval found."""
MAX_SYNC_ERRORS: Final[int] = 1
"""Bit errors tolerated in the 16-bit sync word."""
MIN_BURST_BITS: Final[int] = SYNC_BITS + 8
"""Shortest keyed interval searched for frames (bits)."""


@dataclass(frozen=True)
class ReceivedCommand:
    """One command frame found in the uplink.

    Attributes
    ----------
    command : Command or None
        The decoded command; None when the frame could not be decoded.
    t_utc : datetime
        Reception time: the end of the frame's last bit.
    frame_index : int
        Position in its triple (0, 1, 2).
    check_ok : bool
        The check byte matched (opcode + argument) mod 256.
    acted : bool
        This is the first frame of its triple with a good check and a known opcode.
    reason : str or None
        Why the frame is not acted on (None when ``acted``).
    sample_start : int
        First sample of the frame in the input.
    raw : bytes
        The 5 frame bytes as received.
    sync_errors : int
        Bits of the sync word received wrong.
    """

    command: Command | None
    t_utc: datetime
    frame_index: int
    check_ok: bool
    acted: bool
    reason: str | None
    sample_start: int
    raw: bytes
    sync_errors: int


@dataclass
class ReceiverReport:
    """What the receiver found and what it skipped in one uplink."""

    offset_hz: float = math.nan
    noise_density: float = math.nan
    ebn0_db: list[float] = field(default_factory=list)
    bursts: list[tuple[int, int]] = field(default_factory=list)
    frames: int = 0
    acted: int = 0
    bad_check: int = 0
    unknown_opcode: int = 0
    repeats: int = 0
    missing_sync: int = 0
    bursts_without_sync: int = 0

    def summary(self) -> str:
        """One line for a log."""
        ebn0 = ", ".join(f"{e:.1f}" for e in self.ebn0_db) or "-"
        return (
            f"uplink: {len(self.bursts)} burst(s), offset {self.offset_hz:+.1f} Hz, "
            f"Eb/N0 ≈ {ebn0} dB; {self.frames} frame(s): {self.acted} acted on, "
            f"{self.repeats} repeat(s), {self.bad_check} bad check, "
            f"{self.unknown_opcode} unknown opcode, {self.missing_sync} slot(s) without sync"
        )


@dataclass(frozen=True)
class DemodulatedBurst:
    """Bits of one keyed interval of the uplink.

    Attributes
    ----------
    first_sample, last_sample : int
        Keyed interval in input samples.
    bit_end_samples : numpy.ndarray
        Input sample index at the end of each bit.
    bits : numpy.ndarray
        Hard decisions (uint8 0/1).
    soft : numpy.ndarray
        E(+250 Hz) − E(−250 Hz) at each bit end, in units of the per-bit noise energy.
    ebn0_db : float
        Estimated Eb/N0 of the burst (dB).
    lead_bits : int
        Bits decided before the keyed interval was detected (edge margin).
    """

    first_sample: int
    last_sample: int
    bit_end_samples: np.ndarray
    bits: np.ndarray
    soft: np.ndarray
    ebn0_db: float
    lead_bits: int


def _moving_sum(x: np.ndarray, length: int) -> np.ndarray:
    """Sum over the last ``length`` samples ending at each index (shorter at the start)."""
    c = np.concatenate([np.zeros(1, dtype=x.dtype), np.cumsum(x)])
    lagged = np.concatenate([np.zeros(length - 1, dtype=x.dtype), c])[: x.size]
    return c[1:] - lagged


#: Segments of the averaged spectrum transformed together.
_PSD_SEGMENTS: Final = 8


def _averaged_psd(
    x: np.ndarray, fs_hz: float, n_segment: int, n_fft: int
) -> tuple[np.ndarray, np.ndarray]:
    """Welch's averaged periodogram of complex ``x``, two-sided: (frequencies Hz in FFT
    order, power spectral density per Hz).

    Hann-windowed segments of ``n_segment`` samples overlapping by half, each zero-padded to
    ``n_fft``; the density is |X|² / (fs·Σw²), averaged over the segments. The same estimate
    as ``scipy.signal.welch`` with these settings (to rounding), without importing
    ``scipy.signal`` (and ``scipy.stats`` with it) into every session.
    """
    hop = n_segment - n_segment // 2
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_segment) / n_segment)  # periodic
    n_segments = (x.size - n_segment // 2) // hop
    starts = hop * np.arange(n_segments)
    # A few segments at a time (their spectra stay in the cache), the powers summed segment
    # after segment as numpy's mean over the first axis sums them: the same numbers.
    total = np.zeros(n_fft)
    for first in range(0, n_segments, _PSD_SEGMENTS):
        batch = starts[first : first + _PSD_SEGMENTS, None] + np.arange(n_segment)
        spectra = np.fft.fft(x[batch] * window, n_fft, axis=1)
        for power in spectra.real**2 + spectra.imag**2:
            total += power
    psd = (total / n_segments) / (fs_hz * float(np.sum(window * window)))
    return np.fft.fftfreq(n_fft, 1.0 / fs_hz), psd


class CommandReceiver:
    """The spacecraft's non-coherent FSK command receiver (ICD §5).

    Parameters
    ----------
    max_sync_errors : int
        Bit errors allowed in the sync word when searching for frames.
    """

    def __init__(self, max_sync_errors: int = MAX_SYNC_ERRORS) -> None:
        self.max_sync_errors = max_sync_errors
        self.last_report: ReceiverReport = ReceiverReport()

    # ------------------------------------------------------------- estimators

    @staticmethod
    def _estimate_offset(x: np.ndarray, fs_hz: float) -> tuple[float, float]:
        """(residual offset in Hz, noise density per Hz) from the averaged spectrum."""
        nperseg = min(x.size, round(fs_hz))
        freqs, psd = _averaged_psd(x, fs_hz, nperseg, 4 * nperseg)
        order = np.argsort(freqs)
        freqs, psd = freqs[order], psd[order]
        step_hz = fs_hz / (4 * nperseg)
        deltas = np.arange(-OFFSET_SEARCH_HZ, OFFSET_SEARCH_HZ + step_hz / 2, step_hz)
        metric = np.interp(TONE_HZ[0] + deltas, freqs, psd) + np.interp(
            TONE_HZ[1] + deltas, freqs, psd
        )
        i = int(np.argmax(metric))
        offset_hz = float(deltas[i])
        if 0 < i < deltas.size - 1:
            offset_hz += step_hz * parabolic_offset(metric[i - 1], metric[i], metric[i + 1])
        away = np.abs(freqs) < 0.8 * fs_hz / 2
        for tone_hz in TONE_HZ:
            away &= np.abs(freqs - tone_hz - offset_hz) > 60.0
        n_segments = max(1, 2 * x.size // nperseg - 1)
        noise_density = noise_floor(psd[away], n_averaged=n_segments)
        return offset_hz, noise_density

    # ------------------------------------------------------------ demodulator

    def demodulate(self, samples: np.ndarray, fs_hz: float) -> list[DemodulatedBurst]:
        """Bits of every keyed interval in ``samples``.

        Parameters
        ----------
        samples : numpy.ndarray
            Complex baseband centred on the uplink carrier.
        fs_hz : float
            Sample rate (Hz), at least 1 kHz.

        Returns
        -------
        list of DemodulatedBurst
            In time order. ``self.last_report`` gets the offset and noise estimates.

        Raises
        ------
        ReceiverConfigError
            Sample rate below 1 kHz.
        """
        if not fs_hz >= MIN_FS_HZ:
            raise ReceiverConfigError(
                f"command receiver needs at least {MIN_FS_HZ:g} samples/s, got {fs_hz} Hz"
            )
        report = ReceiverReport()
        self.last_report = report
        x = np.asarray(samples).astype(np.complex128, copy=False)
        decimation = max(1, int(fs_hz // WORK_FS_HZ)) if fs_hz > 2 * WORK_FS_HZ else 1
        if decimation > 1:
            from scipy import signal  # only for a rate above twice the working rate

            x = signal.resample_poly(x, 1, decimation)
        work_fs_hz = fs_hz / decimation
        samples_per_bit = work_fs_hz / BIT_RATE_BPS
        bit_len = round(samples_per_bit)
        if x.size < 2 * bit_len:
            return []
        x, _ = nonfinite_to_zero(x)
        offset_hz, noise_density = self._estimate_offset(x, work_fs_hz)
        report.offset_hz = offset_hz
        report.noise_density = noise_density
        bit_noise = bit_len * max(noise_density * work_fs_hz, np.finfo(float).tiny)

        n = np.arange(x.size)
        energy = []
        for tone_hz in TONE_HZ:
            mixed = x * np.exp(-2j * np.pi * (tone_hz + offset_hz) / work_fs_hz * n)
            energy.append(np.abs(_moving_sum(mixed, bit_len)) ** 2 / bit_noise)
        diff = energy[1] - energy[0]
        total = energy[1] + energy[0]

        window = SMOOTHING_BITS * bit_len
        shift = window // 2 + bit_len // 2  # centre the window on the bit energies it averages
        smooth = _moving_sum(total, window) / window
        smooth = np.concatenate([smooth[shift:], np.full(shift, smooth[-1])])
        # Hysteresis: runs above the low threshold that reach the high one somewhere.
        runs = true_runs(smooth > DETECTION_LOW)
        if runs.size == 0:
            return []
        high = np.concatenate([[0], np.cumsum(smooth > DETECTION_HIGH)])
        runs = runs[high[runs[:, 1]] > high[runs[:, 0]]]
        if runs.size == 0:
            return []
        # Merge runs separated by less than two bits; keep the long ones.
        breaks = np.flatnonzero(runs[1:, 0] - runs[:-1, 1] >= 2 * bit_len)
        starts = runs[np.concatenate([[0], breaks + 1]), 0]
        stops = runs[np.concatenate([breaks, [runs.shape[0] - 1]]), 1]
        keep = (stops - starts) >= MIN_BURST_BITS * bit_len
        bursts: list[DemodulatedBurst] = []
        for start, stop in zip(starts[keep], stops[keep], strict=True):
            first = max(0, int(start) - EDGE_BITS * bit_len)
            last = min(x.size, int(stop) + EDGE_BITS * bit_len)
            burst = self._bits_of_burst(diff, total, first, last, samples_per_bit, bit_len)
            if burst is None:
                continue
            first_sample, ends, bits, soft, ebn0_db = burst
            bursts.append(
                DemodulatedBurst(
                    first_sample=first_sample * decimation,
                    last_sample=last * decimation,
                    bit_end_samples=ends * decimation,
                    bits=bits,
                    soft=soft,
                    ebn0_db=ebn0_db,
                    lead_bits=int(np.count_nonzero(ends < int(start) + bit_len - 1)),
                )
            )
            report.bursts.append((first_sample * decimation, last * decimation))
            report.ebn0_db.append(ebn0_db)
        return bursts

    @staticmethod
    def _bits_of_burst(
        diff: np.ndarray,
        total: np.ndarray,
        first: int,
        last: int,
        samples_per_bit: float,
        bit_len: int,
    ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, float] | None:
        """Bit timing by folding |D| over the bit period, then decisions at bit ends."""
        idx = np.arange(first + bit_len - 1, last)
        if idx.size < bit_len:
            return None
        n_bins = max(8, min(64, int(samples_per_bit)))
        phase = np.mod(idx - first, samples_per_bit) / samples_per_bit
        bins = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
        folded = np.bincount(bins, weights=np.abs(diff[idx]), minlength=n_bins)
        folded /= np.maximum(np.bincount(bins, minlength=n_bins), 1)
        k = int(np.argmax(folded))
        refine = parabolic_offset(folded[(k - 1) % n_bins], folded[k], folded[(k + 1) % n_bins])
        timing = ((k + 0.5 + refine) / n_bins) * samples_per_bit  # samples after `first`
        span = last - 1 + samples_per_bit / 2 - (first + bit_len - 1) - timing
        n_bits = int(span // samples_per_bit) + 1
        if n_bits < MIN_BURST_BITS:
            return None
        ends = np.round(first + bit_len - 1 + timing + np.arange(n_bits) * samples_per_bit)
        ends = np.clip(ends.astype(np.int64), 0, diff.size - 1)
        soft = diff[ends]
        bits = (soft > 0).astype(np.uint8)
        ebn0 = max(float(np.mean(total[ends])) - 2.0, 1e-3)
        return first, ends, bits, soft, 10 * math.log10(ebn0)

    # ---------------------------------------------------------------- frames

    def receive(self, samples: np.ndarray, fs_hz: float, t0_utc: datetime) -> list[ReceivedCommand]:
        """Every command frame in an uplink recording, marked with what to act on.

        Parameters
        ----------
        samples : numpy.ndarray
            Complex baseband centred on the uplink carrier (residual offset ≤ ±50 Hz).
        fs_hz : float
            Sample rate (Hz), at least 1 kHz.
        t0_utc : datetime
            UTC of sample 0.

        Returns
        -------
        list of ReceivedCommand
            Every frame slot where the sync was found, in time order; ``acted`` marks
            the frames to act on (first good frame of each triple). Counts of what was
            skipped are in ``self.last_report``.
        """
        bursts = self.demodulate(samples, fs_hz)
        report = self.last_report
        found: list[ReceivedCommand] = []
        for burst in bursts:
            found.extend(self._frames_of_burst(burst, fs_hz, t0_utc, report))
        return found

    def _frame_positions(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame starts (bit index) and their sync errors, best syncs first, no overlaps."""
        errors = np.count_nonzero(sliding_window_view(bits, SYNC_BITS) != SYNC_PATTERN, axis=1)
        candidates = np.flatnonzero(
            errors[: max(0, bits.size - FRAME_BITS + 1)] <= self.max_sync_errors
        )
        order = candidates[np.lexsort((candidates, errors[candidates]))]
        taken: list[int] = []
        for p in order:  # a handful of candidates per frame
            if all(abs(int(p) - q) >= FRAME_BITS for q in taken):
                taken.append(int(p))
        positions = np.sort(np.array(taken, dtype=np.int64))
        return positions, errors[positions]

    def _frames_of_burst(
        self,
        burst: DemodulatedBurst,
        fs_hz: float,
        t0_utc: datetime,
        report: ReceiverReport,
    ) -> list[ReceivedCommand]:
        bits = burst.bits
        if bits.size < FRAME_BITS:
            report.bursts_without_sync += 1
            return []
        positions, sync_errors = self._frame_positions(bits)
        if positions.size == 0:
            report.bursts_without_sync += 1
            return []
        # Slot numbers: frames 40 bits apart continue a chain of back-to-back frames; the
        # first chain counts its slots from the start of the keyed interval, so a lost
        # first frame of a triple does not shift the triples that follow.
        slots = np.empty(positions.size, dtype=np.int64)
        chain = np.zeros(positions.size, dtype=np.int64)
        slots[0] = max(0, (positions[0] - burst.lead_bits + FRAME_BITS // 2) // FRAME_BITS)
        for i in range(1, positions.size):
            step, rest = divmod(int(positions[i] - positions[i - 1]), FRAME_BITS)
            chain[i] = chain[i - 1] + (rest != 0)
            slots[i] = 0 if rest else slots[i - 1] + step
        n_triples = len(set(zip(chain.tolist(), (slots // REPEATS).tolist(), strict=True)))
        report.missing_sync += REPEATS * n_triples - positions.size

        samples_per_bit = fs_hz / BIT_RATE_BPS
        frames: list[ReceivedCommand] = []
        acted_groups: set[tuple[int, int]] = set()
        for p, n_sync_errors, slot, chain_id in zip(
            positions, sync_errors, slots, chain, strict=True
        ):
            raw = np.packbits(bits[p : p + FRAME_BITS]).tobytes()
            opcode, argument, check = raw[2], raw[3], raw[4]
            check_ok = check == (opcode + argument) % 256
            command: Command | None = None
            reason: str | None = None
            if not check_ok:
                reason = f"check byte 0x{check:02X} ≠ (0x{opcode:02X} + 0x{argument:02X}) mod 256"
                report.bad_check += 1
            else:
                try:
                    command = Command(opcode, argument)  # type: ignore[arg-type]
                except UnknownOpcodeError as error:
                    reason = str(error)
                    report.unknown_opcode += 1
            group = (int(chain_id), int(slot) // REPEATS)
            acted = command is not None and group not in acted_groups
            if acted:
                acted_groups.add(group)
                report.acted += 1
            elif command is not None:
                reason = "repeat of a frame already acted on"
                report.repeats += 1
            end_sample = int(burst.bit_end_samples[p + FRAME_BITS - 1])
            start_sample = max(0, round(end_sample - FRAME_BITS * samples_per_bit + 1))
            frames.append(
                ReceivedCommand(
                    command=command,
                    t_utc=t0_utc + timedelta(seconds=(end_sample + 1) / fs_hz),
                    frame_index=int(slot) % REPEATS,
                    check_ok=bool(check_ok),
                    acted=acted,
                    reason=reason,
                    sample_start=start_sample,
                    raw=raw,
                    sync_errors=int(n_sync_errors),
                )
            )
            report.frames += 1
        return frames
