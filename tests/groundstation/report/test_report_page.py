"""The session report of a real short contact, and the mission page of real scheduled
sessions, opened in headless Chromium.

What a reader hits: the page loads with every image decoded, nothing is wider than the
window at 800 px (a projector) or 1280 px (a laptop), no table hides part of itself behind
a scroll bar, and the browser logs no error. Driven through selenium with Debian's
``chromium`` and ``chromedriver``; skipped, saying so, only where they are not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from groundstation.report.pages import write_mission_report
from groundstation.results import MissionResult
from groundstation.session.contact import run_session
from groundstation.session.mission import run_scheduled_session
from groundstation.session.plan import SessionProfile, find_session_time
from groundstation.session.schedule import session_day

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WIDTHS_PX = (800, 1280)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and ChromeDriver on PATH (Debian: apt install chromium chromium-driver)",
)

#: A short contact: every band, one small picture, a few frames (about 10 s to run).
SHORT = SessionProfile(
    "short",
    carrier_s=10.0,
    frames=4,
    max_tlm_s=120.0,
    carrier_band_s=10.0,
    image_size=(48, 64),
    both_tlm_bands=False,
)

#: Per element: how far it reaches past the window or the page's column, or how much wider
#: its content is than its box (px); 0 everywhere is the goal.
_OVERFLOW_JS = """
const out = [];
const root = document.documentElement;
out.push(["page", root.scrollWidth - root.clientWidth]);
const main = document.querySelector("main");
const right = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
document.querySelectorAll(".table-wrap, table, pre, figure, img").forEach((el, i) => {
  const what = el.tagName.toLowerCase() + "#" + i + " " + el.textContent.slice(0, 40);
  out.push([what + " (content)", el.scrollWidth - el.clientWidth]);
  out.push([what + " (past the column)", Math.ceil(el.getBoundingClientRect().right - right)]);
});
return out;
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("contact")
    start = find_session_time(session_day(2).day_utc)
    run_session(start, "historical", outdir, number=2, profile=SHORT, show_progress=False)
    return outdir / "report.html"


@pytest.fixture(scope="module")
def mission_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Two sessions of the replay's schedule, run as the replay runs them (without dask):
    # one with the dish pointed and one after the leak, so every column has values.
    entries = [run_scheduled_session(session_day(n), "historical", 1962, None) for n in (2, 30)]
    mission = MissionResult("historical", entries)
    return write_mission_report(tmp_path_factory.mktemp("mission") / "mission.html", mission)


def _open(browser, page: Path, width_px: int) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width_px, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.execute_script("return window.innerWidth") == width_px
    assert "Mars 1" in browser.title


def _assert_clean(browser, width_px: int, min_images: int) -> None:
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);"
    )
    assert len(images) >= min_images
    broken = [alt for alt, complete, natural_width in images if not complete or natural_width == 0]
    assert broken == []
    overflowing = [(what, px) for what, px in browser.execute_script(_OVERFLOW_JS) if px > 0]
    assert overflowing == [], f"wider than the window at {width_px} px"
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_session_report_fits_and_loads_cleanly(report: Path, browser, width_px: int) -> None:
    _open(browser, report, width_px)
    headings = [h.text for h in browser.find_elements("css selector", "h2")]
    for section in ("Link budget", "Commands", "Downlink spectra", "Telemetry", "Spacecraft log"):
        assert section in headings
    # margin chart, waterfalls, telemetry, the picture and its mask
    _assert_clean(browser, width_px, min_images=5)


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_mission_report_fits_and_loads_cleanly(mission_page: Path, browser, width_px: int) -> None:
    _open(browser, mission_page, width_px)
    assert len(browser.find_elements("css selector", "tbody tr.good, tbody tr.bad")) == 2
    _assert_clean(browser, width_px, min_images=2)  # margins and range
