"""Work the telemetry stages share gives the numbers they would make alone, to the bit: the
carrier bins against a line kept from one look to the next; the bins held, moved only
seldom; the low bins of the subcarrier's spectrum without the whole frequency axis."""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.receivers.tlm_bitsync import low_frequencies
from groundstation.receivers.tlm_frontend import Nco
from groundstation.receivers.tlm_segments import Bins
from groundstation.receivers.tlm_stages import ReferencedCarrier, SegmentBins


def _bins(rng: np.random.Generator, k0: int, n: int, m_c: int) -> SegmentBins:
    c = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    centres = (np.arange(k0, k0 + n) + 0.5) * m_c - 0.5
    nco_phase = rng.uniform(-1e4, 1e4, n)
    empty = np.zeros(0, np.complex64)
    return SegmentBins(k0 * m_c, (k0 + n) * m_c, 0, k0, c, nco_phase, centres, empty, empty)


def test_referenced_carrier_is_what_each_call_makes_alone() -> None:
    rng = np.random.default_rng(21)
    fs_hz, m_c = 48000.0, 188
    line = Nco(1000, 12.5, 351.25, 0.103)
    whole = _bins(rng, 100, 6000, m_c)
    kept = ReferencedCarrier()
    # overlapping stretches moving on, one that jumps back (nothing kept), another line
    other = Nco(1000, 12.5, 351.25, 0.103)  # the same numbers, another line
    for lo, hi, nco in [(0, 3072, line), (1024, 4096, line), (1030, 4100, line),
                        (3000, 6000, line), (10, 500, line), (200, 3000, other)]:  # fmt: skip
        part = SegmentBins(
            whole.a, whole.b, 0, whole.k0 + lo, whole.carrier[lo:hi], whole.nco_phase[lo:hi],
            whole.centres[lo:hi], whole.data_a, whole.data_b,
        )  # fmt: skip
        phase, c_ref = kept.get(part, nco, fs_hz)
        alone = np.asarray(nco.phase_rad(part.centres, fs_hz))
        assert phase.tobytes() == alone.tobytes()
        expected = part.carrier.astype(np.complex128) * np.exp(1j * (part.nco_phase - alone))
        assert c_ref.tobytes() == expected.tobytes()


def test_bins_held_are_the_bins_appended_whatever_the_drops() -> None:
    """Drops only move where the run begins; appends move the run to the front when the
    room ends, or grow it: what is held is always what was appended."""
    rng = np.random.default_rng(23)
    bins = Bins(np.float64, 64)
    everything = np.zeros(0)
    for _ in range(300):
        values = rng.standard_normal(int(rng.integers(0, 40)))
        bins.append(values)
        everything = np.concatenate([everything, values])
        if rng.random() < 0.5:
            bins.drop_before(bins.start + int(rng.integers(0, 50)))
        lo, hi = bins.start, bins.stop
        assert np.array_equal(bins.get(lo - 5, hi + 5), everything[lo:hi])
        mid = (lo + hi) // 2
        assert np.array_equal(bins.get(mid, hi), everything[mid:hi])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 64, 1000, 1001, 32768, 131072])
@pytest.mark.parametrize("d", [1.0 / 128.0, 1.0 / 48000.0, 0.3])
@pytest.mark.parametrize("max_f", [0.0, 0.512, 3.0, 1e9])
def test_low_frequencies_are_fftfreqs(n: int, d: float, max_f: float) -> None:
    freqs = np.fft.fftfreq(n, d)
    expected = np.flatnonzero(np.abs(freqs) <= max_f)
    sel, got = low_frequencies(n, d, max_f)
    assert np.array_equal(sel, expected)
    assert got.tobytes() == freqs[expected].tobytes()
