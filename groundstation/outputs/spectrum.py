"""Waterfall of a complex baseband recording: averaged power spectra over time.

The waterfall is computed in one pass over the chunks of a recording, with memory
bounded by ``max_rows × n_fft`` whatever the recording's length: the power spectra of
consecutive Hann-windowed segments are averaged into at most ``max_rows`` rows. Averaging
power (not taking the maximum) is right for the sparse 5 cm pulses as for the carriers.
The session report draws it (:func:`groundstation.outputs.figures.waterfall_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from signals.dsp import block_power_spectra, hann_periodic, nonfinite_to_zero

if TYPE_CHECKING:  # the figures' process reads Waterfall without the recording readers
    from groundstation.io.recording import Recording

#: Segments transformed together (bounds the working memory of one FFT batch).
_FFT_BATCH_SEGMENTS: Final = 256
#: Floor of the power spectral density before taking dB (keeps silent rows finite).
_PSD_FLOOR: Final = 1e-30


@dataclass(frozen=True)
class Waterfall:
    """Averaged power spectra of a recording over time.

    Attributes
    ----------
    freqs_hz : np.ndarray
        Baseband frequency of each column (Hz from the tuned frequency), ascending
        (fftshifted), shape ``(n_fft,)``.
    times_s : np.ndarray
        Centre of each row (s from the first sample), shape ``(n_rows,)``.
    power_db : np.ndarray
        Power spectral density of each row, ``float32``, shape ``(n_rows, n_fft)``, in dB
        relative to one (full-scale unit)² per Hz: complex white noise of variance σ² per
        sample reads ``10·log10(σ²/fs_hz)`` (that is, N0 in dB), whatever ``n_fft``.
    segments_per_row : int
        Consecutive ``n_fft``-sample segments averaged in each row (the last row may hold
        fewer).
    """

    freqs_hz: np.ndarray
    times_s: np.ndarray
    power_db: np.ndarray
    segments_per_row: int

    @property
    def n_rows(self) -> int:
        """Number of time rows."""
        return int(self.power_db.shape[0])


class _WaterfallAccumulator:
    """One-pass accumulation of segment power spectra into at most ``max_rows`` rows.

    Segment ``k`` (samples ``[k·n_fft, (k+1)·n_fft)``) goes to row ``k // group``. When a
    segment would need row ``max_rows``, ``group`` doubles and rows merge pairwise, so the
    result depends only on the samples, never on how they were cut into chunks.
    """

    def __init__(self, fs_hz: float, n_fft: int, max_rows: int, n_samples: int | None):
        if not (isinstance(fs_hz, int | float) and math.isfinite(fs_hz) and fs_hz > 0):
            raise ValueError(f"fs_hz must be a positive number, got {fs_hz!r}")
        if n_fft < 2:
            raise ValueError(f"n_fft must be at least 2, got {n_fft}")
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self.fs_hz = float(fs_hz)
        self.n_fft = int(n_fft)
        self.max_rows = int(max_rows)
        self.window = hann_periodic(self.n_fft).astype(np.float32)
        self.group = 1
        if n_samples is not None and n_samples > 0:
            n_segments = -(-int(n_samples) // self.n_fft)
            self.group = max(1, -(-n_segments // self.max_rows))
        self.sums = np.zeros((self.max_rows, self.n_fft), dtype=np.float64)
        self.counts = np.zeros(self.max_rows, dtype=np.int64)
        self.n_segments = 0
        self.carry = np.zeros(self.n_fft, dtype=np.complex64)
        self.n_carry = 0

    def add(self, chunk: np.ndarray) -> None:
        x = np.asarray(chunk).ravel()
        if x.size == 0:
            return
        if self.n_carry:
            take = min(self.n_fft - self.n_carry, x.size)
            self.carry[self.n_carry : self.n_carry + take] = x[:take]
            self.n_carry += take
            x = x[take:]
            if self.n_carry < self.n_fft:
                return
            self._segments(self.carry[np.newaxis, :])
            self.n_carry = 0
        n_full = x.size // self.n_fft
        batch = _FFT_BATCH_SEGMENTS * self.n_fft
        for start in range(0, n_full * self.n_fft, batch):
            stop = min(start + batch, n_full * self.n_fft)
            self._segments(x[start:stop].reshape(-1, self.n_fft))
        rest = x[n_full * self.n_fft :]
        self.carry[: rest.size] = rest
        self.n_carry = rest.size

    def _segments(self, block: np.ndarray) -> None:
        samples, _ = nonfinite_to_zero(block.astype(np.complex64, copy=False).ravel())
        power = block_power_spectra(samples, self.n_fft, window=self.window, centred=False)
        first = self.n_segments
        last = first + power.shape[0] - 1
        while last // self.group >= self.max_rows:
            self._merge()
        rows = np.arange(first, last + 1) // self.group
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        self.sums[rows[starts]] += np.add.reduceat(power, starts, axis=0, dtype=np.float64)
        self.counts[rows[starts]] += np.diff(np.r_[starts, rows.size])
        self.n_segments = last + 1

    def _merge(self) -> None:
        half = (self.max_rows + 1) // 2
        sums = np.zeros_like(self.sums)
        counts = np.zeros_like(self.counts)
        np.add.at(sums, np.arange(self.max_rows) // 2, self.sums)
        np.add.at(counts, np.arange(self.max_rows) // 2, self.counts)
        sums[half:] = 0.0
        counts[half:] = 0
        self.sums, self.counts = sums, counts
        self.group *= 2

    def result(self) -> Waterfall:
        if self.n_segments == 0 and self.n_carry:
            # Shorter than one segment: transform the zero-padded samples once.
            self.carry[self.n_carry :] = 0.0
            self._segments(self.carry[np.newaxis, :])
        n_rows = -(-self.n_segments // self.group) if self.n_segments else 0
        counts = self.counts[:n_rows]
        scale = self.fs_hz * float(np.sum(self.window.astype(np.float64) ** 2))
        psd = self.sums[:n_rows] / (counts[:, np.newaxis] * scale)
        power_db = 10.0 * np.log10(np.maximum(psd, _PSD_FLOOR))
        power_db = np.fft.fftshift(power_db, axes=-1).astype(np.float32)
        first = np.arange(n_rows) * self.group
        last = np.minimum(first + self.group, self.n_segments)
        times_s = 0.5 * (first + last) * self.n_fft / self.fs_hz
        freqs_hz = np.fft.fftshift(np.fft.fftfreq(self.n_fft, d=1.0 / self.fs_hz))
        return Waterfall(
            freqs_hz=freqs_hz,
            times_s=times_s,
            power_db=power_db,
            segments_per_row=self.group,
        )


def compute_waterfall(
    chunks: Iterable[np.ndarray],
    fs_hz: float,
    *,
    n_fft: int = 1024,
    max_rows: int = 400,
    n_samples: int | None = None,
) -> Waterfall:
    """Waterfall (averaged power spectra over time) of complex baseband chunks, in one pass.

    The samples are cut into consecutive ``n_fft``-sample segments (a trailing partial
    segment is dropped unless it is all there is), each Hann-windowed and transformed; the
    power spectra of consecutive segments are averaged into at most ``max_rows`` rows.
    Memory stays ``O(max_rows · n_fft)`` whatever the number of samples; the result does
    not depend on how the samples are split into chunks. Non-finite samples count as 0.

    Parameters
    ----------
    chunks : iterable of np.ndarray
        Consecutive complex baseband chunks (any lengths; complex64 is fastest).
    fs_hz : float
        Sample rate (complex samples per second, Hz).
    n_fft : int
        Segment length and number of frequency columns.
    max_rows : int
        Largest number of time rows.
    n_samples : int, optional
        Total number of samples when known: rows then hold ``ceil(segments / max_rows)``
        segments each. Without it the row length doubles as needed (a power of two).

    Returns
    -------
    Waterfall
        Frequencies (Hz, fftshifted), row times (s) and PSD rows (dB re 1 unit²/Hz).

    Raises
    ------
    ValueError
        ``fs_hz``, ``n_fft`` or ``max_rows`` is not positive.
    """
    accumulator = _WaterfallAccumulator(fs_hz, n_fft, max_rows, n_samples)
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator.result()


def waterfall_from_recording(
    recording: Recording,
    *,
    n_fft: int = 1024,
    max_rows: int = 400,
    chunk_samples: int = 1 << 20,
) -> Waterfall:
    """Waterfall of a whole recording, read chunk by chunk (bounded memory).

    Parameters
    ----------
    recording : Recording
        An opened recording (:func:`groundstation.io.recording.open_recording`).
    n_fft : int
        Segment length and number of frequency columns.
    max_rows : int
        Largest number of time rows.
    chunk_samples : int
        Samples read from the file at a time.

    Returns
    -------
    Waterfall
        See :func:`compute_waterfall`; times are seconds from the recording's first sample.
    """
    return compute_waterfall(
        (chunk for _, chunk in recording.chunks(chunk_samples)),
        recording.fs_hz,
        n_fft=n_fft,
        max_rows=max_rows,
        n_samples=recording.n_samples,
    )
