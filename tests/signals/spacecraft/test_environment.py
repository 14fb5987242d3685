"""The space environment model against its definitions: Poisson counts, L-shells, the belts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from signals.constants import EARTH_RADIUS_KM
from signals.spacecraft.environment import belt_rates_cps, l_shell, poisson_quantile


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


def test_l_shell_is_the_field_lines_equatorial_distance_in_earth_radii():
    r_km = 3.0 * EARTH_RADIUS_KM
    assert l_shell(np.array(r_km), np.array(0.0)) == pytest.approx(3.0)
    # At 60° magnetic latitude the same line crosses the equator four times as far out.
    assert l_shell(np.array(r_km), np.sin(np.radians(60.0))) == pytest.approx(12.0)


def test_belts_peak_on_the_equator_at_their_l_shells():
    shells = np.linspace(1.0, 8.0, 701)
    gas, scint = belt_rates_cps(shells * EARTH_RADIUS_KM, np.zeros(shells.size))
    peaks = shells[1:-1][(gas[1:-1] > gas[:-2]) & (gas[1:-1] > gas[2:])]
    np.testing.assert_allclose(peaks, [1.6, 4.0], atol=0.02)
    assert gas[-1] == pytest.approx(2.5, abs=0.05) and scint[-1] == pytest.approx(15.0, abs=0.2)
    # Off the equator, on the same field line, the trapped flux is lower.
    sin_lat = np.sin(np.radians(30.0))
    r_km = 1.6 * EARTH_RADIUS_KM * (1 - sin_lat**2)
    off, _ = belt_rates_cps(np.array(r_km), np.array(sin_lat))
    on, _ = belt_rates_cps(np.array(1.6 * EARTH_RADIUS_KM), np.array(0.0))
    assert 2.5 < off < on
