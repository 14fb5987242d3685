"""What every decode writes whatever it found: the waterfall and what the spectrum shows;
and the occupied band of each thing found, on its SigMF annotation.

``waterfall.png`` lets a person see the recording at once (is there a carrier, where, does
it drift, where do frames start). When the receiver finds nothing, the spectrum still
says why: the noise floor, the strongest line and where it is, and the band that was
searched (the tuned frequency ± the band's largest residual, ICD §3, §4, §6).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groundstation.outputs import figures
from groundstation.outputs.spectrum import Waterfall
from signals.bands import band as band_of
from signals.dsp import block_power_spectra, hann_periodic, noise_floor, nonfinite_to_zero


@dataclass(frozen=True)
class SpectrumMeasurement:
    """What the averaged spectrum of a recording shows inside the band searched.

    Attributes
    ----------
    noise_floor_db_hz : float
        Median power spectral density over the searched band (dB re 1 unit²/Hz: N0 of
        the recording's full-scale units).
    peak_offset_hz : float
        Frequency of the strongest bin of the averaged spectrum, from the tuned frequency
        (Hz).
    peak_frequency_hz : float
        The same, absolute (Hz).
    peak_psd_db_hz : float
        Its power spectral density (dB re 1 unit²/Hz).
    peak_above_floor_db : float
        How far it stands above the noise floor (dB).
    search_lower_hz, search_upper_hz : float
        The absolute frequencies searched (Hz): the tuned frequency ± the band's largest
        residual, clipped to the recording's bandwidth.
    duration_s : float
        The span of time searched (the whole recording, s).
    resolution_hz : float
        Width of one spectrum bin (Hz).
    """

    noise_floor_db_hz: float
    peak_offset_hz: float
    peak_frequency_hz: float
    peak_psd_db_hz: float
    peak_above_floor_db: float
    search_lower_hz: float
    search_upper_hz: float
    duration_s: float
    resolution_hz: float

    def as_dict(self) -> dict[str, float]:
        """The measurement as JSON-ready numbers."""
        return {
            "noise_floor_db_hz": round(self.noise_floor_db_hz, 2),
            "strongest_peak_offset_hz": round(self.peak_offset_hz, 1),
            "strongest_peak_frequency_hz": round(self.peak_frequency_hz, 1),
            "strongest_peak_psd_db_hz": round(self.peak_psd_db_hz, 2),
            "strongest_peak_above_floor_db": round(self.peak_above_floor_db, 2),
            "searched_lower_hz": round(self.search_lower_hz, 1),
            "searched_upper_hz": round(self.search_upper_hz, 1),
            "searched_duration_s": round(self.duration_s, 3),
            "resolution_hz": round(self.resolution_hz, 3),
        }


#: Floor of the power spectral density before taking dB (keeps silent rows finite).
_PSD_FLOOR = 1e-30


@dataclass(frozen=True)
class Survey:
    """A waterfall drawn from a sample of the recording, and what that sample held.

    Attributes
    ----------
    waterfall : Waterfall
        Rows of averaged spectra (see :func:`sampled_waterfall`).
    samples_read : int
        Samples transformed.
    nonfinite_samples : int
        NaN or Inf samples among them (counted as 0 in the spectra).
    """

    waterfall: Waterfall
    samples_read: int
    nonfinite_samples: int

    @property
    def nonfinite_fraction(self) -> float:
        """Fraction of the samples read that were NaN or Inf."""
        return self.nonfinite_samples / max(self.samples_read, 1)


def sampled_waterfall(
    read: Callable[[int, int], np.ndarray],
    n_samples: int,
    fs_hz: float,
    *,
    n_fft: int = 1024,
    max_rows: int = 400,
    segments_per_row: int = 16,
) -> Survey:
    """A waterfall of at most ``max_rows`` rows, each from a block read in its time span.

    Row ``r`` covers an equal share of the recording; up to ``segments_per_row``
    consecutive ``n_fft``-sample Hann-windowed segments from the middle of its span are
    transformed and their power averaged. A short recording is transformed whole; a long
    one costs at most ``max_rows · segments_per_row · n_fft`` samples read (6.6 million
    with the defaults), so the picture never costs more than the decode it accompanies,
    whatever the length. PSD in dB re 1 unit²/Hz, as :func:`compute_waterfall`: complex
    white noise of variance σ² reads 10·log10(σ²/fs_hz).

    Parameters
    ----------
    read : callable
        ``read(start, count)`` returning complex64 samples (a recording's ``read``).
    n_samples : int
        Number of samples.
    fs_hz : float
        Sample rate (Hz).
    n_fft : int
        Segment length and number of frequency columns.
    max_rows : int
        Largest number of rows.
    segments_per_row : int
        Largest number of segments averaged in a row.
    """
    window = hann_periodic(n_fft).astype(np.float32)
    scale = fs_hz * float(np.sum(window.astype(np.float64) ** 2))
    n_segments = n_samples // n_fft
    freqs = np.fft.fftshift(np.fft.fftfreq(n_fft, d=1.0 / fs_hz))

    def row_blocks() -> Iterator[tuple[int, int, np.ndarray]]:
        """(first segment, segments, samples shaped (segments, n_fft)) of each row, read
        when it is transformed: one row is held at a time, not the 50 MB of all of them."""
        if n_segments == 0:
            block = np.zeros(n_fft, np.complex64)
            x = read(0, n_samples)
            block[: x.size] = x
            yield 0, 1, block[np.newaxis, :]
            return
        rows = min(max_rows, n_segments)
        edges = (np.arange(rows + 1) * n_segments) // rows
        for lo, hi in itertools.pairwise(edges):
            k = int(min(segments_per_row, hi - lo))
            first = int(lo + (hi - lo - k) // 2)
            x = read(first * n_fft, k * n_fft)
            k = x.size // n_fft
            yield first, k, np.asarray(x[: k * n_fft]).reshape(k, n_fft)

    starts, counts, power_rows = [], [], []
    read_total = nonfinite = 0
    spectra = _RowSpectra(n_fft, segments_per_row, window)
    for first, k, block in row_blocks():
        starts.append(first)
        counts.append(k)
        x, bad = nonfinite_to_zero(block.ravel())
        nonfinite += bad
        read_total += x.size
        power = spectra.power(x)
        power_rows.append(power.mean(axis=0) / scale if power.size else np.zeros(n_fft))
    psd = np.vstack(power_rows)
    power_db = np.fft.fftshift(10.0 * np.log10(np.maximum(psd, _PSD_FLOOR)), axes=-1)
    times_s = (np.asarray(starts) + 0.5 * np.asarray(counts)) * n_fft / fs_hz
    wf = Waterfall(
        freqs_hz=freqs,
        times_s=times_s,
        power_db=power_db.astype(np.float32),
        segments_per_row=int(max(counts)),
    )
    return Survey(wf, read_total, nonfinite)


class _RowSpectra:
    """|FFT|² of a row's Hann-windowed segments (:func:`signals.dsp.block_power_spectra`,
    FFT order), computed in work arrays kept from row to row, a few segments per transform.

    numpy transforms a batch of segments through a temporary as large as the batch; from
    128 kB on (16 segments of 1024 complex64 samples) the C library maps it afresh at each
    call, about 100 page faults a row: as much CPU as the transforms themselves. Groups of
    :data:`_FFT_GROUP_BYTES` and work arrays allocated once per survey fault nothing. Each
    segment is transformed on its own whatever the grouping, by the same operations on the
    same types: the same bits. Where numpy's FFT writes no ``out`` (numpy 1, which
    transforms in double precision) or the samples are not ``complex64``, rows go to
    :func:`~signals.dsp.block_power_spectra` itself.
    """

    def __init__(self, n_fft: int, max_segments: int, window: np.ndarray):
        self._n_fft, self._window = n_fft, window
        shape = (max(1, max_segments), n_fft)
        self._windowed = np.empty(shape, np.complex64)
        self._spectrum = np.empty(shape, np.complex64)
        self._power = np.empty(shape, np.float32)

    def power(self, x: np.ndarray) -> np.ndarray:
        """Power per bin of each whole segment of ``x``, shape (segments, n_fft)."""
        k = x.size // self._n_fft
        if not _FFT_WRITES_OUT or x.dtype != np.complex64 or k > self._power.shape[0]:
            return block_power_spectra(x, self._n_fft, window=self._window, centred=False)
        blocks = x[: k * self._n_fft].reshape(k, self._n_fft)
        windowed = np.multiply(blocks, self._window, out=self._windowed[:k])
        spectrum = self._spectrum[:k]
        group = max(1, _FFT_GROUP_BYTES // spectrum[:1].nbytes)
        for i in range(0, k, group):
            np.fft.fft(windowed[i : i + group], axis=1, out=spectrum[i : i + group])
        power = np.abs(spectrum, out=self._power[:k])
        return np.square(power, out=power)


#: numpy 2 transforms complex64 in single precision and takes ``out``.
_FFT_WRITES_OUT = int(np.__version__.split(".")[0]) >= 2
#: Largest batch handed to one transform (bytes): under the 128 kB from which glibc's
#: allocator maps a block instead of reusing its heap.
_FFT_GROUP_BYTES = 64 * 1024


def measure_spectrum(
    wf: Waterfall, band_id: str, tuned_frequency_hz: float, duration_s: float
) -> SpectrumMeasurement | None:
    """Noise floor and strongest line of the averaged spectrum inside the searched band.

    The rows are averaged into one spectrum; the floor is the mean noise power per bin
    estimated from its median (:func:`signals.dsp.noise_floor`, which a few lines hardly
    move), the strongest line its largest bin, both within the tuned frequency ± the band's
    largest residual. Returns None when the waterfall holds no finite power.
    """
    power = np.asarray(wf.power_db, dtype=np.float64)
    if power.ndim != 2 or power.size == 0 or not np.isfinite(power).any():
        return None
    linear = np.nanmean(10.0 ** (np.where(np.isfinite(power), power, -300.0) / 10.0), axis=0)
    mean_db = 10.0 * np.log10(np.maximum(linear, 1e-300))
    freqs = np.asarray(wf.freqs_hz, dtype=np.float64)
    half = band_of(band_id).max_residual_hz
    inside = np.abs(freqs) <= half
    if not inside.any():
        inside = np.ones_like(freqs, dtype=bool)
    n_averaged = max(1, wf.n_rows * wf.segments_per_row)
    floor = 10.0 * math.log10(max(noise_floor(linear[inside], n_averaged=n_averaged), 1e-300))
    k = int(np.flatnonzero(inside)[np.argmax(mean_db[inside])])
    lower = max(-half, float(freqs[0]))
    upper = min(half, float(freqs[-1]))
    resolution = abs(float(freqs[1] - freqs[0])) if freqs.size > 1 else math.nan
    return SpectrumMeasurement(
        noise_floor_db_hz=floor,
        peak_offset_hz=float(freqs[k]),
        peak_frequency_hz=tuned_frequency_hz + float(freqs[k]),
        peak_psd_db_hz=float(mean_db[k]),
        peak_above_floor_db=float(mean_db[k]) - floor,
        search_lower_hz=tuned_frequency_hz + lower,
        search_upper_hz=tuned_frequency_hz + upper,
        duration_s=duration_s,
        resolution_hz=resolution,
    )


def write_waterfall_png(path: Path | str, wf: Waterfall, title: str) -> Path | None:
    """Draw the waterfall to ``path`` (atomically); None when there is nothing to draw
    (:func:`groundstation.outputs.figures.write_waterfall_png`)."""
    return figures.write_waterfall_png(path, wf, title)


def waterfall_caption(wf: Waterfall) -> str:
    """One sentence saying how the waterfall was made."""
    n_rows, n_fft = wf.power_db.shape
    df_hz = abs(float(wf.freqs_hz[1] - wf.freqs_hz[0])) if n_fft > 1 else 1.0
    return (
        f"{n_rows} rows, each the average of up to {wf.segments_per_row} consecutive "
        f"{n_fft}-point Hann spectra from its span ({df_hz * n_fft / 1e3:g} kHz wide, "
        f"{df_hz:.3g} Hz per bin); time runs down, frequency from the tuned frequency, "
        "colour is power spectral density."
    )
