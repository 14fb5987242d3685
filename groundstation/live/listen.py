"""Decode a live stream as it arrives: source, receiver, and what listens to its events.

In: a :class:`~groundstation.io.streams.StreamSource` (samples as they arrive) and when to
stop (a length of signal, an idle time, the end of input, a signal). Out: every event the
band's receiver decides, handed at once to the subscribers (the terminal, the live folder,
the live page), the stream kept as a SigMF recording (the spool, or ``--record NAME``) and
a :class:`ListenOutcome` saying why it ended and what the stream lost.

The receiver is fed in the order the samples arrived, whatever the chunking, so its
events are the ones ``decode`` finds in the same samples (the receivers' contract,
:mod:`groundstation.receivers.stream`). A subscriber never reaches back into the receiver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

from groundstation.errors import RecordingError
from groundstation.io.facts import SourceFacts
from groundstation.io.files import run_pending_interrupts
from groundstation.io.recording import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ, RELATIVE_EPOCH
from groundstation.io.streams import StreamSource, StreamStats
from groundstation.io.writer import RecordingWriter
from groundstation.receivers.stream import Event, Receiver

#: Longest a wait for samples lasts before the clocks are looked at again (s).
POLL_S: Final = 0.1
#: A live carrier estimate every this many seconds of signal (and one over the whole
#: stream at its end).
LIVE_CARRIER_BLOCK_S: Final = 5.0

#: Called with each event as soon as the receiver decides it.
Subscriber = Callable[[Event], None]
#: Called with each chunk fed (first sample index, samples): waterfalls, level meters.
ChunkSubscriber = Callable[[int, np.ndarray], None]


@dataclass
class ListenOutcome:
    """How a listen ended and what it saw.

    Attributes
    ----------
    reason : str
        ``end of input``, ``duration``, ``idle timeout`` or ``interrupted``.
    samples_fed : int
        Samples given to the receiver (and kept in the recording).
    counts : dict of str to int
        Events by kind (``frame``, ``image-line``, ...).
    stats : StreamStats
        The source's counts: received, dropped on this side, ragged messages.
    wall_s : float
        Wall time from the first sample to the end (s).
    interrupt : KeyboardInterrupt or None
        The interrupt that stopped it (raise it again once the outputs are complete).
    """

    reason: str
    samples_fed: int
    counts: dict[str, int] = field(default_factory=dict)
    stats: StreamStats = field(default_factory=StreamStats)
    wall_s: float = 0.0
    interrupt: KeyboardInterrupt | None = None


def check_rate(facts: SourceFacts) -> None:
    """Refuse a sample rate the band's receiver cannot work at (one line)."""
    low, high = MIN_SAMPLE_RATE_HZ[facts.band], MAX_SAMPLE_RATE_HZ[facts.band]
    if not low <= facts.fs_hz <= high:
        raise RecordingError(
            f"sample rate {facts.fs_hz:g} Hz is outside the {low:g}-{high:g} Hz the "
            f"{facts.band} receiver works at"
        )


def make_receiver(facts: SourceFacts) -> Receiver:
    """The push-based receiver of ``facts.band`` at ``facts.fs_hz``.

    Raises
    ------
    RecordingError
        A band this station does not receive live, or a telemetry stream without its bit
        rate.
    """
    from signals.bands import load_bands

    kind = load_bands()[0][facts.band].kind
    start_utc = facts.start_utc or RELATIVE_EPOCH
    if kind == "ppm":
        from groundstation.receivers.ppm import PpmReceiver

        return PpmReceiver(facts.fs_hz)
    if kind == "telemetry":
        if facts.bit_rate_bps is None:
            raise RecordingError(f"a {facts.band} stream needs its bit rate: give --bit-rate BPS")
        from groundstation.receivers.tlm import TelemetryReceiver

        return TelemetryReceiver(facts.fs_hz, facts.bit_rate_bps, start_utc=start_utc)
    if kind == "carrier":
        from groundstation.receivers.carrier import CarrierReceiver

        return CarrierReceiver(
            facts.fs_hz, tuned_frequency_hz=facts.center_frequency_hz, block_s=LIVE_CARRIER_BLOCK_S
        )
    raise RecordingError(f"band {facts.band} is an uplink; this station receives downlinks")


def spool_writer(facts: SourceFacts, base: Path) -> RecordingWriter:
    """A recording of the stream as fed to the receiver (``cf32_le``)."""
    return RecordingWriter(
        base,
        fs_hz=facts.fs_hz,
        band=facts.band,
        start_utc=facts.start_utc,
        center_frequency_hz=facts.center_frequency_hz,
        bit_rate_bps=facts.bit_rate_bps,
        description=f"live {facts.form} stream ({facts.datatype}) received by groundstation listen",
    )


def listen(
    source: StreamSource,
    receiver: Receiver,
    recording: RecordingWriter,
    *,
    subscribers: list[Subscriber] = (),
    chunk_subscribers: list[ChunkSubscriber] = (),
    duration_s: float | None = None,
    idle_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ListenOutcome:
    """Feed the stream to the receiver until it ends; hand each event out as decided.

    Parameters
    ----------
    source : StreamSource
        The stream (not closed here).
    receiver : Receiver
        The band's push-based receiver (ended here: its final events are handed out too).
    recording : RecordingWriter
        Entered here; every sample fed is written to it, and it is completed on return
        (on an interrupt too: what was received is kept).
    subscribers : list of callable
        Each called with every event, in order.
    chunk_subscribers : list of callable
        Each called with every chunk fed (its first sample index and the samples).
    duration_s : float, optional
        Stop after this much signal (s of samples).
    idle_s : float, optional
        Stop when nothing has arrived for this long (s of wall time; counted from the start
        until the first sample).
    clock : callable
        Monotonic wall clock (s).

    Returns
    -------
    ListenOutcome
        With ``reason`` ``interrupted`` when a KeyboardInterrupt (SIGINT, SIGTERM) stopped
        it; the interrupt is raised again by the caller once the outputs are complete.
    """
    fs_hz = source.facts.fs_hz
    limit = None if duration_s is None else max(1, round(duration_s * fs_hz))
    counts: dict[str, int] = {}
    fed = 0
    reason = "end of input"
    started = last = clock()
    first: float | None = None
    interrupt: KeyboardInterrupt | None = None

    def hand_out(events: list[Event]) -> None:
        from groundstation.live.events import event_kind

        for event in events:
            kind = event_kind(event)
            counts[kind] = counts.get(kind, 0) + 1
            for subscriber in subscribers:
                subscriber(event)

    with recording:
        try:
            while True:
                chunk = source.read(POLL_S)
                run_pending_interrupts()
                now = clock()
                if chunk is None:
                    break
                if chunk.size == 0:
                    if idle_s is not None and now - last >= idle_s:
                        reason = "idle timeout"
                        break
                    continue
                last = now
                first = now if first is None else first
                if limit is not None:
                    chunk = chunk[: limit - fed]
                recording.write(chunk)
                for chunk_subscriber in chunk_subscribers:
                    chunk_subscriber(fed, chunk)
                fed += chunk.size
                hand_out(receiver.feed(chunk))
                if limit is not None and fed >= limit:
                    reason = "duration"
                    break
        except KeyboardInterrupt as exc:
            reason, interrupt = "interrupted", exc
        try:
            hand_out(receiver.end())
        except KeyboardInterrupt as exc:  # the flush is cut short; what it gave is kept
            reason, interrupt = "interrupted", exc
    return ListenOutcome(
        reason=reason,
        samples_fed=fed,
        counts=counts,
        stats=source.stats,
        wall_s=clock() - (first if first is not None else started),
        interrupt=interrupt,
    )
