"""``groundstation contact --live``: the session happening, in a real headless browser.

The command runs as its own process at four times real time; Chromium (headless, through
ChromeDriver) opens the page it prints and watches it: the feed updates, the image grows
line by line, the session ends, and the console stays free of errors. The final report is
the usual one. Skipped, saying so, only where Chromium or ChromeDriver is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT_S = 240

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Chromium and ChromeDriver on PATH (Debian: apt install chromium chromium-driver)",
)


def _page_url(proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if line.startswith("live page: "):
            return line.split(": ", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    raise AssertionError("contact --live never printed its page's address")


def test_the_live_page_shows_the_session_happening(tmp_path, browser):
    out = tmp_path / "contact"
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundstation", "contact", "--live", "--speed", "4",
         "--port", "0", "-o", str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = _page_url(proc)
        assert url.startswith("http://127.0.0.1:")
        browser.get(url)
        seen_seq: set[int] = set()
        seen_lines: list[int] = []
        state = ""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            seq, lines, state = browser.execute_script(
                "return [document.body.dataset.seq || '0',"
                " document.getElementById('image').dataset.lines || '0',"
                " document.getElementById('state').textContent];"
            )
            seen_seq.add(int(seq))
            if int(lines) and (not seen_lines or int(lines) != seen_lines[-1]):
                seen_lines.append(int(lines))
            if state == "session over":
                break
            time.sleep(0.2)
        assert state == "session over", state
        browser.save_screenshot(str(tmp_path / "live.png"))
        text = browser.find_element("tag name", "body").text
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert len(seen_seq) >= 5  # the feed kept updating the page while it was open
    assert len(seen_lines) >= 2 and seen_lines == sorted(seen_lines)  # the image grew
    for words in ("32cm-tlm", "5cm-ppm", "link margin", "battery voltage", "START_SESSION"):
        assert words in text, words
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    session = json.loads((out / "session.json").read_text(encoding="utf-8"))
    assert (out / "report.html").exists() and session
    assert (tmp_path / "live.png").stat().st_size > 10_000
