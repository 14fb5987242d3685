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
- ``telemetry.png``: the main channels against time.

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
from groundstation.progress import progress
from groundstation.receivers.tlm import DecodedFrame, TelemetryDecodeResult, decode_tlm_recording
from signals.formats.tlm import CHANNEL_BY_NAME, CHANNEL_NAMES, FRAME_WORDS, AttitudeMode

#: Leading CSV/JSONL columns, before the raw words and the channels.
FRAME_COLUMNS: Final = ("sample_start", "time_utc", "frame_counter", "frame_type", "parity_ok")
WORD_COLUMNS: Final = tuple(f"w{i:02d}" for i in range(FRAME_WORDS))
#: Every column of ``telemetry.csv`` in order.
CSV_COLUMNS: Final = FRAME_COLUMNS + WORD_COLUMNS + CHANNEL_NAMES

#: Plot panels: (title, channels, unit).
PLOT_PANELS: Final = (
    ("N2 pressure", ("n2_pressure_a_mpa", "n2_pressure_b_mpa"), "MPa"),
    ("Battery voltage", ("battery_v",), "V"),
    ("Battery and solar-array currents", ("battery_a", "solar_array_a"), "A"),
    ("Temperatures", ("temp_orbital_c", "temp_experiment_c", "temp_radiator_c"), "°C"),
    ("Attitude mode", ("attitude_mode",), ""),
    ("Magnetometer", ("mag_x_nt", "mag_y_nt", "mag_z_nt"), "nT"),
    ("Micrometeoroid hits (cumulative)", ("micrometeoroid_hits",), "hits"),
    ("Radiation", ("gas_discharge_cps", "scintillation_cps"), "counts/s"),
)


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


def _label(name: str) -> str:
    ch = CHANNEL_BY_NAME[name]
    return f"{name} ({ch.unit})" if ch.unit else name


def write_telemetry_plot(
    path: Path | str, frames: Sequence[DecodedFrame], *, title: str = "Mars 1 telemetry"
) -> Path:
    """Plot the main channels of the parity-ok frames against UTC; write a PNG atomically.

    Frames that fail parity are left out (their values cannot be trusted); if none
    passes, all frames are drawn and the title says so.
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    good = [f for f in frames if f.parity_ok]
    note = ""
    if not good:
        good, note = list(frames), " (no frame passed parity: values unchecked)"
    fig = Figure(figsize=(11, 2.1 * ((len(PLOT_PANELS) + 1) // 2) + 0.8), layout="constrained")
    axes = fig.subplots((len(PLOT_PANELS) + 1) // 2, 2, sharex=True).ravel()
    for ax, (panel, names, unit) in zip(axes, PLOT_PANELS, strict=False):
        for name in names:
            pts = [(f.time_utc, f.channels[name]) for f in good if name in f.channels]
            if not pts:
                continue
            times = [t for t, _ in pts]
            values = [float(v) for _, v in pts]
            if name == "attitude_mode":
                ax.step(times, values, label=_label(name), where="post")
            else:
                ax.plot(times, values, marker=".", markersize=4, label=_label(name))
        ax.set_title(panel, fontsize=9)
        ax.set_ylabel(unit or "code", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        if names == ("attitude_mode",):
            ax.set_yticks([m.value for m in AttitudeMode])
            ax.set_yticklabels([m.name.lower().replace("_", " ") for m in AttitudeMode])
            ax.set_ylim(-0.5, len(AttitudeMode) - 0.5)
        if ax.lines:
            ax.legend(fontsize=7, loc="best")
    for ax in axes[len(PLOT_PANELS) :]:
        ax.set_visible(False)
    locator = AutoDateLocator()
    for ax in axes[-2:]:
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.set_xlabel("UTC", fontsize=8)
    fig.suptitle(f"{title}: {len(good)} frames{note}", fontsize=11)
    return save_figure(path, fig, dpi=100)


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
