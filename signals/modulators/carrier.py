"""The coherent link (ICD §6): the 8 cm carrier and the two-way turnaround.

On board, one oscillator drives the 32 cm transmitter; the 8 cm carrier is exactly four
times the 32 cm carrier. In one-way mode that oscillator runs free (offset within
±1 ppm); in two-way mode the 32 cm downlink is phase-locked to the received 39 cm uplink
with the turnaround ratio 6/5. To first order in v/c (the order the ICD uses)::

    one-way:  f_rx = f_tx·(1 − ṙ/c)
    two-way:  f_rx = (6/5)·f_up·(1 − 2·ṙ/c)    (×4 for the 8 cm carrier)

with ṙ the station-probe range rate (positive receding) and f_up the station's 39 cm
transmitter frequency (held fixed, not Doppler-compensated).

:class:`CarrierSignal` streams an unmodulated carrier recording: the envelope
A·exp(j·[2π·(f0·t + ½·ḟ·t²) + φ0 + φ_pn(t)]) sampled at t = n/fs_hz, A = 1, plus complex
white Gaussian noise of variance N0·fs_hz per sample with N0 = A² / (C/N0).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Final

import numpy as np

from signals.bands import COHERENT_BANDS, TURNAROUND_RATIO, X8_MULTIPLIER, band
from signals.constants import C_M_S
from signals.errors import ConfigError
from signals.path.channel import through_channel

#: Largest one-way on-board oscillator offset (ppm).
MAX_OSCILLATOR_PPM: Final = 1.0
#: Lowest sample rate of a carrier recording (Hz).
MIN_FS_HZ: Final = 8000.0


class CarrierError(ConfigError):
    """A carrier or coherent-link parameter is out of range."""


class CoherentMode(IntEnum):
    """How the downlink carrier is generated; the value is the number of Doppler legs."""

    ONE_WAY = 1
    TWO_WAY = 2


@dataclass(frozen=True)
class DownlinkFrequencies:
    """Transmitted and received coherent downlink carriers (Hz) for one range rate.

    Attributes
    ----------
    mode : CoherentMode
        One-way (free-running oscillator) or two-way (locked to the uplink).
    range_rate_km_s : float
        Station-probe range rate used (km/s, positive receding).
    uplink_hz : float or None
        Station 39 cm transmitter frequency (Hz), two-way only.
    oscillator_offset_ppm : float
        On-board oscillator offset (ppm), one-way only (0 in two-way).
    transmitted_32cm_hz, transmitted_8cm_hz : float
        Carriers leaving the probe (Hz).
    received_32cm_hz, received_8cm_hz : float
        Carriers arriving at the station (Hz).
    """

    mode: CoherentMode
    range_rate_km_s: float
    uplink_hz: float | None
    oscillator_offset_ppm: float
    transmitted_32cm_hz: float
    transmitted_8cm_hz: float
    received_32cm_hz: float
    received_8cm_hz: float

    def received_hz(self, band_id: str) -> float:
        """Received carrier of ``32cm-tlm`` or ``8cm-carrier`` (Hz)."""
        return self.received_32cm_hz * _multiplier(band_id)


def _multiplier(band_id: str) -> int:
    try:
        return COHERENT_BANDS[band_id]
    except KeyError:
        raise CarrierError(
            f"band {band_id!r} is not a coherent downlink (use {' or '.join(COHERENT_BANDS)})"
        ) from None


def downlink_frequencies(
    range_rate_km_s: float,
    mode: CoherentMode = CoherentMode.ONE_WAY,
    *,
    oscillator_offset_ppm: float = 0.0,
    uplink_hz: float | None = None,
) -> DownlinkFrequencies:
    """Coherent downlink carriers for a range rate, to first order in v/c (ICD §6).

    Parameters
    ----------
    range_rate_km_s : float
        Station-probe range rate (km/s), positive receding.
    mode : CoherentMode
        One-way or two-way.
    oscillator_offset_ppm : float
        On-board oscillator offset (ppm, |x| <= 1), one-way only.
    uplink_hz : float, optional
        Station 39 cm transmitter frequency (Hz); default the band table's ``39cm-up``.

    Raises
    ------
    CarrierError
        Oscillator offset beyond ±1 ppm, or one given in two-way mode.
    """
    mode = CoherentMode(mode)
    if abs(oscillator_offset_ppm) > MAX_OSCILLATOR_PPM:
        raise CarrierError(
            f"oscillator offset {oscillator_offset_ppm} ppm exceeds ±{MAX_OSCILLATOR_PPM} ppm"
        )
    beta = range_rate_km_s * 1e3 / C_M_S
    if mode is CoherentMode.ONE_WAY:
        f_up = None
        tx32 = band("32cm-tlm").carrier_hz * (1.0 + oscillator_offset_ppm * 1e-6)
        rx32 = tx32 * (1.0 - beta)
    else:
        if oscillator_offset_ppm != 0.0:
            raise CarrierError("the oscillator offset does not apply in two-way mode")
        f_up = band("39cm-up").carrier_hz if uplink_hz is None else float(uplink_hz)
        # Received on board f_up (1 - beta), turned around by 6/5, received back (1 - beta):
        # first order, (6/5) f_up (1 - 2 beta).
        tx32 = float(TURNAROUND_RATIO) * f_up * (1.0 - beta)
        rx32 = float(TURNAROUND_RATIO) * f_up * (1.0 - 2.0 * beta)
    return DownlinkFrequencies(
        mode=mode,
        range_rate_km_s=float(range_rate_km_s),
        uplink_hz=f_up,
        oscillator_offset_ppm=float(oscillator_offset_ppm) if f_up is None else 0.0,
        transmitted_32cm_hz=tx32,
        transmitted_8cm_hz=X8_MULTIPLIER * tx32,
        received_32cm_hz=rx32,
        received_8cm_hz=X8_MULTIPLIER * rx32,
    )


def predicted_downlink(
    t_utc: datetime,
    mode: CoherentMode = CoherentMode.ONE_WAY,
    *,
    oscillator_offset_ppm: float = 0.0,
    uplink_hz: float | None = None,
) -> DownlinkFrequencies:
    """Coherent downlink carriers at ``t_utc`` from the mission geometry (first order).

    With ``oscillator_offset_ppm = 0`` this is the station's prediction: tune the receiver
    to ``received_hz(band_id)`` and only the residual (oscillator error, prediction error)
    remains in the recording.
    """
    from signals.path.geometry import get_trajectory

    rdot = float(get_trajectory().range_rate_km_s(t_utc))
    return downlink_frequencies(
        rdot, mode, oscillator_offset_ppm=oscillator_offset_ppm, uplink_hz=uplink_hz
    )


@dataclass(frozen=True)
class CarrierSignal:
    """An unmodulated carrier recording at complex baseband.

    Parameters
    ----------
    fs_hz : float
        Complex sample rate (Hz), at least 8 kHz.
    duration_s : float
        Length (s).
    offset_hz : float
        Residual carrier offset at sample 0 (Hz), positive above the tuned frequency.
    rate_hz_per_s : float
        Rate of the residual offset (Hz/s).
    cn0_dbhz : float or None
        Carrier-to-noise density (dB-Hz); None for no noise.
    phase_noise_rad_per_sqrt_s : float
        Oscillator phase noise as a random walk (rad/sqrt(s)); 0 for none.
    initial_phase_rad : float
        Carrier phase at sample 0 (rad).
    band_id : str
        Band whose residual limits apply (``8cm-carrier`` by default, ICD §6).
    """

    fs_hz: float
    duration_s: float
    offset_hz: float = 0.0
    rate_hz_per_s: float = 0.0
    cn0_dbhz: float | None = None
    phase_noise_rad_per_sqrt_s: float = 0.0
    initial_phase_rad: float = 0.0
    band_id: str = "8cm-carrier"
    n_samples: int = field(init=False)

    def __post_init__(self) -> None:
        if not self.fs_hz >= MIN_FS_HZ:
            raise CarrierError(f"sample rate {self.fs_hz} Hz is below {MIN_FS_HZ:.0f} Hz")
        if not self.duration_s > 0:
            raise CarrierError(f"duration must be positive, got {self.duration_s} s")
        b = band(self.band_id)
        end_offset = self.offset_hz + self.rate_hz_per_s * self.duration_s
        if max(abs(self.offset_hz), abs(end_offset)) > b.max_residual_hz:
            raise CarrierError(
                f"residual offset {self.offset_hz:.1f} Hz (→ {end_offset:.1f} Hz at the end) "
                f"exceeds ±{b.max_residual_hz:.0f} Hz for {self.band_id}"
            )
        if abs(self.rate_hz_per_s) > b.max_residual_rate_hz_per_s:
            raise CarrierError(
                f"residual rate {self.rate_hz_per_s:.2f} Hz/s exceeds "
                f"±{b.max_residual_rate_hz_per_s:.0f} Hz/s for {self.band_id}"
            )
        if self.phase_noise_rad_per_sqrt_s < 0:
            raise CarrierError("phase noise must not be negative")
        object.__setattr__(self, "n_samples", round(self.duration_s * self.fs_hz))

    @property
    def noise_density(self) -> float:
        """N0 (power per Hz, with A = 1); 0 without noise."""
        return 0.0 if self.cn0_dbhz is None else 10.0 ** (-self.cn0_dbhz / 10.0)

    def envelope(self, start: int, count: int) -> np.ndarray:
        """Noiseless, phase-noise-free envelope of samples start .. start+count (complex128)."""
        t = np.arange(start, start + count, dtype=np.float64) / self.fs_hz
        cycles = self.offset_hz * t + 0.5 * self.rate_hz_per_s * t * t
        cycles -= np.floor(cycles)
        return np.exp(1j * (2.0 * math.pi * cycles + self.initial_phase_rad))

    def chunks(
        self, rng: np.random.Generator, chunk_samples: int = 1 << 16
    ) -> Iterator[np.ndarray]:
        """Yield the recording as complex64 chunks of ``chunk_samples`` (the last shorter).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the noise and the phase-noise walk.
        chunk_samples : int
            Samples per chunk.
        """
        if chunk_samples <= 0:
            raise CarrierError("chunk_samples must be positive")
        return through_channel(
            self.envelope,
            self.n_samples,
            self.fs_hz,
            rng,
            n0=self.noise_density,
            phase_noise_rad_per_sqrt_s=self.phase_noise_rad_per_sqrt_s,
            chunk_samples=chunk_samples,
        )

    def samples(self, rng: np.random.Generator) -> np.ndarray:
        """The whole recording as one complex64 array (for short recordings and tests)."""
        return np.concatenate(list(self.chunks(rng)))

    def truth(self) -> dict:
        """What was generated, for a JSON file beside the recording."""
        return {
            "fs_hz": self.fs_hz,
            "duration_s": self.duration_s,
            "n_samples": self.n_samples,
            "offset_hz": self.offset_hz,
            "rate_hz_per_s": self.rate_hz_per_s,
            "cn0_dbhz": self.cn0_dbhz,
            "phase_noise_rad_per_sqrt_s": self.phase_noise_rad_per_sqrt_s,
            "initial_phase_rad": self.initial_phase_rad,
        }
