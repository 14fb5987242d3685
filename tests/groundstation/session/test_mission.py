"""The mission replay: the documented schedule, verdicts that follow the link budget."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest

from groundstation.errors import SessionError
from groundstation.outputs.mission import mission_from_record
from groundstation.session.mission import parse_numbers, replay
from groundstation.session.plan import check_visible
from groundstation.session.schedule import (
    LAST_DOCUMENTED_CONTACT,
    mission_schedule,
    session_start,
)
from signals.spacecraft.flight import LAUNCH_UTC, FlightModel


def test_schedule_has_the_documented_61_sessions_to_21_march_1963():
    sessions = mission_schedule(LAST_DOCUMENTED_CONTACT)
    assert len(sessions) == 61
    kinds = Counter(s.kind for s in sessions)
    assert kinds == {"automatic": 41, "ground-commanded": 20}
    days = [s.day_utc for s in sessions]
    assert days == sorted(days)
    assert sessions[-1].day_utc == datetime(1963, 3, 21, tzinfo=UTC)
    automatic = [s.day_utc for s in sessions if s.kind == "automatic"]
    gaps = {(b - a).days for a, b in itertools.pairwise(automatic)}
    assert gaps == {1, 2, 5}  # every 2 days, the switch on 13 Dec, then every 5 days
    # Nothing falls inside the cadence from 13 December except the documented last contact.
    after = [s for s in sessions if s.day_utc >= datetime(1962, 12, 13, tzinfo=UTC)]
    assert {(b.day_utc - a.day_utc).days for a, b in itertools.pairwise(after[:-1])} == {5}
    assert [s.kind for s in after[-2:]] == ["automatic", "ground-commanded"]
    later = mission_schedule()
    assert later[-1].day_utc <= datetime(1963, 6, 19, tzinfo=UTC)
    assert all(s.kind == "attempt" for s in later[61:-1])
    assert later[-1].kind == "flyby" and later[-1].day_utc == datetime(1963, 6, 19, tzinfo=UTC)


def test_launch_day_sessions_see_the_belts_and_the_meteoroid_zone():
    belt, meteoroids = mission_schedule()[:2]
    flight = FlightModel("historical", rng=np.random.default_rng(7))
    for entry in (belt, meteoroids):
        assert entry.kind == "ground-commanded"
        assert session_start(entry) == entry.day_utc
        assert check_visible(entry.day_utc) > 20.0
    t_s = np.array([(belt.day_utc - LAUNCH_UTC).total_seconds()])
    gas_cps, scint_cps = flight.radiation_rates_cps(t_s)
    assert gas_cps[0] > 100 * 2.5 and scint_cps[0] > 100 * 15.0  # in the outer belt
    t_s = np.array([(meteoroids.day_utc - LAUNCH_UTC).total_seconds()])
    assert 6_000 < flight.altitude_km_s(t_s)[0] < 40_000
    assert flight.channels_s(t_s)["micrometeoroid_hits"][0] >= 10


def test_parse_numbers():
    assert parse_numbers("1, 3,5-7") == [1, 3, 5, 6, 7]
    with pytest.raises(SessionError):
        parse_numbers("one")


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    with pytest.raises(SessionError, match="cannot reach the dask scheduler"):
        replay(outdir=tmp_path, scheduler="tcp://127.0.0.1:9", only=[1], show_progress=False)


def test_replay_verdicts_follow_the_margin(tmp_path):
    """Early, middle and late sessions on two local workers: contact until the budget runs out."""
    mission = replay(
        "historical",
        outdir=tmp_path,
        workers=2,
        only=[2, 30, 58, 61, 64, 70],
        show_progress=False,
    )
    saved = json.loads((tmp_path / "mission.json").read_text())
    assert saved["sessions_total"] == 6
    assert (tmp_path / "mission.html").exists()
    assert mission_from_record(saved) == mission  # mission.json reads back into the same records
    entries = saved["sessions"]
    for entry in entries:
        for key in ("session", "start_utc", "range_km", "contact", "margin_db", "frames"):
            assert key in entry

    def best_margin(entry):
        return max(
            entry["margin_db"][b]
            for b in ("1.6m-tlm", "32cm-tlm")
            if entry["usable"][b] or b == "1.6m-tlm"
        )

    for a in entries:
        for b in entries:
            if best_margin(a) >= best_margin(b) and b["contact"]:
                assert a["contact"], (a["session"], b["session"])
    by_number = {e["session"]: e for e in entries}
    assert by_number[2]["contact"] and by_number[61]["contact"]
    assert not by_number[70]["contact"]
    assert by_number[70]["margin_db"]["1.6m-tlm"] < 0
    last = saved["last_contact"]
    assert last["start_utc"].startswith("1963-03")
    assert mission.last_contact is not None and mission.last_contact.number == last["session"]
