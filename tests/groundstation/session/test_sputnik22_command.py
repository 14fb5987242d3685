"""``groundstation contact --scenario sputnik22``: the sister craft's day, told."""

from __future__ import annotations

import csv
import json

from groundstation.cli.app import main


def test_sputnik22_day_is_told_and_nothing_is_heard(tmp_path, capsys):
    out = tmp_path / "s22"
    assert main(["contact", "--scenario", "sputnik22", "-o", str(out)]) == 3
    assert "Nothing heard" in capsys.readouterr().out
    summary = json.loads((out / "session.json").read_text())
    assert summary["heard_before_failure"] is False
    assert summary["passes"][0]["before_ignition"] is False
    html = (out / "report.html").read_text()
    for words in ("debris", "programs the predicted Doppler", "26 February 1963"):
        assert words in html
    with (out / "pass.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and abs(float(rows[0]["doppler_hz"])) > 2000.0


def test_sputnik22_has_no_session_numbers(tmp_path, capsys):
    argv = ["contact", "--scenario", "sputnik22", "--session", "3", "-o", str(tmp_path / "x")]
    assert main(argv) == 2
    assert capsys.readouterr().err.count("\n") == 1
