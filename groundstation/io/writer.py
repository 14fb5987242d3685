"""Writing recordings and annotated metadata (ICD §2).

In: chunks of complex samples with what is known about them (rate, band, tuned frequency,
start UTC, bit rate), or an opened :class:`~groundstation.io.recording.Recording` and the
annotations a decoder made. Out: a SigMF pair written chunk by chunk and renamed into place
only when complete (:class:`RecordingWriter`), or an annotated copy of a recording's
metadata (:func:`write_annotated_metadata`), with a link to the samples beside it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import sigmf
from sigmf import SigMFFile

from groundstation.errors import DatatypeError, RecordingError, UnknownBandError
from groundstation.io import keys
from groundstation.io.files import atomic_path, to_json
from groundstation.io.keys import MARS1_EXTENSION
from groundstation.io.recording import (
    DATA_SUFFIX,
    META_SUFFIX,
    Recording,
    base_path,
    format_utc,
    validate_sigmf,
)
from groundstation.io.samples import DATATYPES, stored_bytes
from signals import __version__
from signals.bands import BAND_IDS, load_bands

log = logging.getLogger(__name__)

#: Datatypes :class:`RecordingWriter` stores.
WRITER_DATATYPES: Final = ("cf32_le", "cf64_le", "ci16_le")


def build_metadata(
    *,
    fs_hz: float,
    band: str,
    start_utc: datetime | None,
    center_frequency_hz: float,
    datatype: str = "cf32_le",
    bit_rate_bps: float | None = None,
    extra_global: dict[str, Any] | None = None,
    description: str | None = None,
    sha512: str | None = None,
    annotations: Iterable[dict[str, Any]] = (),
    validate: bool = True,
) -> SigMFFile:
    """Build and validate the SigMF metadata of a recording per ICD §2.

    ``start_utc`` None (a stream whose start nobody gave) leaves ``core:datetime`` out: a
    reader then counts times from sample 0 (ICD §2). ``validate`` False skips the check
    against the SigMF schema, for metadata whose every field but a digest of our own was
    checked already.
    """
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
    capture: dict[str, Any] = {keys.FREQUENCY: float(center_frequency_hz)}
    if start_utc is not None:
        capture[keys.DATETIME] = format_utc(start_utc)
    meta.add_capture(0, capture)
    for annotation in sorted(annotations, key=lambda a: a[keys.SAMPLE_START]):
        fields = dict(annotation)
        start = int(fields.pop(keys.SAMPLE_START))
        count = fields.pop(keys.SAMPLE_COUNT, None)
        meta.add_annotation(start, None if count is None else int(count), metadata=fields)
    if validate:
        validate_sigmf(meta)
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
    start_utc : datetime or None
        UTC of the start of sample 0 (None: not known, no ``core:datetime``).
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
    sync : bool
        Force the samples to disk before the files are renamed into place (default); False
        for a scratch recording that is read back and deleted within the same run.
    """

    def __init__(
        self,
        base_path_: Path | str,
        *,
        fs_hz: float,
        band: str,
        start_utc: datetime | None,
        center_frequency_hz: float,
        bit_rate_bps: float | None = None,
        extra_global: dict[str, Any] | None = None,
        description: str | None = None,
        datatype: str = "cf32_le",
        sync: bool = True,
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
        self.sync = sync
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
        buffer = stored_bytes(data, self.datatype)  # complex: the array's own bytes
        self._file.write(buffer)
        self._hash.update(buffer)
        self.n_samples += data.size

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        if exc_type is not None:
            stack.__exit__(exc_type, exc, tb)
            return False
        self._file.flush()
        if self.sync:
            os.fsync(self._file.fileno())
        # checked against the schema in __init__; the digest is our own hexadecimal string
        meta = build_metadata(sha512=self._hash.hexdigest(), validate=False, **self._meta_args)
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
    recording's own metadata is never overwritten. The copy is not checked against the SigMF
    schema again (the tests check what each decoder writes).

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
    # not checked against the SigMF schema again: the recording's metadata was when it was
    # read, and the annotations are the decoders' own (their copies are checked in the tests)
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
