"""``mission.json``: a mission replay's record, written from and read back into the types of
:mod:`groundstation.results.mission`, in one place.

:func:`mission_record` gives the JSON object (one entry per session, the counts and the last
contact computed from the sessions), :func:`write_mission` writes it atomically, and
:func:`mission_from_record` reads such an object back, naming the first key it misses. The
keys are those ``mission.json`` has always had (``session``, ``frames``, ...), so files
written before stay readable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from groundstation.io.files import write_json
from groundstation.io.recording import format_utc, parse_utc
from groundstation.results.mission import MissionResult, MissionSession, TrajectoryFacts


def session_entry(session: MissionSession) -> dict[str, Any]:
    """One session's entry of ``mission.json``."""
    return {
        "session": session.number,
        "kind": session.kind,
        "start_utc": format_utc(session.start_utc),
        "range_km": session.range_km,
        "light_time_s": session.light_time_s,
        "elevation_deg": session.elevation_deg,
        "attitude_mode": session.attitude_mode,
        "dish_pointed": session.dish_pointed,
        "bit_rate_bps": session.bit_rate_bps,
        "contact": session.contact,
        "margin_db": dict(session.margin_db),
        "usable": dict(session.usable),
        "frames": session.frames_decoded,
        "frames_by_band": dict(session.frames_by_band),
        "commands_acknowledged": session.commands_acknowledged,
        "commands_sent": session.commands_sent,
        "elapsed_s": session.elapsed_s,
        "report": session.report,
    }


def _mark(session: MissionSession | None) -> dict[str, Any] | None:
    """Where a session stands: number, start and range (the last contact, the first loss)."""
    if session is None:
        return None
    return {
        "session": session.number,
        "start_utc": format_utc(session.start_utc),
        "range_km": session.range_km,
    }


def mission_record(mission: MissionResult) -> dict[str, Any]:
    """The JSON object of ``mission.json``."""
    trajectory = mission.trajectory
    return {
        "scenario": mission.scenario,
        "schedule": mission.schedule,
        "sessions_total": mission.sessions_total,
        "documented_sessions_to_21_mar_1963": mission.documented_sessions_to_21_mar_1963,
        "contacts": mission.contacts,
        "last_contact": _mark(mission.last_contact),
        "first_loss": _mark(mission.first_loss),
        "workers": mission.workers,
        "trajectory": None
        if trajectory is None
        else {
            "burn_utc": trajectory.burn_utc,
            "flyby_utc": trajectory.flyby_utc,
            "flyby_distance_km": trajectory.flyby_distance_km,
        },
        "sessions_planned": mission.sessions_planned,
        "interrupted": mission.interrupted,
        "sessions_missing": list(mission.sessions_missing),
        "sessions": [session_entry(s) for s in mission.sessions],
    }


def write_mission(path: Path | str, mission: MissionResult) -> Path:
    """Write ``mission.json`` atomically."""
    return write_json(path, mission_record(mission))


def _float(value: Any) -> float:
    """A number of ``mission.json``: ``null`` is how a non-finite value is written."""
    return math.nan if value is None else float(value)


def _need(record: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return record[key]
    except KeyError:
        raise ValueError(f"{where} has no {key!r}") from None


def session_from_entry(entry: Mapping[str, Any]) -> MissionSession:
    """A session back from its ``mission.json`` entry.

    Raises
    ------
    ValueError
        A key is missing or a time is unreadable.
    """
    where = f"mission session {entry.get('session', '?')}"

    def need(key: str) -> Any:
        return _need(entry, key, where)

    return MissionSession(
        number=int(need("session")),
        kind=str(need("kind")),
        start_utc=parse_utc(str(need("start_utc"))),
        range_km=_float(need("range_km")),
        light_time_s=_float(need("light_time_s")),
        elevation_deg=_float(need("elevation_deg")),
        attitude_mode=int(need("attitude_mode")),
        dish_pointed=bool(need("dish_pointed")),
        bit_rate_bps=int(need("bit_rate_bps")),
        contact=bool(need("contact")),
        margin_db={str(b): _float(m) for b, m in need("margin_db").items()},
        usable={str(b): bool(u) for b, u in need("usable").items()},
        frames_decoded=int(need("frames")),
        frames_by_band={str(b): int(n) for b, n in need("frames_by_band").items()},
        commands_acknowledged=int(need("commands_acknowledged")),
        commands_sent=int(need("commands_sent")),
        elapsed_s=_float(need("elapsed_s")),
        report=entry.get("report"),
    )


def mission_from_record(record: Mapping[str, Any]) -> MissionResult:
    """A mission back from the JSON object of ``mission.json``.

    Raises
    ------
    ValueError
        A key is missing or a time is unreadable.
    """
    trajectory = record.get("trajectory")
    return MissionResult(
        scenario=str(_need(record, "scenario", "mission")),
        sessions=[session_from_entry(e) for e in _need(record, "sessions", "mission")],
        schedule=str(record.get("schedule") or ""),
        documented_sessions_to_21_mar_1963=record.get("documented_sessions_to_21_mar_1963"),
        workers=record.get("workers"),
        trajectory=None
        if not trajectory
        else TrajectoryFacts(
            burn_utc=parse_utc(str(_need(trajectory, "burn_utc", "mission trajectory"))),
            flyby_utc=parse_utc(str(_need(trajectory, "flyby_utc", "mission trajectory"))),
            flyby_distance_km=float(_need(trajectory, "flyby_distance_km", "mission trajectory")),
        ),
        sessions_planned=record.get("sessions_planned"),
        interrupted=bool(record.get("interrupted", False)),
        sessions_missing=[int(n) for n in record.get("sessions_missing") or []],
    )
