"""Slot decisions where two slots hold the same energy: the first slot wins, in the compiled
kernel as in the numpy reference (``Decisions.grey``: "the first one on a tie")."""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.receivers import ppm_kernels as pk
from groundstation.receivers.ppm import PulseFilter
from signals.formats.ppm import CHIP_RATE_HZ, SLOT_CHIPS

FS_HZ = 4 * CHIP_RATE_HZ  # 4 samples per chip: every window starts on a whole sample


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_equal_pulses_in_two_slots_decide_the_first(kernel, monkeypatch):
    if kernel == "numba" and not pk.NUMBA_AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setenv(pk.NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
    chip = 4
    filt = PulseFilter(float(chip), 0.0, FS_HZ)
    period = 500 * chip
    starts = 8.0 + period * np.arange(12)
    x = np.zeros(int(starts[-1]) + period + 64, np.complex64)
    first, second = 5, 40  # the same pulse, noise-free, in two slots of every period
    for start in starts.astype(int):
        for slot in (first, second):
            at = start + SLOT_CHIPS[slot] * chip
            x[at : at + chip] = 0.75
    decisions = pk.period_decisions(x, starts, SLOT_CHIPS * float(chip), filt.weights, 2.0)
    assert decisions.finite.all()
    assert (decisions.peak > 0).all()
    assert decisions.grey.tolist() == [first] * starts.size


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_silence_decides_slot_zero(kernel, monkeypatch):
    if kernel == "numba" and not pk.NUMBA_AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setenv(pk.NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
    filt = PulseFilter(4.0, 0.0, FS_HZ)
    starts = 8.0 + 2000.0 * np.arange(5)
    x = np.zeros(12_000, np.complex64)
    decisions = pk.period_decisions(x, starts, SLOT_CHIPS * 4.0, filt.weights, 2.0)
    assert decisions.grey.tolist() == [0] * 5  # every slot ties at zero energy
    assert not decisions.total.any()
