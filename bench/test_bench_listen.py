"""``listen`` live: latency from a decision's last sample to the decision, and real-time margin.

Both stream a fixture over ZeroMQ on 127.0.0.1 into :func:`groundstation.live.listen.
listen` (the band's push-based receiver, the recording of the stream, a subscriber per
event), as ``groundstation listen zmq://...`` runs it.

- **Latency.** The samples are sent in real time, 20 ms at a time (as ``transmit`` sends
  them); for every frame or image line, the time from the sending of the chunk that holds
  its last sample to the moment the receiver hands it out. Reported in ``extra_info``
  (median, 95th percentile and largest, s); the station's aim is under 1 s. ``steady_*``
  leaves out what was held for the start (the frames of the telemetry carrier's 16 s
  acquisition, the image lines that come with the confirmation of their image): those
  whose last sample came before the first decision was handed out. Cases: the 64 bit/s
  telemetry fixture, the 5 cm fixture (12 lines of 12 pixels) and, at full size, the 5 cm
  downlink of the default session as ``transmit`` sends it (48 lines of 64 pixels, 38 s).
- **Real-time margin.** The whole fixture sent as fast as the socket takes it; the ratio
  of the signal's duration to the wall time from first sample to last event
  (``realtime_factor``: 100 means one core keeps up with 100 such streams).
"""

from __future__ import annotations

import bisect
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import bench_size, pick

from groundstation.io.facts import SourceFacts
from groundstation.io.sinks import ZmqPubSink
from groundstation.io.streams import StreamAddress, StreamSource
from groundstation.live.listen import listen, make_receiver, spool_writer

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "ppm": ("fixtures/ppm/ppm_limits.sigmf-data", "5cm-ppm", 180_000.0, None, 5.86e9),
    "tlm": ("fixtures/tlm/tlm32cm_64bps.sigmf-data", "32cm-tlm", 8_000.0, 64.0, 922.76e6),
    "ppm-session": (None, "5cm-ppm", 180_000.0, None, 5.86e9),
}


def _session_ppm(folder: Path) -> Path:
    """The default session's 5 cm downlink, written by ``groundstation transmit``."""
    meta = folder / "session_ppm.sigmf-meta"
    if not meta.exists():
        subprocess.run(
            [sys.executable, "-m", "groundstation", "transmit", "--band", "5cm-ppm", "--fast",
             "--to", str(meta)],
            check=True, capture_output=True, timeout=600,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    return meta.with_suffix(".sigmf-data")


def _facts(band: str, fs_hz: float, bit_rate: float | None, tuned_hz: float) -> SourceFacts:
    return SourceFacts("bench", "zmq", "cf32_le", fs_hz, band, tuned_hz, tuned_hz, None,
                       bit_rate, None)  # fmt: skip


def _run(case: str, seconds: float | None, speed: float | None, tmp: Path, data: Path):
    """Stream the case's fixture; return (events with hand-out times, send log, wall s)."""
    path, band, fs_hz, bit_rate, tuned_hz = CASES[case]
    path = _session_ppm(data) if path is None else ROOT / path
    samples = np.fromfile(path, np.complex64)
    if seconds is not None:
        samples = samples[: int(seconds * fs_hz)]
    sink = ZmqPubSink(StreamAddress("zmq", "127.0.0.1", 0), "cf32_le", wait_subscriber_s=0)
    facts = _facts(band, fs_hz, bit_rate, tuned_hz)
    source = StreamSource(sink.address, facts, queue_samples=samples.size + 1)
    sink.wait_for_subscriber(10.0)
    sent_end: list[int] = []
    sent_at: list[float] = []
    step = round(0.02 * fs_hz)

    def send() -> None:
        t0 = time.perf_counter()
        for start in range(0, samples.size, step):
            chunk = samples[start : start + step]
            if speed is not None:
                due = t0 + (start + chunk.size) / fs_hz / speed
                time.sleep(max(0.0, due - time.perf_counter()))
            sent_at.append(time.perf_counter())
            sent_end.append(start + chunk.size)
            sink.send(chunk)

    events: list[tuple[object, float]] = []
    sender = threading.Thread(target=send)
    t_start = time.perf_counter()
    sender.start()
    with source:
        listen(
            source,
            make_receiver(facts),
            spool_writer(facts, tmp / f"{case}-{speed}"),
            subscribers=[lambda e: events.append((e, time.perf_counter()))],
            duration_s=samples.size / fs_hz,
            idle_s=5.0,
        )
    wall_s = time.perf_counter() - t_start
    sender.join(30)
    sink.close()
    return events, (sent_end, sent_at), wall_s, samples.size / fs_hz


def _latencies(events, sent) -> tuple[np.ndarray, np.ndarray]:
    """Latency of every frame and line (s), and whether its last sample was sent after
    the first decision was handed out (not held for the start)."""
    sent_end, sent_at = sent
    out, steady = [], []
    first_out = None
    for event, t_out in events:
        count = getattr(event, "sample_count", 0)
        if not count or type(event).__name__ not in ("DecodedFrame", "ImageLine"):
            continue
        first_out = t_out if first_out is None else first_out
        last = event.sample_start + count
        k = min(bisect.bisect_left(sent_end, last), len(sent_at) - 1)
        out.append(t_out - sent_at[k])
        steady.append(sent_at[k] > first_out)
    return np.asarray(out), np.asarray(steady, bool)


def _summary(name: str, latency: np.ndarray) -> dict[str, float]:
    if not latency.size:
        return {f"{name}_count": 0}
    return {
        f"{name}_count": int(latency.size),
        f"{name}_median_s": round(float(np.median(latency)), 4),
        f"{name}_p95_s": round(float(np.percentile(latency, 95)), 4),
        f"{name}_max_s": round(float(latency.max()), 4),
    }


@pytest.mark.parametrize("case", ["ppm", "tlm", "ppm-session"])
def test_listen_latency_real_time(benchmark, bench_dir, tmp_path, case):
    if case == "ppm-session" and bench_size() == "smoke":
        pytest.skip("the session's 38 s stream is streamed at full size only")
    seconds = {"ppm": None, "tlm": pick(smoke=30.0, full=None), "ppm-session": None}[case]
    result = {}

    def run():
        result["run"] = _run(case, seconds, 1.0, tmp_path, bench_dir)

    benchmark.pedantic(run, rounds=1, iterations=1)
    events, sent, _, signal_s = result["run"]
    latency, steady = _latencies(events, sent)
    assert latency.size > 0
    benchmark.extra_info.update(
        decisions=int(latency.size),
        **_summary("latency", latency),
        **_summary("steady", latency[steady]),
        signal_s=round(signal_s, 3),
    )


@pytest.mark.parametrize("case", ["ppm", "tlm"])
def test_listen_realtime_margin(benchmark, tmp_path, case):
    result = {}

    def run():
        result["run"] = _run(case, None, None, tmp_path, tmp_path)

    benchmark.pedantic(run, rounds=pick(smoke=1, full=3), iterations=1)
    events, _, _, signal_s = result["run"]
    assert events
    fs_hz = CASES[case][2]
    benchmark.extra_info.update(
        n_samples=int(signal_s * fs_hz),
        samples_per_s=signal_s * fs_hz / benchmark.stats.stats.min,
        realtime_factor=round(signal_s / benchmark.stats.stats.min, 1),
        signal_s=round(signal_s, 3),
    )
