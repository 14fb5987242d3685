"""``groundstation bands``: the bands of ICD §1 and what decoding each one needs.

Printed from the band data (``signals/data/mars1.toml``), as ``gr_satellites --list_satellites``
lists what it can decode: the id to pass to ``--band``, the nominal carrier, the direction,
the waveform, the lowest sample rate its decoder works at, and whether
``groundstation decode`` decodes it.
"""

from __future__ import annotations

import argparse


def add_bands_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation bands``."""
    parser.add_argument("--json", action="store_true", help="print the table as JSON")


def band_rows() -> list[dict[str, object]]:
    """One dict per band, in ICD §1 order."""
    from groundstation.decode import DECODERS
    from groundstation.io.recording import MIN_SAMPLE_RATE_HZ
    from signals.bands import BAND_IDS, band

    rows = []
    for band_id in BAND_IDS:
        b = band(band_id)
        rows.append(
            {
                "band": band_id,
                "carrier_hz": b.carrier_hz,
                "direction": b.direction,
                "waveform": b.waveform,
                "min_sample_rate_hz": MIN_SAMPLE_RATE_HZ[band_id],
                "max_residual_hz": b.max_residual_hz,
                "decoded": band_id in DECODERS,
            }
        )
    return rows


def run_bands_command(args: argparse.Namespace) -> int:
    """Print the band table; return 0."""
    rows = band_rows()
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
        return 0
    header = ("band", "carrier", "dir", "min rate", "decode", "waveform")
    table = [
        (
            str(r["band"]),
            f"{float(r['carrier_hz']) / 1e6:.4f} MHz",
            str(r["direction"]),
            f"{float(r['min_sample_rate_hz']) / 1e3:g} kS/s",
            "yes" if r["decoded"] else "no",
            str(r["waveform"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *table)) for i in range(len(header) - 1)]
    for row in (header, *table):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return 0
