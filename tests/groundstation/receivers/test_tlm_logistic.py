"""The soft bits' error probabilities: the logistic function to the bit of scipy's expit,
compiled and in Python, and the undetected double-error probability it gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from groundstation.receivers import tlm_bitsync
from groundstation.receivers.compiled import COMPILED
from groundstation.receivers.tlm_bitsync import logistic, undetected_error_prob
from groundstation.receivers.tlm_frontend import NO_NUMBA_ENV
from signals.formats.tlm import FRAME_BITS, SYNC_BITS

EDGES = [
    0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-17, -1e-17, 0.5, -0.5, 1.0, -1.0,
    36.7, -36.7, 37.0, -37.0, 708.0, -708.0, 709.78, -709.78, 709.8, -709.8, 710.0, -710.0,
    745.2, -745.2, 746.0, -746.0, 1e10, -1e10, 1.7e308, -1.7e308, np.inf, -np.inf,
]  # fmt: skip


def _values() -> np.ndarray:
    rng = np.random.default_rng(1962)
    return np.concatenate(
        [
            np.array(EDGES),
            rng.standard_normal(20_000),
            rng.standard_normal(20_000) * 30.0,
            rng.uniform(-800.0, 800.0, 20_000),
            np.nextafter(709.782712893384, [-np.inf, np.inf]),
            -np.nextafter(709.782712893384, [-np.inf, np.inf]),
            rng.standard_normal(2_000) * 1e-10,
            np.exp(rng.uniform(-700, 700, 2_000)) * rng.choice([-1.0, 1.0], 2_000),
        ]
    )


@pytest.mark.parametrize("compiled", [True, False])
def test_logistic_is_scipys_expit_to_the_bit(monkeypatch, compiled):
    if compiled and not COMPILED:
        pytest.skip("numba is not installed and there is no build of the kernels")
    if not compiled:
        monkeypatch.setenv(NO_NUMBA_ENV, "1")
    x = _values()
    ours = logistic(x)
    assert ours.dtype == np.float64 and ours.shape == x.shape
    assert np.array_equal(ours.view(np.uint64), special.expit(x).view(np.uint64))
    assert np.isnan(logistic(np.array([np.nan]))).all()
    grid = x[:1000].reshape(10, 100)
    assert np.array_equal(logistic(grid), special.expit(grid))


def test_logistic_of_non_contiguous_and_integer_input():
    x = np.arange(-50, 50, dtype=np.float64)[::3]
    assert np.array_equal(logistic(x), special.expit(x))
    assert np.array_equal(logistic(np.arange(-5, 5)), special.expit(np.arange(-5.0, 5.0)))


def test_undetected_error_prob_is_the_double_error_probability_summed_over_words():
    rng = np.random.default_rng(3)
    soft = rng.standard_normal(FRAME_BITS) + 1.0
    scale = 2.0
    p = special.expit(-np.abs(soft[SYNC_BITS:]) * scale).reshape(-1, 8)
    expected = 0.0
    for word in p:
        # every pair of bit errors in a word (which its parity does not see)
        expected += sum(word[i] * word[j] for i in range(8) for j in range(i + 1, 8))
    assert undetected_error_prob(soft, scale) == pytest.approx(expected, rel=1e-12)
    assert tlm_bitsync.undetected_error_prob(np.full(FRAME_BITS, 50.0), 10.0) == 0.0
