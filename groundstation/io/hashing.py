"""The ``core:sha512`` check of a recording's dataset, computed by a thread.

In: a data file and the span of its bytes that ``core:sha512`` covers (the whole file of a
pair, the data member of an archive). Out: the SHA-512 of those bytes (hex), computed while
the caller goes on (:class:`DatasetHash`). Comparing it with the metadata's is the caller's.

A recording's hash costs one more read of the whole data file and about 1 s of CPU per GB,
as much as a PPM decode of it: on a second core, started as early as the file is known, it
costs the decode nothing. :func:`pair_dataset` finds the data file and hash of a SigMF pair
from its metadata alone, before the station's readers (numpy, sigmf) are even imported, so
that ``groundstation decode`` can start hashing at once; the metadata is checked in full
later, and the hash is used only if the recording opened is that file, that span.

This module imports nothing heavy (hashlib, json, threading; the SigMF keys).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
from pathlib import Path
from typing import Final

from groundstation.io import keys

#: Bytes hashed at a time, into one buffer for the whole file: the hashing thread takes
#: the interpreter lock back twice a block (after the read, after the hash), each time up
#: to the 5 ms switch interval while the decode holds it.
HASH_BLOCK_BYTES: Final = 8 << 20
#: Largest metadata file :func:`pair_dataset` reads (bytes), as the recording reader.
MAX_PEEK_BYTES: Final = 16 * 2**20


def sha512_of_span(
    path: Path | str, span: tuple[int, int], stop: threading.Event | None = None
) -> str:
    """SHA-512 (hex) of the bytes ``[start, stop)`` of ``path``: one sequential read.

    ``stop``, once set, ends the read early (the digest returned is then of what was read).

    Raises
    ------
    OSError
        The file cannot be read.
    """
    digest = hashlib.sha512()
    start, end = span
    buffer = bytearray(min(max(end - start, 0), HASH_BLOCK_BYTES))
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        f.seek(start)
        remaining = end - start
        while remaining > 0 and not (stop is not None and stop.is_set()):
            got = f.readinto(view[: min(remaining, len(buffer))])
            if not got:
                break
            digest.update(view[:got])
            remaining -= got
    return digest.hexdigest()


class DatasetHash:
    """The SHA-512 of a span of a data file, computed by a thread while the caller decodes.

    hashlib lets other threads run while it hashes. The thread leaves the interrupt signals
    to the main thread; :meth:`cancel` (also on an error or an interrupt) ends it within a
    block (:data:`HASH_BLOCK_BYTES`).

    Attributes
    ----------
    path : Path
        The data file.
    span : tuple of int
        The bytes hashed, ``[start, stop)``.
    """

    def __init__(self, path: Path | str, span: tuple[int, int]) -> None:
        self.path = Path(path)
        self.span = (int(span[0]), int(span[1]))
        self._stop = threading.Event()
        self._digest: str | None = None
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="dataset-sha512", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # the interrupts are the main thread's, as io.files.leave_interrupts_to_main_thread
        # does (not imported here: io.files loads numpy, and this thread starts first)
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
        try:
            self._digest = sha512_of_span(self.path, self.span, stop=self._stop)
        except OSError as exc:
            self._error = exc

    def covers(self, path: Path | str, span: tuple[int, int]) -> bool:
        """Whether this hash is of ``span`` of the file at ``path`` (the same file, not only
        the same name), and not stopped."""
        if self._stop.is_set() or tuple(span) != self.span:
            return False
        try:
            return os.path.samefile(self.path, path)
        except OSError:
            return False

    def hexdigest(self) -> str:
        """Wait for the thread; the hex digest (an unreadable file raises its ``OSError``)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.1)  # short waits: an interrupt is handled at once
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest

    def cancel(self) -> None:
        """Stop the thread early and wait for it (no digest then)."""
        self._stop.set()
        self._thread.join()


def pair_dataset(path: Path | str) -> tuple[Path, str] | None:
    """The data file and ``core:sha512`` of the SigMF pair at ``path``, from a look at its
    metadata; None when it is not a pair, gives no hash or names another dataset.

    Nothing is checked here but what it takes to name the file: anything unusual (no
    metadata, not JSON, a ``core:dataset`` other than ``NAME.sigmf-data``) is None, left to
    the full reader (:mod:`groundstation.io.recording`), which reports it.
    """
    given = Path(path)
    name = given.name
    if name.endswith((".sigmf-meta", ".sigmf-data")):
        name = name.rsplit(".", 1)[0]
    if name in ("", ".", ".."):
        return None
    meta = given.with_name(name + ".sigmf-meta")
    data = given.with_name(name + ".sigmf-data")
    try:
        if not meta.is_file() or meta.stat().st_size > MAX_PEEK_BYTES or not data.is_file():
            return None
        doc = json.loads(meta.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    glob = doc.get(keys.GLOBAL) if isinstance(doc, dict) else None
    if not isinstance(glob, dict):
        return None
    sha = glob.get(keys.SHA512)
    if not isinstance(sha, str) or not sha or glob.get(keys.DATASET, data.name) != data.name:
        return None
    return data, sha


def hash_pair_early(path: Path | str) -> DatasetHash | None:
    """Start hashing the dataset of the SigMF pair at ``path`` when its metadata gives a
    ``core:sha512`` (:func:`pair_dataset`); None otherwise."""
    found = pair_dataset(path)
    if found is None:
        return None
    data, _ = found
    try:
        size = data.stat().st_size
    except OSError:
        return None
    return DatasetHash(data, (0, size))


__all__ = ["HASH_BLOCK_BYTES", "DatasetHash", "hash_pair_early", "pair_dataset", "sha512_of_span"]
