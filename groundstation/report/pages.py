"""Session and mission reports: self-contained HTML pages a person opens in a browser.

``report.html`` (one contact session) tells the story of the session in the order it
happened: where the probe was and how it was oriented, which links could close (ICD §7),
the commands sent, the coherent range-rate check (ICD §6), what each downlink looked like
(a waterfall), the telemetry channels (ICD §4), the pictures (ICD §3) and the spacecraft's
own log. ``mission.html`` follows the link margins and the range over the whole flight.

Each page is three steps: the results become plain records (:mod:`.data`), the records
become figures (:mod:`groundstation.outputs.figures`), and a Jinja2 template with
autoescaping (``templates/*.html``) lays them out. Every plot is a PNG embedded as base64,
the CSS is inline, and nothing is fetched from anywhere: the page can be mailed or
archived as one file. Pages are written atomically (:func:`groundstation.io.files.write_text`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from groundstation.io.files import write_text
from groundstation.outputs.drawing import draw_png
from groundstation.outputs.figures import (
    figure_png,
    margin_figure,
    mission_margin_figure,
    mission_range_figure,
    telemetry_figure,
    waterfall_figure,
)
from groundstation.outputs.spectrum import Waterfall
from groundstation.report import data, mission_data
from groundstation.report.format import carrier_mhz, number, utc_text
from groundstation.report.html import Img, data_uri, picture_img, render
from groundstation.report.images import session_pictures
from groundstation.report.tables import Column, Fact, build_table
from groundstation.results import (
    BandOutcome,
    MissionResult,
    SessionFrame,
    SessionPlan,
    SessionResult,
)
from signals.formats.ppm import CHIP_S
from signals.formats.tlm import SUBCARRIER_HZ


def _figure_img(fig: Any, alt: str, caption: str = "") -> Img:
    return Img(data_uri(figure_png(fig)), alt, caption)


def _drawn(folder: Path | None, name: str) -> bytes | None:
    """The PNG ``name`` drawn ahead into ``folder`` (:func:`draw_session_waterfalls`,
    :func:`draw_session_figures`); None when it is not there (drawn now instead)."""
    if folder is None:
        return None
    path = folder / name
    return path.read_bytes() if path.is_file() else None


def _waterfall_name(band_id: str) -> str:
    return f"waterfall_{band_id}.png"


def _waterfall_title(band_id: str) -> str:
    return f"{band_id} ({carrier_mhz(band_id)})"


def draw_session_waterfalls(folder: Path, waterfalls: Mapping[str, Waterfall]) -> None:
    """Hand the report's waterfalls to :func:`groundstation.outputs.drawing.draw_png`, into
    ``folder``: drawn now, or by the second process while the session goes on.

    :func:`write_session_report` given the same ``folder`` embeds them (the same pixels as
    drawing them itself).
    """
    for band_id, wf in waterfalls.items():
        if isinstance(wf, Waterfall) and wf.power_db.ndim == 2 and wf.power_db.size:
            draw_png("waterfall", folder / _waterfall_name(band_id), wf, _waterfall_title(band_id))


def draw_session_telemetry(folder: Path, frames: Sequence[SessionFrame]) -> None:
    """Hand the report's telemetry plot of ``frames`` (every telemetry band decoded) to
    :func:`groundstation.outputs.drawing.draw_png`, into ``folder`` (see
    :func:`draw_session_waterfalls`)."""
    telemetry = data.session_telemetry(frames)
    if telemetry and telemetry.series.parity_ok.any():
        draw_png("telemetry_panels", folder / "telemetry.png", telemetry.series)


def draw_session_margin(folder: Path, outcomes: Iterable[BandOutcome], plan: SessionPlan) -> None:
    """Hand the report's link-margin chart to :func:`groundstation.outputs.drawing.draw_png`,
    into ``folder`` (see :func:`draw_session_waterfalls`).

    The chart shows the link budgets alone (ICD §7), so a session hands it over once it is
    planned: ``outcomes`` (each band's, in the session's order) need hold nothing more yet.
    """
    bands = data.link_bands(outcomes, plan)
    if bands:
        draw_png("margin", folder / "margin.png", data.margin_bars(bands))


def draw_session_figures(
    folder: Path, result: SessionResult, *, margin: bool = True, telemetry: bool = True
) -> None:
    """Hand the report's link-margin chart (with ``margin``; not when
    :func:`draw_session_margin` had it) and telemetry plot (with ``telemetry``; not when
    :func:`draw_session_telemetry` had it) to :func:`groundstation.outputs.drawing.draw_png`,
    into ``folder`` (see :func:`draw_session_waterfalls`)."""
    if margin:
        draw_session_margin(folder, result.bands.values(), result.plan)
    if telemetry:
        draw_session_telemetry(folder, result.frames)


# ------------------------------------------------------------------------------ session

_SPECTRA_INTRO = (
    "Waterfalls of each downlink as received: time runs down, frequency is measured from "
    "the frequency the receiver was tuned to (nominal carrier plus the predicted Doppler), "
    "so a line off centre is the residual of the Doppler prediction. A telemetry downlink "
    "shows its residual carrier and, once frames start, the BPSK subcarrier sidebands at "
    f"±{SUBCARRIER_HZ:g} Hz (and ±{2 * SUBCARRIER_HZ:g} Hz from the phase modulation); the "
    "coherent 8 cm carrier a single line; the 5 cm image link the sinc² spectrum of its "
    f"{CHIP_S * 1e6:.1f} µs pulses, with nulls {1e-3 / CHIP_S:g} kHz either side of the "
    "carrier."
)


def _waterfall_img(band_id: str, wf: Waterfall, drawn: Path | None = None) -> Img:
    """The waterfall figure, or an image-less record whose caption says why not."""
    if wf.power_db.ndim != 2 or wf.power_db.size == 0:
        return Img("", "", f"{band_id}: the recording holds no samples.")
    png = _drawn(drawn, _waterfall_name(band_id))
    if png is None:
        fig = waterfall_figure(wf, _waterfall_title(band_id))
        if fig is None:
            return Img("", "", f"{band_id}: no finite power in the recording.")
        png = figure_png(fig)
    n_rows, n_fft = wf.power_db.shape
    df_hz = abs(float(wf.freqs_hz[1] - wf.freqs_hz[0])) if n_fft > 1 else 1.0
    caption = (
        f"{band_id}: {n_rows} rows of {wf.segments_per_row} averaged {n_fft}-point Hann "
        f"spectra ({df_hz * n_fft / 1e3:g} kHz wide, {df_hz:.3g} Hz per bin); colour is "
        "power spectral density."
    )
    return Img(data_uri(png), f"waterfall of {band_id}", caption)


def write_session_report(path: Path, result: SessionResult, drawn: Path | None = None) -> Path:
    """Write the self-contained HTML report of one contact session, atomically.

    Parameters
    ----------
    path : Path
        The HTML file to write (``report.html``).
    result : SessionResult
        The session: its plan, each band, the commands, the frames, the pictures, the
        waterfalls (``result.waterfalls``, by band) and the spacecraft's log. Quantities
        not measured may be None or NaN.
    drawn : Path, optional
        A folder where :func:`draw_session_waterfalls` and :func:`draw_session_figures`
        drew the figures ahead (finished); the figures not found there are drawn now.

    Returns
    -------
    Path
        ``path``.
    """
    p = result.plan
    number_, kind = p.number, p.kind
    start = utc_text(p.start_utc)[:19]
    frames = result.frames
    bands = data.session_bands(result)
    downlinks = [b for b in bands if not b.uplink]
    telemetry = data.session_telemetry(frames)
    pictures = session_pictures(result.images)
    elapsed = number(result.elapsed_s)
    footer = (
        "Emulated with the Mars 1 ground station"
        + (f" in {elapsed:.1f} s" if elapsed is not None else "")
        + ". Figures follow the interface control document: link budgets §7, "
        "telemetry §4, images §3, commands §5, coherent link §6."
    )
    html = render(
        "session.html",
        title=f"Mars 1 session {number_}" if number_ is not None else "Mars 1 session",
        heading=f"Mars 1 — session {number_}" if number_ is not None else "Mars 1 — radio session",
        subtitle=f"{kind} session, {start} UTC",
        verdict=data.session_verdict(result),
        story=data.session_story(frames),
        contact=result.contact,
        header_facts=data.session_facts(result),
        budget=data.build_table(data.BUDGET_COLUMNS, bands, status=lambda b: b.status)
        if bands
        else None,
        received=data.build_table(data.RECEIVED_COLUMNS, downlinks, status=lambda b: b.status),
        margin_chart=Img(
            data_uri(
                _drawn(drawn, "margin.png") or figure_png(margin_figure(data.margin_bars(bands)))
            ),
            "link margin per band",
            "Margin above the ICD §7 threshold; a link is usable when it is ≥ 0 dB and, "
            "for the dish bands, the dish is pointed at Earth.",
        )
        if bands
        else None,
        commands=data.session_commands(result),
        range_rate=data.range_rate_check(result),
        spectra_intro=_SPECTRA_INTRO,
        waterfalls=[
            _waterfall_img(b, w, drawn)
            for b, w in result.waterfalls.items()
            if isinstance(w, Waterfall)
        ],
        telemetry=telemetry,
        telemetry_plot=Img(
            data_uri(
                _drawn(drawn, "telemetry.png") or figure_png(telemetry_figure(telemetry.series))
            ),
            "telemetry channels over the session",
            "Decoded telemetry (ICD §4), engineering values of the frames that passed parity.",
        )
        if telemetry and telemetry.series.parity_ok.any()
        else None,
        pictures=[
            {
                "image": picture_img(p.image),
                "mask": picture_img(p.mask),
                "caption": p.caption,
                "problem": p.problem,
            }
            for p in pictures
        ],
        log=list(result.spacecraft_log),
        footer=footer,
    )
    return write_text(path, html)


# ------------------------------------------------------------------------------ mission


def write_mission_report(path: Path, mission: MissionResult) -> Path:
    """Write the self-contained HTML report of a mission replay, atomically.

    Parameters
    ----------
    path : Path
        The HTML file to write (``mission.html``).
    mission : MissionResult
        The replay (:func:`groundstation.session.mission.replay`), or one read back from its
        ``mission.json`` (:func:`groundstation.outputs.mission.mission_from_record`).

    Returns
    -------
    Path
        ``path``.
    """
    sessions = mission.sessions
    bands = mission_data.mission_band_ids(sessions)
    margin_plot = range_plot = None
    if sessions and bands:
        margin_plot = _figure_img(
            mission_margin_figure(sessions, bands),
            "link margin over the flight",
            "Margins at each session's telemetry bit rate (the station picks the fastest "
            "rate that closes, so the telemetry margin stays small while the rate falls). "
            "Solid: the band is usable (dish bands only while the dish is pointed at "
            "Earth); dotted: the margin the budget would give. The marks along the bottom "
            "tell each session's verdict.",
        )
    if (fig := mission_range_figure(sessions)) is not None:
        range_plot = _figure_img(fig, "range over the flight")
    html = render(
        "mission.html",
        title="Mars 1 mission replay",
        contacts=mission.contacts,
        summary=mission_data.mission_summary(mission),
        interrupted=mission_data.mission_interruption(mission),
        mission_facts=mission_data.mission_facts(mission),
        timeline=mission_data.mission_timeline(mission),
        sessions=mission_data.mission_table(sessions) if sessions else None,
        margin_plot=margin_plot,
        range_plot=range_plot,
        footer="Emulated with the Mars 1 ground station; link budgets per ICD §7, "
        "schedule per ICD §1.",
    )
    return write_text(path, html)


def write_sputnik22_report(path: Path, context: Mapping[str, Any]) -> Path:
    """Write the sister craft's report (``--scenario sputnik22``), atomically.

    ``context`` holds the sentences (``verdict``, ``story``, ``tuning``, ``end``), the
    orbit's facts as (name, value) pairs and the passes as rows of
    (rise, set, max elevation, nearest range, Doppler span, largest Doppler rate, note).
    """
    columns = [
        Column("rise", "UTC", lambda r: r[0], numeric=False),
        Column("set", "UTC", lambda r: r[1], numeric=False),
        Column("max elevation", "°", lambda r: r[2]),
        Column("nearest", "km", lambda r: r[3]),
        Column("Doppler at 183.6 MHz", "kHz", lambda r: r[4]),
        Column("largest rate", "Hz/s", lambda r: r[5]),
        Column("what it was", "", lambda r: r[6], numeric=False),
    ]
    html = render(
        "sputnik22.html",
        title="2MV-4 No.1 (Sputnik 22)",
        verdict=context["verdict"],
        story=context["story"],
        tuning=context["tuning"],
        end=context["end"],
        orbit_facts=[Fact(name, value) for name, value in context["facts"]],
        passes=build_table(columns, context["passes"], css="compact"),
        footer="Emulated with the Mars 1 ground station; the sister craft's orbit per "
        "ICD §1, ignition time modelled (docs/sputnik22.md).",
    )
    return write_text(path, html)
