"""Runners of ``groundstation synth``, one module per signal chain.

Their options are in :mod:`groundstation.cli.options`. Shared here: where a recording's
truth goes.
"""

from __future__ import annotations

from pathlib import Path

from groundstation.io.recording import base_path


def truth_path(name: Path | str) -> Path:
    """``NAME.truth.json`` beside the recording ``NAME`` (what was sent, for tests and users)."""
    base = base_path(name)
    return base.with_name(base.name + ".truth.json")
