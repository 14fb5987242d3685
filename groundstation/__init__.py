"""The Mars 1 ground station: recording I/O, receivers, sessions and reports.

The public face is small: open or write a recording, decode it, run a contact session.
Everything else is implementation, organised by receiving stage.
"""

from groundstation.errors import (
    DataFileError,
    DatatypeError,
    DecodeError,
    GroundStationError,
    MetadataError,
    NoSignalError,
    RecordingError,
    SessionError,
    UnknownBandError,
)
from groundstation.ppm_decode import decode_ppm_to_dir
from groundstation.ppm_receiver import DecodedImage, PpmDecodeResult, decode_ppm
from groundstation.recording import (
    Recording,
    RecordingWriter,
    open_recording,
    write_annotated_metadata,
    write_recording,
)
from groundstation.tlm_decode import decode_tlm_to_dir
from groundstation.tlm_receiver import (
    DecodedFrame,
    TelemetryDecodeResult,
    decode_tlm_recording,
    decode_tlm_samples,
)
from signals import __version__

__all__ = [
    "DataFileError",
    "DatatypeError",
    "DecodeError",
    "DecodedFrame",
    "DecodedImage",
    "GroundStationError",
    "MetadataError",
    "NoSignalError",
    "PpmDecodeResult",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "SessionError",
    "TelemetryDecodeResult",
    "UnknownBandError",
    "__version__",
    "decode_ppm",
    "decode_ppm_to_dir",
    "decode_recording",
    "decode_tlm_recording",
    "decode_tlm_samples",
    "decode_tlm_to_dir",
    "open_recording",
    "write_annotated_metadata",
    "write_recording",
]


def decode_recording(meta_path, outdir, *, show_progress: bool = True) -> dict:
    """Decode one recording into ``outdir`` with its band's decoder; return the summary.

    See :func:`groundstation.cli.decode_recording`.
    """
    from groundstation.cli import decode_recording as _decode

    return _decode(meta_path, outdir, show_progress=show_progress)
