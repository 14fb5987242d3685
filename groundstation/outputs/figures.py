"""Every matplotlib figure of the ground station's outputs, drawn from plain data.

The session and mission reports (:mod:`groundstation.report`) and the per-recording
decoders (``telemetry.png`` of ``groundstation decode``) draw their plots here, so that a
telemetry panel is defined once (:data:`TELEMETRY_PANELS`) and looks the same wherever it
appears. Functions take arrays and small records, never a session dictionary, and return
a :class:`matplotlib.figure.Figure` (Agg, no global backend switch); :func:`figure_png`
turns one into the compact PNG the reports embed, :func:`plot_png` into the RGB PNG of a
plot with many shades. matplotlib is imported by the functions
that draw, not with this module: the records (:class:`TelemetrySeries`, :class:`MissionPoint`)
are built where nothing is drawn, or where the drawing is left to a second process
(:mod:`groundstation.outputs.drawing`).
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from groundstation.io.files import atomic_path
from groundstation.outputs.spectrum import Waterfall
from groundstation.results import CarrierEstimate
from groundstation.results.mission import MissionSession
from signals.dsp import block_power_spectra
from signals.formats.tlm import CHANNEL_BY_NAME, AttitudeMode

if TYPE_CHECKING:
    import PIL.Image
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

GOOD_COLOUR: Final = "#2e8b47"
BAD_COLOUR: Final = "#c0392b"
MUTED_COLOUR: Final = "#7a8191"


def figure_png(fig: Figure) -> bytes:
    """The figure as an 8-bit palette PNG (a third of the RGBA size; plots use few colours).

    Drawn once at 100 dpi on a white ground, and its pixels quantised as they are: the
    pixels ``savefig`` would have encoded as an RGBA PNG, without encoding and decoding it.
    Compressed at zlib's default level: Pillow's ``optimize`` took 10-80 ms more a figure
    for files 1-12 % smaller.
    """
    from PIL import Image

    rgb = _drawn(fig).convert("RGB")
    palette = rgb.quantize(256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="PNG")
    return out.getvalue()


def plot_png(fig: Figure) -> bytes:
    """The figure as the pixels of ``savefig(dpi=100)`` at zlib's fastest level, in RGB where
    the alpha channel is opaque all over (on the white ground: the figures drawn here): a
    third of ``savefig``'s encoding time, the file about 5 % smaller. For the plots whose
    many shades a palette would change (the band folders' telemetry plot and spectrum)."""
    image = _drawn(fig)
    if image.getextrema()[3][0] == 255:
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _drawn(fig: Figure) -> PIL.Image.Image:
    """The figure drawn at 100 dpi on a white ground (RGBA)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(100)
    fig.set_facecolor("white")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())


def _write_png(path: Path | str, png: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(png)
    return Path(path)


def write_figure_png(path: Path | str, fig: Figure) -> Path:
    """Write :func:`figure_png` of ``fig`` to ``path`` atomically."""
    return _write_png(path, figure_png(fig))


def write_plot_png(path: Path | str, fig: Figure) -> Path:
    """Write :func:`plot_png` of ``fig`` to ``path`` atomically."""
    return _write_png(path, plot_png(fig))


def import_matplotlib_for_drawing() -> None:
    """Import matplotlib without the property tables of its artists' docstrings, in a
    process of the command line that draws figures into files (the figures' process,
    ``contact``'s own): about a quarter of matplotlib's import, for text nobody reads there.

    matplotlib writes a table of every settable property, with each setter's docstring,
    into the docstring of each artist class's ``set`` as the class is made
    (``matplotlib.artist.kwdoc``, about a hundred classes); here that table is left empty,
    for the rest of the process. Nothing drawn changes (tested: the same PNG bytes). Does
    nothing where ``matplotlib.artist`` is imported already (by whom, it is not this
    function's to change) or has no ``kwdoc``. Only the command line calls it
    (:mod:`~groundstation.outputs.drawing`): never an import of this module, a figure drawn
    or a :class:`~groundstation.outputs.drawing.FigureProcess` made by a library caller.
    """
    if "matplotlib.artist" in sys.modules:
        return
    import matplotlib.artist

    if callable(getattr(matplotlib.artist, "kwdoc", None)):
        matplotlib.artist.kwdoc = _no_property_table


def _no_property_table(artist: object) -> str:
    """``matplotlib.artist.kwdoc`` in a process that only draws: no table."""
    return ""


def warm_up() -> None:
    """Import what drawing a figure needs and draw a small throwaway one (lines, markers,
    a legend, titles, tick labels; a PNG into memory), so that the first real figure pays
    neither the imports nor the first use of the fonts and the PNG encoder.

    The figures' process (:mod:`groundstation.outputs.drawing`) calls it while it waits
    for its first figure; it changes no figure drawn afterwards.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(2.0, 2.0))
    ax = fig.add_subplot()
    ax.plot([0.0, 1.0], [0.0, 1.0], marker="o", markersize=3, label="a")
    ax.step([0.0, 1.0], [1.0, 0.0], where="post", label="b")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, ncols=2, frameon=False)
    ax.set_title("warm-up (°C)", fontsize=10)
    ax.set_xlabel("s after 00:00:00 UTC", fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(io.BytesIO(), format="png", dpi=100)


def _no_data(ax: Axes, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=MUTED_COLOUR)
    ax.set_yticks([])


def _date_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


# ------------------------------------------------------------------------------ link margins


@dataclass(frozen=True)
class MarginBar:
    """One band's bar in the link-margin chart.

    Attributes
    ----------
    band_id : str
        ICD §1 band id.
    margin_db : float or None
        Margin above the ICD §7 threshold (dB); None when unknown.
    usable : bool
        Whether the link is usable (margin and, for dish bands, pointing).
    reason : str
        Why it is or is not usable (shown when the margin alone does not tell).
    """

    band_id: str
    margin_db: float | None
    usable: bool
    reason: str = ""


def margin_figure(bars: Sequence[MarginBar]) -> Figure:
    """Horizontal bars of the link margin per band (green usable, red unusable)."""
    from matplotlib.figure import Figure

    labels = []
    for b in bars:
        # Say why when the margin itself does not (e.g. the dish is not pointed).
        why = not b.usable and b.reason and not b.reason.startswith(("margin", "below"))
        labels.append(f"{b.band_id}\n({b.reason})" if why else b.band_id)
    # A fixed layout, not matplotlib's constrained one (which lays the figure out by drawing
    # it): the left margin is the widest band label, measured, the rest the same for every
    # chart.
    height_in = 0.55 * len(bars) + 1.3
    fig = Figure(figsize=(9.0, height_in), dpi=100)
    label_px = _widest_text_px(fig, labels, 9)
    left = min((label_px + 22.0) / 900.0, 0.5)
    fig.subplots_adjust(left=left, right=0.985, bottom=0.62 / height_in, top=1.0 - 0.36 / height_in)
    ax = fig.add_subplot()
    y = np.arange(len(bars))[::-1]
    values = [b.margin_db if b.margin_db is not None else 0.0 for b in bars]
    ax.barh(y, values, color=[GOOD_COLOUR if b.usable else BAD_COLOUR for b in bars], height=0.6)
    ax.axvline(0.0, color="#1d2330", linewidth=1.0)
    ax.set_yticks(y, labels, fontsize=9)
    span = max([abs(v) for v in values] + [1.0])
    for yi, b in zip(y, bars, strict=True):
        m = b.margin_db
        text = "n/a" if m is None else f"{m:+.1f} dB" + ("" if b.usable else " (unusable)")
        x = 0.0 if m is None else m
        ax.text(
            x + (0.01 if x >= 0 else -0.01) * span,
            yi,
            f" {text} ",
            va="center",
            ha="left" if x >= 0 else "right",
            fontsize=9,
        )
    lo, hi = min([*values, 0.0]), max([*values, 0.0])
    # room left of a negative bar for its label, right of the longest for its own
    ax.set_xlim(lo - 0.5 * span if lo < 0 else -0.05 * span, hi + 0.3 * span)
    ax.set_xlabel("link margin (dB)")
    ax.set_title("Link margin per band (green: usable, red: unusable)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def _widest_text_px(fig: Figure, texts: Sequence[str], fontsize: float) -> float:
    """Width of the widest of ``texts`` (of its widest line) at ``fontsize`` points, in
    ``fig``'s pixels (0 without texts)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    widest = 0.0
    for text in texts:
        probe = fig.text(0, 0, text, fontsize=fontsize)
        widest = max(widest, float(probe.get_window_extent(renderer).width))
        probe.remove()
    return widest


def write_margin_png(path: Path | str, bars: Sequence[MarginBar]) -> Path:
    """Draw :func:`margin_figure` to ``path`` as :func:`figure_png` (atomically)."""
    return write_figure_png(path, margin_figure(bars))


# ------------------------------------------------------------------------------ waterfall


def waterfall_figure(wf: Waterfall, title: str) -> Figure | None:
    """The waterfall as an image (time down, frequency across); None when it holds no
    finite power."""
    power = np.asarray(wf.power_db, dtype=np.float32)
    finite = power[np.isfinite(power)] if power.ndim == 2 else power[:0]
    if finite.size == 0:
        return None
    vmin = float(np.percentile(finite, 5.0))
    vmax = float(finite.max())
    if vmax - vmin < 3.0:
        vmin = vmax - 3.0
    freqs_khz = np.asarray(wf.freqs_hz, dtype=float) / 1e3
    times = np.asarray(wf.times_s, dtype=float)
    df = (freqs_khz[1] - freqs_khz[0]) if freqs_khz.size > 1 else 1.0
    if times.size > 1:
        dt = (times[-1] - times[0]) / (times.size - 1)
        t0, t1 = times[0] - dt / 2, times[-1] + dt / 2
    else:
        t0, t1 = 0.0, max(2 * float(times[0]) if times.size else 1.0, 1e-6)
    from matplotlib.figure import Figure

    # A fixed layout, not matplotlib's constrained one (which lays the figure out by drawing
    # it: half of its cost): the labels are the same for every waterfall, the tick labels
    # at most five characters wide (times to 99999 s, powers to -999 dB).
    fig = Figure(figsize=(9.0, 3.9))
    ax = fig.add_axes((0.083, 0.125, 0.812, 0.805))
    image = ax.imshow(
        np.nan_to_num(power, nan=vmin, posinf=vmax, neginf=vmin),
        aspect="auto",
        origin="upper",
        cmap="viridis",
        vmin=vmin,
        vmax=vmax,
        extent=(freqs_khz[0] - df / 2, freqs_khz[-1] + df / 2, t1, t0),
        interpolation="nearest",
    )
    ax.set_xlabel("frequency from the tuned carrier (kHz)")
    ax.set_ylabel("time in recording (s)")
    ax.set_title(title)
    bar = fig.colorbar(image, cax=fig.add_axes((0.905, 0.125, 0.017, 0.805)))
    bar.set_label("PSD (dB re 1/Hz)")
    return fig


def waterfall_drawable(wf: Waterfall) -> bool:
    """Whether :func:`waterfall_figure` draws anything: the waterfall holds finite power."""
    power = np.asarray(wf.power_db)
    return power.ndim == 2 and bool(np.isfinite(power).any())


def write_waterfall_png(path: Path | str, wf: Waterfall, title: str) -> Path | None:
    """Draw :func:`waterfall_figure` to ``path`` as :func:`figure_png` (atomically); None
    when there is nothing to draw."""
    fig = waterfall_figure(wf, title)
    return None if fig is None else write_figure_png(path, fig)


# ------------------------------------------------------------------------------ telemetry


@dataclass(frozen=True)
class TelemetryPanel:
    """One panel of the telemetry plot.

    Attributes
    ----------
    title : str
        Panel title (the unit of its first channel is appended).
    channels : tuple of str
        ICD §4 channel names drawn together (same unit).
    min_span : float
        Smallest y span shown, in the channels' unit, so that one quantisation step of a
        steady channel does not fill the panel.
    floor : float or None
        Physical lower bound of the quantity (a pressure or a count cannot go below 0):
        the axis never starts below it.
    from_floor : bool
        The axis always starts at ``floor``, so that a fall reads as the fraction it is
        (the nitrogen pressure of a leaking bottle).
    integer : bool
        Integer ticks (counters).
    labels : tuple of str
        Legend label of each channel, where the title already says what the channels'
        names repeat (empty: :func:`channel_short_name` of each).
    """

    title: str
    channels: tuple[str, ...]
    min_span: float
    floor: float | None = None
    from_floor: bool = False
    integer: bool = False
    labels: tuple[str, ...] = ()


#: The telemetry panels, in reading order (three per row).
TELEMETRY_PANELS: Final[tuple[TelemetryPanel, ...]] = (
    TelemetryPanel("Battery voltage", ("battery_v",), 1.0),
    TelemetryPanel("Currents", ("battery_a", "solar_array_a"), 1.0),
    TelemetryPanel(
        "N₂ bottle pressure",
        ("n2_pressure_a_mpa", "n2_pressure_b_mpa"),
        2.0,
        floor=0.0,
        from_floor=True,
        labels=("bottle a", "bottle b"),
    ),
    TelemetryPanel(
        "Temperatures",
        ("temp_orbital_c", "temp_experiment_c", "temp_radiator_c"),
        10.0,
        labels=("orbital", "experiment", "radiator"),
    ),
    TelemetryPanel(
        "Magnetic field", ("mag_x_nt", "mag_y_nt", "mag_z_nt"), 2.0, labels=("x", "y", "z")
    ),
    TelemetryPanel("Micrometeoroid hits", ("micrometeoroid_hits",), 4.0, 0.0, integer=True),
    TelemetryPanel(
        "Radiation counters", ("gas_discharge_cps", "scintillation_cps"), 10.0, 0.0, integer=True
    ),
    TelemetryPanel("Attitude mode", ("attitude_mode",), 0.0),
    TelemetryPanel("Commands received", ("command_count",), 4.0, 0.0, integer=True),
)

#: Short tick labels of the attitude-mode panel (ICD §4).
_ATTITUDE_TICKS: Final = {
    AttitudeMode.SUN_STAR: "Sun–star",
    AttitudeMode.GYRO: "gyro",
    AttitudeMode.SPIN_SUN_AXIS: "spin",
    AttitudeMode.UNCONTROLLED: "uncontr.",
}
_UNIT_SUFFIXES: Final = {"min", "mpa", "v", "a", "c", "nt", "cps"}


def channel_short_name(channel: str) -> str:
    """A channel name without its unit suffix: ``temp_orbital_c`` → ``temp orbital``."""
    stem, _, suffix = channel.rpartition("_")
    if stem and suffix in _UNIT_SUFFIXES:
        channel = stem
    return channel.replace("_", " ")


@dataclass(frozen=True)
class TelemetrySeries:
    """Decoded telemetry frames as arrays, one entry per frame in time order.

    Attributes
    ----------
    times_s : np.ndarray
        Time of each frame (s after ``t0_utc``; frame numbers when ``t0_utc`` is None).
    t0_utc : datetime or None
        UTC of ``times_s == 0``.
    parity_ok : np.ndarray
        Whether each frame passed its parity checks (bool).
    channels : dict of str to np.ndarray
        Engineering values per ICD §4 channel (NaN where a frame does not carry it).
    """

    times_s: np.ndarray
    t0_utc: datetime | None
    parity_ok: np.ndarray
    channels: dict[str, np.ndarray]

    @classmethod
    def from_frames(
        cls,
        times_utc: Sequence[datetime | None],
        values: Sequence[Mapping[str, float | int | None]],
        parity_ok: Sequence[bool],
    ) -> TelemetrySeries:
        """Arrays from per-frame times, channel values and parity flags.

        When any time is missing, frames are placed by their number instead. A parity
        flag counts only as a bool: anything else is a failed frame.
        """
        known = [t for t in times_utc if t is not None]
        if len(known) == len(times_utc) and known:
            t0 = min(known)
            times_s = np.array([(t - t0).total_seconds() for t in known], dtype=float)
        else:
            t0, times_s = None, np.arange(len(times_utc), dtype=float)
        names = list(dict.fromkeys(name for frame in values for name in frame))
        channels = {
            name: np.array([_finite(frame.get(name)) for frame in values], dtype=float)
            for name in names
        }
        ok = np.array([isinstance(p, bool | np.bool_) and bool(p) for p in parity_ok], dtype=bool)
        return cls(times_s, t0, ok, channels)

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.times_s.size)

    @property
    def time_label(self) -> str:
        """The x-axis label."""
        return "frame number" if self.t0_utc is None else f"s after {self.t0_utc:%H:%M:%S} UTC"


def _finite(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return math.nan
    return float(value)


def _y_limits(values: np.ndarray, panel: TelemetryPanel) -> tuple[float, float] | None:
    """The y range: the data widened to ``min_span``, never below the physical floor."""
    lo, hi = float(values.min()), float(values.max())
    if panel.from_floor and panel.floor is not None:
        return panel.floor, max(hi + 0.08 * (hi - panel.floor), panel.floor + panel.min_span)
    if hi - lo >= panel.min_span:
        return None
    mid = 0.5 * (lo + hi)
    lo, hi = mid - 0.5 * panel.min_span, mid + 0.5 * panel.min_span
    if panel.floor is not None and lo < panel.floor:
        lo, hi = panel.floor, panel.floor + panel.min_span
    return lo, hi


#: Height added above a multi-channel panel's data for its row of labels, as a fraction of
#: the data's range.
_LEGEND_BAND = 0.2


def _draw_panel(ax: Axes, panel: TelemetryPanel, series: TelemetrySeries) -> None:
    ok = series.parity_ok
    shown: list[np.ndarray] = []
    labels = panel.labels or tuple(channel_short_name(c) for c in panel.channels)
    for channel, label in zip(panel.channels, labels, strict=True):
        values = series.channels.get(channel)
        if values is None:
            continue
        good = np.isfinite(values) & ok
        if not good.any():
            continue
        shown.append(values[good])
        draw = ax.step if channel == "attitude_mode" else ax.plot
        kwargs = {"where": "post"} if channel == "attitude_mode" else {"marker": "o"}
        draw(
            series.times_s[good],
            values[good],
            markersize=3,
            linewidth=1.0,
            label=label,
            # a value on an axis that starts at its physical floor stays whole
            clip_on=panel.floor is None,
            **kwargs,
        )
    unit = CHANNEL_BY_NAME[panel.channels[0]].unit
    # y given: the title sits at the top edge without matplotlib measuring every tick label
    # to keep clear of ticks on top (there are none): a third of the figure's drawing time
    ax.set_title(f"{panel.title} ({unit})" if unit else panel.title, fontsize=10, y=1.0)
    # Frames that failed parity: a red tick along the bottom at their time, no value.
    bad_times = series.times_s[~ok]
    if bad_times.size:
        ax.plot(
            bad_times,
            np.full(bad_times.size, 0.04),
            transform=ax.get_xaxis_transform(),
            linestyle="none",
            marker="|",
            markersize=8,
            color=BAD_COLOUR,
        )
    if not shown:
        has_values = any(
            np.isfinite(series.channels.get(c, np.array([]))).any() for c in panel.channels
        )
        _no_data(ax, "no frame passed parity" if has_values else "no data")
        return
    if panel.channels == ("attitude_mode",):
        ax.set_yticks(list(_ATTITUDE_TICKS), list(_ATTITUDE_TICKS.values()))
        ax.set_ylim(-0.5, len(_ATTITUDE_TICKS) - 0.5)
        return
    data = np.concatenate(shown)
    limits = _y_limits(data, panel)
    if limits is not None:
        ax.set_ylim(*limits)
    elif panel.floor is not None and ax.get_ylim()[0] < panel.floor <= data.min():
        ax.set_ylim(bottom=panel.floor)
    ax.ticklabel_format(axis="y", useOffset=False)
    if panel.integer:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(panel.channels) > 1:
        # One row of labels in a band kept clear above the data, so that no label hides
        # a point whatever the values do.
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + _LEGEND_BAND * (hi - lo))
        ax.legend(
            fontsize=7,
            loc="upper center",
            ncols=len(panel.channels),
            frameon=False,
            handlelength=1.2,
            columnspacing=0.9,
            borderaxespad=0.2,
        )


#: Tick objects made ahead on each axis of a :func:`telemetry_grid` (more than a panel shows).
_TICKS_AHEAD = 12


@dataclass(frozen=True)
class TelemetryGrid:
    """The telemetry plot's empty figure and panels, for :func:`telemetry_figure` to fill.

    Attributes
    ----------
    fig : Figure
        The figure (9.0 × 7.8 in), nothing drawn on it yet.
    axes : np.ndarray
        Its 3 × 3 panels (:class:`matplotlib.axes.Axes`), sharing their time axis.
    """

    fig: Figure
    axes: np.ndarray


def telemetry_grid(
    *, ticks_ahead: int = 0, until: Callable[[], bool] | None = None
) -> TelemetryGrid:
    """The telemetry plot's figure and panels, the same for every session.

    A fixed grid, not matplotlib's constrained layout: the panels and their labels are the
    same for every session, and laying them out again costs more than drawing them.

    Parameters
    ----------
    ticks_ahead : int
        Tick objects made now on each axis, so that drawing the plot does not make them
        (about a fifth of its drawing time): for a grid made before its data is there,
        by the figures' process while it waits (:mod:`groundstation.outputs.drawing`).
        The plot is the same, byte for byte: ticks past those a panel shows are not
        drawn, and every setting made afterwards applies to each tick made.
    until : callable, optional
        Asked before each panel's ticks: once it returns True, the remaining panels are
        left to make theirs when drawn (a figure is waiting).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 7.8))
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.065, top=0.91, wspace=0.32, hspace=0.3)
    axes = fig.subplots(3, 3, sharex=True)
    for ax in axes.ravel():  # set on the grid: with the ticks made ahead, not when drawn
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel() if ticks_ahead else ():
        if until is not None and until():
            break
        ax.xaxis.get_major_ticks(ticks_ahead)
        ax.yaxis.get_major_ticks(ticks_ahead)
    return TelemetryGrid(fig, axes)


def spare_telemetry_grid(until: Callable[[], bool] | None = None) -> TelemetryGrid:
    """A :func:`telemetry_grid` with its tick objects made ahead (until ``until`` says
    stop): made while the figures' process waits, taken by the next telemetry plot
    (``grid`` of :func:`write_telemetry_png`, :func:`write_telemetry_figure_png`)."""
    return telemetry_grid(ticks_ahead=_TICKS_AHEAD, until=until)


def telemetry_figure(
    series: TelemetrySeries, *, title: str = "", grid: TelemetryGrid | None = None
) -> Figure:
    """The :data:`TELEMETRY_PANELS` of decoded frames against time.

    Only frames that passed parity are plotted (a failed frame's values cannot be
    trusted); each failed frame is a red tick along the bottom of every panel at its time,
    and the title counts them.

    Parameters
    ----------
    series : TelemetrySeries
        The decoded frames.
    title : str
        Figure title; the frame counts are appended.
    grid : TelemetryGrid, optional
        An unused :func:`telemetry_grid` to draw on (made ahead); by default one is made
        now. The figure is the same either way.
    """
    grid = grid if grid is not None else telemetry_grid()
    fig, axes = grid.fig, grid.axes
    for ax, panel in zip(axes.ravel(), TELEMETRY_PANELS, strict=True):
        _draw_panel(ax, panel, series)
    for ax in axes[-1]:
        ax.set_xlabel(series.time_label, fontsize=8)
    n_ok = int(series.parity_ok.sum())
    n_bad = series.n_frames - n_ok
    counts = f"{n_ok} of {series.n_frames} frames passed parity"
    if n_bad:
        counts += f"; red ticks: the {n_bad} that failed (values not plotted)"
    fig.suptitle(f"{title}: {counts}" if title else counts, fontsize=10, y=0.985)
    return fig


def write_telemetry_png(
    path: Path | str, series: TelemetrySeries, title: str, *, grid: TelemetryGrid | None = None
) -> Path:
    """Draw :func:`telemetry_figure` (on ``grid`` if given) to ``path`` (:func:`plot_png`,
    atomically)."""
    return write_plot_png(path, telemetry_figure(series, title=title, grid=grid))


def write_telemetry_figure_png(
    path: Path | str, series: TelemetrySeries, *, grid: TelemetryGrid | None = None
) -> Path:
    """Draw :func:`telemetry_figure` (no title; on ``grid`` if given) to ``path`` as
    :func:`figure_png`, the session report's plot (atomically)."""
    return write_figure_png(path, telemetry_figure(series, grid=grid))


# ------------------------------------------------------------------------------ carrier


def write_carrier_spectrum_png(
    path: Path | str,
    x: np.ndarray,
    fs_hz: float,
    t0_s: float,
    est: CarrierEstimate,
    title: str,
) -> Path:
    """The coherent carrier's ``spectrum.png``: the averaged spectrum of the record, and a
    zoom around the estimated carrier after de-chirping (:func:`plot_png`, atomically).

    Parameters
    ----------
    path : path
        The PNG to write.
    x : numpy.ndarray
        The complex samples the carrier was measured on.
    fs_hz : float
        Their sample rate (Hz).
    t0_s : float
        Time of the first sample from the start of the recording (s).
    est : CarrierEstimate
        The measured carrier (offset, rate, C/N0).
    title : str
        Title of the upper panel.
    """
    from matplotlib.figure import Figure

    n = x.size
    t = np.arange(n) / fs_hz + t0_s
    seg = 1 << max(5, min(14, int(math.log2(max(n // 8, 32)))))
    p = block_power_spectra(x, seg)
    p_avg = p.mean(axis=0) / (seg * fs_hz)
    f = np.fft.fftshift(np.fft.fftfreq(seg, 1.0 / fs_hz))
    # De-chirped zoom around the carrier: the full record, frequency at mid-record removed.
    phase = est.offset_at_start_hz * t + 0.5 * est.rate_hz_per_s * t * t
    y = x * np.exp(-2j * math.pi * (phase - np.floor(phase)))
    nfft = 1 << int(math.ceil(math.log2(n)) + 2)
    zoom = np.abs(np.fft.fftshift(np.fft.fft(y, nfft))) ** 2 / float(n) ** 2  # A² at the peak
    fz = np.fft.fftshift(np.fft.fftfreq(nfft, 1.0 / fs_hz))
    half = 20.0 / (n / fs_hz)
    sel = np.abs(fz) <= half

    # A fixed layout, not matplotlib's constrained one (which draws the figure twice: a
    # third of its cost): the labels are the same for every carrier, the tick labels at
    # most five characters wide.
    fig = Figure(figsize=(8, 6))
    fig.subplots_adjust(left=0.09, right=0.99, bottom=0.08, top=0.955, hspace=0.33)
    ax1, ax2 = fig.subplots(2, 1)
    ax1.plot(f, 10 * np.log10(np.maximum(p_avg, 1e-30)), lw=0.7)
    ax1.axvline(est.frequency_offset_hz, color="C3", lw=0.8, ls="--")
    ax1.set_xlabel("offset from tuned frequency (Hz)")
    ax1.set_ylabel("PSD (dB/Hz)")
    ax1.set_title(title)
    ax2.plot(fz[sel], 10 * np.log10(np.maximum(zoom[sel], 1e-30)), lw=0.8)
    ax2.set_xlabel("offset from the estimated carrier after de-chirping (Hz)")
    ax2.set_ylabel("power relative to A² = 1 (dB)")
    ax2.set_title(
        f"carrier {est.frequency_offset_hz:+.4f} Hz, rate {est.rate_hz_per_s:+.4f} Hz/s, "
        f"C/N0 {est.cn0_dbhz:.1f} dB-Hz"
    )
    return write_plot_png(path, fig)


# ------------------------------------------------------------------------------ mission


def _contact_rug(ax: Axes, points: Sequence[MissionSession]) -> None:
    """Marks along the bottom: a green bar for a session with contact, a red cross without."""
    rug = ax.get_xaxis_transform()
    for contact, marker, colour, size, label in (
        (True, "|", GOOD_COLOUR, 9, "contact"),
        (False, "x", BAD_COLOUR, 5, "no contact"),
    ):
        dates = [p.start_utc for p in points if p.contact is contact]
        if dates:
            ax.plot(
                dates,
                [0.03] * len(dates),
                transform=rug,
                linestyle="none",
                marker=marker,
                color=colour,
                markersize=size,
                label=label,
            )


def mission_margin_figure(points: Sequence[MissionSession], bands: Sequence[str]) -> Figure:
    """Link margin of each band over the flight, and the bit rate chosen per session."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    x = [p.start_utc for p in points]
    fig = Figure(figsize=(9.0, 5.6), layout="constrained")
    ax, ax_rate = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    all_values = []
    for band_id in bands:
        values = np.array([p.margin_db.get(band_id, math.nan) for p in points], dtype=float)
        usable = np.array([p.usable.get(band_id, True) for p in points], dtype=bool)
        if not np.isfinite(values).any():
            continue
        all_values.append(values[np.isfinite(values)])
        line = ax.plot(x, values, linestyle=":", linewidth=1.0, alpha=0.6)
        ax.plot(
            x,
            np.where(usable, values, math.nan),
            color=line[0].get_color(),
            marker="o",
            markersize=3,
            linewidth=1.6,
            label=band_id,
        )
    ax.axhline(0.0, color="#1d2330", linewidth=1.0)
    _contact_rug(ax, points)
    if all_values:
        data = np.concatenate(all_values)
        lo, hi = min(0.0, float(data.min())), max(0.0, float(data.max()))
        ax.set_ylim(lo - 0.12 * (hi - lo + 1.0), hi + 0.05 * (hi - lo + 1.0))
    ax.set_ylabel("link margin (dB)")
    ax.set_title("Link margin of each band over the flight")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right", ncols=3)
    rates = np.array(
        [p.bit_rate_bps if p.bit_rate_bps and p.bit_rate_bps > 0 else math.nan for p in points]
    )
    if np.isfinite(rates).any():
        ax_rate.plot(
            x, rates, drawstyle="steps-post", color="#596173", marker="o", markersize=3, lw=1.2
        )
        ax_rate.set_yscale("log", base=2)
        ax_rate.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        _no_data(ax_rate, "no bit rate")
    ax_rate.set_ylabel("bit/s")
    ax_rate.set_title("Telemetry bit rate chosen for each session", fontsize=10)
    ax_rate.grid(alpha=0.3)
    _date_axis(ax_rate)
    return fig


def mission_range_figure(points: Sequence[MissionSession]) -> Figure | None:
    """Distance from Earth at each session, marked by verdict; None without any range."""
    points = [p for p in points if math.isfinite(p.range_km)]
    if not points:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([p.start_utc for p in points], [p.range_km / 1e6 for p in points], color="#8a93a6")
    for contact, marker, colour, size, label in (
        (True, "o", GOOD_COLOUR, 5, "contact"),
        (False, "x", BAD_COLOUR, 6, "no contact"),
    ):
        chosen = [p for p in points if p.contact is contact]
        if chosen:
            ax.plot(
                [p.start_utc for p in chosen],
                [p.range_km / 1e6 for p in chosen],
                linestyle="none",
                marker=marker,
                color=colour,
                markersize=size,
                label=label,
            )
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel("range (million km)")
    ax.set_title("Distance from Earth at each session")
    _date_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig
