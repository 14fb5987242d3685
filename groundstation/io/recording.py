"""Recordings as SigMF pairs (ICD §2), read one chunk at a time.

In: ``NAME.sigmf-meta`` (JSON, checked with the ``sigmf`` library) plus ``NAME.sigmf-data``
(interleaved little-endian I/Q), or metadata made for another file form
(:func:`recording_from_metadata`). Out: a :class:`Recording` that tells the band, rates,
tuned frequency and start time, and reads samples as ``complex64`` (:meth:`Recording.chunks`
reads one chunk of the file at a time, so the resident memory of a decode stays bounded
whatever the length of the recording). Also the bounds each band's decoder accepts and the
UTC text helpers. Writing is :mod:`groundstation.io.writer`.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
import math
import os
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import jsonschema
import numpy as np
import sigmf
from sigmf import SigMFFile

from groundstation.errors import (
    DataFileError,
    DatatypeError,
    MetadataError,
    RecordingError,
    UnknownBandError,
)
from groundstation.io import keys
from groundstation.io.samples import DATATYPES, SAMPLE_BYTES, to_complex64
from groundstation.results import RecordingInfo
from signals.bands import BAND_IDS, band_from_frequency, load_bands
from signals.formats import ppm as ppm_format
from signals.formats import tlm as tlm_format
from signals.formats import uplink as uplink_format
from signals.modulators.carrier import MIN_FS_HZ as CARRIER_MIN_FS_HZ

log = logging.getLogger(__name__)

META_SUFFIX: Final = ".sigmf-meta"
DATA_SUFFIX: Final = ".sigmf-data"

#: The time of sample 0 of a recording that does not give one (no ``core:datetime``): every
#: decoded time is then the time since sample 0, written from this instant.
RELATIVE_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

#: Lowest sample rate of each kind of band, where its format defines it (ICD §3-§6).
_MIN_FS_HZ_BY_KIND: Final[dict[str, float]] = {
    "ppm": ppm_format.MIN_FS_HZ,
    "telemetry": tlm_format.MIN_FS_HZ,
    "carrier": CARRIER_MIN_FS_HZ,
    "uplink": uplink_format.MIN_FS_HZ,
}
#: Lowest sample rate each band's decoder works at, from the band's kind.
MIN_SAMPLE_RATE_HZ: Final[dict[str, float]] = {
    band_id: _MIN_FS_HZ_BY_KIND[b.kind] for band_id, b in load_bands()[0].items()
}

#: Highest sample rate each band's decoder accepts. The receivers size buffers by samples
#: per chip or per bit, so the rate is bounded here, before any of them runs: a rate in
#: the metadata never sizes an allocation beyond what these limits allow.
MAX_SAMPLE_RATE_HZ: Final[dict[str, float]] = {
    "5cm-ppm": 10e6,
    "32cm-tlm": 1e6,
    "1.6m-tlm": 1e6,
    "8cm-carrier": 1e6,
    "1.6m-cmd": 1e6,
    "39cm-up": 1e6,
}

#: Shortest recording each band's decoder reads (s): one PPM period (ICD §3); for the
#: continuous bands, 0.1 s (the carrier search needs a few hundred samples).
MIN_DURATION_S: Final[dict[str, float]] = {
    "5cm-ppm": 1 / 90,
    "32cm-tlm": 0.1,
    "1.6m-tlm": 0.1,
    "8cm-carrier": 0.1,
    "1.6m-cmd": 0.1,
    "39cm-up": 0.1,
}

#: Largest metadata file read (bytes): JSON expands several times in memory.
MAX_METADATA_BYTES: Final = 16 * 2**20

#: Capture times a reader accepts: the space age to the end of this century (UTC).
EARLIEST_UTC: Final = datetime(1957, 1, 1, tzinfo=UTC)
LATEST_UTC: Final = datetime(2100, 1, 1, tzinfo=UTC)


def base_path(path: Path | str) -> Path:
    """Return ``NAME`` for ``NAME``, ``NAME.sigmf-meta`` or ``NAME.sigmf-data``.

    Raises
    ------
    RecordingError
        ``path`` has no file name (``.``, ``..``, ``/``, empty): it names no recording.
    """
    path = Path(path)
    if path.name in ("", ".."):
        raise RecordingError(
            f"{str(path)!r} names a folder, not a recording (NAME, NAME.sigmf-meta or "
            "NAME.sigmf-data)"
        )
    if path.name.endswith((META_SUFFIX, DATA_SUFFIX)):
        return path.with_name(path.name.rsplit(".", 1)[0])
    return path


def format_utc(t: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` suffix and microseconds, as SigMF writes datetimes."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without a zone is taken as UTC.

    Raises
    ------
    ValueError
        ``text`` is not an ISO 8601 time.
    """
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Recording:
    """A SigMF recording opened for reading (use :func:`open_recording`).

    Attributes
    ----------
    meta_path, data_path : Path
        The two files of the pair.
    datatype : str
        One of :data:`DATATYPES` (``cf32_le``, ``cf64_le``, ``ci16_le``, ``ci8``, ``cu8``).
    fs_hz : float
        Complex sample rate (Hz).
    band : str
        ICD band id (``5cm-ppm``, ``32cm-tlm``, ...).
    nominal_frequency_hz : float
        The band's nominal carrier (Hz).
    center_frequency_hz : float
        The frequency the receiver was tuned to (``captures[0] core:frequency``, Hz).
    start_utc : datetime
        UTC of the start of sample 0; :data:`RELATIVE_EPOCH` when the metadata gives none.
    start_utc_known : bool
        False when ``captures[0]`` has no ``core:datetime``: decoded times are then times
        since sample 0 (written from :data:`RELATIVE_EPOCH`).
    data_offset_bytes : int
        Bytes of the data file before sample 0 (``core:header_bytes``; a WAV header, the
        tar header of an archive member).
    bit_rate_bps : float or None
        ``mars1:bit_rate`` for telemetry and command recordings (bit/s).
    n_samples : int
        Number of complex samples in the data file.
    metadata : dict
        The metadata as read (JSON).
    sigmf : sigmf.SigMFFile
        The metadata as a ``sigmf`` object (without the data attached).
    shown_name : str
        The file the user gave, as messages name it: the metadata file of a SigMF pair, the
        data file itself where the metadata was made for it (raw I/Q, WAV, an archive).
    """

    def __init__(
        self,
        meta_path: Path,
        data_path: Path,
        metadata: dict,
        sigmf_file: SigMFFile,
        *,
        data_offset_bytes: int = 0,
        data_bytes: int | None = None,
        shown_name: str | None = None,
    ):
        self.meta_path = meta_path
        self.shown_name = shown_name or meta_path.name
        self.data_path = data_path
        self.metadata = metadata
        self.sigmf = sigmf_file
        glob = metadata[keys.GLOBAL]
        capture = metadata[keys.CAPTURES][0]
        self.datatype: str = glob[keys.DATATYPE]
        self.fs_hz: float = float(glob[keys.SAMPLE_RATE])
        self.band: str = _infer_band(glob, capture)
        bands, _ = load_bands()
        nominal = _number(glob.get(keys.NOMINAL_FREQUENCY))
        self.nominal_frequency_hz: float = nominal or bands[self.band].carrier_hz
        center = _number(capture.get(keys.FREQUENCY))
        self.center_frequency_hz: float = (
            center if center is not None else self.nominal_frequency_hz
        )
        start = _capture_datetime(capture)
        self.start_utc_known: bool = start is not None
        self.start_utc: datetime = RELATIVE_EPOCH if start is None else start
        rate = glob.get(keys.BIT_RATE)
        self.bit_rate_bps: float | None = _number(rate)
        self._sample_bytes = SAMPLE_BYTES[self.datatype]
        self.data_offset_bytes = int(data_offset_bytes)
        self.n_samples: int = _count_samples(
            data_path, self._sample_bytes, self.data_offset_bytes, data_bytes
        )

    @property
    def name(self) -> str:
        """The recording's base name (``NAME`` of ``NAME.sigmf-meta``)."""
        return base_path(self.meta_path).name

    @property
    def duration_s(self) -> float:
        """Length of the recording (s)."""
        return self.n_samples / self.fs_hz

    def info(self) -> RecordingInfo:
        """What a band result records of this recording (name, band, rate, length, start)."""
        return RecordingInfo(
            name=self.name,
            band=self.band,
            fs_hz=self.fs_hz,
            n_samples=self.n_samples,
            start_utc=self.start_utc,
            meta_name=self.meta_path.name,
        )

    def require_min_sample_rate(self) -> None:
        """Raise :class:`RecordingError` if the rate or length is outside the decoder's range.

        The rate must lie in ``[MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ]`` of the band and
        the recording must last at least ``MIN_DURATION_S``; the message gives the limit.
        """
        minimum = MIN_SAMPLE_RATE_HZ[self.band]
        if self.fs_hz < minimum:
            raise RecordingError(
                f"{self.shown_name}: sample rate {self.fs_hz:g} Hz is below the "
                f"{minimum:g} Hz that band {self.band} needs"
            )
        maximum = MAX_SAMPLE_RATE_HZ[self.band]
        if self.fs_hz > maximum:
            raise RecordingError(
                f"{self.shown_name}: sample rate {self.fs_hz:g} Hz is above the "
                f"{maximum:g} Hz that the band {self.band} decoder accepts"
            )
        shortest_s = MIN_DURATION_S[self.band]
        if self.duration_s < shortest_s:
            raise RecordingError(
                f"{self.shown_name}: {self.n_samples} samples ({self.duration_s:.3g} s) "
                f"are too short for band {self.band}: at least {shortest_s:.3g} s needed"
            )

    def read(self, start: int, count: int) -> np.ndarray:
        """Return ``count`` samples from ``start`` as complex64 (fewer at the end of file).

        The samples are read (``pread``) into a fresh array, never mapped: a data file that
        shrinks while it is read would make a mapped page fault with SIGBUS.

        Raises
        ------
        DataFileError
            The data file is now shorter than when the recording was opened.
        """
        start = max(0, int(start))
        count = max(0, min(int(count), self.n_samples - start))
        if count == 0:
            return np.zeros(0, np.complex64)
        offset = self.data_offset_bytes + start * self._sample_bytes
        raw = np.empty(count * self._sample_bytes, np.uint8)
        with open(self.data_path, "rb", buffering=0) as f:
            got = os.preadv(f.fileno(), [memoryview(raw)], offset)
        if got < raw.size:
            raise DataFileError(
                f"data file {self.data_path.name} shrank while it was read: it now ends "
                f"before sample {start + got // self._sample_bytes} of {self.n_samples}"
            )
        return to_complex64(raw, self.datatype)

    def chunks(
        self, chunk_samples: int, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first sample index, complex64 chunk)`` over ``[start, stop)``.

        Each chunk is read from the file on its own, so only about one chunk is resident
        at a time. Chunks hold the samples as stored: NaN and Inf are not cleaned here
        (see :func:`nonfinite_to_zero`).
        """
        if chunk_samples <= 0:
            raise ValueError("chunk_samples must be positive")
        stop = self.n_samples if stop is None else min(int(stop), self.n_samples)
        position = max(0, int(start))
        while position < stop:
            count = min(chunk_samples, stop - position)
            yield position, self.read(position, count)
            position += count

    def __repr__(self) -> str:
        return (
            f"Recording({self.meta_path.name!r}, band={self.band!r}, fs_hz={self.fs_hz:g}, "
            f"n_samples={self.n_samples}, datatype={self.datatype!r})"
        )


def _infer_band(glob: dict, capture: dict) -> str:
    declared = glob.get(keys.BAND)
    if declared is not None:
        if declared not in BAND_IDS:
            raise UnknownBandError(
                f"unknown band {declared!r} in mars1:band; known bands: {', '.join(BAND_IDS)}"
            )
        return declared
    for key, value in (
        (keys.NOMINAL_FREQUENCY, glob.get(keys.NOMINAL_FREQUENCY)),
        (keys.FREQUENCY, capture.get(keys.FREQUENCY)),
    ):
        frequency = _number(value)
        if frequency is not None:
            match = band_from_frequency(frequency)
            if match is None:
                raise UnknownBandError(
                    f"no band of the ICD near {key} = {frequency:.6g} Hz and no mars1:band"
                )
            return match.band_id
    raise UnknownBandError(
        "cannot tell the band: no mars1:band, mars1:nominal_frequency or captures[0] core:frequency"
    )


def _capture_datetime(capture: dict) -> datetime | None:
    text = capture.get(keys.DATETIME)
    if text is None:
        return None
    if not isinstance(text, str):
        raise MetadataError(f"captures[0] core:datetime {text!r} is not an ISO 8601 time")
    try:
        t = parse_utc(text)
    except (ValueError, OverflowError):
        raise MetadataError(
            f"captures[0] core:datetime {_shorten(text)!r} is not an ISO 8601 time"
        ) from None
    if not EARLIEST_UTC <= t < LATEST_UTC:
        raise MetadataError(
            f"captures[0] core:datetime {_shorten(text)!r} is outside "
            f"{EARLIEST_UTC.year}-{LATEST_UTC.year - 1}"
        )
    return t


def _shorten(value: Any, limit: int = 60) -> Any:
    """A user-supplied value cut to ``limit`` characters for a one-line message."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 3] + "..."
    return value


def _count_samples(
    data_path: Path, sample_bytes: int, offset_bytes: int = 0, data_bytes: int | None = None
) -> int:
    try:
        file_size = data_path.stat().st_size
    except FileNotFoundError:
        raise DataFileError(f"data file {data_path} is missing") from None
    if not data_path.is_file():
        raise DataFileError(f"data file {data_path.name} is not a regular file")
    available = max(0, file_size - offset_bytes)
    size = available if data_bytes is None else int(data_bytes)
    if size > available:
        raise DataFileError(
            f"data file {data_path.name} holds {available} bytes after byte {offset_bytes}, "
            f"not the {size} bytes announced"
        )
    if size == 0:
        raise DataFileError(f"data file {data_path.name} is empty")
    n, remainder = divmod(size, sample_bytes)
    if remainder:
        raise DataFileError(
            f"data file {data_path.name} has {size} bytes, not a whole number of "
            f"{sample_bytes}-byte samples ({remainder} bytes left over)"
        )
    return n


def _check_metadata(metadata: Any, meta_path: Path) -> None:
    where = meta_path.name
    if not isinstance(metadata, dict):
        raise MetadataError(f"{where}: metadata is not a JSON object")
    glob = metadata.get(keys.GLOBAL)
    if not isinstance(glob, dict):
        raise MetadataError(f"{where}: metadata lacks the 'global' object")
    captures = metadata.get(keys.CAPTURES)
    if not isinstance(captures, list) or not captures or not isinstance(captures[0], dict):
        raise MetadataError(f"{where}: metadata lacks a 'captures' list with one capture")
    datatype = glob.get(keys.DATATYPE)
    if datatype is None:
        raise MetadataError(f"{where}: metadata lacks global core:datatype")
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise DatatypeError(
            f"{where}: datatype {_shorten(datatype)!r} is not supported "
            f"(use one of {', '.join(DATATYPES)})"
        )
    rate = glob.get(keys.SAMPLE_RATE)
    if rate is None:
        raise MetadataError(f"{where}: metadata lacks global core:sample_rate")
    if _number(rate) is None or rate <= 0:
        raise MetadataError(
            f"{where}: core:sample_rate {_shorten(rate)!r} is not a positive number"
        )
    channels = glob.get(keys.NUM_CHANNELS, 1)
    if isinstance(channels, bool) or channels != 1:
        raise MetadataError(
            f"{where}: core:num_channels {_shorten(channels)!r}; "
            "only single-channel recordings decode"
        )
    if glob.get(keys.METADATA_ONLY):
        raise MetadataError(f"{where}: core:metadata_only: the recording has no samples")
    if len(captures) > 1:
        raise MetadataError(
            f"{where}: {len(captures)} captures; only recordings with one capture decode"
        )
    start = captures[0].get(keys.SAMPLE_START, 0)
    if isinstance(start, bool) or start != 0:
        raise MetadataError(
            f"{where}: captures[0] core:sample_start is {_shorten(start)!r}; ICD §2 requires 0"
        )
    for key, value in (
        ("captures[0] core:header_bytes", captures[0].get(keys.HEADER_BYTES, 0)),
        ("global core:trailing_bytes", glob.get(keys.TRAILING_BYTES, 0)),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MetadataError(f"{where}: {key} {value!r} is not a byte count")
    try:
        _capture_datetime(captures[0])
    except MetadataError as exc:
        raise MetadataError(f"{where}: {exc}") from None


def open_recording(path: Path | str) -> Recording:
    """Open a SigMF recording given ``NAME``, ``NAME.sigmf-meta`` or ``NAME.sigmf-data``.

    Raises
    ------
    MetadataError
        The metadata is missing, not JSON, not valid SigMF, or lacks a required field.
    DatatypeError
        ``core:datatype`` is not one of :data:`DATATYPES`.
    UnknownBandError
        The band is not one of ICD §1 and cannot be inferred from the frequencies.
    DataFileError
        The data file is missing, empty, or not a whole number of samples.
    """
    return recording_from_metadata(*read_metadata(path))


def read_metadata(path: Path | str) -> tuple[Any, Path, Path]:
    """Read ``NAME.sigmf-meta`` as JSON, unchecked: ``(metadata, meta_path, data_path)``.

    ``data_path`` follows ``core:dataset`` when the metadata names one. Check and open the
    result with :func:`recording_from_metadata`.

    Raises
    ------
    MetadataError
        The metadata file is missing, or not UTF-8 JSON.
    """
    base = base_path(path)
    meta_path = base.with_name(base.name + META_SUFFIX)
    data_path = base.with_name(base.name + DATA_SUFFIX)
    if not meta_path.is_file():
        raise MetadataError(f"no metadata file {meta_path}")
    size = meta_path.stat().st_size
    if size > MAX_METADATA_BYTES:
        raise MetadataError(
            f"{meta_path.name}: metadata of {size} bytes is larger than the "
            f"{MAX_METADATA_BYTES} bytes read"
        )
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise MetadataError(f"{meta_path.name}: metadata is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(
            f"{meta_path.name}: metadata is not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise MetadataError(f"{meta_path.name}: metadata is nested too deeply") from None
    glob = metadata.get(keys.GLOBAL) if isinstance(metadata, dict) else None
    dataset = glob.get(keys.DATASET) if isinstance(glob, dict) else None
    if dataset is not None:
        data_path = dataset_path(meta_path, dataset)
    return metadata, meta_path, data_path


def recording_from_metadata(
    metadata: Any, meta_path: Path, data_path: Path, *, shown_name: str | None = None
) -> Recording:
    """Check SigMF ``metadata`` and open ``data_path`` as its samples.

    ``shown_name`` is the file that messages name (default ``meta_path``'s name; the data
    file where ``meta_path`` only stands for metadata made for it).

    ``captures[0] core:header_bytes`` and ``global core:trailing_bytes`` delimit the samples
    inside the data file (a WAV file or a tar archive holds its samples this way); they are
    written back unchanged in the annotated copy, which then describes the same file.

    Raises
    ------
    MetadataError, DatatypeError, UnknownBandError, DataFileError
        As :func:`open_recording`.
    """
    _check_metadata(metadata, meta_path)
    sigmf_file = as_sigmf(metadata, meta_path)
    header = metadata["captures"][0].get(keys.HEADER_BYTES, 0)
    trailing = metadata["global"].get(keys.TRAILING_BYTES, 0)
    data_bytes = None
    if trailing:
        try:
            data_bytes = max(0, data_path.stat().st_size - header - trailing)
        except FileNotFoundError:
            raise DataFileError(f"data file {data_path} is missing") from None
    return Recording(
        meta_path,
        data_path,
        metadata,
        sigmf_file,
        data_offset_bytes=header,
        data_bytes=data_bytes,
        shown_name=shown_name,
    )


def dataset_path(meta_path: Path, dataset: Any) -> Path:
    """The data file that ``core:dataset`` names, which must lie in the metadata's folder.

    ICD §2: ``core:dataset`` names a file in the metadata's own folder. A path with a
    folder part (``..``, ``sub/x``), an absolute path, or a link that resolves outside the
    folder is refused, and the message says nothing about the file it points at.

    Raises
    ------
    MetadataError
        ``dataset`` is not a plain file name in the metadata's folder.
    """
    where = meta_path.name
    if not isinstance(dataset, str) or not dataset.strip():
        raise MetadataError(f"{where}: core:dataset must be a file name")
    if (
        "/" in dataset
        or "\\" in dataset
        or "\0" in dataset
        or dataset in (".", "..")
        or Path(dataset).is_absolute()
    ):
        raise MetadataError(
            f"{where}: core:dataset {_shorten(dataset)!r} is not a file name in the "
            "metadata's folder (ICD §2)"
        )
    folder = meta_path.parent.resolve()
    data_path = meta_path.parent / dataset
    if data_path.resolve().parent != folder:
        raise MetadataError(
            f"{where}: core:dataset {_shorten(dataset)!r} links outside the metadata's "
            "folder (ICD §2)"
        )
    return data_path


@functools.cache
def _schema_validator() -> Any:
    """A validator of the SigMF schema, the schema itself checked once per process."""
    schema = sigmf.schema.get_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_sigmf(sigmf_file: SigMFFile) -> None:
    """What ``SigMFFile.validate`` checks, the schema's own check not repeated at every call.

    ``sigmf`` checks its schema against the JSON Schema meta-schema each time it validates
    a file (~80 ms, most of a small session's metadata work); the instance checks are the
    same: the schema, declared extensions (a warning) and sample starts in order.

    Raises
    ------
    jsonschema.exceptions.ValidationError
        As ``SigMFFile.validate`` does, with the same error.
    """
    metadata = sigmf_file._metadata
    error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(metadata))
    if error is not None:
        raise error
    undeclared = sigmf.validate._get_namespaces_used(
        metadata
    ) - sigmf.validate._get_namespaces_declared(metadata)
    if undeclared:
        warnings.warn(
            f"Found undeclared extensions in use: {', '.join(sorted(undeclared))}. "
            "All extensions should be declared in core:extensions. "
            "This will raise a ValidationError in future versions.",
            DeprecationWarning,
            stacklevel=2,
        )
    for key in ("captures", "annotations"):
        starts = [item[keys.SAMPLE_START] for item in metadata[key]]
        if any(b < a for a, b in itertools.pairwise(starts)):
            raise jsonschema.exceptions.ValidationError(
                f"{key} has incorrect sample start ordering."
            )


def as_sigmf(metadata: dict, meta_path: Path) -> SigMFFile:
    """Check ``metadata`` against the SigMF schema and wrap it in a ``SigMFFile``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            sigmf_file = SigMFFile(metadata=copy.deepcopy(metadata))
            validate_sigmf(sigmf_file)
        except jsonschema.exceptions.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "top level"
            message = exc.message if len(exc.message) <= 120 else exc.message[:117] + "..."
            raise MetadataError(
                f"{meta_path.name}: not valid SigMF at {where}: {message}"
            ) from None
        except (sigmf.error.SigMFError, KeyError, TypeError, ValueError) as exc:
            raise MetadataError(f"{meta_path.name}: not valid SigMF: {exc}") from None
        except RecursionError:  # JSON that parses, nested too deeply to copy or validate
            raise MetadataError(f"{meta_path.name}: metadata is nested too deeply") from None
    for warning in caught:
        log.debug("sigmf: %s", warning.message)
    return sigmf_file


def nonfinite_to_zero(x: np.ndarray) -> int:
    """Replace NaN and Inf samples of ``x`` with 0, in place; return how many there were."""
    bad = ~np.isfinite(x)
    count = int(np.count_nonzero(bad))
    if count:
        x[bad] = 0
    return count
