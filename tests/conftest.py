"""Shared test configuration: where the repository's fixtures and independent recordings are,
and a headless browser for the pages.

The tests mirror the package tree (``tests/signals/...``, ``tests/groundstation/...``); this
file puts ``tests/`` on the import path (pytest does so for a root ``conftest.py``), so the
independent implementation of the ICD imports as ``independent``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The repository's ``fixtures/`` folder."""
    return FIXTURES


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven through ChromeDriver (selenium), keeping the page's console
    log; a 1400 × 1000 window unless a test sets its own metrics. Skipped, saying so, where
    Chromium or ChromeDriver is not installed."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(
            "needs Chromium and ChromeDriver on PATH (Debian: apt install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
