"""mission.json written from the mission records and read back into them."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from groundstation.io.files import to_json
from groundstation.outputs.mission import mission_from_record, mission_record, write_mission
from groundstation.results import MissionResult, MissionSession, TrajectoryFacts


def _session(number: int, contact: bool, range_km: float) -> MissionSession:
    return MissionSession(
        number=number,
        kind="automatic",
        start_utc=datetime(1962, 11, 2, 10, tzinfo=UTC) + timedelta(days=2 * number),
        range_km=range_km,
        light_time_s=range_km / 299_792.458,
        elevation_deg=41.5,
        attitude_mode=2,
        dish_pointed=False,
        bit_rate_bps=1,
        contact=contact,
        margin_db={"1.6m-tlm": 2.5, "32cm-tlm": -7.25},
        usable={"1.6m-tlm": True, "32cm-tlm": False},
        frames_decoded=3 if contact else 0,
        frames_by_band={"1.6m-tlm": 3 if contact else 0},
        commands_acknowledged=2,
        commands_sent=3,
        elapsed_s=1.5,
        report=f"sessions/session_{number:02d}/report.html",
    )


def _mission() -> MissionResult:
    return MissionResult(
        scenario="historical",
        sessions=[_session(1, True, 1e6), _session(2, True, 2e6), _session(3, False, 3e6)],
        schedule="every 2 days",
        documented_sessions_to_21_mar_1963=61,
        workers=2,
        trajectory=TrajectoryFacts(
            datetime(1962, 11, 1, 17, 26, 29, tzinfo=UTC),
            datetime(1963, 6, 19, 12, 0, tzinfo=UTC),
            195_000.0,
        ),
        sessions_planned=4,
        interrupted=True,
        sessions_missing=[4],
    )


def test_mission_json_reads_back_into_the_same_records(tmp_path):
    mission = _mission()
    path = write_mission(tmp_path / "mission.json", mission)
    record = json.loads(path.read_text())
    assert mission_from_record(record) == mission


def test_counts_and_marks_come_from_the_sessions():
    record = mission_record(_mission())
    assert (record["sessions_total"], record["contacts"]) == (3, 2)
    assert record["last_contact"] == {
        "session": 2,
        "start_utc": "1962-11-06T10:00:00.000000Z",
        "range_km": 2e6,
    }
    assert record["first_loss"]["session"] == 3
    assert record["sessions"][0]["frames"] == 3  # the key mission.json has always had
    assert record["trajectory"]["flyby_distance_km"] == 195_000.0


def test_a_mission_without_contact_has_no_marks():
    mission = MissionResult("historical", [_session(1, False, 1e6)])
    assert mission.last_contact is None and mission.first_loss is None
    assert mission_record(mission)["last_contact"] is None


def test_a_non_finite_margin_travels_as_null_and_back():
    session = _session(1, True, 1e6)
    session.margin_db["32cm-tlm"] = math.nan
    record = json.loads(to_json(mission_record(MissionResult("historical", [session]))))
    assert record["sessions"][0]["margin_db"]["32cm-tlm"] is None
    back = mission_from_record(record).sessions[0]
    assert math.isnan(back.margin_db["32cm-tlm"]) and back.margin_db["1.6m-tlm"] == 2.5


def test_a_missing_key_is_named():
    record = json.loads(to_json(mission_record(_mission())))
    del record["sessions"][1]["usable"]
    with pytest.raises(ValueError, match="mission session 2 has no 'usable'"):
        mission_from_record(record)
