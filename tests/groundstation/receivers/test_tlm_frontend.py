"""The telemetry front end: the compiled kernels against their numpy definitions, the bins
independent of how the samples are chunked, and what the bins keep of the signal."""

from __future__ import annotations

import itertools
import math

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


@pytest.mark.skipif(not fe.COMPILED, reason="numba is not installed")
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


def test_erasures_are_zeros_to_the_bit(samples, monkeypatch) -> None:
    """NaN/Inf samples give the bins of zeros there, bit for bit, whichever way a run of
    the kernel takes (runs with an erasure test each sample, runs without skip the test)."""
    zeros = samples.copy()
    zeros[~np.isfinite(samples)] = 0
    nco = fe.Nco(0, 0.2, 640.0, 0.3)
    ncos = (nco, fe.Nco(10**9, 0, 0, 0))
    for kernel in ("numba", "numpy") if fe.COMPILED else ("numpy",):
        got, state = _run(samples, [1000, 1024, 40_001], kernel, monkeypatch, ncos)
        ref, ref_state = _run(zeros, [1000, 1024, 40_001], kernel, monkeypatch, ncos)
        for g, r in zip(got, ref, strict=True):
            assert g.tobytes() == r.tobytes()
        assert (state.nonfinite, ref_state.nonfinite) == (3, 0)


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


def _subcarrier_one_by_one(a, b, centre0, m, cc0, m_c, rho_c, shift_cycles):
    """The compiled subcarrier products' definition, one bin after another in Python: rho
    at each carrier bin's run of data bins from np.interp's line, its phasor advanced bin
    by bin."""
    sr = math.cos(2.0 * math.pi * shift_cycles) * 0.5
    si = math.sin(2.0 * math.pi * shift_cycles) * 0.5
    n, last = a.size, rho_c.size - 1
    out = np.empty(n, np.complex128)
    j = 0
    while j < n:
        u = (centre0 + j * m - cc0) / m_c
        if u <= 0.0 or last == 0:
            k, stop_u, rho, slope = -1, 0.0, float(rho_c[0]), 0.0
        elif u >= last:
            k, stop_u, rho, slope = last, math.inf, float(rho_c[last]), 0.0
        else:
            k = int(u)
            stop_u = k + 1.0
            slope = float((rho_c[k + 1] - rho_c[k]) * m / m_c)
            rho = float(rho_c[k] + (u - k) * (rho_c[k + 1] - rho_c[k]))
        c, s = math.cos(rho), math.sin(rho)
        dc, ds = math.cos(slope), math.sin(slope)
        while j < n:
            ar, ai = float(a[j].real), float(a[j].imag)
            br, bi = float(b[j].real), float(b[j].imag)
            ur = ar * c + ai * s - (br * c + bi * s)
            ui = ai * c - ar * s + (bi * c - br * s)
            vr, vi = ui, -ur
            out[j] = complex(vr * sr - vi * si, vr * si + vi * sr)
            j += 1
            c, s = c * dc - s * ds, c * ds + s * dc
            if (centre0 + j * m - cc0) / m_c >= stop_u:
                break
    return out


@pytest.mark.skipif(not fe.COMPILED, reason="numba is not installed")
@pytest.mark.parametrize(
    ("centre0", "m", "cc0", "m_c", "n_c"),
    [
        (2.0, 5, 93.5, 188, 170),  # 48 kS/s, 64 bit/s: runs of 37 and 38 bins
        (2.0, 5, 1000.5, 188, 40),  # bins before the first carrier bin, past the last
        (2.0, 5, -10000.5, 188, 10),  # every bin past the last carrier bin
        (2.0, 5, 93.5, 188, 1),  # one carrier bin
        (0.0, 1, 15.0, 31, 200),  # 8 kS/s: runs of 31 bins
        (0.0, 1, 30.5, 100, 60),  # runs longer than the compiled kernel takes four of
        (93.0, 187, 93.5, 188, 5000),  # 1 bit/s: a run for almost every bin
    ],
)
def test_subcarrier_kernel_is_its_definition_to_the_bit(centre0, m, cc0, m_c, n_c) -> None:
    """The runs advanced side by side give the numbers of one bin after another, bit for
    bit; and the numpy definition's (exp of the interpolated phase) closely."""
    rng = np.random.default_rng(m_c + n_c)
    n = 6000
    a = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    b = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    rho_c = np.cumsum(rng.standard_normal(n_c)) + 1e3
    for size in (0, 1, 37, n):
        got = fe.subcarrier_bins(a[:size], b[:size], centre0, m, cc0, m_c, rho_c, 0.3)
        ref = _subcarrier_one_by_one(a[:size], b[:size], centre0, m, cc0, m_c, rho_c, 0.3)
        assert got.tobytes() == ref.tobytes()
    rho = np.interp(centre0 + m * np.arange(n), cc0 + m_c * np.arange(n_c), rho_c)
    np.testing.assert_allclose(got, fe.subcarrier_bins_numpy(a, b, rho, 0.3), rtol=0, atol=1e-9)


@pytest.mark.skipif(not fe.COMPILED, reason="numba is not installed")
@pytest.mark.parametrize("n", [0, 1, 1023, 4096, 4097, 13_000])
def test_matched_kernel_is_its_definition_to_the_bit(n) -> None:
    """Blocks of 1024 bins, each phasor from its closed form at the block's start and
    advanced by a recurrence: four blocks side by side give the numbers of one after
    another, bit for bit; and the numpy definition's closely."""
    rng = np.random.default_rng(n)
    mix_bins = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    t0, dt, delta, psi0 = 0.013, 5 / FS_HZ, 0.21, 1.1
    got = fe.matched_bins(mix_bins, t0, dt, delta, psi0)
    ref = np.empty(n)
    step = -2.0 * math.pi * delta * dt
    qr, qi = math.cos(step), math.sin(step)
    for j in range(n):
        if j % 1024 == 0:
            angle = -(2.0 * math.pi * delta * (t0 + j * dt) + psi0)
            pr, pi_ = math.cos(angle), math.sin(angle)
        ref[j] = -(mix_bins[j].real * pi_ + mix_bins[j].imag * pr)
        pr, pi_ = pr * qr - pi_ * qi, pr * qi + pi_ * qr
    assert got.tobytes() == ref.tobytes()
    t_s = t0 + dt * np.arange(n)
    expected = fe.matched_bins_numpy(mix_bins, t_s, delta, psi0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
