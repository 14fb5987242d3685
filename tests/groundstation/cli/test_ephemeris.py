"""``groundstation ephemeris``: rows against the geometry, formats, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import numpy as np
import pytest

from groundstation.cli.app import main
from groundstation.cli.ephemeris import COLUMNS, parse_duration_s
from signals.constants import AU_KM
from signals.path.geometry import get_trajectory


def test_csv_rows_match_the_trajectory(capsys):
    assert main(["ephemeris", "--from", "1963-03-21", "--to", "1963-03-22", "--step", "6h"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["utc"] for r in rows] == [
        "1963-03-21T00:00:00Z",
        "1963-03-21T06:00:00Z",
        "1963-03-21T12:00:00Z",
        "1963-03-21T18:00:00Z",
        "1963-03-22T00:00:00Z",
    ]
    assert tuple(rows[0]) == COLUMNS
    traj = get_trajectory()
    noon = datetime(1963, 3, 21, 12, tzinfo=UTC)
    assert float(rows[2]["range_km"]) == pytest.approx(traj.range_km(noon), abs=1e-3)
    assert float(rows[2]["elevation_deg"]) == pytest.approx(traj.elevation_deg(noon), abs=1e-4)
    # The ecliptic position has the heliocentric distance of the Sun-distance column and
    # lies near the ecliptic (the transfer orbit is inclined a few degrees).
    xyz = np.array([float(rows[2][k]) for k in ("x_km", "y_km", "z_km")])
    assert np.linalg.norm(xyz) / AU_KM == pytest.approx(float(rows[2]["sun_distance_au"]), 1e-9)
    assert abs(xyz[2]) / np.linalg.norm(xyz) < np.sin(np.radians(5))
    assert float(rows[2]["light_time_s"]) == pytest.approx(
        float(rows[2]["range_km"]) / 299_792.458, abs=1e-5
    )


def test_json_to_file_holds_the_flyby(tmp_path, capsys):
    out = tmp_path / "flyby.json"
    argv = ["ephemeris", "--from", "1963-06-19T06:00", "--to", "1963-06-19T18:00"]
    assert main([*argv, "--step", "10min", "--format", "json", "-o", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 73 and set(rows[0]) == set(COLUMNS)
    nearest = min(rows, key=lambda r: r["mars_distance_km"])
    assert 193_000 <= nearest["mars_distance_km"] <= 197_000
    assert "73 rows" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "1963-01-02", "--to", "1963-01-01", "--step", "1h"], "before --from"),
        (["--from", "1962-11-02", "--to", "1963-06-01", "--step", "1s"], "more than 1,000,000"),
        (["--from", "1962-10-01", "--to", "1962-11-03", "--step", "1h"], "trajectory covers"),
        (["--from", "1963-12-30", "--to", "1964-02-01", "--step", "1h"], "trajectory covers"),
        (["--from", "1963-01-01", "--to", "1963-01-02", "--step", "0h"], "longer than zero"),
        (["--from", "1963-01-01", "--to", "1963-01-02", "--step", "1w"], "not a duration"),
        (["--from", "yesterday", "--to", "1963-01-02", "--step", "1h"], "not a UTC time"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["ephemeris", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1


def test_durations():
    assert parse_duration_s("30s") == 30.0
    assert parse_duration_s("10min") == 600.0
    assert parse_duration_s("2d") == 172_800.0
