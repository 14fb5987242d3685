"""Decoding a session's recordings with the receivers ``groundstation decode`` uses.

Each band's recording is decoded into ``bands/<band>/``; the decoded images are gathered
into ``images/``, and the range rate measured on the coherent carrier is compared with the
geometry.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from groundstation.errors import GroundStationError
from groundstation.io import keys
from groundstation.io.recording import Recording
from groundstation.results import (
    BandResult,
    CarrierBandResult,
    PpmBandResult,
    RangeRateCheck,
    SessionImage,
)


def decode_band(recording: Recording, outdir: Path | None) -> tuple[BandResult | None, str | None]:
    """Decode one opened recording into ``outdir`` (None: no files, the session keeps no
    folder): (the band's result, None) or (None, error)."""
    from groundstation.decode import decode_recording

    try:
        return decode_recording(recording, outdir, show_progress=False), None
    except GroundStationError as exc:
        return None, str(exc)


def collect_images(
    result: BandResult | None, ppm_dir: Path, images_dir: Path
) -> list[SessionImage]:
    """The PPM decoder's images, their PNGs copied from ``ppm_dir`` into ``images_dir``."""
    if not isinstance(result, PpmBandResult):
        return []
    images = []
    for image, name in zip(result.images, result.image_names, strict=True):
        for filename in (f"{name}.png", f"{name}_mask.png"):
            source = ppm_dir / "images" / filename
            if source.exists():
                images_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, images_dir / filename)
        images.append(SessionImage(image, name, result.recording.fs_hz))
    return images


def range_rate_check(
    result: CarrierBandResult, truth: dict[str, Any], recording: Recording
) -> RangeRateCheck:
    """Range rate from the measured 8 cm carrier against the geometry (m/s)."""
    from groundstation.receivers.carrier import range_rate_from_doppler

    est = result.estimate
    two_way = truth["coherent_mode"] == "two-way"
    measured_km_s = range_rate_from_doppler(
        est.frequency_hz,
        "8cm-carrier",
        two_way=two_way,
        uplink_hz=recording.metadata[keys.GLOBAL].get(keys.UPLINK_FREQUENCY),
    )
    return RangeRateCheck(
        mode=truth["coherent_mode"],
        measured_range_rate_km_s=measured_km_s,
        geometry_range_rate_km_s=truth["range_rate_start_km_s"],
        predicted_range_rate_km_s=truth["predicted_range_rate_km_s"],
        error_m_s=(measured_km_s - truth["range_rate_start_km_s"]) * 1e3,
        carrier_offset_hz=est.frequency_offset_hz,
        cn0_dbhz=est.cn0_dbhz,
    )
