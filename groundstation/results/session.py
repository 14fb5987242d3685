"""Session records: what one contact planned, sent and received.

:class:`SessionPlan` is decided before the first command; :class:`BandOutcome`,
:class:`CommandOutcome`, :class:`RangeRateCheck` and :class:`SessionImage` are what came of it;
:class:`SessionResult` holds them all. ``session.json`` and ``telemetry.csv`` are written from
them (:mod:`groundstation.outputs.records`) and the session report drawn from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundstation.results.bands import BandResult, TelemetryBandResult
from groundstation.results.images import DecodedImage
from groundstation.results.telemetry import DecodedFrame

if TYPE_CHECKING:  # for the annotations only: the records stay free of the transmitter side
    from signals.formats.uplink import Command
    from signals.path.link_budget import LinkBudget


@dataclass(frozen=True)
class SessionFrame:
    """A telemetry frame of a session, with the band it came down on.

    Attributes
    ----------
    band : str
        Band id (ICD §1): ``32cm-tlm`` or ``1.6m-tlm``.
    frame : DecodedFrame
        The frame as the receiver decided it.
    """

    band: str
    frame: DecodedFrame


@dataclass(frozen=True)
class SessionPlan:
    """Everything a session decides before the first command is sent.

    Attributes
    ----------
    start_utc : datetime
        When the first uplink bit leaves the station.
    scenario : str
        ``historical`` or ``nominal``.
    number : int or None
        Session number in the replay's schedule; None for a time asked for.
    kind : str
        How the session was called (``automatic``, ``ground-commanded``, ``requested``, ...).
    range_km, range_rate_km_s, light_time_s, elevation_deg, sun_distance_au : float
        The geometry at the start (km, km/s, s, degrees at Yevpatoria, AU).
    days_since_launch : float
        Days from the launch to the start (d).
    dish_pointed : bool
        The dish points at Earth (the 32 cm, 8 cm and 5 cm bands can close).
    attitude_mode : int
        ICD §4 attitude mode at the start.
    bit_rate_bps : int
        The telemetry rate commanded (bit/s).
    main_band : str
        The telemetry band the rate was chosen for.
    budgets : dict of str to LinkBudget
        Link budget of each downlink and of the command uplink ``1.6m-cmd`` (ICD §7).
    commands : tuple of Command
        The commands to send (ICD §5).
    images : tuple of int
        Ids of the images asked for.
    two_way : bool
        The downlink is coherent with the uplink.
    """

    start_utc: datetime
    scenario: str
    number: int | None
    kind: str
    range_km: float
    range_rate_km_s: float
    light_time_s: float
    elevation_deg: float
    sun_distance_au: float
    days_since_launch: float
    dish_pointed: bool
    attitude_mode: int
    bit_rate_bps: int
    main_band: str
    budgets: dict[str, LinkBudget]
    commands: tuple[Command, ...]
    images: tuple[int, ...]
    two_way: bool


@dataclass
class BandOutcome:
    """What one downlink of a session delivered, beside its link budget.

    Attributes
    ----------
    band_id : str
        ICD §1 band id.
    budget : LinkBudget
        The band's link budget at the session (ICD §7).
    transmitted : bool
        The spacecraft transmitted on the band.
    recording : str or None
        The recording, relative to the session folder (kept with ``--record`` only).
    decoded : BandResult or None
        What the band's decoder found; None when nothing was decoded.
    lock_time_s : float or None
        First frame or image in the recording (s from its start).
    frames_decoded, frames_lost, frames_expected : int
        Telemetry frames that passed parity, sent but not decoded, and sent.
    lines_expected, lines_decoded, lines_lost : int
        Image lines sent, received and lost.
    error : str or None
        Why the decoder found nothing.
    """

    band_id: str
    budget: LinkBudget
    transmitted: bool = False
    recording: str | None = None
    decoded: BandResult | None = None
    lock_time_s: float | None = None
    frames_decoded: int = 0
    frames_lost: int = 0
    frames_expected: int = 0
    lines_expected: int = 0
    lines_decoded: int = 0
    lines_lost: int = 0
    error: str | None = None


@dataclass(frozen=True)
class CommandOutcome:
    """One command of a session: when it left, when the spacecraft acted on it, and whether
    telemetry shows it (ICD §5, word 17 ``command_count``).

    Attributes
    ----------
    opcode : str
        Opcode name (``START_SESSION``, ...).
    argument : int
        The command's argument byte.
    description : str
        The command in words.
    sent_utc : datetime
        When its first bit left the station.
    received_utc : datetime or None
        When the spacecraft acted on it; None when it did not.
    acknowledged : bool or None
        Decoded telemetry shows the command count reaching it; None when no telemetry
        followed to tell.
    """

    opcode: str
    argument: int
    description: str
    sent_utc: datetime
    received_utc: datetime | None
    acknowledged: bool | None

    @property
    def accepted(self) -> bool:
        """The spacecraft acted on the command."""
        return self.received_utc is not None


@dataclass(frozen=True)
class RangeRateCheck:
    """The range rate measured on the coherent 8 cm carrier against the geometry (ICD §6).

    Attributes
    ----------
    mode : str
        ``two-way`` (coherent with the uplink) or ``one-way``.
    measured_range_rate_km_s, geometry_range_rate_km_s, predicted_range_rate_km_s : float
        From the carrier's Doppler, from the trajectory, and the station's prediction (km/s).
    error_m_s : float
        Measured minus geometry (m/s).
    carrier_offset_hz : float
        The carrier's offset from the tuned frequency (Hz).
    cn0_dbhz : float
        The carrier's C/N0 (dB-Hz).
    """

    mode: str
    measured_range_rate_km_s: float
    geometry_range_rate_km_s: float
    predicted_range_rate_km_s: float
    error_m_s: float
    carrier_offset_hz: float
    cn0_dbhz: float


@dataclass(frozen=True)
class SessionImage:
    """A picture decoded in a session, with its file name stem and the recording's rate.

    Attributes
    ----------
    image : DecodedImage
        The image as the PPM receiver decided it.
    name : str
        File stem (``image_1``); the session folder holds ``images/<name>.png``.
    fs_hz : float
        Sample rate of the recording it came from (Hz).
    """

    image: DecodedImage
    name: str
    fs_hz: float


def session_frames(bands: Mapping[str, BandOutcome]) -> list[SessionFrame]:
    """The telemetry frames of both telemetry bands of ``bands``, in time order, each with
    its band (those decoded so far)."""
    frames = [
        SessionFrame(band_id, frame)
        for band_id in ("32cm-tlm", "1.6m-tlm")
        if band_id in bands and isinstance(decoded := bands[band_id].decoded, TelemetryBandResult)
        for frame in decoded.frames
    ]
    return sorted(frames, key=lambda f: f.frame.time_utc)


@dataclass
class SessionResult:
    """The outcome of one session: the plan, each band, the commands, the verdict.

    ``session.json`` is written from it by :func:`groundstation.outputs.records.session_record`
    and the report drawn from it; neither reads the other back.

    Attributes
    ----------
    plan : SessionPlan
        What was decided before the session.
    outdir : Path or None
        The session folder; None when nothing is kept.
    bands : dict of str to BandOutcome
        Each downlink, in the order of the band table.
    commands : list of CommandOutcome
        The commands of the plan, in the order sent.
    spacecraft_log : list of str
        What the spacecraft did, in its own words.
    range_rate_check : RangeRateCheck or None
        The coherent carrier's range rate; None when no carrier was measured.
    images : list of SessionImage
        The pictures decoded.
    contact : bool
        The verdict (:func:`groundstation.session.score.made_contact`, its one definition).
    elapsed_s : float
        Wall-clock time of the session's emulation (s).
    waterfalls : dict of str to Waterfall
        Waterfalls of the recordings, by band (drawn in the report).
    end_command : CommandOutcome or None
        The end-of-session command, sent once the downlinks are in.
    """

    plan: SessionPlan
    outdir: Path | None
    bands: dict[str, BandOutcome]
    commands: list[CommandOutcome]
    spacecraft_log: list[str]
    range_rate_check: RangeRateCheck | None
    images: list[SessionImage]
    contact: bool
    elapsed_s: float
    waterfalls: dict[str, Any] = field(default_factory=dict)
    end_command: CommandOutcome | None = None

    @property
    def frames(self) -> list[SessionFrame]:
        """The telemetry frames of both telemetry bands, in time order, each with its band."""
        return session_frames(self.bands)

    @property
    def all_commands(self) -> list[CommandOutcome]:
        """Every command sent, the end-of-session command last."""
        return self.commands + ([self.end_command] if self.end_command is not None else [])
