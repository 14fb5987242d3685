"""The output folder while a stream is decoded: rows and lines appear as they are decided.

In: the events of a listen (:mod:`groundstation.live.listen`), one at a time. Out, in the
output folder as they arrive: ``telemetry.csv`` and ``telemetry.jsonl`` (a row per frame,
the columns ``decode`` writes), ``images/image_<id>.png`` (rewritten as each line comes,
lines not yet received black), ``events.jsonl`` (every event) and ``live.json`` (what has
been received so far). Every file is replaced atomically or appended a whole line at a
time, so a reader never sees half a row. When the listen ends, ``decode``'s full result
set replaces the folder whole.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Final

import numpy as np

from groundstation.io.files import to_json, write_json, write_png_gray
from groundstation.live.events import event_record
from groundstation.outputs.ppm import grey_to_8bit
from groundstation.outputs.records import CSV_COLUMNS, csv_row, frame_record
from groundstation.receivers.stream import Event
from groundstation.results import DecodedFrame, DecodedImage, ImageHeader, ImageLine

#: Shortest time between two rewrites of ``live.json`` (s).
STATUS_EVERY_S: Final = 0.5


class LiveFolder:
    """Writes a listen's events into its output folder as they come (a subscriber).

    Parameters
    ----------
    folder : Path
        The output folder, already made fresh (:func:`groundstation.io.files.live_folder`).
    band : str
        The stream's band.
    fs_hz : float
        The stream's sample rate (Hz).
    """

    def __init__(self, folder: Path, band: str, fs_hz: float):
        self.folder = folder
        self.band = band
        self.fs_hz = fs_hz
        self._images: dict[int, np.ndarray] = {}
        self._status: dict[str, Any] = {"band": band, "fs_hz": fs_hz, "events": {}}
        self._status_written = 0.0
        self._csv = None
        self._events = open(folder / "events.jsonl", "a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        """Write what ``event`` adds to the folder."""
        record = event_record(event, self.band, self.fs_hz)
        self._events.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._events.flush()
        counts = self._status["events"]
        counts[record["kind"]] = counts.get(record["kind"], 0) + 1
        if isinstance(event, DecodedFrame):
            self._frame(event)
        elif isinstance(event, ImageHeader):
            self._images[event.image_id] = np.zeros((event.lines, event.pixels), np.uint8)
            self._write_image(event.image_id)
        elif isinstance(event, ImageLine):
            self._line(event)
        elif isinstance(event, DecodedImage):
            image = np.where(event.received[:, None], grey_to_8bit(event.grey), 0)
            self._images[event.image_id] = image.astype(np.uint8)
            self._write_image(event.image_id)
        self.status(force=False)

    def status(self, *, force: bool = True, **more: Any) -> None:
        """Rewrite ``live.json`` (at most every :data:`STATUS_EVERY_S` unless ``force``)."""
        self._status.update(more)
        now = time.monotonic()
        if force or now - self._status_written >= STATUS_EVERY_S:
            write_json(self.folder / "live.json", self._status)
            self._status_written = now

    def close(self) -> None:
        """Close the files held open."""
        for handle in (self._csv, self._events):
            if handle is not None:
                handle.close()

    def _frame(self, frame: DecodedFrame) -> None:
        if self._csv is None:
            self._csv = open(self.folder / "telemetry.csv", "a", encoding="utf-8")
            self._csv.write(",".join(CSV_COLUMNS) + "\n")
        self._csv.write(",".join(csv_row(frame_record(frame))) + "\n")
        self._csv.flush()
        with open(self.folder / "telemetry.jsonl", "a", encoding="utf-8") as jsonl:
            jsonl.write(to_json(frame_record(frame), indent=None) + "\n")

    def _line(self, line: ImageLine) -> None:
        image = self._images.get(line.image_id)
        if image is None or not 0 <= line.line < image.shape[0]:
            return
        grey = np.asarray(line.grey)[: image.shape[1]]
        image[line.line, : grey.size] = grey_to_8bit(grey)
        self._write_image(line.image_id)

    def _write_image(self, image_id: int) -> None:
        folder = self.folder / "images"
        folder.mkdir(exist_ok=True)
        write_png_gray(folder / f"image_{image_id}.png", self._images[image_id])
