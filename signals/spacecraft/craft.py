"""The emulated spacecraft: its command state machine and its downlink plan.

:class:`Spacecraft` holds the commandable state (transmitters, bit rate, command
counter, last command, session, images) and turns it into a :class:`TransmissionPlan`
for the downlink bands.

In: uplink samples (through its :class:`~signals.spacecraft.command_receiver.CommandReceiver`)
or commands with their times. Out: the command state in effect at any instant (in the
telemetry channels, :meth:`Spacecraft.channels_at`), what it sends in a session
(:meth:`Spacecraft.transmission_plan`), and a log of what it did.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np

from signals.bands import band, bands_of_kind
from signals.errors import SpacecraftError
from signals.formats.tlm import TX_STATE_BANDS, TxStateBit
from signals.formats.uplink import (
    CARRIER_STEP_S,
    MAX_BIT_RATE_EXPONENT,
    MAX_IMAGE_MODE,
    REPEATS,
    SYNC_WORD,
    TX_STATE_MASK,
    Command,
    Opcode,
)
from signals.spacecraft.command_receiver import CommandReceiver, ReceivedCommand
from signals.spacecraft.flight import FlightModel

TELEMETRY_BANDS: Final[tuple[str, ...]] = bands_of_kind("telemetry")
(PPM_BAND,) = bands_of_kind("ppm")
(CARRIER_BAND,) = (b for b in bands_of_kind("carrier") if band(b).direction == "down")
"""The downlink band of the coherent carrier (ICD §6)."""
DEFAULT_BIT_RATE_BPS: Final[float] = 1.0
"""Telemetry bit rate before any set-bit-rate command (works at every distance)."""
DEFAULT_TX_BITS: Final[int] = 1 << TxStateBit.TX_1_6M
"""Transmitters on before any select command: the 1.6 m telemetry transmitter."""
IMAGE_ID_MODULUS: Final[int] = 4096
"""Image ids are 12-bit numbers (ICD §3)."""


@dataclass(frozen=True)
class ImageRequest:
    """An image the spacecraft is to send on the 5 cm PPM band."""

    image_id: int
    mode: int
    requested_utc: datetime
    taken: bool
    """True for a newly taken image, False for a stored image played again."""


@dataclass(frozen=True)
class BandTransmission:
    """One downlink band of a session.

    Attributes
    ----------
    band_id : str
        ICD §1 band id.
    start_utc : datetime
        Start of the transmission.
    carrier_s : float
        Unmodulated carrier before the first frame (s); 0 for PPM.
    bit_rate_bps : float or None
        Telemetry bit rate (telemetry bands only).
    images : tuple of ImageRequest
        Images to send (5 cm PPM band only).
    """

    band_id: str
    start_utc: datetime
    carrier_s: float
    bit_rate_bps: float | None
    images: tuple[ImageRequest, ...] = ()


@dataclass(frozen=True)
class TransmissionPlan:
    """What the spacecraft will send in the current (or last) session."""

    session_start_utc: datetime | None
    session_end_utc: datetime | None
    transmissions: tuple[BandTransmission, ...]
    not_transmitted: tuple[tuple[str, str], ...]
    """(band id, reason) for each selected band that will not be sent."""

    def band_ids(self) -> tuple[str, ...]:
        """Ids of the bands that will be sent."""
        return tuple(t.band_id for t in self.transmissions)


def _stamp(t_utc: datetime) -> str:
    return t_utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class _CommandState:
    t_utc: datetime
    command_count: int
    last_command: int
    tx_bits: int


class Spacecraft:
    """The command state machine of the emulated spacecraft.

    Parameters
    ----------
    flight : FlightModel
        The flight the spacecraft lives through (channels, attitude, dish pointing).
    receiver : CommandReceiver, optional
        Its command receiver; a default one if not given.
    bit_rate_bps : float
        Telemetry bit rate before any command.
    tx_bits : int
        Transmitters on before any command (tx_state bits 0–3).
    """

    def __init__(
        self,
        flight: FlightModel,
        *,
        receiver: CommandReceiver | None = None,
        bit_rate_bps: float = DEFAULT_BIT_RATE_BPS,
        tx_bits: int = DEFAULT_TX_BITS,
    ) -> None:
        self.flight = flight
        self.receiver = receiver if receiver is not None else CommandReceiver()
        self.tx_bits: int = tx_bits
        self._initial_tx_bits: int = tx_bits
        self.bit_rate_bps: float = bit_rate_bps
        self.command_count: int = 0
        self.last_command: int = 0
        self.session_active: bool = False
        self.session_start_utc: datetime | None = None
        self.session_end_utc: datetime | None = None
        self.carrier_s: float = 0.0
        self.images: list[ImageRequest] = []
        self.image_modes: dict[int, int] = {}
        self.next_image_id: int = 1
        self.log: list[str] = []
        self._last_command_utc: datetime | None = None
        self._history: list[_CommandState] = []
        self._logged_skips: set[tuple[datetime | None, str]] = set()

    # ------------------------------------------------------------- commands

    def _note(self, t_utc: datetime, text: str) -> None:
        self.log.append(f"{_stamp(t_utc)} {text}")

    def _invalid_argument(self, command: Command) -> str | None:
        arg = command.argument
        if command.opcode == Opcode.SET_BIT_RATE and arg > MAX_BIT_RATE_EXPONENT:
            return f"bit-rate exponent {arg} outside 0–{MAX_BIT_RATE_EXPONENT}"
        if command.opcode == Opcode.SELECT_TX and arg & ~TX_STATE_MASK:
            return f"transmitter bits 0x{arg:02X} outside bits 0–3"
        if command.opcode == Opcode.TAKE_IMAGE and not (arg == 0 or 2 <= arg <= MAX_IMAGE_MODE):
            return f"image mode {arg} is not 0 or 2–{MAX_IMAGE_MODE}"
        return None

    def execute(self, command: Command, t_utc: datetime) -> bool:
        """Act on one command received at ``t_utc``.

        Parameters
        ----------
        command : Command
            A command whose frame check was right.
        t_utc : datetime
            Reception time; commands must come in time order.

        Returns
        -------
        bool
            True when accepted; False when ignored for an invalid argument (logged).

        Raises
        ------
        SpacecraftError
            ``t_utc`` is earlier than the previous command.
        """
        if self._last_command_utc is not None and t_utc < self._last_command_utc:
            raise SpacecraftError(
                f"command at {_stamp(t_utc)} is earlier than the previous one at "
                f"{_stamp(self._last_command_utc)}"
            )
        problem = self._invalid_argument(command)
        if problem is not None:
            self._note(t_utc, f"ignored {command.describe()}: {problem}")
            return False
        opcode, arg = command.opcode, command.argument
        if opcode == Opcode.START_SESSION:
            if self.session_active:
                self._note(t_utc, "session restarted")
            elif self.session_end_utc is not None:  # images of the last session were sent
                ended = self.session_end_utc
                self.images = [i for i in self.images if i.requested_utc > ended]
            self.session_active = True
            self.session_start_utc = t_utc
            self.session_end_utc = None
            self.carrier_s = arg * CARRIER_STEP_S
        elif opcode == Opcode.SET_BIT_RATE:
            self.bit_rate_bps = float(2**arg)
        elif opcode == Opcode.SELECT_TX:
            self.tx_bits = arg
        elif opcode == Opcode.PLAY_IMAGE:
            image_id = self._stored_image(arg)
            mode = self.image_modes.get(image_id, 0)
            self.images.append(ImageRequest(image_id, mode, t_utc, taken=False))
        elif opcode == Opcode.TAKE_IMAGE:
            image_id = self.next_image_id
            self.next_image_id = (self.next_image_id + 1) % IMAGE_ID_MODULUS
            self.image_modes[image_id] = arg
            self.images.append(ImageRequest(image_id, arg, t_utc, taken=True))
        elif opcode == Opcode.END_SESSION:
            if not self.session_active:
                self._note(t_utc, "end of session with no session active")
            self.session_active = False
            self.session_end_utc = t_utc
        self.command_count = (self.command_count + 1) % 128
        self.last_command = int(opcode)
        self._last_command_utc = t_utc
        self._history.append(_CommandState(t_utc, self.command_count, int(opcode), self.tx_bits))
        self._note(t_utc, f"accepted {command.describe()} (command count {self.command_count})")
        return True

    def _stored_image(self, id_mod_256: int) -> int:
        """The most recent stored image whose id mod 256 is ``id_mod_256``, else that id."""
        matches = [i for i in self.image_modes if i % 256 == id_mod_256]
        return max(matches) if matches else id_mod_256

    def receive_uplink(
        self, samples: np.ndarray, fs_hz: float, t0_utc: datetime
    ) -> list[ReceivedCommand]:
        """Demodulate a command uplink and act on what it carries.

        Parameters
        ----------
        samples : numpy.ndarray
            Complex baseband at the spacecraft's command receiver.
        fs_hz : float
            Sample rate (Hz).
        t0_utc : datetime
            UTC of sample 0.

        Returns
        -------
        list of ReceivedCommand
            Every frame found (see :meth:`CommandReceiver.receive`).
        """
        frames = self.receiver.receive(samples, fs_hz, t0_utc)
        report = self.receiver.last_report
        self._note(t0_utc, report.summary())
        if not frames:
            self._note(t0_utc, "no command frame found in the uplink")
        for frame in frames:
            if frame.acted and frame.command is not None:
                self.execute(frame.command, frame.t_utc)
            elif frame.command is None:
                self._note(
                    frame.t_utc,
                    f"ignored frame {frame.raw.hex()} ({frame.frame_index + 1} of "
                    f"{REPEATS}): {frame.reason}",
                )
            else:
                self._note(
                    frame.t_utc,
                    f"repeat {frame.frame_index + 1} of {REPEATS} of "
                    f"{frame.command.describe()} not acted on",
                )
        if report.missing_sync:
            self._note(
                t0_utc,
                f"{report.missing_sync} frame slot(s) without the 0x{SYNC_WORD:04X} sync",
            )
        return frames

    # --------------------------------------------------------------- state

    def _state_at(self, t_utc: datetime) -> _CommandState | None:
        times = [s.t_utc for s in self._history]
        i = bisect.bisect_right(times, t_utc)
        return self._history[i - 1] if i else None

    def channels_at(self, t_utc: datetime) -> dict[str, float | int]:
        """The flight's ICD §4 channels at ``t_utc`` with the command state in effect then."""
        channels = self.flight.channels_at(t_utc)
        state = self._state_at(t_utc)
        tx_bits = self._initial_tx_bits
        if state is not None:
            channels["command_count"] = state.command_count
            channels["last_command"] = state.last_command
            tx_bits = state.tx_bits
        dish = self.flight.dish_pointed_at(t_utc)
        channels["tx_state"] = tx_bits | (int(dish) << TxStateBit.DISH_POINTED)
        return channels

    def transmission_plan(self) -> TransmissionPlan:
        """What the spacecraft sends in the current (or last) session.

        Transmission starts when the last command of the session's uplink has been acted
        on (or at the start-session command). Bands switched on in ``tx_bits`` are sent,
        except those needing the dish while it is not pointed at Earth, and the 5 cm PPM
        band when no image was requested; each omission is logged once.

        Returns
        -------
        TransmissionPlan
        """
        start = self.session_start_utc
        if start is None:
            return TransmissionPlan(None, None, (), (("*", "no session started"),))
        commands_in_session = [s.t_utc for s in self._history if s.t_utc >= start]
        if self.session_end_utc is not None:
            commands_in_session = [t for t in commands_in_session if t < self.session_end_utc]
        begin = max([start, *commands_in_session])
        dish = self.flight.dish_pointed_at(begin)
        transmissions: list[BandTransmission] = []
        skipped: list[tuple[str, str]] = []
        for bit, band_id in TX_STATE_BANDS.items():
            if not self.tx_bits & (1 << bit):
                continue
            if band(band_id).needs_dish and not dish:
                skipped.append((band_id, "dish not pointed at Earth"))
            elif band_id == PPM_BAND and not self.images:
                skipped.append((band_id, "no image requested"))
            elif band_id == PPM_BAND:
                transmissions.append(
                    BandTransmission(band_id, begin, 0.0, None, tuple(self.images))
                )
            else:
                rate = self.bit_rate_bps if band_id in TELEMETRY_BANDS else None
                transmissions.append(BandTransmission(band_id, begin, self.carrier_s, rate))
        for band_id, reason in skipped:
            if (start, band_id) not in self._logged_skips:
                self._logged_skips.add((start, band_id))
                self._note(begin, f"{band_id} not transmitted: {reason}")
        return TransmissionPlan(start, self.session_end_utc, tuple(transmissions), tuple(skipped))
