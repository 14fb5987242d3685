"""Live sample streams out (ICD §8): where ``groundstation transmit`` sends its samples.

In: ``complex64`` chunks and the stream's datatype; an address (``zmq://HOST:PORT``,
``udp://HOST:PORT``, ``-``) or a recording name (``NAME.sigmf-meta``). Out: the samples as
GNU Radio's sinks send them, so GNU Radio's sources (and ``groundstation listen``) take them:

=====================  ==============================================================
``zmq://HOST:PORT``    a PUB socket BOUND to HOST:PORT (as GNU Radio's ZMQ PUB sink): a
                       ZMQ SUB source connects to it. Each message a whole number of
                       samples. After binding it waits for a first subscriber, at most
                       ``wait_subscriber_s`` (ZeroMQ's slow joiner: a PUB drops what a
                       subscriber that has not joined yet would miss).
``udp://HOST:PORT``    datagrams sent to HOST:PORT of at most :data:`UDP_PAYLOAD_BYTES`
                       (GNU Radio's UDP sink default), whole samples each, no header; an
                       empty datagram at the end (the sink's "send NULL packet as EOF").
``-``                  the raw samples on standard output
``NAME.sigmf-meta``    a SigMF pair (:class:`~groundstation.io.writer.RecordingWriter`)
=====================  ==============================================================
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol

import numpy as np

from groundstation.errors import RecordingError
from groundstation.io.samples import SAMPLE_BYTES, to_bytes
from groundstation.io.streams import StreamAddress, is_stream_address, parse_address

#: Payload of a UDP datagram (bytes): GNU Radio's UDP sink default (1500 - 28 header bytes).
UDP_PAYLOAD_BYTES: Final = 1472
#: Longest wait after a PUB socket binds for a first subscriber (s): ZeroMQ's slow joiner.
WAIT_SUBSCRIBER_S: Final = 2.0
#: Pause after the first subscription arrives, before the first message (s): the
#: subscription is in place on the publisher's side once it has been read.
JOINED_PAUSE_S: Final = 0.05
#: How long a closing PUB socket may still deliver what is queued (ms).
ZMQ_LINGER_MS: Final = 1000
#: ZeroMQ send high-water mark (messages): the PUB socket drops beyond it, never blocks.
ZMQ_SNDHWM: Final = 10000


class SampleSink(Protocol):
    """Where a stream's samples go."""

    def send(self, chunk: np.ndarray) -> None:
        """Send the next complex samples."""
        ...

    def close(self) -> None:
        """End the stream (an end-of-stream marker where the transport has one)."""
        ...


class ZmqPubSink:
    """A PUB socket bound to an address; each chunk one message.

    The socket is ZeroMQ's XPUB (a PUB that also hears subscriptions): it waits for a first
    subscriber for at most ``wait_subscriber_s``, then publishes whether or not one came,
    as a radio transmits. Port 0 binds a port the system picks (:attr:`address` tells it).

    Attributes
    ----------
    address : StreamAddress
        Where it is bound.
    subscribed : bool
        A subscriber had joined when publishing began.
    """

    def __init__(self, address: StreamAddress, datatype: str, *, wait_subscriber_s: float):
        import zmq

        self.datatype = datatype
        context = zmq.Context.instance()
        self._socket = context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.LINGER, ZMQ_LINGER_MS)
        self._socket.setsockopt(zmq.SNDHWM, ZMQ_SNDHWM)
        endpoint = address.zmq_endpoint
        if address.port == 0:
            endpoint = endpoint.rsplit(":", 1)[0] + ":*"
        try:
            self._socket.bind(endpoint)
        except zmq.ZMQError as exc:
            self._socket.close(0)
            raise RecordingError(f"{address}: cannot bind ({exc})") from None
        bound = self._socket.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.address = address.with_port(int(bound.rsplit(":", 1)[1]))
        self.subscribed = False
        if wait_subscriber_s > 0:
            self.wait_for_subscriber(wait_subscriber_s)

    def wait_for_subscriber(self, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` for a first subscriber; True once one has joined."""
        import zmq

        if not self.subscribed and self._socket.poll(int(timeout_s * 1000), zmq.POLLIN):
            self._socket.recv()  # the subscription itself
            self.subscribed = True
            time.sleep(JOINED_PAUSE_S)
        return self.subscribed

    def send(self, chunk: np.ndarray) -> None:
        """Publish ``chunk`` as one message."""
        self._socket.send(to_bytes(chunk, self.datatype), copy=False)

    def close(self) -> None:
        """Close the socket (queued messages get :data:`ZMQ_LINGER_MS` to leave)."""
        self._socket.close()


class UdpSink:
    """Datagrams of whole samples sent to an address."""

    def __init__(self, address: StreamAddress, datatype: str):
        self.datatype = datatype
        family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._target = (address.host, address.port)
        sample_bytes = SAMPLE_BYTES[datatype]
        self._payload = UDP_PAYLOAD_BYTES - UDP_PAYLOAD_BYTES % sample_bytes
        self._address = address

    def send(self, chunk: np.ndarray) -> None:
        """Send ``chunk`` in datagrams of at most :data:`UDP_PAYLOAD_BYTES`."""
        data = memoryview(to_bytes(chunk, self.datatype))
        for start in range(0, len(data), self._payload):
            try:
                self._socket.sendto(data[start : start + self._payload], self._target)
            except ConnectionRefusedError:
                continue  # nobody listening yet: UDP drops, as a radio would
            except OSError as exc:
                raise RecordingError(f"{self._address}: cannot send ({exc.strerror})") from None

    def close(self) -> None:
        """Send the empty end-of-stream datagram and close."""
        with contextlib.suppress(OSError):
            self._socket.sendto(b"", self._target)
        self._socket.close()


class PipeSink:
    """The raw samples written to a binary stream (standard output)."""

    def __init__(self, stream: BinaryIO, datatype: str):
        self.datatype = datatype
        self._stream = stream

    def send(self, chunk: np.ndarray) -> None:
        """Write ``chunk``'s bytes."""
        self._stream.write(to_bytes(chunk, self.datatype))

    def close(self) -> None:
        """Flush (the stream stays open: it is the caller's)."""
        with contextlib.suppress(BrokenPipeError, ValueError):
            self._stream.flush()


class RecordingSink:
    """A SigMF pair, renamed into place when the stream ends cleanly."""

    def __init__(self, base: Path, metadata: dict[str, Any]):
        from groundstation.io.writer import RecordingWriter

        self._writer = RecordingWriter(base, **metadata)
        self._writer.__enter__()
        self.meta_path = self._writer.meta_path

    def send(self, chunk: np.ndarray) -> None:
        """Append ``chunk``."""
        self._writer.write(chunk)

    def close(self) -> None:
        """Write the metadata; both files appear."""
        self._writer.__exit__(None, None, None)

    def abort(self) -> None:
        """Remove the partial files."""
        with contextlib.suppress(Exception):
            self._writer.__exit__(RecordingError, RecordingError("aborted"), None)


def open_sink(
    target: str,
    datatype: str,
    *,
    recording: dict[str, Any] | None = None,
    stdout: BinaryIO | None = None,
    wait_subscriber_s: float = WAIT_SUBSCRIBER_S,
) -> SampleSink:
    """Open where a stream's samples go.

    Parameters
    ----------
    target : str
        ``zmq://HOST:PORT`` (bound PUB), ``udp://HOST:PORT``, ``-`` (standard output) or a
        recording name (``NAME`` or ``NAME.sigmf-meta``).
    datatype : str
        SigMF datatype the samples are sent as.
    recording : dict, optional
        Keyword arguments of :class:`~groundstation.io.writer.RecordingWriter` (rate, band,
        tuning, start) for a recording target.
    stdout : binary file, optional
        Written instead of ``sys.stdout.buffer`` for ``-``.
    wait_subscriber_s : float
        Longest wait for a first subscriber after a PUB socket binds (s).

    Raises
    ------
    RecordingError
        A malformed address, an address that cannot be bound, or a recording target
        without its facts.
    """
    if target == "-":
        return PipeSink(stdout if stdout is not None else sys.stdout.buffer, datatype)
    if is_stream_address(target):
        address = parse_address(target)
        if address.scheme == "zmq":
            return ZmqPubSink(address, datatype, wait_subscriber_s=wait_subscriber_s)
        if address.scheme == "udp":
            return UdpSink(address, datatype)
        raise RecordingError(f"{target}: transmit sends to zmq://, udp://, - or a recording")
    if recording is None:
        raise RecordingError(f"{target}: a recording target needs the stream's facts")
    return RecordingSink(Path(target), {**recording, "datatype": datatype})


__all__ = [
    "UDP_PAYLOAD_BYTES",
    "PipeSink",
    "RecordingSink",
    "SampleSink",
    "UdpSink",
    "ZmqPubSink",
    "open_sink",
]
