"""Sample sources: every form of IQ recording the station reads, as one kind of object.

A source yields chunks of ``complex64`` samples and tells what is known about them
(:class:`SourceFacts`: sample rate, band, tuned frequency, datatype, start UTC or None, bit
rate). The forms read here:

* a SigMF pair ``NAME.sigmf-meta`` + ``NAME.sigmf-data`` (ICD §2), GNU Radio's minimal
  SigMF included (no ``core:datetime``: times count from sample 0);
* a SigMF archive ``NAME.sigmf`` (an uncompressed tar holding a pair);
* a WAV file with two channels, I and Q (16-bit integers or 32-bit floats, SDR# / HDSDR /
  SDR++ "baseband" recordings);
* a raw file of interleaved I/Q (``cf32``, ``cf64``, ``ci16``, ``ci8``, ``cu8``: GNU Radio's
  file sink, ``rtl_sdr``, ``hackrf_transfer``), its facts given by :class:`SourceOptions`;
* standard input (``-``), spooled to a temporary file of bounded size.

Every file form is presented to the receivers as a :class:`~groundstation.io.recording.
Recording` over the original bytes (a memory map at the samples' offset in the file; no
copy): a WAV header, or the tar blocks around an archive member, become SigMF's
``core:header_bytes`` and ``core:trailing_bytes``. The annotated metadata the decoder writes
then describes the same file for any SigMF tool.

Live streams (ZeroMQ, UDP) will be sources with the same :class:`SourceFacts` and
:meth:`FileSource.chunks`, without random access.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import re
import struct
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final

import numpy as np
import sigmf

from groundstation.errors import DataFileError, MetadataError, RecordingError, UnknownBandError
from groundstation.io import keys
from groundstation.io.recording import (
    DATA_SUFFIX,
    MARS1_EXTENSION,
    META_SUFFIX,
    Recording,
    base_path,
    format_utc,
    read_metadata,
    recording_from_metadata,
)
from signals import __version__
from signals.bands import BAND_IDS, band_from_frequency, load_bands

log = logging.getLogger(__name__)

#: Sample formats by their command-line name (gr-satellites, inspectrum) -> SigMF datatype.
SAMPLE_FORMATS: Final[dict[str, str]] = {
    "cf32": "cf32_le",
    "cf64": "cf64_le",
    "ci16": "ci16_le",
    "ci8": "ci8",
    "cu8": "cu8",
}
#: File extensions that name a raw sample format (as inspectrum and the SDR tools use them).
EXTENSION_FORMATS: Final[dict[str, str]] = {
    ".cf32": "cf32",
    ".fc32": "cf32",
    ".cfile": "cf32",
    ".cf64": "cf64",
    ".fc64": "cf64",
    ".ci16": "ci16",
    ".cs16": "ci16",
    ".sc16": "ci16",
    ".ci8": "ci8",
    ".cs8": "ci8",
    ".sc8": "ci8",
    ".cu8": "cu8",
}
#: Largest metadata file read from an archive (bytes).
MAX_META_BYTES: Final = 16 * 1024 * 1024
#: Most tar members examined in an archive.
MAX_ARCHIVE_MEMBERS: Final = 1024
#: Largest input spooled from standard input (bytes, 4 GiB).
MAX_STDIN_BYTES: Final = 4 * 1024**3
#: Bytes read from standard input at a time.
STDIN_CHUNK_BYTES: Final = 1 << 20

_WAVE_FORMAT_PCM: Final = 1
_WAVE_FORMAT_FLOAT: Final = 3
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE


@dataclass(frozen=True)
class SourceOptions:
    """What the command line says about a source: fills in or overrides the file's facts.

    Attributes
    ----------
    sample_format : str or None
        ``cf32``, ``cf64``, ``ci16``, ``ci8`` or ``cu8`` (a raw file's or stdin's format).
    fs_hz : float or None
        Complex sample rate (Hz).
    band : str or None
        Band id of ICD §1.
    frequency_hz : float or None
        Tuned frequency (Hz); the band follows from it when ``band`` is not given.
    bit_rate_bps : float or None
        Telemetry bit rate (bit/s).
    start_utc : datetime or None
        UTC of sample 0.
    """

    sample_format: str | None = None
    fs_hz: float | None = None
    band: str | None = None
    frequency_hz: float | None = None
    bit_rate_bps: float | None = None
    start_utc: datetime | None = None

    def __post_init__(self) -> None:
        if self.sample_format is not None and self.sample_format not in SAMPLE_FORMATS:
            raise RecordingError(
                f"unknown sample format {self.sample_format!r} "
                f"(use one of {', '.join(SAMPLE_FORMATS)})"
            )
        for name in ("fs_hz", "frequency_hz", "bit_rate_bps"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise RecordingError(f"{name} must be a positive number, not {value!r}")
        if self.band is not None and self.band not in BAND_IDS:
            raise UnknownBandError(
                f"unknown band {self.band!r}; known bands: {', '.join(BAND_IDS)}"
            )


@dataclass(frozen=True)
class SourceFacts:
    """What is known about a source's samples.

    Attributes
    ----------
    name : str
        A name for outputs (the recording's base name, ``stdin``).
    form : str
        ``sigmf``, ``sigmf-archive``, ``wav``, ``raw`` or ``stdin``.
    datatype : str
        SigMF datatype of the stored samples (``cf32_le``, ``ci16_le``, ``cu8``, ...).
    fs_hz : float
        Complex sample rate (Hz).
    band : str
        Band id of ICD §1.
    center_frequency_hz : float
        Tuned frequency (Hz).
    nominal_frequency_hz : float
        The band's nominal carrier (Hz).
    start_utc : datetime or None
        UTC of sample 0; None when nothing gives it (times then count from sample 0).
    bit_rate_bps : float or None
        Telemetry bit rate (bit/s), None when unknown (the receiver detects it).
    n_samples : int or None
        Number of samples; None for a stream of unknown length.
    """

    name: str
    form: str
    datatype: str
    fs_hz: float
    band: str
    center_frequency_hz: float
    nominal_frequency_hz: float
    start_utc: datetime | None
    bit_rate_bps: float | None
    n_samples: int | None

    @property
    def duration_s(self) -> float | None:
        """Length (s), None for a stream of unknown length."""
        return None if self.n_samples is None else self.n_samples / self.fs_hz


class FileSource:
    """A recording on disk in any of the forms this module reads (use :func:`open_source`).

    Attributes
    ----------
    path : Path
        What the user named.
    facts : SourceFacts
        What is known about the samples.
    recording : Recording
        Random access to the samples, as the receivers read them.
    sha512_expected : str or None
        ``core:sha512`` of the dataset, when the metadata gives one.
    dataset_span : tuple of int
        The bytes of the data file that ``core:sha512`` covers, ``[start, stop)``: the whole
        file of a pair, the data member of an archive.
    """

    def __init__(
        self,
        path: Path,
        form: str,
        recording: Recording,
        stack: contextlib.ExitStack,
        dataset_span: tuple[int, int] | None = None,
    ):
        self.path = path
        self.recording = recording
        self._stack = stack
        sha = recording.metadata["global"].get(keys.SHA512)
        self.sha512_expected: str | None = sha if isinstance(sha, str) and sha else None
        if dataset_span is None:
            dataset_span = (0, recording.data_path.stat().st_size)
        self.dataset_span = dataset_span
        self.facts = SourceFacts(
            name=recording.name,
            form=form,
            datatype=recording.datatype,
            fs_hz=recording.fs_hz,
            band=recording.band,
            center_frequency_hz=recording.center_frequency_hz,
            nominal_frequency_hz=recording.nominal_frequency_hz,
            start_utc=recording.start_utc if recording.start_utc_known else None,
            bit_rate_bps=recording.bit_rate_bps,
            n_samples=recording.n_samples,
        )

    def chunks(self, chunk_samples: int = 1 << 16) -> Iterator[np.ndarray]:
        """Yield the samples in order as ``complex64`` chunks of ``chunk_samples``."""
        for _, chunk in self.recording.chunks(chunk_samples):
            yield chunk

    def dataset_sha512(self) -> str:
        """SHA-512 (hex) of the bytes ``core:sha512`` covers (:attr:`dataset_span`).

        One sequential read of those bytes; call it only when :attr:`sha512_expected` is
        set, so a recording without a hash costs nothing.
        """
        digest = hashlib.sha512()
        start, stop = self.dataset_span
        with open(self.recording.data_path, "rb") as f:
            f.seek(start)
            remaining = stop - start
            while remaining > 0:
                block = f.read(min(remaining, 1 << 22))
                if not block:
                    break
                digest.update(block)
                remaining -= len(block)
        return digest.hexdigest()

    def close(self) -> None:
        """Release temporary files (a spooled standard input)."""
        self._stack.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, form={self.facts.form!r})"


def source_form(path: Path | str) -> str:
    """The form of the source at ``path``: ``sigmf``, ``sigmf-archive``, ``wav``, ``raw``
    or ``stdin`` (from the name, then the first bytes of the file)."""
    text = str(path)
    if text == "-":
        return "stdin"
    path = Path(path)
    if path.name.endswith((META_SUFFIX, DATA_SUFFIX)):
        return "sigmf"
    base = base_path(path)
    if base.with_name(base.name + META_SUFFIX).is_file():
        return "sigmf"
    suffix = path.suffix.lower()
    if suffix == ".sigmf":
        return "sigmf-archive"
    if suffix == ".wav":
        return "wav"
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return "raw"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if len(head) == 512 and head[257:262] == b"ustar":
        return "sigmf-archive"
    return "raw"


def open_source(
    path: Path | str,
    options: SourceOptions | None = None,
    *,
    stdin: BinaryIO | None = None,
    max_stdin_bytes: int = MAX_STDIN_BYTES,
) -> FileSource:
    """Open a recording in any form this module reads.

    Parameters
    ----------
    path : path or ``"-"``
        ``NAME.sigmf-meta`` (or ``NAME``), ``NAME.sigmf``, ``NAME.wav``, a raw I/Q file, or
        ``-`` for standard input.
    options : SourceOptions, optional
        Facts from the command line. A raw file or stdin needs ``sample_format`` (unless the
        file's extension names it, e.g. ``.cu8``), ``fs_hz`` and ``band`` or
        ``frequency_hz``; for the other forms they override the file's values or fill in
        what it lacks.
    stdin : binary file, optional
        Read instead of ``sys.stdin.buffer`` for ``-``.
    max_stdin_bytes : int
        Refuse standard input longer than this (bytes).

    Raises
    ------
    RecordingError
        Bad input, with a message naming the file and what is wrong.
    """
    options = options or SourceOptions()
    form = source_form(path)
    stack = contextlib.ExitStack()
    span = None
    try:
        if form == "stdin":
            stream = stdin if stdin is not None else sys.stdin.buffer
            recording = _open_stdin(stream, options, stack, max_stdin_bytes)
        elif form == "sigmf":
            recording = _open_pair(path, options)
        elif form == "sigmf-archive":
            recording, span = _open_archive(Path(path), options)
        elif form == "wav":
            recording = _open_wav(Path(path), options)
        else:
            recording = _open_raw(Path(path), options)
    except BaseException:
        stack.close()
        raise
    return FileSource(Path(path), form, recording, stack, span)


# ------------------------------------------------------------------------ metadata


def _band_and_frequency(options: SourceOptions, where: str) -> tuple[str, float]:
    bands, _ = load_bands()
    if options.band is not None:
        frequency = options.frequency_hz or bands[options.band].carrier_hz
        return options.band, frequency
    if options.frequency_hz is not None:
        match = band_from_frequency(options.frequency_hz)
        if match is None:
            raise UnknownBandError(
                f"{where}: no band of the ICD near {options.frequency_hz:.6g} Hz "
                "(see 'groundstation bands')"
            )
        return match.band_id, options.frequency_hz
    raise RecordingError(
        f"{where}: say which band with --band ID or --freq HZ (see 'groundstation bands')"
    )


def synthesise_metadata(
    *,
    datatype: str,
    fs_hz: float,
    options: SourceOptions,
    where: str,
    description: str,
    header_bytes: int = 0,
    trailing_bytes: int = 0,
) -> dict[str, Any]:
    """SigMF metadata (a JSON dict) for samples whose facts come from the command line.

    Parameters
    ----------
    datatype : str
        SigMF datatype of the stored samples.
    fs_hz : float
        Complex sample rate (Hz).
    options : SourceOptions
        Band or frequency, bit rate, start time.
    where : str
        The file's name, for messages.
    description : str
        ``core:description``: where the samples came from.
    header_bytes, trailing_bytes : int
        Bytes of the file before and after the samples.
    """
    band, frequency = _band_and_frequency(options, where)
    bands, _ = load_bands()
    glob: dict[str, Any] = {
        keys.DATATYPE: datatype,
        keys.SAMPLE_RATE: float(fs_hz),
        keys.VERSION: sigmf.__specification__,
        keys.EXTENSIONS: [dict(MARS1_EXTENSION)],
        keys.RECORDER: f"mars1-groundstation {__version__}",
        keys.DESCRIPTION: description,
        keys.BAND: band,
        keys.NOMINAL_FREQUENCY: bands[band].carrier_hz,
    }
    if trailing_bytes:
        glob[keys.TRAILING_BYTES] = int(trailing_bytes)
    if options.bit_rate_bps is not None:
        glob[keys.BIT_RATE] = float(options.bit_rate_bps)
    capture: dict[str, Any] = {keys.SAMPLE_START: 0, keys.FREQUENCY: float(frequency)}
    if header_bytes:
        capture[keys.HEADER_BYTES] = int(header_bytes)
    if options.start_utc is not None:
        capture[keys.DATETIME] = format_utc(options.start_utc)
    return {"global": glob, "captures": [capture], "annotations": []}


def _patched(metadata: dict[str, Any], options: SourceOptions) -> dict[str, Any]:
    """A copy of SigMF ``metadata`` with the command line's facts written in."""
    out = json.loads(json.dumps(metadata))
    glob, capture = out["global"], out["captures"][0]
    if options.fs_hz is not None:
        glob[keys.SAMPLE_RATE] = float(options.fs_hz)
    if options.band is not None or options.frequency_hz is not None:
        band, frequency = _band_and_frequency(options, "command line")
        bands, _ = load_bands()
        glob[keys.BAND] = band
        glob[keys.NOMINAL_FREQUENCY] = bands[band].carrier_hz
        if options.frequency_hz is not None or keys.FREQUENCY not in capture:
            capture[keys.FREQUENCY] = float(frequency)
    if options.bit_rate_bps is not None:
        glob[keys.BIT_RATE] = float(options.bit_rate_bps)
    if options.start_utc is not None:
        capture[keys.DATETIME] = format_utc(options.start_utc)
    return out


def _needs_patch(options: SourceOptions) -> bool:
    return any(
        getattr(options, name) is not None
        for name in ("fs_hz", "band", "frequency_hz", "bit_rate_bps", "start_utc")
    )


def _open_pair(path: Path | str, options: SourceOptions) -> Recording:
    metadata, meta_path, data_path = read_metadata(path)
    well_formed = (
        isinstance(metadata, dict)
        and isinstance(metadata.get("global"), dict)
        and isinstance(metadata.get("captures"), list)
        and bool(metadata["captures"])
        and isinstance(metadata["captures"][0], dict)
    )
    if well_formed and _needs_patch(options):
        metadata = _patched(metadata, options)
    recording = recording_from_metadata(metadata, meta_path, data_path)
    if options.sample_format is not None:
        wanted = SAMPLE_FORMATS[options.sample_format]
        if wanted != recording.datatype:
            raise RecordingError(
                f"{meta_path.name}: the metadata says {recording.datatype}; "
                f"--format {options.sample_format} applies to raw files only"
            )
    return recording


def _require_rate_and_format(path: Path, options: SourceOptions, what: str) -> tuple[str, float]:
    sample_format = options.sample_format or EXTENSION_FORMATS.get(path.suffix.lower())
    missing = []
    if sample_format is None:
        missing.append("--format cf32|cf64|ci16|ci8|cu8")
    if options.fs_hz is None:
        missing.append("--samp-rate HZ")
    if missing:
        raise RecordingError(
            f"{path.name}: {what} carries no metadata (no {path.name}{META_SUFFIX}); "
            f"give {' and '.join(missing)}"
        )
    return SAMPLE_FORMATS[sample_format], float(options.fs_hz)


def _virtual_meta_path(path: Path, name: str) -> Path:
    """Where the metadata of a source without one would be: names the outputs."""
    return path.parent / (name + META_SUFFIX)


# ------------------------------------------------------------------------ raw files and stdin


def _open_raw(path: Path, options: SourceOptions) -> Recording:
    if not path.exists():
        raise DataFileError(f"no such recording: {path} (no {path.name}{META_SUFFIX} either)")
    if not path.is_file():
        raise DataFileError(f"{path}: not a regular file")
    datatype, fs_hz = _require_rate_and_format(path, options, "a raw I/Q file")
    name = path.stem if path.suffix else path.name
    metadata = synthesise_metadata(
        datatype=datatype,
        fs_hz=fs_hz,
        options=options,
        where=path.name,
        description=f"raw {datatype} file {path.name}; facts from the command line",
    )
    metadata["global"][keys.DATASET] = path.name
    return recording_from_metadata(metadata, _virtual_meta_path(path, name), path)


def _open_stdin(
    stream: BinaryIO, options: SourceOptions, stack: contextlib.ExitStack, max_bytes: int
) -> Recording:
    where = Path("stdin")
    datatype, fs_hz = _require_rate_and_format(where, options, "standard input")
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="groundstation-stdin-")))
    spool = folder / ("stdin" + DATA_SUFFIX)
    total = 0
    with open(spool, "wb") as out:
        while True:
            block = stream.read(STDIN_CHUNK_BYTES)
            if not block:
                break
            total += len(block)
            if total > max_bytes:
                raise DataFileError(
                    f"standard input is longer than {max_bytes} bytes; write it to a file "
                    "and decode the file"
                )
            out.write(block)
    metadata = synthesise_metadata(
        datatype=datatype,
        fs_hz=fs_hz,
        options=options,
        where="stdin",
        description=f"{datatype} samples read from standard input",
    )
    return recording_from_metadata(metadata, folder / ("stdin" + META_SUFFIX), spool)


# ------------------------------------------------------------------------ WAV


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


def _open_wav(path: Path, options: SourceOptions) -> Recording:
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
    return recording_from_metadata(metadata, _virtual_meta_path(path, path.stem), path)


# ------------------------------------------------------------------------ SigMF archives


def _safe_member_name(name: str) -> PurePosixPath | None:
    member = PurePosixPath(name)
    if member.is_absolute() or ".." in member.parts or "\\" in name or not member.parts:
        return None
    return member


def _open_archive(path: Path, options: SourceOptions) -> tuple[Recording, tuple[int, int]]:
    """A SigMF archive: a plain tar with ``NAME/NAME.sigmf-meta`` and ``NAME/NAME.sigmf-data``.

    The data member is read in place: an uncompressed tar member is contiguous bytes of the
    archive, so it becomes ``core:header_bytes`` / ``core:trailing_bytes`` around the
    samples. Nothing is extracted; member names that would leave a folder are refused.
    """
    where = path.name
    if not path.is_file():
        raise DataFileError(f"no such recording: {path}")
    try:
        archive = tarfile.open(path, mode="r:")
    except tarfile.ReadError:
        try:
            with tarfile.open(path, mode="r:*"):
                pass
        except tarfile.ReadError:
            raise DataFileError(f"{where}: not a SigMF archive (not a tar file)") from None
        raise DataFileError(
            f"{where}: a compressed archive; a SigMF archive is a plain tar (decompress it)"
        ) from None
    with archive:
        members: dict[PurePosixPath, tarfile.TarInfo] = {}
        for count, member in enumerate(archive):
            if count >= MAX_ARCHIVE_MEMBERS:
                raise DataFileError(f"{where}: more than {MAX_ARCHIVE_MEMBERS} archive members")
            name = _safe_member_name(member.name)
            if name is None:
                raise DataFileError(f"{where}: archive member {member.name!r} leaves the archive")
            members[name] = member
        metas = sorted(n for n, m in members.items() if n.name.endswith(META_SUFFIX))
        if not metas:
            raise MetadataError(f"{where}: the archive holds no {META_SUFFIX} member")
        if len(metas) > 1:
            listed = ", ".join(str(n) for n in metas[:5])
            raise MetadataError(
                f"{where}: the archive holds {len(metas)} recordings ({listed}); "
                "this station decodes archives of one"
            )
        meta_name = metas[0]
        meta_member = members[meta_name]
        if not meta_member.isfile() or meta_member.size > MAX_META_BYTES:
            raise MetadataError(f"{where}: {meta_name} is not a metadata file of at most 16 MiB")
        handle = archive.extractfile(meta_member)
        assert handle is not None  # a regular member
        try:
            metadata = json.loads(handle.read(MAX_META_BYTES).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MetadataError(f"{where}: {meta_name} is not JSON text ({exc})") from None
        stem = meta_name.name[: -len(META_SUFFIX)]
        data_name = meta_name.with_name(stem + DATA_SUFFIX)
        data_member = members.get(data_name)
        if data_member is None:
            raise DataFileError(f"{where}: the archive holds no {data_name}")
        if not data_member.isfile() or data_member.issparse():
            raise DataFileError(f"{where}: {data_name} is not a regular file in the archive")
        offset, length = data_member.offset_data, data_member.size
    size = path.stat().st_size
    if offset + length > size:
        raise DataFileError(f"{where}: {data_name} runs past the end of the archive (truncated)")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("global"), dict):
        raise MetadataError(f"{where}: {meta_name} lacks the 'global' object")
    captures = metadata.get("captures")
    if not isinstance(captures, list) or not captures or not isinstance(captures[0], dict):
        raise MetadataError(f"{where}: {meta_name} lacks a 'captures' list with one capture")
    inner_header = captures[0].get(keys.HEADER_BYTES, 0)
    inner_trailing = metadata["global"].get(keys.TRAILING_BYTES, 0)
    if not all(isinstance(v, int) and v >= 0 for v in (inner_header, inner_trailing)):
        raise MetadataError(f"{where}: header or trailing bytes are not byte counts")
    metadata = json.loads(json.dumps(metadata))
    metadata["captures"][0][keys.HEADER_BYTES] = offset + inner_header
    metadata["global"][keys.TRAILING_BYTES] = size - offset - length + inner_trailing
    metadata["global"][keys.DATASET] = path.name
    if _needs_patch(options):
        metadata = _patched(metadata, options)
    virtual = path.parent / (stem + META_SUFFIX)
    recording = recording_from_metadata(metadata, virtual, path)
    if options.sample_format is not None and SAMPLE_FORMATS[options.sample_format] != (
        recording.datatype
    ):
        raise RecordingError(f"{where}: --format applies to raw files only")
    return recording, (offset, offset + length)


__all__ = [
    "EXTENSION_FORMATS",
    "SAMPLE_FORMATS",
    "FileSource",
    "SourceFacts",
    "SourceOptions",
    "WavLayout",
    "facts_from_name",
    "open_source",
    "read_wav_layout",
    "source_form",
    "synthesise_metadata",
]
