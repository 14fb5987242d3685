"""WAV files of I/Q samples (SDR#, HDSDR, SDR++ "baseband" recordings).

In: a RIFF/WAVE file with two channels, I left and Q right, 16-bit integers or 32-bit floats;
its name may carry the start time and tuned frequency (``..._20221101_161416Z_922760000Hz_...``).
Out: a :class:`~groundstation.io.recording.Recording` over the file's own bytes (the WAV
header becomes SigMF's ``core:header_bytes``; nothing is copied).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from groundstation.errors import DataFileError, RecordingError
from groundstation.io import keys
from groundstation.io.facts import SourceOptions, synthesise_metadata, virtual_meta_path
from groundstation.io.recording import Recording, recording_from_metadata

_WAVE_FORMAT_PCM: Final = 1
_WAVE_FORMAT_FLOAT: Final = 3
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE


@dataclass(frozen=True)
class WavLayout:
    """Where the samples of a WAV file are and how they are stored.

    Attributes
    ----------
    fs_hz : float
        Sample rate from the header (Hz).
    channels : int
        Channel count.
    datatype : str
        ``ci16_le`` (16-bit PCM) or ``cf32_le`` (32-bit IEEE float), for 2 channels.
    data_offset_bytes : int
        Position of the first sample in the file.
    data_bytes : int
        Length of the sample data (bytes).
    """

    fs_hz: float
    channels: int
    datatype: str
    data_offset_bytes: int
    data_bytes: int


def read_wav_layout(path: Path | str) -> WavLayout:
    """Parse the RIFF chunks of a WAV file: format, rate and where the samples are.

    Only the headers are read. Accepts PCM 16-bit and IEEE float 32-bit (plain or
    ``WAVE_FORMAT_EXTENSIBLE``).

    Raises
    ------
    DataFileError
        Not a WAV file, a truncated header, or a sample format other than those two.
    """
    path = Path(path)
    size = path.stat().st_size
    where = path.name
    fmt: tuple[int, int, int, int] | None = None
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise DataFileError(f"{where}: not a WAV file (no RIFF/WAVE header)")
        position = 12
        while position + 8 <= size:
            f.seek(position)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            body = position + 8
            if chunk_id == b"fmt ":
                raw = f.read(min(chunk_size, 64))
                if len(raw) < 16:
                    raise DataFileError(f"{where}: WAV fmt chunk is truncated")
                tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", raw[:16])
                if tag == _WAVE_FORMAT_EXTENSIBLE and len(raw) >= 26:
                    tag = struct.unpack("<H", raw[24:26])[0]  # first 2 bytes of the GUID
                fmt = (tag, channels, rate, bits)
            elif chunk_id == b"data":
                if fmt is None:
                    raise DataFileError(f"{where}: WAV data chunk before its fmt chunk")
                # An unknown length (streaming writers leave 0 or 0xFFFFFFFF): to end of file.
                available = size - body
                length = available if chunk_size in (0, 0xFFFFFFFF) else chunk_size
                if length > available:
                    raise DataFileError(
                        f"{where}: WAV data chunk announces {length} bytes, the file holds "
                        f"{available} (truncated)"
                    )
                return _wav_layout(where, fmt, body, length)
            position = body + chunk_size + (chunk_size & 1)
    raise DataFileError(f"{where}: WAV file has no data chunk")


def _wav_layout(where: str, fmt: tuple[int, int, int, int], body: int, length: int) -> WavLayout:
    tag, channels, rate, bits = fmt
    if channels != 2:
        raise DataFileError(
            f"{where}: WAV with {channels} channel(s); an I/Q recording has 2 (I left, Q right)"
        )
    if tag == _WAVE_FORMAT_PCM and bits == 16:
        datatype = "ci16_le"
    elif tag == _WAVE_FORMAT_FLOAT and bits == 32:
        datatype = "cf32_le"
    else:
        kind = {_WAVE_FORMAT_PCM: "integer", _WAVE_FORMAT_FLOAT: "float"}.get(tag, f"tag {tag}")
        raise DataFileError(
            f"{where}: WAV samples are {bits}-bit {kind}; this station reads 16-bit integer "
            "and 32-bit float"
        )
    if rate <= 0:
        raise DataFileError(f"{where}: WAV sample rate {rate} is not positive")
    return WavLayout(float(rate), channels, datatype, body, length)


#: SDR# / HDSDR / SDR++ file names: ``..._20221101_161416Z_922760000Hz_...`` (or ``kHz``).
_WAV_NAME_TIME = re.compile(r"(\d{8})_(\d{6})Z")
_WAV_NAME_FREQUENCY = re.compile(r"_(\d+(?:\.\d+)?)(Hz|kHz|MHz)(?:_|\b)", re.IGNORECASE)


def facts_from_name(name: str) -> SourceOptions:
    """Start time and tuned frequency from an SDR program's file name, where it gives them.

    SDR#, HDSDR and SDR++ name baseband recordings like
    ``SDRSharp_20221101_161416Z_922760000Hz_IQ.wav`` or ``HDSDR_20221101_161416Z_922760kHz_RF.wav``.
    """
    start = None
    frequency = None
    match = _WAV_NAME_TIME.search(name)
    if match:
        with contextlib.suppress(ValueError):
            start = datetime.strptime(match.group(1) + match.group(2) + "+0000", "%Y%m%d%H%M%S%z")
    match = _WAV_NAME_FREQUENCY.search(name)
    if match:
        scale = {"hz": 1.0, "khz": 1e3, "mhz": 1e6}[match.group(2).lower()]
        frequency = float(match.group(1)) * scale
    return SourceOptions(frequency_hz=frequency, start_utc=start)


def open_wav(path: Path, options: SourceOptions) -> Recording:
    if not path.is_file():
        raise DataFileError(f"no such recording: {path}")
    layout = read_wav_layout(path)
    if options.sample_format is not None:
        raise RecordingError(f"{path.name}: a WAV file names its own format; drop --format")
    from_name = facts_from_name(path.name)
    merged = dataclasses.replace(
        options,
        fs_hz=options.fs_hz or layout.fs_hz,
        frequency_hz=options.frequency_hz
        or (from_name.frequency_hz if options.band is None else None),
        start_utc=options.start_utc or from_name.start_utc,
    )
    trailing = path.stat().st_size - layout.data_offset_bytes - layout.data_bytes
    metadata = synthesise_metadata(
        datatype=layout.datatype,
        fs_hz=merged.fs_hz,
        options=merged,
        where=path.name,
        description=f"2-channel WAV {path.name} (I, Q)",
        header_bytes=layout.data_offset_bytes,
        trailing_bytes=trailing,
    )
    metadata["global"][keys.DATASET] = path.name
    return recording_from_metadata(
        metadata, virtual_meta_path(path, path.stem), path, shown_name=path.name
    )
