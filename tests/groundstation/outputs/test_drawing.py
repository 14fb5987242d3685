"""Figures drawn by a second process are the figures drawn in the first, byte for byte;
whatever happens to the second process, every figure handed to it is written; an early end
kills it and leaves nothing behind."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from groundstation.outputs import drawing
from groundstation.outputs.figures import (
    MarginBar,
    TelemetrySeries,
    figure_png,
    plot_png,
    telemetry_figure,
    warm_up,
    waterfall_drawable,
    waterfall_figure,
    write_margin_png,
    write_telemetry_png,
    write_waterfall_png,
)
from groundstation.outputs.spectrum import Waterfall

REPO_ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(1962, 11, 4, 9, 12, 30, tzinfo=UTC)


def _series(n: int = 20) -> TelemetrySeries:
    times = [T0 + timedelta(seconds=4 * i) for i in range(n)]
    values = [{"battery_v": 27.0 + 0.1 * i, "command_count": i // 5} for i in range(n)]
    return TelemetrySeries.from_frames(times, values, [i % 7 != 3 for i in range(n)])


def _waterfall(seed: int = 1) -> Waterfall:
    rng = np.random.default_rng(seed)
    power = (-60.0 + rng.standard_normal((40, 64))).astype(np.float32)
    power[:, 20] += 25.0  # a carrier
    return Waterfall(
        freqs_hz=np.linspace(-4000.0, 4000.0, 64, endpoint=False),
        times_s=np.arange(40) * 0.5 + 0.25,
        power_db=power,
        segments_per_row=4,
    )


def _bars() -> list[MarginBar]:
    return [
        MarginBar("1.6m-tlm", 20.9, True, "margin +20.9 dB"),
        MarginBar("5cm-ppm", -3.5, False, "dish not pointed at Earth"),
        MarginBar("8cm-carrier", None, False, "not sent"),
    ]


def test_figures_drawn_aside_are_those_drawn_here(tmp_path) -> None:
    # The second process draws them all (this one takes none): its matplotlib is imported
    # without its docstrings' property tables (figures.import_matplotlib_for_drawing), this
    # one's whole.
    here, aside = tmp_path / "here", tmp_path / "aside"
    write_telemetry_png(here / "telemetry.png", _series(), "t")
    write_waterfall_png(here / "waterfall.png", _waterfall(), "w")
    write_margin_png(here / "margin.png", _bars())
    with drawing.figures_aside(drawing.FigureProcess(share=False)) as process:
        drawing.expect_figure("telemetry", aside / "telemetry.png")  # a grid made ahead
        drawing.draw_png("telemetry", aside / "telemetry.png", _series(), "t")
        drawing.draw_png("waterfall", aside / "waterfall.png", _waterfall(), "w")
        drawing.draw_png("margin", aside / "margin.png", _bars())
        assert process.running
        drawing.wait_for_figures()
        assert not process.running
    for name in ("telemetry.png", "waterfall.png", "margin.png"):
        assert (aside / name).read_bytes() == (here / name).read_bytes()


def _kwdoc_module_after(code: str) -> str:
    """Run ``code`` in a fresh interpreter, then name the module of ``matplotlib.artist.kwdoc``
    (``groundstation.outputs.figures`` once the property tables are left out)."""
    code += "\nimport matplotlib.artist\nprint(matplotlib.artist.kwdoc.__module__)\n"
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return done.stdout.split()[-1]


def test_the_figures_process_imports_matplotlib_without_property_tables() -> None:
    # _serve as the figures' process runs it, its input closed at once
    serve = (
        "import os, sys\n"
        "from groundstation.outputs import drawing\n"
        "os._exit = sys.exit\n"
        "try:\n"
        "    drawing._serve()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert _kwdoc_module_after(serve) == "groundstation.outputs.figures"


@pytest.mark.parametrize("lighter", [True, False])
def test_only_a_command_that_asks_draws_here_with_the_lighter_import(tmp_path, lighter) -> None:
    # contact's process (lighter_matplotlib=True) takes queued figures and draws them with
    # the lighter import; a library caller's FigureProcess keeps matplotlib whole.
    draw_here = (
        "from pathlib import Path\n"
        "from groundstation.outputs import drawing\n"
        "from groundstation.outputs.figures import MarginBar\n"
        f"process = drawing.FigureProcess(lighter_matplotlib={lighter})\n"
        "process.kill()  # every figure is drawn here\n"
        "with drawing.figures_aside(process):\n"
        f"    path = Path({str(tmp_path)!r}) / 'margin.png'\n"
        "    drawing.draw_png('margin', path, [MarginBar('1.6m-tlm', 3.0, True, 'm')])\n"
        "    drawing.wait_for_figures()\n"
        "assert path.stat().st_size > 0\n"
    )
    expected = "groundstation.outputs.figures" if lighter else "matplotlib.artist"
    assert _kwdoc_module_after(draw_here) == expected


def test_the_lighter_import_does_nothing_once_matplotlib_is_there() -> None:
    whole_first = (
        "import matplotlib.lines\n"
        "from groundstation.outputs.figures import import_matplotlib_for_drawing\n"
        "import_matplotlib_for_drawing()\n"
        "assert 'antialiased' in matplotlib.lines.Line2D.set.__doc__\n"
    )
    assert _kwdoc_module_after(whole_first) == "matplotlib.artist"


def test_a_process_waiting_for_figures_queued_draws_the_last_of_them(tmp_path) -> None:
    """Figures handed over faster than the second process draws them (here all of them
    before it has imported matplotlib): the first one, waiting, takes the last queued and
    draws them itself, the second one the first; each is drawn once, the same bytes."""
    here = tmp_path / "here"
    with drawing.figures_aside() as process:
        for k in range(4):
            drawing.draw_png("waterfall", tmp_path / f"w{k}.png", _waterfall(), f"w{k}")
        drawing.flush_figures()
        taken = sorted(int(f.stem) for f in process._folder.glob("*.taken"))
        started = sorted(int(f.stem) for f in process._folder.glob("*.drawing"))
        drawing.wait_for_figures()
    assert taken and started  # both drew
    assert sorted(taken + started) == [0, 1, 2, 3]  # each once
    assert min(taken) > max(started)  # the first from the back, the second from the front
    for k in range(4):
        write_waterfall_png(here / f"w{k}.png", _waterfall(), f"w{k}")
        assert (tmp_path / f"w{k}.png").read_bytes() == (here / f"w{k}.png").read_bytes()


def test_a_process_that_does_not_share_leaves_every_figure_queued_to_the_second(tmp_path) -> None:
    """A decode's process (``share=False``) waits without drawing, however many figures
    are queued when it starts to wait: it never loads matplotlib for them."""
    process = drawing.FigureProcess(share=False)
    try:
        with drawing.figures_aside(process):
            for k in range(4):
                drawing.draw_png("waterfall", tmp_path / f"w{k}.png", _waterfall(), f"w{k}")
            drawing.flush_figures()
            assert not list(process._folder.glob("*.taken"))
            assert process._drawn == process._replies == {b"0", b"1", b"2", b"3"}  # by it
            drawing.wait_for_figures()
    finally:
        process.close()
    assert all((tmp_path / f"w{k}.png").stat().st_size > 0 for k in range(4))


def test_the_warm_up_changes_no_figure_drawn_after_it(tmp_path) -> None:
    write_telemetry_png(tmp_path / "before.png", _series(), "t")
    warm_up()
    write_telemetry_png(tmp_path / "after.png", _series(), "t")
    assert (tmp_path / "after.png").read_bytes() == (tmp_path / "before.png").read_bytes()


def test_the_second_process_draws_each_job_and_ends_when_its_input_does(tmp_path) -> None:
    process = drawing.FigureProcess()
    child = process._process
    assert child is not None
    try:
        process.submit("waterfall", tmp_path / "w.png", _waterfall(), "w")
        replies, _ = child.communicate(timeout=drawing.WAIT_S)  # its input closed
        assert replies == b"0\n"  # drawn by it, not failed
        assert child.returncode == 0
        write_waterfall_png(tmp_path / "here.png", _waterfall(), "w")
        assert (tmp_path / "w.png").read_bytes() == (tmp_path / "here.png").read_bytes()
    finally:
        process.close()


def test_a_figure_announced_takes_a_part_made_ahead_once(tmp_path) -> None:
    spares = drawing._Spares()
    assert not spares.make_one(lambda: False)  # nothing announced, nothing made
    a, b = tmp_path / "a" / "telemetry.png", tmp_path / "b" / "telemetry.png"
    spares.expect("telemetry", drawing._key(a))
    spares.expect("telemetry", drawing._key(a))  # the same figure announced again
    spares.expect("telemetry_panels", drawing._key(b))  # drawn on the same kind of grid
    spares.expect("waterfall", drawing._key(tmp_path / "w.png"))  # nothing to make ahead
    assert spares.make_one(lambda: False)
    assert spares.make_one(lambda: False)
    assert not spares.make_one(lambda: False)  # two announced, two made
    assert set(spares.take("telemetry_panels", b)) == {"grid"}
    kwargs = spares.take("telemetry", a)
    assert set(kwargs) == {"grid"}
    assert spares.take("telemetry", a) == {} and spares.take("waterfall", a) == {}
    assert not spares.make_one(lambda: False)  # both drawn: none wanted
    drawing._figure_function("telemetry")(tmp_path / "ahead.png", _series(), "t", **kwargs)
    write_telemetry_png(tmp_path / "here.png", _series(), "t")
    assert (tmp_path / "ahead.png").read_bytes() == (tmp_path / "here.png").read_bytes()


def test_a_figure_announced_before_its_path_is_counted_once(tmp_path) -> None:
    """``contact`` announces its telemetry plots at start-up, before the plan says where
    they go: the same figures announced again with their paths are not more figures."""
    spares = drawing._Spares()
    a, b = tmp_path / "a" / "telemetry.png", tmp_path / "b" / "telemetry.png"
    spares.expect("telemetry", b"?1")
    spares.expect("telemetry_panels", b"?2")
    assert spares.make_one(lambda: False)  # one made before the paths are known
    spares.expect("telemetry", drawing._key(a))
    spares.expect("telemetry_panels", drawing._key(b))
    assert spares.make_one(lambda: False)
    assert not spares.make_one(lambda: False)  # two announced (twice each), two made
    assert set(spares.take("telemetry", a)) == {"grid"}
    assert set(spares.take("telemetry_panels", b)) == {"grid"}
    assert not spares.make_one(lambda: False)  # both drawn: none wanted
    assert spares.take("telemetry", tmp_path / "c.png") == {}


def test_figures_a_dead_process_did_not_draw_are_drawn_by_the_first(tmp_path) -> None:
    with drawing.figures_aside() as process:
        process.kill()
        drawing.draw_png("waterfall", tmp_path / "waterfall.png", _waterfall(), "w")
        drawing.wait_for_figures()
    write_waterfall_png(tmp_path / "here.png", _waterfall(), "w")
    assert (tmp_path / "waterfall.png").read_bytes() == (tmp_path / "here.png").read_bytes()


def test_leaving_early_kills_the_process_and_writes_nothing(tmp_path) -> None:
    with pytest.raises(KeyError), drawing.figures_aside() as process:
        drawing.draw_png("telemetry", tmp_path / "telemetry.png", _series(400), "t")
        raise KeyError("an error in the decode")
    assert not process.running
    assert list(tmp_path.iterdir()) == []


def test_stopping_the_figures_kills_the_process_before_a_folder_is_removed(tmp_path) -> None:
    folder = tmp_path / "drawn"
    with drawing.figures_aside() as process:
        drawing.draw_png("telemetry", folder / "telemetry.png", _series(400), "t")
        drawing.stop_figures()
        assert not process.running
        shutil.rmtree(folder, ignore_errors=True)
    assert list(tmp_path.iterdir()) == []  # nothing written after the folder was removed


def test_outside_the_block_figures_are_drawn_at_once(tmp_path) -> None:
    drawing.draw_png("waterfall", tmp_path / "waterfall.png", _waterfall(), "w")
    assert (tmp_path / "waterfall.png").exists()


def test_a_figure_png_is_the_quantised_savefig() -> None:
    """figure_png draws once and quantises the pixels savefig would have encoded."""
    from PIL import Image

    fig = waterfall_figure(_waterfall(), "w")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    buffer.seek(0)
    with Image.open(buffer) as rgba:
        expected = rgba.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    with Image.open(io.BytesIO(figure_png(waterfall_figure(_waterfall(), "w")))) as got:
        assert got.size == expected.size
        assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(expected.convert("RGB")))


def test_a_plot_png_holds_the_savefig_pixels_without_alpha() -> None:
    """plot_png draws once and keeps every pixel savefig would have encoded: the alpha
    channel it drops is opaque all over."""
    from PIL import Image

    buffer = io.BytesIO()
    telemetry_figure(_series(), title="t").savefig(buffer, format="png", dpi=100)
    buffer.seek(0)
    with Image.open(buffer) as rgba:
        expected = np.asarray(rgba.convert("RGBA"))
    assert (expected[..., 3] == 255).all()
    with Image.open(io.BytesIO(plot_png(telemetry_figure(_series(), title="t")))) as got:
        assert got.mode == "RGB"
        assert np.array_equal(np.asarray(got), expected[..., :3])


def test_a_waterfall_without_finite_power_is_not_drawn(tmp_path) -> None:
    empty = Waterfall(
        freqs_hz=np.arange(4.0),
        times_s=np.arange(2.0),
        power_db=np.full((2, 4), np.nan, np.float32),
        segments_per_row=1,
    )
    assert not waterfall_drawable(empty)
    assert waterfall_drawable(_waterfall())
    assert write_waterfall_png(tmp_path / "w.png", empty, "w") is None


def test_flush_returns_with_the_figures_so_far_and_keeps_the_process(tmp_path) -> None:
    write_waterfall_png(tmp_path / "here.png", _waterfall(), "w")
    with drawing.figures_aside() as process:
        drawing.draw_png("waterfall", tmp_path / "first.png", _waterfall(), "w")
        drawing.flush_figures()
        assert (tmp_path / "first.png").read_bytes() == (tmp_path / "here.png").read_bytes()
        assert process.running  # still there for more figures
        drawing.draw_png("waterfall", tmp_path / "second.png", _waterfall(), "w")
        drawing.wait_for_figures()
    assert (tmp_path / "second.png").read_bytes() == (tmp_path / "here.png").read_bytes()


def test_a_figure_the_second_process_fails_is_drawn_by_the_first(tmp_path) -> None:
    """The second process answers for a figure it failed; the first draws it (and here
    fails the same way, as drawing it at once would)."""
    with drawing.figures_aside():
        drawing.draw_png("waterfall", tmp_path / "w.png", "not a waterfall", "w")
        with pytest.raises(AttributeError):
            drawing.flush_figures()
