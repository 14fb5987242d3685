"""The carrier's line search sums the block spectra along each rate hypothesis exactly as
the plain formulation does: gather the (K, B) array of shifted bins and sum it over blocks."""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.receivers.tlm_carrier import _line_search, peak_offset
from groundstation.receivers.tlm_frontend import NO_NUMBA_ENV


def _gathered(power, times_s, bin_hz, rates):
    k, b = power.shape
    t_mid = 0.5 * (times_s[0] + times_s[-1])
    shifts = np.rint(np.outer(rates, times_s - t_mid) / bin_hz).astype(np.int64)
    pad = int(np.max(np.abs(shifts)))
    padded = np.pad(power, ((0, 0), (pad, pad)), constant_values=0.0)
    rows, cols = np.arange(k)[:, None], np.arange(b)[None, :]
    totals = [padded[rows, cols + pad + shifts[h][:, None]].sum(axis=0) for h in range(rates.size)]
    h = max(range(rates.size), key=lambda i: (totals[i].max(), -i))
    j = int(np.argmax(totals[h]))
    return j + peak_offset(totals[h], j), float(rates[h]), totals[h][j] / k, b * rates.size


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_line_search_is_the_gathered_sum_to_the_bit(seed, kernel, monkeypatch) -> None:
    """The compiled search and the numpy loop: both the gathered sums, to the bit."""
    monkeypatch.setenv(NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
    rng = np.random.default_rng(seed)
    k, b, bin_hz = 23, 400, 0.5
    times_s = (np.arange(k) + 0.5) * 2.0
    power = rng.exponential(1.0, (k, b))
    rate = 0.3 * (seed - 2)
    line = 200 + np.rint(rate * (times_s - times_s.mean()) / bin_hz).astype(int)
    power[np.arange(k), line] += 6.0  # a drifting carrier
    rates = np.linspace(-1.0, 1.0, 41)
    got = _line_search(power, times_s, bin_hz, rates)
    assert got == _gathered(power, times_s, bin_hz, rates)
    assert got[1] == pytest.approx(rate, abs=0.05)
