"""What a receiver decided, as one line of text and as JSON: one place for both.

In: the events a receiver hands out (:data:`groundstation.receivers.stream.Event`: a
telemetry frame, a truncated frame, an image header, an image line, a whole image, a carrier
estimate). Out: :func:`event_line` (a line for the terminal) and :func:`event_record` (a
JSON-ready dict for the live page and ``events.jsonl``), both with the band and the time
since sample 0 of the stream.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from groundstation.io.recording import format_utc
from groundstation.outputs.records import frame_record
from groundstation.receivers.stream import Event
from groundstation.results import (
    CarrierEstimate,
    DecodedFrame,
    DecodedImage,
    ImageHeader,
    ImageLine,
    TruncatedFrame,
)


def _finite(value: float, digits: int = 2) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def event_kind(event: Event) -> str:
    """The event's kind: ``frame``, ``truncated-frame``, ``image-header``, ``image-line``,
    ``image`` or ``carrier``."""
    return {
        DecodedFrame: "frame",
        TruncatedFrame: "truncated-frame",
        ImageHeader: "image-header",
        ImageLine: "image-line",
        DecodedImage: "image",
        CarrierEstimate: "carrier",
    }[type(event)]


def event_record(event: Event, band: str, fs_hz: float) -> dict[str, Any]:
    """``event`` as a JSON-ready dict: ``kind``, ``band``, ``t_s`` (since sample 0) and its
    fields (a frame's CSV columns; an image line's grey levels 0-63)."""
    kind = event_kind(event)
    start = getattr(event, "sample_start", 0)
    record: dict[str, Any] = {"kind": kind, "band": band, "t_s": round(start / fs_hz, 4)}
    if isinstance(event, DecodedFrame):
        record.update(frame_record(event))
        record["quality_db"] = _finite(event.quality_db)
    elif isinstance(event, TruncatedFrame):
        record.update(sample_start=event.sample_start, bits_received=event.bits_received)
    elif isinstance(event, ImageHeader):
        record.update(
            image_id=event.image_id, lines=event.lines, pixels=event.pixels, mode=event.mode
        )
    elif isinstance(event, ImageLine):
        record.update(
            image_id=event.image_id,
            line=event.line,
            grey=np.asarray(event.grey).astype(int).tolist(),
            snr_db=_finite(event.snr_db),
        )
    elif isinstance(event, DecodedImage):
        record.update(
            image_id=event.image_id,
            lines=event.lines,
            pixels=event.pixels,
            lines_received=int(np.count_nonzero(event.received)),
            lines_missing=len(event.lines_missing),
            snr_db=_finite(event.snr_db),
        )
    else:
        record.update(
            frequency_hz=round(event.frequency_hz, 3),
            offset_hz=round(event.frequency_offset_hz, 3),
            rate_hz_per_s=_finite(event.rate_hz_per_s, 4),
            snr_db=_finite(event.detection_snr_db),
        )
    return record


def event_line(event: Event, band: str, fs_hz: float) -> str:
    """``event`` as one line for the terminal (band, time since sample 0, what was found)."""
    start = getattr(event, "sample_start", 0)
    head = f"{band} {start / fs_hz:9.3f} s"
    if isinstance(event, DecodedFrame):
        state = "parity ok" if event.parity_ok else "PARITY ERROR"
        kind = {0: "engineering", 1: "science"}.get(event.frame_type, f"type {event.frame_type}")
        values = ", ".join(f"{name} {value:g}" for name, value in list(event.channels.items())[:4])
        return (
            f"{head}  frame {event.frame_counter:3d} {kind:11s} {state}  "
            f"{format_utc(event.time_utc)[:23]}Z  {values}"
        )
    if isinstance(event, TruncatedFrame):
        return f"{head}  frame cut short after {event.bits_received} bits"
    if isinstance(event, ImageHeader):
        survey = f", every {event.mode}th line" if event.mode >= 2 else ""
        return (
            f"{head}  image {event.image_id}: {event.lines} lines of {event.pixels} pixels{survey}"
        )
    if isinstance(event, ImageLine):
        return f"{head}  image {event.image_id} line {event.line:3d}  SNR {event.snr_db:5.1f} dB"
    if isinstance(event, DecodedImage):
        got = int(np.count_nonzero(event.received))
        return (
            f"{head}  image {event.image_id} done: {got} lines received, "
            f"{len(event.lines_missing)} missing"
        )
    return (
        f"{head}  carrier {event.frequency_hz:.1f} Hz (offset {event.frequency_offset_hz:+.1f} Hz, "
        f"{event.rate_hz_per_s:+.3f} Hz/s, SNR {event.detection_snr_db:.1f} dB)"
    )
