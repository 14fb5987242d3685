"""The integer-shape gamma quantiles against scipy.special, over every shape and
probability the receivers use them with.

- :func:`signals.dsp.noise_floor` asks for the median of shape ``n_averaged``: up to 512
  averaged periodograms for the telemetry noise density, and the segments of the decode's
  waterfall (rows × segments per row, which grows with the recording) for its noise floor.
- The telemetry carrier's detection threshold asks for the upper quantile 1e-4 / cells of
  shape ``n_blocks``: at most 45 blocks in the acquisition (16 s in blocks of 0.5 s, the
  block a power of two within √2 of it), and up to ~550 in a segment's tracking (a segment of
  768 s at 1 bit/s, blocks of ~2 s within √2), for up to hundreds of millions of cells.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from signals.dsp import _median_over_mean
from signals.gamma import inverse_lower_gamma, inverse_upper_gamma, lower_gamma, upper_gamma

#: Relative error allowed against scipy (both are within a few units in the last place).
RTOL = 1e-13

#: Waterfall averages: powers of two, odd products and long recordings' counts.
LARGE_SHAPES = sorted(
    {2**k for k in range(10, 27)}
    | {int(v) for v in np.geomspace(513, 3e8, 60)}
    | {400 * 16, 399 * 16, 400 * 1024 + 7}
)
#: Cells a carrier search can hold (bins × rate hypotheses), and the ones the fixtures use.
CELLS = [1, 2, 3, 7, 64, 1000, 9216, 12800, 49664, 184712, 10**6, 3 * 10**7, 10**9]


def _close(value: float, reference: float) -> bool:
    return abs(value - reference) <= RTOL * abs(reference)


def test_median_of_every_shape_of_the_noise_density():
    bad = [
        n
        for n in range(1, 1025)
        if not _close(inverse_lower_gamma(n, 0.5), float(special.gammaincinv(n, 0.5)))
    ]
    assert bad == []


@pytest.mark.parametrize("n", LARGE_SHAPES)
def test_median_of_waterfall_averages(n):
    assert _close(inverse_lower_gamma(n, 0.5), float(special.gammaincinv(n, 0.5)))
    assert _close(_median_over_mean(n), float(special.gammaincinv(n, 0.5)) / n)


def test_median_over_mean_of_one_exponential_is_log_two():
    assert _median_over_mean(1) == math.log(2.0)
    assert _close(inverse_lower_gamma(1, 0.5), math.log(2.0))


@pytest.mark.parametrize("cells", CELLS)
def test_detection_thresholds_of_every_block_count(cells):
    q = 1e-4 / cells
    bad = [
        n
        for n in [*range(1, 101), *range(101, 700, 6)]
        if not _close(inverse_upper_gamma(n, q), float(special.gammainccinv(n, q)))
    ]
    assert bad == []


def test_tails_against_scipy_on_both_sides_of_the_mean():
    for n in (1, 2, 5, 30, 93, 512, 10**5):
        for x in (0.01 * n, 0.5 * n, n - 1.0, n - 0.3, float(n), n + math.sqrt(n), 2.0 * n):
            q, p = upper_gamma(n, x), lower_gamma(n, x)
            if float(special.gammaincc(n, x)) > 1e-200:
                assert (
                    _close(q, float(special.gammaincc(n, x)))
                    or abs(q - special.gammaincc(n, x)) < 1e-16
                )
            if float(special.gammainc(n, x)) > 1e-200:
                assert (
                    _close(p, float(special.gammainc(n, x)))
                    or abs(p - special.gammainc(n, x)) < 1e-16
                )


def test_inverse_inverts():
    rng = np.random.default_rng(7)
    for n in rng.integers(1, 3000, 40):
        for y in (1e-12, 1e-6, 0.01, 0.3, 0.5, 0.9):
            x = inverse_upper_gamma(int(n), y)
            assert abs(upper_gamma(int(n), x) / y - 1) < 1e-12
            x = inverse_lower_gamma(int(n), y)
            assert abs(lower_gamma(int(n), x) / y - 1) < 1e-12


def test_edges_and_bad_arguments():
    assert inverse_lower_gamma(4, 0.0) == 0.0
    assert inverse_lower_gamma(4, 1.0) == math.inf
    assert inverse_upper_gamma(4, 1.0) == 0.0
    assert inverse_upper_gamma(4, 0.0) == math.inf
    assert upper_gamma(3, 0.0) == 1.0 and lower_gamma(3, 0.0) == 0.0
    for bad_shape in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            inverse_lower_gamma(bad_shape, 0.5)
    for bad_p in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="within"):
            inverse_upper_gamma(3, bad_p)
