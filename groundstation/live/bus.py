"""The live page's feed: records published once, read by every open page.

In: JSON-ready records (a receiver's events as :func:`groundstation.live.events.
event_record` makes them, waterfall rows, the session's facts and command log, the end).
Out: for each reader (a page's server-sent event stream), the records in order from a
bounded queue; a reader that falls behind loses the oldest and the count is kept. A page
that opens late first gets everything so far (:meth:`LiveBus.history`, bounded too), so
it shows the same as one open from the start.

:class:`WaterfallRows` turns a band's samples into power spectrum rows for the page's
waterfall, a few rows per second of signal, without holding more than one row's samples.
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
from typing import Any, Final

import numpy as np

#: Records a late page is sent at most before the live ones (the oldest are dropped).
HISTORY_RECORDS: Final = 50_000
#: Records queued for one page at most.
READER_QUEUE_RECORDS: Final = 20_000


class Reader:
    """One page's view of the bus: a bounded queue of encoded records."""

    def __init__(self, size: int):
        self._queue: collections.deque[str] = collections.deque(maxlen=size)
        self._cond = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, text: str) -> None:
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(text)
            self._cond.notify_all()

    def get(self, timeout_s: float) -> list[str]:
        """The records queued, waiting at most ``timeout_s`` for one (empty: none came)."""
        with self._cond:
            if not self._queue and not self.closed:
                self._cond.wait(timeout_s)
            items = list(self._queue)
            self._queue.clear()
            return items

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class LiveBus:
    """Publish records to every page, in order; thread-safe.

    Each record gets a sequence number ``seq``; :meth:`history` and the readers hand out
    the records JSON-encoded once.
    """

    def __init__(self, history: int = HISTORY_RECORDS):
        self._lock = threading.Lock()
        self._history: collections.deque[str] = collections.deque(maxlen=history)
        self._readers: list[Reader] = []
        self._seq = itertools.count(1)
        self.ended = False

    def publish(self, record: dict[str, Any]) -> None:
        """Send ``record`` (JSON-ready) to every page."""
        with self._lock:
            record = {"seq": next(self._seq), **record}
            text = json.dumps(record, separators=(",", ":"), allow_nan=False, default=str)
            self._history.append(text)
            for reader in self._readers:
                reader.put(text)
            if record.get("kind") == "end":
                self.ended = True

    def history(self) -> list[str]:
        """Every record kept so far, encoded, oldest first."""
        with self._lock:
            return list(self._history)

    def subscribe(self, size: int = READER_QUEUE_RECORDS) -> tuple[list[str], Reader]:
        """The history so far and a reader of what comes after it (no record lost between)."""
        reader = Reader(size)
        with self._lock:
            self._readers.append(reader)
            return list(self._history), reader

    def unsubscribe(self, reader: Reader) -> None:
        """Stop sending to ``reader``."""
        with self._lock:
            if reader in self._readers:
                self._readers.remove(reader)
        reader.close()

    def close(self) -> None:
        """Wake every reader: nothing more will come."""
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            reader.close()


class WaterfallRows:
    """Power spectrum rows of one band's samples, for the page's waterfall.

    Parameters
    ----------
    fs_hz : float
        Sample rate (Hz).
    bins : int
        Frequency bins of a row (across the whole band, centred on the tuning).
    rows_per_s : float
        Rows per second of signal.
    peak : bool
        Each bin's largest power over the row rather than its mean: a pulsed signal (the
        5 cm band's 22 µs pulses, 0.2 % of the time) shows instead of vanishing in the
        average.
    """

    def __init__(
        self, fs_hz: float, bins: int = 128, rows_per_s: float = 10.0, *, peak: bool = False
    ):
        self.fs_hz = fs_hz
        self.peak = peak
        self.bins = bins
        self.row_samples = max(bins, round(fs_hz / rows_per_s))
        self._sum = np.zeros(bins)
        self._blocks = 0
        self._held = np.zeros(0, np.complex64)
        self._count = 0
        self._window = np.hanning(bins).astype(np.float32)

    def feed(self, chunk: np.ndarray) -> list[list[float]]:
        """Take samples; return the rows completed (dB, rounded to 0.1, DC in the middle)."""
        rows: list[list[float]] = []
        x = np.concatenate([self._held, np.nan_to_num(chunk)])
        whole = x.size - x.size % self.bins
        if whole:
            blocks = x[:whole].reshape(-1, self.bins)
            power = np.abs(np.fft.fft(blocks * self._window, axis=1)) ** 2
            for block_power in power:
                if self.peak:
                    np.maximum(self._sum, block_power, out=self._sum)
                else:
                    self._sum += block_power
                self._blocks += 1
                self._count += self.bins
                if self._count >= self.row_samples:
                    level = self._sum if self.peak else self._sum / self._blocks
                    mean = np.fft.fftshift(level)
                    db = 10 * np.log10(np.maximum(mean, 1e-20) / self.bins)
                    rows.append(np.round(db, 1).tolist())
                    self._sum[:] = 0
                    self._blocks = 0
                    self._count = 0
        self._held = x[whole:]
        return rows
