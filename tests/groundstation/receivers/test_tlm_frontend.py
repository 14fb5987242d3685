"""The telemetry front end: the compiled kernels against their numpy definitions, the bins
independent of how the samples are chunked, and what the bins keep of the signal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from groundstation.receivers import tlm_frontend as fe

FS_HZ = 48000.0


@pytest.fixture
def samples() -> np.ndarray:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(300_007) + 1j * rng.standard_normal(300_007)).astype(np.complex64)
    x[[17, 40_000, 299_999]] = [np.nan, complex(np.inf, 0), complex(1, -np.inf)]
    return x


def _run(x, cuts, kernel, monkeypatch, ncos):
    monkeypatch.setenv(fe.NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
    state = fe.FrontEndState()
    edges = [0, *cuts, x.size]
    out = []
    for lo, hi in itertools.pairwise(edges):
        nco = ncos[0] if lo < ncos[1].n0 else ncos[1]
        out.append(fe.mix(x[lo:hi], lo, FS_HZ, nco, 5, 188, state))
    return [np.concatenate([o[i] for o in out]) for i in range(4)], state


@pytest.mark.skipif(fe.numba is None, reason="numba is not installed")
def test_kernel_equals_the_numpy_definition(samples, monkeypatch) -> None:
    first = fe.Nco(0, 0.4, 1234.5, -3.0)
    ncos = (first, first.moved_to(150_001, FS_HZ, 1230.0, -2.9))
    cuts = [1, 2, 777, 150_001, 200_000]
    ref, ref_state = _run(samples, cuts, "numpy", monkeypatch, ncos)
    got, state = _run(samples, cuts, "numba", monkeypatch, ncos)
    for r, g in zip(ref, got, strict=True):
        assert r.shape == g.shape
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-9 * np.max(np.abs(r)))
    assert state.nonfinite == ref_state.nonfinite == 3
    # A and B: sums of m = 5 samples; C: means of 188; the NCO phase at C's centres
    assert got[0].size == samples.size // 5 and got[2].size == samples.size // 188


def test_bins_do_not_depend_on_the_chunks(samples, monkeypatch) -> None:
    nco = fe.Nco(0, 0.0, -812.0, 0.5)
    whole, _ = _run(samples, [], "numba", monkeypatch, (nco, fe.Nco(10**9, 0, 0, 0)))
    cut, _ = _run(samples, [3, 4, 1023, 1024, 1025, 99_999], "numba", monkeypatch,
                  (nco, fe.Nco(10**9, 0, 0, 0)))  # fmt: skip
    for w, c in zip(whole, cut, strict=True):
        np.testing.assert_array_equal(w, c)


def test_bins_hold_the_subcarrier_sidebands() -> None:
    """A carrier at the NCO's frequency, phase-modulated by a 1024 Hz sine: the data bins
    give back Im(z)·exp(−jωt) summed, i.e. J1(β)·(−j)·m per bin for sin(ωt) (β = 1)."""
    from scipy.special import j1

    n = 96_000
    t = np.arange(n) / FS_HZ
    carrier = 2 * np.pi * 321.0 * t
    x = np.exp(1j * (carrier + np.sin(2 * np.pi * 1024.0 * t))).astype(np.complex64)
    state = fe.FrontEndState()
    a, b, c, _ = fe.mix(x, 0, FS_HZ, fe.Nco(0, 0.0, 321.0, 0.0), 5, 188, state)
    mix_bins = (a - np.conj(b)) / 2j
    # Im(z) = sin(sin ωt) = 2·J1(1)·sin ωt + ...: its product with exp(−jωt) averages −j·J1(1)
    assert np.mean(mix_bins) / 5 == pytest.approx(-1j * j1(1.0), abs=2e-3)
    # the carrier bins null the subcarrier: their mean is the carrier J0(1)
    from scipy.special import j0

    assert np.mean(c) == pytest.approx(j0(1.0), abs=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_grid_sums_are_sums_at_grid_to_the_bit(monkeypatch, dtype) -> None:
    """The running sums made on the way are those of the prefix array (np.cumsum's order),
    positions before, inside and past the cells; the numpy path is the same."""
    rng = np.random.default_rng(3)
    values = rng.standard_normal(5000).astype(dtype)
    if dtype == np.complex128:
        values += 1j * rng.standard_normal(5000)
    prefix = np.concatenate([[0.0], np.cumsum(values)])
    for first, step, count in ((-3.3, 1.7, 3200), (0.0, 8.0, 625), (4990.5, 0.25, 80)):
        ref = fe.sums_at_grid(prefix, values, first, step, count)
        assert np.array_equal(fe.grid_sums(values, first, step, count), ref)
        monkeypatch.setenv(fe.NO_NUMBA_ENV, "1")
        assert np.array_equal(fe.grid_sums(values, first, step, count), ref)
        monkeypatch.setenv(fe.NO_NUMBA_ENV, "0")


def test_sums_at_grid_equal_the_numpy_definition(monkeypatch) -> None:
    rng = np.random.default_rng(2)
    values = rng.standard_normal(1000)
    prefix = np.concatenate([[0.0], np.cumsum(values)])
    monkeypatch.setenv(fe.NO_NUMBA_ENV, "1")
    ref = fe.sums_at_grid(prefix, values, -3.3, 1.7, 700)
    monkeypatch.setenv(fe.NO_NUMBA_ENV, "0")
    got = fe.sums_at_grid(prefix, values, -3.3, 1.7, 700)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # a whole cell and a half: the first cell plus half the second
    assert fe.sums_at_grid(prefix, values, 1.5, 1.0, 1)[0] == pytest.approx(
        values[0] + 0.5 * values[1]
    )
    # past the last cell: the whole sum (never an index beyond the cells)
    np.testing.assert_allclose(
        fe.sums_at_grid(prefix, values, 999.5, 1.0, 3),
        [prefix[999] + 0.5 * values[999], prefix[1000], prefix[1000]],
    )
