"""Every record the station writes, serialised in one place from the types of
:mod:`groundstation.results`.

- ``summary.json`` of each band: :func:`summary_record`;
- ``telemetry.csv`` and ``telemetry.jsonl``: :func:`frame_record` gives one frame's columns
  (:data:`CSV_COLUMNS`), :func:`telemetry_csv_text` and :func:`telemetry_jsonl_text` the files;
- a session's ``session.json`` (:func:`session_record`) and ``telemetry.csv`` of both
  telemetry bands (:func:`session_telemetry_csv_text`);
- SigMF annotations (ICD §2): :func:`frame_annotations`, :func:`image_annotations`,
  :func:`carrier_annotation`, with the keys of :mod:`groundstation.io.keys`, each with its
  occupied band (``core:freq_lower_edge`` / ``core:freq_upper_edge``) computed from the same
  results, so no annotation is completed later from a file read back.

A new CSV column is one entry in :data:`FRAME_COLUMNS` (or :data:`CSV_COLUMNS`) and one line
in :func:`frame_record`. The per-band output modules call these functions and write the files.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from groundstation.io import keys
from groundstation.io.files import write_json, write_text
from groundstation.io.recording import format_utc, parse_utc
from groundstation.results import (
    BandOutcome,
    BandResult,
    CarrierBandResult,
    CarrierEstimate,
    CommandOutcome,
    DecodedFrame,
    DecodedImage,
    PpmBandResult,
    SessionFrame,
    SessionResult,
    TelemetryBandResult,
    TelemetryDecodeResult,
)
from signals.formats.ppm import CHIP_S
from signals.formats.tlm import CHANNEL_NAMES, FRAME_WORDS, SUBCARRIER_HZ

# ============================================================================ telemetry rows

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


def csv_row(record: Mapping[str, Any], columns: Sequence[str] = CSV_COLUMNS) -> list[str]:
    """The cells of one CSV row: empty for None, ``true``/``false``, floats by ``repr``."""
    return [_csv_cell(record.get(c)) for c in columns]


def telemetry_csv_text(frames: Sequence[DecodedFrame]) -> str:
    """The ``telemetry.csv`` text for ``frames``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for frame in frames:
        writer.writerow(csv_row(frame_record(frame)))
    return out.getvalue()


def telemetry_jsonl_text(frames: Sequence[DecodedFrame]) -> str:
    """The ``telemetry.jsonl`` text: one JSON object per frame and line."""
    lines = [json.dumps(frame_record(f), allow_nan=False) for f in frames]
    return "".join(line + "\n" for line in lines)


def write_telemetry_csv(path: Path | str, frames: Sequence[DecodedFrame]) -> Path:
    """Write ``telemetry.csv`` (one row per frame) atomically; return its path."""
    return write_text(path, telemetry_csv_text(frames))


def write_telemetry_jsonl(path: Path | str, frames: Sequence[DecodedFrame]) -> Path:
    """Write ``telemetry.jsonl`` (one JSON object per frame and line) atomically."""
    return write_text(path, telemetry_jsonl_text(frames))


def frame_from_record(record: Mapping[str, Any]) -> DecodedFrame:
    """The frame of one ``telemetry.jsonl`` object or ``telemetry.csv`` row (strings).

    The inverse of :func:`frame_record` for what the record carries: position, time,
    counter, type, ``parity_ok``, the words and the channels; the soft-decision figures
    (quality, Eb/N0) are not in the record and keep their defaults.
    """

    def number(v: Any) -> float | int | None:
        if v is None or v == "":
            return None
        if isinstance(v, str):
            return float(v) if any(c in v for c in ".eEn") else int(v)
        return v

    parity = record["parity_ok"]
    channels = {}
    for name in CHANNEL_NAMES:
        value = number(record.get(name))
        if value is not None:
            channels[name] = value
    return DecodedFrame(
        sample_start=int(record["sample_start"]),
        time_utc=parse_utc(str(record["time_utc"])),
        frame_counter=int(record["frame_counter"]),
        frame_type=int(record["frame_type"]),
        parity_ok=parity is True or parity == "true",
        words=tuple(int(record[c]) for c in WORD_COLUMNS),
        channels=channels,
        inverted=False,
        quality_db=math.nan,
    )


# ============================================================================ annotations


def _with_edges(
    annotation: dict[str, Any], centre_hz: float, half_width_hz: float
) -> dict[str, Any]:
    """``annotation`` with ``core:freq_lower_edge`` / ``core:freq_upper_edge`` (absolute Hz,
    to the mHz) of a band ``centre_hz`` ± ``half_width_hz``."""
    annotation[keys.FREQ_LOWER_EDGE] = round(centre_hz - half_width_hz, 3)
    annotation[keys.FREQ_UPPER_EDGE] = round(centre_hz + half_width_hz, 3)
    return annotation


def _frame_edges(
    annotation: dict[str, Any], result: TelemetryDecodeResult, tuned_frequency_hz: float
) -> dict[str, Any]:
    """A telemetry frame occupies the carrier at its middle (the receiver's offset and rate)
    ± (subcarrier + bit rate), the first data sidebands."""
    middle_s = (annotation[keys.SAMPLE_START] + 0.5 * annotation[keys.SAMPLE_COUNT]) / result.fs_hz
    if not math.isfinite(result.carrier_offset_hz):
        return annotation
    rate = result.carrier_rate_hz_per_s if math.isfinite(result.carrier_rate_hz_per_s) else 0.0
    centre_hz = tuned_frequency_hz + result.carrier_offset_hz + rate * middle_s
    return _with_edges(annotation, centre_hz, SUBCARRIER_HZ + result.bit_rate_bps)


def frame_annotations(
    result: TelemetryDecodeResult, tuned_frequency_hz: float
) -> list[dict[str, Any]]:
    """SigMF annotations (ICD §2) for the frames and truncated frames of ``result``.

    Each spans the carrier at the frame's middle (``tuned_frequency_hz`` + the receiver's
    offset and rate, Hz) ± (subcarrier + bit rate).
    """
    out: list[dict[str, Any]] = []
    for f in result.frames:
        out.append(
            {
                keys.SAMPLE_START: int(f.sample_start),
                keys.SAMPLE_COUNT: int(f.sample_count),
                keys.LABEL: f"tlm-frame {f.frame_counter}",
                keys.FRAME_COUNTER: int(f.frame_counter),
                keys.FRAME_TYPE: int(f.frame_type),
                keys.PARITY_OK: bool(f.parity_ok),
                keys.INVERTED: bool(f.inverted),
                keys.SNR_DB: round(float(f.ebn0_db), 2),
                keys.QUALITY_DB: round(float(f.quality_db), 2),
            }
        )
    bit_samples = result.fs_hz / result.bit_rate_bps
    for t in result.truncated_frames:
        out.append(
            {
                keys.SAMPLE_START: int(t.sample_start),
                keys.SAMPLE_COUNT: max(1, round(t.bits_received * bit_samples)),
                keys.LABEL: "tlm-frame truncated",
                keys.TRUNCATED: True,
                keys.BITS_RECEIVED: int(t.bits_received),
            }
        )
    return [_frame_edges(a, result, tuned_frequency_hz) for a in out]


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def image_annotations(image: DecodedImage, tuned_frequency_hz: float) -> list[dict[str, Any]]:
    """SigMF annotations (ICD §2) of one image: its header, then each line received.

    Each spans the image's carrier (``tuned_frequency_hz`` + its estimated offset to the
    0.1 Hz of ``summary.json``) ± 1/τ, the main lobe of the 22.2 µs pulse (±45 kHz).
    """
    out: list[dict[str, Any]] = []
    h = image.header
    if h is not None:
        out.append(
            {
                keys.SAMPLE_START: h.sample_start,
                keys.SAMPLE_COUNT: h.sample_count,
                keys.LABEL: f"ppm-header {h.image_id}",
                keys.IMAGE_ID: h.image_id,
                keys.LINES: h.lines,
                keys.PIXELS: h.pixels,
                keys.MODE: h.mode,
                keys.HEADER_COPY: h.header_copy,
            }
        )
    for line in image.received_lines:
        out.append(
            {
                keys.SAMPLE_START: line.sample_start,
                keys.SAMPLE_COUNT: line.sample_count,
                keys.LABEL: f"ppm-line {line.line}",
                keys.IMAGE_ID: line.image_id,
                keys.LINE: line.line,
                keys.SNR_DB: _finite_or_none(line.snr_db),
                keys.LINE_NUMBER_CORRECTED: line.line_number_corrected,
            }
        )
    centre_hz = tuned_frequency_hz + round(image.carrier_offset_hz, 1)
    return [_with_edges(a, centre_hz, 1.0 / CHIP_S) for a in out]


def carrier_annotation(estimate: CarrierEstimate, fs_hz: float) -> dict[str, Any]:
    """The SigMF annotation (ICD §2) of a measured carrier, over the samples analysed.

    It spans the estimated frequency ± the resolution, 1 / (time analysed): ``n_samples``
    at the recording's sample rate ``fs_hz`` (Hz).
    """
    annotation = {
        keys.SAMPLE_START: 0,
        keys.SAMPLE_COUNT: estimate.n_samples,
        keys.LABEL: "carrier",
        keys.FREQUENCY_OFFSET_HZ: estimate.frequency_offset_hz,
        keys.RATE_HZ_PER_S: estimate.rate_hz_per_s,
    }
    if math.isfinite(estimate.cn0_dbhz):
        annotation[keys.CN0_DBHZ] = estimate.cn0_dbhz
    return _with_edges(annotation, estimate.frequency_hz, 1.0 / (estimate.n_samples / fs_hz))


# ============================================================================ summary.json


def image_record(image: DecodedImage, name: str, fs_hz: float) -> dict[str, Any]:
    """One image's entry in the PPM ``summary.json`` (``name``: its file stem)."""
    return {
        "id": image.image_id,
        "lines": image.lines,
        "pixels": image.pixels,
        "mode": image.mode,
        "lines_received": image.lines_received,
        "lines_missing": image.lines_missing,
        "snr_db": round(image.snr_db, 2) if math.isfinite(image.snr_db) else None,
        "png": f"images/{name}.png",
        "mask_png": f"images/{name}_mask.png",
        "sample_start": image.sample_start,
        "sample_count": image.sample_count,
        "start_s": image.sample_start / fs_hz,
        "carrier_offset_hz": round(image.carrier_offset_hz, 1),
        "clock_ppm": round(image.clock_ppm, 2),
        "lines_corrected": image.corrected_lines,
        "lines_nonfinite": image.nonfinite_lines,
        "truncated": image.truncated,
    }


def _ppm_summary(result: PpmBandResult) -> dict[str, Any]:
    rec = result.recording
    return {
        "recording": rec.name,
        "band": rec.band,
        "fs_hz": rec.fs_hz,
        "n_samples": rec.n_samples,
        "images": [
            image_record(image, name, rec.fs_hz)
            for image, name in zip(result.images, result.image_names, strict=True)
        ],
        "skipped_samples": [list(r) for r in result.decode.skipped],
        "nonfinite_samples": result.decode.nonfinite_samples,
        "warnings": result.decode.warnings,
    }


def _telemetry_summary(result: TelemetryBandResult) -> dict[str, Any]:
    d = result.decode
    first = d.frames[0] if d.frames else None
    summary = {
        "recording": result.recording.name,
        "band": result.recording.band,
        "bit_rate_bps": d.bit_rate_bps,
        "fs_hz": d.fs_hz,
        "n_samples": d.n_samples,
        "frames": len(d.frames),
        "parity_failures": d.parity_failures,
        "truncated_frames": len(d.truncated_frames),
        "first_frame_sample": first.sample_start if first else None,
        "first_frame_utc": format_utc(first.time_utc) if first else None,
        "cn0_dbhz": d.cn0_dbhz,
        "ebn0_db": d.ebn0_db,
        "carrier_offset_hz": d.carrier_offset_hz,
        "carrier_rate_hz_per_s": d.carrier_rate_hz_per_s,
        "clock_offset_ppm": d.clock_offset * 1e6,
        "message": d.message,
        "warnings": list(d.warnings),
    }
    if result.outputs:
        summary["outputs"] = list(result.outputs)
    return summary


def _carrier_summary(result: CarrierBandResult) -> dict[str, Any]:
    rec, est = result.recording, result.estimate
    summary: dict[str, Any] = {
        "recording": rec.name,
        "band": rec.band,
        "start_utc": rec.start_utc,
        "fs_hz": rec.fs_hz,
        "analysed_samples": est.n_samples,
        "analysed_duration_s": est.n_samples / rec.fs_hz,
        "nonfinite_samples": result.nonfinite_samples,
        "decimation": result.decimation,
        "tuned_frequency_hz": est.tuned_frequency_hz,
        "reference_utc": result.reference_utc,
        "reference_time_s": est.reference_time_s,
        "frequency_offset_hz": est.frequency_offset_hz,
        "frequency_hz": est.frequency_hz,
        "frequency_std_hz": est.frequency_std_hz,
        "offset_at_start_hz": est.offset_at_start_hz,
        "rate_hz_per_s": est.rate_hz_per_s,
        "rate_std_hz_per_s": est.rate_std_hz_per_s,
        "cn0_dbhz": est.cn0_dbhz,
        "detection_snr_db": est.detection_snr_db,
        "coherent_mode": result.coherent_mode,
    }
    optional = (
        ("range_rate_one_way_km_s", result.range_rate_one_way_km_s),
        ("range_rate_one_way_uncertainty_km_s", result.range_rate_one_way_uncertainty_km_s),
        ("uplink_frequency_hz", result.uplink_frequency_hz),
        ("range_rate_two_way_km_s", result.range_rate_two_way_km_s),
        ("range_rate_two_way_std_km_s", result.range_rate_two_way_std_km_s),
        ("range_rate_km_s", result.range_rate_km_s),
        ("range_rate_std_km_s", result.range_rate_std_km_s),
    )
    summary.update({k: v for k, v in optional if v is not None})
    summary["predicted_range_rate_km_s"] = result.predicted_range_rate_km_s
    summary["spectrum_png"] = result.spectrum_png
    summary["warnings"] = list(result.warnings)
    return summary


def summary_record(result: BandResult) -> dict[str, Any]:
    """The ``summary.json`` content of a band result (Python values; see :func:`write_summary`)."""
    if isinstance(result, PpmBandResult):
        return _ppm_summary(result)
    if isinstance(result, TelemetryBandResult):
        return _telemetry_summary(result)
    if isinstance(result, CarrierBandResult):
        return _carrier_summary(result)
    raise TypeError(f"not a band result: {type(result).__name__}")


def measured_record(result: BandResult) -> dict[str, Any]:
    """What a band's receiver measured, as a session reports it beside the link budget."""
    if isinstance(result, TelemetryBandResult):
        d = result.decode
        return {
            "cn0_dbhz": d.cn0_dbhz,
            "ebn0_db": d.ebn0_db,
            "carrier_offset_hz": d.carrier_offset_hz,
            "carrier_rate_hz_per_s": d.carrier_rate_hz_per_s,
            "parity_failures": d.parity_failures,
        }
    if isinstance(result, CarrierBandResult):
        return {
            "cn0_dbhz": result.estimate.cn0_dbhz,
            "frequency_offset_hz": result.estimate.frequency_offset_hz,
        }
    return {}


def telemetry_rows(frames: Sequence[DecodedFrame]) -> list[dict[str, str]]:
    """``frames`` as the rows of ``telemetry.csv`` (column to cell text, as a CSV reader gives)."""
    return [dict(zip(CSV_COLUMNS, csv_row(frame_record(f)), strict=True)) for f in frames]


def no_signal_record(recording: str, reason: str) -> dict[str, Any]:
    """The ``summary.json`` of a decode that found no signal: what was looked at and why."""
    return {"recording": recording, "found": False, "reason": reason}


def write_summary(path: Path | str, result: BandResult) -> Path:
    """Write ``summary.json`` for ``result`` atomically (non-finite numbers as ``null``)."""
    return write_json(path, summary_record(result))


# ============================================================================ session


def command_record(command: CommandOutcome) -> dict[str, Any]:
    """One command's entry in ``session.json``."""
    return {
        "opcode": command.opcode,
        "argument": command.argument,
        "description": command.description,
        "sent_utc": format_utc(command.sent_utc),
        "received_utc": None if command.received_utc is None else format_utc(command.received_utc),
        "accepted": command.accepted,
        "acknowledged": command.acknowledged,
    }


def band_outcome_record(outcome: BandOutcome) -> dict[str, Any]:
    """One band's entry in ``session.json``: its link budget, then what was decoded."""
    b = outcome.budget
    out: dict[str, Any] = {
        "usable": bool(b.usable),
        "reason": b.reason,
        "transmitted": outcome.transmitted,
        "cn0_dbhz": b.cn0_dbhz,
        "margin_db": b.margin_db,
        "bit_rate_bps": b.bit_rate_bps,
        "ebn0_db": b.ebn0_db,
        "esn0_db": b.esn0_db,
        "lock_time_s": outcome.lock_time_s,
        "frames_decoded": outcome.frames_decoded,
        "frames_lost": outcome.frames_lost,
        "lines_decoded": outcome.lines_decoded,
        "lines_lost": outcome.lines_lost,
    }
    if outcome.decoded is not None:
        out["measured"] = measured_record(outcome.decoded)
    if outcome.recording:
        out["recording"] = outcome.recording
    if outcome.error:
        out["error"] = outcome.error
    return out


def session_record(result: SessionResult) -> dict[str, Any]:
    """The ``session.json`` content of a session (Python values; see :func:`write_session`)."""
    p = result.plan
    up = p.budgets["1.6m-cmd"]
    return {
        "session": p.number,
        "kind": p.kind,
        "scenario": p.scenario,
        "start_utc": format_utc(p.start_utc),
        "range_km": p.range_km,
        "range_rate_km_s": p.range_rate_km_s,
        "light_time_s": p.light_time_s,
        "elevation_deg": p.elevation_deg,
        "sun_distance_au": p.sun_distance_au,
        "days_since_launch": p.days_since_launch,
        "attitude_mode": p.attitude_mode,
        "dish_pointed": p.dish_pointed,
        "bit_rate_bps": p.bit_rate_bps,
        "contact": result.contact,
        "commands": [command_record(c) for c in result.commands],
        "end_command": None if result.end_command is None else command_record(result.end_command),
        "bands": {b: band_outcome_record(o) for b, o in result.bands.items()},
        "uplink": {
            "band": "1.6m-cmd",
            "cn0_dbhz": up.cn0_dbhz,
            "ebn0_db": up.ebn0_db,
            "margin_db": up.margin_db,
            "usable": bool(up.usable),
        },
        "range_rate_check": None
        if result.range_rate_check is None
        else dataclasses.asdict(result.range_rate_check),
        "images": [image_record(i.image, i.name, i.fs_hz) for i in result.images],
        "spacecraft_log": result.spacecraft_log,
        "elapsed_s": result.elapsed_s,
    }


def write_session(path: Path | str, result: SessionResult) -> Path:
    """Write ``session.json`` for ``result`` atomically (non-finite numbers as ``null``)."""
    return write_json(path, session_record(result))


#: Columns of a session's ``telemetry.csv``: the band, then a band's columns.
SESSION_CSV_COLUMNS: Final = ("band", *CSV_COLUMNS)


def session_telemetry_csv_text(frames: Sequence[SessionFrame]) -> str:
    """A session's ``telemetry.csv``: the frames of every band in time order, band first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SESSION_CSV_COLUMNS)
    for item in frames:
        writer.writerow([item.band, *csv_row(frame_record(item.frame))])
    return out.getvalue()


def write_session_telemetry_csv(path: Path | str, frames: Sequence[SessionFrame]) -> Path | None:
    """Write a session's ``telemetry.csv`` atomically; nothing (None) without frames."""
    if not frames:
        return None
    return write_text(path, session_telemetry_csv_text(frames))
