"""Live sample streams in (ICD §8): ZeroMQ, UDP and a pipe, as GNU Radio's sinks send them.

In: an address (:func:`parse_address`) and what the command line says of the samples
(:class:`~groundstation.io.facts.SourceOptions`: format, rate, band or tuning, start time;
a stream carries no metadata in band). Out: a :class:`StreamSource` whose
:meth:`~StreamSource.read` hands out ``complex64`` chunks as they arrive, with every wait
bounded, and :class:`StreamStats`: samples received, samples dropped on this side, datagrams
that were not whole samples.

=====================  ==============================================================
``zmq://HOST:PORT``    a SUB socket that connects to a PUB (GNU Radio's ZMQ PUB sink)
``zmq+pull://HOST:PORT``  a PULL socket that connects to a PUSH (ZMQ PUSH sink)
``udp://HOST:PORT``    a UDP socket bound to HOST:PORT (GNU Radio's UDP sink sends to
                       it; no header; an empty datagram ends the stream, as the sink's
                       "send NULL packet as EOF" option sends)
``-``                  standard input, read as it arrives (``rtl_sdr - | ...``)
=====================  ==============================================================

A reader thread takes what arrives and puts it on a queue bounded in samples; when the
receiver falls behind and the queue is full, what arrives is dropped and counted (GNU
Radio's ``O``), never buffered without limit. A dropped span is handed out as as many zero
samples (erasures, which the receivers read as no signal), so that every sample after it
keeps its index and its time. A ZeroMQ message or a datagram that is not a
whole number of samples keeps its whole samples; the bytes left over are counted. Standard
input is a byte stream: a sample split across two reads is joined.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import select
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO, Final

import numpy as np

from groundstation.errors import RecordingError
from groundstation.io.facts import SourceFacts, SourceOptions, band_and_frequency
from groundstation.io.files import leave_interrupts_to_main_thread
from groundstation.io.samples import SAMPLE_BYTES, SAMPLE_FORMATS, to_complex64
from signals.bands import load_bands

#: Stream schemes and what each connects to.
SCHEMES: Final[dict[str, str]] = {
    "zmq": "ZeroMQ SUB connecting to a PUB",
    "zmq+pull": "ZeroMQ PULL connecting to a PUSH",
    "udp": "UDP socket bound to the address",
}
#: Samples the queue between the reader thread and the receiver holds at most.
DEFAULT_QUEUE_SAMPLES: Final = 1 << 22
#: Longest a reader thread blocks on its socket before it looks whether it should stop (s).
POLL_S: Final = 0.05
#: Largest UDP datagram read (bytes).
MAX_DATAGRAM_BYTES: Final = 65536
#: Bytes read from standard input at a time.
PIPE_READ_BYTES: Final = 1 << 16
#: Receive buffer asked of the kernel for a UDP socket (bytes).
UDP_RCVBUF_BYTES: Final = 8 * 1024 * 1024

_ADDRESS = re.compile(
    r"^(?P<scheme>[a-z+]+)://(?P<host>\[[0-9a-fA-F:.]+\]|[^:/\s]+):(?P<port>\d+)$"
)


@dataclass(frozen=True)
class StreamAddress:
    """Where a stream comes from or goes to.

    Attributes
    ----------
    scheme : str
        ``zmq``, ``zmq+pull``, ``udp`` or ``stdin`` (the address ``-``).
    host : str
        Host name or address (empty for ``stdin``); an IPv6 address without brackets.
    port : int
        Port (0 for ``stdin``).
    """

    scheme: str
    host: str = ""
    port: int = 0

    @property
    def zmq_endpoint(self) -> str:
        """The ZeroMQ endpoint ``tcp://HOST:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

    def with_port(self, port: int) -> StreamAddress:
        """The same scheme and host at another port."""
        return StreamAddress(self.scheme, self.host, port)

    def __str__(self) -> str:
        if self.scheme == "stdin":
            return "-"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def is_stream_address(text: str) -> bool:
    """True when ``text`` names a stream (``zmq://``, ``zmq+pull://``, ``udp://``), not a file."""
    return bool(re.match(r"^[a-z+]+://", text))


def parse_address(text: str) -> StreamAddress:
    """Parse ``zmq://HOST:PORT``, ``zmq+pull://HOST:PORT``, ``udp://HOST:PORT`` or ``-``.

    Raises
    ------
    RecordingError
        An unknown scheme, no port, or a port outside 1-65535 (one line for the user).

    Examples
    --------
    >>> parse_address("zmq://127.0.0.1:5555")
    StreamAddress(scheme='zmq', host='127.0.0.1', port=5555)
    >>> str(parse_address("udp://[::1]:7355"))
    'udp://[::1]:7355'
    """
    if text == "-":
        return StreamAddress("stdin")
    match = _ADDRESS.match(text)
    if match is None:
        raise RecordingError(
            f"{text!r} is not a stream address (zmq://HOST:PORT, zmq+pull://HOST:PORT, "
            "udp://HOST:PORT or -)"
        )
    scheme = match["scheme"]
    if scheme not in SCHEMES:
        raise RecordingError(f"unknown stream scheme {scheme!r} (use {', '.join(SCHEMES)})")
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise RecordingError(f"{text}: port {port} is outside 1-65535")
    return StreamAddress(scheme, match["host"].strip("[]"), port)


@dataclass
class StreamStats:
    """What a stream source saw, and what it could not pass on.

    Attributes
    ----------
    received_samples : int
        Samples that arrived (handed out or dropped).
    dropped_samples : int
        Samples that arrived while the queue was full and were dropped (this side's
        overflow, GNU Radio's ``O``); :meth:`StreamSource.read` hands them out as zeros.
    dropped_messages : int
        Messages or datagrams dropped whole for that reason.
    ragged_messages : int
        Messages or datagrams that were not a whole number of samples.
    ragged_bytes : int
        The bytes left over from those (not samples, dropped).
    """

    received_samples: int = 0
    dropped_samples: int = 0
    dropped_messages: int = 0
    ragged_messages: int = 0
    ragged_bytes: int = 0

    def to_json(self) -> dict[str, int]:
        """The counts, JSON-ready."""
        return dict(self.__dict__)


class StreamSource:
    """Samples from a live stream, handed out as they arrive (use :func:`open_stream`).

    A reader thread receives into a queue bounded in samples; :meth:`read` takes from it.
    What arrives while the queue is full is dropped and counted, and later handed out as
    the same number of zero samples at its place (erasures: the times of what follows stay
    right).
    The stream ends when the sender says so (an empty UDP datagram, the end of standard
    input) or when the caller stops reading (:meth:`close`); a ZeroMQ stream has no end of
    its own (the caller's idle timeout ends it).

    Attributes
    ----------
    address : StreamAddress
        Where the samples come from.
    facts : SourceFacts
        What the command line said of them (``n_samples`` None: a stream's length is not
        known).
    stats : StreamStats
        Counts so far (updated by the reader thread).
    """

    def __init__(
        self,
        address: StreamAddress,
        facts: SourceFacts,
        *,
        queue_samples: int = DEFAULT_QUEUE_SAMPLES,
        stdin: BinaryIO | None = None,
    ):
        self.address = address
        self.facts = facts
        self.stats = StreamStats()
        self._datatype = facts.datatype
        self._sample_bytes = SAMPLE_BYTES[facts.datatype]
        # samples, and the lengths of dropped spans (handed out as zeros)
        self._queue: collections.deque[np.ndarray | int] = collections.deque()
        self._queued = 0
        self._max_queued = int(queue_samples)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._ended = False
        self._error: BaseException | None = None
        self._stdin = stdin
        self._closers: list = []
        self._open_input()
        self._thread = threading.Thread(
            target=self._run, name=f"stream-reader {address}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ consumer side

    def read(self, timeout_s: float) -> np.ndarray | None:
        """The samples queued so far, waiting at most ``timeout_s`` for some to arrive.

        Returns
        -------
        numpy.ndarray or None
            ``complex64`` samples in the order they arrived, a dropped span as zeros (at most
            the queue's size plus one message at a time: a long span comes in pieces);
            empty when none came within ``timeout_s``; None once the stream has ended and
            everything was handed out.

        Raises
        ------
        RecordingError
            The reader failed (a socket error), with the reason.
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while not self._queue and not self._ended:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return np.zeros(0, np.complex64)
                self._cond.wait(remaining)
            if self._queue:
                return self._take()
        if self._error is not None:
            raise RecordingError(f"{self.address}: {self._error}")
        return None

    def _take(self) -> np.ndarray:
        """Empty the queue (a long dropped span in pieces); the lock is held."""
        parts: list[np.ndarray] = []
        size = 0
        while self._queue and size < self._max_queued:
            item = self._queue.popleft()
            if isinstance(item, int):  # a dropped span: as many zeros (erasures)
                take = min(item, max(1, self._max_queued - size))
                if item > take:
                    self._queue.appendleft(item - take)
                item = np.zeros(take, np.complex64)
            else:
                self._queued -= item.size
            parts.append(item)
            size += item.size
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @property
    def ended(self) -> bool:
        """The sender ended the stream (what it sent may still be queued)."""
        return self._ended

    def close(self) -> None:
        """Stop the reader thread (within :data:`POLL_S`) and close the socket."""
        self._stop.set()
        self._thread.join(timeout=2.0)
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()

    def __enter__(self) -> StreamSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StreamSource({str(self.address)!r}, datatype={self._datatype!r})"

    # ------------------------------------------------------------------ reader side

    def _open_input(self) -> None:
        scheme = self.address.scheme
        if scheme in ("zmq", "zmq+pull"):
            import zmq

            context = zmq.Context.instance()
            sock = context.socket(zmq.SUB if scheme == "zmq" else zmq.PULL)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RCVTIMEO, int(POLL_S * 1000))
            if scheme == "zmq":
                sock.setsockopt(zmq.SUBSCRIBE, b"")
            try:
                sock.connect(self.address.zmq_endpoint)
            except zmq.ZMQError as exc:
                sock.close(0)
                raise RecordingError(f"{self.address}: cannot connect ({exc})") from None
            self._zmq = sock
            self._closers.append(lambda: sock.close(0))
        elif scheme == "udp":
            family = socket.AF_INET6 if ":" in self.address.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF_BYTES)
            try:
                sock.bind((self.address.host, self.address.port))
            except OSError as exc:
                sock.close()
                raise RecordingError(f"{self.address}: cannot bind ({exc.strerror})") from None
            sock.settimeout(POLL_S)
            self._udp = sock
            self._closers.append(sock.close)
        else:
            stream = self._stdin if self._stdin is not None else sys.stdin.buffer
            self._pipe = stream

    def _run(self) -> None:
        leave_interrupts_to_main_thread()
        try:
            scheme = self.address.scheme
            if scheme in ("zmq", "zmq+pull"):
                self._run_zmq()
            elif scheme == "udp":
                self._run_udp()
            else:
                self._run_pipe()
        except Exception as exc:  # handed to the consumer by read()
            self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _run_zmq(self) -> None:
        import zmq

        while not self._stop.is_set():
            try:
                message = self._zmq.recv(copy=True)
            except zmq.Again:
                continue
            self._message(message)

    def _run_udp(self) -> None:
        buffer = bytearray(MAX_DATAGRAM_BYTES)
        while not self._stop.is_set():
            try:
                size = self._udp.recv_into(buffer)
            except TimeoutError:
                continue
            if size == 0:
                return  # the sender's end of stream
            self._message(bytes(buffer[:size]))

    def _run_pipe(self) -> None:
        fd = self._pipe.fileno() if hasattr(self._pipe, "fileno") else None
        carry = b""
        while not self._stop.is_set():
            if fd is not None:
                ready, _, _ = select.select([fd], [], [], POLL_S)
                if not ready:
                    continue
                block = os.read(fd, PIPE_READ_BYTES)
            else:
                block = self._pipe.read(PIPE_READ_BYTES)
            if not block:
                if carry:
                    self.stats.ragged_messages += 1
                    self.stats.ragged_bytes += len(carry)
                return
            data = carry + block
            whole = len(data) - len(data) % self._sample_bytes
            carry = data[whole:]
            if whole:
                self._put(to_complex64(data[:whole], self._datatype))

    def _message(self, message: bytes) -> None:
        extra = len(message) % self._sample_bytes
        if extra:
            self.stats.ragged_messages += 1
            self.stats.ragged_bytes += extra
            message = message[: len(message) - extra]
        if message:
            self._put(to_complex64(message, self._datatype))

    def _put(self, samples: np.ndarray) -> None:
        with self._cond:
            self.stats.received_samples += samples.size
            if self._queued + samples.size > self._max_queued:
                self.stats.dropped_samples += samples.size
                self.stats.dropped_messages += 1
                if self._queue and isinstance(self._queue[-1], int):
                    self._queue[-1] += samples.size
                else:
                    self._queue.append(samples.size)
                self._cond.notify_all()
                return
            self._queue.append(samples)
            self._queued += samples.size
            self._cond.notify_all()


def stream_facts(address: StreamAddress, options: SourceOptions) -> SourceFacts:
    """What the command line says of a stream's samples (ICD §8: agreed out of band).

    Raises
    ------
    RecordingError
        The format, the rate or the band (or tuned frequency) is missing.
    """
    missing = []
    if options.sample_format is None:
        missing.append("--format cf32|cf64|ci16|ci8|cu8")
    if options.fs_hz is None:
        missing.append("--samp-rate HZ")
    if options.band is None and options.frequency_hz is None:
        missing.append("--band ID")
    if missing:
        raise RecordingError(
            f"{address}: a stream carries no metadata; give {' and '.join(missing)}"
        )
    band, frequency = band_and_frequency(options, str(address))
    bands, _ = load_bands()
    return SourceFacts(
        name="stream" if address.scheme != "stdin" else "stdin",
        form=address.scheme,
        datatype=SAMPLE_FORMATS[options.sample_format],
        fs_hz=float(options.fs_hz),
        band=band,
        center_frequency_hz=frequency,
        nominal_frequency_hz=bands[band].carrier_hz,
        start_utc=options.start_utc,
        bit_rate_bps=options.bit_rate_bps,
        n_samples=None,
    )


def open_stream(
    address: StreamAddress | str,
    options: SourceOptions,
    *,
    queue_samples: int = DEFAULT_QUEUE_SAMPLES,
    stdin: BinaryIO | None = None,
) -> StreamSource:
    """Connect to (or bind for) a stream and start receiving.

    Parameters
    ----------
    address : StreamAddress or str
        ``zmq://HOST:PORT``, ``zmq+pull://HOST:PORT``, ``udp://HOST:PORT`` or ``-``.
    options : SourceOptions
        The samples' format, rate, band (or tuned frequency), bit rate and start time.
    queue_samples : int
        Samples held at most between the reader thread and the consumer.
    stdin : binary file, optional
        Read instead of ``sys.stdin.buffer`` for ``-``.

    Raises
    ------
    RecordingError
        A malformed address, a missing fact, or a socket that cannot be opened.
    """
    if isinstance(address, str):
        address = parse_address(address)
    facts = stream_facts(address, options)
    return StreamSource(address, facts, queue_samples=queue_samples, stdin=stdin)


__all__ = [
    "SCHEMES",
    "StreamAddress",
    "StreamSource",
    "StreamStats",
    "is_stream_address",
    "open_stream",
    "parse_address",
    "stream_facts",
]
