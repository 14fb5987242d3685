"""``report.html`` of ``groundstation decode``: one recording, what it holds, what came out.

The page is built from the output folder as the decoder left it: ``summary.json``, the
waterfall and the band's products (pictures, ``telemetry.png``, ``spectrum.png``). Like the
session report it is self-contained (images embedded, inline CSS) and written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from groundstation.io.files import write_text
from groundstation.report.format import carrier_mhz, fmt, number
from groundstation.report.html import Img, data_uri, picture_img, render
from groundstation.report.images import session_images
from groundstation.report.tables import Fact

#: Files a decode may write, and what each holds (shown in the page's file list).
FILE_DESCRIPTIONS: Final = (
    ("summary.json", "everything measured, as JSON"),
    ("waterfall.png", "the recording's waterfall"),
    ("telemetry.csv", "one row per telemetry frame: words and channels"),
    ("telemetry.jsonl", "the same, one JSON object per line"),
    ("telemetry.png", "the main telemetry channels against time"),
    ("spectrum.png", "the carrier's spectrum and the zoom on it"),
)


@dataclass(frozen=True)
class FileLink:
    """A file of the output folder, linked from the page."""

    href: str
    what: str


def _png_img(path: Path, alt: str, caption: str = "") -> Img | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return Img(data_uri(data), alt, caption)


def verdict(summary: Mapping[str, Any]) -> tuple[bool, str]:
    """(decoded?, one sentence saying what was found)."""
    if summary.get("status") == "no signal":
        return False, f"Nothing decoded: {summary.get('reason', 'no signal found')}."
    parts = []
    images = summary.get("images")
    if isinstance(images, list) and images:
        lines = sum(int(number(i.get("lines_received")) or 0) for i in images)
        parts.append(f"{len(images)} picture(s), {lines} lines received")
    if "frames" in summary:
        parts.append(
            f"{summary['frames']} telemetry frame(s), "
            f"{summary.get('parity_failures', 0)} with parity errors"
        )
    if "frequency_offset_hz" in summary:
        parts.append(
            f"carrier {fmt(summary.get('frequency_offset_hz'), '+.2f', ' Hz')} from the tuned "
            f"frequency, C/N0 {fmt(summary.get('cn0_dbhz'), '.1f', ' dB-Hz')}"
        )
    return True, "Decoded: " + ("; ".join(parts) if parts else "see summary.json") + "."


def _recording_facts(summary: Mapping[str, Any]) -> list[Fact]:
    source = summary.get("source") if isinstance(summary.get("source"), Mapping) else {}
    band = str(summary.get("band", ""))
    start = source.get("start_utc") or summary.get("start_utc")
    known = source.get("start_utc_known", True)
    facts = [
        Fact("Recording", str(source.get("path", summary.get("recording", "")))),
        Fact("Form", f"{source.get('form', 'sigmf')}, {source.get('datatype', '')}"),
        Fact("Band", f"{band} ({carrier_mhz(band)})" if band else "—"),
        Fact("Tuned frequency", fmt(source.get("tuned_frequency_hz"), ",.1f", " Hz")),
        Fact("Sample rate", fmt(summary.get("fs_hz"), ",.1f", " S/s")),
        Fact("Length", fmt(source.get("duration_s"), ".3f", " s")),
        Fact(
            "Start",
            f"{start} UTC" if known and start else "unknown: times count from sample 0",
        ),
        Fact("core:sha512", str(source.get("sha512", "not given"))),
    ]
    return facts


def _spectrum_facts(summary: Mapping[str, Any]) -> list[Fact]:
    s = summary.get("spectrum")
    if not isinstance(s, Mapping):
        return []
    return [
        Fact(
            "Searched",
            f"{fmt(s.get('searched_lower_hz'), ',.0f')} to "
            f"{fmt(s.get('searched_upper_hz'), ',.0f')} Hz over "
            f"{fmt(s.get('searched_duration_s'), '.2f', ' s')}",
        ),
        Fact("Noise floor", fmt(s.get("noise_floor_db_hz"), ".1f", " dB re 1/Hz")),
        Fact(
            "Strongest line",
            f"{fmt(s.get('strongest_peak_offset_hz'), '+,.1f', ' Hz')} from the tuned frequency, "
            f"{fmt(s.get('strongest_peak_above_floor_db'), '.1f', ' dB')} above the floor",
        ),
        Fact("Resolution", fmt(s.get("resolution_hz"), ".3g", " Hz")),
    ]


def _figures(summary: Mapping[str, Any], outdir: Path) -> list[Img]:
    out: list[Img] = []
    entries = summary.get("images") if isinstance(summary.get("images"), list) else []
    files = sorted(p for p in (outdir / "images").glob("*.png") if not p.stem.endswith("_mask"))
    for picture in session_images(entries, files, outdir):
        shown = [picture_img(picture.image, picture.caption), picture_img(picture.mask)]
        out += [img for img in shown if img is not None]
    for name, alt in (("telemetry.png", "telemetry channels"), ("spectrum.png", "carrier")):
        img = _png_img(outdir / name, alt)
        if img is not None:
            out.append(img)
    return out


def _files(outdir: Path, summary: Mapping[str, Any]) -> list[FileLink]:
    links = [FileLink(name, what) for name, what in FILE_DESCRIPTIONS if (outdir / name).exists()]
    for meta in sorted(outdir.glob("*.sigmf-meta")):
        links.append(FileLink(meta.name, "the metadata with the decoder's SigMF annotations"))
    if (outdir / "images").is_dir():
        for png in sorted((outdir / "images").glob("*.png")):
            links.append(FileLink(f"images/{png.name}", "decoded picture or its line mask"))
    return links


def write_decode_report(
    path: Path, summary: Mapping[str, Any], *, waterfall_caption: str = ""
) -> Path:
    """Write ``report.html`` for the decode whose outputs sit beside ``path``.

    Parameters
    ----------
    path : Path
        The page to write; the output folder is its parent.
    summary : mapping
        The contents of ``summary.json``.
    waterfall_caption : str
        How the waterfall was made.
    """
    outdir = path.parent
    decoded, text = verdict(summary)
    warnings = [str(w) for w in summary.get("warnings", []) if w]
    name = str(summary.get("recording", outdir.name))
    html = render(
        "decode.html",
        title=f"{name}: decoded",
        heading=name,
        subtitle=f"groundstation decode, band {summary.get('band', '?')}",
        decoded=decoded,
        verdict=text,
        warnings=warnings,
        recording_facts=_recording_facts(summary),
        waterfall=_png_img(outdir / "waterfall.png", "waterfall", waterfall_caption),
        spectrum_facts=_spectrum_facts(summary),
        figures=_figures(summary, outdir),
        files=_files(outdir, summary),
        footer="Mars 1 ground station",
    )
    return write_text(path, html)
