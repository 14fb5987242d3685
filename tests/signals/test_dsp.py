"""The shared DSP helpers against what they estimate: vertices, tones, noise levels, runs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from signals.dsp import (
    block_power_spectra,
    noise_floor,
    nonfinite_to_zero,
    parabolic_offset,
    rechunk,
    true_runs,
)


@pytest.mark.parametrize("vertex", [-0.5, -0.31, 0.0, 0.2, 0.49])
def test_parabolic_offset_finds_a_parabolas_vertex(vertex):
    y = [3.0 - 2.0 * (k - vertex) ** 2 for k in (-1, 0, 1)]
    assert parabolic_offset(*y) == pytest.approx(vertex, abs=1e-12)


def test_parabolic_offset_refines_a_tone_between_bins():
    # Log-power of a Gaussian-windowed tone is a parabola in frequency: exact recovery.
    n, f_bins = 256, 37.3
    t = np.arange(n)
    window = np.exp(-0.5 * ((t - n / 2) / (n / 8)) ** 2)
    power = np.abs(np.fft.fft(window * np.exp(2j * np.pi * f_bins * t / n))) ** 2
    k = int(np.argmax(power))
    estimate = k + parabolic_offset(*np.log(power[k - 1 : k + 2]))
    assert estimate == pytest.approx(f_bins, abs=1e-3)


def test_parabolic_offset_without_a_maximum_is_zero():
    assert parabolic_offset(1.0, 1.0, 1.0) == 0.0
    assert parabolic_offset(2.0, 1.0, 3.0) == 0.0  # a valley
    assert parabolic_offset(0.0, 1.0, 2.0) == 0.0  # a straight line


def test_parabolic_offset_is_clipped_to_the_span_of_its_samples():
    # The centre is a probe below its right neighbour: the vertex (at +1.5) is beyond it.
    assert parabolic_offset(-1.0, 1.0, 1.0 + 2.0 / 3.0) == pytest.approx(1.0)
    assert parabolic_offset(1.0 + 2.0 / 3.0, 1.0, -1.0) == pytest.approx(-1.0)


def test_parabolic_offset_is_element_wise_on_arrays():
    out = parabolic_offset(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0]))
    assert isinstance(out, np.ndarray)
    assert out.tolist() == [0.0, 0.0]
    assert isinstance(parabolic_offset(0.0, 1.0, 0.5), float)


def test_block_power_spectra_puts_a_tone_in_its_bin():
    n_fft, fs_hz, tone_hz = 64, 6400.0, 700.0  # bin 7
    t = np.arange(10 * n_fft + 5) / fs_hz
    x = np.exp(2j * np.pi * tone_hz * t).astype(np.complex64)
    power = block_power_spectra(x, n_fft)
    assert power.shape == (10, n_fft)
    freqs = np.fft.fftshift(np.fft.fftfreq(n_fft, 1.0 / fs_hz))
    assert np.all(freqs[np.argmax(power, axis=1)] == tone_hz)
    assert power.max() == pytest.approx(n_fft**2, rel=1e-4)
    unshifted = block_power_spectra(x, n_fft, centred=False)
    assert np.all(np.argmax(unshifted, axis=1) == 7)


def test_block_power_spectra_noise_level_and_block_selection():
    rng = np.random.default_rng(5)
    n_fft, sigma2 = 128, 3.0
    x = np.sqrt(sigma2 / 2) * (
        rng.standard_normal(400 * n_fft) + 1j * rng.standard_normal(400 * n_fft)
    )
    window = np.hanning(n_fft)
    power = block_power_spectra(x, n_fft, window=window, max_blocks=100)
    assert power.shape == (100, n_fft)
    expected = sigma2 * np.sum(window**2)
    assert power.mean() == pytest.approx(expected, rel=0.03)


@pytest.mark.parametrize("n_averaged", [1, 4, 32])
def test_noise_floor_estimates_the_mean_of_averaged_exponentials(n_averaged):
    rng = np.random.default_rng(n_averaged)
    mean = 2.5
    power = rng.exponential(mean, size=(200_000, n_averaged)).mean(axis=1)
    power[:2000] += 1e3  # a few strong signals hardly move the median
    assert noise_floor(power, n_averaged=n_averaged) == pytest.approx(mean, rel=0.01)


def test_noise_floor_uses_the_exact_median_of_the_gamma_distribution():
    assert noise_floor([math.log(2.0)]) == 1.0
    for k in (2, 7, 100):
        median = stats.gamma(a=k, scale=1.0 / k).median()
        assert noise_floor([median], n_averaged=k) == pytest.approx(1.0, rel=1e-12)


def test_noise_floor_along_an_axis():
    power = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    floors = noise_floor(power, axis=1, keepdims=True)
    assert floors.shape == (2, 1)
    assert floors[:, 0] == pytest.approx(np.array([2.0, 20.0]) / math.log(2.0))
    with pytest.raises(ValueError, match="at least 1"):
        noise_floor(power, n_averaged=0)


def test_nonfinite_to_zero_copies_only_when_needed():
    x = np.array([1 + 1j, np.nan, 2, np.inf * 1j], dtype=np.complex64)
    clean, count = nonfinite_to_zero(x)
    assert count == 2
    assert clean.tolist() == [1 + 1j, 0, 2, 0]
    assert clean.dtype == np.complex64
    assert np.isnan(x[1])  # the input is untouched
    finite = np.ones(4)
    same, count = nonfinite_to_zero(finite)
    assert same is finite and count == 0


def test_nonfinite_to_zero_in_place():
    x = np.array([np.nan, 1.0, -np.inf])
    out, count = nonfinite_to_zero(x, in_place=True)
    assert out is x and count == 2
    assert x.tolist() == [0.0, 1.0, 0.0]


def test_true_runs_by_hand():
    assert true_runs([0, 1, 1, 0, 1]).tolist() == [[1, 3], [4, 5]]
    assert true_runs([True, True]).tolist() == [[0, 2]]
    assert true_runs([False, False]).shape == (0, 2)
    assert true_runs([]).shape == (0, 2)
    with pytest.raises(ValueError, match="1-D"):
        true_runs(np.zeros((2, 2)))


@given(st.lists(st.booleans(), max_size=60))
def test_true_runs_rebuild_the_condition(condition):
    runs = true_runs(condition)
    rebuilt = np.zeros(len(condition), dtype=bool)
    for start, stop in runs:
        assert start < stop
        assert not rebuilt[start:stop].any()
        rebuilt[start:stop] = True
    assert rebuilt.tolist() == condition
    # Runs are maximal: separated by at least one false value.
    assert np.all(runs[1:, 0] > runs[:-1, 1])


@given(
    st.lists(st.integers(0, 40), max_size=12),
    st.integers(1, 50),
)
def test_rechunk_cuts_any_blocks_into_equal_chunks_of_the_same_samples(lengths, chunk_samples):
    edges = np.cumsum([0, *lengths])
    stream = np.arange(edges[-1], dtype=np.float32).astype(np.complex64)
    blocks = [stream[a:b] for a, b in itertools.pairwise(edges)]
    chunks = list(rechunk(iter(blocks), chunk_samples))
    assert [c.size for c in chunks[:-1]] == [chunk_samples] * (len(chunks) - 1)
    assert all(0 < c.size <= chunk_samples for c in chunks)
    joined = np.concatenate([np.zeros(0, np.complex64), *chunks])
    assert joined.dtype == np.complex64 and joined.tobytes() == stream.tobytes()


def test_rechunk_yields_copies_and_refuses_an_empty_chunk():
    block = np.arange(6)
    first = next(rechunk([block], 4))
    first[0] = 99
    assert block[0] == 0
    with pytest.raises(ValueError, match="at least 1"):
        next(rechunk([block], 0))
