"""Telemetry front end (ICD §4): the one pass over the samples at their full rate.

Every sample is derotated by a numerically controlled oscillator (NCO) that follows the
acquired carrier, ``z = x·exp(−j·φ_nco)``, and summed into three streams of bins:

- carrier bins, means of ``m_c`` samples (about 256 Hz; the box car nulls the 1024 Hz
  subcarrier): ``C_k = mean z``, with the NCO phase at each bin's centre;
- data bins of ``m`` samples (a few per subcarrier cycle, or more at a few bit/s):
  ``A_j = Σ z·exp(−j·ω·t)`` and ``B_j = Σ z·exp(+j·ω·t)``, ω = 2π·1024 Hz, t = n / fs.

The data bins lose nothing the matched filter needs: Im(z)·sin θ over any span of whole bins
is −Im(Σ (A − conj(B))/(2j) · exp(−j(θ − ω·t))) as long as θ − ω·t and the carrier's
residual phase hold still over a bin (the subcarrier's clock error turns θ − ω·t by at most
2π·0.25 Hz per second). The back end (:mod:`~groundstation.receivers.tlm`) works on the bins
only: at 48 kS/s and 64 bit/s they are 3 complex values per 5 samples.

The NCO's phase is a quadratic piece per update, φ(n) = φ0 + 2π·(f·τ + ½·ḟ·τ²) with
τ = (n − n0) / fs; it advances by a recursive phasor, re-seeded from the closed form every
:data:`RESEED` samples. The compiled kernel (numba, cached beside this module) is the one
the receiver runs; :func:`mix_numpy` is the definition it is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from groundstation.receivers.compiled import COMPILED, active_kernel, kernel
from groundstation.receivers.compiled import NO_NUMBA_ENV as NO_NUMBA_ENV  # re-exported
from signals.dsp import nonfinite_to_zero

#: Samples between two re-seeds of the recursive phasors from their closed forms.
RESEED: Final = 1024


@dataclass
class Nco:
    """The NCO's current quadratic piece: φ(n) = phase0_rad + 2π·(f·τ + ½·ḟ·τ²), τ = (n − n0)/fs."""

    n0: int
    phase0_rad: float
    frequency_hz: float
    rate_hz_per_s: float

    def phase_rad(self, n: np.ndarray | float, fs_hz: float) -> np.ndarray | float:
        """Phase at sample index ``n`` (absolute; fractional allowed)."""
        tau = (np.asarray(n, dtype=np.float64) - self.n0) / fs_hz
        return self.phase0_rad + 2 * np.pi * (
            self.frequency_hz * tau + 0.5 * self.rate_hz_per_s * tau * tau
        )

    def moved_to(self, n: int, fs_hz: float, frequency_hz: float, rate_hz_per_s: float) -> Nco:
        """A new piece from sample ``n`` on, continuing this one's phase there (not reduced
        modulo 2π: the phase of the bins stays continuous across pieces)."""
        phase = float(self.phase_rad(n, fs_hz))
        return Nco(int(n), phase, float(frequency_hz), float(rate_hz_per_s))


class FrontEndState:
    """What the pass carries from one chunk to the next: partial bin sums and the phasors.

    NaN and Inf samples are read as 0 (erasures) and counted in ``nonfinite``. The phasors
    are re-seeded from their closed forms at every multiple of :data:`RESEED`
    samples (absolute) and where an NCO piece starts, never where a chunk happens to
    start: the bins are the same, to the last bit, however the samples are chunked.
    """

    def __init__(self) -> None:
        # partial sums of the bins under way: A, B, C (re, im each)
        self.acc = np.zeros(6, np.float64)
        # NCO phasor, its step, exp(jωt): (re, im) each, valid at sample next_n
        self.phasors = np.zeros(6, np.float64)
        self.next_n = -1
        self.nco: Nco | None = None
        #: NaN/Inf samples met (read as 0).
        self.nonfinite = 0


def _outputs(n_first: int, count: int, m: int, m_c: int) -> tuple[int, int]:
    """Numbers of data and carrier bins completed by samples [n_first, n_first + count)."""
    end = n_first + count
    return end // m - n_first // m, end // m_c - n_first // m_c


def mix_numpy(
    x: np.ndarray, n_first: int, fs_hz: float, nco: Nco, m: int, m_c: int, state: FrontEndState
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The reference pass: the bins completed by ``x`` (samples from index ``n_first``;
    NaN/Inf read as 0 and counted in ``state.nonfinite``).

    Returns
    -------
    (A, B, C, nco_phase_c)
        Data bins A and B (complex128), carrier bins C (means, complex128) and the NCO phase
        at each carrier bin's centre (rad).
    """
    n = n_first + np.arange(x.size)
    phase = nco.phase_rad(n, fs_hz)
    x, bad = nonfinite_to_zero(x)
    state.nonfinite += bad
    z = x.astype(np.complex128) * np.exp(-1j * phase)
    u = np.exp(1j * 2 * np.pi * ((1024.0 * n / fs_hz) % 1.0))
    acc = state.acc
    outs = []
    for terms, size, slot in ((z * np.conj(u), m, 0), (z * u, m, 2), (z, m_c, 4)):
        bins = n // size - n_first // size
        sums = np.bincount(bins, terms.real, bins[-1] + 1 if x.size else 1) + 1j * np.bincount(
            bins, terms.imag, bins[-1] + 1 if x.size else 1
        )
        sums[0] += acc[slot] + 1j * acc[slot + 1]
        done = (n_first + x.size) // size - n_first // size
        partial = sums[done] if done < sums.size else 0j
        acc[slot], acc[slot + 1] = partial.real, partial.imag
        outs.append(sums[:done])
    a_bins, b_bins, c_sums = outs
    k_end = (n_first + x.size) // m_c
    centres = (np.arange(k_end - c_sums.size, k_end) + 0.5) * m_c - 0.5
    return a_bins, b_bins, c_sums / m_c, np.asarray(nco.phase_rad(centres, fs_hz))


if COMPILED:

    @kernel(
        "f4[::1], i8, f8, i8, f8, f8, f8, i8, i8, f8[::1], f8[::1], b1,"
        " c16[::1], c16[::1], c16[::1], f8[::1]",
    )
    def _mix_kernel(  # pragma: no cover - compiled
        xr, n_first, fs, n0, ph0, f, r, m, m_c, acc, phasors, cont,
        out_a, out_b, out_c, out_ph,
    ):  # fmt: skip
        two_pi = 2.0 * math.pi
        q_ang = two_pi * r / (fs * fs)
        qr, qi = math.cos(q_ang), math.sin(q_ang)
        sc_step = two_pi * 1024.0 / fs
        vr, vi = math.cos(sc_step), math.sin(sc_step)
        ar, ai, br, bi, cr, ci = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5]
        pr, pi_, sr, si, ur, ui = (
            phasors[0],
            phasors[1],
            phasors[2],
            phasors[3],
            phasors[4],
            phasors[5],
        )
        ja = 0
        jc = 0
        count = xr.shape[0] // 2
        seed = not cont
        bad = 0
        # samples left in the data bin and in the carrier bin under way (no modulo per sample)
        left_a = m - n_first % m
        left_c = m_c - n_first % m_c
        i = 0
        while i < count:
            n = n_first + i
            if seed or n % 1024 == 0:
                # the phasors from their closed forms
                tau = (n - n0) / fs
                cyc = f * tau + 0.5 * r * tau * tau
                cyc -= math.floor(cyc)
                ang = ph0 + two_pi * cyc
                pr, pi_ = math.cos(ang), math.sin(ang)  # NCO phasor
                step_ang = two_pi * (f + r * (tau + 0.5 / fs)) / fs
                sr, si = math.cos(step_ang), math.sin(step_ang)  # its step
                sc_cyc = 1024.0 * n / fs
                sc_cyc -= math.floor(sc_cyc)
                ur, ui = math.cos(two_pi * sc_cyc), math.sin(two_pi * sc_cyc)  # exp(jωt)
                seed = False
            stop = min(count, i + 1024 - n % 1024)
            # erasures in this run, counted first (a loop the compiler vectorises): a run
            # without any skips the test per sample (the loop is compiled twice)
            erasures = 0
            for k in range(2 * i, 2 * stop):
                if not math.isfinite(xr[np.uint64(k)]):
                    erasures += 1
            while i < stop:
                xre = xr[2 * i]
                xim = xr[2 * i + 1]
                if erasures and not (math.isfinite(xre) and math.isfinite(xim)):
                    xre = xim = 0.0  # an erasure
                    bad += 1
                # z = x·conj(p)
                zr = xre * pr + xim * pi_
                zi = xim * pr - xre * pi_
                cr += zr
                ci += zi
                # A += z·conj(u), B += z·u
                zur = zr * ur
                zii = zi * ui
                ziu = zi * ur
                zri = zr * ui
                ar += zur + zii
                ai += ziu - zri
                br += zur - zii
                bi += ziu + zri
                i += 1
                left_a -= 1
                if left_a == 0:
                    out_a[ja] = complex(ar, ai)
                    out_b[ja] = complex(br, bi)
                    ja += 1
                    ar = ai = br = bi = 0.0
                    left_a = m
                left_c -= 1
                if left_c == 0:
                    out_c[jc] = complex(cr / m_c, ci / m_c)
                    centre = n_first + i - 0.5 * m_c - 0.5
                    tc = (centre - n0) / fs
                    out_ph[jc] = ph0 + two_pi * (f * tc + 0.5 * r * tc * tc)
                    jc += 1
                    cr = ci = 0.0
                    left_c = m_c
                # advance the phasors
                pr, pi_ = pr * sr - pi_ * si, pr * si + pi_ * sr
                sr, si = sr * qr - si * qi, sr * qi + si * qr
                ur, ui = ur * vr - ui * vi, ur * vi + ui * vr
        acc[0], acc[1], acc[2], acc[3], acc[4], acc[5] = ar, ai, br, bi, cr, ci
        phasors[0], phasors[1], phasors[2], phasors[3], phasors[4], phasors[5] = (
            pr,
            pi_,
            sr,
            si,
            ur,
            ui,
        )
        return bad


def mix(
    x: np.ndarray, n_first: int, fs_hz: float, nco: Nco, m: int, m_c: int, state: FrontEndState
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Derotate ``x`` (complex64, samples from index ``n_first``) by ``nco`` and return the
    bins it completes: (A, B, C, NCO phase at the C bins' centres); see the module docstring.
    NaN/Inf samples are erasures, read as 0 and counted in ``state.nonfinite``.
    """
    if active_kernel() == "numpy":
        return mix_numpy(x, n_first, fs_hz, nco, m, m_c, state)
    x = np.ascontiguousarray(x, dtype=np.complex64)
    n_a, n_c = _outputs(n_first, x.size, m, m_c)
    out_a = np.empty(n_a, np.complex128)
    out_b = np.empty(n_a, np.complex128)
    out_c = np.empty(n_c, np.complex128)
    out_ph = np.empty(n_c, np.float64)
    cont = state.next_n == n_first and state.nco is nco
    state.nonfinite += _mix_kernel(
        x.view(np.float32), int(n_first), float(fs_hz), int(nco.n0), float(nco.phase0_rad),
        float(nco.frequency_hz), float(nco.rate_hz_per_s), int(m), int(m_c), state.acc,
        state.phasors, cont, out_a, out_b, out_c, out_ph,
    )  # fmt: skip
    state.next_n = int(n_first) + x.size
    state.nco = nco
    return out_a, out_b, out_c, out_ph


# ------------------------------------------------------------------ the data bins' products
def subcarrier_bins_numpy(
    a: np.ndarray, b: np.ndarray, rho: np.ndarray, shift_cycles: float
) -> np.ndarray:
    """Bins of Im(z·exp(−jρ))·exp(−jω·(t − t_a)) from the data bins ``a``, ``b`` and the
    carrier phase ``rho`` the NCO left at each bin (rad); ``shift_cycles`` = 1024·t_a mod 1."""
    turn = np.exp(-1j * rho)
    shift = np.exp(2j * np.pi * shift_cycles)
    return (a * turn - np.conj(b * turn)) * (shift / 2j)


def matched_bins_numpy(mix_bins: np.ndarray, t_s: np.ndarray, delta_hz: float, psi0: float):
    """Bins of Im(z)·sin θ̂, θ̂ = ω·t + 2π·δ·t + ψ0, from the subcarrier bins (times ``t_s``
    of their centres from the segment's start, s)."""
    return -np.imag(mix_bins * np.exp(-1j * (2 * np.pi * delta_hz * t_s + psi0)))


if COMPILED:

    @kernel()
    def _subcarrier_run(j, n, centre0, m, cc0, m_c, rho_c):  # pragma: no cover - compiled
        # The run of data bins from j whose phasor advances by one constant step: those in
        # the same carrier bin (rho linear between the carrier bins' centres, np.interp;
        # constant beyond the ends, one bin at a time before the first). Returns its end
        # and cos, sin of rho at bin j and of the step.
        last = rho_c.shape[0] - 1
        u = (centre0 + j * m - cc0) / m_c
        if u <= 0.0 or last == 0:
            k = -1
            stop_u = 0.0
        elif u >= last:
            k = last
            stop_u = np.inf
        else:
            k = int(u)  # u > 0: truncation is the floor
            stop_u = k + 1.0
        if k < 0:
            rho, slope = rho_c[0], 0.0
        elif k >= last:
            rho, slope = rho_c[last], 0.0
        else:
            slope = (rho_c[k + 1] - rho_c[k]) * m / m_c
            rho = rho_c[k] + (u - k) * (rho_c[k + 1] - rho_c[k])
        # the run ends at the first bin after j whose position reaches stop_u (or at n);
        # positions only grow with the bin, so the estimate is moved to the exact bin
        if stop_u < np.inf:
            est = math.ceil((stop_u * m_c + cc0 - centre0) / m)
            stop = j + 1 if est <= j + 1 else (n if est >= n else int(est))
            while stop > j + 1 and (centre0 + (stop - 1) * m - cc0) / m_c >= stop_u:
                stop -= 1
            while stop < n and (centre0 + stop * m - cc0) / m_c < stop_u:
                stop += 1
        else:
            stop = n
        return stop, math.cos(rho), math.sin(rho), math.cos(slope), math.sin(slope)

    @kernel()
    def _subcarrier_products(a, b, c, s, lo, hi, sr, si, out):  # pragma: no cover - compiled
        # bins lo … hi − 1 with the phasor (c, s) of each: a·e^{−jρ} − conj(b·e^{−jρ}),
        # times shift / 2j = (shift/2)·(−j). Unsigned indices: no wraparound test, so the
        # loop is vectorised (the same operations on each bin).
        for j0 in range(lo, hi):
            j = np.uint64(j0)
            k = np.uint64(j0 - lo)
            ar, ai = a[j].real, a[j].imag
            br, bi = b[j].real, b[j].imag
            ur = ar * c[k] + ai * s[k] - (br * c[k] + bi * s[k])
            ui = ai * c[k] - ar * s[k] + (bi * c[k] - br * s[k])
            vr, vi = ui, -ur
            out[j] = complex(vr * sr - vi * si, vr * si + vi * sr)

    @kernel(
        "c8[::1], c8[::1], f8, i8, f8, i8, f8[::1], f8, c16[::1]",
        "c16[::1], c16[::1], f8, i8, f8, i8, f8[::1], f8, c16[::1]",
    )
    def _subcarrier_kernel(
        a, b, centre0, m, cc0, m_c, rho_c, shift_cycles, out
    ):  # pragma: no cover - compiled
        # rho at a bin centre: linear between the carrier bins' centres (np.interp),
        # so its phasor advances by a constant step within each carrier bin. The phasors
        # of up to four runs are advanced side by side (each its own recurrence, the same
        # numbers as one run after another), then the products made for all their bins.
        sr = math.cos(2.0 * math.pi * shift_cycles) * 0.5
        si = math.sin(2.0 * math.pi * shift_cycles) * 0.5
        n = a.shape[0]
        short = 64
        c = np.empty(4 * short)
        s = np.empty(4 * short)
        j = 0
        while j < n:
            stop0, c0, s0, d0c, d0s = _subcarrier_run(j, n, centre0, m, cc0, m_c, rho_c)
            if stop0 - j > short or stop0 >= n:  # a long run (or the last): alone
                lo = j
                while lo < stop0:
                    hi = min(stop0, lo + 4 * short)
                    for t in range(hi - lo):
                        c[t] = c0
                        s[t] = s0
                        c0, s0 = c0 * d0c - s0 * d0s, c0 * d0s + s0 * d0c
                    _subcarrier_products(a, b, c, s, lo, hi, sr, si, out)
                    lo = hi
                j = stop0
                continue
            stop1, c1, s1, d1c, d1s = _subcarrier_run(stop0, n, centre0, m, cc0, m_c, rho_c)
            stop2, c2, s2, d2c, d2s = stop1, 0.0, 0.0, 0.0, 0.0
            stop3, c3, s3, d3c, d3s = stop1, 0.0, 0.0, 0.0, 0.0
            if stop1 - stop0 > short:  # the next run is long: this one alone
                stop1 = stop2 = stop3 = stop0
            elif stop1 < n:
                stop2, c2, s2, d2c, d2s = _subcarrier_run(stop1, n, centre0, m, cc0, m_c, rho_c)
                stop3 = stop2
                if stop2 - stop1 > short:
                    stop2 = stop3 = stop1
                elif stop2 < n:
                    stop3, c3, s3, d3c, d3s = _subcarrier_run(stop2, n, centre0, m, cc0, m_c, rho_c)
                    if stop3 - stop2 > short:
                        stop3 = stop2
            n0, n1, n2, n3 = stop0 - j, stop1 - stop0, stop2 - stop1, stop3 - stop2
            o1, o2, o3 = n0, n0 + n1, n0 + n1 + n2
            for t in range(max(max(n0, n1), max(n2, n3))):
                if t < n0:
                    c[t] = c0
                    s[t] = s0
                    c0, s0 = c0 * d0c - s0 * d0s, c0 * d0s + s0 * d0c
                if t < n1:
                    c[np.uint64(o1 + t)] = c1
                    s[np.uint64(o1 + t)] = s1
                    c1, s1 = c1 * d1c - s1 * d1s, c1 * d1s + s1 * d1c
                if t < n2:
                    c[np.uint64(o2 + t)] = c2
                    s[np.uint64(o2 + t)] = s2
                    c2, s2 = c2 * d2c - s2 * d2s, c2 * d2s + s2 * d2c
                if t < n3:
                    c[np.uint64(o3 + t)] = c3
                    s[np.uint64(o3 + t)] = s3
                    c3, s3 = c3 * d3c - s3 * d3s, c3 * d3s + s3 * d3c
            _subcarrier_products(a, b, c, s, j, stop3, sr, si, out)
            j = stop3

    @kernel("c16[::1], f8, f8, f8, f8, f8[::1]")
    def _matched_kernel(mix_bins, t0, dt, delta, psi0, out):  # pragma: no cover - compiled
        # blocks of 1024 bins, each phasor from its closed form at the block's first bin
        # and advanced by a recurrence; four blocks side by side (each its own recurrence,
        # the same numbers as one block after another), the rest one at a time
        n = mix_bins.shape[0]
        step = -2.0 * math.pi * delta * dt
        qr, qi = math.cos(step), math.sin(step)
        j = 0
        while j + 4096 <= n:
            a0 = -(2.0 * math.pi * delta * (t0 + j * dt) + psi0)
            a1 = -(2.0 * math.pi * delta * (t0 + (j + 1024) * dt) + psi0)
            a2 = -(2.0 * math.pi * delta * (t0 + (j + 2048) * dt) + psi0)
            a3 = -(2.0 * math.pi * delta * (t0 + (j + 3072) * dt) + psi0)
            p0r, p0i = math.cos(a0), math.sin(a0)
            p1r, p1i = math.cos(a1), math.sin(a1)
            p2r, p2i = math.cos(a2), math.sin(a2)
            p3r, p3i = math.cos(a3), math.sin(a3)
            for i in range(1024):
                k0 = np.uint64(j + i)
                k1, k2, k3 = k0 + np.uint64(1024), k0 + np.uint64(2048), k0 + np.uint64(3072)
                out[k0] = -(mix_bins[k0].real * p0i + mix_bins[k0].imag * p0r)
                out[k1] = -(mix_bins[k1].real * p1i + mix_bins[k1].imag * p1r)
                out[k2] = -(mix_bins[k2].real * p2i + mix_bins[k2].imag * p2r)
                out[k3] = -(mix_bins[k3].real * p3i + mix_bins[k3].imag * p3r)
                p0r, p0i = p0r * qr - p0i * qi, p0r * qi + p0i * qr
                p1r, p1i = p1r * qr - p1i * qi, p1r * qi + p1i * qr
                p2r, p2i = p2r * qr - p2i * qi, p2r * qi + p2i * qr
                p3r, p3i = p3r * qr - p3i * qi, p3r * qi + p3i * qr
            j += 4096
        while j < n:
            ang = -(2.0 * math.pi * delta * (t0 + j * dt) + psi0)
            pr, pi_ = math.cos(ang), math.sin(ang)
            stop = min(n, j + 1024)
            while j < stop:
                x = mix_bins[j]
                out[j] = -(x.real * pi_ + x.imag * pr)
                pr, pi_ = pr * qr - pi_ * qi, pr * qi + pi_ * qr
                j += 1


def subcarrier_bins(
    a: np.ndarray,
    b: np.ndarray,
    centre0: float,
    m: int,
    centre0_c: float,
    m_c: int,
    rho_c: np.ndarray,
    shift_cycles: float,
) -> np.ndarray:
    """See :func:`subcarrier_bins_numpy`; complex128. The data bins' centres are samples
    ``centre0 + j·m``; ``rho_c`` is given at the carrier bins' centres ``centre0_c + k·m_c``
    and taken linearly between them (constant beyond the ends, as :func:`numpy.interp`)."""
    if active_kernel() == "numpy":
        centres = centre0 + m * np.arange(a.size)
        rho = np.interp(centres, centre0_c + m_c * np.arange(rho_c.size), rho_c)
        return subcarrier_bins_numpy(a, b, rho, shift_cycles)
    out = np.empty(a.size, np.complex128)
    _subcarrier_kernel(
        np.ascontiguousarray(a), np.ascontiguousarray(b), float(centre0), int(m),
        float(centre0_c), int(m_c), np.ascontiguousarray(rho_c, np.float64),
        float(shift_cycles), out,
    )  # fmt: skip
    return out


def matched_bins(mix_bins: np.ndarray, t0_s: float, dt_s: float, delta_hz: float, psi0: float):
    """See :func:`matched_bins_numpy`, with bin centres at ``t0_s + j·dt_s``; float64."""
    if active_kernel() == "numpy":
        t_s = t0_s + dt_s * np.arange(mix_bins.size)
        return matched_bins_numpy(mix_bins, t_s, delta_hz, psi0)
    out = np.empty(mix_bins.size, np.float64)
    _matched_kernel(mix_bins, float(t0_s), float(dt_s), float(delta_hz), float(psi0), out)
    return out


# ------------------------------------------------------------------ integrals on a grid
def sums_at_grid_numpy(
    prefix: np.ndarray, values: np.ndarray, first: float, step: float, count: int
) -> np.ndarray:
    """``prefix`` (the running sum of ``values``, one longer) at the fractional positions
    ``first + k·step``, k < ``count``: the partial cell counts in proportion. Positions are
    clipped to the cells held."""
    pos = np.clip(first + step * np.arange(count), 0.0, values.size)
    i = np.minimum(np.floor(pos).astype(np.int64), values.size - 1)
    return prefix[i] + (pos - i) * values[i]


if COMPILED:

    @kernel("c16[::1], c16[::1], f8, f8, c16[::1]", "f8[::1], f8[::1], f8, f8, f8[::1]")
    def _grid_kernel(prefix, values, first, step, out):  # pragma: no cover - compiled
        n = values.shape[0]
        for k in range(out.shape[0]):
            pos = first + k * step
            if pos < 0.0:
                pos = 0.0
            elif pos > n:
                pos = n
            i = min(int(pos), n - 1)  # the last cell's end is its own prefix plus all of it
            out[k] = prefix[i] + (pos - i) * values[i]


def sums_at_grid(
    prefix: np.ndarray, values: np.ndarray, first: float, step: float, count: int
) -> np.ndarray:
    """See :func:`sums_at_grid_numpy` (no position array is made)."""
    if active_kernel() == "numpy" or values.size == 0:
        return sums_at_grid_numpy(prefix, values, first, step, count)
    out = np.empty(max(0, int(count)), prefix.dtype)
    _grid_kernel(prefix, values, float(first), float(step), out)
    return out


if COMPILED:

    @kernel("c16[::1], f8, f8, c16[::1]", "f8[::1], f8, f8, f8[::1]")
    def _running_grid_kernel(values, first, step, out):  # pragma: no cover - compiled
        # the running sum kept as the positions advance (step > 0): prefix[i] is added in the
        # order np.cumsum adds it, so the sums are those of sums_at_grid to the bit
        n = values.shape[0]
        acc = values[0] * 0.0
        done = 0  # acc == Σ values[:done]
        for k in range(out.shape[0]):
            pos = first + k * step
            if pos < 0.0:
                pos = 0.0
            elif pos > n:
                pos = n
            i = min(int(pos), n - 1)
            while done < i:
                acc += values[done]
                done += 1
            out[k] = acc + (pos - i) * values[i]


def grid_sums(values: np.ndarray, first: float, step: float, count: int) -> np.ndarray:
    """The running sum of ``values`` at the fractional positions ``first + k·step`` (step > 0),
    k < ``count``, as :func:`sums_at_grid` with the prefix sums made on the way: one pass, no
    array of them."""
    if active_kernel() == "numpy" or values.size == 0 or step <= 0:
        prefix = np.zeros(values.size + 1, dtype=values.dtype)
        np.cumsum(values, out=prefix[1:])
        return sums_at_grid(prefix, values, first, step, count)
    out = np.empty(max(0, int(count)), values.dtype)
    _running_grid_kernel(np.ascontiguousarray(values), float(first), float(step), out)
    return out
