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
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Final

from groundstation.errors import SessionError
from groundstation.io.files import INTERRUPT_SIGNALS, staged_folder
from groundstation.io.recording import parse_utc
from groundstation.outputs.mission import write_mission
from groundstation.progress import progress
from groundstation.results.mission import MissionResult, MissionSession, TrajectoryFacts
from groundstation.session.schedule import (
    FIRST_SESSION_DAY,
    FLYBY_DAY,
    LAST_DOCUMENTED_CONTACT,
    ScheduledSession,
    mission_schedule,
    session_start,
)
from signals.bands import bands_of_kind

log = logging.getLogger(__name__)


def run_scheduled_session(
    entry: ScheduledSession, scenario: str, seed: int, outdir: str | None
) -> MissionSession:
    """Run one scheduled session in the ``mission`` profile; return what the mission keeps.

    Runs in a dask worker: imports are local and the result is a small record.
    """
    from groundstation.session.contact import run_session
    from groundstation.session.plan import SessionProfile

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
    p, bands = result.plan, result.bands
    return MissionSession(
        number=entry.number,
        kind=entry.kind,
        start_utc=p.start_utc,
        range_km=p.range_km,
        light_time_s=p.light_time_s,
        elevation_deg=p.elevation_deg,
        attitude_mode=p.attitude_mode,
        dish_pointed=p.dish_pointed,
        bit_rate_bps=p.bit_rate_bps,
        contact=result.contact,
        margin_db={b: o.budget.margin_db for b, o in bands.items()},
        usable={b: bool(o.budget.usable) for b, o in bands.items()},
        frames_decoded=sum(o.frames_decoded for o in bands.values()),
        frames_by_band={
            b: o.frames_decoded for b, o in bands.items() if b in bands_of_kind("telemetry")
        },
        commands_acknowledged=sum(bool(c.acknowledged) for c in result.commands),
        commands_sent=len(result.commands),
        elapsed_s=result.elapsed_s,
        report=f"sessions/session_{entry.number:02d}/report.html" if outdir else None,
    )


def _import_report() -> None:
    """Import what writing ``mission.html`` needs (~0.7 s, most of it matplotlib)."""
    import importlib

    for module in (
        "groundstation.report.pages",
        "matplotlib.figure",
        "matplotlib.backends.backend_agg",
    ):
        importlib.import_module(module)


def _trajectory_facts(scenario: str) -> TrajectoryFacts:
    """The injection burn and the closest approach of the scenario's trajectory."""
    from signals.path.geometry import get_trajectory

    trajectory = get_trajectory(scenario)
    when, distance_km = trajectory.flyby()
    return TrajectoryFacts(trajectory.injection.burn_utc, when, distance_km)


# ------------------------------------------------------------------------------ dask


#: The replay's schedule in words (``mission.json``, the mission page).
SCHEDULE_TEXT: Final = (
    "automatic every 2 days to 12 Dec 1962, every 5 days from 13 Dec 1962; "
    "ground-commanded on launch day (radiation belt, meteoroid zone), on the odd days "
    "3 Nov-5 Dec 1962 and on 21 Mar 1963; attempts every 5 days after that until the flyby"
)
#: Longest wait for any one network step with the dask scheduler (s).
CONNECT_TIMEOUT_S: Final = 10.0
#: A replay with no worker left for this long gives up (s).
NO_WORKER_TIMEOUT_S: Final = 60.0


def dask_client(workers: int | None, scheduler: str | None, scratch: Path | None = None):
    """A dask client: an existing scheduler, or a local cluster of ``workers`` processes.

    Every network step is bounded (:data:`CONNECT_TIMEOUT_S`); the local cluster has no
    dashboard and keeps its logs to itself. Its workers put their temporary folders under
    ``scratch``, which the caller removes whatever happens.
    """
    import dask
    from distributed import Client, LocalCluster

    settings = {
        "distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S:g}s",
        "distributed.comm.timeouts.tcp": f"{max(30.0, 3 * CONNECT_TIMEOUT_S):g}s",
        # The local workers keep glibc's own allocation thresholds: dask sets
        # MALLOC_TRIM_THRESHOLD_ for them, which makes every array above 128 KiB a fresh
        # mmap whose pages fault in again at each use (a third of a session's CPU time)
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        # and do not sample their own stacks every 10 ms (nobody reads the profile)
        "distributed.worker.profile.enabled": False,
    }
    dask.config.set(settings)
    _quiet_dask()
    if scheduler:
        try:
            asyncio.run(_probe_scheduler(scheduler))
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S:g}s"), None
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SessionError(
                f"cannot reach the dask scheduler at {scheduler!r}: {reason}"
            ) from None
    n = workers or max(1, min(os.cpu_count() or 1, 4))
    saved = {key: os.environ.get(key) for key in ("TMPDIR", "PYTHONWARNINGS")}
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        os.environ["TMPDIR"] = str(scratch)  # inherited by the worker processes
    # a worker stopped mid-session leaves a semaphore that multiprocessing warns about
    os.environ["PYTHONWARNINGS"] = "ignore::UserWarning:multiprocessing.resource_tracker"
    cluster = client = None
    try:
        # the scheduler's and the workers' scratch folders (dask-scratch-space) go there too
        where = {} if scratch is None else {"temporary-directory": str(scratch)}
        with _helpers_shielded(), dask.config.set(where):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # the status pages stay on this machine
                silence_logs=logging.CRITICAL,
            )
            client = Client(cluster, timeout=f"{CONNECT_TIMEOUT_S:g}s")
    except BaseException:  # an interrupt noted while the workers started is raised here
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        raise
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return client, cluster


@contextlib.contextmanager
def _helpers_shielded() -> Iterator[None]:
    """Start the local cluster's threads and worker processes so that no interrupt reaches
    them.

    A Ctrl-C in a terminal, or a signal sent to the process group, reaches every process of
    the run: half-started workers would each die on it with a traceback of their own, and
    the cluster's shut-down would fail on them. Inside this block the interrupt signals are
    blocked in the calling thread, so every thread started in it (the cluster's event loop)
    and every process those threads start (the workers, multiprocessing's resource tracker)
    keeps them blocked for life: only the run receives them, and it stops its workers itself
    (a worker also ends when the run's process is gone). A signal that arrives meanwhile is
    held and delivered when the block ends, to the handler that was there before.
    """
    import threading
    from multiprocessing import resource_tracker

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    handlers = {signum: signal.getsignal(signum) for signum in INTERRUPT_SIGNALS}
    replace = all(h is not None for h in handlers.values())
    if replace:  # a signal delivered to another thread meanwhile is noted, not acted on
        for signum in INTERRUPT_SIGNALS:
            signal.signal(signum, lambda signum, _frame: noted.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPT_SIGNALS)
    try:
        # The tracker, started by the first worker otherwise, unblocks SIGINT and SIGTERM in
        # the thread that starts it (it ignores those two itself): start it from a thread of
        # its own, which inherits the block, so that it keeps SIGHUP blocked too.
        starter = threading.Thread(target=resource_tracker.ensure_running, daemon=True)
        starter.start()
        starter.join()
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a held signal lands in the note
        if replace:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            if noted:
                signal.raise_signal(noted[0])


def _quiet_dask() -> None:
    """Keep dask's own log lines (connections, retries, shutdown) out of the way below -vv.

    Importing ``distributed`` sets its loggers to INFO; the outcome of a run must stay the
    last line on standard error.
    """
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        return
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "tornado", "bokeh"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


async def _probe_scheduler(address: str) -> None:
    """Connect to ``address`` and ask who it is, every step within :data:`CONNECT_TIMEOUT_S`.

    A peer that accepts the connection and then stays silent would hold the dask client's
    own handshake for ever; this probe bounds it.
    """
    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=CONNECT_TIMEOUT_S), CONNECT_TIMEOUT_S)
    try:
        await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), CONNECT_TIMEOUT_S)
        reply = await asyncio.wait_for(comm.read(), CONNECT_TIMEOUT_S)
    finally:
        comm.abort()
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise OSError(f"the peer is not a dask scheduler ({type(reply).__name__} reply)")


def _n_workers(client) -> int:
    try:
        return len(client.scheduler_info().get("workers", {}))
    except Exception:  # the scheduler itself is gone
        return 0


def _results(client, futures: list, bar) -> Iterator[MissionSession]:
    """Yield each session's result as it completes; give up when no worker is left.

    Raises
    ------
    SessionError
        No dask worker for :data:`NO_WORKER_TIMEOUT_S`, or a session killed its workers.
    """
    from distributed import wait
    from distributed.scheduler import KilledWorker

    pending = set(futures)
    alive_at = time.monotonic()
    while pending:
        try:
            done, pending = wait(pending, timeout=2.0, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        for future in done:
            try:
                yield future.result()
            except KilledWorker:
                raise SessionError(f"{future.key}: the dask workers running it died") from None
            bar.update(1)
        if done or _n_workers(client):
            alive_at = time.monotonic()
        elif time.monotonic() - alive_at > NO_WORKER_TIMEOUT_S:
            raise SessionError(
                f"no dask worker for {NO_WORKER_TIMEOUT_S:g} s; "
                f"{len(pending)} session(s) not replayed"
            )


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
) -> MissionResult:
    """Replay the flight's sessions in parallel; write ``mission.json`` and the report."""
    from signals.spacecraft.flight import SCENARIOS

    if scenario not in SCENARIOS:
        raise SessionError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    schedule = mission_schedule(until)
    if not schedule:
        raise SessionError(
            f"no session before {until:%Y-%m-%d}: the first is on {FIRST_SESSION_DAY:%Y-%m-%d}"
        )
    if only:
        wanted = set(only)
        unknown = sorted(wanted - {s.number for s in mission_schedule()})
        if unknown:
            raise SessionError(f"no session(s) {unknown} in the replay")
        schedule = [s for s in schedule if s.number in wanted]
        if not schedule:
            raise SessionError(f"none of sessions {sorted(wanted)} is before {until:%Y-%m-%d}")
    folders = str(outdir / "sessions") if session_folders else None
    outdir.mkdir(parents=True, exist_ok=True)
    scratch = outdir / ".scratch"
    entries: list[MissionSession] = []
    stopped: KeyboardInterrupt | None = None
    n_workers = 0
    client = cluster = None
    try:
        client, cluster = dask_client(workers, scheduler, scratch)
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
        n_workers = _n_workers(client)
        # the page's imports (matplotlib) while the workers replay, not after them
        threading.Thread(target=_import_report, daemon=True).start()
        with progress(
            len(futures), "mission sessions", unit="session", enabled=show_progress
        ) as bar:
            try:
                entries.extend(_results(client, futures, bar))
            except KeyboardInterrupt as exc:  # keep the sessions already replayed
                stopped = exc
    finally:
        if client is not None:
            client.close(timeout=CONNECT_TIMEOUT_S)
        if cluster is not None:
            cluster.close(timeout=CONNECT_TIMEOUT_S)
        shutil.rmtree(scratch, ignore_errors=True)
    mission = MissionResult(
        scenario=scenario,
        sessions=sorted(entries, key=lambda e: e.number),
        schedule=SCHEDULE_TEXT,
        documented_sessions_to_21_mar_1963=len(mission_schedule(LAST_DOCUMENTED_CONTACT)),
        workers=n_workers,
        trajectory=_trajectory_facts(scenario),
        sessions_planned=len(schedule),
        interrupted=stopped is not None,
        sessions_missing=sorted({s.number for s in schedule} - {e.number for e in entries}),
    )
    write_mission(outdir / "mission.json", mission)
    from groundstation.report.pages import write_mission_report

    write_mission_report(outdir / "mission.html", mission)
    if stopped is not None:
        raise stopped
    return mission


# ------------------------------------------------------------------------------ CLI


def parse_numbers(text: str, highest: int | None = None) -> list[int]:
    """Parse ``1,3,5-8`` into ``[1, 3, 5, 6, 7, 8]``; every number in ``1..highest``.

    Raises
    ------
    SessionError
        Unreadable, an empty range (``5-1``), no number at all, or a number outside
        ``1..highest`` (the replay's session count by default).
    """
    highest = len(mission_schedule()) if highest is None else highest
    numbers: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            lo, _, hi = part.partition("-")
            first, last = int(lo), int(hi) if hi else int(lo)
            if last < first:
                raise SessionError(f"--sessions {part!r} is an empty range")
            if first < 1 or last > highest:
                raise SessionError(f"--sessions {part!r}: the replay has sessions 1 to {highest}")
            numbers.extend(range(first, last + 1))
    except ValueError:
        raise SessionError(f"cannot read session numbers {text!r} (use e.g. 1,30,59-63)") from None
    if not numbers:
        raise SessionError(f"no session number in --sessions {text!r}")
    return numbers


def run_mission_command(args: argparse.Namespace) -> int:
    """``groundstation mission``."""
    until = FLYBY_DAY
    if args.until:
        try:
            until = parse_utc(args.until)
        except ValueError:
            raise SessionError(f"--until {args.until!r} is not a UTC date") from None
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise SessionError("--workers must be 1 to 64")
    only = parse_numbers(args.sessions) if args.sessions else None
    stopped: KeyboardInterrupt | None = None
    with staged_folder(args.output, own_files=["mission.json"]) as staging:
        try:
            mission = replay(
                args.scenario,
                outdir=staging,
                workers=args.workers,
                scheduler=args.scheduler,
                until=until,
                only=only,
                seed=args.seed,
                session_folders=args.session_folders,
            )
        except KeyboardInterrupt as exc:
            if not (staging / "mission.json").is_file():
                raise
            stopped = exc  # the sessions replayed so far, marked "interrupted": true
    if stopped is not None:
        raise stopped
    print(
        f"{mission.sessions_total} sessions replayed on {mission.workers} worker(s), "
        f"{mission.contacts} contacts"
    )
    for what, session in (
        ("last contact", mission.last_contact),
        ("contact lost", mission.first_loss),
    ):
        if session is not None:
            print(
                f"{what}: session {session.number} on {session.start_utc:%Y-%m-%d} at "
                f"{session.range_km / 1e6:.2f} million km"
            )
    print(f"output in {args.output}/ (mission.json, mission.html)")
    return 0
