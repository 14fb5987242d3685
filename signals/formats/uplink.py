"""The command uplink format of ICD §5, shared by the ground transmitter and the spacecraft.

Binary FSK at 10 bit/s, tones at −250 Hz (bit 0) and +250 Hz (bit 1) from the carrier,
continuous phase. A command frame is 40 bits, most significant bit first::

    sync 0xEB90 (16) | opcode (8) | argument (8) | check = (opcode + argument) mod 256 (8)

Each command is sent three times back to back; the spacecraft acts on the first frame
of the three whose check is right.

>>> Command(Opcode.SET_BIT_RATE, 3).pack().hex()
'eb90020305'
>>> Command.unpack(bytes.fromhex("eb90020305"))
Command(opcode=<Opcode.SET_BIT_RATE: 2>, argument=3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from signals.errors import SignalsError
from signals.formats.tlm import BIT_RATES_BPS, TX_STATE_BANDS

SYNC_WORD: Final[int] = 0xEB90
SYNC_BITS: Final[int] = 16
FRAME_BITS: Final[int] = 40
FRAME_BYTES: Final[int] = FRAME_BITS // 8
BIT_RATE_BPS: Final[float] = 10.0
FRAME_DURATION_S: Final[float] = FRAME_BITS / BIT_RATE_BPS
"""One 40-bit frame on the air (4 s)."""
TONE_OFFSET_HZ: Final[float] = 250.0
"""Tone distance from the carrier: bit 1 at +250 Hz, bit 0 at −250 Hz."""
TONE_HZ: Final[tuple[float, float]] = (-TONE_OFFSET_HZ, +TONE_OFFSET_HZ)
"""Tone frequency for bit 0 and bit 1 (Hz from the carrier)."""
REPEATS: Final[int] = 3
"""Frames sent back to back for each command."""
MAX_RESIDUAL_HZ: Final[float] = 50.0
"""Largest carrier offset at the spacecraft after the ground's Doppler pre-tuning."""
MIN_FS_HZ: Final[float] = 1000.0
"""Lowest sample rate at which a command baseband is generated or received."""

MAX_BIT_RATE_EXPONENT: Final[int] = max(BIT_RATES_BPS).bit_length() - 1
"""Telemetry bit rates are 2**k bit/s for k = 0…7 (ICD §4)."""
TX_STATE_MASK: Final[int] = sum(1 << bit for bit in TX_STATE_BANDS)
"""Transmitter bits a select-transmitters command may set (ICD §4 word 19 bits 0–3)."""
MAX_IMAGE_MODE: Final[int] = 63
"""Largest image mode the 6-bit PPM header can carry (ICD §3)."""
CARRIER_STEP_S: Final[float] = 10.0
"""Start-session argument unit: seconds of unmodulated carrier before the first frame."""


class Opcode(IntEnum):
    """Command opcodes (ICD §5)."""

    START_SESSION = 0x01
    SET_BIT_RATE = 0x02
    SELECT_TX = 0x03
    PLAY_IMAGE = 0x04
    TAKE_IMAGE = 0x05
    END_SESSION = 0x06


SYNC_PATTERN: Final[np.ndarray] = np.unpackbits(
    np.frombuffer(SYNC_WORD.to_bytes(2, "big"), dtype=np.uint8)
)
"""The sync word as 16 bits (uint8 0/1), first transmitted first."""


class UplinkFormatError(SignalsError):
    """A command frame or argument does not follow ICD §5."""


class FrameLengthError(UplinkFormatError):
    """A frame is not 5 bytes (40 bits) long."""

    def __init__(self, n_bits: int) -> None:
        super().__init__(f"command frame has {n_bits} bits; ICD §5 frames have {FRAME_BITS}")
        self.n_bits = n_bits


class SyncError(UplinkFormatError):
    """The frame does not start with 0xEB90."""

    def __init__(self, sync: int) -> None:
        super().__init__(f"command frame sync is 0x{sync:04X}, not 0x{SYNC_WORD:04X}")
        self.sync = sync


class CheckError(UplinkFormatError):
    """The check byte is not (opcode + argument) mod 256."""

    def __init__(self, opcode: int, argument: int, check: int) -> None:
        expected = (opcode + argument) % 256
        super().__init__(
            f"command check byte 0x{check:02X} does not match "
            f"(0x{opcode:02X} + 0x{argument:02X}) mod 256 = 0x{expected:02X}"
        )
        self.opcode = opcode
        self.argument = argument
        self.check = check


class UnknownOpcodeError(UplinkFormatError):
    """The opcode is not one of ICD §5."""

    def __init__(self, opcode: int) -> None:
        super().__init__(f"unknown command opcode 0x{opcode:02X}")
        self.opcode = opcode


class ArgumentError(UplinkFormatError):
    """An argument outside its byte or outside the range its opcode allows."""


def _check_byte(opcode: int, argument: int) -> int:
    return (opcode + argument) % 256


@dataclass(frozen=True)
class Command:
    """One uplink command: an opcode and its 8-bit argument.

    Parameters
    ----------
    opcode : Opcode
        What to do.
    argument : int
        0…255; its meaning depends on the opcode (ICD §5).

    Raises
    ------
    UnknownOpcodeError
        ``opcode`` is not an :class:`Opcode` value.
    ArgumentError
        ``argument`` is not a byte.
    """

    opcode: Opcode
    argument: int = 0

    def __post_init__(self) -> None:
        try:
            opcode = Opcode(int(self.opcode))
        except ValueError:
            raise UnknownOpcodeError(int(self.opcode)) from None
        object.__setattr__(self, "opcode", opcode)
        if not 0 <= int(self.argument) <= 255:
            raise ArgumentError(f"command argument {self.argument} is not a byte (0–255)")
        object.__setattr__(self, "argument", int(self.argument))

    # -------------------------------------------------------- constructors

    @classmethod
    def start_session(cls, carrier_s: float) -> Command:
        """Start a session with ``carrier_s`` seconds of carrier (a multiple of 10 s)."""
        steps = carrier_s / CARRIER_STEP_S
        if not (0 <= steps <= 255 and math.isclose(steps, round(steps))):
            raise ArgumentError(
                f"carrier time {carrier_s} s is not a multiple of 10 s between 0 and 2550 s"
            )
        return cls(Opcode.START_SESSION, round(steps))

    @classmethod
    def set_bit_rate(cls, bit_rate_bps: float) -> Command:
        """Set the telemetry bit rate to ``bit_rate_bps`` (1, 2, 4, … 128 bit/s)."""
        exponent = math.log2(bit_rate_bps) if bit_rate_bps > 0 else -1.0
        if not (0 <= exponent <= MAX_BIT_RATE_EXPONENT and exponent == round(exponent)):
            raise ArgumentError(
                f"bit rate {bit_rate_bps} bit/s is not one of {', '.join(map(str, BIT_RATES_BPS))}"
            )
        return cls(Opcode.SET_BIT_RATE, round(exponent))

    @classmethod
    def select_tx(cls, tx_bits: int) -> Command:
        """Switch the transmitters: bit0 1.6 m, bit1 32 cm, bit2 8 cm, bit3 5 cm."""
        if not 0 <= tx_bits <= TX_STATE_MASK:
            raise ArgumentError(f"transmitter bits 0x{tx_bits:X} outside bits 0–3")
        return cls(Opcode.SELECT_TX, tx_bits)

    @classmethod
    def play_image(cls, image_id: int) -> Command:
        """Play the stored image ``image_id`` (sent as ``image_id mod 256``)."""
        if image_id < 0:
            raise ArgumentError(f"image id {image_id} is negative")
        return cls(Opcode.PLAY_IMAGE, image_id % 256)

    @classmethod
    def take_image(cls, mode: int) -> Command:
        """Take an image: mode 0 full, k ≥ 2 survey of every k-th line."""
        if not (mode == 0 or 2 <= mode <= MAX_IMAGE_MODE):
            raise ArgumentError(f"image mode {mode} is not 0 or 2–{MAX_IMAGE_MODE}")
        return cls(Opcode.TAKE_IMAGE, mode)

    @classmethod
    def end_session(cls) -> Command:
        """End the session."""
        return cls(Opcode.END_SESSION, 0)

    # ---------------------------------------------------------- the frame

    @property
    def check(self) -> int:
        """The check byte, (opcode + argument) mod 256."""
        return _check_byte(int(self.opcode), self.argument)

    def pack(self) -> bytes:
        """The 5-byte frame: sync, opcode, argument, check."""
        return SYNC_WORD.to_bytes(2, "big") + bytes((int(self.opcode), self.argument, self.check))

    def bits(self) -> np.ndarray:
        """The 40 frame bits (uint8 0/1), first transmitted first."""
        return np.unpackbits(np.frombuffer(self.pack(), dtype=np.uint8))

    @classmethod
    def unpack(cls, frame: bytes) -> Command:
        """Parse a 5-byte frame.

        Raises
        ------
        FrameLengthError, SyncError, CheckError, UnknownOpcodeError
            The frame is not a valid ICD §5 command.
        """
        if len(frame) != FRAME_BYTES:
            raise FrameLengthError(8 * len(frame))
        sync = int.from_bytes(frame[:2], "big")
        if sync != SYNC_WORD:
            raise SyncError(sync)
        opcode, argument, check = frame[2], frame[3], frame[4]
        if check != _check_byte(opcode, argument):
            raise CheckError(opcode, argument, check)
        return cls(opcode, argument)  # type: ignore[arg-type]

    @classmethod
    def from_bits(cls, bits: npt.ArrayLike) -> Command:
        """Parse 40 frame bits (0/1, first transmitted first); errors as :meth:`unpack`."""
        array = np.asarray(bits, dtype=np.uint8).ravel()
        if array.size != FRAME_BITS:
            raise FrameLengthError(array.size)
        if np.any(array > 1):
            raise UplinkFormatError("command frame bits must be 0 or 1")
        return cls.unpack(np.packbits(array).tobytes())

    def describe(self) -> str:
        """A short human reading, e.g. ``SET_BIT_RATE 3 (8 bit/s)``."""
        detail = {
            Opcode.START_SESSION: f"{self.argument * CARRIER_STEP_S:g} s of carrier",
            Opcode.SET_BIT_RATE: f"{2.0**self.argument:g} bit/s",
            Opcode.SELECT_TX: f"transmitters 0b{self.argument:04b}",
            Opcode.PLAY_IMAGE: f"image id {self.argument} mod 256",
            Opcode.TAKE_IMAGE: f"mode {self.argument}",
            Opcode.END_SESSION: "",
        }[self.opcode]
        text = f"{self.opcode.name} {self.argument}"
        return f"{text} ({detail})" if detail else text
