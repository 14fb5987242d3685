"""Where the PPM receiver's samples come from, and the bounded buffer its stages read (ICD §2).

A :class:`SampleSource` is a recording or an in-memory array (:class:`ArraySource`); a
``cf32_le`` file is read with ``pread`` (:class:`Cf32FileSource`). A decode feeds the
receiver chunk after chunk from such a source, exactly as a live stream would be fed.

:class:`SampleBuffer` is what the receiver's stages share: the samples fed so far, kept from
a look-back point the receiver moves forward (acquisition re-reads up to two header copies
behind a frame-marker candidate, tracking a line behind the line it decodes), NaN/Inf samples
erased (set to zero) and counted as they are fed, and the cache of pulse filters. A stage
that reads past the samples fed before the input has ended raises :class:`NeedSamples`: the
receiver then waits for the next chunk and runs that stage again from its start, so that
the stage sees the same samples whatever the chunk boundaries were.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, Final, Protocol

import numpy as np

from groundstation.receivers.ppm_detect import PulseFilter
from groundstation.receivers.ppm_kernels import copy_finite
from signals.dsp import nonfinite_to_zero
from signals.formats.ppm import CHIP_RATE_HZ, PERIOD_CHIPS

#: Address space reserved for the samples a receiver holds (512 MiB): only
#: the part written to is ever touched (see :meth:`SampleBuffer.space`).
RESERVE_SAMPLES: Final = 1 << 26
#: Samples read from a source per chunk fed to the receiver by :func:`decode_ppm`
#: (1 MiB of cf32: a chunk read from a file is still in the caches when it is decoded).
CHUNK_SAMPLES: Final = 1 << 17


class SampleSource(Protocol):
    """What a decode reads: a recording or an array (see :class:`ArraySource`)."""

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


class Cf32FileSource:
    """A ``cf32_le`` recording read with ``pread`` into a fresh buffer, one read per request.

    Not a memory map: a data file that shrinks while it is decoded would make a mapped page
    fault with SIGBUS and kill the process. A read past the new end returns what is there;
    the decode takes it as the end of the recording, and :attr:`shrunk_at` says where it
    was cut.
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

    def read_into(self, start: int, out: np.ndarray) -> int:
        """Read samples from ``start`` into ``out`` (complex64); returns how many were read
        (fewer at the end of the file, or where it now ends)."""
        start = max(0, int(start))
        count = max(min(out.size, self.n_samples - start), 0)
        if count == 0:
            return 0
        view = memoryview(out[:count]).cast("B")
        got = os.preadv(self._fd, [view], self.offset_bytes + start * 8) // 8
        if got < count:
            end = start + got
            self.shrunk_at = end if self.shrunk_at is None else min(self.shrunk_at, end)
        return got

    def close(self) -> None:
        """Close the data file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


#: The former name of :class:`Cf32FileSource` (it has not mapped the file for a while).
MappedCf32Source = Cf32FileSource


def filter_key(chip_samples: float, freq_hz: float) -> tuple[int, int]:
    """The key a pulse filter is kept and looked up by: chip length to 10⁻⁵ sample, carrier
    to 20 Hz (the loss of that rounding is below 0.001 dB; the compiled line tracker rounds
    the same way)."""
    return round(chip_samples * 1e5), round(freq_hz / 20.0)


class NeedSamples(Exception):
    """A stage read past the samples fed; it runs again when more have come.

    Attributes
    ----------
    stop : int
        The sample index the stage needed (exclusive).
    """

    def __init__(self, stop: int):
        super().__init__(stop)
        self.stop = int(stop)


class SampleBuffer:
    """The samples fed to the receiver, as its stages read them.

    Parameters
    ----------
    fs_hz : float
        Sample rate (Hz).
    first_sample : int
        Index of the first sample fed (0: the start of the recording; later for a receiver
        that decodes a recording from its middle).
    backing : callable, optional
        ``backing(start, count)``: the same samples read again from where they came from
        (a recording). With it the buffer holds at most :attr:`hold_samples` samples and
        reads older ones (and ones before ``first_sample``) from ``backing``, so that a
        stage that waits a long time (a frame-marker candidate whose header puts its line
        markers seconds away) does not make it hold everything since. Without it (a live
        stream) it holds what the stages may read again.
    """

    def __init__(
        self,
        fs_hz: float,
        first_sample: int = 0,
        backing: Callable[[int, int], np.ndarray] | None = None,
    ):
        self.fs_hz = float(fs_hz)
        #: Nominal chip and period lengths (samples).
        self.chip0 = self.fs_hz / CHIP_RATE_HZ
        self.period0 = self.chip0 * PERIOD_CHIPS
        #: Samples fed so far (the index after the last sample fed).
        self.fed = int(first_sample)
        #: The input has ended: :attr:`fed` is the length of the recording.
        self.ended = False
        #: One past the furthest sample a stage has read or asked about since it was last
        #: set to 0 (what a candidate's verification needed: see ``PpmReceiver``).
        self.reach = 0
        self._backing = backing
        #: Most samples held with a ``backing`` (about 1000 periods, at least 4 Mi).
        self.hold_samples = max(1 << 22, math.ceil(1000 * self.period0))
        self._data = np.zeros(0, np.complex64)
        self._limit = 0  # samples of _data in use (touched) at most
        self._lo = 0  # _data[_lo:_hi] holds samples [first_held, fed)
        self._hi = 0
        self._erased: list[np.ndarray] = []  # absolute indices of NaN/Inf samples fed
        self._erased_count = 0
        self._filters: dict[tuple[int, int], PulseFilter] = {}
        self._carrier_sets: dict[tuple[int, int, float], np.ndarray] = {}

    # ------------------------------------------------------------------ samples in

    def append(self, chunk: np.ndarray) -> None:
        """Add the next samples (NaN/Inf erased to zero and counted)."""
        chunk = np.asarray(chunk, dtype=np.complex64).reshape(-1)
        if chunk.size:
            # copied and checked for NaN/Inf in one pass
            finite = copy_finite(chunk, self.space(chunk.size))
            self.commit(chunk.size, finite=finite)

    def space(self, count: int) -> np.ndarray:
        """Room for the next ``count`` samples in the buffer itself, to be written in place
        and then taken with :meth:`commit` (a file is read straight into it).

        The samples are kept in one allocation of :data:`RESERVE_SAMPLES` (address space:
        memory is only touched as it is written) from the front up to a limit that grows
        with the samples held; at the limit the samples held move to the front, into
        memory already touched. A first touch of memory is what costs (several times a
        copy), so the buffer never moves to a new allocation unless it outgrows that one.
        """
        if self._backing is not None:  # the oldest samples can be read again
            self._lo += min(max(self._hi - self._lo + count - self.hold_samples, 0), self.held)
        if self._hi + count > self._limit:
            held = self._hi - self._lo
            need = held + count
            # Half as much again as held: moves stay rare. (A very large chunk, an array
            # fed whole, gets no more than it needs.)
            limit = need + (max(need // 2, 1 << 20) if count < (1 << 22) else 1 << 16)
            if limit > self._data.size:
                data = np.empty(max(limit, RESERVE_SAMPLES), np.complex64)
                data[:held] = self._data[self._lo : self._hi]
                self._data = data
            else:
                self._data[:held] = self._data[self._lo : self._hi]
            self._lo, self._hi = 0, held
            self._limit = max(limit, self._limit)
        return self._data[self._hi : self._hi + count]

    def commit(self, count: int, *, finite: bool = False) -> None:
        """Take the first ``count`` samples written into :meth:`space` as fed (``finite``:
        they are known to hold no NaN/Inf, no need to look)."""
        stop = self._hi + count
        if not finite:
            self._erase_nonfinite(self._data[self._hi : stop], self.fed)
        self._hi = stop
        self.fed += count

    def discard_before(self, index: int) -> None:
        """Forget the samples before ``index``: no stage will read them again."""
        self._lo += min(max(int(index) - self.first_held, 0), self._hi - self._lo)
        if self._erased and self._erased[-1][-1] < index - (1 << 24):
            self._erased = []  # erasures long behind: only their count is kept

    @property
    def first_held(self) -> int:
        """Index of the oldest sample still held."""
        return self.fed - (self._hi - self._lo)

    @property
    def held(self) -> int:
        """Samples held (the look-back buffer's length)."""
        return self._hi - self._lo

    def _erase_nonfinite(self, x: np.ndarray, start: int) -> None:
        """Set NaN/Inf samples of ``x`` (a part of the buffer) to zero, noting where.

        The test is one sum (NaN and Inf propagate through it), so finite data costs one
        pass; only a chunk that holds a non-finite sample is cleaned sample by sample.
        """
        with np.errstate(invalid="ignore", over="ignore"):
            if np.isfinite(np.add.reduce(x.view(np.float32))):
                return
        bad = np.flatnonzero(~np.isfinite(x))
        if bad.size:
            nonfinite_to_zero(x, in_place=True)
            self._erased.append(bad + start)
            self._erased_count += int(bad.size)

    # ------------------------------------------------------------------ samples out

    def _known_end(self, index: float) -> bool:
        """Whether sample ``index`` lies at or after the end of the input, when known."""
        self.reach = max(self.reach, math.ceil(index) + 1)
        if index < self.fed:
            return False
        if self.ended:
            return True
        raise NeedSamples(math.ceil(index) + 1)

    def at_or_after_end(self, index: float) -> bool:
        """``index >= n`` for a recording of n samples (raises :class:`NeedSamples` while
        that is not known yet)."""
        return self._known_end(index)

    def after_end(self, index: float) -> bool:
        """``index > n`` for a recording of n samples (see :meth:`at_or_after_end`)."""
        self.reach = max(self.reach, math.ceil(index) + 1)
        if index <= self.fed:
            return False
        return self._known_end(index)

    def end_or(self, index: int) -> int:
        """``min(index, n)``: the end of the recording where it comes before ``index``."""
        return self.fed if self.after_end(index) else index

    def read(self, start: int, stop: int) -> tuple[np.ndarray, int]:
        """Samples ``[start, stop)`` with zeros outside the recording; returns (x, start).

        A read-only view of the buffer where the samples are held, else a padded copy.

        Raises
        ------
        NeedSamples
            Samples before ``stop`` have not been fed yet and the input has not ended.
        """
        start, stop = int(start), int(stop)
        self.reach = max(self.reach, stop)
        if stop > self.fed and not self.ended:
            raise NeedSamples(stop)
        lo, hi = max(start, 0), min(stop, self.fed)
        first = self.first_held
        if lo < first and hi > lo:
            if self._backing is None:
                raise RuntimeError(
                    f"PPM receiver read sample {lo}, behind its look-back buffer ({first})"
                )
            return self._read_again(start, stop, lo, hi), start
        at = self._lo - first
        if lo == start and hi == stop:
            x = self._data[at + start : at + stop].view()
            x.flags.writeable = False
            return x, start
        padded = np.zeros(max(stop - start, 0), np.complex64)
        if hi > lo:
            padded[lo - start : hi - start] = self._data[at + lo : at + hi]
        return padded, start

    def _read_again(self, start: int, stop: int, lo: int, hi: int) -> np.ndarray:
        """Samples [start, stop) read again from the backing (zeros outside [lo, hi)),
        erased as they were when fed."""
        padded = np.zeros(stop - start, np.complex64)
        again = self._backing(lo, hi - lo)
        if again.size != hi - lo:
            raise RuntimeError(f"PPM receiver could not read samples {lo}..{hi} again")
        padded[lo - start : hi - start] = again
        nonfinite_to_zero(padded, in_place=True)
        return padded

    def read_within(
        self, buffer: tuple[np.ndarray, int] | None, start: int, stop: int
    ) -> tuple[np.ndarray, int]:
        """``buffer`` (samples, first sample index) when it covers ``[start, stop)``, else
        :meth:`read` of that range."""
        if buffer is not None and buffer[1] <= start and stop <= buffer[1] + buffer[0].size:
            return buffer
        return self.read(start, stop)

    @property
    def nonfinite(self) -> int:
        """Number of NaN/Inf samples fed (and erased) so far."""
        return self._erased_count

    def erased_within(self, start: float, stop: float) -> bool:
        """Whether any erased sample lies in ``[start, stop)`` (sample indices)."""
        if not self._erased:
            return False
        if len(self._erased) > 1:
            self._erased = [np.concatenate(self._erased)]
        erased = self._erased[0]
        i = int(np.searchsorted(erased, math.floor(start)))
        return i < erased.size and erased[i] < math.ceil(stop)

    # ------------------------------------------------------------------ filters

    def filter(self, chip_samples: float, freq_hz: float) -> PulseFilter:
        """A :class:`PulseFilter`, cached by its :func:`filter_key`."""
        key = filter_key(chip_samples, freq_hz)
        filt = self._filters.get(key)
        if filt is None:
            if len(self._filters) > 512:
                self._filters.clear()
            filt = PulseFilter(key[0] * 1e-5, key[1] * 20.0, self.fs_hz)
            self._filters[key] = filt
        return filt

    def carrier_set(self, chip_samples: float, center_hz: float, step_hz: float) -> np.ndarray:
        """Weights of the filters at ``center_hz`` - step, center, + step, stacked (cached)."""
        key = (*filter_key(chip_samples, center_hz), step_hz)
        stack = self._carrier_sets.get(key)
        if stack is None:
            if len(self._carrier_sets) > 512:
                self._carrier_sets.clear()
            filters = [self.filter(chip_samples, center_hz + k * step_hz) for k in (-1, 0, 1)]
            stack = np.stack([filt.weights for filt in filters])
            self._carrier_sets[key] = stack
        return stack
