"""Mission records: what a replay of the flight's sessions found (``groundstation mission``).

:class:`MissionSession` is one replayed session as the mission table and plots show it;
:class:`MissionResult` holds them all with the replay's own facts (the scenario, the
schedule, the trajectory's burn and flyby). The counts and the last contact are properties of
the sessions, defined once here. ``mission.json`` is written from these types and read back
into them by :mod:`groundstation.outputs.mission`; ``mission.html`` is drawn from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MissionSession:
    """One session of a mission replay.

    Attributes
    ----------
    number : int
        Session number in the replay's schedule.
    kind : str
        ``automatic`` or ``ground-commanded`` (or ``attempt`` after the last contact).
    start_utc : datetime
        When the session's first uplink bit left the station.
    range_km, light_time_s, elevation_deg : float
        The geometry at the start (km, s, degrees above Yevpatoria's horizon).
    attitude_mode : int
        ICD §4 attitude mode at the start.
    dish_pointed : bool
        The dish points at Earth.
    bit_rate_bps : int
        The telemetry rate commanded (bit/s).
    contact : bool
        The session's verdict (:func:`groundstation.session.score.made_contact`).
    margin_db : dict of str to float
        Link margin of each band at the session (dB).
    usable : dict of str to bool
        Whether each band can close at all (dish bands only while the dish is pointed).
    frames_decoded : int
        Telemetry frames that passed parity, over every band.
    frames_by_band : dict of str to int
        The same per telemetry band.
    commands_acknowledged, commands_sent : int
        Commands the telemetry shows acted on, and commands sent.
    elapsed_s : float
        Wall-clock time of the session's emulation (s).
    report : str or None
        The session's own report, relative to the mission folder; None when not kept.
    """

    number: int
    kind: str
    start_utc: datetime
    range_km: float
    light_time_s: float
    elevation_deg: float
    attitude_mode: int
    dish_pointed: bool
    bit_rate_bps: int
    contact: bool
    margin_db: dict[str, float]
    usable: dict[str, bool]
    frames_decoded: int
    frames_by_band: dict[str, int]
    commands_acknowledged: int
    commands_sent: int
    elapsed_s: float
    report: str | None = None


@dataclass(frozen=True)
class TrajectoryFacts:
    """The scenario's trajectory as the mission page tells it.

    Attributes
    ----------
    burn_utc : datetime
        The injection burn from the parking orbit.
    flyby_utc : datetime
        The closest approach to Mars in the integrated flight.
    flyby_distance_km : float
        Its distance from Mars' centre (km).
    """

    burn_utc: datetime
    flyby_utc: datetime
    flyby_distance_km: float


@dataclass
class MissionResult:
    """A mission replay: every session replayed, and the replay's facts.

    Attributes
    ----------
    scenario : str
        ``historical`` or ``nominal``.
    sessions : list of MissionSession
        The sessions replayed, by number.
    schedule : str
        The schedule in words.
    documented_sessions_to_21_mar_1963 : int or None
        Sessions of the schedule up to the documented last contact (the record: 61).
    workers : int or None
        dask workers that ran the sessions.
    trajectory : TrajectoryFacts or None
        The trajectory's burn and flyby.
    sessions_planned : int or None
        Sessions the replay set out to run; None when not known.
    interrupted : bool
        The replay was stopped before every planned session ran.
    sessions_missing : list of int
        Planned sessions not replayed.
    """

    scenario: str
    sessions: list[MissionSession]
    schedule: str = ""
    documented_sessions_to_21_mar_1963: int | None = None
    workers: int | None = None
    trajectory: TrajectoryFacts | None = None
    sessions_planned: int | None = None
    interrupted: bool = False
    sessions_missing: list[int] = field(default_factory=list)

    @property
    def sessions_total(self) -> int:
        """Sessions replayed."""
        return len(self.sessions)

    @property
    def contacts(self) -> int:
        """Sessions that made contact."""
        return sum(s.contact for s in self.sessions)

    @property
    def last_contact(self) -> MissionSession | None:
        """The last session that made contact; None without contact."""
        return next((s for s in reversed(self.sessions) if s.contact), None)

    @property
    def first_loss(self) -> MissionSession | None:
        """The first session after the last contact that made none; None if there is none."""
        last = self.last_contact
        if last is None:
            return None
        return next((s for s in self.sessions if s.number > last.number and not s.contact), None)
