"""Recordings as SigMF pairs (ICD §2): reading in chunks, writing in chunks.

A recording is ``NAME.sigmf-meta`` (JSON, handled with the ``sigmf`` library) plus
``NAME.sigmf-data`` (interleaved little-endian I/Q). Sample data is never loaded whole:
:meth:`Recording.chunks` reads one chunk of the file at a time, so the resident memory of a
decode stays bounded whatever the length of the recording, and :class:`RecordingWriter`
appends chunks to a temporary file that is renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import math
import os
import warnings
from collections.abc import Iterable, Iterator
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
from groundstation.io.files import atomic_path, to_json
from groundstation.io.keys import MARS1_EXTENSION
from groundstation.results import RecordingInfo
from signals import __version__
from signals.bands import BAND_IDS, band_from_frequency, load_bands
from signals.formats import ppm as ppm_format
from signals.formats import tlm as tlm_format
from signals.formats import uplink as uplink_format
from signals.modulators.carrier import MIN_FS_HZ as CARRIER_MIN_FS_HZ

log = logging.getLogger(__name__)

META_SUFFIX: Final = ".sigmf-meta"
DATA_SUFFIX: Final = ".sigmf-data"

#: Datatypes a reader accepts (ICD §2), with their numpy storage type and scale to complex64.
DATATYPES: Final[dict[str, tuple[np.dtype, float]]] = {
    "cf32_le": (np.dtype("<c8"), 1.0),
    "cf64_le": (np.dtype("<c16"), 1.0),
    "ci16_le": (np.dtype("<i2"), 2.0**-15),
    "ci8": (np.dtype("i1"), 2.0**-7),
    "cu8": (np.dtype("u1"), 2.0**-7),
}
_SAMPLE_BYTES: Final = {"cf32_le": 8, "cf64_le": 16, "ci16_le": 4, "ci8": 2, "cu8": 2}
#: Datatypes :class:`RecordingWriter` stores.
WRITER_DATATYPES: Final = ("cf32_le", "cf64_le", "ci16_le")
#: Offset of unsigned 8-bit samples (ICD §2): a ``cu8`` value v reads as (v - 127.5)·2⁻⁷.
CU8_OFFSET: Final = 127.5
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
    """Return ``NAME`` for ``NAME``, ``NAME.sigmf-meta`` or ``NAME.sigmf-data``."""
    path = Path(path)
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
    ):
        self.meta_path = meta_path
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
        self._storage, self._scale = DATATYPES[self.datatype]
        self._sample_bytes = _SAMPLE_BYTES[self.datatype]
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
                f"{self.meta_path.name}: sample rate {self.fs_hz:g} Hz is below the "
                f"{minimum:g} Hz that band {self.band} needs"
            )
        maximum = MAX_SAMPLE_RATE_HZ[self.band]
        if self.fs_hz > maximum:
            raise RecordingError(
                f"{self.meta_path.name}: sample rate {self.fs_hz:g} Hz is above the "
                f"{maximum:g} Hz that the band {self.band} decoder accepts"
            )
        shortest_s = MIN_DURATION_S[self.band]
        if self.duration_s < shortest_s:
            raise RecordingError(
                f"{self.meta_path.name}: {self.n_samples} samples ({self.duration_s:.3g} s) "
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
        if self._storage.kind in "iu":
            out = raw.view(self._storage).astype(np.float32).view(np.complex64)
            if self.datatype == "cu8":
                out -= np.complex64(CU8_OFFSET + 1j * CU8_OFFSET)
            out *= np.float32(self._scale)
            return out
        if self.datatype == "cf64_le":
            return raw.view("<c16").astype(np.complex64)
        return raw.view("<c8").view(np.complex64)

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


def recording_from_metadata(metadata: Any, meta_path: Path, data_path: Path) -> Recording:
    """Check SigMF ``metadata`` and open ``data_path`` as its samples.

    ``captures[0] core:header_bytes`` and ``global core:trailing_bytes`` delimit the samples
    inside the data file (a WAV file or a tar archive holds its samples this way); they are
    written back unchanged in the annotated copy, which then describes the same file.

    Raises
    ------
    MetadataError, DatatypeError, UnknownBandError, DataFileError
        As :func:`open_recording`.
    """
    _check_metadata(metadata, meta_path)
    sigmf_file = _as_sigmf(metadata, meta_path)
    header = metadata["captures"][0].get(keys.HEADER_BYTES, 0)
    trailing = metadata["global"].get(keys.TRAILING_BYTES, 0)
    data_bytes = None
    if trailing:
        try:
            data_bytes = max(0, data_path.stat().st_size - header - trailing)
        except FileNotFoundError:
            raise DataFileError(f"data file {data_path} is missing") from None
    return Recording(
        meta_path, data_path, metadata, sigmf_file, data_offset_bytes=header, data_bytes=data_bytes
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


def _as_sigmf(metadata: dict, meta_path: Path) -> SigMFFile:
    """Check ``metadata`` against the SigMF schema and wrap it in a ``SigMFFile``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            sigmf_file = SigMFFile(metadata=copy.deepcopy(metadata))
            sigmf_file.validate()
        except jsonschema.exceptions.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "top level"
            message = exc.message if len(exc.message) <= 120 else exc.message[:117] + "..."
            raise MetadataError(
                f"{meta_path.name}: not valid SigMF at {where}: {message}"
            ) from None
        except (sigmf.error.SigMFError, KeyError, TypeError, ValueError) as exc:
            raise MetadataError(f"{meta_path.name}: not valid SigMF: {exc}") from None
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


def build_metadata(
    *,
    fs_hz: float,
    band: str,
    start_utc: datetime,
    center_frequency_hz: float,
    datatype: str = "cf32_le",
    bit_rate_bps: float | None = None,
    extra_global: dict[str, Any] | None = None,
    description: str | None = None,
    sha512: str | None = None,
    annotations: Iterable[dict[str, Any]] = (),
) -> SigMFFile:
    """Build and validate the SigMF metadata of a recording per ICD §2."""
    bands, _ = load_bands()
    if band not in bands:
        raise UnknownBandError(f"unknown band {band!r}; known bands: {', '.join(BAND_IDS)}")
    if datatype not in DATATYPES:
        raise DatatypeError(f"datatype {datatype!r} is not supported")
    info: dict[str, Any] = {
        keys.DATATYPE: datatype,
        keys.SAMPLE_RATE: float(fs_hz),
        keys.VERSION: sigmf.__specification__,
        keys.EXTENSIONS: [dict(MARS1_EXTENSION)],
        keys.RECORDER: f"mars1-groundstation {__version__}",
        keys.BAND: band,
        keys.NOMINAL_FREQUENCY: bands[band].carrier_hz,
    }
    if description:
        info[keys.DESCRIPTION] = description
    if bit_rate_bps is not None:
        info[keys.BIT_RATE] = float(bit_rate_bps)
    if sha512:
        info[keys.SHA512] = sha512
    for key, value in (extra_global or {}).items():
        if not key.startswith(keys.MARS1_PREFIX):
            raise ValueError(f"extra global key {key!r} must be in the mars1: namespace")
        info[key] = value
    meta = SigMFFile(global_info=info)
    meta.add_capture(
        0,
        {
            keys.FREQUENCY: float(center_frequency_hz),
            keys.DATETIME: format_utc(start_utc),
        },
    )
    for annotation in sorted(annotations, key=lambda a: a[keys.SAMPLE_START]):
        fields = dict(annotation)
        start = int(fields.pop(keys.SAMPLE_START))
        count = fields.pop(keys.SAMPLE_COUNT, None)
        meta.add_annotation(start, None if count is None else int(count), metadata=fields)
    meta.validate()
    return meta


class RecordingWriter:
    """Write a recording chunk by chunk; the files appear only when it is complete.

    Use as a context manager::

        with RecordingWriter("out/rec", fs_hz=180e3, band="5cm-ppm", start_utc=t0,
                             center_frequency_hz=5.86e9) as writer:
            for chunk in chunks:
                writer.write(chunk)

    On a clean exit ``NAME.sigmf-data`` and ``NAME.sigmf-meta`` are renamed into place;
    on an exception (Ctrl-C included) the temporary files are removed.

    Parameters
    ----------
    base_path : path
        ``NAME``; the writer adds the SigMF suffixes.
    fs_hz : float
        Complex sample rate (Hz).
    band : str
        ICD band id.
    start_utc : datetime
        UTC of the start of sample 0.
    center_frequency_hz : float
        Tuned frequency: nominal carrier plus predicted Doppler (Hz).
    bit_rate_bps : float, optional
        Telemetry or command bit rate (bit/s).
    extra_global : dict, optional
        More ``mars1:`` global keys.
    description : str, optional
        ``core:description``.
    datatype : str
        ``cf32_le`` (default), ``ci16_le`` or ``cf64_le``.
    """

    def __init__(
        self,
        base_path_: Path | str,
        *,
        fs_hz: float,
        band: str,
        start_utc: datetime,
        center_frequency_hz: float,
        bit_rate_bps: float | None = None,
        extra_global: dict[str, Any] | None = None,
        description: str | None = None,
        datatype: str = "cf32_le",
    ):
        base = base_path(base_path_)
        self.meta_path = base.with_name(base.name + META_SUFFIX)
        self.data_path = base.with_name(base.name + DATA_SUFFIX)
        self._meta_args = {
            "fs_hz": fs_hz,
            "band": band,
            "start_utc": start_utc,
            "center_frequency_hz": center_frequency_hz,
            "datatype": datatype,
            "bit_rate_bps": bit_rate_bps,
            "extra_global": extra_global,
            "description": description,
        }
        if datatype not in WRITER_DATATYPES:
            raise DatatypeError(
                f"the writer stores {', '.join(WRITER_DATATYPES)}, not {datatype!r}"
            )
        build_metadata(**self._meta_args)  # fail early on bad arguments
        self.datatype = datatype
        self.n_samples = 0
        self._hash = hashlib.sha512()
        self._stack: contextlib.ExitStack | None = None
        self._file = None

    def __enter__(self) -> RecordingWriter:
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.data_path))
        self._file = self._stack.enter_context(open(tmp, "wb"))
        return self

    def write(self, chunk: np.ndarray) -> None:
        """Append complex samples (any complex or real dtype; stored as ``datatype``)."""
        data = np.asarray(chunk)
        if self.datatype == "cf32_le":
            raw = data.astype("<c8", copy=False)
        elif self.datatype == "cf64_le":
            raw = data.astype("<c16", copy=False)
        else:
            iq = np.empty((data.size, 2), np.float64)
            iq[:, 0] = data.real
            iq[:, 1] = data.imag
            raw = np.clip(np.rint(iq * 2.0**15), -32768, 32767).astype("<i2")
        buffer = memoryview(np.ascontiguousarray(raw)).cast("B")
        self._file.write(buffer)
        self._hash.update(buffer)
        self.n_samples += data.size

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        if exc_type is not None:
            stack.__exit__(exc_type, exc, tb)
            return False
        self._file.flush()
        os.fsync(self._file.fileno())
        meta = build_metadata(sha512=self._hash.hexdigest(), **self._meta_args)
        try:
            with atomic_path(self.meta_path) as meta_tmp:
                meta_tmp.write_text(meta.dumps(pretty=True) + "\n", encoding="utf-8")
                stack.close()  # renames the data file into place
        except BaseException as error:
            self.data_path.unlink(missing_ok=True)
            raise error
        return False


def write_recording(base_path_: Path | str, chunks: Iterable[np.ndarray], **kwargs: Any) -> Path:
    """Write an iterable of sample chunks as a recording; return the ``.sigmf-meta`` path.

    Keyword arguments are those of :class:`RecordingWriter`.
    """
    with RecordingWriter(base_path_, **kwargs) as writer:
        for chunk in chunks:
            writer.write(chunk)
    return writer.meta_path


#: ``core:generator`` of every annotation this decoder writes: a re-decode replaces them.
ANNOTATION_GENERATOR: Final = "mars1-groundstation"


def write_annotated_metadata(
    recording: Recording, out_meta_path: Path | str, annotations: Iterable[dict[str, Any]]
) -> Path:
    """Write a copy of ``recording``'s metadata with the decoder's annotations added.

    Each annotation is a dict with ``core:sample_start``, ``core:sample_count``,
    ``core:label`` and any ``mars1:`` keys (ICD §2); the copy marks each with
    ``core:generator`` = :data:`ANNOTATION_GENERATOR` and drops the annotations an earlier
    decode wrote, so decoding a decoded copy never repeats them. ICD §2 lets
    ``core:dataset`` name only a file in the metadata's own folder: the copy names the data
    file when it is written beside it, and otherwise carries no ``core:dataset`` (put it
    beside ``NAME.sigmf-data`` to read the samples with it). Written atomically; the
    recording's own metadata is never overwritten.

    Raises
    ------
    RecordingError
        ``out_meta_path`` is the recording's own metadata file.
    """
    out_meta_path = Path(out_meta_path)
    if out_meta_path.resolve() == recording.meta_path.resolve():
        raise RecordingError(
            f"{recording.meta_path.name}: the annotated copy would overwrite the recording's "
            "own metadata; choose another output folder"
        )
    metadata = copy.deepcopy(recording.metadata)
    glob = metadata[keys.GLOBAL]
    extensions = glob.setdefault(keys.EXTENSIONS, [])
    if not any(isinstance(e, dict) and e.get("name") == "mars1" for e in extensions):
        extensions.append(dict(MARS1_EXTENSION))
    glob.pop(keys.DATASET, None)
    if recording.data_path.resolve().parent == out_meta_path.resolve().parent:
        if recording.data_path.name != out_meta_path.name.removesuffix(META_SUFFIX) + DATA_SUFFIX:
            glob[keys.DATASET] = recording.data_path.name
    existing = [
        a
        for a in metadata.get(keys.ANNOTATIONS, [])
        if isinstance(a, dict) and a.get(keys.GENERATOR) != ANNOTATION_GENERATOR
    ]
    merged = existing + [_clean_annotation(a) for a in annotations]
    metadata[keys.ANNOTATIONS] = sorted(merged, key=lambda a: a.get(keys.SAMPLE_START, 0))
    _as_sigmf(metadata, out_meta_path)
    with atomic_path(out_meta_path) as tmp:
        tmp.write_text(to_json(metadata) + "\n", encoding="utf-8")
    return out_meta_path


def link_data_beside(data_path: Path, meta_path: Path) -> Path | None:
    """Put a symbolic link to ``data_path`` beside ``meta_path``, named like it.

    Viewers such as inspectrum ignore ``core:dataset`` and look for ``NAME.sigmf-data``
    beside ``NAME.sigmf-meta``; the link lets them open an annotated copy
    (:func:`write_annotated_metadata`) where it is, without copying the samples.
    ``groundstation decode`` makes it; a session, whose recordings are temporary, does not.
    An existing regular file of that name is left alone. Returns the link, or None when
    none was made.
    """
    base = base_path(meta_path)
    link = base.with_name(base.name + DATA_SUFFIX)
    target = Path(data_path).resolve()
    if link.exists() and not link.is_symlink():
        return None  # the data itself, or a file the user put there
    relative = os.path.relpath(target, link.resolve().parent)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(relative, tmp)
        os.replace(tmp, link)
    except OSError as exc:  # a file system without links: the core:dataset path still leads
        tmp.unlink(missing_ok=True)
        log.debug("no data link beside %s: %s", meta_path, exc)
        return None
    return link


def _clean_annotation(annotation: dict[str, Any]) -> dict[str, Any]:
    if keys.SAMPLE_START not in annotation:
        raise ValueError("an annotation needs core:sample_start")
    out: dict[str, Any] = {}
    for key, value in annotation.items():
        if isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    out[keys.SAMPLE_START] = int(out[keys.SAMPLE_START])
    out[keys.GENERATOR] = ANNOTATION_GENERATOR
    if keys.SAMPLE_COUNT in out:
        out[keys.SAMPLE_COUNT] = int(out[keys.SAMPLE_COUNT])
    return out
