"""Session and mission reports: self-contained pages that tell the session.

The page checks read the written HTML: nothing external, every figure a PNG that decodes,
the key figures of the session in the text, and no crash when parts are missing.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import math
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from groundstation.outputs.drawing import figures_aside, wait_for_figures
from groundstation.outputs.mission import mission_from_record
from groundstation.outputs.ppm import grey_to_8bit
from groundstation.outputs.spectrum import Waterfall, compute_waterfall
from groundstation.report.data import session_verdict
from groundstation.report.format import attitude_name
from groundstation.report.images import session_images
from groundstation.report.pages import (
    draw_session_figures,
    draw_session_margin,
    draw_session_waterfalls,
    write_mission_report,
    write_session_report,
)
from groundstation.results import (
    BandOutcome,
    CommandOutcome,
    DecodedFrame,
    DecodedImage,
    RangeRateCheck,
    RecordingInfo,
    SessionImage,
    SessionPlan,
    SessionResult,
    TelemetryBandResult,
    TelemetryDecodeResult,
)
from groundstation.session.score import made_contact
from signals.bands import bands_of_kind
from signals.formats.tlm import CHANNELS, FRAME_WORDS, FrameType
from signals.path.link_budget import link_budget

START = datetime(1962, 11, 4, 9, 12, 30, tzinfo=UTC)
PNG_SRC = re.compile(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _noise(n: int, sigma2: float, rng: np.random.Generator) -> np.ndarray:
    scale = math.sqrt(sigma2 / 2)
    return (scale * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)


# ------------------------------------------------------------------------------ session


def _image_png(path: Path, rng: np.random.Generator) -> Path:
    Image.fromarray(rng.integers(0, 256, (48, 64), dtype=np.uint8), mode="L").save(path)
    return path


def _waterfall(fs_hz: float, f_hz: float, rng: np.random.Generator) -> Waterfall:
    x = _noise(1 << 16, 1.0, rng)
    x += (0.5 * np.exp(2j * np.pi * f_hz * np.arange(x.size) / fs_hz)).astype(np.complex64)
    return compute_waterfall([x], fs_hz, n_fft=1024, max_rows=400)


def _band(band_id: str, range_km: float, rate: float | None, dish: bool, **outcome) -> BandOutcome:
    budget = link_budget(band_id, range_km, bit_rate_bps=rate, dish_pointed=dish)
    return BandOutcome(band_id, budget, **({"transmitted": bool(budget.usable)} | outcome))


def _decoded_frame(
    i: int, kind: FrameType, parity_ok: bool, channels: dict[str, float | int]
) -> DecodedFrame:
    return DecodedFrame(
        sample_start=1000 * i,
        time_utc=START + timedelta(seconds=20 + 4 * i),
        frame_counter=i % 128,
        frame_type=int(kind),
        parity_ok=parity_ok,
        words=(0,) * FRAME_WORDS,
        channels=channels,
        inverted=False,
        quality_db=12.0,
    )


def _frames(n_frames: int) -> list[DecodedFrame]:
    frames = []
    for i in range(n_frames):
        kind = FrameType(i % 2)
        channels: dict[str, float | int] = {
            ch.name: round(1.5 * k + 0.1 * i, 2) for k, ch in enumerate(CHANNELS[kind])
        }
        if kind == FrameType.ENGINEERING:
            channels |= {"attitude_mode": 0, "tx_state": 31, "last_command": 3}
        frames.append(_decoded_frame(i, kind, i != 3, channels))
    return frames


def _telemetry(frames: list[DecodedFrame], cn0_dbhz: float = 68.9) -> TelemetryBandResult:
    info = RecordingInfo("32cm-tlm", "32cm-tlm", 8000.0, 10**6, START, "32cm-tlm.sigmf-meta")
    decode = TelemetryDecodeResult(frames, cn0_dbhz, 20.5, 112.5, 0.01, bit_rate_bps=64.0)
    return TelemetryBandResult(info, decode)


def _picture(rng: np.random.Generator) -> SessionImage:
    received = np.ones(48, dtype=bool)
    received[[7, 30]] = False
    grey = rng.integers(0, 64, (48, 64)).astype(np.int16) * received[:, None]
    image = DecodedImage(
        image_id=1,
        lines=48,
        pixels=64,
        mode=0,
        grey=grey,
        received=received,
        lines_missing=[7, 30],
        snr_db=17.25,
        line_snr_db=np.full(48, 17.25),
        sample_start=0,
        sample_count=48_000,
    )
    return SessionImage(image, "image_1", 180_000.0)


def _command(opcode: str, argument: int, sent_s: float, received_s: float | None, ack):
    return CommandOutcome(
        opcode=opcode,
        argument=argument,
        description=f"{opcode} {argument}",
        sent_utc=START + timedelta(seconds=sent_s),
        received_utc=None if received_s is None else START + timedelta(seconds=received_s),
        acknowledged=ack,
    )


def _plan(range_km: float, budgets: dict, **facts) -> SessionPlan:
    values = {
        "start_utc": START,
        "scenario": "historical",
        "number": 3,
        "kind": "automatic",
        "range_km": range_km,
        "range_rate_km_s": 3.8123,
        "light_time_s": range_km / 299_792.458,
        "elevation_deg": 52.3,
        "sun_distance_au": 0.987,
        "days_since_launch": 2.706,
        "dish_pointed": True,
        "attitude_mode": 0,
        "bit_rate_bps": 64,
        "main_band": "32cm-tlm",
        "budgets": budgets,
        "commands": (),
        "images": (1,),
        "two_way": True,
    }
    return SessionPlan(**(values | facts))


def _session(range_km: float = 3_456_789.0, rng: np.random.Generator | None = None):
    rate = 64.0
    rng = rng or np.random.default_rng(21)
    bands = {
        "1.6m-tlm": _band("1.6m-tlm", range_km, rate, True, transmitted=True),
        "32cm-tlm": _band(
            "32cm-tlm",
            range_km,
            rate,
            True,
            frames_decoded=11,
            frames_lost=1,
            frames_expected=12,
            lock_time_s=2.4,
            decoded=_telemetry(_frames(12)),
        ),
        "8cm-carrier": _band("8cm-carrier", range_km, None, True),
        "5cm-ppm": _band("5cm-ppm", range_km, None, True, lines_decoded=46, lines_lost=2),
    }
    budgets = {b: o.budget for b, o in bands.items()}
    budgets["1.6m-cmd"] = link_budget("1.6m-cmd", range_km, bit_rate_bps=10.0)
    return SessionResult(
        plan=_plan(range_km, budgets),
        outdir=None,
        bands=bands,
        commands=[
            _command("START_SESSION", 1, 0.0, 12.5, True),
            _command("SET_BIT_RATE", 6, 12.0, None, None),
        ],
        spacecraft_log=["09:12:43 command 0x01 start session accepted"],
        range_rate_check=RangeRateCheck(
            mode="two-way",
            measured_range_rate_km_s=3.812345,
            geometry_range_rate_km_s=3.812300,
            predicted_range_rate_km_s=3.8123,
            error_m_s=0.045,
            carrier_offset_hz=-3.25,
            cn0_dbhz=70.1,
        ),
        images=[_picture(rng)],
        contact=True,
        elapsed_s=12.5,
    )


def _pngs(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in PNG_SRC.findall(text)]


class _TagBalance(HTMLParser):
    """Records elements closed out of order or never closed."""

    VOID = frozenset({"meta", "img", "br"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.errors.append(f"</{tag}> at {self.getpos()} inside {self.open[-3:]}")


def _assert_self_contained(text: str) -> None:
    assert text.startswith("<!DOCTYPE html>")
    balance = _TagBalance()
    balance.feed(text)
    assert balance.errors == [] and balance.open == []
    assert 'src="http' not in text and 'href="http' not in text
    assert "<script" not in text and "<link" not in text
    n_img = text.count("<img")
    pngs = _pngs(text)
    assert len(pngs) == n_img
    for png in pngs:
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG"
            image.load()


def _grey(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"))


def test_session_report_tells_the_session(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    session = _session(rng=rng)
    session.spacecraft_log.append("a <tag> & more")
    session.waterfalls.update(
        {
            "32cm-tlm": _waterfall(8000.0, 1024.0, rng),
            "5cm-ppm": _waterfall(180_000.0, 20_000.0, rng),
        }
    )
    out = write_session_report(tmp_path / "report.html", session)
    text = out.read_text(encoding="utf-8")
    _assert_self_contained(text)
    assert not list(tmp_path.glob(".report.html.*"))
    for figure in (
        "3.457 million km",
        "+3.812 km/s",
        "2.71 d",
        "52.3 °",
        "Sun–star oriented",
        "session 3",
        "historical",
        "1962-11-04 09:12:30",
        "46 lines received",
        "missing lines 7, 30",
        "SNR 17.2",
        "+0.045 m/s",
        "a &lt;tag&gt; &amp; more",
        "0x02 set bit rate",
        "2 commands sent, 1 acted on by the spacecraft, 1 acknowledged",
        "11 / 1",
        "46 / 2",
        # the last engineering and science frames, when they came down
        "<td>1962-11-04 09:13:30.0</td>",
        "<td>1962-11-04 09:13:34.0</td>",
    ):
        assert figure in text, figure
    for band_id in ("1.6m-tlm", "32cm-tlm", "8cm-carrier", "5cm-ppm", "1.6m-cmd"):
        assert band_id in text
    assert f"{session.plan.light_time_s:.2f} s" in text
    assert f"{session.bands['32cm-tlm'].budget.margin_db:+.1f}" in text
    verdict = session_verdict(session)
    assert verdict.startswith("Contact: 11 telemetry frames (1 lost) decoded on 32cm-tlm")
    assert verdict in text.replace("&#x27;", "'")
    # margin chart, 2 waterfalls, telemetry grid, the image and the decoder's mask
    pngs = _pngs(text)
    assert len(pngs) == 6
    image = session.images[0].image
    np.testing.assert_array_equal(_grey(pngs[-2]), grey_to_8bit(image.grey))
    np.testing.assert_array_equal(_grey(pngs[-1])[:, 0], np.where(image.received, 255, 0))
    assert len(text.encode()) < 3_000_000
    # readable names, not the summary's keys
    words = PNG_SRC.sub("", text)
    for key in ("cn0", "ebn0", "carrier_offset", "frequency_offset"):
        assert key not in words, key


def test_a_report_with_its_figures_drawn_ahead_is_the_same_page(tmp_path: Path) -> None:
    """Figures drawn ahead into a folder (by a second process meanwhile) are embedded as
    they are: the page is the one drawn all at once, byte for byte."""
    rng = np.random.default_rng(21)
    session = _session(rng=rng)
    session.waterfalls.update({"32cm-tlm": _waterfall(8000.0, 1024.0, rng)})
    at_once = write_session_report(tmp_path / "at_once.html", session).read_bytes()
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    with figures_aside():
        draw_session_waterfalls(drawn, session.waterfalls)
        draw_session_figures(drawn, session)
        wait_for_figures()
    assert {p.name for p in drawn.iterdir()} == {
        "waterfall_32cm-tlm.png",
        "margin.png",
        "telemetry.png",
    }
    ahead = write_session_report(tmp_path / "ahead.html", session, drawn).read_bytes()
    assert ahead == at_once


def test_the_margin_chart_drawn_once_the_session_is_planned_is_the_one_drawn_at_its_end(
    tmp_path: Path,
) -> None:
    """A session hands its margin chart over before anything is sent: the outcomes then
    hold their link budgets only, and the chart is the same, byte for byte."""
    session = _session()
    planned = [BandOutcome(band_id, o.budget) for band_id, o in session.bands.items()]
    at_start, at_end = tmp_path / "start", tmp_path / "end"
    at_start.mkdir()
    at_end.mkdir()
    draw_session_margin(at_start, planned, session.plan)
    draw_session_figures(at_end, session, telemetry=False)
    assert [p.name for p in at_start.iterdir()] == ["margin.png"]
    assert (at_start / "margin.png").read_bytes() == (at_end / "margin.png").read_bytes()


def test_frames_that_all_failed_parity_are_counted_and_not_plotted(tmp_path: Path) -> None:
    session = _session()
    failed = [dataclasses.replace(f, parity_ok=False) for f in _frames(2)]
    session.bands["32cm-tlm"] = dataclasses.replace(
        session.bands["32cm-tlm"],
        frames_decoded=0,
        frames_lost=2,
        frames_expected=2,
        decoded=_telemetry(failed),
    )
    session.contact = False
    out = write_session_report(tmp_path / "r.html", session)
    text = out.read_text(encoding="utf-8")
    _assert_self_contained(text)
    assert "0 / 2" in text
    assert "2 frames received (1 engineering, 1 science): 0 passed parity" in text
    assert "so none is plotted" in text
    assert "telemetry channels over the session" not in text  # no plot
    assert "every frame received failed parity" in session_verdict(session)


def test_the_command_table_counts_the_end_of_session_command(tmp_path: Path) -> None:
    # The spacecraft's log counts every command it accepts, the end of the session too.
    session = _session()
    session.end_command = _command("END_SESSION", 0, 120.0, 132.5, None)
    out = write_session_report(tmp_path / "r.html", session)
    text = out.read_text(encoding="utf-8")
    assert "3 commands sent, 2 acted on by the spacecraft, 1 acknowledged" in text
    assert "The last, 0x06 end session, went once the downlinks were in" in text
    table = text[text.index("<h2>Commands</h2>") : text.index("<h2>Coherent")]
    assert table.count("<tr>") == 1 + 3  # the header and one row per command


def test_session_report_without_bands_commands_or_pictures(tmp_path: Path) -> None:
    nothing = SessionResult(
        plan=_plan(math.nan, {}, number=None, range_rate_km_s=math.nan, images=()),
        outdir=None,
        bands={},
        commands=[],
        spacecraft_log=[],
        range_rate_check=None,
        images=[],
        contact=False,
        elapsed_s=math.nan,
    )
    out = write_session_report(tmp_path / "r.html", nothing)
    text = out.read_text(encoding="utf-8")
    _assert_self_contained(text)
    assert "No contact" in text
    assert "No telemetry frame was decoded" in text
    # a frame without values that failed parity, an empty waterfall
    session = _session()
    session.images = []
    session.bands["32cm-tlm"] = dataclasses.replace(
        session.bands["32cm-tlm"],
        decoded=_telemetry([_decoded_frame(0, FrameType.ENGINEERING, False, {})]),
    )
    session.waterfalls["1.6m-tlm"] = compute_waterfall([], 1000.0, n_fft=64)
    out = write_session_report(tmp_path / "r2.html", session)
    text = out.read_text(encoding="utf-8")
    _assert_self_contained(text)
    assert "the recording holds no samples" in text


def test_pictures_named_in_a_summary_an_unreadable_one_and_a_line_strip(tmp_path: Path) -> None:
    # The decode page reads a summary's entries: a file that is not a PNG is said, and
    # without the decoder's mask a strip marks each line, the two missing ones in red.
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    entry = {"id": 1, "lines": 48, "pixels": 64, "mode": 0, "lines_missing": [7, 30]}
    (picture,) = session_images([entry], [bad], tmp_path)
    assert "not a readable PNG" in picture.problem
    strip = Image.open(io.BytesIO(picture.mask.png)).convert("RGB")
    assert strip.size[1] == 48
    red = [y for y in range(48) if strip.getpixel((0, y))[0] > 150 > strip.getpixel((0, y))[1]]
    assert red == [7, 30]


def test_session_report_takes_numpy_scalars(tmp_path: Path) -> None:
    session = _session()
    session.plan = dataclasses.replace(
        session.plan, range_km=np.float64(session.plan.range_km), attitude_mode=np.int64(2)
    )
    session.bands["32cm-tlm"] = dataclasses.replace(
        session.bands["32cm-tlm"], decoded=_telemetry(_frames(12), cn0_dbhz=np.float32(68.94))
    )
    session.range_rate_check = dataclasses.replace(
        session.range_rate_check, error_m_s=np.float64(np.nan)
    )
    out = write_session_report(tmp_path / "r.html", session)
    text = out.read_text(encoding="utf-8")
    _assert_self_contained(text)
    for figure in ("3.457 million km", "2 — spin about the Sun axis"):
        assert figure in text, figure
    # the measured C/N0 in its own column of the receivers' table
    assert re.search(r"Measured by the receivers.*<td class=\"num\">68\.94</td>", text, re.S)
    assert not re.search(r"\b(True|False|nan|NaN|inf)\b", text)


def _verdict_session(range_km: float, bands: dict[str, BandOutcome]) -> SessionResult:
    return SessionResult(
        plan=_plan(range_km, {b: o.budget for b, o in bands.items()}),
        outdir=None,
        bands=bands,
        commands=[],
        spacecraft_log=[],
        range_rate_check=None,
        images=[],
        contact=made_contact(bands.values()),
        elapsed_s=1.0,
    )


def test_verdicts_say_why() -> None:
    far = 115e6
    no_close = _verdict_session(
        far,
        {
            "1.6m-tlm": _band("1.6m-tlm", far, 1.0, False),
            "32cm-tlm": _band("32cm-tlm", far, 1.0, False),
        },
    )
    verdict = session_verdict(no_close)
    assert verdict.startswith("No contact at 115.00 million km: no telemetry link closes")
    assert "below threshold by" in verdict and "dish not pointed at Earth" in verdict
    lost = _verdict_session(
        1e6,
        {
            "1.6m-tlm": _band(
                "1.6m-tlm", 1e6, 1.0, False, transmitted=True, error="no sync word found"
            )
        },
    )
    verdict = session_verdict(lost)
    assert "closes" in verdict and "no sync word found" in verdict
    assert attitude_name(2) == "spin about the Sun axis"
    assert attitude_name(9) == "raw 9"


# ------------------------------------------------------------------------------ mission


def _mission(n: int) -> dict:
    sessions = []
    day = datetime(1962, 11, 2, 10, tzinfo=UTC)
    for i in range(n):
        range_km = 0.4e6 + i * 2.2e6
        dish = i < 3
        bands = ("1.6m-tlm", "32cm-tlm", "8cm-carrier", "5cm-ppm")
        budgets = {
            b: link_budget(
                b,
                range_km,
                bit_rate_bps=1.0 if b in bands_of_kind("telemetry") else None,
                dish_pointed=dish,
            )
            for b in bands
        }
        contact = budgets["1.6m-tlm"].usable or budgets["32cm-tlm"].usable
        sessions.append(
            {
                "session": i + 1,
                "kind": "automatic",
                "start_utc": day.isoformat()[:19] + "Z",
                "range_km": range_km,
                "light_time_s": range_km / 299_792.458,
                "elevation_deg": 40.0,
                "attitude_mode": 0 if dish else 2,
                "dish_pointed": dish,
                "bit_rate_bps": 1,
                "contact": contact,
                "margin_db": {b: v.margin_db for b, v in budgets.items()},
                "usable": {b: v.usable for b, v in budgets.items()},
                "frames": 2 if contact else 0,
                "frames_by_band": {},
                "commands_acknowledged": 3,
                "commands_sent": 3,
                "elapsed_s": 1.0,
            }
        )
        day += timedelta(days=5)
    contacts = [e for e in sessions if e["contact"]]
    last = contacts[-1] if contacts else None
    return {
        "scenario": "historical",
        "sessions_total": n,
        "contacts": len(contacts),
        "last_contact": last and {k: last[k] for k in ("session", "start_utc", "range_km")},
        "first_loss": None,
        "workers": 2,
        "sessions": sessions,
    }


@pytest.mark.parametrize("n", [0, 1, 3, 60])
def test_mission_report(tmp_path: Path, n: int) -> None:
    mission = _mission(n)
    out = write_mission_report(tmp_path / "mission.html", mission_from_record(mission))
    text = out.read_text(encoding="utf-8")
    _assert_self_contained(text)
    assert f"{mission['contacts']} of {n} sessions made contact" in text
    if n == 0:
        assert "No session was replayed" in text
        return
    assert len(_pngs(text)) == 2  # margins and range
    assert text.count("<tr class=") == n
    for band_id in ("1.6m-tlm", "32cm-tlm", "8cm-carrier", "5cm-ppm"):
        assert band_id in text
    last = mission["last_contact"]
    assert f"{last['range_km'] / 1e6:.2f} million km" in text
    if n == 60:
        # the 1.6 m link at 1 bit/s closes near 106.76 million km and fails by ~115
        assert 0 < mission["contacts"] < n
        assert "no contact" in text


def test_an_interrupted_mission_says_which_sessions_are_missing(tmp_path: Path) -> None:
    mission = _mission(3) | {"interrupted": True, "sessions_planned": 9}
    mission["sessions_missing"] = [4, 5, 6, 8, 9]
    text = write_mission_report(tmp_path / "m.html", mission_from_record(mission)).read_text(
        encoding="utf-8"
    )
    assert "Interrupted: 3 of 9 sessions replayed; missing: sessions 4-6, 8-9." in text
    whole_run = write_mission_report(
        tmp_path / "w.html", mission_from_record(_mission(3))
    ).read_text(encoding="utf-8")
    assert "Interrupted" not in whole_run


def test_images_named_by_the_decoder_are_found_below_the_report(tmp_path: Path) -> None:
    # A decoder writes {"file": "images/image_1.png", "mask_file": ...} relative to its own
    # output folder; the page finds both below its own folder.
    folder = tmp_path / "bands" / "5cm-ppm" / "images"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(4)
    image = _image_png(folder / "image_1.png", rng)
    mask = _image_png(folder / "image_1_mask.png", rng)
    entry = {
        "id": 1,
        "lines": 48,
        "pixels": 64,
        "lines_received": 48,
        "lines_missing": [],
        "file": "images/image_1.png",
        "mask_file": "images/image_1_mask.png",
    }
    (picture,) = session_images([entry], [], tmp_path)
    assert [picture.image.png, picture.mask.png] == [image.read_bytes(), mask.read_bytes()]
