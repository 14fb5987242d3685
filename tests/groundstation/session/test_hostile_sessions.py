"""Missions and contacts under hostile conditions: silent peers, lost workers, interrupts."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from groundstation.errors import SessionError
from groundstation.session import mission
from groundstation.session.mission import parse_numbers, replay

ROOT = Path(__file__).parents[3]


def _cli(*args: str, cwd: Path, own_group: bool = False) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(cwd))
    return subprocess.Popen(
        [sys.executable, "-m", "groundstation", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=own_group,  # as a terminal runs it: its own process group
    )


def _debris(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name.endswith((".part", ".lock"))
        or ".staging-" in p.name
        or ".old-" in p.name
        or p.name.startswith(("mars1-", ".scratch", "dask-scratch-space"))
    )


def test_session_numbers_are_bounded():
    with pytest.raises(SessionError, match="empty range"):
        parse_numbers("5-1")
    with pytest.raises(SessionError, match="1 to 80"):
        parse_numbers("1-20000000")
    with pytest.raises(SessionError, match="no session number"):
        parse_numbers(",")


def test_until_before_launch_is_an_error(tmp_path):
    from datetime import UTC, datetime

    with pytest.raises(SessionError, match="no session before"):
        replay(outdir=tmp_path, until=datetime(1962, 1, 1, tzinfo=UTC), show_progress=False)


def test_a_silent_peer_is_a_bounded_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(mission, "CONNECT_TIMEOUT_S", 1.0)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    t0 = time.monotonic()
    with pytest.raises(SessionError, match="cannot reach the dask scheduler"):
        replay(
            outdir=tmp_path,
            scheduler=f"tcp://127.0.0.1:{server.getsockname()[1]}",
            only=[1],
            show_progress=False,
        )
    assert time.monotonic() - t0 < 10
    for sock in (*held, server):
        sock.close()


def test_no_worker_left_is_a_bounded_wait(tmp_path, monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setattr(mission, "NO_WORKER_TIMEOUT_S", 2.0)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(SessionError, match="no dask worker"):
            replay(
                outdir=tmp_path,
                scheduler=cluster.scheduler_address,
                only=[1],
                show_progress=False,
            )


def test_the_local_cluster_listens_on_loopback_only(tmp_path):
    import psutil

    client, cluster = mission.dask_client(1, None, tmp_path / "scratch")
    try:
        listening = [
            c.laddr.ip
            for c in psutil.Process().net_connections("inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening and set(listening) == {"127.0.0.1"}
        assert os.environ.get("TMPDIR") != str(tmp_path / "scratch")
    finally:
        client.close()
        cluster.close()


def _old_set(folder: Path, name: str) -> None:
    folder.mkdir()
    (folder / ".mars1-results").write_text("old\n")
    (folder / name).write_text('{"old": true}\n')


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_contact_keeps_the_old_set(tmp_path, signum):
    _old_set(tmp_path / "c", "session.json")
    delay_s = random.Random(signum).uniform(1.0, 6.0)
    proc = _cli("contact", "-o", "c", cwd=tmp_path)
    time.sleep(delay_s)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    names = sorted(p.name for p in (tmp_path / "c").iterdir())
    if proc.returncode == 0:  # finished first: the new set, whole
        assert "report.html" in names and "session.json" in names
    else:
        assert proc.returncode == 128 + signum, err
        assert len(err.strip().splitlines()) == 1, err
        assert names == [".mars1-results", "session.json"]
        assert json.loads((tmp_path / "c" / "session.json").read_text()) == {"old": True}
    assert _debris(tmp_path) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_mission_keeps_the_sessions_replayed(tmp_path, signum):
    _old_set(tmp_path / "m", "mission.json")
    argv = ["mission", "--workers", "1", "--sessions", "1-40", "--session-folders", "-o", "m"]
    proc = _cli(*argv, cwd=tmp_path)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and proc.poll() is None:
        # a session's folder: the sessions were sent out, one is done, far from all 40 (the
        # scratch folder of the workers, looked for before, comes while the cluster starts:
        # a signal then, on a loaded machine, found nothing sent out and kept the old set)
        if any((tmp_path / "m").parent.glob(".m.staging-*/sessions/*")):
            break
        time.sleep(0.1)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    assert len(err.strip().splitlines()) == 1, err
    saved = json.loads((tmp_path / "m" / "mission.json").read_text())
    assert saved["interrupted"] is True
    assert saved["sessions_planned"] == 40
    assert 0 <= saved["sessions_total"] < 40
    assert saved["sessions_total"] == len(saved["sessions"])
    replayed = {e["session"] for e in saved["sessions"]}
    assert saved["sessions_missing"] == sorted(set(range(1, 41)) - replayed)
    page = (tmp_path / "m" / "mission.html").read_text(encoding="utf-8")
    missing = "session" if len(saved["sessions_missing"]) == 1 else "sessions"
    assert f"Interrupted: {len(replayed)} of 40 sessions replayed; missing: {missing}" in page
    assert _debris(tmp_path) == []


def _processes_in_session(sid: int) -> dict[int, str]:
    """The live processes of session ``sid`` (pid: command line); zombies are gone already."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def _wait_for_a_starting_worker(proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    """Wait until the run has started a worker process (it is still importing dask)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        commands = _processes_in_session(proc.pid).values()
        if any("multiprocessing.spawn" in c for c in commands):
            return
        time.sleep(0.01)
    raise AssertionError("the run never started a worker process")


_GROUP_CASES = [
    ("mission", signal.SIGINT),
    ("decode", signal.SIGTERM),
    ("mission", signal.SIGHUP),
    ("contact", signal.SIGINT),  # no helper process: the group is the run alone
]


@pytest.mark.parametrize(("command", "signum"), _GROUP_CASES)
def test_a_signal_to_the_process_group_ends_the_run_and_its_workers(tmp_path, command, signum):
    """Ctrl-C in a terminal goes to the whole process group, dask workers included: once,
    half-started workers each printed a KeyboardInterrupt traceback and the cluster's
    shut-down failed on them (``AssertionError: Status.init``), and dask's scratch folders
    were left. One line, 128 + the signal, no temporary folder, no process left."""
    from tests.groundstation.cli.test_hostile import _wait_for_own_handlers

    fixtures = sorted((ROOT / "fixtures").glob("*/*.sigmf-meta"))[:3]
    argv = {
        "mission": ["mission", "--workers", "2", "--sessions", "1-6", "-o", "m"],
        "decode": ["decode", *map(str, fixtures), "--workers", "2", "-o", "d"],
        "contact": ["contact", "-o", "c"],
    }[command]
    old = {"mission": "mission.json", "contact": "session.json"}.get(command)
    if old is not None:
        _old_set(tmp_path / command[0], old)
    proc = _cli(*argv, cwd=tmp_path, own_group=True)
    try:
        _wait_for_own_handlers(proc)
        if command == "contact":
            time.sleep(random.Random(signum).uniform(0.3, 2.0))
        else:
            _wait_for_a_starting_worker(proc)
            time.sleep(random.Random(signum).uniform(0.0, 0.5))
        os.killpg(proc.pid, signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert err.strip() == (
        "groundstation: interrupted; temporary files removed, finished outputs kept"
    ), err
    deadline = time.monotonic() + 15.0  # a worker ends once the run's process is gone
    while _processes_in_session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_in_session(proc.pid) == {}
    assert _debris(tmp_path) == []
    if command == "mission":
        saved = json.loads((tmp_path / "m" / "mission.json").read_text())
        if saved != {"old": True}:  # interrupted once the sessions were sent out
            assert saved["interrupted"] is True and saved["sessions_planned"] == 6
            replayed = {e["session"] for e in saved["sessions"]}
            assert saved["sessions_missing"] == sorted(set(range(1, 7)) - replayed)
    if command == "contact":  # the old set, whole
        assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
            ".mars1-results",
            "session.json",
        ]
