"""The carrier phase fit's compiled pieces (box car, unwrap, the fit's sums, the quadratic's
phasor) give numpy's numbers to the bit, so that the frames do not depend on numba."""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.receivers import tlm_carrier as tc
from groundstation.receivers.tlm_frontend import COMPILED, NO_NUMBA_ENV

pytestmark = pytest.mark.skipif(not COMPILED, reason="numba is not installed")


def _both(monkeypatch, f, *args):
    monkeypatch.setenv(NO_NUMBA_ENV, "1")
    ref = f(*args)
    monkeypatch.setenv(NO_NUMBA_ENV, "0")
    return ref, f(*args)


def test_pairwise_sum_is_numpys_sum() -> None:
    rng = np.random.default_rng(11)
    for n in [*range(0, 300), 1000, 1023, 3063, 16411, 100_003]:
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 4, n)
        assert tc._pairwise_sum(x) == np.sum(x), n


def test_unwrap_is_numpys(monkeypatch) -> None:
    rng = np.random.default_rng(12)
    for n in (1, 2, 7, 3072):
        p = np.cumsum(rng.standard_normal(n) * 2.5)  # jumps either side of π
        ref, got = _both(monkeypatch, tc._unwrap, p)
        assert np.array_equal(got, ref)
    # jumps of exactly ±π, ±2π and just either side (numpy's boundary rules)
    steps = np.array([0.0, np.pi, -np.pi, 2 * np.pi, -2 * np.pi, np.nextafter(np.pi, 0), 3.5])
    ref, got = _both(monkeypatch, tc._unwrap, np.cumsum(np.tile(steps, 5)))
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("width", [1, 2, 255, 256, 3000, 5000])
def test_boxcar_is_numpys(width, monkeypatch) -> None:
    rng = np.random.default_rng(width)
    x = rng.standard_normal(3063) + 1j * rng.standard_normal(3063)
    ref, got = _both(monkeypatch, tc._boxcar, x, width)
    assert np.array_equal(got, ref)


def test_carrier_phase_track_is_numpys(monkeypatch) -> None:
    """The whole phase fit and smoothing, with and without a line searched before it."""
    rng = np.random.default_rng(13)
    fs_c, n = 256.0, 3072
    t = (np.arange(n) + 0.5) / fs_c
    phase = 2 * np.pi * (0.3 * t + 0.02 * t * t) + np.cumsum(rng.standard_normal(n)) * 0.01
    c = 0.8 * np.exp(1j * phase) + 0.3 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    line = 2 * np.pi * (0.25 * t + 0.01 * t * t)
    for args in ((0.0, 0.0, None, 256), (0.25, 0.02, line, 64)):
        ref, got = _both(monkeypatch, tc._track_phase, c, t, fs_c, 1e-4, *args)
        assert np.array_equal(got.phase_rad, ref.phase_rad)
        assert (got.offset_hz, got.rate_hz_per_s, got.carrier_power, got.n0) == (
            ref.offset_hz, ref.rate_hz_per_s, ref.carrier_power, ref.n0,
        )  # fmt: skip


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_unit_phasors_are_numpys_exp(sign, monkeypatch) -> None:
    rng = np.random.default_rng(14)
    x = np.concatenate([rng.standard_normal(5000) * 10.0 ** rng.uniform(-3, 4, 5000), [0.0, -0.0]])
    ref, got = _both(monkeypatch, tc.unit_phasors, x, sign)
    assert np.array_equal(got, ref)
    assert np.array_equal(np.signbit(got.imag), np.signbit(ref.imag))  # zeros' signs too
    assert np.array_equal(got, np.exp(sign * 1j * x))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize(
    ("nfft", "n_blocks"), [(16, 1), (512, 32), (512, 70), (4096, 9), (32768, 3)]
)
def test_block_spectra_in_batches_are_each_blocks_own(dtype, nfft, n_blocks) -> None:
    """Blocks transformed a batch at a time give, to the bit, the normalised spectra of
    transforming each block alone (its median its own floor)."""
    rng = np.random.default_rng(nfft + n_blocks)
    n = nfft * n_blocks + 5
    x = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 3.0).astype(dtype)
    x[: nfft // 2] += np.exp(2j * np.pi * 0.1 * np.arange(nfft // 2)).astype(dtype) * 40
    spec, freqs, times = tc._block_spectra(x, 256.0, nfft, n_blocks, max_hz=60.0)
    keep = np.abs(np.fft.fftshift(np.fft.fftfreq(nfft, 1 / 256.0))) <= 60.0
    for k in range(n_blocks):
        block = x[k * nfft : (k + 1) * nfft]
        power = np.fft.fftshift(np.abs(np.fft.fft(block)) ** 2).astype(np.float64)
        expected = power[keep] / max(float(np.median(power)) / np.log(2.0), 1e-300)
        assert spec[k].tobytes() == expected.tobytes(), k
    assert freqs.size == spec.shape[1] and times.size == n_blocks
