"""A session played through the live chain: transmit and listen at once, over loopback.

In: the downlinks of a session (one per band), a folder for the recordings, the pace, and
optionally a :class:`~groundstation.live.bus.LiveBus`. Out: for each band, the recording of
what its ``listen`` received (a SigMF pair, as fed to the receiver) and how the listen ended;
on the bus, as they happen, each band's waterfall rows, every event its receiver decides,
and a status line.

Each band is sent by :mod:`groundstation.live.transmit` to a PUB socket bound on
127.0.0.1 at a port the system picks, and received by a SUB socket of
:mod:`groundstation.io.streams` feeding the band's push-based receiver
(:func:`groundstation.live.listen.listen`), one thread per band: the same chain as
``groundstation transmit`` into ``groundstation listen``, in one process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from groundstation.io.facts import SourceFacts
from groundstation.io.files import leave_interrupts_to_main_thread
from groundstation.io.sinks import ZmqPubSink
from groundstation.io.streams import StreamAddress, StreamSource
from groundstation.live.bus import LiveBus, WaterfallRows
from groundstation.live.events import event_line, event_record
from groundstation.live.listen import ListenOutcome, listen, make_receiver, spool_writer
from groundstation.live.transmit import BandStream, send_streams
from signals.bands import load_bands
from signals.spacecraft.downlinks import Downlink

#: Longest wait for each listener to join its band's PUB socket (s).
JOIN_TIMEOUT_S: Final = 10.0
#: A listener that hears nothing for this long (wall time) gives up (s).
IDLE_S: Final = 30.0


@dataclass
class AirBand:
    """What one band's listen received.

    Attributes
    ----------
    meta_path : Path
        The recording of the samples fed to the receiver.
    outcome : ListenOutcome or None
        How the listen ended (None when it failed; see ``error``).
    error : str or None
        Why the listen failed.
    """

    meta_path: Path
    outcome: ListenOutcome | None = None
    error: str | None = None


def downlink_facts(downlink: Downlink, address: StreamAddress) -> SourceFacts:
    """What a listener of ``downlink``'s stream is told out of band."""
    return SourceFacts(
        name=downlink.band_id,
        form=address.scheme,
        datatype="cf32_le",
        fs_hz=downlink.fs_hz,
        band=downlink.band_id,
        center_frequency_hz=downlink.tuned_hz,
        nominal_frequency_hz=load_bands()[0][downlink.band_id].carrier_hz,
        start_utc=downlink.start_utc,
        bit_rate_bps=downlink.bit_rate_bps,
        n_samples=None,
    )


def _listen_band(
    source: StreamSource,
    downlink: Downlink,
    meta_base: Path,
    bus: LiveBus | None,
    result: AirBand,
    print_events: bool,
) -> None:
    leave_interrupts_to_main_thread()
    facts = source.facts
    band, fs_hz = facts.band, facts.fs_hz
    try:
        receiver = make_receiver(facts)
    except Exception as exc:  # reported in the session's result for the band
        result.error = str(exc)
        return
    subscribers = []
    chunk_subscribers = []
    if bus is not None:
        subscribers.append(lambda e: bus.publish(event_record(e, band, fs_hz)))
        rows = WaterfallRows(fs_hz, peak=load_bands()[0][band].kind == "ppm")

        def waterfall(_: int, chunk) -> None:
            for row in rows.feed(chunk):
                bus.publish({"kind": "waterfall", "band": band, "row": row})

        chunk_subscribers.append(waterfall)
    if print_events:
        subscribers.append(lambda e: print(event_line(e, band, fs_hz), flush=True))
    try:
        result.outcome = listen(
            source,
            receiver,
            spool_writer(facts, meta_base),
            subscribers=subscribers,
            chunk_subscribers=chunk_subscribers,
            duration_s=downlink.n_samples / fs_hz,
            idle_s=IDLE_S,
        )
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"


def play_through_air(
    downlinks: dict[str, Downlink],
    folder: Path,
    *,
    speed: float | None = 1.0,
    bus: LiveBus | None = None,
    print_events: bool = False,
) -> dict[str, AirBand]:
    """Transmit every downlink and listen to each at once; return what each listen received.

    Parameters
    ----------
    downlinks : dict of str to Downlink
        One per band, each iterated once here.
    folder : Path
        Where the recordings of what was received go (``<band>.sigmf-meta``).
    speed : float or None
        Times real time; None as fast as the receivers take it.
    bus : LiveBus, optional
        Where the waterfall rows and events are published.
    print_events : bool
        Also print each event as a line on standard output.

    Returns
    -------
    dict of str to AirBand
        By band, the recording received and how its listen ended.
    """
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, AirBand] = {}
    sinks: list[ZmqPubSink] = []
    sources: list[StreamSource] = []
    threads: list[threading.Thread] = []
    try:
        for band, downlink in downlinks.items():
            sink = ZmqPubSink(StreamAddress("zmq", "127.0.0.1", 0), "cf32_le", wait_subscriber_s=0)
            sinks.append(sink)
            source = StreamSource(sink.address, downlink_facts(downlink, sink.address))
            sources.append(source)
            results[band] = AirBand(folder / f"{band}.sigmf-meta")
        for sink in sinks:
            sink.wait_for_subscriber(JOIN_TIMEOUT_S)
        for (band, downlink), source in zip(downlinks.items(), sources, strict=True):
            thread = threading.Thread(
                target=_listen_band,
                args=(source, downlink, folder / band, bus, results[band], print_events),
                name=f"listen {band}",
                daemon=True,
            )
            threads.append(thread)
            thread.start()
        streams = [
            BandStream(d, str(s.address), "cf32", 1.0)
            for d, s in zip(downlinks.values(), sinks, strict=True)
        ]
        send_streams(streams, list(sinks), speed=speed)
        sinks = []  # closed by send_streams
        deadline = time.monotonic() + IDLE_S + 10
        for thread in threads:
            while thread.is_alive() and time.monotonic() < deadline:
                thread.join(0.2)
    finally:
        for sink in sinks:
            sink.close()
        for source in sources:
            source.close()
        for thread in threads:
            thread.join(5.0)
    return results
