"""Command-line glue for each signal chain: options and runners for ``groundstation synth``.

Shared here: the argument type for UTC times and where a recording's truth goes.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from groundstation.io.recording import base_path, parse_utc


def utc_argument(text: str) -> datetime:
    """An ``argparse`` type: an ISO 8601 time, UTC when it has no zone."""
    try:
        return parse_utc(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None


def truth_path(name: Path | str) -> Path:
    """``NAME.truth.json`` beside the recording ``NAME`` (what was sent, for tests and users)."""
    base = base_path(name)
    return base.with_name(base.name + ".truth.json")
