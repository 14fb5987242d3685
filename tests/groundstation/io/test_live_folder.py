"""The output folder of a run that writes as it goes (groundstation.io.files.live_folder)."""

from __future__ import annotations

import pytest

from groundstation.errors import OutputError
from groundstation.io.files import RESULT_MARKER, live_folder, staged_folder


def test_an_earlier_set_is_replaced_at_once_and_the_final_set_swaps_in_whole(tmp_path):
    target = tmp_path / "out"
    with staged_folder(target, own_files=["summary.json"]) as staging:
        (staging / "summary.json").write_text("{}", encoding="utf-8")
        (staging / "old.txt").write_text("earlier run", encoding="utf-8")
    with live_folder(target, own_files=["summary.json"]) as folder:
        assert folder == target.absolute()
        assert sorted(p.name for p in target.iterdir()) == [RESULT_MARKER]
        (folder / "telemetry.csv").write_text("row\n", encoding="utf-8")
        with pytest.raises(OutputError, match="another run"):  # the lock is held
            with live_folder(target):
                pass
    with staged_folder(target, own_files=["summary.json"]) as staging:
        (staging / "summary.json").write_text('{"final": true}', encoding="utf-8")
    assert sorted(p.name for p in target.iterdir()) == [RESULT_MARKER, "summary.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_a_folder_of_other_files_is_refused(tmp_path):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(OutputError, match="holds other files"):
        with live_folder(target):
            pass
    assert (target / "holiday.jpg").exists()
