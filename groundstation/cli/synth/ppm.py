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
from pathlib import Path

import numpy as np

from groundstation.cli.synth import write_synth
from signals.errors import ConfigError
from signals.modulators.ppm import ImageTransmission, PpmChannel, SilentGap
from signals.sources.images import make_image
from signals.spacecraft.downlinks import PpmOptions, ppm_downlink


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
    more_truth = {"seed": args.seed, "source": args.source}
    return write_synth(
        args.output, downlink, more_truth, show_progress=getattr(args, "progress", True)
    )
