"""The Mars 1 ground station: recording I/O, receivers, sessions and reports.

The public face is small: open or write a recording, decode it, run a contact session.
Everything else is implementation, organised by receiving stage. Names are imported on
first use, so ``import groundstation.recording`` stays light (no receiver, no compiler).
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
    "Recording": "groundstation.recording",
    "RecordingWriter": "groundstation.recording",
    "open_recording": "groundstation.recording",
    "write_recording": "groundstation.recording",
    "write_annotated_metadata": "groundstation.recording",
    "decode_recording": "groundstation.cli",
    "decode_ppm": "groundstation.ppm_receiver",
    "DecodedImage": "groundstation.ppm_receiver",
    "PpmDecodeResult": "groundstation.ppm_receiver",
    "decode_ppm_to_dir": "groundstation.ppm_decode",
    "decode_tlm_samples": "groundstation.tlm_receiver",
    "decode_tlm_recording": "groundstation.tlm_receiver",
    "DecodedFrame": "groundstation.tlm_receiver",
    "TelemetryDecodeResult": "groundstation.tlm_receiver",
    "decode_tlm_to_dir": "groundstation.tlm_decode",
    "run_session": "groundstation.session",
    "replay": "groundstation.mission",
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
