"""From a mission replay's results to the plain records ``mission.html`` reads.

The mission's sessions (entries of
:func:`groundstation.session.mission.run_scheduled_session`) become points for the
mission plots, a table with one row per session, and the facts and sentence at the top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from groundstation.io.recording import parse_utc
from groundstation.outputs.figures import MissionPoint
from groundstation.report.data import mapping, whole
from groundstation.report.format import DASH, attitude_name, fmt, number, utc_text, yes_no
from groundstation.report.tables import Cell, Column, Fact, Table, build_table


def mission_band_ids(sessions: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every band with a margin in any session, in order of first appearance."""
    ids: list[str] = []
    for entry in sessions:
        ids += [b for b in mapping(entry.get("margin_db")) if b not in ids]
    return ids


def mission_points(sessions: Sequence[Mapping[str, Any]]) -> list[MissionPoint]:
    """The sessions with a readable start time, for the mission plots."""
    points = []
    for e in sessions:
        try:
            start = parse_utc(str(e.get("start_utc")))
        except ValueError:
            continue
        margins = {b: number(m) for b, m in mapping(e.get("margin_db")).items()}
        points.append(
            MissionPoint(
                start_utc=start,
                range_km=number(e.get("range_km")),
                contact=bool(e.get("contact")),
                bit_rate_bps=number(e.get("bit_rate_bps")),
                margin_db={b: m for b, m in margins.items() if m is not None},
                usable={b: bool(u) for b, u in mapping(e.get("usable")).items()},
            )
        )
    return points


def _margin_column(band_id: str) -> Column[Mapping[str, Any]]:
    def cell(e: Mapping[str, Any]) -> Cell:
        usable = mapping(e.get("usable")).get(band_id, True)
        return Cell(fmt(mapping(e.get("margin_db")).get(band_id), "+.1f"), True, muted=not usable)

    return Column(band_id, "margin dB", cell)


def _commands_pair(e: Mapping[str, Any]) -> str:
    sent = e.get("commands_sent")
    return DASH if sent is None else f"{whole(e.get('commands_acknowledged'))} / {sent}"


#: The mission table's columns before and after the per-band margins.
def _session_cell(e: Mapping[str, Any]) -> Cell:
    """The session number, a link to its own report when the replay kept it."""
    report = e.get("report")
    return Cell(str(e.get("session", DASH)), href=str(report) if report else "")


MISSION_COLUMNS_BEFORE: Final[tuple[Column[Mapping[str, Any]], ...]] = (
    Column("#", "", _session_cell),
    Column("kind", "", lambda e: str(e.get("kind") or DASH), numeric=False),
    Column("start", "UTC", lambda e: utc_text(e.get("start_utc"))[:16], numeric=False),
    Column(
        "range",
        "million km",
        lambda e: fmt(number(e.get("range_km")) and e["range_km"] / 1e6, ".2f"),
    ),
    Column(
        "attitude",
        "",
        lambda e: DASH if e.get("attitude_mode") is None else attitude_name(e["attitude_mode"]),
        numeric=False,
    ),
    Column("dish", "", lambda e: yes_no(e.get("dish_pointed")), numeric=False),
    Column("bit rate", "bit/s", lambda e: fmt(e.get("bit_rate_bps"), "g")),
)
MISSION_COLUMNS_AFTER: Final[tuple[Column[Mapping[str, Any]], ...]] = (
    Column("frames", "", lambda e: fmt(e.get("frames"), "g")),
    Column("commands ack / sent", "", _commands_pair),
    Column("verdict", "", lambda e: "contact" if e.get("contact") else "no contact", numeric=False),
)


def mission_table(sessions: Sequence[Mapping[str, Any]]) -> Table:
    """One row per session: where, how, the margins, and the verdict."""
    columns = [
        *MISSION_COLUMNS_BEFORE,
        *(_margin_column(b) for b in mission_band_ids(sessions)),
        *MISSION_COLUMNS_AFTER,
    ]
    return build_table(
        columns, sessions, status=lambda e: "good" if e.get("contact") else "bad", css="compact"
    )


def mission_facts(mission: Mapping[str, Any], n_sessions: Any, n_contacts: Any) -> list[Fact]:
    """The mission's facts: scenario, counts, the last contact and the first loss."""

    def where(event: Any) -> str:
        if not isinstance(event, Mapping):
            return DASH
        range_km = number(event.get("range_km"))
        at = f" at {range_km / 1e6:.2f} million km" if range_km is not None else ""
        return f"session {event.get('session', '?')}, {str(event.get('start_utc') or '')[:10]}{at}"

    facts = [
        Fact("Scenario", str(mission.get("scenario") or DASH)),
        Fact("Sessions replayed", str(n_sessions)),
        Fact("Contacts", str(n_contacts)),
        Fact("Last contact", where(mission.get("last_contact"))),
        Fact("First session without contact after it", where(mission.get("first_loss"))),
    ]
    documented = mission.get("documented_sessions_to_21_mar_1963")
    if documented is not None:
        facts.append(
            Fact("Sessions to 21 Mar 1963 in the schedule", f"{documented} (the record: 61)")
        )
    if mission.get("workers") is not None:
        facts.append(Fact("Parallel workers", str(mission["workers"])))
    if mission.get("schedule"):
        facts.append(Fact("Schedule", str(mission["schedule"])))
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


def mission_interruption(mission: Mapping[str, Any]) -> str:
    """One sentence when the replay was interrupted: how many sessions it replayed, and
    which are missing; empty when it ran to the end."""
    if mission.get("interrupted") is not True:
        return ""
    missing = [whole(n) for n in mission.get("sessions_missing") or []]
    planned = mission.get("sessions_planned")
    replayed = len(mission.get("sessions") or [])
    text = f"Interrupted: {replayed} of {planned if planned is not None else '?'} sessions replayed"
    if missing:
        text += f"; missing: {'session' if len(missing) == 1 else 'sessions'} {_ranges(missing)}"
    return text + ". The figures below count the sessions replayed only."


def mission_summary(mission: Mapping[str, Any], n_sessions: Any, n_contacts: Any) -> str:
    """One sentence: how many sessions made contact, and the last one."""
    last = mission.get("last_contact")
    if isinstance(last, Mapping) and number(last.get("range_km")) is not None:
        return (
            f"{n_contacts} of {n_sessions} sessions made contact; the last on "
            f"{str(last.get('start_utc'))[:10]} at "
            f"{number(last.get('range_km')) / 1e6:.2f} million km (the record: "
            "21 March 1963 at 106.76 million km)."
        )
    return f"{n_contacts} of {n_sessions} sessions made contact."


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


def _sessions_on(sessions: Sequence[Mapping[str, Any]], day: str) -> str:
    numbers = [str(e.get("session")) for e in sessions if str(e.get("start_utc", ""))[:10] == day]
    return f" (session {', '.join(numbers)})" if numbers else ""


def mission_timeline(mission: Mapping[str, Any]) -> Table:
    """The flight's events as the record tells them, beside what the replay shows."""
    sessions = [e for e in (mission.get("sessions") or []) if isinstance(e, Mapping)]
    trajectory = mapping(mission.get("trajectory"))
    last = mapping(mission.get("last_contact"))
    cadence = [e for e in sessions if e.get("kind") == "automatic"]
    five = next((e for e in cadence if str(e.get("start_utc", ""))[:10] >= "1962-12-13"), None)

    def emulator(index: int) -> str:
        if index == 0:
            return "the trajectory and the flight model start here"
        if index == 1:
            burn = str(trajectory.get("burn_utc") or "")[:16].replace("T", " ")
            return (f"burn at {burn} UTC" if burn else "burn") + "; bottle A empties in minutes"
        if index == 2:
            return "belts crossed 17:35–17:45 UTC, meteoroid zone 17:48–19:22 UTC" + (
                _sessions_on(sessions, "1962-11-01")
            )
        if index == 3:
            return "gyro mode on 6 Nov, spin about the Sun axis from 7 Nov; 1.6 m band only"
        if index == 4:
            return f"5-day cadence from session {five.get('session')}" if five else DASH
        if index == 5:
            if last.get("start_utc"):
                km = number(last.get("range_km"))
                at = f" at {km / 1e6:.2f} million km" if km is not None else ""
                return (
                    f"last contact: session {last.get('session')}, "
                    f"{str(last.get('start_utc'))[:10]}{at}, from the link budget alone"
                )
            return "no contact in the replay"
        distance = number(trajectory.get("flyby_distance_km"))
        when = str(trajectory.get("flyby_utc") or "")[:16].replace("T", " ")
        if distance is None:
            return DASH
        return f"closest approach {distance:,.0f} km at {when} UTC (integrated)"

    rows = [(i, when, what) for i, (when, what) in enumerate(_RECORD_EVENTS)]
    columns: list[Column[tuple[int, str, str]]] = [
        Column("UTC", "", lambda r: r[1], numeric=False),
        Column("the record (ICD §1)", "", lambda r: r[2], numeric=False),
        Column("the replay", "", lambda r: emulator(r[0]), numeric=False),
    ]
    return build_table(columns, rows, css="compact")
