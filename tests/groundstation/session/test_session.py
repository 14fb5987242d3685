"""Contact sessions: planning against geometry and budget, bad input, and a whole session."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundstation.errors import SessionError
from groundstation.session.plan import (
    check_visible,
    choose_bit_rate,
    find_session_time,
    plan_session,
)
from groundstation.session.schedule import session_day
from signals.errors import ConfigError
from signals.path.geometry import get_trajectory
from signals.path.link_budget import link_budget

NOV_4 = datetime(1962, 11, 4, tzinfo=UTC)


def test_session_time_is_inside_a_visibility_window():
    start = find_session_time(NOV_4)
    assert start.date() == NOV_4.date()
    assert check_visible(start) >= 5.0


def test_below_the_horizon_is_refused_with_the_next_rise():
    # In November 1962 the probe (declination about +45 deg) never sets at Yevpatoria;
    # by late January it is below the horizon for hours each day.
    trajectory = get_trajectory()
    jan_30 = datetime(1963, 1, 30, tzinfo=UTC)
    grid = [jan_30 + timedelta(minutes=10 * k) for k in range(144)]
    below = next(t for t in grid if float(trajectory.elevation_deg(t)) < 0)
    with pytest.raises(SessionError, match=r"below the horizon.*next rises"):
        plan_session(below)


def test_before_launch_and_outside_the_ephemeris():
    with pytest.raises(SessionError, match="before the launch"):
        plan_session(datetime(1962, 10, 1, tzinfo=UTC))
    with pytest.raises(ConfigError):
        plan_session(datetime(2061, 1, 1, tzinfo=UTC))
    with pytest.raises(SessionError, match="unknown scenario"):
        plan_session(find_session_time(NOV_4), "optimistic")


def test_bit_rate_is_the_fastest_that_closes():
    for range_km in (1e6, 1e7, 5e7, 1e8):
        rate, band_id = choose_bit_rate(range_km, dish_pointed=False)
        assert band_id == "1.6m-tlm"
        assert link_budget(band_id, range_km, bit_rate_bps=rate).margin_db >= 0 or rate == 1
        if rate < 128:
            assert link_budget(band_id, range_km, bit_rate_bps=2 * rate).margin_db < 0
    assert choose_bit_rate(1e6, dish_pointed=True) == (128, "32cm-tlm")


def test_plan_follows_the_attitude_model():
    early = plan_session(find_session_time(NOV_4))
    assert early.dish_pointed and early.budgets["32cm-tlm"].usable
    assert early.images, "the dish is pointed and the 5 cm link closes: an image is asked for"
    late = plan_session(find_session_time(datetime(1962, 12, 13, tzinfo=UTC)))
    assert not late.dish_pointed
    assert not late.budgets["32cm-tlm"].usable and not late.budgets["5cm-ppm"].usable
    assert late.main_band == "1.6m-tlm" and not late.images
    nominal = plan_session(find_session_time(datetime(1962, 12, 13, tzinfo=UTC)), "nominal")
    assert nominal.dish_pointed


def test_session_numbers_follow_the_replay_schedule():
    first = session_day(1)
    assert first.kind == "ground-commanded" and first.fixed_start
    assert first.day_utc == datetime(1962, 11, 1, 17, 44, tzinfo=UTC)
    assert session_day(3).day_utc.date() == datetime(1962, 11, 2).date()
    with pytest.raises(SessionError, match="no session 500"):
        session_day(500)


def test_default_contact_end_to_end(tmp_path):
    """``groundstation contact`` with no arguments: a complete, readable session folder."""
    out = tmp_path / "contact"
    result = subprocess.run(
        [sys.executable, "-m", "groundstation", "contact", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "report:" in result.stdout
    session = json.loads((out / "session.json").read_text())
    for key in ("start_utc", "range_km", "range_rate_km_s", "light_time_s", "elevation_deg"):
        assert key in session
    assert session["contact"] is True
    trajectory = get_trajectory()
    start = datetime.fromisoformat(session["start_utc"].replace("Z", "+00:00"))
    assert session["range_km"] == pytest.approx(float(trajectory.range_km(start)), rel=1e-6)
    assert set(session["bands"]) == {"1.6m-tlm", "32cm-tlm", "8cm-carrier", "5cm-ppm"}
    for band_id in ("1.6m-tlm", "32cm-tlm"):
        band = session["bands"][band_id]
        assert band["usable"] and band["frames_decoded"] > 0 and band["frames_lost"] == 0
        assert band["lock_time_s"] is not None
    ppm = session["bands"]["5cm-ppm"]
    assert ppm["lines_decoded"] > 0 and ppm["lines_lost"] == 0
    assert all(c["accepted"] and c["acknowledged"] for c in session["commands"])
    check = session["range_rate_check"]
    assert check["mode"] == "two-way"
    assert abs(check["error_m_s"]) < 1.0
    assert (out / "telemetry.csv").read_text().count("\n") > 10
    assert any(p.suffix == ".png" for p in (out / "images").iterdir())
    report = (out / "report.html").read_text()
    assert "data:image/png;base64," in report and "http://" not in report
    assert not list(out.rglob("*.sigmf-data")), "recordings are kept only with --record"
    # The decoders' annotated copies carry each annotation's occupied band (ICD §2).
    for band_id in session["bands"]:
        meta = json.loads((out / "bands" / band_id / f"{band_id}.sigmf-meta").read_text())
        annotations = meta["annotations"]
        assert annotations and all(
            a["core:freq_lower_edge"] < a["core:freq_upper_edge"] for a in annotations
        )


def test_phase_angle_grows_through_the_flyby():
    trajectory = get_trajectory()
    closest, distance_km = trajectory.flyby()
    before = float(trajectory.mars_phase_angle_deg(closest - timedelta(days=2)))
    at = float(trajectory.mars_phase_angle_deg(closest))
    after = float(trajectory.mars_phase_angle_deg(closest + timedelta(days=2)))
    assert 0.0 < before < at < after < 180.0
    assert 150_000 < distance_km < 250_000


def test_nominal_flyby_session_sends_mars(tmp_path):
    """As planned (no leak), the dish stays pointed and the flyby session returns Mars."""
    from PIL import Image

    from groundstation.session.contact import run_session

    entry = session_day(80)
    assert entry.kind == "flyby"
    result = run_session(
        find_session_time(entry.day_utc),
        "nominal",
        tmp_path,
        number=80,
        show_progress=False,
        write_report=False,
    )
    ppm = result.bands["5cm-ppm"]
    assert ppm.budget.usable and ppm.lines_decoded == ppm.lines_expected > 0
    assert ppm.lines_lost == 0
    image = np.asarray(Image.open(tmp_path / f"images/{result.images[0].name}.png"), dtype=float)
    left, right = image[:, : image.shape[1] // 2], image[:, image.shape[1] // 2 :]
    assert left.mean() > 3 * right.mean(), "past 90° of phase the lit crescent is on one side"
    historical = plan_session(find_session_time(entry.day_utc), "historical")
    assert not historical.dish_pointed and not historical.images
