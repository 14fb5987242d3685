"""From a mission replay's records to what ``mission.html`` shows.

The mission's sessions (:class:`groundstation.results.MissionSession`, one per session of
:func:`groundstation.session.mission.replay`) become a table with one row per session, the
facts and sentence at the top and the timeline beside the record; the plots take the
sessions themselves (:mod:`groundstation.outputs.figures`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from groundstation.report.format import DASH, attitude_name, fmt, yes_no
from groundstation.report.tables import Cell, Column, Fact, Table, build_table
from groundstation.results.mission import MissionResult, MissionSession


def mission_band_ids(sessions: Sequence[MissionSession]) -> list[str]:
    """Every band with a margin in any session, in order of first appearance."""
    ids: list[str] = []
    for session in sessions:
        ids += [b for b in session.margin_db if b not in ids]
    return ids


def _margin_column(band_id: str) -> Column[MissionSession]:
    def cell(s: MissionSession) -> Cell:
        usable = s.usable.get(band_id, True)
        return Cell(fmt(s.margin_db.get(band_id), "+.1f"), True, muted=not usable)

    return Column(band_id, "margin dB", cell)


def _session_cell(s: MissionSession) -> Cell:
    """The session number, a link to its own report when the replay kept it."""
    return Cell(str(s.number), href=s.report or "")


def _million_km(range_km: float) -> str:
    return fmt(range_km / 1e6, ".2f") if math.isfinite(range_km) else DASH


#: The mission table's columns before and after the per-band margins.
MISSION_COLUMNS_BEFORE: Final[tuple[Column[MissionSession], ...]] = (
    Column("#", "", _session_cell),
    Column("kind", "", lambda s: s.kind or DASH, numeric=False),
    Column(
        "start",
        "UTC",
        lambda s: Cell(f"{s.start_utc:%Y-%m-%d %H:%M}", whole_words=True),
        numeric=False,
    ),
    Column("range", "million km", lambda s: _million_km(s.range_km)),
    Column("attitude", "", lambda s: attitude_name(s.attitude_mode), numeric=False),
    Column("dish", "", lambda s: yes_no(s.dish_pointed), numeric=False),
    Column("bit rate", "bit/s", lambda s: fmt(s.bit_rate_bps, "g")),
)
MISSION_COLUMNS_AFTER: Final[tuple[Column[MissionSession], ...]] = (
    Column("frames", "", lambda s: fmt(s.frames_decoded, "g")),
    Column("commands ack / sent", "", lambda s: f"{s.commands_acknowledged} / {s.commands_sent}"),
    Column("verdict", "", lambda s: "contact" if s.contact else "no contact", numeric=False),
)


def mission_table(sessions: Sequence[MissionSession]) -> Table:
    """One row per session: where, how, the margins, and the verdict."""
    columns = [
        *MISSION_COLUMNS_BEFORE,
        *(_margin_column(b) for b in mission_band_ids(sessions)),
        *MISSION_COLUMNS_AFTER,
    ]
    return build_table(
        columns, sessions, status=lambda s: "good" if s.contact else "bad", css="compact"
    )


def _where(session: MissionSession | None) -> str:
    """``session 61, 1963-03-21 at 106.76 million km``; a dash for no session."""
    if session is None:
        return DASH
    at = f" at {session.range_km / 1e6:.2f} million km" if math.isfinite(session.range_km) else ""
    return f"session {session.number}, {session.start_utc:%Y-%m-%d}{at}"


def mission_facts(mission: MissionResult) -> list[Fact]:
    """The mission's facts: scenario, counts, the last contact and the first loss."""
    facts = [
        Fact("Scenario", mission.scenario or DASH),
        Fact("Sessions replayed", str(mission.sessions_total)),
        Fact("Contacts", str(mission.contacts)),
        Fact("Last contact", _where(mission.last_contact)),
        Fact("First session without contact after it", _where(mission.first_loss)),
    ]
    documented = mission.documented_sessions_to_21_mar_1963
    if documented is not None:
        facts.append(
            Fact("Sessions to 21 Mar 1963 in the schedule", f"{documented} (the record: 61)")
        )
    if mission.workers is not None:
        facts.append(Fact("Parallel workers", str(mission.workers)))
    if mission.schedule:
        facts.append(Fact("Schedule", mission.schedule))
    return facts


def _ranges(numbers: Sequence[int]) -> str:
    """``[1, 2, 3, 7]`` as ``1-3, 7``."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def mission_interruption(mission: MissionResult) -> str:
    """One sentence when the replay was interrupted: how many sessions it replayed, and
    which are missing; empty when it ran to the end."""
    if not mission.interrupted:
        return ""
    missing = mission.sessions_missing
    planned = mission.sessions_planned
    text = (
        f"Interrupted: {mission.sessions_total} of {planned if planned is not None else '?'} "
        "sessions replayed"
    )
    if missing:
        text += f"; missing: {'session' if len(missing) == 1 else 'sessions'} {_ranges(missing)}"
    return text + ". The figures below count the sessions replayed only."


def mission_summary(mission: MissionResult) -> str:
    """One sentence: how many sessions made contact, and the last one."""
    counts = f"{mission.contacts} of {mission.sessions_total} sessions made contact"
    last = mission.last_contact
    if last is not None and math.isfinite(last.range_km):
        return (
            f"{counts}; the last on {last.start_utc:%Y-%m-%d} at "
            f"{last.range_km / 1e6:.2f} million km (the record: "
            "21 March 1963 at 106.76 million km)."
        )
    return f"{counts}."


#: The documented flight (ICD §1): (UTC, event). The emulator's side is added per mission.
_RECORD_EVENTS: Final[tuple[tuple[str, str], ...]] = (
    ("1962-11-01 16:14", "Launch, Molniya 8K78 from Baikonur"),
    ("1962-11-01", "Blok L burn from the parking orbit; one nitrogen bottle at zero right after"),
    ("1962-11-01", "Radiation belts and near-Earth meteoroids (6,000–40,000 km)"),
    ("1962-11-06", "Backup gyroscopes engaged (6–7 Nov); craft spun up about its Sun axis"),
    ("1962-12-13", "Sessions every 5 days instead of every 2"),
    ("1963-03-21", "Last contact, at 106,760,000 km; 61 sessions in all"),
    ("1963-06-19", "Mars flyby at about 193,000–197,000 km (no signal)"),
)


def _sessions_on(sessions: Sequence[MissionSession], day: str) -> str:
    numbers = [str(s.number) for s in sessions if f"{s.start_utc:%Y-%m-%d}" == day]
    return f" (session {', '.join(numbers)})" if numbers else ""


def mission_timeline(mission: MissionResult) -> Table:
    """The flight's events as the record tells them, beside what the replay shows."""
    sessions = mission.sessions
    trajectory = mission.trajectory
    last = mission.last_contact
    five = next(
        (
            s
            for s in sessions
            if s.kind == "automatic" and f"{s.start_utc:%Y-%m-%d}" >= "1962-12-13"
        ),
        None,
    )

    def emulator(index: int) -> str:
        if index == 0:
            return "the trajectory and the flight model start here"
        if index == 1:
            burn = f"burn at {trajectory.burn_utc:%Y-%m-%d %H:%M} UTC" if trajectory else "burn"
            return burn + "; bottle A empties in minutes"
        if index == 2:
            return "belts crossed 17:35–17:45 UTC, meteoroid zone 17:48–19:22 UTC" + (
                _sessions_on(sessions, "1962-11-01")
            )
        if index == 3:
            return "gyro mode on 6 Nov, spin about the Sun axis from 7 Nov; 1.6 m band only"
        if index == 4:
            return f"5-day cadence from session {five.number}" if five else DASH
        if index == 5:
            if last is not None:
                return f"last contact: {_where(last)}, from the link budget alone"
            return "no contact in the replay"
        if trajectory is None:
            return DASH
        return (
            f"closest approach {trajectory.flyby_distance_km:,.0f} km at "
            f"{trajectory.flyby_utc:%Y-%m-%d %H:%M} UTC (integrated)"
        )

    rows = [(i, when, what) for i, (when, what) in enumerate(_RECORD_EVENTS)]
    columns: list[Column[tuple[int, str, str]]] = [
        Column("UTC", "", lambda r: r[1], numeric=False),
        Column("the record (ICD §1)", "", lambda r: r[2], numeric=False),
        Column("the replay", "", lambda r: emulator(r[0]), numeric=False),
    ]
    return build_table(columns, rows, css="compact")
