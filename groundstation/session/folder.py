"""The session folder: ``session.json``, ``telemetry.csv`` and ``report.html``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from groundstation.io.files import write_json, write_text
from groundstation.session.score import SessionResult


def write_session_folder(result: SessionResult, work: Path, *, write_report: bool) -> None:
    summary = result.to_json()
    write_json(work / "session.json", summary)
    rows = result.telemetry_rows
    if rows:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(work / "telemetry.csv", buffer.getvalue())
    if write_report:
        from groundstation.report.pages import write_session_report

        write_session_report(
            work / "report.html",
            summary,
            waterfalls=result.waterfalls,
            frames=result.frames,
            image_files=[work / i["png"] for i in result.images if i.get("png")],
            session_log=result.spacecraft_log,
        )
