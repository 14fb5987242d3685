"""A reference 5 cm PPM image transmitter written from ICD §2-§3 alone.

The transmission is described as a sequence of *periods* on one continuous grid, each a
code: a grey level 0..63 (one data pulse), a line or frame marker (four pulses) or silence.
Every pulse is a rectangular burst one chip long with its own random carrier phase; the
on-board clock (offset and drift) and the Doppler factor stretch the pulse times, and the
residual carrier (offset and rate) turns the phase. The receiver's integrate-and-dump front
end is reproduced exactly by integrating each pulse analytically over every sample
interval it overlaps (within a pulse the carrier rate's quadratic phase is below 1e-8 rad,
so each pulse is integrated at its own mid-pulse frequency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

#: Chip length (s) and chips per pixel period (ICD §3).
CHIP_S: Final[float] = 1.0 / 45_000.0
CHIPS_PER_PERIOD: Final[int] = 500
#: Data pulse of grey level g starts at chip DATA_FIRST_CHIP + DATA_STEP_CHIPS * g.
DATA_FIRST_CHIP: Final[int] = 50
DATA_STEP_CHIPS: Final[int] = 6
N_GREY: Final[int] = 64
LINE_MARKER_CHIPS: Final[tuple[int, ...]] = (0, 4, 13, 31)
FRAME_MARKER_CHIPS: Final[tuple[int, ...]] = (0, 9, 24, 44)

#: Header periods after a frame marker; periods of a line before its pixels.
HEADER_PERIODS: Final[int] = 8
LINE_HEAD_PERIODS: Final[int] = 5

#: Period codes: 0..63 a grey level; these three the other kinds of period.
SILENT: Final[int] = -1
LINE_MARKER: Final[int] = 64
FRAME_MARKER: Final[int] = 65


@dataclass(frozen=True)
class PpmImage:
    """One image transmission: what goes on the air, and what a decoder should report.

    Attributes
    ----------
    image_id : int
        12-bit image id.
    grey : np.ndarray
        (lines, pixels) grey levels 0..63 of the full image (unsent survey lines included).
    mode : int
        0 full image, k >= 2 survey of lines 0, k, 2k, ...
    faded_lines : tuple of int
        Line numbers whose periods are silent (lost in a fade).
    spoil_first_header : bool
        Send the first header copy with a wrong check value (as a noise hit would), so
        that only the second copy is usable.
    """

    image_id: int
    grey: np.ndarray
    mode: int = 0
    faded_lines: tuple[int, ...] = field(default=())
    spoil_first_header: bool = False

    @property
    def lines(self) -> int:
        return int(self.grey.shape[0])

    @property
    def pixels(self) -> int:
        return int(self.grey.shape[1])

    def sent_lines(self) -> np.ndarray:
        """Line numbers the transmitter sends (mode permitting), faded ones included."""
        step = 1 if self.mode == 0 else self.mode
        return np.arange(0, self.lines, step)

    def received_lines(self) -> np.ndarray:
        """Line numbers actually on the air (sent and not faded)."""
        sent = self.sent_lines()
        return sent[~np.isin(sent, self.faded_lines)]

    def header(self) -> np.ndarray:
        """The 8 header values: id, lines, pixels (hi, lo), mode, check."""
        values = [
            self.image_id >> 6,
            self.image_id & 63,
            self.lines >> 6,
            self.lines & 63,
            self.pixels >> 6,
            self.pixels & 63,
            self.mode,
        ]
        values.append(sum(values) % 64)
        return np.array(values, dtype=np.int64)

    def line_periods(self) -> np.ndarray:
        """Period index of each sent line's marker, from the image's frame-marker period."""
        head_periods = 2 * (1 + HEADER_PERIODS)
        return head_periods + np.arange(self.sent_lines().size) * (LINE_HEAD_PERIODS + self.pixels)

    def period_codes(self) -> np.ndarray:
        """Period codes of the whole transmission: two marker + header copies, then lines."""
        head = np.concatenate([[FRAME_MARKER], self.header()])
        first = head.copy()
        if self.spoil_first_header:
            first[-1] = (first[-1] + 1) % 64
        parts = [first, head]
        faded = set(self.faded_lines)
        for line in self.sent_lines():
            body = np.concatenate(
                [[LINE_MARKER, line >> 6, line & 63, 0, N_GREY - 1], self.grey[line]]
            )
            parts.append(np.full(body.size, SILENT) if int(line) in faded else body)
        return np.concatenate(parts).astype(np.int64)


def random_image(
    image_id: int, lines: int, pixels: int, rng: np.random.Generator, **kwargs: object
) -> PpmImage:
    """An image of uniformly random grey levels (every position exercised)."""
    grey = rng.integers(0, N_GREY, size=(lines, pixels))
    return PpmImage(image_id=image_id, grey=grey, **kwargs)  # type: ignore[arg-type]


def pulse_chips(codes: np.ndarray) -> np.ndarray:
    """Start chip of every pulse, counted from the start of period 0 of ``codes``.

    Parameters
    ----------
    codes : np.ndarray
        Period codes (grey level, marker or silence).

    Returns
    -------
    np.ndarray
        Sorted int64 chip indices (nominal, before any clock error).
    """
    codes = np.asarray(codes, dtype=np.int64)
    period = np.arange(codes.size, dtype=np.int64) * CHIPS_PER_PERIOD
    is_data = (codes >= 0) & (codes < N_GREY)
    data = period[is_data] + DATA_FIRST_CHIP + DATA_STEP_CHIPS * codes[is_data]
    line = (period[codes == LINE_MARKER][:, None] + np.array(LINE_MARKER_CHIPS)).ravel()
    frame = (period[codes == FRAME_MARKER][:, None] + np.array(FRAME_MARKER_CHIPS)).ravel()
    return np.sort(np.concatenate([data, line, frame]))


@dataclass(frozen=True)
class PpmChannel:
    """Timing and carrier impairments (ICD §3 limits: 100 ppm, 1 ppm/h, 6e-5, 30 kHz, 5 Hz/s).

    Attributes
    ----------
    clock_ppm : float
        On-board clock offset ε in ppm (> 0: every interval longer).
    drift_ppm_per_h : float
        Rate of change of ε, ppm per hour.
    doppler_v_over_c : float
        Range rate over c; received intervals are scaled by (1 + v/c).
    carrier_offset_hz : float
        Residual carrier offset at sample 0, Hz.
    carrier_rate_hz_per_s : float
        Residual carrier rate, Hz/s.
    """

    clock_ppm: float = 0.0
    drift_ppm_per_h: float = 0.0
    doppler_v_over_c: float = 0.0
    carrier_offset_hz: float = 0.0
    carrier_rate_hz_per_s: float = 0.0

    def received_time_s(self, nominal_s: np.ndarray) -> np.ndarray:
        """Receive time (from the grid origin) of a nominal on-board time, s."""
        eps = self.clock_ppm * 1e-6
        eps_rate_per_s = self.drift_ppm_per_h * 1e-6 / 3600.0
        onboard = nominal_s * (1.0 + eps) + 0.5 * eps_rate_per_s * nominal_s**2
        return onboard * (1.0 + self.doppler_v_over_c)


@dataclass(frozen=True)
class PpmTransmission:
    """The samples and where each image transmission landed.

    Attributes
    ----------
    samples : np.ndarray
        complex128 baseband samples.
    image_start_s : list of float
        Receive time of the start of each image's first frame-marker period, s.
    line_start_s : list of np.ndarray
        For each image, receive time of the start of each sent line's marker period, s.
    amplitude : float
        Pulse amplitude A (Es = A²·τ).
    n0 : float
        Noise density N0 (per-sample variance N0·fs).
    """

    samples: np.ndarray
    image_start_s: list[float]
    line_start_s: list[np.ndarray]
    amplitude: float
    n0: float


def integrate_pulses(
    start_s: np.ndarray,
    stop_s: np.ndarray,
    phase_rad: np.ndarray,
    n_samples: int,
    *,
    fs_hz: float,
    amplitude: float,
    carrier_offset_hz: float,
    carrier_rate_hz_per_s: float,
) -> np.ndarray:
    """Integrate-and-dump samples of rectangular bursts on a drifting carrier.

    Sample n is the mean of the complex envelope over [n/fs, (n+1)/fs).

    Parameters
    ----------
    start_s, stop_s : np.ndarray
        Receive times of each pulse's edges, s from sample 0.
    phase_rad : np.ndarray
        Carrier phase of each pulse (rad), on top of the residual carrier's phase.
    n_samples : int
        Length of the output.
    fs_hz : float
        Sample rate, Hz.
    amplitude : float
        Pulse amplitude A.
    carrier_offset_hz, carrier_rate_hz_per_s : float
        Residual carrier at sample 0 (Hz) and its rate (Hz/s).

    Returns
    -------
    np.ndarray
        complex128 samples.
    """
    out = np.zeros(n_samples, dtype=np.complex128)
    if start_s.size == 0:
        return out
    mid_s = 0.5 * (start_s + stop_s)
    freq_hz = carrier_offset_hz + carrier_rate_hz_per_s * mid_s
    mid_phase = phase_rad + 2 * np.pi * (
        carrier_offset_hz * mid_s + 0.5 * carrier_rate_hz_per_s * mid_s**2
    )
    span = int(np.ceil(float(np.max(stop_s - start_s)) * fs_hz)) + 2
    first = np.floor(start_s * fs_hz).astype(np.int64)
    index = first[:, None] + np.arange(span)[None, :]
    lo = np.maximum(start_s[:, None], index / fs_hz)
    hi = np.minimum(stop_s[:, None], (index + 1) / fs_hz)
    width = np.clip(hi - lo, 0.0, None)
    centre = 0.5 * (hi + lo) - mid_s[:, None]
    # ∫ exp(j2πf(t - mid)) dt over [lo, hi) = width·sinc(f·width)·exp(j2πf·centre)
    value = (
        amplitude
        * fs_hz
        * width
        * np.sinc(freq_hz[:, None] * width)
        * np.exp(1j * (mid_phase[:, None] + 2 * np.pi * freq_hz[:, None] * centre))
    )
    keep = (width > 0) & (index < n_samples)
    np.add.at(out, index[keep], value[keep])
    return out


def transmit(
    images: list[PpmImage],
    *,
    fs_hz: float,
    esn0_db: float,
    rng: np.random.Generator,
    channel: PpmChannel | None = None,
    lead_s: float = 0.02,
    gap_periods: int = 3,
    tail_s: float = 0.02,
    amplitude: float = 0.25,
) -> PpmTransmission:
    """Samples of one or more image transmissions on a continuous period grid, with AWGN.

    Parameters
    ----------
    images : list of PpmImage
        Transmitted in order, ``gap_periods`` silent periods apart.
    fs_hz : float
        Sample rate, Hz.
    esn0_db : float
        Es/N0 of a pulse, dB (Es = A²·τ on the continuous signal).
    rng : np.random.Generator
        Pulse phases and noise.
    channel : PpmChannel or None
        Clock, Doppler and carrier impairments (none when None).
    lead_s, tail_s : float
        Silence before the grid origin and after the last pulse, s (receive time).
    gap_periods : int
        Silent periods between transmissions.
    amplitude : float
        Pulse amplitude A.

    Returns
    -------
    PpmTransmission
    """
    channel = channel or PpmChannel()
    gap = np.full(gap_periods, SILENT)
    codes_parts: list[np.ndarray] = []
    first_period: list[int] = []
    n_periods = 0
    for image in images:
        if codes_parts:
            codes_parts.append(gap)
            n_periods += gap.size
        first_period.append(n_periods)
        codes = image.period_codes()
        codes_parts.append(codes)
        n_periods += codes.size
    chips = pulse_chips(np.concatenate(codes_parts))
    start_s = lead_s + channel.received_time_s(chips * CHIP_S)
    stop_s = lead_s + channel.received_time_s((chips + 1) * CHIP_S)
    n_samples = int(np.ceil((float(stop_s[-1]) + tail_s) * fs_hz))
    phase = rng.uniform(0.0, 2 * np.pi, size=chips.size)
    samples = integrate_pulses(
        start_s,
        stop_s,
        phase,
        n_samples,
        fs_hz=fs_hz,
        amplitude=amplitude,
        carrier_offset_hz=channel.carrier_offset_hz,
        carrier_rate_hz_per_s=channel.carrier_rate_hz_per_s,
    )
    n0 = amplitude**2 * CHIP_S / 10 ** (esn0_db / 10)
    sigma = np.sqrt(n0 * fs_hz / 2)
    samples += sigma * (rng.standard_normal(n_samples) + 1j * rng.standard_normal(n_samples))
    period_s = CHIPS_PER_PERIOD * CHIP_S
    image_start_s = [
        lead_s + float(channel.received_time_s(np.array(p * period_s))) for p in first_period
    ]
    line_start_s = [
        lead_s + channel.received_time_s((p + image.line_periods()) * period_s)
        for p, image in zip(first_period, images, strict=True)
    ]
    return PpmTransmission(samples, image_start_s, line_start_s, amplitude, n0)
