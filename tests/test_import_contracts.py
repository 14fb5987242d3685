"""The import contracts of ``pyproject.toml`` (``[tool.importlinter]``) hold.

The arrows point one way: ``signals`` never imports ``groundstation``, the subpackages of
each are layered in signal-chain order, nobody but the command line imports the command
line, and no two sibling modules import each other (imports inside functions count).
docs/architecture.md draws the layers and says why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the packages under ``root`` with this repository's contracts."""
    kwargs = {
        "config_filename": str(REPO_ROOT / "pyproject.toml"),
        "limit_to_contracts": contracts,
        "no_cache": True,
        "no_logo": True,
    }
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(**{kwargs!r}))",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold() -> None:
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_inside_a_function_breaks_the_contract(tmp_path: Path) -> None:
    # A stand-in tree where one function of ``signals`` reaches into ``groundstation``:
    # the contract must see the import although it runs only when the function is called.
    for package in ("signals", "groundstation", "groundstation/io"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "groundstation/io/recording.py").write_text("def open_recording(): ...\n")
    (tmp_path / "signals/bands.py").write_text(
        "def band():\n    from groundstation.io.recording import open_recording\n"
        "    return open_recording\n"
    )
    result = _lint_imports(tmp_path, "signals-standalone")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "signals.bands -> groundstation.io.recording" in result.stdout
