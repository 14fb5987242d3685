"""The PCM/PSK/PM telemetry format (ICD §4), defined once for both ends of the link.

Everything the modulator (:mod:`signals.modulators.tlm`), the frame packer
(:mod:`signals.formats.tlm_frames`) and the receiver (:mod:`groundstation.receivers.tlm`) must
agree on lives here: bit rates, subcarrier, modulation index, the sync word, the word
layout of both frame types and the calibration of every channel.

A frame is 32 words of 8 bits, most significant bit first::

    words 0-2   sync 0xFAF320 (no parity)
    word 3      frame counter mod 128      (7 data bits + odd parity bit)
    word 4      frame type (0 engineering, 1 science)
    words 5-31  channels of the frame type, spare words 0

Channels are described by the declarative table :data:`CHANNELS`; a channel spans one to
three consecutive words whose 7-bit data groups form one big-endian raw number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np

# ----------------------------------------------------------------------------- signal

#: Commandable bit rates (bit/s).
BIT_RATES_BPS: Final[tuple[int, ...]] = (1, 2, 4, 8, 16, 32, 64, 128)
#: BPSK subcarrier frequency (Hz); a sine, t = 0 at the start of the first bit.
SUBCARRIER_HZ: Final = 1024.0
#: Carrier phase-modulation index β (rad).
MOD_INDEX_RAD: Final = 1.0

#: Fraction of the total power left in the residual carrier, J0(β)² for β = 1 rad, as
#: scipy.special.j0 gives it (to the bit: the tests compute it; written out so that two
#: constants do not import a special-functions library, 0.3 s of every decode).
CARRIER_POWER_FRACTION: Final = 0.5855274995136639
#: Fraction of the total power in the two first data sidebands, 2·J1(β)² (defines Eb).
DATA_POWER_FRACTION: Final = 0.38728903602891823
#: Largest residual carrier offset (Hz) and its rate (Hz/s) of ICD §4.
MAX_CARRIER_OFFSET_HZ: Final = 2000.0
MAX_CARRIER_RATE_HZ_PER_S: Final = 5.0
#: Largest on-board clock error |ε| (all intervals × (1 + ε)).
MAX_CLOCK_OFFSET: Final = 100e-6
#: ICD limit of the oscillator phase noise, a random walk (rad/√s).
MAX_PHASE_NOISE_RAD_PER_SQRT_S: Final = 0.05
#: Emulator default of the unmodulated carrier before the first frame (s).
DEFAULT_CARRIER_S: Final = 20.0
#: Lowest complex sample rate a telemetry recording may use (Hz).
MIN_FS_HZ: Final = 8000.0

# ----------------------------------------------------------------------------- frame

WORD_BITS: Final = 8
DATA_BITS: Final = 7
FRAME_WORDS: Final = 32
FRAME_BITS: Final = FRAME_WORDS * WORD_BITS
FRAME_BYTES: Final = FRAME_BITS // 8
#: Sync word (words 0-2), its length in bits and words.
SYNC_WORD: Final = 0xFAF320
SYNC_BITS: Final = 24
SYNC_WORDS: Final = SYNC_BITS // WORD_BITS
#: Sync word as a ±1 pattern (bit 1 → +1), first bit first.
SYNC_PATTERN: Final = np.array(
    [1.0 if (SYNC_WORD >> (SYNC_BITS - 1 - i)) & 1 else -1.0 for i in range(SYNC_BITS)]
)
SYNC_PATTERN.flags.writeable = False
#: Words 3-31 carry 7 data bits and one odd-parity bit (least significant bit).
FIRST_DATA_WORD: Final = SYNC_WORDS
N_DATA_WORDS: Final = FRAME_WORDS - SYNC_WORDS
COUNTER_WORD: Final = 3
TYPE_WORD: Final = 4
FIRST_CHANNEL_WORD: Final = 5
COUNTER_MODULUS: Final = 1 << DATA_BITS


class FrameType(IntEnum):
    """Frame type (word 4); types alternate 0, 1, 0, 1, ..."""

    ENGINEERING = 0
    SCIENCE = 1


class AttitudeMode(IntEnum):
    """Attitude-control mode (engineering word 16)."""

    SUN_STAR = 0
    GYRO = 1
    SPIN_SUN_AXIS = 2
    UNCONTROLLED = 3


class TxStateBit(IntEnum):
    """Bits of the ``tx_state`` word (engineering word 19)."""

    TX_1_6M = 0
    TX_32CM = 1
    TX_8CM = 2
    TX_5CM = 3
    DISH_POINTED = 4


#: The downlink band each transmitter bit of ``tx_state`` switches on (ICD §4 word 19; the
#: select-transmitters command of ICD §5 sets these bits).
TX_STATE_BANDS: Final[dict[TxStateBit, str]] = {
    TxStateBit.TX_1_6M: "1.6m-tlm",
    TxStateBit.TX_32CM: "32cm-tlm",
    TxStateBit.TX_8CM: "8cm-carrier",
    TxStateBit.TX_5CM: "5cm-ppm",
}


def tx_state_bits(*band_ids: str) -> int:
    """The ``tx_state`` transmitter bits that switch on ``band_ids`` (downlink band ids)."""
    bit_of = {band_id: bit for bit, band_id in TX_STATE_BANDS.items()}
    return sum(1 << bit_of[band_id] for band_id in set(band_ids))


class ChannelKind(IntEnum):
    """How a channel's raw number becomes an engineering value."""

    #: engineering = offset + raw × scale (a float); encoding rounds and clips.
    LINEAR = 0
    #: a count kept modulo the raw range (an int); encoding wraps.
    COUNTER = 1
    #: a raw integer (opcode, bit field, minutes); encoding clips.
    INTEGER = 2
    #: an enumeration; values outside the table are reported raw (an int).
    ENUM = 3


@dataclass(frozen=True)
class Channel:
    """One telemetry channel of ICD §4.

    Attributes
    ----------
    name : str
        The §4 name (with its unit).
    first_word : int
        Index of its first word in the frame (5-31).
    n_words : int
        Number of consecutive words (1-3); raw value = big-endian 7-bit groups.
    kind : ChannelKind
        Conversion rule.
    scale : float
        Engineering units per raw count (LINEAR only).
    offset : float
        Engineering value at raw = ``raw_zero`` (LINEAR only):
        engineering = offset + (raw − raw_zero) × scale.
    unit : str
        Unit of the engineering value, for plots.
    enum : type[IntEnum] or None
        The table of an ENUM channel.
    raw_zero : int
        Raw value of the engineering ``offset`` (LINEAR only).
    """

    name: str
    first_word: int
    n_words: int
    kind: ChannelKind
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    enum: type[IntEnum] | None = None
    raw_zero: int = 0

    @property
    def raw_bits(self) -> int:
        """Width of the raw number (bits)."""
        return DATA_BITS * self.n_words

    @property
    def raw_max(self) -> int:
        """Largest raw value."""
        return (1 << self.raw_bits) - 1

    @property
    def words(self) -> range:
        """The frame words this channel occupies."""
        return range(self.first_word, self.first_word + self.n_words)


_L, _C, _I, _E = ChannelKind.LINEAR, ChannelKind.COUNTER, ChannelKind.INTEGER, ChannelKind.ENUM

#: Channels of each frame type, in word order (ICD §4 tables).
CHANNELS: Final[dict[FrameType, tuple[Channel, ...]]] = {
    FrameType.ENGINEERING: (
        Channel("onboard_time_min", 5, 3, _I, unit="min"),
        Channel("n2_pressure_a_mpa", 8, 1, _L, 0.125, 0.0, "MPa"),
        Channel("n2_pressure_b_mpa", 9, 1, _L, 0.125, 0.0, "MPa"),
        Channel("battery_v", 10, 1, _L, 0.1, 20.0, "V"),
        Channel("battery_a", 11, 1, _L, 0.25, 0.0, "A", raw_zero=64),
        Channel("solar_array_a", 12, 1, _L, 0.1, 0.0, "A"),
        Channel("temp_orbital_c", 13, 1, _L, 1.0, -40.0, "°C"),
        Channel("temp_experiment_c", 14, 1, _L, 1.0, -40.0, "°C"),
        Channel("temp_radiator_c", 15, 1, _L, 1.5, -100.0, "°C"),
        Channel("attitude_mode", 16, 1, _E, unit="", enum=AttitudeMode),
        Channel("command_count", 17, 1, _C, unit=""),
        Channel("last_command", 18, 1, _I, unit=""),
        Channel("tx_state", 19, 1, _I, unit=""),
    ),
    FrameType.SCIENCE: (
        Channel("mag_x_nt", 5, 2, _L, 0.005, 0.0, "nT", raw_zero=8192),
        Channel("mag_y_nt", 7, 2, _L, 0.005, 0.0, "nT", raw_zero=8192),
        Channel("mag_z_nt", 9, 2, _L, 0.005, 0.0, "nT", raw_zero=8192),
        Channel("micrometeoroid_hits", 11, 2, _C, unit="hits"),
        Channel("gas_discharge_cps", 13, 2, _I, unit="counts/s"),
        Channel("scintillation_cps", 15, 2, _I, unit="counts/s"),
    ),
}


def _spare_words(channels: tuple[Channel, ...]) -> tuple[int, ...]:
    used = {w for ch in channels for w in ch.words}
    return tuple(w for w in range(FIRST_CHANNEL_WORD, FRAME_WORDS) if w not in used)


#: Spare words of each frame type (they send 0 plus parity).
SPARE_WORDS: Final[dict[FrameType, tuple[int, ...]]] = {
    ft: _spare_words(chs) for ft, chs in CHANNELS.items()
}
#: Every channel name, engineering frame first, in word order.
CHANNEL_NAMES: Final[tuple[str, ...]] = tuple(ch.name for ft in FrameType for ch in CHANNELS[ft])
#: Channel by name.
CHANNEL_BY_NAME: Final[dict[str, Channel]] = {
    ch.name: ch for ft in FrameType for ch in CHANNELS[ft]
}


def frame_duration_s(bit_rate_bps: float) -> float:
    """Nominal frame duration (s) at ``bit_rate_bps`` (bit/s)."""
    return FRAME_BITS / float(bit_rate_bps)


def cycles_per_bit(bit_rate_bps: float) -> int:
    """Subcarrier cycles per bit (an integer for every rate of ICD §4)."""
    return round(SUBCARRIER_HZ / float(bit_rate_bps))


def to_raw(channel: Channel, value: float) -> int:
    """Engineering value -> raw number of ``channel`` (rounded, clipped or wrapped).

    LINEAR, INTEGER and ENUM values are rounded and clipped to ``[0, raw_max]``;
    COUNTER values are wrapped modulo ``raw_max + 1``. Non-finite values give 0.
    """
    if channel.kind is ChannelKind.LINEAR:
        value = (float(value) - channel.offset) / channel.scale + channel.raw_zero
    value = float(value)
    if not np.isfinite(value):
        return 0
    raw = int(np.floor(value + 0.5))
    if channel.kind is ChannelKind.COUNTER:
        return raw % (channel.raw_max + 1)
    return min(max(raw, 0), channel.raw_max)


def from_raw(channel: Channel, raw: int) -> float | int:
    """Raw number -> engineering value of ``channel`` (float for LINEAR, else int).

    An ENUM raw value inside its table comes back as the table's member (an ``int``);
    outside the table it is reported raw.
    """
    raw = int(raw)
    if channel.kind is ChannelKind.LINEAR:
        return channel.offset + (raw - channel.raw_zero) * channel.scale
    if channel.kind is ChannelKind.ENUM and channel.enum is not None:
        try:
            return channel.enum(raw)
        except ValueError:
            return raw
    return raw
