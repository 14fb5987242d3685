"""The mutation check and the output comparison (``tools/``) on small folders made here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"tools_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutants = _load("mutants")
compare = _load("compare_outputs")


def test_the_mutants_apply_to_this_checkout() -> None:
    """At least 15 lines found, none found twice (a line rewritten by a later change is
    reported "not applied" by the tool and should then be updated in its list)."""
    root = TOOLS.parent
    assert len({m.name for m in mutants.MUTANTS}) == len(mutants.MUTANTS)
    assert all(m.replacement != m.original for m in mutants.MUTANTS)
    where = [mutants.locate(root, m) for m in mutants.MUTANTS]
    assert not [w for w in where if isinstance(w, str) and w != "line not found"]
    assert sum(not isinstance(w, str) for w in where) >= 15


def test_a_moved_line_is_found_by_its_text(tmp_path: Path) -> None:
    (tmp_path / "signals" / "formats").mkdir(parents=True)
    (tmp_path / "groundstation" / "receivers" / "tlm").mkdir(parents=True)
    moved = tmp_path / "groundstation" / "receivers" / "tlm" / "frames.py"
    moved.write_bytes(b"def f():\r\n    if True:\r\n        return x % 256\r\n")
    m = mutants.Mutant(
        "m", "groundstation/receivers/tlm.py", "return x % 256", "return x % 255", ()
    )
    where = mutants.locate(tmp_path, m)
    assert (where.path, where.index) == (moved, 2)
    text = mutants.mutated_text(moved.read_bytes().decode(), where.index, m)
    assert text == "def f():\r\n    if True:\r\n        return x % 255\r\n"
    (tmp_path / "signals" / "formats" / "copy.py").write_text("return x % 256\n")
    assert mutants.locate(tmp_path, m).startswith("line found in ")
    gone = mutants.Mutant("g", "signals/formats/ppm.py", "nothing like this", "x", ())
    assert mutants.locate(tmp_path, gone) == "line not found"


def test_compare_reports_each_kind_of_difference(tmp_path: Path) -> None:
    ref, new = tmp_path / "ref", tmp_path / "new"
    for folder in (ref, new):
        (folder / "images").mkdir(parents=True)
        (folder / "summary.json").write_text('{\n  "a": 1\n}\n')
    (ref / "only_ref.csv").write_text("x\n")
    (new / "only_new.csv").write_text("x\n")
    (ref / "t.csv").write_text("h\n1,2\n")
    (new / "t.csv").write_text("h\n1,3\n")
    pixels = np.zeros((4, 5), np.uint8)
    Image.fromarray(pixels).save(ref / "images" / "i.png")
    pixels[1, 2] = 9
    Image.fromarray(pixels).save(new / "images" / "i.png")
    meta = '{\n  "global": {\n    "core:dataset": "%s/rec.sigmf-data"\n  }\n}\n'
    (ref / "rec.sigmf-meta").write_text(meta % "../../base/fixtures/ppm")
    (new / "rec.sigmf-meta").write_text(meta % "../../other/place/fixtures/ppm")
    rows = {rel: (status, detail) for rel, status, detail in compare.compare_dirs(ref, new)}
    assert rows["summary.json"] == ("identical", "")
    assert rows["only_ref.csv"][0] == "MISSING" and rows["only_new.csv"][0] == "EXTRA"
    assert rows["t.csv"] == ("DIFFERENT", "line 2: '1,2' -> '1,3'")
    assert rows["images/i.png"] == ("DIFFERENT", "1 of 20 pixels differ")
    assert rows["rec.sigmf-meta"][0] == "equivalent"
    strict = {rel: s for rel, s, _ in compare.compare_dirs(ref, new, strict=True)}
    assert strict["rec.sigmf-meta"] == "DIFFERENT"
    (new / "rec.sigmf-meta").write_text(meta.replace("}\n}", '}, "x": 1\n}') % "a")
    assert compare.compare_file(ref / "rec.sigmf-meta", new / "rec.sigmf-meta")[0] == "DIFFERENT"
    (ref / "s.json").write_text('{"a": 1, "l": [{"x": 1}, {"x": 1}], "gone": 0}')
    (new / "s.json").write_text('{"a": 2, "l": [{"x": 1, "y": 0}, {"x": 1, "y": 0}]}')
    assert compare.compare_file(ref / "s.json", new / "s.json") == (
        "DIFFERENT",
        "JSON +l[*].y ×2, -gone, ~a",
    )
    (new / "s.json").write_text('{"l": [{"x": 1}, {"x": 1}], "gone": 0, "a": 1}')
    assert compare.compare_file(ref / "s.json", new / "s.json") == (
        "DIFFERENT",
        "same JSON content, other formatting or key order",
    )


@pytest.mark.parametrize("argv", [["--list"], ["--only", "ppm-line-marker", "--list"]])
def test_mutants_list_runs_nothing(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    assert mutants.main(argv) == 0
    assert "ppm-line-marker" in capsys.readouterr().out
