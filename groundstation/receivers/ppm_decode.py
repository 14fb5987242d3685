"""Decoding a whole PPM recording on both cores: the file read ahead, and two halves at once.

A live stream is fed to one :class:`~groundstation.receivers.ppm.PpmReceiver` chunk by
chunk. A recording is all there at once, so :func:`~groundstation.receivers.ppm.decode_ppm`
may do two things at the same time and still give exactly the images of that one
receiver fed chunk by chunk:

Read ahead
    A thread reads the next chunks of a ``cf32_le`` file (``preadv`` gives up the
    interpreter lock) while the receiver decodes the current one (:class:`ReadAhead`).
Two halves
    Once an image is over, a receiver's state is where its scan starts again (the sample
    after the image), with nothing pending: what it decides from there on depends on that
    sample and the samples after it, not on how it got there. So a second receiver started
    in the middle of a long recording (:class:`SecondHalf`, in a thread; the compiled
    kernels and the file reads give up the interpreter lock) decodes the rest, and the
    first one stops after the first image after which both start their scan again at the
    same sample: it keeps its own images up to that one, and the second one's later images
    are the ones it would have found. Where that never happens, the first receiver decodes
    to the end alone; either way the result is that of one receiver. Asked for only
    (``decode_ppm(threads=True)``): it pays where a decode's time is in the compiled kernels
    and the reads, which give up the interpreter lock, not where it is in Python.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from typing import Any, Final

import numpy as np

from groundstation.results import DecodedImage, PpmDecodeResult

#: Recordings at least this long are decoded in two halves (samples): about 40 s at
#: 200 kS/s, a few images.
SPLIT_MIN_SAMPLES: Final = 1 << 23
#: Chunks a read-ahead thread keeps ready.
READ_AHEAD_CHUNKS: Final = 3
#: Longest wait for the other thread before looking again whether it is alive (s).
POLL_S: Final = 0.5


class ReadAhead:
    """Chunks of a recording read by a thread while the caller decodes the ones before.

    ``read_into(start, out)`` is the source's (``preadv`` for a file); it returns how many
    samples it wrote. A short read ends the chunks. Buffers are reused (a fixed few) and
    every wait has a timeout.

    Parameters
    ----------
    read_into : callable
        ``read_into(start, out) -> samples read``.
    start, stop : int
        Samples to read, ``[start, stop)``.
    chunk_samples : int
        Samples per chunk.
    """

    def __init__(
        self, read_into: Callable[[int, np.ndarray], int], start: int, stop: int, chunk_samples: int
    ):
        self._read_into = read_into
        self.starts = range(int(start), int(stop), int(chunk_samples))
        self.stop = int(stop)
        self.chunk_samples = int(chunk_samples)
        self._free: queue.Queue[np.ndarray] = queue.Queue()
        for _ in range(READ_AHEAD_CHUNKS + 1):
            self._free.put(np.empty(self.chunk_samples, np.complex64))
        self._ready: queue.Queue[tuple[int, int, np.ndarray] | BaseException] = queue.Queue()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ppm-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for start in self.starts:
                buf = self._get(self._free)
                if buf is None:
                    return
                count = min(self.chunk_samples, self.stop - start)
                got = int(self._read_into(start, buf[:count]))
                self._ready.put((count, got, buf))
                if got < count:
                    return
        except BaseException as error:  # handed over to the thread that decodes
            self._ready.put(error)

    def _get(self, q: queue.Queue) -> Any:
        while not self._halt.is_set():
            try:
                return q.get(timeout=POLL_S)
            except queue.Empty:
                continue
        return None

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        """(samples asked for, samples read) per chunk, in order; the array is valid
        until the next one is asked for."""
        previous = None
        for _ in self.starts:
            if previous is not None:
                self._free.put(previous)
            while True:
                try:
                    item = self._ready.get(timeout=POLL_S)
                    break
                except queue.Empty:
                    if not self._thread.is_alive() and self._ready.empty():
                        raise RuntimeError("the PPM read-ahead thread stopped") from None
            if isinstance(item, BaseException):
                raise item
            count, got, previous = item
            yield count, previous[:got]
            if got < count:
                return

    def close(self) -> None:
        """Stop reading: the thread ends at once (one waiting for a free buffer is woken
        with none; it used to notice only after :data:`POLL_S`, half a second added to a
        decode that stops before the end of its file)."""
        self._halt.set()
        self._free.put(None)
        self._thread.join(timeout=2 * POLL_S)


def same(a: Any, b: Any) -> bool:
    """Whether two results are the same: records field by field, arrays element by element
    (NaN equal to NaN), sequences item by item."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")
    if is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a)
        )
    if isinstance(a, (tuple, list)):
        return (
            isinstance(b, (tuple, list))
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return bool(a == b)


class SecondHalf:
    """A receiver decoding ``[start, stop)`` of a recording in a thread (see the module).

    It is fed from ``first`` (a little before ``start``, so that a frame marker near
    ``start`` can be verified from the header copy before it) and scans from ``start``.

    Parameters
    ----------
    receiver : PpmReceiver
        A receiver made to start at ``first`` and scan from ``start``.
    read : callable
        ``read(start, count) -> samples`` (fewer at the end, or where a file now ends).
    first, stop : int
        Samples fed: ``[first, stop)``.
    chunk_samples : int
        Samples per chunk fed, on the same grid as the first receiver's chunks.
    """

    def __init__(
        self,
        receiver: Any,
        read: Callable[[int, int], np.ndarray],
        first: int,
        stop: int,
        chunk_samples: int,
    ):
        self.receiver = receiver
        self._read = read
        self.first, self.stop, self.chunk_samples = int(first), int(stop), int(chunk_samples)
        self.start = int(receiver.decided_before()) + int(receiver.look_back_samples())
        #: Sample before which every image it will report has started (see
        #: :meth:`~groundstation.receivers.ppm.PpmReceiver.decided_before`).
        self.decided = self.first
        #: Samples fed and erasures counted after each chunk: {fed: nonfinite}.
        self.nonfinite_at: dict[int, int] = {}
        #: Why it cannot be used (an error, a file that shrank), or None.
        self.failed: str | None = None
        self.done = threading.Event()
        self._progressed = threading.Event()  # set after each chunk it has decided
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ppm-second-half", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for start in range(self.first, self.stop, self.chunk_samples):
                if self._halt.is_set():
                    self.failed = "stopped"
                    return
                count = min(self.chunk_samples, self.stop - start)
                chunk = self._read(start, count)
                if chunk.size < count:
                    self.failed = "the recording ended early"
                    return
                self.receiver.feed(chunk)
                self.nonfinite_at[self.receiver.samples_fed] = self.receiver.buffer.nonfinite
                self.decided = self.receiver.decided_before()
                self._progressed.set()
            self.receiver.end(report=False)
        except Exception as error:  # the first receiver then decodes alone
            self.failed = f"{type(error).__name__}: {error}"
        finally:
            self.done.set()
            self._progressed.set()

    def join(self, first: Any, known: int) -> tuple[int, int] | None:
        """Where ``first`` (the receiver decoding from the start) can hand over to this one:
        (its image index, this one's image index) for the first of its images from
        ``known`` on after which both receivers start their scan again at the same sample;
        None if there is none (yet). The two images may differ in their details (each
        receiver locked onto it from its own scan); what follows is the same. Waits,
        bounded by this thread's progress, until this receiver has decided the samples up
        to that image's end."""
        for k in range(known, len(first.images)):
            resume, _ = first.image_ends[k]
            if resume < self.start:
                continue
            while True:  # cleared before looking: a chunk decided after the look wakes it
                self._progressed.clear()
                if self.decided >= resume or self.done.is_set():
                    break
                self._progressed.wait(POLL_S)
            if self.failed is not None:
                return None
            for j, (end, _) in enumerate(list(self.receiver.image_ends)):
                if end == resume:
                    return k, j
        return None

    def joined_result(self, first: Any, k: int, j: int) -> Any:
        """The result of one receiver over the whole recording: ``first``'s images up to
        its ``k``-th, this one's after its ``j``-th, erasures and warnings likewise."""
        fed = first.samples_fed
        if fed not in self.nonfinite_at:  # not on the same grid of chunks: cannot happen
            raise RuntimeError(f"no erasure count at sample {fed} of the second half")
        nonfinite = first.buffer.nonfinite + self.receiver.buffer.nonfinite
        nonfinite -= self.nonfinite_at[fed]
        warnings = first.warnings[: first.image_ends[k][1]]
        warnings += self.receiver.warnings[self.receiver.image_ends[j][1] :]
        images = first.images[: k + 1] + self.receiver.images[j + 1 :]
        return make_result(images, self.receiver.samples_fed, nonfinite, warnings)

    def wait(self, progress: Callable[[int], None] | None = None) -> bool:
        """Wait for the end of the input; False when it cannot be used."""
        while not self.done.wait(POLL_S):
            if progress is not None:
                progress(self.receiver.samples_fed)
        return self.failed is None

    def stop_now(self) -> None:
        """Stop decoding: the thread ends before its next chunk (not waited for: it is a
        daemon thread, and its receiver is its own)."""
        self._halt.set()


def make_result(
    images: list[DecodedImage], n_samples: int, nonfinite: int, warnings: list[str]
) -> PpmDecodeResult:
    """The result of a decode: the images, the sample ranges in none of them (of the
    ``n_samples`` fed), erasures and warnings."""
    skipped = []
    cursor = 0
    for image in images:
        if image.sample_start > cursor:
            skipped.append((cursor, image.sample_start))
        cursor = max(cursor, image.sample_start + image.sample_count)
    if cursor < n_samples:
        skipped.append((cursor, n_samples))
    return PpmDecodeResult(list(images), skipped, nonfinite, list(warnings))


class Progress:
    """``on_progress`` called with a count that never goes down (and at most ``total``)."""

    def __init__(self, on_progress: Callable[[int], None] | None, total: int):
        self.on_progress = on_progress
        self.total = int(total)
        self.reported = -1

    def __call__(self, samples: int) -> None:
        samples = min(int(samples), self.total)
        if self.on_progress is not None and samples > self.reported:
            self.reported = samples
            self.on_progress(samples)
