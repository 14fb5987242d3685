"""``groundstation synth ppm``: a 5 cm PPM image recording (ICD §2-§3).

The recording is the spacecraft's downlink generator
(:func:`signals.spacecraft.downlinks.ppm_downlink`), the one ``contact`` uses. The station
is tuned to the band's nominal carrier plus the Doppler predicted from the trajectory; the
recording holds the residual offset and rate asked for. The truth (images sent, lines
faded, channel, where each transmission starts) goes to ``NAME.truth.json`` beside the
recording.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np

from groundstation.cli.synth import truth_path, utc_argument
from groundstation.io.files import write_json
from groundstation.io.recording import base_path
from groundstation.session.downlinks import write_downlink
from signals.errors import ConfigError
from signals.modulators.ppm import ImageTransmission, PpmChannel, SilentGap
from signals.sources.images import IMAGE_SOURCES, make_image
from signals.spacecraft.downlinks import PpmOptions, ppm_downlink

#: Default epoch of a synthetic recording (a session of 5 November 1962, dish pointed).
DEFAULT_START_UTC: Final = datetime(1962, 11, 5, 9, 0, 0, tzinfo=UTC)


def parse_line_list(text: str) -> tuple[int, ...]:
    """Parse ``"10-12,40"`` into (10, 11, 12, 40); an empty string gives ()."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad line list {text!r}: expected numbers and ranges like 10-12,40"
            ) from None
    return tuple(sorted(set(out)))


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``synth ppm`` (the caller adds ``-o/--output``)."""
    parser.add_argument(
        "--source",
        choices=sorted(IMAGE_SOURCES),
        default="mars",
        help="image source (default mars)",
    )
    parser.add_argument("--lines", type=int, default=64, help="image lines (default 64)")
    parser.add_argument("--pixels", type=int, default=64, help="pixels per line (default 64)")
    parser.add_argument("--image-id", type=int, default=1, help="header image id (default 1)")
    parser.add_argument(
        "--mode", type=int, default=0, help="0 full image, k >= 2 survey of every k-th line"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="transmissions of the image (default 1)"
    )
    parser.add_argument(
        "--gap-periods",
        type=int,
        default=90,
        help="silent periods between repeated transmissions (default 90 = 1 s)",
    )
    parser.add_argument(
        "--fs-hz", type=float, default=180_000.0, help="sample rate in Hz (default 180000)"
    )
    parser.add_argument(
        "--esn0-db", type=float, default=16.0, help="Es/N0 per pulse in dB (default 16)"
    )
    parser.add_argument("--noiseless", action="store_true", help="no noise (overrides --esn0-db)")
    parser.add_argument(
        "--clock-ppm", type=float, default=0.0, help="on-board clock error in ppm (ICD ±100)"
    )
    parser.add_argument(
        "--drift-ppm-per-hour", type=float, default=0.0, help="clock drift (ICD ≤ 1 ppm/h)"
    )
    parser.add_argument(
        "--doppler-ppm",
        type=float,
        default=0.0,
        help="range rate over c in ppm, stretches the timing (ICD |v/c| ≤ 60 ppm)",
    )
    parser.add_argument(
        "--carrier-offset-hz", type=float, default=0.0, help="residual offset (ICD ±30 kHz)"
    )
    parser.add_argument(
        "--carrier-rate-hz-per-s", type=float, default=0.0, help="offset rate (ICD ≤ 5 Hz/s)"
    )
    parser.add_argument(
        "--fade-lines",
        type=parse_line_list,
        default=(),
        help='line numbers lost in a fade, e.g. "10-12,40"',
    )
    parser.add_argument(
        "--lead-s", type=float, default=0.25, help="silence before the image in s (default 0.25)"
    )
    parser.add_argument(
        "--tail-s", type=float, default=0.25, help="silence after the image in s (default 0.25)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--start",
        type=utc_argument,
        default=DEFAULT_START_UTC,
        help="UTC of the first sample (ISO 8601; default 1962-11-05T09:00:00Z)",
    )


def build_options(args: argparse.Namespace, rng: np.random.Generator) -> PpmOptions:
    """The :class:`PpmOptions` that the options of ``synth ppm`` describe."""
    if args.repeat < 1:
        raise ConfigError(f"--repeat must be at least 1, got {args.repeat}")
    if args.gap_periods < 0:
        raise ConfigError(f"--gap-periods must not be negative, got {args.gap_periods}")
    image = make_image(args.source, args.lines, args.pixels, rng)
    item = ImageTransmission(image, args.image_id, args.mode, tuple(args.fade_lines))
    items: list[ImageTransmission | SilentGap] = [item]
    for _ in range(args.repeat - 1):
        items += [SilentGap(args.gap_periods), item]
    channel = PpmChannel(
        clock_ppm=args.clock_ppm,
        drift_ppm_per_hour=args.drift_ppm_per_hour,
        doppler_v_over_c=args.doppler_ppm * 1e-6,
        carrier_offset_hz=args.carrier_offset_hz,
        carrier_rate_hz_per_s=args.carrier_rate_hz_per_s,
        esn0_db=None if args.noiseless else args.esn0_db,
    )
    return PpmOptions(
        start_utc=args.start,
        items=tuple(items),
        channel=channel,
        fs_hz=args.fs_hz,
        lead_s=args.lead_s,
        tail_s=args.tail_s,
    )


def run_synth(args: argparse.Namespace) -> Path:
    """Write ``NAME.sigmf-meta``/``.sigmf-data`` and ``NAME.truth.json``; return the meta path."""
    rng = np.random.default_rng(args.seed)
    downlink = ppm_downlink(build_options(args, rng), rng)
    base = base_path(args.output)
    meta_path = write_downlink(base, downlink, show_progress=getattr(args, "progress", True))
    truth = {**downlink.truth, "seed": args.seed, "source": args.source}
    write_json(truth_path(base), truth)
    return meta_path
