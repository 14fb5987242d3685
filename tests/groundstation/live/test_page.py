"""The live page's feed and server (groundstation.live.bus, .page), over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from groundstation.live.bus import LiveBus, WaterfallRows
from groundstation.live.page import serve

WAIT_S = 10.0


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=WAIT_S) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_a_late_reader_gets_everything_in_order_and_a_slow_one_loses_the_oldest():
    bus = LiveBus()
    for i in range(5):
        bus.publish({"kind": "frame", "i": i})
    history, reader = bus.subscribe(size=3)
    assert [json.loads(t)["i"] for t in history] == list(range(5))
    for i in range(5, 10):
        bus.publish({"kind": "frame", "i": i})
    got = [json.loads(t) for t in reader.get(0.0)]
    assert [r["i"] for r in got] == [7, 8, 9] and reader.dropped == 2
    assert [r["seq"] for r in got] == [8, 9, 10]
    assert reader.get(0.01) == []  # bounded wait, nothing new


def test_a_waterfall_row_puts_a_tone_in_its_bin():
    fs_hz, tone_hz = 8000.0, 1000.0
    t = np.arange(8000) / fs_hz
    x = (np.exp(2j * np.pi * tone_hz * t) + 0.01).astype(np.complex64)
    rows_maker = WaterfallRows(fs_hz, bins=128, rows_per_s=4.0)
    rows = rows_maker.feed(x[:3000]) + rows_maker.feed(x[3000:])
    assert len(rows) == 3  # whole blocks of 128: 16 blocks (2048 samples) a row
    expected_bin = 64 + round(tone_hz / (fs_hz / 128))  # DC in the middle
    for row in rows:
        assert int(np.argmax(row)) == expected_bin
        assert max(row) - float(np.median(row)) > 30  # dB above the rest


def test_the_server_escapes_serves_the_feed_and_closes_the_stream_after_the_end():
    bus = LiveBus()
    bus.publish({"kind": "session", "bands": [], "commands": []})
    server = serve(bus, "<script>alert(1)</script>", {"range": "1 < 2"})
    try:
        assert server.url.startswith("http://127.0.0.1:")
        status, kind, body = _get(server.url)
        page = body.decode()
        assert status == 200 and kind.startswith("text/html")
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "1 &lt; 2" in page
        status, kind, body = _get(server.url + "live.js")
        assert kind.startswith("text/javascript") and b"EventSource" in body
        status, _, body = _get(server.url + "state")
        assert [r["kind"] for r in json.loads(body)] == ["session"]
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(server.url + "nothing-here")
        assert missing.value.code == 404
        missing.value.close()

        events: list[dict] = []

        def read_stream() -> None:
            with urllib.request.urlopen(server.url + "events", timeout=WAIT_S) as response:
                for line in response:
                    if line.startswith(b"data: "):
                        events.append(json.loads(line[6:]))

        reader = threading.Thread(target=read_stream)
        reader.start()
        bus.publish({"kind": "image-line", "line": 3, "grey": [0, 63]})
        bus.publish({"kind": "end", "summary": "over"})
        reader.join(WAIT_S)
        assert not reader.is_alive()  # the server ended the stream after the end record
        assert [e["kind"] for e in events] == ["session", "image-line", "end"]
    finally:
        server.stop()
