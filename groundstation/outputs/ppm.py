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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groundstation.errors import NoSignalError
from groundstation.io.files import write_png_gray
from groundstation.io.recording import Recording
from groundstation.io.writer import write_annotated_metadata
from groundstation.outputs import records
from groundstation.progress import progress
from groundstation.receivers.ppm import decode_ppm
from groundstation.results import DecodedImage, PpmBandResult, PpmDecodeResult
from signals.formats.ppm import GREY_MAX

log = logging.getLogger(__name__)


def grey_to_8bit(grey: np.ndarray) -> np.ndarray:
    """6-bit grey levels to 8-bit pixel values, round(g·255/63) (ICD §3)."""
    g = np.asarray(grey, dtype=np.int64)
    return ((g * 255 * 2 + GREY_MAX) // (2 * GREY_MAX)).astype(np.uint8)


def image_names(images: Sequence[DecodedImage]) -> list[str]:
    """File stem of each image: ``image_<id>``, then ``image_<id>_2``, ... for repeats."""
    seen: dict[int, int] = {}
    names = []
    for image in images:
        seen[image.image_id] = seen.get(image.image_id, 0) + 1
        count = seen[image.image_id]
        names.append(f"image_{image.image_id}" + (f"_{count}" if count > 1 else ""))
    return names


def decode_ppm_to_dir(
    recording: Recording, outdir: Path | None, *, show_progress: bool = True
) -> PpmBandResult:
    """Decode every image of a ``5cm-ppm`` recording into ``outdir``; return what was decoded.

    Parameters
    ----------
    recording : Recording
        An opened recording (:func:`groundstation.io.recording.open_recording`).
    outdir : Path or None
        Output folder (created); None writes nothing (a session that keeps no folder).
    show_progress : bool
        Draw a progress bar on a terminal.

    Raises
    ------
    NoSignalError
        When no image at all is found; nothing is written then.
    """
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
    if outdir is None:  # a session that keeps no folder: nothing to write
        return PpmBandResult(recording.info(), result, tuple(names))
    outdir = Path(outdir)
    annotations: list[dict[str, Any]] = []
    for image, name in zip(result.images, names, strict=True):
        write_png_gray(outdir / "images" / f"{name}.png", grey_to_8bit(image.grey))
        mask = np.where(image.received[:, None], 255, 0).astype(np.uint8)
        write_png_gray(
            outdir / "images" / f"{name}_mask.png",
            np.ascontiguousarray(np.broadcast_to(mask, image.grey.shape)),
        )
        annotations.extend(records.image_annotations(image, recording.center_frequency_hz))
    band_result = PpmBandResult(recording.info(), result, tuple(names))
    write_annotated_metadata(recording, outdir / f"{recording.name}.sigmf-meta", annotations)
    records.write_summary(outdir / "summary.json", band_result)
    return band_result
