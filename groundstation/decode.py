"""Decode one recording with the receiver of its band: the public decode API.

>>> from groundstation import decode_recording          # doctest: +SKIP
>>> result = decode_recording("pass.sigmf-meta", "pass_decoded")  # doctest: +SKIP
>>> result.kind, len(result.frames)                     # doctest: +SKIP
('telemetry', 12)

The result is typed (:mod:`groundstation.results`); the output folder holds the same
content as files (``summary.json`` and the band's products).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from groundstation.errors import GroundStationError
from groundstation.results import BandResult

if TYPE_CHECKING:
    from groundstation.io.recording import Recording

#: Which decoder handles each band: (module, function).
DECODERS: Final = {
    "5cm-ppm": ("groundstation.outputs.ppm", "decode_ppm_to_dir"),
    "32cm-tlm": ("groundstation.outputs.tlm", "decode_tlm_to_dir"),
    "1.6m-tlm": ("groundstation.outputs.tlm", "decode_tlm_to_dir"),
    "8cm-carrier": ("groundstation.outputs.carrier", "decode_carrier_to_dir"),
    "39cm-up": ("groundstation.outputs.carrier", "decode_carrier_to_dir"),
}


def decode_recording(
    meta_path: Recording | Path | str,
    outdir: Path | str | None,
    *,
    show_progress: bool = True,
) -> BandResult:
    """Decode one recording into ``outdir`` with the decoder of its band.

    Parameters
    ----------
    meta_path : path or Recording
        ``NAME.sigmf-meta`` (or ``NAME``), or that recording already opened.
    outdir : path or None
        Output folder (created); None decodes without writing any file.
    show_progress : bool
        Draw a progress bar on a terminal.

    Returns
    -------
    PpmBandResult, TelemetryBandResult or CarrierBandResult
        What was decoded, by band.

    Raises
    ------
    GroundStationError
        Bad input (``RecordingError`` and its kinds), a band this station does not decode,
        or ``NoSignalError`` when nothing was found.
    """
    from groundstation.io.recording import Recording, open_recording

    recording = meta_path if isinstance(meta_path, Recording) else open_recording(meta_path)
    recording.require_min_sample_rate()
    if recording.band not in DECODERS:
        raise GroundStationError(
            f"{recording.meta_path.name}: band {recording.band} is an uplink; "
            "this station decodes downlinks only"
        )
    module_name, function_name = DECODERS[recording.band]
    decoder: Callable[..., BandResult] = getattr(
        importlib.import_module(module_name), function_name
    )
    return decoder(recording, None if outdir is None else Path(outdir), show_progress=show_progress)
