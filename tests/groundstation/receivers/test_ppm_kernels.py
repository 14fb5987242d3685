"""The compiled PPM kernels against their numpy reference, and both against the physics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groundstation.receivers import ppm_kernels as pk
from groundstation.receivers import ppm_scan as ps
from groundstation.receivers.ppm import PulseFilter, slot_decisions, slot_energies
from signals.formats.ppm import CHIP_RATE_HZ, N_LEVELS, SLOT_CHIPS

needs_numba = pytest.mark.skipif(not pk.NUMBA_AVAILABLE, reason="numba is not installed")

# Sample rates of the ICD's range: integer and non-integer samples per chip.
RATES_HZ = (90e3, 137e3, 180e3, 333.3e3)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(
        np.complex64
    )


def _periods(rng: np.random.Generator, fs_hz: float, n_periods: int):
    """Samples holding one pulse per period at a random slot, and the period starts."""
    chip = fs_hz / CHIP_RATE_HZ * (1 + 37e-6)
    period = 500 * chip
    starts = 5.0 + rng.uniform(0, 1) + period * np.arange(n_periods)
    x = _noise(rng, int(starts[-1] + period) + 64)
    grey = rng.integers(0, N_LEVELS, n_periods)
    for start, g in zip(starts, grey, strict=True):
        first = round(start + SLOT_CHIPS[g] * chip)
        x[first : first + round(chip)] += 3.0
    return x, starts, chip, grey


@needs_numba
@pytest.mark.parametrize("fs_hz", RATES_HZ)
def test_window_energies_kernel_matches_reference(fs_hz):
    rng = np.random.default_rng(int(fs_hz))
    chip = fs_hz / CHIP_RATE_HZ * (1 - 61e-6)
    filt = PulseFilter(chip, rng.uniform(-30e3, 30e3), fs_hz)
    x = _noise(rng, 5000)
    positions = rng.uniform(0, x.size - filt.taps - 1, size=(37, 5))
    positions[0, :] = np.arange(5.0)  # integer positions (fraction 0) too
    ref = pk.window_energies_numpy(x, positions, filt.weights)
    got = pk.window_energies_numba(x, positions, filt.weights)
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-6 * float(ref.max()))


@needs_numba
@pytest.mark.parametrize("fs_hz", RATES_HZ)
def test_period_decisions_kernel_matches_reference(fs_hz):
    rng = np.random.default_rng(7 + int(fs_hz))
    x, starts, chip, _ = _periods(rng, fs_hz, 60)
    x *= rng.uniform(0.1, 1.0, x.size).astype(np.float32)  # no two slots alike
    filt = PulseFilter(chip, 1234.0, fs_hz)
    offsets = SLOT_CHIPS * chip
    ref = pk.period_decisions_numpy(x, starts, offsets, filt.weights, 0.5 * chip)
    got = pk.period_decisions_numba(x, starts, offsets, filt.weights, 0.5 * chip)
    e = pk.window_energies_numpy(x, starts[:, None] + offsets[None, :], filt.weights)
    top2 = np.sort(e, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4 * top2[:, 1]  # not a tie within float rounding
    assert clear.sum() >= 55
    np.testing.assert_array_equal(got.grey[clear], ref.grey[clear])
    np.testing.assert_array_equal(got.finite, ref.finite)
    for name in ("peak", "total", "late", "early"):
        g, r = getattr(got, name)[clear], getattr(ref, name)[clear]
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-6 * float(ref.peak.max()), err_msg=name)


@needs_numba
@pytest.mark.parametrize("fs_hz", RATES_HZ)
def test_energy_sums_kernel_matches_reference(fs_hz):
    rng = np.random.default_rng(11 + int(fs_hz))
    chip = fs_hz / CHIP_RATE_HZ * (1 + 13e-6)
    x = _noise(rng, 4000)
    sets = np.stack([PulseFilter(chip, f, fs_hz).weights for f in (-6e3, 250.0, 6.25e3)])
    positions = rng.uniform(0, x.size - sets.shape[2] - 1, 300)
    ref = pk.energy_sums_numpy(x, positions, sets)
    np.testing.assert_allclose(pk.energy_sums_numba(x, positions, sets), ref, rtol=1e-5)
    # Unit-noise-gain windows: each sum is near its count (chi-square, 300 windows: ±6 %·3).
    np.testing.assert_allclose(ref / positions.size, 1.0, atol=0.2)


@needs_numba
def test_non_finite_samples_mark_their_periods_in_both():
    rng = np.random.default_rng(3)
    x, starts, chip, _ = _periods(rng, 137e3, 12)
    filt = PulseFilter(chip, 0.0, 137e3)
    offsets = SLOT_CHIPS * chip
    hit = [2, 7, 9]
    for p, bad in zip(hit, (np.nan, np.inf, -np.inf), strict=True):
        x[int(starts[p] + offsets[10]) + 1] = bad
    for decide in (pk.period_decisions_numpy, pk.period_decisions_numba):
        d = decide(x, starts, offsets, filt.weights, 0.5 * chip)
        assert np.flatnonzero(~d.finite).tolist() == hit
        for values in (d.grey, d.peak, d.total, d.late, d.early):
            assert not values[hit].any()
            assert np.isfinite(values).all()
        assert (d.total[d.finite] > 0).all()


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_windows_outside_the_samples_raise(kernel, monkeypatch):
    if kernel == "numba" and not pk.NUMBA_AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setenv(pk.NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
    filt = PulseFilter(4.0, 0.0, 180e3)
    x = np.zeros(100, np.complex64)
    for bad in (-0.5, 100.0 - filt.taps + 1):
        with pytest.raises(IndexError, match="outside"):
            pk.window_energies(x, np.array([bad]), filt.weights)
        with pytest.raises(IndexError, match="outside"):
            pk.period_decisions(x, np.array([bad]), np.zeros(1), filt.weights, 0.0)
        with pytest.raises(IndexError, match="outside"):
            pk.energy_sums(x, np.array([bad]), filt.weights[None])


def test_environment_forces_the_reference(monkeypatch):
    monkeypatch.setenv(pk.NO_NUMBA_ENV, "1")
    assert pk.active_kernel() == "numpy"
    monkeypatch.delenv(pk.NO_NUMBA_ENV)
    assert pk.active_kernel() == ("numba" if pk.NUMBA_AVAILABLE else "numpy")


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
@pytest.mark.parametrize("chip_samples", [4.0, 3.0, 2.0])
def test_aligned_pulse_gives_its_energy(kernel, chip_samples, monkeypatch):
    """Matched filter, unit noise gain: a noise-free chip of amplitude A aligned with a
    window (integer chip, carrier removed) gives |z|² = A²·chip, its slot wins, and a
    window one chip away gives 0."""
    if kernel == "numba" and not pk.NUMBA_AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setenv(pk.NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
    fs_hz = chip_samples * CHIP_RATE_HZ
    freq_hz = 2_500.0
    filt = PulseFilter(chip_samples, freq_hz, fs_hz)
    amplitude = 0.7
    grey = np.array([0, 17, 63, 40])
    period = 500 * chip_samples
    starts = 2.0 + period * np.arange(grey.size)
    n = np.arange(int(starts[-1] + period) + 16)
    x = np.zeros(n.size, np.complex64)
    for start, g in zip(starts, grey, strict=True):
        first = int(start + SLOT_CHIPS[g] * chip_samples)
        x[first : first + int(chip_samples)] = amplitude
    x *= np.exp(2j * np.pi * freq_hz / fs_hz * n).astype(np.complex64)
    # The tabulated weights put the chip 1/64 sample into its window, hence rtol 2e-3.
    d = slot_decisions(x, starts, chip_samples, filt)
    np.testing.assert_array_equal(d.grey, grey)
    assert d.finite.all()
    np.testing.assert_allclose(d.peak, amplitude**2 * chip_samples, rtol=2e-3)
    np.testing.assert_allclose(d.total, d.peak, rtol=1e-5)
    e = slot_energies(x, starts, chip_samples, filt)
    np.testing.assert_allclose(e.max(axis=1), d.peak, rtol=1e-5)
    if chip_samples % 2 == 0:
        # Half a chip off (whole samples), the window keeps half the chip:
        # |z|² = (A·chip/2)² / chip on either side (to the 1/64-sample tabulation).
        np.testing.assert_allclose(d.late, amplitude**2 * chip_samples / 4, rtol=0.05)
        np.testing.assert_allclose(d.early, amplitude**2 * chip_samples / 4, rtol=0.05)


@needs_numba
@pytest.mark.parametrize("fs_hz", [137e3, 180e3])
def test_marker_scores_kernel_matches_reference(fs_hz):
    rng = np.random.default_rng(5 + int(fs_hz))
    chip = fs_hz / CHIP_RATE_HZ
    filt = PulseFilter(chip, -800.0, fs_hz)
    x = _noise(rng, 3000)
    chips = np.array([0, 4, 13, 31]) * chip
    t0 = 700.0
    for c in chips:  # a line marker, four pulses
        x[round(t0 + c) : round(t0 + c + chip)] += 2.0
    x[2200] = np.nan
    starts = np.concatenate([t0 + np.arange(-2.0, 2.01, 0.125) * chip, [2198.2, 2100.0]])
    positions = starts[:, None] + chips[None, :]
    for pair_min in (5.0, 0.0):
        ref = pk.marker_scores_numpy(x, positions, filt.weights, 0.5, pair_min)
        got = pk.marker_scores_numba(x, positions, filt.weights, 0.5, pair_min)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    # With every pair accepted the score is the sum: a NaN sample leaves none.
    assert ref[-2] == 0.0 and ref[-1] > 0.0
    # On the marker: four pulses of energy A²·chip each, in units of the noise (σ² = 0.5).
    assert ref.max() > 4 * 4.0 * chip / 0.5 * 0.8
    assert int(np.argmax(ref)) == 16


@needs_numba
@settings(max_examples=25, deadline=None)
@given(
    chip_samples=st.floats(2.0, 12.0),
    freq_hz=st.floats(-34e3, 34e3),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernels_match_reference_for_any_chip_and_carrier(chip_samples, freq_hz, seed):
    rng = np.random.default_rng(seed)
    fs_hz = chip_samples * CHIP_RATE_HZ
    filt = PulseFilter(chip_samples, freq_hz, fs_hz)
    x = _noise(rng, 2000)
    positions = rng.uniform(0, x.size - filt.taps - 1, 64)
    ref = pk.window_energies_numpy(x, positions, filt.weights)
    np.testing.assert_allclose(
        pk.window_energies_numba(x, positions, filt.weights), ref, rtol=2e-5, atol=1e-6
    )
    sets = np.stack([filt.weights, PulseFilter(chip_samples, 0.0, fs_hz).weights])
    np.testing.assert_allclose(
        pk.energy_sums_numba(x, positions, sets),
        pk.energy_sums_numpy(x, positions, sets),
        rtol=1e-5,
    )


@needs_numba
@pytest.mark.parametrize("fs_hz", RATES_HZ)
def test_scan_hits_compiled_equal_the_reference(fs_hz):
    """The frame-marker scan: the same hits from a block holding markers (the totals to
    float32 rounding: numpy's complex product may round differently)."""
    rng = np.random.default_rng(int(fs_hz))
    chip = fs_hz / CHIP_RATE_HZ
    k = max(1, round(chip))
    offsets = np.round(np.array([0, 9, 24, 44]) * chip).astype(np.int64)
    x = _noise(rng, 20_000)
    # Markers inside tiles of the compiled scan and across the boundary of two.
    for start in (1000.3, 7000.8, 15000.1, 2 * ps.SCAN_TILE - 60.4):
        for o in (0, 9, 24, 44):
            first = round(start + o * chip)
            x[first : first + round(chip)] += 2.0 * np.exp(2j * np.pi * rng.uniform())
    freqs = np.array([-15e3, 0.0, 15e3])
    rot = np.exp(-2j * np.pi * freqs[:, None] / fs_hz * np.arange(x.size)).astype(np.complex64)
    count = x.size - int(offsets[-1]) - k - 1
    args = (x, rot, k, offsets, count, 1.0 / k, (18.0, 1.0, 5.0))
    want = ps.scan_hits_numpy(*args)
    got = ps.scan_hits_numba(*args)
    assert want[0].size >= 4
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5)


def _search_from_scores(x, t, chips, chip, filt, sigma2, span, step, scores_of):
    """The marker search written out over a scores function (the numpy path's steps)."""
    from groundstation.receivers.ppm_detect import MARKER_PAIR_MIN
    from signals.dsp import parabolic_offset

    deltas = np.arange(-span, span + 1e-9, step) * chip
    positions = (t + deltas)[:, None] + (np.asarray(chips) * chip)[None, :]
    scores = scores_of(x, positions, filt.weights, sigma2, MARKER_PAIR_MIN)
    i = int(np.argmax(scores))
    delta = deltas[i]
    if 0 < i < scores.size - 1:
        delta += parabolic_offset(scores[i - 1], scores[i], scores[i + 1]) * (deltas[1] - deltas[0])
    return t + delta, float(scores[i])


@needs_numba
@pytest.mark.parametrize("fs_hz", RATES_HZ)
def test_compiled_marker_search_equals_the_search_over_compiled_scores(fs_hz, monkeypatch):
    """A whole marker search in one compiled call: bit for bit the start and score of the
    search over the compiled marker scores (first best, float32 parabola), for one filter
    and for a carrier grid of them; the numpy search to float32 rounding of the scores."""
    from groundstation.receivers.ppm_detect import marker_search, marker_search_filters

    rng = np.random.default_rng(int(fs_hz) + 1)
    for trial in range(40):
        chip = fs_hz / CHIP_RATE_HZ * (1 + rng.uniform(-2e-4, 2e-4))
        filters = [PulseFilter(chip, f, fs_hz) for f in rng.uniform(-30e3, 30e3, 3)]
        x = _noise(rng, 3000)
        chips = (0, 9, 24, 44) if trial % 2 else (0, 4, 13, 31)
        t = rng.uniform(300, 1200)
        for c in chips:  # a marker of random strength near t
            first = int(t + c * chip + rng.uniform(-1, 1))
            x[first : first + int(chip)] += rng.uniform(0, 3) * np.exp(2j * np.pi * rng.uniform())
        sigma2 = float(rng.uniform(0.5, 2.0))
        span, step = [(0.75, 0.25), (0.5, 1 / 16), (2.0, 0.125), (1.3, 0.125)][trial % 4]
        args = (x, t, chips, chip)
        want = [
            _search_from_scores(*args, f, sigma2, span, step, pk.marker_scores_numba)
            for f in filters
        ]
        monkeypatch.setenv(pk.NO_NUMBA_ENV, "0")
        got = [marker_search(*args, f, sigma2, span, step) for f in filters]
        got_grid = marker_search_filters(*args, filters, sigma2, span, step)
        assert got == want == got_grid
        monkeypatch.setenv(pk.NO_NUMBA_ENV, "1")
        numpy_grid = marker_search_filters(*args, filters, sigma2, span, step)
        np.testing.assert_allclose(numpy_grid, want, rtol=1e-4, atol=1e-3)


@needs_numba
def test_compiled_scan_noise_floor_equals_the_median():
    """σ² of a scan block from the middle sample powers (radix selection): the same value
    as the median of all of them, with ties, zeros and odd and even lengths."""
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(1, 20_000))
        x = _noise(rng, n) * np.float32(10.0 ** rng.uniform(-3, 3))
        if trial % 5 == 0:
            x[: n // 2 + int(rng.integers(0, 3))] = 0  # a median of zero: the mean is used
        if trial % 7 == 0:
            x = np.round(x * 2).astype(np.complex64)  # many equal powers
        count = int(rng.integers(1, n + 1))
        assert ps.scan_noise_floor_numba(x, count) == ps.scan_noise_floor_numpy(x, count)


@needs_numba
def test_compiled_copy_finite_copies_and_finds_every_non_finite_value():
    """The copy into the receiver's buffer and its NaN/Inf test in one pass: the same copy
    as the reference, and False exactly when a NaN or ±Inf (real or imaginary part) is
    there; huge finite values whose sum overflows are finite (the reference's sum says
    otherwise, and its caller then finds nothing to erase)."""
    rng = np.random.default_rng(11)
    for trial in range(40):
        n = int(rng.integers(1, 5000))
        x = _noise(rng, n)
        bad = None
        if trial % 4:
            bad = int(rng.integers(0, n))
            value = (np.nan, np.inf, -np.inf)[trial % 3]
            x[bad] = complex(value, 0) if trial % 2 else complex(0, value)
        out, ref = np.empty_like(x), np.empty_like(x)
        assert pk.copy_finite_numba(x, out) == (bad is None)
        assert pk.copy_finite_numpy(x, ref) == (bad is None)
        assert out.tobytes() == ref.tobytes() == x.tobytes()
    huge = np.full(64, 3e38 + 3e38j, np.complex64)
    assert pk.copy_finite_numba(huge, np.empty_like(huge))
    with pytest.raises(ValueError):
        pk.copy_finite_numba(huge, np.empty(63, np.complex64))
