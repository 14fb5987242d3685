"""The decoded pictures (ICD §3) of a session, as the report shows them.

Each picture is embedded as the decoder wrote it (its PNG bytes, whole-pixel
magnification in the page), beside the decoder's mask of what was received or, without
one, a strip marking each line received, missing or not sent.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from PIL import Image

from groundstation.report.format import number
from groundstation.results import SessionImage

_IMAGE_KEYS: Final = ("png", "file", "path")
_MASK_KEYS: Final = ("mask_png", "mask_file", "mask")
#: Width of the shown picture (px, whole-pixel magnification 1 to 8×).
_SHOWN_WIDTH_PX: Final = 480
_STRIP_WIDTH_PX: Final = 18
#: What the decoder's mask beside (or, on a narrow page, under) an image shows.
_MASK_CAPTION: Final = (
    " Next to it, the decoder's mask of the lines received (white) and lost (black)."
)


@dataclass(frozen=True)
class Picture:
    """A PNG to show: its bytes, what it is, and its width in the page (px)."""

    png: bytes
    alt: str
    width_px: int
    #: CSS classes: whole-pixel rendering, and ``strip`` for the narrow line mask.
    css: str = "pixels"


@dataclass(frozen=True)
class DecodedImage:
    """One decoded picture: the image and its mask (either may be missing), a caption."""

    image: Picture | None
    mask: Picture | None
    caption: str
    problem: str = ""


def _read_png(path: Path) -> tuple[bytes, tuple[int, int]] | None:
    """The PNG's bytes and (width, height), or None when it is not a readable PNG."""
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                return None
            image.load()
            return data, image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _magnified(data: bytes, size: tuple[int, int], alt: str) -> Picture:
    width = size[0]
    scale = max(1, min(8, _SHOWN_WIDTH_PX // max(width, 1)))
    return Picture(data, alt, width * scale)


def line_mask_png(entry: Mapping[str, Any]) -> bytes | None:
    """A strip showing each image line: received (white), missing (red), not sent (grey)."""
    lines = number(entry.get("lines"))
    if lines is None or lines < 1 or lines > 4096:
        return None
    n = int(lines)
    mask = entry.get("mask")
    status = np.zeros(n, dtype=np.uint8)  # 0 not sent, 1 received, 2 missing
    if isinstance(mask, list | tuple) and len(mask) == n:
        status[:] = np.where(np.asarray([bool(m) for m in mask]), 1, 2)
    else:
        mode = number(entry.get("mode"))
        step = int(mode) if mode is not None and mode >= 2 else 1
        status[::step] = 1
    for line in entry.get("lines_missing") or []:
        k = number(line)
        if k is not None and 0 <= k < n:
            status[int(k)] = 2
    palette = np.array([[150, 150, 150], [245, 245, 245], [200, 40, 30]], dtype=np.uint8)
    strip = np.repeat(palette[status][:, np.newaxis, :], 6, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(strip, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _caption(entry: Mapping[str, Any]) -> str:
    return _caption_text(
        entry.get("id", "?"),
        entry.get("lines"),
        entry.get("pixels"),
        entry.get("mode"),
        entry.get("lines_received"),
        entry.get("lines_missing"),
        entry.get("snr_db"),
    )


def _caption_text(
    image_id: Any, lines: Any, pixels: Any, mode: Any, received: Any, missing: Any, snr_db: Any
) -> str:
    """What a picture is: its size, mode, lines received and missing, SNR, what it shows."""
    parts = [f"Image {image_id}"]
    if lines is not None and pixels is not None:
        parts.append(f"{lines} lines × {pixels} pixels")
    mode = number(mode)
    if mode is not None:
        parts.append("full image" if mode == 0 else f"survey, every {int(mode)}th line")
    if received is not None:
        parts.append(f"{received} lines received")
    if isinstance(missing, list | tuple):
        if missing:
            shown = ", ".join(str(m) for m in missing[:20])
            more = f", … ({len(missing)} in all)" if len(missing) > 20 else ""
            parts.append(f"missing lines {shown}{more}")
        else:
            parts.append("no line missing")
    snr = number(snr_db)
    if snr is not None:
        parts.append(f"SNR {snr:.1f} dB")
    return "; ".join(parts) + ". " + _what_it_shows(lines, pixels)


def _what_it_shows(lines: Any, pixels: Any) -> str:
    """What the camera sent: Mars at closest approach, or the stored test chart."""
    from signals.spacecraft.camera import FLYBY_IMAGE_SIZE

    if (lines, pixels) == FLYBY_IMAGE_SIZE:
        return (
            "Mars as the camera saw it at closest approach, a crescent seen from the night "
            "side (procedural: no real image of this flyby exists)."
        )
    return (
        "The stored test chart (grey bars): far from Mars the camera has nothing to see, "
        "and the chart checks the 5 cm link and the decoder line by line."
    )


def _find_file(
    entry: Mapping[str, Any], keys: Sequence[str], files: Sequence[Path], base_dir: Path
) -> Path | None:
    """The file an image entry names under one of ``keys``.

    Looked for among ``files`` (by name), then relative to ``base_dir``, then by name in
    the folders up to three levels below it (a decoder's output folder).
    """
    for key in keys:
        name = entry.get(key)
        if not (isinstance(name, str) and name.lower().endswith(".png")):
            continue
        filename = Path(name).name
        for f in files:
            if f.name == filename:
                return f
        if (base_dir / name).is_file():
            return base_dir / name
        for depth in range(1, 4):
            found = sorted(p for p in base_dir.glob("*/" * depth + filename) if p.is_file())
            if found:
                return found[0]
    return None


def _decoded_image(
    path: Path | None, entry: Mapping[str, Any] | None, base_dir: Path
) -> DecodedImage:
    caption = _caption(entry) if entry else (path.name if path else "")
    image, problem = None, ""
    if path is not None:
        png = _read_png(path)
        if png is None:
            problem = f"{path.name}: not a readable PNG."
        else:
            image = _magnified(*png, f"decoded image {path.name}")
    elif entry is not None:
        problem = "(no image file)"
    mask = None
    if entry is not None:
        # The decoder's mask lies beside its image, or where the entry says.
        mask_file = _find_file(entry, _MASK_KEYS, [], base_dir)
        if mask_file is None and path is not None:
            mask_file = _find_file(entry, _MASK_KEYS, [], path.parent)
        decoder_mask = _read_png(mask_file) if mask_file is not None else None
        if decoder_mask is not None:
            mask = _magnified(*decoder_mask, "received-pixel mask")
            caption += _MASK_CAPTION
        elif (strip := line_mask_png(entry)) is not None:
            mask = Picture(strip, "line mask", _STRIP_WIDTH_PX, "pixels strip")
            caption += (
                " The strip beside it marks each line: white received, red missing, grey not sent."
            )
    return DecodedImage(image, mask, caption, problem)


def session_images(
    entries: Sequence[Any], image_files: Sequence[Path], base_dir: Path
) -> list[DecodedImage]:
    """The session's pictures: each summary entry with its file, then files left over.

    Parameters
    ----------
    entries : sequence
        The summary's ``images`` (mappings; anything else is skipped).
    image_files : sequence of Path
        Decoded PNGs given by the caller.
    base_dir : Path
        The report's folder, where files the entries name are looked for.
    """
    entries = [e for e in entries if isinstance(e, Mapping)]
    remaining = [Path(f) for f in image_files]
    n_files = len(remaining)
    out = []
    for entry in entries:
        path = _find_file(entry, _IMAGE_KEYS, remaining, base_dir)
        if path is None and remaining and len(entries) == n_files:
            path = remaining[0]  # unnamed entries and files, in the same order
        if path in remaining:
            remaining.remove(path)
        out.append(_decoded_image(path, entry, base_dir))
    out += [_decoded_image(path, None, base_dir) for path in remaining]
    return out


def _png_bytes(pixels: np.ndarray) -> bytes:
    """A 2-D uint8 array as 8-bit greyscale PNG bytes, encoded as the decoder writes its files."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def session_pictures(images: Sequence[SessionImage]) -> list[DecodedImage]:
    """The session's pictures, drawn from the decoded images themselves (ICD §3).

    Each picture is the decoder's grey levels as 8-bit greys beside its mask of the lines
    received (white) and not (black), both as the decoder writes them to ``images/``.
    """
    from groundstation.outputs.ppm import grey_to_8bit

    out = []
    for item in images:
        image = item.image
        picture = _png_bytes(grey_to_8bit(image.grey))
        mask = np.where(image.received[:, None], 255, 0).astype(np.uint8)
        mask_png = _png_bytes(np.broadcast_to(mask, image.grey.shape))
        size = (image.grey.shape[1], image.grey.shape[0])
        caption = _caption_text(
            image.image_id,
            image.lines,
            image.pixels,
            image.mode,
            image.lines_received,
            image.lines_missing,
            image.snr_db,
        )
        out.append(
            DecodedImage(
                _magnified(picture, size, f"decoded image {item.name}.png"),
                _magnified(mask_png, size, "received-pixel mask"),
                caption + _MASK_CAPTION,
            )
        )
    return out
