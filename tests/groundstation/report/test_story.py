"""The story told: a session's sentence from its telemetry, the mission's timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from groundstation.outputs.mission import mission_from_record
from groundstation.report.data import session_story
from groundstation.report.mission_data import mission_timeline
from groundstation.report.pages import write_mission_report
from groundstation.results import DecodedFrame, SessionFrame
from signals.formats.tlm import FRAME_WORDS


def _frame(parity_ok: bool = True, **channels: float) -> SessionFrame:
    frame = DecodedFrame(
        sample_start=0,
        time_utc=datetime(1962, 11, 1, 18, 30, tzinfo=UTC),
        frame_counter=0,
        frame_type=0,
        parity_ok=parity_ok,
        words=(0,) * FRAME_WORDS,
        channels=channels,
        inverted=False,
        quality_db=12.0,
    )
    return SessionFrame("32cm-tlm", frame)


def test_story_of_the_belt_session():
    rows = [
        _frame(n2_pressure_a_mpa=0.0, n2_pressure_b_mpa=15.0, micrometeoroid_hits=0),
        _frame(mag_x_nt=40.955, mag_y_nt=-3.0, mag_z_nt=1.0, scintillation_cps=2100),
    ]
    story = session_story(rows)
    assert "radiation belts" in story and "saturated" in story
    assert "bottle A reads zero" in story and "15.0 MPa" in story


def test_story_after_the_spin_up_and_without_telemetry():
    rows = [
        _frame(n2_pressure_a_mpa=0.0, n2_pressure_b_mpa=0.0),
        _frame(mag_x_nt=1.0, mag_y_nt=-2.0, mag_z_nt=2.0, scintillation_cps=16),
        _frame(False, mag_x_nt=99.0, scintillation_cps=99999),
    ]
    story = session_story(rows)
    assert "3.0 nT" in story and "spun the craft up" in story
    assert "belts" not in story  # the frame that failed parity is not read
    assert session_story([]) == ""


def _mission_session(number: int, start_utc: str, range_km: float, **kw) -> dict:
    """A session's entry of mission.json, with plain values where the test does not care."""
    return {
        "session": number,
        "kind": "ground-commanded",
        "start_utc": start_utc,
        "range_km": range_km,
        "light_time_s": range_km / 299_792.458,
        "elevation_deg": 40.0,
        "attitude_mode": 0,
        "dish_pointed": True,
        "bit_rate_bps": 1,
        "contact": True,
        "margin_db": {"1.6m-tlm": 1.0},
        "usable": {"1.6m-tlm": True},
        "frames": 2,
        "frames_by_band": {"1.6m-tlm": 2},
        "commands_acknowledged": 3,
        "commands_sent": 3,
        "elapsed_s": 1.0,
    } | kw


def test_mission_timeline_and_links_to_session_reports(tmp_path):
    sessions = [
        _mission_session(
            1, "1962-11-01T17:44:00Z", 9_000.0, report="sessions/session_01/report.html"
        ),
        _mission_session(61, "1963-03-21T17:35:56Z", 106.1e6),
    ]
    mission = {
        "scenario": "historical",
        "sessions": sessions,
        "trajectory": {
            "burn_utc": "1962-11-01T17:26:29Z",
            "flyby_utc": "1963-06-19T11:59:59Z",
            "flyby_distance_km": 194999.8,
        },
    }
    mission = mission_from_record(mission)
    table = mission_timeline(mission)
    texts = [" | ".join(c.text for c in row.cells) for row in table.rows]
    assert len(texts) == 7
    assert "burn at 1962-11-01 17:26 UTC" in texts[1]
    assert "(session 1)" in texts[2]
    assert "session 61, 1963-03-21 at 106.10 million km" in texts[5]
    assert "194,999 km" in texts[6] or "195,000 km" in texts[6]
    html = write_mission_report(tmp_path / "mission.html", mission).read_text()
    assert '<a href="sessions/session_01/report.html">1</a>' in html
    assert "Timeline" in html and "ground-commanded" in html
