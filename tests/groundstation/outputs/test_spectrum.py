"""The waterfall against physics: a tone's peak sits at the tone's frequency, Parseval
gives back the tone's power, complex white noise of variance σ² reads N0 = σ²/fs, and the
result does not depend on how the samples are cut into chunks.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from groundstation.io.recording import open_recording
from groundstation.io.writer import write_recording
from groundstation.outputs.spectrum import compute_waterfall, waterfall_from_recording

START = datetime(1962, 11, 4, 9, 12, 30, tzinfo=UTC)


def _noise(n: int, sigma2: float, rng: np.random.Generator) -> np.ndarray:
    scale = math.sqrt(sigma2 / 2)
    return (scale * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)


def _chunks(x: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut ``x`` at random places (chunk lengths from 1 sample to 3 segments)."""
    cuts = np.cumsum(rng.integers(1, 3000, size=x.size // 100 + 2))
    return np.split(x, cuts[cuts < x.size])


@pytest.mark.parametrize("f_tone_hz", [1000.0, -2317.3, 3990.0])
def test_tone_peaks_at_its_frequency_with_its_power(f_tone_hz: float) -> None:
    fs_hz, n_fft, amplitude = 8000.0, 1024, 0.5
    rng = np.random.default_rng(7)
    t_s = np.arange(1 << 17) / fs_hz
    x = amplitude * np.exp(2j * np.pi * (f_tone_hz * t_s + rng.uniform()))
    x = (x + _noise(x.size, 1e-4, rng)).astype(np.complex64)
    wf = compute_waterfall([x], fs_hz, n_fft=n_fft, max_rows=16)
    df_hz = fs_hz / n_fft
    assert wf.power_db.shape == (16, n_fft)
    assert wf.power_db.dtype == np.float32
    assert np.all(np.diff(wf.freqs_hz) > 0)
    peaks_hz = wf.freqs_hz[np.argmax(wf.power_db, axis=1)]
    assert np.all(np.abs(peaks_hz - f_tone_hz) <= df_hz / 2 + 1e-9)
    # Parseval: the PSD integrated over the Hann main lobe gives back A².
    k = int(np.argmax(wf.power_db[0]))
    lobe = np.arange(k - 4, k + 5) % n_fft
    power = np.sum(10 ** (wf.power_db[:, lobe] / 10), axis=1) * df_hz
    np.testing.assert_allclose(power, amplitude**2, rtol=0.01)


def test_white_noise_reads_n0() -> None:
    # σ² = N0·fs (ICD §2): every bin of the PSD reads N0. With 256 segments per row and
    # 1024 bins, the mean over a row averages ~2.6e5 exponential draws (std ≈ 0.2 %).
    fs_hz, sigma2 = 180_000.0, 0.04
    rng = np.random.default_rng(11)
    x = _noise(1 << 18, sigma2, rng)
    wf = compute_waterfall([x], fs_hz, n_fft=1024, max_rows=1)
    n0_db = 10 * math.log10(sigma2 / fs_hz)
    mean_db = 10 * math.log10(np.mean(10 ** (wf.power_db / 10)))
    assert abs(mean_db - n0_db) < 0.05
    assert wf.segments_per_row == 256


@pytest.mark.parametrize("n_samples_known", [True, False])
def test_chunked_and_one_shot_agree(n_samples_known: bool) -> None:
    fs_hz, n_fft = 8000.0, 256
    rng = np.random.default_rng(3)
    x = _noise(100_003, 1.0, rng)
    x[:5000] += 0.3 * np.exp(2j * np.pi * 700.0 * np.arange(5000) / fs_hz).astype(np.complex64)
    n = x.size if n_samples_known else None
    one = compute_waterfall([x], fs_hz, n_fft=n_fft, max_rows=7, n_samples=n)
    many = compute_waterfall(_chunks(x, rng), fs_hz, n_fft=n_fft, max_rows=7, n_samples=n)
    assert one.power_db.shape == many.power_db.shape
    assert one.segments_per_row == many.segments_per_row
    np.testing.assert_allclose(many.power_db, one.power_db, rtol=0, atol=1e-3)
    np.testing.assert_array_equal(many.times_s, one.times_s)


@pytest.mark.parametrize(("n_segments", "max_rows"), [(1, 400), (10, 3), (100, 7), (390, 400)])
def test_rows_bounded_and_times_cover_the_recording(n_segments: int, max_rows: int) -> None:
    fs_hz, n_fft = 1000.0, 64
    x = _noise(n_segments * n_fft + 17, 1.0, np.random.default_rng(n_segments))
    for n_samples in (x.size, None):
        wf = compute_waterfall([x], fs_hz, n_fft=n_fft, max_rows=max_rows, n_samples=n_samples)
        assert 1 <= wf.n_rows <= max_rows
        assert wf.segments_per_row * wf.n_rows >= n_segments
        assert wf.segments_per_row * (wf.n_rows - 1) < n_segments
        assert np.all(np.diff(wf.times_s) > 0)
        assert 0 < wf.times_s[0] and wf.times_s[-1] < n_segments * n_fft / fs_hz
        assert np.all(np.isfinite(wf.power_db))


def test_each_row_is_the_average_of_its_segments() -> None:
    # A burst in segment 5 only: with 4 segments per row it lifts row 1 by 1/4 of its power.
    fs_hz, n_fft = 1000.0, 128
    x = np.zeros(16 * n_fft, dtype=np.complex64)
    x[5 * n_fft : 6 * n_fft] = 1.0
    wf = compute_waterfall([x], fs_hz, n_fft=n_fft, max_rows=4)
    assert wf.segments_per_row == 4
    total = np.sum(10 ** (wf.power_db / 10), axis=1) * fs_hz / n_fft
    np.testing.assert_allclose(total[1], 0.25, rtol=1e-5)
    assert np.all(total[[0, 2, 3]] < 1e-20)


def test_nonfinite_samples_do_not_poison_the_waterfall() -> None:
    x = _noise(64 * 50, 1.0, np.random.default_rng(5))
    x[100] = np.nan
    x[2000] = np.inf
    wf = compute_waterfall([x], 1000.0, n_fft=64, max_rows=10)
    assert np.all(np.isfinite(wf.power_db))


def test_input_shorter_than_one_segment_gives_one_row() -> None:
    wf = compute_waterfall([np.ones(10, dtype=np.complex64)], 1000.0, n_fft=64)
    assert wf.power_db.shape == (1, 64)
    assert wf.freqs_hz[np.argmax(wf.power_db[0])] == 0.0
    empty = compute_waterfall([], 1000.0, n_fft=64)
    assert empty.power_db.shape == (0, 64)


@pytest.mark.parametrize("kwargs", [{"n_fft": 1}, {"max_rows": 0}])
def test_bad_parameters_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="must be"):
        compute_waterfall([np.zeros(8, np.complex64)], 1000.0, **kwargs)
    with pytest.raises(ValueError, match="fs_hz"):
        compute_waterfall([np.zeros(8, np.complex64)], 0.0)


def test_waterfall_from_recording_matches_the_samples(tmp_path: Path) -> None:
    fs_hz = 8000.0
    x = _noise(50_000, 0.01, np.random.default_rng(9))
    x += (0.2 * np.exp(2j * np.pi * -1500.0 * np.arange(x.size) / fs_hz)).astype(np.complex64)
    meta = write_recording(
        tmp_path / "rec",
        [x[:20_000], x[20_000:]],
        fs_hz=fs_hz,
        band="32cm-tlm",
        start_utc=START,
        center_frequency_hz=922.76e6,
    )
    recording = open_recording(meta)
    from_file = waterfall_from_recording(recording, n_fft=512, max_rows=20, chunk_samples=7777)
    direct = compute_waterfall([x], fs_hz, n_fft=512, max_rows=20, n_samples=x.size)
    np.testing.assert_allclose(from_file.power_db, direct.power_db, atol=1e-3)
    assert abs(from_file.freqs_hz[np.argmax(from_file.power_db[0])] + 1500.0) <= fs_hz / 1024
