"""The Mars 1 ground station: recording I/O, receivers, sessions and reports.

The public face is small: open or write a recording, decode it, run a contact session.
Everything else is implementation, organised by receiving stage. Names are imported on
first use, so ``import groundstation.io.recording`` stays light (no receiver, no compiler).
"""

from __future__ import annotations

import importlib
from typing import Any

from signals import __version__

_EXPORTS = {
    "GroundStationError": "groundstation.errors",
    "RecordingError": "groundstation.errors",
    "MetadataError": "groundstation.errors",
    "DatatypeError": "groundstation.errors",
    "UnknownBandError": "groundstation.errors",
    "DataFileError": "groundstation.errors",
    "DecodeError": "groundstation.errors",
    "NoSignalError": "groundstation.errors",
    "SessionError": "groundstation.errors",
    "Recording": "groundstation.io.recording",
    "RecordingWriter": "groundstation.io.writer",
    "open_recording": "groundstation.io.recording",
    "write_recording": "groundstation.io.writer",
    "write_annotated_metadata": "groundstation.io.writer",
    "decode_recording": "groundstation.decode",
    "BandResult": "groundstation.results",
    "PpmBandResult": "groundstation.results",
    "TelemetryBandResult": "groundstation.results",
    "CarrierBandResult": "groundstation.results",
    "RecordingInfo": "groundstation.results",
    "DecodedImage": "groundstation.results",
    "ImageLine": "groundstation.results",
    "ImageHeader": "groundstation.results",
    "PpmDecodeResult": "groundstation.results",
    "DecodedFrame": "groundstation.results",
    "TruncatedFrame": "groundstation.results",
    "TelemetryDecodeResult": "groundstation.results",
    "CarrierEstimate": "groundstation.results",
    "decode_ppm": "groundstation.receivers.ppm",
    "decode_ppm_to_dir": "groundstation.outputs.ppm",
    "decode_tlm_samples": "groundstation.receivers.tlm_decode",
    "decode_tlm_recording": "groundstation.receivers.tlm_decode",
    "decode_tlm_to_dir": "groundstation.outputs.tlm",
    "TelemetryReceiver": "groundstation.receivers.tlm",
    "CarrierReceiver": "groundstation.receivers.carrier",
    "run_session": "groundstation.session.contact",
    "replay": "groundstation.session.mission",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'groundstation' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
