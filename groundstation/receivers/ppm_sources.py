"""Where the PPM receiver's samples come from, and its access to them (ICD §2).

A :class:`SampleSource` is a recording or an in-memory array (:class:`ArraySource`); a
``cf32_le`` file is read with ``pread`` (:class:`MappedCf32Source`). :class:`SampleReader` is
what the receiver's stages share: reads padded with zeros outside the recording, NaN/Inf
samples erased (set to zero) wherever they fall and counted, and the cache of pulse filters.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, Final, Protocol

import numpy as np

from groundstation.receivers.ppm_detect import PulseFilter
from signals.formats.ppm import CHIP_RATE_HZ, PERIOD_CHIPS

#: Samples mapped at a time when reading a cf32_le file directly (64 MiB); kept for the
#: callers that size reads by it (the file itself is read with pread, not mapped).
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
    """A ``cf32_le`` recording read with ``pread`` into a fresh buffer, one read per request.

    Not a memory map: a data file that shrinks while it is decoded would make a mapped page
    fault with SIGBUS and kill the process. A read past the new end returns what is there;
    the receiver takes the rest as the end of the recording, and :attr:`shrunk_at` says
    where it was cut.
    """

    def __init__(self, data_path: Any, n_samples: int, fs_hz: float, offset_bytes: int = 0):
        self.data_path = data_path
        self.n_samples = int(n_samples)
        self.fs_hz = float(fs_hz)
        self.offset_bytes = int(offset_bytes)
        self.shrunk_at: int | None = None
        self._fd = os.open(data_path, os.O_RDONLY)

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples ``[start, start + count)`` clipped to the file (a fresh array)."""
        start = max(0, int(start))
        stop = min(start + max(0, int(count)), self.n_samples)
        if stop <= start:
            return np.zeros(0, np.complex64)
        out = np.empty(stop - start, np.complex64)
        got = os.preadv(self._fd, [memoryview(out).cast("B")], self.offset_bytes + start * 8)
        if got < out.nbytes:
            end = start + got // 8
            self.shrunk_at = end if self.shrunk_at is None else min(self.shrunk_at, end)
            return out[: got // 8]
        return out

    def close(self) -> None:
        """Close the data file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


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
        self._erased: list[np.ndarray] = []  # absolute indices of NaN/Inf samples read
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
        x = self._erase_nonfinite(x, lo)
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

    def _erase_nonfinite(self, x: np.ndarray, start: int) -> np.ndarray:
        """``x`` with NaN/Inf samples set to zero (erasures), noting where they were.

        Every read goes through here, so a non-finite sample is an erasure wherever it
        falls: the decode is that of the same recording with zeros there. The test is one
        sum (NaN and Inf propagate through it), so finite data costs one pass.
        """
        if x.size == 0:
            return x
        with np.errstate(invalid="ignore", over="ignore"):
            if np.isfinite(np.add.reduce(x.view(np.float32))):
                return x
        bad = ~np.isfinite(x)
        if not bad.any():  # the sum overflowed: large but finite samples
            return x
        self._erased.append(np.flatnonzero(bad) + start)
        x = np.array(x)
        x[bad] = 0
        return x

    @property
    def nonfinite(self) -> int:
        """Number of distinct NaN/Inf samples read (and erased) so far."""
        self._merge_erased()
        return int(self._erased[0].size) if self._erased else 0

    def _merge_erased(self) -> None:
        if len(self._erased) > 1:
            self._erased = [np.unique(np.concatenate(self._erased))]

    def erased_within(self, start: float, stop: float) -> bool:
        """Whether any erased sample lies in ``[start, stop)`` (sample indices)."""
        if not self._erased:
            return False
        self._merge_erased()
        erased = self._erased[0]
        i = int(np.searchsorted(erased, math.floor(start)))
        return i < erased.size and erased[i] < math.ceil(stop)
