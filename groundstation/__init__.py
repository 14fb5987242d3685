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
from groundstation.recording import (
    Recording,
    RecordingWriter,
    open_recording,
    write_annotated_metadata,
    write_recording,
)
from signals import __version__

__all__ = [
    "DataFileError",
    "DatatypeError",
    "DecodeError",
    "GroundStationError",
    "MetadataError",
    "NoSignalError",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "SessionError",
    "UnknownBandError",
    "__version__",
    "decode_recording",
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
