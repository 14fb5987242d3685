"""The mission replay (``groundstation mission``): every session from launch to the flyby.

The schedule follows the documented flight (ICD §1): sessions every 2 days, then every 5
days from 13 December 1962, 61 in all up to 21 March 1963. The record gives the count and
the cadence, not the dates of the sessions the ground called outside the cadence, so this
replay places them as follows (``docs/sessions.md``):

- automatic: every 2 days from 2 Nov 1962 to 12 Dec 1962 (21 sessions), then every 5 days
  from 13 Dec 1962 to 18 Mar 1963 (20 sessions): the cadence is exactly the record's;
- ground-commanded (20 sessions, labelled ``ground-commanded``): two on launch day, at
  17:44 UTC in the outer radiation belt (64° up at Yevpatoria) and at 19:15 UTC inside
  the near-Earth meteoroid zone; one on each odd day from 3 Nov to 5 Dec 1962 (17), the
  weeks of orbit determination, the leak and the gyroscopes; and one on 21 Mar 1963, the
  documented last contact. None falls inside the 5-day cadence;
- after 21 Mar 1963 the station keeps trying every 5 days, and a last session is planned
  for the flyby day, 19 Jun 1963 (in the ``nominal`` scenario, the imaging session).

Each session starts at the culmination of that day's pass over Yevpatoria (the launch-day
sessions at their fixed times) and is emulated in full (uplink, spacecraft, downlink, decode)
in the short ``mission`` profile. Its verdict
is the session's own: a contact is telemetry decoded on a band whose link budget closes.
Nothing in the replay knows the date of the last contact; it follows from the budget.

Sessions run in parallel on dask.distributed: a local cluster by default
(``--workers N``), or an existing scheduler (``--scheduler ADDRESS``), so the same command
scales past one machine.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from groundstation.errors import SessionError
from groundstation.io.files import write_json
from groundstation.io.recording import parse_utc
from groundstation.progress import progress
from signals.bands import bands_of_kind

log = logging.getLogger(__name__)

FIRST_SESSION_DAY: Final = datetime(1962, 11, 2, tzinfo=UTC)
FIVE_DAY_START: Final = datetime(1962, 12, 13, tzinfo=UTC)
LAST_DOCUMENTED_CONTACT: Final = datetime(1963, 3, 21, tzinfo=UTC)
FLYBY_DAY: Final = datetime(1963, 6, 19, tzinfo=UTC)
DOCUMENTED_SESSIONS: Final = 61
#: The launch-day sessions: the outer radiation belt (L ≈ 3.7, 64° up), then the
#: near-Earth meteoroid zone (37,000 km altitude, about 30 hits counted so far).
BELT_SESSION_UTC: Final = datetime(1962, 11, 1, 17, 44, tzinfo=UTC)
METEOROID_SESSION_UTC: Final = datetime(1962, 11, 1, 19, 15, tzinfo=UTC)
LAUNCH_DAY_SESSIONS: Final = (BELT_SESSION_UTC, METEOROID_SESSION_UTC)
#: Ground-commanded sessions on the odd days from 3 Nov to this day.
LAST_ODD_DAY: Final = datetime(1962, 12, 5, tzinfo=UTC)
#: The default ``groundstation contact``: the 4 November 1962 session, dish still pointed.
DEFAULT_CONTACT_DAY: Final = datetime(1962, 11, 4, tzinfo=UTC)


@dataclass(frozen=True)
class ScheduledSession:
    """One entry of the replay's schedule: a day and how the session was called."""

    number: int
    day_utc: datetime
    kind: str  # "automatic", "ground-commanded", "attempt" or "flyby"
    fixed_start: bool = False  # day_utc is the start itself, not the day of a culmination


def session_start(entry: ScheduledSession) -> datetime:
    """When session ``entry`` starts: its fixed time, or the culmination of its day's pass."""
    from groundstation.session.contact import find_session_time

    return entry.day_utc if entry.fixed_start else find_session_time(entry.day_utc)


def mission_schedule(until: datetime = FLYBY_DAY) -> list[ScheduledSession]:
    """The replay's sessions, numbered in time order, up to ``until`` (see module docs)."""
    days: list[tuple[datetime, str]] = [(t, "ground-commanded") for t in LAUNCH_DAY_SESSIONS]
    day = FIRST_SESSION_DAY
    while day < FIVE_DAY_START:
        days.append((day, "automatic"))
        if day + timedelta(days=1) <= LAST_ODD_DAY:
            days.append((day + timedelta(days=1), "ground-commanded"))
        day += timedelta(days=2)
    five_day = []
    day = FIVE_DAY_START
    while day <= LAST_DOCUMENTED_CONTACT:
        five_day.append(day)
        day += timedelta(days=5)
    days += [(d, "automatic") for d in five_day]
    days.append((LAST_DOCUMENTED_CONTACT, "ground-commanded"))
    day = five_day[-1] + timedelta(days=5)
    while day < FLYBY_DAY:
        days.append((day, "attempt"))
        day += timedelta(days=5)
    days.append((FLYBY_DAY, "flyby"))
    days.sort()
    return [
        ScheduledSession(number=i + 1, day_utc=d, kind=k, fixed_start=d in LAUNCH_DAY_SESSIONS)
        for i, (d, k) in enumerate(days)
        if d <= until
    ]


def default_session() -> ScheduledSession:
    """The session ``groundstation contact`` plays without ``--at`` or ``--session``."""
    return next(s for s in mission_schedule() if s.day_utc == DEFAULT_CONTACT_DAY)


def session_day(number: int) -> ScheduledSession:
    """The schedule entry of session ``number`` (1-based)."""
    schedule = mission_schedule()
    if not 1 <= number <= len(schedule):
        raise SessionError(f"no session {number}: the replay has sessions 1 to {len(schedule)}")
    return schedule[number - 1]


def run_scheduled_session(
    entry: ScheduledSession, scenario: str, seed: int, outdir: str | None
) -> dict[str, Any]:
    """Run one scheduled session in the ``mission`` profile; return its mission.json entry.

    Runs in a dask worker: imports are local and the result is plain JSON data.
    """
    from groundstation.session.contact import SessionProfile, run_session

    start = session_start(entry)
    result = run_session(
        start,
        scenario,
        Path(outdir) / f"session_{entry.number:02d}" if outdir else None,
        number=entry.number,
        kind=entry.kind,
        profile=SessionProfile.named("mission"),
        seed=seed + entry.number,
        show_progress=False,
        write_report=bool(outdir),
    )
    summary = result.to_json()
    return {
        "session": entry.number,
        "kind": entry.kind,
        "start_utc": summary["start_utc"],
        "range_km": summary["range_km"],
        "light_time_s": summary["light_time_s"],
        "elevation_deg": summary["elevation_deg"],
        "attitude_mode": summary["attitude_mode"],
        "dish_pointed": summary["dish_pointed"],
        "bit_rate_bps": summary["bit_rate_bps"],
        "contact": summary["contact"],
        "margin_db": {b: v["margin_db"] for b, v in summary["bands"].items()},
        "usable": {b: v["usable"] for b, v in summary["bands"].items()},
        "frames": sum(v["frames_decoded"] for v in summary["bands"].values()),
        "frames_by_band": {
            b: v["frames_decoded"]
            for b, v in summary["bands"].items()
            if b in bands_of_kind("telemetry")
        },
        "commands_acknowledged": sum(bool(c.get("acknowledged")) for c in summary["commands"]),
        "commands_sent": len(summary["commands"]),
        "elapsed_s": summary["elapsed_s"],
        "report": f"sessions/session_{entry.number:02d}/report.html" if outdir else None,
    }


def _trajectory_facts(scenario: str) -> dict[str, Any]:
    """The injection burn and the closest approach of the scenario's trajectory."""
    from signals.path.geometry import get_trajectory

    trajectory = get_trajectory(scenario)
    when, distance_km = trajectory.flyby()
    return {
        "burn_utc": trajectory.injection.burn_utc,
        "flyby_utc": when,
        "flyby_distance_km": distance_km,
    }


# ------------------------------------------------------------------------------ dask


def dask_client(workers: int | None, scheduler: str | None):
    """A dask client: an existing scheduler, or a local cluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise SessionError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
    n = workers or max(1, min(os.cpu_count() or 1, 4))
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


def replay(
    scenario: str = "historical",
    *,
    outdir: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    until: datetime = FLYBY_DAY,
    only: list[int] | None = None,
    seed: int = 1962,
    session_folders: bool = False,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Replay the flight's sessions in parallel; write ``mission.json`` and the report."""
    from distributed import as_completed

    from groundstation.session.contact import SCENARIOS

    if scenario not in SCENARIOS:
        raise SessionError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    schedule = mission_schedule(until)
    if only:
        wanted = set(only)
        unknown = sorted(wanted - {s.number for s in mission_schedule()})
        if unknown:
            raise SessionError(f"no session(s) {unknown} in the replay")
        schedule = [s for s in schedule if s.number in wanted]
    folders = str(outdir / "sessions") if session_folders else None
    client, cluster = dask_client(workers, scheduler)
    outdir.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    try:
        futures = [
            client.submit(
                run_scheduled_session,
                entry,
                scenario,
                seed,
                folders,
                key=f"mars1-session-{scenario}-{entry.number}-{seed}",
                pure=False,
            )
            for entry in schedule
        ]
        with progress(
            len(futures), "mission sessions", unit="session", enabled=show_progress
        ) as bar:
            for future in as_completed(futures):
                entries.append(future.result())
                bar.update(1)
        n_workers = len(client.scheduler_info().get("workers", {}))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    entries.sort(key=lambda e: e["session"])
    contacts = [e for e in entries if e["contact"]]
    last = contacts[-1] if contacts else None
    mission = {
        "scenario": scenario,
        "schedule": "automatic every 2 days to 12 Dec 1962, every 5 days from 13 Dec 1962; "
        "ground-commanded on launch day (radiation belt, meteoroid zone), on the odd days "
        "3 Nov-5 Dec 1962 "
        "and on 21 Mar 1963; attempts every 5 days after that until the flyby",
        "sessions_total": len(entries),
        "documented_sessions_to_21_mar_1963": sum(
            1 for s in mission_schedule(LAST_DOCUMENTED_CONTACT)
        ),
        "contacts": len(contacts),
        "last_contact": None
        if last is None
        else {
            "session": last["session"],
            "start_utc": last["start_utc"],
            "range_km": last["range_km"],
        },
        "first_loss": next(
            (
                {"session": e["session"], "start_utc": e["start_utc"], "range_km": e["range_km"]}
                for e in entries
                if last and e["session"] > last["session"] and not e["contact"]
            ),
            None,
        ),
        "workers": n_workers,
        "trajectory": _trajectory_facts(scenario),
        "sessions": entries,
    }
    write_json(outdir / "mission.json", mission)
    from groundstation.report.pages import write_mission_report

    write_mission_report(outdir / "mission.html", mission)
    return mission


# ------------------------------------------------------------------------------ CLI


def parse_numbers(text: str) -> list[int]:
    """Parse ``1,3,5-8`` into ``[1, 3, 5, 6, 7, 8]``."""
    numbers: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                numbers.extend(range(lo, hi + 1))
            else:
                numbers.append(int(part))
    except ValueError:
        raise SessionError(f"cannot read session numbers {text!r} (use e.g. 1,30,59-63)") from None
    return numbers


def run_mission_command(args: argparse.Namespace) -> int:
    """``groundstation mission``."""
    until = FLYBY_DAY
    if args.until:
        try:
            until = parse_utc(args.until)
        except ValueError:
            raise SessionError(f"--until {args.until!r} is not a UTC date") from None
    if args.workers is not None and args.workers < 1:
        raise SessionError("--workers must be at least 1")
    mission = replay(
        args.scenario,
        outdir=args.output,
        workers=args.workers,
        scheduler=args.scheduler,
        until=until,
        only=parse_numbers(args.sessions) if args.sessions else None,
        seed=args.seed,
        session_folders=args.session_folders,
    )
    print(
        f"{mission['sessions_total']} sessions replayed on {mission['workers']} worker(s), "
        f"{mission['contacts']} contacts"
    )
    last = mission["last_contact"]
    if last:
        print(
            f"last contact: session {last['session']} on {last['start_utc'][:10]} at "
            f"{last['range_km'] / 1e6:.2f} million km"
        )
    if mission["first_loss"]:
        loss = mission["first_loss"]
        print(
            f"contact lost: session {loss['session']} on {loss['start_utc'][:10]} at "
            f"{loss['range_km'] / 1e6:.2f} million km"
        )
    print(f"output in {args.output}/ (mission.json, mission.html)")
    return 0
