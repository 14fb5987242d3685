"""Telemetry recording -> output folder (``groundstation decode`` on 32 cm / 1.6 m bands).

Writes, all atomically, into ``OUTDIR``:

- ``telemetry.csv``: one row per frame: ``sample_start``, ``time_utc`` (first bit at the
  receiver, ISO 8601 ``Z``), ``frame_counter``, ``frame_type``, ``parity_ok``, the raw
  words ``w00``…``w31`` (8-bit, parity bits included, polarity corrected), then every
  channel of ICD §4 by name in engineering units (empty where the frame type does not
  carry it); booleans ``true``/``false``;
- ``telemetry.jsonl``: the same, one JSON object per line;
- ``NAME.sigmf-meta``: the recording's metadata with one annotation per frame;
- ``summary.json``: counts and link estimates;
- ``telemetry.png``: the telemetry panels against time (the reports' panels).

The writers take lists of :class:`~groundstation.receivers.tlm.DecodedFrame` so other
callers (the session runner) can reuse them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from groundstation.errors import NoSignalError
from groundstation.io.files import save_figure, to_json, write_json, write_text
from groundstation.io.recording import Recording, format_utc, write_annotated_metadata
from groundstation.outputs.figures import TelemetrySeries, telemetry_figure
from groundstation.progress import progress
from groundstation.receivers.tlm import DecodedFrame, TelemetryDecodeResult, decode_tlm_recording
from signals.formats.tlm import CHANNEL_NAMES, FRAME_WORDS

#: Leading CSV/JSONL columns, before the raw words and the channels.
FRAME_COLUMNS: Final = ("sample_start", "time_utc", "frame_counter", "frame_type", "parity_ok")
WORD_COLUMNS: Final = tuple(f"w{i:02d}" for i in range(FRAME_WORDS))
#: Every column of ``telemetry.csv`` in order.
CSV_COLUMNS: Final = FRAME_COLUMNS + WORD_COLUMNS + CHANNEL_NAMES


def _value(v: Any) -> float | int | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | np.integer):
        return int(v)
    return float(np.round(float(v), 9))


def frame_record(frame: DecodedFrame) -> dict[str, Any]:
    """One frame as a flat dict of the CSV/JSONL columns (JSON types; None = empty)."""
    record: dict[str, Any] = {
        "sample_start": int(frame.sample_start),
        "time_utc": format_utc(frame.time_utc),
        "frame_counter": int(frame.frame_counter),
        "frame_type": int(frame.frame_type),
        "parity_ok": bool(frame.parity_ok),
    }
    record.update({col: int(w) for col, w in zip(WORD_COLUMNS, frame.words, strict=True)})
    record.update({name: _value(frame.channels.get(name)) for name in CHANNEL_NAMES})
    return record


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def telemetry_csv_text(frames: Sequence[DecodedFrame]) -> str:
    """The ``telemetry.csv`` text for ``frames``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for frame in frames:
        record = frame_record(frame)
        writer.writerow([_csv_cell(record[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def write_telemetry_csv(path: Path | str, frames: Sequence[DecodedFrame]) -> Path:
    """Write ``telemetry.csv`` (one row per frame) atomically; return its path."""
    return write_text(path, telemetry_csv_text(frames))


def write_telemetry_jsonl(path: Path | str, frames: Sequence[DecodedFrame]) -> Path:
    """Write ``telemetry.jsonl`` (one JSON object per frame and line) atomically."""
    lines = [json.dumps(frame_record(f), allow_nan=False) for f in frames]
    return write_text(path, "".join(line + "\n" for line in lines))


def write_telemetry_plot(
    path: Path | str, frames: Sequence[DecodedFrame], *, title: str = "Mars 1 telemetry"
) -> Path:
    """Plot the telemetry panels of the frames against time; write a PNG atomically.

    The panels are the reports' (:func:`groundstation.outputs.figures.telemetry_figure`):
    only frames that pass parity are plotted, each failed one is a tick at its time.
    """
    series = TelemetrySeries.from_frames(
        [f.time_utc for f in frames], [f.channels for f in frames], [f.parity_ok for f in frames]
    )
    return save_figure(path, telemetry_figure(series, title=title), dpi=100)


def frame_annotations(
    result: TelemetryDecodeResult,
) -> list[dict[str, Any]]:
    """SigMF annotations (ICD §2) for the frames and truncated frames of ``result``."""
    out: list[dict[str, Any]] = []
    for f in result.frames:
        out.append(
            {
                "core:sample_start": int(f.sample_start),
                "core:sample_count": int(f.sample_count),
                "core:label": f"tlm-frame {f.frame_counter}",
                "mars1:frame_counter": int(f.frame_counter),
                "mars1:frame_type": int(f.frame_type),
                "mars1:parity_ok": bool(f.parity_ok),
                "mars1:inverted": bool(f.inverted),
                "mars1:snr_db": round(float(f.ebn0_db), 2),
                "mars1:quality_db": round(float(f.quality_db), 2),
            }
        )
    bit_samples = result.fs_hz / result.bit_rate_bps
    for t in result.truncated_frames:
        out.append(
            {
                "core:sample_start": int(t.sample_start),
                "core:sample_count": max(1, round(t.bits_received * bit_samples)),
                "core:label": "tlm-frame truncated",
                "mars1:truncated": True,
                "mars1:bits_received": int(t.bits_received),
            }
        )
    return out


def summary_dict(result: TelemetryDecodeResult, *, band: str, name: str) -> dict[str, Any]:
    """The ``summary.json`` content for ``result``."""
    first = result.frames[0] if result.frames else None
    return {
        "recording": name,
        "band": band,
        "bit_rate_bps": result.bit_rate_bps,
        "fs_hz": result.fs_hz,
        "n_samples": result.n_samples,
        "frames": len(result.frames),
        "parity_failures": result.parity_failures,
        "truncated_frames": len(result.truncated_frames),
        "first_frame_sample": first.sample_start if first else None,
        "first_frame_utc": format_utc(first.time_utc) if first else None,
        "cn0_dbhz": result.cn0_dbhz,
        "ebn0_db": result.ebn0_db,
        "carrier_offset_hz": result.carrier_offset_hz,
        "carrier_rate_hz_per_s": result.carrier_rate_hz_per_s,
        "clock_offset_ppm": result.clock_offset * 1e6,
        "message": result.message,
        "warnings": list(result.warnings),
    }


def decode_tlm_to_dir(
    recording: Recording, outdir: Path, *, show_progress: bool = True
) -> dict[str, Any]:
    """Decode a telemetry recording into ``outdir``; return the summary.

    Parameters
    ----------
    recording : Recording
        An opened ``32cm-tlm`` or ``1.6m-tlm`` recording.
    outdir : Path
        Output folder (created if needed).
    show_progress : bool
        Draw a progress bar on a terminal.

    Raises
    ------
    NoSignalError
        No carrier, or a carrier but no frame at all; no file is written then.
    """
    bar = progress(recording.n_samples, f"{recording.name} telemetry", enabled=show_progress)
    with bar:
        result = decode_tlm_recording(recording, progress=bar.update)
    if not result.frames:
        raise NoSignalError(f"{recording.name}: {result.message}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    summary = summary_dict(result, band=recording.band, name=recording.name)
    write_telemetry_csv(outdir / "telemetry.csv", result.frames)
    write_telemetry_jsonl(outdir / "telemetry.jsonl", result.frames)
    write_annotated_metadata(
        recording, outdir / recording.meta_path.name, frame_annotations(result)
    )
    write_telemetry_plot(
        outdir / "telemetry.png",
        result.frames,
        title=f"Mars 1 telemetry, {recording.band}, {result.bit_rate_bps:g} bit/s",
    )
    summary["outputs"] = [
        "telemetry.csv",
        "telemetry.jsonl",
        recording.meta_path.name,
        "telemetry.png",
        "summary.json",
    ]
    write_json(outdir / "summary.json", summary)
    return json.loads(to_json(summary))
