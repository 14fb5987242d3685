"""Telemetry modulator (ICD §4): NRZ-L -> BPSK on a 1024 Hz sine subcarrier -> PM, β = 1.

The complex baseband envelope, sampled at t = n / fs_hz, is::

    s(t) = A·exp(j·[β·d(u)·sin(2π·f_sc·u) + 2π·(f0·t + ½·ḟ·t²) + φ0 + φ_pn(t)]) + noise

with u = (t − carrier_s) / (1 + ε) the on-board time since the start of the first bit,
d = ±1 the NRZ-L level of bit floor(u·R) (bit 1 -> +1) and no modulation outside the
frames (the unmodulated carrier before them, and after them if the recording runs on).
φ_pn is a random walk (rad/√s) and the noise is complex white Gaussian with variance
N0·fs_hz per sample, N0 set from Eb/N0 (Eb = 2·J1(β)²·A²/R) or from C/N0 (C = A²).

:class:`TelemetryTransmission` streams the samples in complex64 chunks and tells where
each frame's first bit lies (the truth).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from signals.errors import ConfigError
from signals.formats.tlm import (
    BIT_RATES_BPS,
    DATA_POWER_FRACTION,
    DEFAULT_CARRIER_S,
    FRAME_BITS,
    MIN_FS_HZ,
    MOD_INDEX_RAD,
    SUBCARRIER_HZ,
)
from signals.formats.tlm_frames import TelemetryFrame, frames_to_bits
from signals.path.channel import through_channel


def noise_density(
    amplitude: float,
    bit_rate_bps: float,
    *,
    ebn0_db: float | None = None,
    cn0_dbhz: float | None = None,
) -> float:
    """Noise density N0 (power/Hz) giving ``ebn0_db`` or ``cn0_dbhz`` (0 if neither).

    Eb = 2·J1(β)²·A²/R (ICD §4) and C = A² (total received power).
    """
    if ebn0_db is not None and cn0_dbhz is not None:
        raise ConfigError("give either Eb/N0 or C/N0, not both")
    power = float(amplitude) ** 2
    if ebn0_db is not None:
        eb = DATA_POWER_FRACTION * power / float(bit_rate_bps)
        return eb / 10.0 ** (float(ebn0_db) / 10.0)
    if cn0_dbhz is not None:
        return power / 10.0 ** (float(cn0_dbhz) / 10.0)
    return 0.0


@dataclass(frozen=True)
class FramePosition:
    """Where one transmitted frame lies in the recording (truth).

    Attributes
    ----------
    index : int
        Position of the frame in the transmission (0 = first).
    first_bit_sample : float
        Sample position of the start of its first bit (t·fs_hz, fractional).
    sample_start : int
        First sample at or after the first bit's start.
    sample_count : int
        Samples from ``sample_start`` to the end of the frame.
    complete : bool
        False when the recording ends before the frame does.
    frame : TelemetryFrame
        The frame sent.
    """

    index: int
    first_bit_sample: float
    sample_start: int
    sample_count: int
    complete: bool
    frame: TelemetryFrame


class TelemetryTransmission:
    """One telemetry transmission: carrier, then frames back to back, sampled and noisy.

    Parameters
    ----------
    frames : sequence of TelemetryFrame
        Frames to send, in order.
    fs_hz : float
        Complex sample rate (Hz), ≥ 8000.
    bit_rate_bps : float
        Bit rate R (bit/s), one of ICD §4.
    rng : numpy.random.Generator
        Source of noise and phase noise.
    carrier_s : float
        Unmodulated carrier before the first bit (s, recording time).
    duration_s : float or None
        Length of the recording (s); default: up to the end of the last frame plus
        ``tail_s``. A shorter duration cuts frames; a longer one sends carrier after them.
    tail_s : float
        Unmodulated carrier after the last frame when ``duration_s`` is not given (s).
    amplitude : float
        Envelope amplitude A (total received power A²).
    ebn0_db, cn0_dbhz : float or None
        Noise level as Eb/N0 (dB) or C/N0 (dB-Hz); neither gives a noiseless signal.
    carrier_offset_hz : float
        Residual carrier offset at t = 0 (Hz).
    carrier_rate_hz_per_s : float
        Rate of the residual offset (Hz/s).
    carrier_phase_rad : float
        Carrier phase at t = 0 (rad).
    phase_noise_rad_per_sqrt_s : float
        Random-walk phase noise intensity (rad/√s); the ICD limit is 0.05.
    clock_offset : float
        On-board clock error ε: bit and subcarrier intervals × (1 + ε).
    invert : bool
        Send every bit inverted (the 180° ambiguity a receiver must resolve).
    power_gain : callable, optional
        Power gain of the transmitting antenna towards the receiver (mean 1) at recording
        times ``t`` (s, an array): a spinning craft's antenna pattern. The noise level is set
        by the mean power, so ``ebn0_db`` and ``cn0_dbhz`` stay the averages.
    """

    def __init__(
        self,
        frames: Sequence[TelemetryFrame],
        *,
        fs_hz: float,
        bit_rate_bps: float,
        rng: np.random.Generator,
        carrier_s: float = DEFAULT_CARRIER_S,
        duration_s: float | None = None,
        tail_s: float = 0.0,
        amplitude: float = 1.0,
        ebn0_db: float | None = None,
        cn0_dbhz: float | None = None,
        carrier_offset_hz: float = 0.0,
        carrier_rate_hz_per_s: float = 0.0,
        carrier_phase_rad: float = 0.0,
        phase_noise_rad_per_sqrt_s: float = 0.0,
        clock_offset: float = 0.0,
        invert: bool = False,
        power_gain: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        if fs_hz < MIN_FS_HZ:
            raise ConfigError(f"telemetry sample rate {fs_hz:g} Hz is below {MIN_FS_HZ:g} Hz")
        if bit_rate_bps not in BIT_RATES_BPS:
            raise ConfigError(
                f"bit rate {bit_rate_bps:g} bit/s is not one of {list(BIT_RATES_BPS)}"
            )
        if carrier_s < 0 or tail_s < 0 or (duration_s is not None and duration_s <= 0):
            raise ConfigError("carrier, tail and recording durations must be positive")
        if abs(clock_offset) >= 0.01:
            raise ConfigError(f"clock offset {clock_offset:g} is not a small fraction")
        self.frames = list(frames)
        self.fs_hz = float(fs_hz)
        self.bit_rate_bps = float(bit_rate_bps)
        self.rng = rng
        self.carrier_s = float(carrier_s)
        self.amplitude = float(amplitude)
        self.n0 = noise_density(
            self.amplitude, self.bit_rate_bps, ebn0_db=ebn0_db, cn0_dbhz=cn0_dbhz
        )
        self.carrier_offset_hz = float(carrier_offset_hz)
        self.carrier_rate_hz_per_s = float(carrier_rate_hz_per_s)
        self.carrier_phase_rad = float(carrier_phase_rad)
        self.phase_noise_rad_per_sqrt_s = float(phase_noise_rad_per_sqrt_s)
        self.clock_offset = float(clock_offset)
        self.invert = bool(invert)
        self.power_gain = power_gain
        bits = frames_to_bits(self.frames)
        self._levels = np.where(bits.astype(bool) ^ self.invert, 1.0, -1.0)
        #: Duration of one bit at the receiver (s).
        self.bit_s = (1.0 + self.clock_offset) / self.bit_rate_bps
        frames_end_s = self.carrier_s + len(bits) * self.bit_s
        total_s = frames_end_s + float(tail_s) if duration_s is None else float(duration_s)
        #: Number of complex samples in the recording.
        self.n_samples = int(np.ceil(total_s * self.fs_hz - 1e-9))

    @property
    def duration_s(self) -> float:
        """Length of the recording (s)."""
        return self.n_samples / self.fs_hz

    def frame_positions(self) -> list[FramePosition]:
        """Truth: where each frame's first bit lies, and whether it fits in the recording."""
        out = []
        frame_s = FRAME_BITS * self.bit_s
        for k, frame in enumerate(self.frames):
            first = (self.carrier_s + k * frame_s) * self.fs_hz
            if first >= self.n_samples:
                break
            end = (self.carrier_s + (k + 1) * frame_s) * self.fs_hz
            start = int(np.ceil(first - 1e-9))
            out.append(
                FramePosition(
                    index=k,
                    first_bit_sample=first,
                    sample_start=start,
                    sample_count=int(np.ceil(end - 1e-9)) - start,
                    complete=end <= self.n_samples + 1e-9,
                    frame=frame,
                )
            )
        return out

    def envelope(self, start: int, count: int) -> np.ndarray:
        """Noiseless envelope of samples ``[start, start + count)`` without phase noise."""
        n = np.arange(start, start + count, dtype=np.float64)
        t = n / self.fs_hz
        u = (t - self.carrier_s) / (1.0 + self.clock_offset)
        k = np.floor(u * self.bit_rate_bps).astype(np.int64)
        inside = (k >= 0) & (k < self._levels.size)
        level = np.zeros(count)
        level[inside] = self._levels[k[inside]]
        sc = level * np.sin(2.0 * np.pi * SUBCARRIER_HZ * u)
        carrier = (
            2.0 * np.pi * (self.carrier_offset_hz * t + 0.5 * self.carrier_rate_hz_per_s * t * t)
        )
        envelope = self.amplitude * np.exp(
            1j * (MOD_INDEX_RAD * sc + carrier + self.carrier_phase_rad)
        )
        if self.power_gain is not None:
            envelope *= np.sqrt(self.power_gain(t))
        return envelope

    def chunks(self, chunk_samples: int = 1 << 16) -> Iterator[np.ndarray]:
        """Yield the recording as complex64 chunks of ``chunk_samples`` (the last shorter)."""
        if chunk_samples <= 0:
            raise ConfigError("chunk_samples must be positive")
        return through_channel(
            self.envelope,
            self.n_samples,
            self.fs_hz,
            self.rng,
            n0=self.n0,
            phase_noise_rad_per_sqrt_s=self.phase_noise_rad_per_sqrt_s,
            chunk_samples=chunk_samples,
        )

    def samples(self) -> np.ndarray:
        """The whole recording as one complex64 array (small recordings only)."""
        if self.n_samples == 0:
            return np.zeros(0, np.complex64)
        return np.concatenate(list(self.chunks()))

    def truth(self) -> dict:
        """Truth as plain JSON-ready data (the parameters and every frame's position)."""
        return {
            "fs_hz": self.fs_hz,
            "bit_rate_bps": self.bit_rate_bps,
            "n_samples": self.n_samples,
            "carrier_s": self.carrier_s,
            "amplitude": self.amplitude,
            "n0": self.n0,
            "carrier_offset_hz": self.carrier_offset_hz,
            "carrier_rate_hz_per_s": self.carrier_rate_hz_per_s,
            "carrier_phase_rad": self.carrier_phase_rad,
            "phase_noise_rad_per_sqrt_s": self.phase_noise_rad_per_sqrt_s,
            "clock_offset": self.clock_offset,
            "invert": self.invert,
            "frames": [
                {
                    "index": p.index,
                    "first_bit_sample": p.first_bit_sample,
                    "sample_start": p.sample_start,
                    "sample_count": p.sample_count,
                    "complete": p.complete,
                    "frame_counter": p.frame.frame_counter,
                    "frame_type": int(p.frame.frame_type),
                    "words": list(p.frame.words),
                    "channels": {k: float(v) for k, v in p.frame.channels().items()},
                }
                for p in self.frame_positions()
            ],
        }
