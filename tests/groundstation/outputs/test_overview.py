"""The waterfall every decode writes, and what the spectrum shows when nothing decodes."""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.outputs.overview import measure_spectrum, sampled_waterfall
from groundstation.outputs.spectrum import compute_waterfall


def _noise(n: int, sigma2: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = np.sqrt(sigma2 / 2)
    return (scale * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)


class _Counting:
    """An array read as a recording is, counting the samples handed out."""

    def __init__(self, x: np.ndarray):
        self.x, self.samples_read = x, 0

    def read(self, start: int, count: int) -> np.ndarray:
        out = self.x[start : start + count]
        self.samples_read += out.size
        return out


def test_white_noise_reads_n0_like_the_full_waterfall():
    fs_hz, sigma2 = 8000.0, 0.02
    x = _noise(800_000, sigma2)
    survey = sampled_waterfall(_Counting(x).read, x.size, fs_hz)
    full = compute_waterfall([x], fs_hz, n_samples=x.size)
    n0_db = 10 * np.log10(sigma2 / fs_hz)
    assert float(np.median(survey.waterfall.power_db)) == pytest.approx(n0_db, abs=1.0)
    assert float(np.median(full.power_db)) == pytest.approx(n0_db, abs=1.0)
    np.testing.assert_array_equal(survey.waterfall.freqs_hz, full.freqs_hz)


def test_a_long_recording_costs_a_bounded_read():
    n = 40_000_000
    source = _Counting(np.zeros(n, np.complex64))
    survey = sampled_waterfall(source.read, n, 180e3)
    assert source.samples_read == survey.samples_read <= 400 * 16 * 1024
    assert survey.waterfall.n_rows == 400
    times = survey.waterfall.times_s
    assert times[0] < 1.0 and times[-1] > n / 180e3 - 1.0 and np.all(np.diff(times) > 0)


def test_short_recording_and_nonfinite_samples():
    x = _noise(300, 1.0)
    x[::10] = np.nan
    survey = sampled_waterfall(_Counting(x).read, x.size, 8000.0)
    assert survey.waterfall.n_rows == 1
    assert survey.nonfinite_samples == 30
    assert np.isfinite(survey.waterfall.power_db).all()


def test_strongest_line_and_floor_inside_the_band_searched():
    fs_hz = 90_000.0
    t = np.arange(900_000) / fs_hz
    x = _noise(t.size, 0.01) + 0.3 * np.exp(2j * np.pi * 12_000.0 * t).astype(np.complex64)
    x += np.exp(2j * np.pi * 40_000.0 * t).astype(np.complex64)  # outside ±30 kHz: not searched
    wf = sampled_waterfall(_Counting(x).read, x.size, fs_hz).waterfall
    m = measure_spectrum(wf, "5cm-ppm", 5.86e9, x.size / fs_hz)
    assert m is not None
    assert m.peak_offset_hz == pytest.approx(12_000.0, abs=m.resolution_hz)
    assert m.peak_frequency_hz == pytest.approx(5.86e9 + 12_000.0, abs=m.resolution_hz)
    assert m.noise_floor_db_hz == pytest.approx(10 * np.log10(0.01 / fs_hz), abs=1.0)
    assert (m.search_lower_hz, m.search_upper_hz) == (5.86e9 - 30e3, 5.86e9 + 30e3)


@pytest.mark.parametrize("segments_per_row", [16, 5])
def test_rows_are_the_block_power_spectra_to_the_bit(segments_per_row):
    """The survey transforms a few segments at a time into work arrays it keeps: each row
    must still be block_power_spectra's average, bit for bit (NaN samples counted as 0)."""
    from signals.dsp import block_power_spectra, hann_periodic

    fs_hz, n_fft, rows = 8000.0, 1024, 4
    x = _noise(rows * segments_per_row * n_fft, 0.5, seed=3)
    x[7::1001] = np.nan
    survey = sampled_waterfall(
        _Counting(x.copy()).read, x.size, fs_hz, max_rows=rows, segments_per_row=segments_per_row
    )
    window = hann_periodic(n_fft).astype(np.float32)
    scale = fs_hz * float(np.sum(window.astype(np.float64) ** 2))
    clean = np.where(np.isfinite(x), x, 0).astype(np.complex64)
    expected = [
        block_power_spectra(row, n_fft, window=window, centred=False).mean(axis=0) / scale
        for row in clean.reshape(rows, -1)
    ]
    power_db = np.fft.fftshift(10.0 * np.log10(np.maximum(np.vstack(expected), 1e-30)), axes=-1)
    assert survey.nonfinite_samples == np.count_nonzero(~np.isfinite(x))
    assert survey.waterfall.power_db.tobytes() == power_db.astype(np.float32).tobytes()
