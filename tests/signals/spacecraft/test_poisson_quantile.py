"""The Poisson inverse CDF of the flight model's particle counts, against its definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from signals.spacecraft.flight import poisson_quantile


@pytest.mark.parametrize("mean", [0.05, 2.5, 15.0, 400.0, 20_000.0])
def test_poisson_quantile_is_the_smallest_count_reaching_the_probability(mean):
    u = np.random.default_rng(7).uniform(size=5000)
    k = poisson_quantile(u, mean)
    assert np.all(k == np.round(k)) and np.all(k >= 0)
    assert np.all(stats.poisson.cdf(k, mean) >= u)
    below = k - 1
    assert np.all((below < 0) | (stats.poisson.cdf(below, mean) < u))


def test_poisson_quantile_matches_scipy_elementwise():
    rng = np.random.default_rng(1)
    u = rng.uniform(size=20_000)
    mean = rng.uniform(0.01, 3000.0, size=u.size)
    assert np.array_equal(poisson_quantile(u, mean), stats.poisson.ppf(u, mean))
