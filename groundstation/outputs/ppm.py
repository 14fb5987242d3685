"""Decode a 5 cm PPM recording into an output folder of images (ICD §2-§3).

Output, all written atomically::

    OUTDIR/images/image_<id>.png        8-bit grey, round(g·255/63), missing lines black
    OUTDIR/images/image_<id>_mask.png   255 where the line was received, 0 where missing
    OUTDIR/summary.json                 one entry per transmission, plus warnings
    OUTDIR/<NAME>.sigmf-meta            the metadata with one annotation per line and header

A repeated image id gets ``_2``, ``_3``, ... after it (``image_7.png``, ``image_7_2.png``).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from groundstation.errors import NoSignalError
from groundstation.io.files import write_json, write_png_gray
from groundstation.io.recording import Recording, write_annotated_metadata
from groundstation.progress import progress
from groundstation.receivers.ppm import DecodedImage, PpmDecodeResult, decode_ppm
from signals.formats.ppm import GREY_MAX

log = logging.getLogger(__name__)


def grey_to_8bit(grey: np.ndarray) -> np.ndarray:
    """6-bit grey levels to 8-bit pixel values, round(g·255/63) (ICD §3)."""
    g = np.asarray(grey, dtype=np.int64)
    return ((g * 255 * 2 + GREY_MAX) // (2 * GREY_MAX)).astype(np.uint8)


def image_names(images: list[DecodedImage]) -> list[str]:
    """File stem of each image: ``image_<id>``, then ``image_<id>_2``, ... for repeats."""
    seen: dict[int, int] = {}
    names = []
    for image in images:
        seen[image.image_id] = seen.get(image.image_id, 0) + 1
        count = seen[image.image_id]
        names.append(f"image_{image.image_id}" + (f"_{count}" if count > 1 else ""))
    return names


def _summary_entry(image: DecodedImage, name: str, fs_hz: float) -> dict[str, Any]:
    return {
        "id": image.image_id,
        "lines": image.lines,
        "pixels": image.pixels,
        "mode": image.mode,
        "lines_received": int(np.count_nonzero(image.received)),
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


def decode_ppm_to_dir(
    recording: Recording, outdir: Path, *, show_progress: bool = True
) -> dict[str, Any]:
    """Decode every image of a ``5cm-ppm`` recording into ``outdir``; return the summary.

    Parameters
    ----------
    recording : Recording
        An opened recording (:func:`groundstation.io.recording.open_recording`).
    outdir : Path
        Output folder (created).
    show_progress : bool
        Draw a progress bar on a terminal.

    Raises
    ------
    NoSignalError
        When no image at all is found; nothing is written then.
    """
    outdir = Path(outdir)
    recording.require_min_sample_rate()
    with progress(recording.n_samples, "PPM decode", enabled=show_progress) as bar:
        done = [0]

        def on_progress(position: int) -> None:
            step = max(position - done[0], 0)
            if step:
                bar.update(step)
                done[0] += step

        result: PpmDecodeResult = decode_ppm(recording, on_progress=on_progress)
        on_progress(recording.n_samples)
    if not result.images:
        raise NoSignalError(f"no PPM image found in {recording.meta_path.name}")
    names = image_names(result.images)
    entries = []
    annotations: list[dict[str, Any]] = []
    for image, name in zip(result.images, names, strict=True):
        write_png_gray(outdir / "images" / f"{name}.png", grey_to_8bit(image.grey))
        mask = np.where(image.received[:, None], 255, 0).astype(np.uint8)
        write_png_gray(
            outdir / "images" / f"{name}_mask.png",
            np.ascontiguousarray(np.broadcast_to(mask, image.grey.shape)),
        )
        entries.append(_summary_entry(image, name, recording.fs_hz))
        annotations.extend(image.line_annotations)
    summary = {
        "recording": recording.name,
        "band": recording.band,
        "fs_hz": recording.fs_hz,
        "n_samples": recording.n_samples,
        "images": entries,
        "skipped_samples": [list(r) for r in result.skipped],
        "nonfinite_samples": result.nonfinite_samples,
        "warnings": result.warnings,
    }
    write_annotated_metadata(recording, outdir / f"{recording.name}.sigmf-meta", annotations)
    write_json(outdir / "summary.json", summary)
    return summary
