"""Where the PPM receiver's samples come from, and its access to them (ICD §2).

A :class:`SampleSource` is a recording or an in-memory array (:class:`ArraySource`); a
``cf32_le`` file is read through one memory-mapped window at a time
(:class:`MappedCf32Source`). :class:`SampleReader` is what the receiver's stages share: reads
padded with zeros outside the recording, the count of non-finite samples met, and the cache
of pulse filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

import numpy as np

from groundstation.receivers.ppm_detect import PulseFilter
from signals.formats.ppm import CHIP_RATE_HZ, PERIOD_CHIPS

#: Samples mapped at a time when reading a cf32_le file directly (64 MiB).
MAP_WINDOW_SAMPLES: Final = 1 << 23


class SampleSource(Protocol):
    """What the receiver reads: a recording or an array (see :class:`ArraySource`)."""

    fs_hz: float
    n_samples: int

    def read(self, start: int, count: int) -> np.ndarray:
        """``count`` complex64 samples from ``start`` (fewer at the end)."""
        ...


class ArraySource:
    """An in-memory array as a :class:`SampleSource`."""

    def __init__(self, samples: np.ndarray, fs_hz: float):
        self.samples = np.asarray(samples, dtype=np.complex64)
        self.fs_hz = float(fs_hz)
        self.n_samples = int(self.samples.size)

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples ``[start, start + count)`` clipped to the array (a view)."""
        start = max(0, int(start))
        return self.samples[start : start + max(0, int(count))]


class MappedCf32Source:
    """A ``cf32_le`` recording read through one read-only memory map at a time.

    The receiver touches the file sparsely and often; mapping a fresh window for every
    read (as :meth:`Recording.read` does) costs more than the reads. Here a window of
    :data:`MAP_WINDOW_SAMPLES` stays mapped until a read falls outside it, so the mapped
    (and resident) size stays bounded whatever the length of the recording.
    """

    def __init__(self, data_path: Any, n_samples: int, fs_hz: float, offset_bytes: int = 0):
        self.data_path = data_path
        self.n_samples = int(n_samples)
        self.fs_hz = float(fs_hz)
        self.offset_bytes = int(offset_bytes)
        self._map: np.ndarray | None = None
        self._lo = self._hi = 0

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples ``[start, start + count)`` clipped to the file (a read-only view)."""
        start = max(0, int(start))
        stop = min(start + max(0, int(count)), self.n_samples)
        if stop <= start:
            return np.zeros(0, np.complex64)
        if self._map is None or start < self._lo or stop > self._hi:
            self._map = None  # unmap the old window first
            lo = max(0, start - MAP_WINDOW_SAMPLES // 16)
            hi = min(self.n_samples, max(stop, lo + MAP_WINDOW_SAMPLES))
            mapped = np.memmap(
                self.data_path,
                dtype="<c8",
                mode="r",
                offset=self.offset_bytes + lo * 8,
                shape=(hi - lo,),
            )
            self._map, self._lo, self._hi = mapped.view(np.ndarray), lo, hi
        return self._map[start - self._lo : stop - self._lo]


def finite_samples(x: np.ndarray) -> np.ndarray:
    """``x`` itself when every sample is finite, else a copy with NaN/Inf set to zero."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    x = np.array(x)
    x[bad] = 0
    return x


class SampleReader:
    """The samples of one source as the receiver's stages read them.

    Parameters
    ----------
    source : SampleSource
        A recording or an :class:`ArraySource`.
    on_progress : callable, optional
        Called with the sample position reached, from time to time.
    """

    def __init__(self, source: SampleSource, on_progress: Callable[[int], None] | None = None):
        self.source = source
        self.fs_hz = float(source.fs_hz)
        self.n_samples = int(source.n_samples)
        #: Nominal chip and period lengths (samples).
        self.chip0 = self.fs_hz / CHIP_RATE_HZ
        self.period0 = self.chip0 * PERIOD_CHIPS
        self.on_progress = on_progress or (lambda _: None)
        #: Non-finite samples met so far.
        self.nonfinite = 0
        self._counted_to = 0
        self._filters: dict[tuple[int, int], PulseFilter] = {}
        self._carrier_sets: dict[tuple[int, int, float], np.ndarray] = {}

    def filter(self, chip_samples: float, freq_hz: float) -> PulseFilter:
        """A :class:`PulseFilter`, cached: chip to 1e-5 sample, carrier to 20 Hz (the loss
        of that rounding is below 0.001 dB)."""
        key = (round(chip_samples * 1e5), round(freq_hz / 20.0))
        filt = self._filters.get(key)
        if filt is None:
            if len(self._filters) > 512:
                self._filters.clear()
            filt = PulseFilter(key[0] * 1e-5, key[1] * 20.0, self.fs_hz)
            self._filters[key] = filt
        return filt

    def carrier_set(self, chip_samples: float, center_hz: float, step_hz: float) -> np.ndarray:
        """Weights of the filters at ``center_hz`` - step, center, + step, stacked (cached)."""
        key = (round(chip_samples * 1e5), round(center_hz / 20.0), step_hz)
        stack = self._carrier_sets.get(key)
        if stack is None:
            if len(self._carrier_sets) > 512:
                self._carrier_sets.clear()
            filters = [self.filter(chip_samples, center_hz + k * step_hz) for k in (-1, 0, 1)]
            stack = np.stack([filt.weights for filt in filters])
            self._carrier_sets[key] = stack
        return stack

    def read(self, start: int, stop: int) -> tuple[np.ndarray, int]:
        """Samples ``[start, stop)`` with zeros outside the recording; returns (x, start)."""
        lo, hi = max(start, 0), min(stop, self.n_samples)
        x = self.source.read(lo, max(hi - lo, 0)) if hi > lo else np.zeros(0, np.complex64)
        if lo != start or hi != stop or x.size != hi - lo:
            padded = np.zeros(stop - start, np.complex64)
            padded[lo - start : lo - start + x.size] = x
            x = padded
        return x, start

    def read_within(
        self, buffer: tuple[np.ndarray, int] | None, start: int, stop: int
    ) -> tuple[np.ndarray, int]:
        """``buffer`` (samples, first sample index) when it covers ``[start, stop)``, else
        :meth:`read` of that range."""
        if buffer is not None and buffer[1] <= start and stop <= buffer[1] + buffer[0].size:
            return buffer
        return self.read(start, stop)

    def count_nonfinite(self, x: np.ndarray, start: int) -> int:
        """Count non-finite samples of x (absolute start) not counted before."""
        skip = max(self._counted_to - start, 0)
        if skip < x.size:
            self.nonfinite += int(np.count_nonzero(~np.isfinite(x[skip:])))
            self._counted_to = start + x.size
        return self.nonfinite
