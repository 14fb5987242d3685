"""Errors raised by the ground station.

Each carries a one-line message for a person. The command line prints it as
``groundstation: error: <message>`` and exits with a non-zero status, never a traceback.
"""


class GroundStationError(Exception):
    """Base class of every error raised by :mod:`groundstation`."""


class RecordingError(GroundStationError):
    """A recording cannot be read as ICD §2 describes."""


class MetadataError(RecordingError):
    """The ``.sigmf-meta`` file is not JSON, is not SigMF, or lacks a required field."""


class DatatypeError(RecordingError):
    """The recording's ``core:datatype`` is not one the ICD allows."""


class UnknownBandError(RecordingError):
    """The recording's band is not a band of ICD §1, or cannot be inferred."""


class DataFileError(RecordingError):
    """The ``.sigmf-data`` file is missing, empty or not a whole number of samples."""


class DecodeError(GroundStationError):
    """Decoding failed."""


class NoSignalError(DecodeError):
    """Nothing could be decoded from the recording."""


class SessionError(GroundStationError):
    """A contact session or mission replay cannot be planned or run."""


class OutputError(GroundStationError):
    """An output folder cannot be written: it holds other files, or another run writes it."""
