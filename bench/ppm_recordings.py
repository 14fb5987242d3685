"""PPM recordings for the benchmarks, made once per size and kept for the session."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from groundstation.io.recording import open_recording
from groundstation.io.writer import write_recording
from signals.formats.ppm import PERIOD_S
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap
from signals.sources.images import make_image


def ppm_recording(
    folder: Path, n_samples: int, *, fs_hz: float = 180e3, esn0_db: float = 16.0, seed: int = 5
):
    """A PPM recording of at least ``n_samples``: 200-pixel random images back to back.

    Impairments are those of an ordinary session (clock, Doppler, carrier offset).
    """
    base = folder / f"ppm_{int(fs_hz)}_{n_samples}_{seed}"
    if base.with_name(base.name + ".sigmf-meta").exists():
        return open_recording(base)
    rng = np.random.default_rng(seed)
    pixels = 200
    line_s = (pixels + 5) * PERIOD_S
    lines_needed = int(np.ceil(n_samples / fs_hz / line_s)) + 1
    items = []
    image_id = 1
    while lines_needed > 0:
        lines = min(lines_needed, 400)
        items += [
            ImageTransmission(make_image("random", lines, pixels, rng), image_id),
            SilentGap(30),
        ]
        lines_needed -= lines + 8
        image_id += 1
    return _write_ppm(base, items, fs_hz, esn0_db, rng, drift_ppm_per_hour=0.5)


def ppm_image_set(
    folder: Path,
    n_images: int,
    lines: int,
    pixels: int,
    *,
    fs_hz: float = 200e3,
    esn0_db: float = 16.0,
    seed: int = 11,
):
    """A cf32 PPM recording of ``n_images`` random images of ``lines`` × ``pixels``,
    separated by 30 silent periods, with an ordinary session's impairments."""
    base = folder / f"ppm_set_{int(fs_hz)}_{n_images}x{lines}x{pixels}_{seed}"
    if base.with_name(base.name + ".sigmf-meta").exists():
        return open_recording(base)
    rng = np.random.default_rng(seed)
    items = []
    for image_id in range(1, n_images + 1):
        items += [
            ImageTransmission(make_image("random", lines, pixels, rng), image_id),
            SilentGap(30),
        ]
    return _write_ppm(base, items, fs_hz, esn0_db, rng)


def _write_ppm(
    base: Path,
    items: list,
    fs_hz: float,
    esn0_db: float,
    rng: np.random.Generator,
    *,
    drift_ppm_per_hour: float = 0.0,
):
    """Write ``items`` through an ordinary session's channel as a cf32 recording ``base``."""
    channel = PpmChannel(
        clock_ppm=40.0,
        drift_ppm_per_hour=drift_ppm_per_hour,
        doppler_v_over_c=2e-5,
        carrier_offset_hz=7_000.0,
        carrier_rate_hz_per_s=1.0,
        esn0_db=esn0_db,
    )
    signal = PpmSignal(items, fs_hz=fs_hz, channel=channel, lead_s=0.05, tail_s=0.05)
    write_recording(
        base,
        signal.chunks(rng, 1 << 20),
        fs_hz=fs_hz,
        band="5cm-ppm",
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=5.86e9,
    )
    return open_recording(base)
