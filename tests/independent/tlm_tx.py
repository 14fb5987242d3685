"""A reference 32 cm / 1.6 m telemetry transmitter written from ICD §2 and §4 alone.

Frames of 32 eight-bit words (sync 0xFAF320, then 7 data bits + odd parity), NRZ-L bits
BPSK-modulated onto a 1024 Hz sine subcarrier, which phase-modulates the carrier with
β = 1 rad after a stretch of unmodulated carrier. The residual carrier (offset and rate),
an oscillator phase random walk and the on-board clock offset are applied, and the
envelope is sampled at t = n/fs with complex white Gaussian noise of variance N0·fs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.special import j1

SYNC_WORDS: Final[tuple[int, int, int]] = (0xFA, 0xF3, 0x20)
WORDS_PER_FRAME: Final[int] = 32
BITS_PER_FRAME: Final[int] = 8 * WORDS_PER_FRAME
SUBCARRIER_HZ: Final[float] = 1024.0
MODULATION_INDEX_RAD: Final[float] = 1.0
ENGINEERING: Final[int] = 0
SCIENCE: Final[int] = 1


@dataclass(frozen=True)
class Channel:
    """One telemetry channel: where it sits and how raw counts become engineering units."""

    name: str
    first_word: int
    n_words: int
    to_units: Callable[[int], float]

    @property
    def raw_bits(self) -> int:
        return 7 * self.n_words


def _mag(raw: int) -> float:
    return (raw - 8192) * 0.005


#: ICD §4 tables, by frame type.
CHANNELS: Final[dict[int, tuple[Channel, ...]]] = {
    ENGINEERING: (
        Channel("onboard_time_min", 5, 3, float),
        Channel("n2_pressure_a_mpa", 8, 1, lambda r: r * 0.125),
        Channel("n2_pressure_b_mpa", 9, 1, lambda r: r * 0.125),
        Channel("battery_v", 10, 1, lambda r: 20.0 + r * 0.1),
        Channel("battery_a", 11, 1, lambda r: (r - 64) * 0.25),
        Channel("solar_array_a", 12, 1, lambda r: r * 0.1),
        Channel("temp_orbital_c", 13, 1, lambda r: -40.0 + r),
        Channel("temp_experiment_c", 14, 1, lambda r: -40.0 + r),
        Channel("temp_radiator_c", 15, 1, lambda r: -100.0 + r * 1.5),
        Channel("attitude_mode", 16, 1, float),
        Channel("command_count", 17, 1, float),
        Channel("last_command", 18, 1, float),
        Channel("tx_state", 19, 1, float),
    ),
    SCIENCE: (
        Channel("mag_x_nt", 5, 2, _mag),
        Channel("mag_y_nt", 7, 2, _mag),
        Channel("mag_z_nt", 9, 2, _mag),
        Channel("micrometeoroid_hits", 11, 2, float),
        Channel("gas_discharge_cps", 13, 2, float),
        Channel("scintillation_cps", 15, 2, float),
    ),
}

ALL_CHANNEL_NAMES: Final[tuple[str, ...]] = tuple(
    c.name for kind in (ENGINEERING, SCIENCE) for c in CHANNELS[kind]
)


def with_odd_parity(data7: np.ndarray) -> np.ndarray:
    """8-bit words: 7 data bits then a parity bit making the number of ones odd."""
    data7 = np.asarray(data7, dtype=np.int64)
    ones = np.zeros_like(data7)
    for bit in range(7):
        ones += (data7 >> bit) & 1
    return (data7 << 1) | (1 - (ones & 1))


@dataclass(frozen=True)
class TlmFrame:
    """One frame as sent: its 32 words and its channels in engineering units."""

    counter: int
    frame_type: int
    words: np.ndarray
    values: dict[str, float]

    @property
    def parity_ok(self) -> bool:
        """Every word 3..31 has an odd number of ones."""
        ones = np.unpackbits(self.words[3:].astype(np.uint8)[:, None], axis=1).sum(axis=1)
        return bool(np.all(ones % 2 == 1))


def make_frame(
    counter: int, frame_type: int, raw: dict[str, int], bad_parity_words: tuple[int, ...] = ()
) -> TlmFrame:
    """Pack a frame from raw channel counts (missing channels send 0).

    Parameters
    ----------
    counter : int
        Frame counter (sent mod 128).
    frame_type : int
        0 engineering, 1 science.
    raw : dict
        Raw count of each channel of that frame type.
    bad_parity_words : tuple of int
        Word numbers (3..31) sent with their parity bit flipped.

    Returns
    -------
    TlmFrame
    """
    data = np.zeros(WORDS_PER_FRAME, dtype=np.int64)
    data[3] = counter % 128
    data[4] = frame_type
    values: dict[str, float] = {}
    for channel in CHANNELS[frame_type]:
        value = int(raw.get(channel.name, 0))
        if not 0 <= value < 2**channel.raw_bits:
            raise ValueError(f"{channel.name}: raw {value} does not fit {channel.raw_bits} bits")
        shifts = 7 * np.arange(channel.n_words - 1, -1, -1)
        data[channel.first_word : channel.first_word + channel.n_words] = (value >> shifts) & 127
        values[channel.name] = channel.to_units(value)
    words = with_odd_parity(data)
    words[list(bad_parity_words)] ^= 1
    words[:3] = SYNC_WORDS
    return TlmFrame(counter % 128, frame_type, words.astype(np.uint8), values)


def random_frames(
    n_frames: int,
    first_counter: int,
    rng: np.random.Generator,
    bad_parity: dict[int, tuple[int, ...]] | None = None,
) -> list[TlmFrame]:
    """Frames alternating engineering / science with uniformly random raw channel counts.

    Types follow the counter (even engineering, odd science) so types alternate 0, 1, ...;
    enumerated channels (attitude mode, tx state) include values outside their tables.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    first_counter : int
        Counter of the first frame (counters increment, mod 128).
    rng : np.random.Generator
        Channel values.
    bad_parity : dict or None
        Frame index -> word numbers sent with a wrong parity bit.
    """
    bad_parity = bad_parity or {}
    frames = []
    for k in range(n_frames):
        counter = first_counter + k
        frame_type = counter % 2
        raw = {c.name: int(rng.integers(0, 2**c.raw_bits)) for c in CHANNELS[frame_type]}
        frames.append(make_frame(counter, frame_type, raw, bad_parity.get(k, ())))
    return frames


def frame_bits(frames: list[TlmFrame]) -> np.ndarray:
    """The bit stream, most significant bit of each word first."""
    words = np.concatenate([f.words for f in frames]).astype(np.uint8)
    return np.unpackbits(words)


@dataclass(frozen=True)
class TlmChannel:
    """Link impairments (ICD §4 limits: ±2 kHz, ±5 Hz/s, 0.05 rad/√s, ±100 ppm).

    Attributes
    ----------
    carrier_offset_hz : float
        Residual carrier offset at sample 0, Hz.
    carrier_rate_hz_per_s : float
        Its rate, Hz/s.
    phase_noise_rad_per_sqrt_s : float
        Standard deviation of the carrier phase random walk after 1 s, rad.
    clock_ppm : float
        On-board clock offset ε (bits and subcarrier intervals × (1 + ε)), ppm.
    carrier_phase_rad : float
        Carrier phase at sample 0, rad.
    """

    carrier_offset_hz: float = 0.0
    carrier_rate_hz_per_s: float = 0.0
    phase_noise_rad_per_sqrt_s: float = 0.0
    clock_ppm: float = 0.0
    carrier_phase_rad: float = 0.0


@dataclass(frozen=True)
class TlmTransmission:
    """Samples and the receive time of the first bit."""

    samples: np.ndarray
    first_bit_s: float
    bit_s: float


def transmit(
    frames: list[TlmFrame],
    *,
    fs_hz: float,
    bit_rate_bps: float,
    ebn0_db: float,
    rng: np.random.Generator,
    channel: TlmChannel | None = None,
    carrier_s: float = 3.0,
    tail_s: float = 0.5,
    invert: bool = False,
    amplitude: float = 1.0,
) -> TlmTransmission:
    """Sampled PCM/PSK/PM telemetry envelope with AWGN.

    Parameters
    ----------
    frames : list of TlmFrame
        Sent back to back after the carrier.
    fs_hz : float
        Sample rate, Hz.
    bit_rate_bps : float
        Nominal bit rate R, bit/s.
    ebn0_db : float
        Eb/N0 with Eb = 2·J1(β)²·A²/R (data sideband energy per bit), dB.
    rng : np.random.Generator
        Phase noise and AWGN.
    channel : TlmChannel or None
        Carrier and clock impairments.
    carrier_s : float
        Unmodulated carrier before the first bit (receive time), s.
    tail_s : float
        Unmodulated carrier after the last bit, s.
    invert : bool
        Send every bit inverted (the 180° ambiguity a decoder must resolve).
    amplitude : float
        Carrier amplitude A.

    Returns
    -------
    TlmTransmission
    """
    channel = channel or TlmChannel()
    bits = frame_bits(frames)
    if invert:
        bits = 1 - bits
    scale = 1.0 + channel.clock_ppm * 1e-6
    bit_s = scale / bit_rate_bps
    n_samples = int(np.ceil((carrier_s + bits.size * bit_s + tail_s) * fs_hz))
    t = np.arange(n_samples) / fs_hz
    onboard_s = (t - carrier_s) / scale
    bit_index = np.floor(onboard_s * bit_rate_bps).astype(np.int64)
    active = (bit_index >= 0) & (bit_index < bits.size)
    data = np.zeros(n_samples)
    data[active] = 2.0 * bits[bit_index[active]] - 1.0
    subcarrier = data * np.sin(2 * np.pi * SUBCARRIER_HZ * onboard_s)
    walk = np.cumsum(rng.standard_normal(n_samples)) * (
        channel.phase_noise_rad_per_sqrt_s / np.sqrt(fs_hz)
    )
    phase = (
        channel.carrier_phase_rad
        + 2 * np.pi * (channel.carrier_offset_hz * t + 0.5 * channel.carrier_rate_hz_per_s * t**2)
        + walk
    )
    samples = amplitude * np.exp(1j * (MODULATION_INDEX_RAD * subcarrier + phase))
    eb = 2 * j1(MODULATION_INDEX_RAD) ** 2 * amplitude**2 / bit_rate_bps
    n0 = eb / 10 ** (ebn0_db / 10)
    sigma = np.sqrt(n0 * fs_hz / 2)
    samples += sigma * (rng.standard_normal(n_samples) + 1j * rng.standard_normal(n_samples))
    return TlmTransmission(samples, carrier_s, bit_s)
