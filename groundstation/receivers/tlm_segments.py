"""Telemetry segments and bins: where the receiver cuts its input, and the bins it keeps.

In: the sample rate and the bit rate. Out: the segment geometry (overlapping segments of at
least 64 s or three frames, every frame whole in the segment that owns its start), the data
bin size, and :class:`Bins`, the growable run of bins the receiver keeps between segments
(the oldest dropped once no segment needs them). :mod:`groundstation.receivers.tlm` uses
them; nothing here touches samples.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from groundstation.errors import DecodeError
from groundstation.receivers.tlm_bitsync import SEARCH_CLOCK_OFFSET
from signals.formats.tlm import BIT_RATES_BPS, MIN_FS_HZ, SUBCARRIER_HZ, frame_duration_s

#: Segments: at least this long (s) and at least this many frames.
MIN_SEGMENT_S: Final = 64.0
SEGMENT_FRAMES: Final = 3.0
SEGMENT_MARGIN_S: Final = 4.0

#: Data bins a bit spans (at most eight a subcarrier cycle).
BINS_PER_BIT: Final = 256


class Bins:
    """A run of bins indexed from ``start`` (absolute), the oldest droppable; room for
    ``capacity`` (it grows if ever needed).

    Dropping only moves where the run begins; the bins held are moved to the front of the
    room when an append would pass its end, so with room for half as much again as is held
    they are moved once every few segments, not at every drop.
    """

    def __init__(self, dtype: type, capacity: int = 1 << 12) -> None:
        self.start = 0
        self._data = np.zeros(max(16, int(capacity)), dtype)
        self._first = 0  # where bin ``start`` is in _data
        self._count = 0

    @property
    def stop(self) -> int:
        """One past the last bin held (absolute index)."""
        return self.start + self._count

    def append(self, values: np.ndarray) -> None:
        need = self._count + values.size
        if self._first + need > self._data.size:
            live = self._data[self._first : self._first + self._count]
            if need > self._data.size:
                grown = np.zeros(max(2 * self._data.size, need), self._data.dtype)
                grown[: self._count] = live
                self._data = grown
            else:
                self._data[: self._count] = live  # numpy copies overlapping memory safely
            self._first = 0
        self._data[self._first + self._count : self._first + need] = values
        self._count = need

    def get(self, lo: int, hi: int) -> np.ndarray:
        """Bins ``[lo, hi)`` (absolute; clipped to those held), a view (valid until the next
        append or drop)."""
        lo = max(lo, self.start) - self.start
        hi = min(hi, self.stop) - self.start
        return self._data[self._first + lo : self._first + max(lo, hi)]

    def drop_before(self, index: int) -> None:
        cut = min(index - self.start, self._count)
        if cut <= 0:
            return
        self._first += cut
        self._count -= cut
        self.start += cut


def data_bin_samples(fs_hz: float, bit_rate_bps: float) -> int:
    """Samples per data bin: 256 bins a bit, at most eight a subcarrier cycle (32 bit/s and
    up). A bit's edges fall inside a bin, whose sum is split in proportion: at 8 bins a
    cycle the bin around the zero crossing holds 2.5 % of a half cycle's energy, and a bit
    of hundreds of half cycles (the low rates) cares still less for coarser bins."""
    bin_rate_hz = min(8.0 * SUBCARRIER_HZ, BINS_PER_BIT * float(bit_rate_bps))
    return max(1, int(fs_hz // bin_rate_hz))


def segment_geometry(fs_hz: float, bit_rate_bps: float) -> tuple[int, int]:
    """Length and step (samples) of the regular segments."""
    frame_s = frame_duration_s(bit_rate_bps) * (1 + SEARCH_CLOCK_OFFSET)
    length = int(max(MIN_SEGMENT_S, SEGMENT_FRAMES * frame_s) * fs_hz)
    step = length - int((frame_s + SEGMENT_MARGIN_S) * fs_hz)
    return length, step


def segments(n: int, fs_hz: float, bit_rate_bps: float) -> list[tuple[int, int]]:
    """Overlapping ``(start, stop)`` segments; every frame fits whole in the segment that
    owns its start (owner: the last segment starting at or before it).

    Regular segments start every ``step`` samples; the last one ends with the recording
    (``TelemetryReceiver`` decides the same segments as the samples arrive)."""
    length, step = segment_geometry(fs_hz, bit_rate_bps)
    if n <= length:
        return [(0, n)]
    starts = [*list(range(0, n - length, step)), n - length]
    return [(s, s + length) for s in starts]


def check_rates(fs_hz: float, bit_rate_bps: float) -> None:
    if bit_rate_bps not in BIT_RATES_BPS:
        raise DecodeError(
            f"bit rate {bit_rate_bps:g} bit/s is not a telemetry rate {list(BIT_RATES_BPS)}"
        )
    if fs_hz < MIN_FS_HZ:
        raise DecodeError(f"sample rate {fs_hz:g} Hz is below the {MIN_FS_HZ:g} Hz needed")
