"""Send downlinks live, in real time or faster: the transmitting end of a stream.

In: downlinks (:class:`~signals.spacecraft.downlinks.Downlink`, a session's from
:mod:`groundstation.session.play`), where to send them
(``zmq://HOST:PORT``, ``udp://HOST:PORT``, ``-``, a recording name), the sample format and
the pace. Out: the samples, each band paced by its own sample clock against one shared
start, and the facts a receiver must be told out of band (ICD §8).

Several bands go to consecutive ports (the first band to PORT, the next to PORT+1, in the
band table's order) or to one recording each (``NAME_<band>``); standard output takes one
band. A chunk leaves when its last sample is due (the start plus its end sample over the
rate, divided by the speed), so a receiver sees what a radio would, a chunk at a time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np

from groundstation.errors import RecordingError
from groundstation.io.files import leave_interrupts_to_main_thread
from groundstation.io.recording import MIN_SAMPLE_RATE_HZ, base_path, format_utc
from groundstation.io.samples import SAMPLE_FORMATS
from groundstation.io.sinks import SampleSink, open_sink
from groundstation.io.streams import is_stream_address, parse_address
from groundstation.live.resample import StreamResampler, rate_ratio
from groundstation.outputs.carrier import MODE_KEY, UPLINK_KEY
from signals.spacecraft.downlinks import Downlink

#: Length of each chunk sent (s of signal): a frame or line is out of a receiver soon
#: after its last sample, so chunks are short.
CHUNK_S: Final = 0.02
#: Gain applied before an integer format (``ci16``, ``ci8``, ``cu8``) so that the noise and
#: the pulses fit its full scale of 1.0 (-12 dB).
INTEGER_GAIN: Final = 0.25


@dataclass(frozen=True)
class BandStream:
    """One band's stream: what is sent, where, and what a receiver must be told.

    Attributes
    ----------
    downlink : Downlink
        The band's transmission.
    target : str
        Where its samples go.
    sample_format : str
        ``cf32``, ``cf64``, ``ci16``, ``ci8`` or ``cu8``.
    gain : float
        Factor applied to the samples before they are stored as ``sample_format``.
    """

    downlink: Downlink
    target: str
    sample_format: str
    gain: float
    fs_out_hz: float | None = None

    @property
    def fs_hz(self) -> float:
        """The stream's sample rate (Hz): the downlink's, or the one it is resampled to."""
        return self.fs_out_hz or self.downlink.fs_hz

    @property
    def n_samples(self) -> int:
        """Samples the stream carries."""
        d = self.downlink
        return math.ceil(d.n_samples * self.fs_hz / d.fs_hz - 1e-9)

    def chunks(self, chunk_s: float):
        """The stream's samples in chunks of about ``chunk_s`` seconds, resampled if asked."""
        d = self.downlink
        chunks = d.stream(max(1, round(d.fs_hz * chunk_s)))
        if self.fs_out_hz is None or self.fs_out_hz == d.fs_hz:
            yield from chunks
            return
        resampler = StreamResampler(*rate_ratio(d.fs_hz, self.fs_out_hz))
        for chunk in chunks:
            out = resampler.feed(chunk)
            if out.size:
                yield out
        tail = resampler.end()
        if tail.size:
            yield tail

    def facts_line(self) -> str:
        """One line: band, rate, format, tuning, start, bit rate, target."""
        d = self.downlink
        rate = f", {d.bit_rate_bps:g} bit/s" if d.bit_rate_bps else ""
        gain = f", gain {20 * np.log10(self.gain):+.0f} dB" if self.gain != 1.0 else ""
        return (
            f"{d.band_id}: {self.fs_hz:g} S/s {self.sample_format}{gain}, tuned to "
            f"{d.tuned_hz:.3f} Hz, sample 0 at {format_utc(d.start_utc)}{rate}, "
            f"{self.n_samples} samples ({d.n_samples / d.fs_hz:.1f} s) -> {self.target}"
        )

    def listen_command(self) -> str:
        """The ``groundstation listen`` command line that receives this stream."""
        d = self.downlink
        words = [
            "groundstation listen",
            self.target.replace("zmq+push://", "zmq+pull://"),
            f"--band {d.band_id}",
            f"--samp-rate {self.fs_hz:g}",
            f"--format {self.sample_format}",
            f"--start {format_utc(d.start_utc)}",
        ]
        if d.bit_rate_bps:
            words.append(f"--bit-rate {d.bit_rate_bps:g}")
        return " ".join(words)


def band_targets(target: str, bands: list[str]) -> dict[str, str]:
    """Where each band's samples go, from one ``--to``.

    Raises
    ------
    RecordingError
        Several bands to standard output.
    """
    if target == "-":
        if len(bands) > 1:
            raise RecordingError(
                f"standard output takes one band; choose one of {', '.join(bands)} with --band"
            )
        return {bands[0]: "-"} if bands else {}
    if is_stream_address(target):
        address = parse_address(target)
        if address.port + len(bands) - 1 > 65535:
            raise RecordingError(f"{target}: {len(bands)} bands need ports up to 65535")
        return {b: str(address.with_port(address.port + i)) for i, b in enumerate(bands)}
    base = base_path(Path(target))
    if len(bands) == 1:
        return {bands[0]: str(base)}
    return {b: str(base.with_name(f"{base.name}_{b}")) for b in bands}


def plan_streams(
    downlinks: dict[str, Downlink],
    target: str,
    sample_format: str = "cf32",
    fs_hz: float | None = None,
) -> list[BandStream]:
    """The streams of ``downlinks`` sent to ``target`` as ``sample_format``, resampled to
    ``fs_hz`` when it is given (a ratio of integers up to 1000 of each band's rate).

    Raises
    ------
    RecordingError
        An unknown format, or a rate no ratio reaches or below what a band's receiver needs.
    """
    if sample_format not in SAMPLE_FORMATS:
        raise RecordingError(f"unknown sample format {sample_format!r}")
    targets = band_targets(target, list(downlinks))
    gain = 1.0 if sample_format in ("cf32", "cf64") else INTEGER_GAIN
    if fs_hz is not None:
        for band, d in downlinks.items():
            if fs_hz < MIN_SAMPLE_RATE_HZ[band]:
                raise RecordingError(
                    f"--samp-rate {fs_hz:g} Hz is below the {MIN_SAMPLE_RATE_HZ[band]:g} Hz "
                    f"band {band} needs"
                )
            try:
                rate_ratio(d.fs_hz, fs_hz)
            except ValueError as exc:
                raise RecordingError(f"--samp-rate: {exc}") from None
    return [BandStream(downlinks[b], targets[b], sample_format, gain, fs_hz) for b in downlinks]


def _recording_facts(d: Downlink, fs_hz: float) -> dict:
    extra: dict[str, object] = {}
    if d.coherent_mode is not None:
        extra[MODE_KEY] = d.coherent_mode
    if d.uplink_hz is not None:
        extra[UPLINK_KEY] = d.uplink_hz
    return {
        "fs_hz": fs_hz,
        "band": d.band_id,
        "start_utc": d.start_utc,
        "center_frequency_hz": d.tuned_hz,
        "bit_rate_bps": d.bit_rate_bps,
        "extra_global": extra or None,
        "description": d.description,
    }


def open_sinks(
    streams: list[BandStream],
    *,
    stdout: BinaryIO | None = None,
    wait_subscriber_s: float = 2.0,
) -> list[SampleSink]:
    """Open each stream's sink (binding PUB sockets, creating recordings)."""
    sinks: list[SampleSink] = []
    try:
        for s in streams:
            sinks.append(
                open_sink(
                    s.target,
                    SAMPLE_FORMATS[s.sample_format],
                    recording=_recording_facts(s.downlink, s.fs_hz),
                    stdout=stdout,
                    wait_subscriber_s=wait_subscriber_s,
                )
            )
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks


#: Called for each chunk sent: (band id, first sample index, the chunk as sent, before gain).
ChunkHook = Callable[[str, int, np.ndarray], None]


def _pace(
    stream: BandStream,
    sink: SampleSink,
    t0: float,
    speed: float | None,
    stop: threading.Event,
    sent: dict[str, int],
    on_chunk: ChunkHook | None,
    errors: list[BaseException],
) -> None:
    leave_interrupts_to_main_thread()
    d = stream.downlink
    fs_hz = stream.fs_hz
    position = 0
    try:
        for chunk in stream.chunks(CHUNK_S):
            if stop.is_set():
                return
            if speed is not None:
                due = t0 + (position + chunk.size) / fs_hz / speed
                while (wait := due - time.monotonic()) > 0:
                    if stop.wait(min(wait, 0.1)):
                        return
            sink.send(chunk * np.float32(stream.gain) if stream.gain != 1.0 else chunk)
            if on_chunk is not None:
                on_chunk(d.band_id, position, chunk)
            position += chunk.size
            sent[d.band_id] = position
    except BaseException as exc:  # handed to the caller's thread
        errors.append(exc)
        stop.set()


def send_streams(
    streams: list[BandStream],
    sinks: list[SampleSink],
    *,
    speed: float | None = 1.0,
    stop: threading.Event | None = None,
    on_chunk: ChunkHook | None = None,
) -> dict[str, int]:
    """Send every band side by side, paced, until all are sent or ``stop`` is set.

    Parameters
    ----------
    streams, sinks : list
        Each band's stream and its open sink (closed here, at the end).
    speed : float or None
        Times real time (1.0 real time); None sends as fast as the sinks take it.
    stop : threading.Event, optional
        Set it to stop early (a signal).
    on_chunk : callable, optional
        Called from the band's thread for every chunk sent.

    Returns
    -------
    dict of str to int
        Samples sent per band.
    """
    stop = stop or threading.Event()
    sent = {s.downlink.band_id: 0 for s in streams}
    errors: list[BaseException] = []
    t0 = time.monotonic()
    threads = [
        threading.Thread(
            target=_pace,
            args=(s, sink, t0, speed, stop, sent, on_chunk, errors),
            name=f"transmit {s.downlink.band_id}",
            daemon=True,
        )
        for s, sink in zip(streams, sinks, strict=True)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join(2.0)
        for sink in sinks:
            abort = getattr(sink, "abort", None)
            abort() if abort is not None else sink.close()
        raise
    for sink in sinks:
        if errors and hasattr(sink, "abort"):
            sink.abort()
        else:
            sink.close()
    if errors:
        raise errors[0]
    return sent
