"""The session folder: ``session.json``, ``telemetry.csv`` and ``report.html``.

The files are written from the typed result: the JSON and CSV by
:mod:`groundstation.outputs.records` (the one place results are serialised), the page by
:mod:`groundstation.report.pages`.
"""

from __future__ import annotations

from pathlib import Path

from groundstation.outputs import records
from groundstation.results import SessionResult


def write_session_folder(
    result: SessionResult, work: Path, *, write_report: bool, drawn: Path | None = None
) -> None:
    """Write ``session.json``, ``telemetry.csv`` (when frames came down) and, with
    ``write_report``, ``report.html`` into ``work`` (its figures drawn ahead into ``drawn``,
    :func:`groundstation.report.pages.write_session_report`)."""
    records.write_session(work / "session.json", result)
    records.write_session_telemetry_csv(work / "telemetry.csv", result.frames)
    if write_report:
        from groundstation.report.pages import write_session_report

        write_session_report(work / "report.html", result, drawn)
