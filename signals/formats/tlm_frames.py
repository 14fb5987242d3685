"""Telemetry frames of ICD §4: packing to and unpacking from 32 bytes.

A :class:`TelemetryFrame` holds the 32 words as they travel (sync, then data words with
their odd-parity bit as least significant bit). Channel values, the frame counter and
the frame type are read from the words through the table of :mod:`signals.formats.tlm`;
:func:`frame_from_channels` builds the words from engineering values.

>>> from signals.formats.tlm import CHANNEL_NAMES
>>> values = {name: 0 for name in CHANNEL_NAMES} | {"mag_x_nt": 3.5}
>>> frame = frame_from_channels(5, FrameType.SCIENCE, values)
>>> frame.pack().hex()[:14]
'faf3200b028a79'
>>> back = TelemetryFrame.unpack(frame.pack())
>>> back.parity_ok, back.frame_counter, back.channels()["mag_x_nt"]
(True, 5, 3.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import bitstring
import numpy as np

from signals.errors import SignalsError
from signals.formats.tlm import (
    CHANNEL_BY_NAME,
    CHANNELS,
    COUNTER_MODULUS,
    COUNTER_WORD,
    DATA_BITS,
    FIRST_DATA_WORD,
    FRAME_BYTES,
    FRAME_WORDS,
    SPARE_WORDS,
    SYNC_WORD,
    SYNC_WORDS,
    TYPE_WORD,
    WORD_BITS,
    Channel,
    FrameType,
    from_raw,
    to_raw,
)

#: Byte values of the three sync words.
SYNC_BYTES: Final = SYNC_WORD.to_bytes(SYNC_WORDS, "big")
#: bitstring format of a whole frame: 32 unsigned 8-bit words.
_WORDS_FORMAT: Final = ", ".join([f"u{WORD_BITS}"] * FRAME_WORDS)


class FrameError(SignalsError):
    """A telemetry frame cannot be built or read."""


class TruncatedFrameError(FrameError):
    """Fewer bytes than one frame; carries ``n_bytes`` and ``needed_bytes``."""

    def __init__(self, n_bytes: int, needed_bytes: int = FRAME_BYTES):
        self.n_bytes = n_bytes
        self.needed_bytes = needed_bytes
        super().__init__(
            f"telemetry frame truncated: {n_bytes} bytes, a frame needs {needed_bytes}"
        )


class FrameContentError(FrameError):
    """Frame content out of range or missing (counter, type, channel, word value)."""


def parity_bit(data: int) -> int:
    """Odd-parity bit for 7 data bits: 1 when ``data`` has an even number of ones."""
    return 1 - (int(data).bit_count() & 1)


def encode_word(data: int) -> int:
    """7 data bits -> 8-bit word with the odd-parity bit as least significant bit."""
    data = int(data)
    if not 0 <= data < COUNTER_MODULUS:
        raise FrameContentError(f"word data {data} does not fit in {DATA_BITS} bits")
    return (data << 1) | parity_bit(data)


def word_parity_ok(word: int) -> bool:
    """True when the 8-bit ``word`` has an odd number of ones."""
    return bool(int(word).bit_count() & 1)


def words_parity_ok(words: np.ndarray) -> np.ndarray:
    """Vectorised :func:`word_parity_ok` over an integer array of 8-bit words."""
    bits = np.unpackbits(np.asarray(words, dtype=np.uint8)[..., None], axis=-1)
    return (bits.sum(axis=-1) & 1).astype(bool)


@dataclass(frozen=True)
class TelemetryFrame:
    """One 256-bit telemetry frame.

    Attributes
    ----------
    words : tuple of int
        The 32 words (0-255) as transmitted: sync 0xFA 0xF3 0x20, then 29 words of
        7 data bits followed by their odd-parity bit.
    """

    words: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.words) != FRAME_WORDS:
            raise FrameContentError(f"a frame has {FRAME_WORDS} words, got {len(self.words)}")
        bad = [w for w in self.words if not 0 <= int(w) <= 0xFF]
        if bad:
            raise FrameContentError(f"frame word {bad[0]} is not an 8-bit value")
        object.__setattr__(self, "words", tuple(int(w) for w in self.words))

    # ------------------------------------------------------------------ bytes

    def pack(self) -> bytes:
        """The frame as 32 bytes, most significant bit first."""
        return bitstring.pack(_WORDS_FORMAT, *self.words).bytes

    @classmethod
    def unpack(cls, data: bytes) -> TelemetryFrame:
        """Read a frame from the first 32 bytes of ``data``.

        Parity is not enforced: read :attr:`word_parity` / :attr:`parity_ok`.

        Raises
        ------
        TruncatedFrameError
            If ``data`` holds fewer than 32 bytes.
        """
        if len(data) < FRAME_BYTES:
            raise TruncatedFrameError(len(data))
        return cls(tuple(bytes(data[:FRAME_BYTES])))  # 32 unsigned 8-bit words

    # ------------------------------------------------------------------ checks

    @property
    def sync_ok(self) -> bool:
        """True when words 0-2 hold the sync word exactly."""
        return bytes(self.words[:SYNC_WORDS]) == SYNC_BYTES

    @property
    def word_parity(self) -> tuple[bool, ...]:
        """Odd-parity result of each data word 3-31 (29 values)."""
        return tuple(word_parity_ok(w) for w in self.words[FIRST_DATA_WORD:])

    @property
    def parity_ok(self) -> bool:
        """True only when all 29 data words pass their parity check."""
        return all(self.word_parity)

    @property
    def spare_ok(self) -> bool:
        """True when the frame type is known and every spare word carries 0 (+ parity)."""
        frame_type = self.frame_type
        if not isinstance(frame_type, FrameType):
            return False
        return all(self.words[w] >> 1 == 0 for w in SPARE_WORDS[frame_type])

    # ------------------------------------------------------------------ content

    def data(self, word: int) -> int:
        """The 7 data bits of word ``word`` (3-31)."""
        return self.words[word] >> 1

    @property
    def frame_counter(self) -> int:
        """Frame counter (word 3, mod 128)."""
        return self.data(COUNTER_WORD)

    @property
    def frame_type(self) -> FrameType | int:
        """Frame type (word 4): a :class:`FrameType`, or the raw value if unknown."""
        raw = self.data(TYPE_WORD)
        try:
            return FrameType(raw)
        except ValueError:
            return raw

    def raw_value(self, channel: Channel) -> int:
        """Raw number of ``channel``: its words' 7-bit groups, big-endian."""
        value = 0
        for w in channel.words:
            value = (value << DATA_BITS) | self.data(w)
        return value

    def raw_channels(self) -> dict[str, int]:
        """Raw number of every channel of this frame's type (empty for an unknown type)."""
        frame_type = self.frame_type
        if not isinstance(frame_type, FrameType):
            return {}
        return {ch.name: self.raw_value(ch) for ch in CHANNELS[frame_type]}

    def channels(self) -> dict[str, float | int]:
        """Engineering value of every channel of this frame's type (ICD §4 names)."""
        return {
            name: from_raw(CHANNEL_BY_NAME[name], raw) for name, raw in self.raw_channels().items()
        }

    def bits(self) -> np.ndarray:
        """The 256 bits (uint8 0/1), first transmitted first."""
        return np.unpackbits(np.frombuffer(self.pack(), dtype=np.uint8))


def frame_from_channels(
    counter: int, frame_type: FrameType | int, channels: Mapping[str, float | int]
) -> TelemetryFrame:
    """Build a frame from engineering values.

    Parameters
    ----------
    counter : int
        Frame counter; taken mod 128.
    frame_type : FrameType
        0 engineering, 1 science.
    channels : mapping
        Engineering value of every channel of ``frame_type`` by its ICD §4 name (extra
        names are ignored, so one dict of all channels serves both types). Values are
        converted with :func:`signals.formats.tlm.to_raw` (rounded, clipped to the raw
        range; counters wrap).

    Raises
    ------
    FrameContentError
        If ``frame_type`` is unknown or a channel of the type is missing.
    """
    try:
        frame_type = FrameType(int(frame_type))
    except ValueError:
        raise FrameContentError(f"unknown telemetry frame type {frame_type}") from None
    data = [0] * FRAME_WORDS
    data[COUNTER_WORD] = int(counter) % COUNTER_MODULUS
    data[TYPE_WORD] = int(frame_type)
    missing = [ch.name for ch in CHANNELS[frame_type] if ch.name not in channels]
    if missing:
        raise FrameContentError(
            f"{frame_type.name.lower()} frame needs channel(s) missing from the input: "
            + ", ".join(missing)
        )
    for ch in CHANNELS[frame_type]:
        raw = to_raw(ch, channels[ch.name])
        for i, w in enumerate(ch.words):
            shift = DATA_BITS * (ch.n_words - 1 - i)
            data[w] = (raw >> shift) & (COUNTER_MODULUS - 1)
    words = list(SYNC_BYTES) + [encode_word(d) for d in data[FIRST_DATA_WORD:]]
    return TelemetryFrame(tuple(words))


def frames_to_bits(frames: list[TelemetryFrame]) -> np.ndarray:
    """Concatenate frames into one uint8 bit array (0/1), first bit first."""
    if not frames:
        return np.zeros(0, np.uint8)
    data = b"".join(f.pack() for f in frames)
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


__all__ = [
    "FrameContentError",
    "FrameError",
    "TelemetryFrame",
    "TruncatedFrameError",
    "encode_word",
    "frame_from_channels",
    "frames_to_bits",
    "parity_bit",
    "word_parity_ok",
    "words_parity_ok",
]
