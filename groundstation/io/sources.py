"""Sample sources: every form of IQ recording the station reads, as one kind of object.

A source yields chunks of ``complex64`` samples and tells what is known about them
(:class:`SourceFacts`: sample rate, band, tuned frequency, datatype, start UTC or None, bit
rate). The forms read here:

* a SigMF pair ``NAME.sigmf-meta`` + ``NAME.sigmf-data`` (ICD §2), GNU Radio's minimal
  SigMF included (no ``core:datetime``: times count from sample 0);
* a SigMF archive ``NAME.sigmf`` (an uncompressed tar holding a pair; :mod:`.archive`);
* a WAV file with two channels, I and Q (16-bit integers or 32-bit floats, SDR# / HDSDR /
  SDR++ "baseband" recordings; :mod:`.wav`);
* a raw file of interleaved I/Q (``cf32``, ``cf64``, ``ci16``, ``ci8``, ``cu8``: GNU Radio's
  file sink, ``rtl_sdr``, ``hackrf_transfer``), its facts given by :class:`SourceOptions`;
* standard input (``-``), spooled to a temporary file of bounded size.

Every file form is presented to the receivers as a :class:`~groundstation.io.recording.
Recording` over the original bytes (a memory map at the samples' offset in the file; no
copy): a WAV header, or the tar blocks around an archive member, become SigMF's
``core:header_bytes`` and ``core:trailing_bytes``. The annotated metadata the decoder writes
then describes the same file for any SigMF tool.

Live streams (ZeroMQ, UDP, a pipe) are :mod:`groundstation.io.streams`: the same
:class:`~groundstation.io.facts.SourceFacts`, chunks as they arrive, no random access.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np

from groundstation.errors import DataFileError, RecordingError
from groundstation.io import keys
from groundstation.io.archive import open_archive
from groundstation.io.facts import (
    SourceFacts,
    SourceOptions,
    needs_patch,
    patched,
    require_rate_and_format,
    synthesise_metadata,
    virtual_meta_path,
)
from groundstation.io.hashing import DatasetHash, sha512_of_span
from groundstation.io.recording import (
    DATA_SUFFIX,
    META_SUFFIX,
    Recording,
    base_path,
    read_metadata,
    recording_from_metadata,
)
from groundstation.io.samples import SAMPLE_FORMATS
from groundstation.io.wav import open_wav

#: Largest input spooled from standard input (bytes, 4 GiB).
MAX_STDIN_BYTES: Final = 4 * 1024**3
#: Bytes read from standard input at a time.
STDIN_CHUNK_BYTES: Final = 1 << 20


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

    def dataset_sha512(self, stop: threading.Event | None = None) -> str:
        """SHA-512 (hex) of the bytes ``core:sha512`` covers (:attr:`dataset_span`).

        One sequential read of those bytes; call it only when :attr:`sha512_expected` is
        set, so a recording without a hash costs nothing. ``stop``, once set, ends the read
        early (the digest returned is then of what was read).
        """
        return sha512_of_span(self.recording.data_path, self.dataset_span, stop)

    def dataset_sha512_aside(self, early: DatasetHash | None = None) -> DatasetHash:
        """:meth:`dataset_sha512` computed by a thread while the caller goes on.

        ``early``, a hash started before the recording was opened
        (:func:`~groundstation.io.hashing.hash_pair_early`), is returned if it covers the
        same bytes of the same file; else it is stopped and a new one started.
        """
        if early is not None:
            if early.covers(self.recording.data_path, self.dataset_span):
                return early
            early.cancel()
        return DatasetHash(self.recording.data_path, self.dataset_span)

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
            recording, span = open_archive(Path(path), options)
        elif form == "wav":
            recording = open_wav(Path(path), options)
        else:
            recording = _open_raw(Path(path), options)
    except BaseException:
        stack.close()
        raise
    return FileSource(Path(path), form, recording, stack, span)


def _open_pair(path: Path | str, options: SourceOptions) -> Recording:
    metadata, meta_path, data_path = read_metadata(path)
    well_formed = (
        isinstance(metadata, dict)
        and isinstance(metadata.get("global"), dict)
        and isinstance(metadata.get("captures"), list)
        and bool(metadata["captures"])
        and isinstance(metadata["captures"][0], dict)
    )
    if well_formed and needs_patch(options):
        metadata = patched(metadata, options)
    recording = recording_from_metadata(metadata, meta_path, data_path)
    if options.sample_format is not None:
        wanted = SAMPLE_FORMATS[options.sample_format]
        if wanted != recording.datatype:
            raise RecordingError(
                f"{meta_path.name}: the metadata says {recording.datatype}; "
                f"--format {options.sample_format} applies to raw files only"
            )
    return recording


# ------------------------------------------------------------------------ raw files and stdin


def _open_raw(path: Path, options: SourceOptions) -> Recording:
    if not path.exists():
        raise DataFileError(f"no such recording: {path} (no {path.name}{META_SUFFIX} either)")
    if not path.is_file():
        raise DataFileError(f"{path}: not a regular file")
    datatype, fs_hz = require_rate_and_format(path, options, "a raw I/Q file")
    name = path.stem if path.suffix else path.name
    metadata = synthesise_metadata(
        datatype=datatype,
        fs_hz=fs_hz,
        options=options,
        where=path.name,
        description=f"raw {datatype} file {path.name}; facts from the command line",
    )
    metadata["global"][keys.DATASET] = path.name
    return recording_from_metadata(
        metadata, virtual_meta_path(path, name), path, shown_name=path.name
    )


def _open_stdin(
    stream: BinaryIO, options: SourceOptions, stack: contextlib.ExitStack, max_bytes: int
) -> Recording:
    where = Path("stdin")
    datatype, fs_hz = require_rate_and_format(where, options, "standard input")
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
    return recording_from_metadata(
        metadata, folder / ("stdin" + META_SUFFIX), spool, shown_name="standard input"
    )


__all__ = ["MAX_STDIN_BYTES", "DatasetHash", "FileSource", "open_source", "source_form"]
