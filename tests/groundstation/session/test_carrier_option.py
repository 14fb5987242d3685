"""``groundstation contact --carrier-s``: the carrier before telemetry, 20 s or 1962's ~17 min."""

from __future__ import annotations

import pytest

from groundstation.cli.app import main


@pytest.mark.parametrize("value", ["15", "0", "2560", "-10"])
def test_carrier_seconds_outside_the_command_range_are_one_line_exit_2(capsys, value, tmp_path):
    assert main(["contact", "--carrier-s", value, "-o", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "--carrier-s" in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists()
