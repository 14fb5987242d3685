"""Shared test configuration: where the repository's fixtures and independent recordings are.

The tests mirror the package tree (``tests/signals/...``, ``tests/groundstation/...``); this
file puts ``tests/`` on the import path (pytest does so for a root ``conftest.py``), so the
independent implementation of the ICD imports as ``independent``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The repository's ``fixtures/`` folder."""
    return FIXTURES
