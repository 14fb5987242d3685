"""Live streams in and out (groundstation.io.streams, .sinks): ICD §8 over real sockets.

Every socket is on 127.0.0.1 at a port the kernel found free; every wait is bounded.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import pytest
import zmq

from groundstation.errors import RecordingError
from groundstation.io.facts import SourceOptions
from groundstation.io.samples import SAMPLE_FORMATS, to_bytes, to_complex64
from groundstation.io.sinks import UDP_PAYLOAD_BYTES, open_sink
from groundstation.io.streams import StreamAddress, open_stream, parse_address

FS_HZ = 8000.0
WAIT_S = 10.0


def _options(sample_format: str = "cf32") -> SourceOptions:
    return SourceOptions(sample_format=sample_format, fs_hz=FS_HZ, band="32cm-tlm")


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _iq(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.4 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)


def _collect(source, n: int, deadline_s: float = WAIT_S) -> np.ndarray:
    """Read until ``n`` samples came, the stream ended, or the deadline passed."""
    parts: list[np.ndarray] = []
    got = 0
    end = time.monotonic() + deadline_s
    while got < n and time.monotonic() < end:
        chunk = source.read(0.1)
        if chunk is None:
            break
        parts.append(chunk)
        got += chunk.size
    return np.concatenate([*parts, np.zeros(0, np.complex64)])


def test_addresses_parse_and_refuse():
    assert parse_address("zmq://127.0.0.1:5555") == StreamAddress("zmq", "127.0.0.1", 5555)
    assert parse_address("zmq+pull://localhost:1") == StreamAddress("zmq+pull", "localhost", 1)
    assert parse_address("udp://[::1]:7355").zmq_endpoint == "tcp://[::1]:7355"
    assert parse_address("-").scheme == "stdin"
    for bad in ("tcp://1.2.3.4:5", "zmq://host", "udp://host:0", "udp://host:70000", "x"):
        with pytest.raises(RecordingError):
            parse_address(bad)


def test_a_stream_needs_its_facts_on_the_command_line():
    with pytest.raises(RecordingError, match=r"--format.*--samp-rate"):
        open_stream("udp://127.0.0.1:9", SourceOptions(band="32cm-tlm"))


@pytest.mark.parametrize("sample_format", list(SAMPLE_FORMATS))
def test_datatypes_round_trip_within_their_quantisation(sample_format):
    datatype = SAMPLE_FORMATS[sample_format]
    x = 0.25 * _iq(1001)  # within full scale: no clipping
    back = to_complex64(to_bytes(x, datatype), datatype)
    step = {"cf32": 0, "cf64": 0, "ci16": 2.0**-15, "ci8": 2.0**-7, "cu8": 2.0**-7}
    assert back.dtype == np.complex64
    assert np.max(np.abs(back - x)) <= step[sample_format] + 1e-6


@pytest.mark.parametrize("sample_format", ["cf32", "ci16", "cu8"])
def test_zmq_pub_to_sub_carries_every_sample(sample_format):
    port = _free_port()
    x = _iq(50_000, seed=1)
    with open_stream(f"zmq://127.0.0.1:{port}", _options(sample_format)) as source:
        sink = open_sink(
            f"zmq://127.0.0.1:{port}", SAMPLE_FORMATS[sample_format], wait_subscriber_s=WAIT_S
        )
        assert sink.subscribed
        for start in range(0, x.size, 4096):
            sink.send(x[start : start + 4096])
        got = _collect(source, x.size)
        sink.close()
        assert source.stats.dropped_samples == 0
    expected = to_complex64(
        to_bytes(x, SAMPLE_FORMATS[sample_format]), SAMPLE_FORMATS[sample_format]
    )
    np.testing.assert_array_equal(got, expected)


def test_zmq_pull_connects_to_a_push_and_counts_ragged_messages():
    port = _free_port()
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 1000)
    push.bind(f"tcp://127.0.0.1:{port}")
    try:
        with open_stream(f"zmq+pull://127.0.0.1:{port}", _options()) as source:
            x = _iq(1000, seed=2)
            push.send(x.tobytes(), copy=True)
            push.send(x[:10].tobytes() + b"\x01\x02\x03", copy=True)  # 10 samples + 3 bytes
            got = _collect(source, 1010)
            np.testing.assert_array_equal(got, np.concatenate([x, x[:10]]))
            assert (source.stats.ragged_messages, source.stats.ragged_bytes) == (1, 3)
    finally:
        push.close()


def test_udp_datagrams_in_order_and_the_empty_datagram_ends_the_stream():
    port = _free_port(socket.SOCK_DGRAM)
    x = _iq(20_000, seed=3)
    with open_stream(f"udp://127.0.0.1:{port}", _options()) as source:
        sink = open_sink(f"udp://127.0.0.1:{port}", "cf32_le")
        for start in range(0, x.size, 1000):
            sink.send(x[start : start + 1000])
            time.sleep(0.001)  # loopback UDP drops a burst beyond the socket buffer
        sink.close()
        got = _collect(source, x.size + 1)
        assert source.read(1.0) is None  # ended by the empty datagram
    np.testing.assert_array_equal(got, x)
    assert UDP_PAYLOAD_BYTES // 8 == 184


def test_stdin_joins_samples_split_across_reads():
    read_fd, write_fd = os.pipe()
    x = _iq(3000, seed=4)
    data = to_bytes(x, "ci16_le")
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        with open_stream("-", _options("ci16"), stdin=pipe) as source:

            def writer():
                for start in range(0, len(data), 1001):  # odd pieces split samples
                    os.write(write_fd, data[start : start + 1001])
                os.close(write_fd)

            thread = threading.Thread(target=writer)
            thread.start()
            got = _collect(source, x.size + 1)
            thread.join(WAIT_S)
    np.testing.assert_array_equal(got, to_complex64(data, "ci16_le"))


def test_a_full_queue_drops_and_counts_what_arrives_and_hands_it_out_as_zeros():
    port = _free_port(socket.SOCK_DGRAM)
    with open_stream(f"udp://127.0.0.1:{port}", _options(), queue_samples=1000) as source:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = _iq(100)
        block = sent.tobytes()
        for _ in range(30):
            sender.sendto(block, ("127.0.0.1", port))
            time.sleep(0.001)
        sender.sendto(b"", ("127.0.0.1", port))
        sender.close()
        end = time.monotonic() + WAIT_S
        while not source.ended and time.monotonic() < end:
            time.sleep(0.01)
        got = _collect(source, 10**6)
        stats = source.stats
    # the queue held ten datagrams; the rest were dropped and come out as erasures, so
    # that every sample keeps its index
    assert got.size == stats.received_samples
    assert stats.dropped_samples == stats.received_samples - 1000
    assert stats.dropped_samples > 0
    assert stats.dropped_messages * 100 == stats.dropped_samples
    np.testing.assert_array_equal(got[:1000], np.tile(sent, 10))
    assert not np.any(got[1000:])


def test_a_silent_stream_returns_within_the_wait():
    port = _free_port()
    with open_stream(f"zmq://127.0.0.1:{port}", _options()) as source:
        chunk = source.read(0.05)
    assert chunk is not None and chunk.size == 0
