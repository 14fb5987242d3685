"""The shape every receiver has: fed chunks of any size, it hands out results as it decides them.

A receiver keeps its state across chunks (filters, carrier and clock tracking, a partial
frame or image line), so the same samples split into chunks of any sizes give the same
results in the same order. A file is decoded by feeding it chunk by chunk, a live stream
by feeding what arrives: there is one code path.

>>> receiver = make_receiver(...)                      # doctest: +SKIP
>>> for chunk in source:                               # doctest: +SKIP
...     for event in receiver.feed(chunk):
...         print(event)
>>> tail = receiver.end()                              # doctest: +SKIP
>>> aggregate = receiver.result()                      # doctest: +SKIP

The events are the per-item records of :mod:`groundstation.results`; the aggregate is the
run's :class:`~groundstation.results.TelemetryDecodeResult`,
:class:`~groundstation.results.PpmDecodeResult` or
:class:`~groundstation.results.CarrierEstimate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeAlias

import numpy as np

from groundstation.results import (
    CarrierEstimate,
    DecodedFrame,
    DecodedImage,
    ImageHeader,
    ImageLine,
    PpmDecodeResult,
    TelemetryDecodeResult,
    TruncatedFrame,
)

#: What a receiver hands out as soon as it is decided.
Event: TypeAlias = (
    DecodedFrame | TruncatedFrame | ImageHeader | ImageLine | DecodedImage | CarrierEstimate
)

#: What a receiver has found over its whole run.
Aggregate: TypeAlias = TelemetryDecodeResult | PpmDecodeResult | CarrierEstimate | None


class Receiver(Protocol):
    """A push-based receiver.

    Attributes
    ----------
    fs_hz : float
        Sample rate of the chunks it is fed (Hz).
    samples_fed : int
        Samples fed so far; events' ``sample_start`` count from the first.
    """

    fs_hz: float
    samples_fed: int

    def feed(self, chunk: np.ndarray) -> list[Event]:
        """Take the next samples (complex64, any length, NaN/Inf as erasures).

        Returns
        -------
        list of Event
            What these samples decided, in the order decided (often empty).
        """
        ...

    def end(self) -> list[Event]:
        """The input is over: flush what is held (a truncated frame, a partial image)."""
        ...

    def result(self) -> Aggregate:
        """The aggregate of the run so far (after :meth:`end`: of the whole input)."""
        ...


def run(receiver: Receiver, chunks: Iterable[np.ndarray]) -> Iterator[Event]:
    """Feed ``chunks`` to ``receiver`` and yield its events, the flush at the end included."""
    for chunk in chunks:
        yield from receiver.feed(chunk)
    yield from receiver.end()
