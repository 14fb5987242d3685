"""The carrier receiver is push-based: block estimates as the input arrives, one final
estimate over everything analysed, the same whatever the chunks."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from groundstation.errors import NoSignalError
from groundstation.receivers.carrier import CarrierReceiver, estimate_carrier
from groundstation.results import CarrierEstimate
from signals.modulators.carrier import CarrierSignal

FS = 48000.0  # reduced by block means of D = 3


def _signal() -> np.ndarray:
    sig = CarrierSignal(FS, 25.0, offset_hz=-612.0, rate_hz_per_s=0.8, cn0_dbhz=45.0)
    return sig.samples(np.random.default_rng(11))


def _feed(x: np.ndarray, cuts: list[int]) -> tuple[list, CarrierReceiver]:
    receiver = CarrierReceiver(FS, tuned_frequency_hz=8.4e9, max_rate_hz_per_s=5.0, block_s=10.0)
    edges = [0, *sorted(set(cuts)), x.size]
    events = []
    for lo, hi in itertools.pairwise(edges):
        events += receiver.feed(x[lo:hi])
    return events + receiver.end(), receiver


def test_block_estimates_then_the_final_one() -> None:
    x = _signal()
    events, receiver = _feed(x, [])
    assert all(isinstance(e, CarrierEstimate) for e in events)
    blocks, final = events[:-1], events[-1]
    assert len(blocks) == 2  # 10 s blocks of a 25 s input
    assert receiver.result() is final
    for k, est in enumerate(blocks):
        # each block's frequency at its own middle, in the input's time
        assert est.reference_time_s == pytest.approx(10.0 * k + 5.0, abs=1e-3)
        truth = -612.0 + 0.8 * est.reference_time_s
        assert est.frequency_offset_hz == pytest.approx(truth, abs=0.05)
        assert est.offset_at_start_hz == pytest.approx(-612.0, abs=0.5)
        assert est.n_samples == 480_000 and est.fs_hz == FS
        assert est.frequency_hz == pytest.approx(8.4e9 + truth, abs=0.05)
    assert final.reference_time_s == pytest.approx(12.5, abs=1e-3)
    assert final.frequency_offset_hz == pytest.approx(-612.0 + 0.8 * 12.5, abs=0.01)
    assert final.rate_hz_per_s == pytest.approx(0.8, abs=2e-3)
    assert final.cn0_dbhz == pytest.approx(45.0, abs=0.5)
    # the final estimate is the estimator's over the reduced samples (times shifted by the
    # block-mean delay, C/N0 by the block-mean gain)
    direct = estimate_carrier(receiver.samples, FS / 3, max_rate_hz_per_s=5.0)
    assert final.rate_hz_per_s == direct.rate_hz_per_s


@settings(max_examples=5, deadline=None, derandomize=True)
@given(cuts=st.lists(st.integers(0, 1_200_000), max_size=30))
@example(cuts=[1, 2, 3, 479_999, 480_000, 480_001, 480_002])
def test_any_chunking_gives_identical_estimates(cuts: list[int]) -> None:
    x = _signal()
    reference, _ = _feed(x, [])
    events, _ = _feed(x, cuts)
    assert events == reference


def test_no_carrier_is_raised_by_result() -> None:
    rng = np.random.default_rng(2)
    noise = (rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)).astype(np.complex64)
    receiver = CarrierReceiver(FS, block_s=1.0)
    assert receiver.feed(noise) == []
    assert receiver.end() == []
    with pytest.raises(NoSignalError):
        receiver.result()


def test_a_reduced_sample_stands_at_the_centre_of_its_block() -> None:
    """A block mean of D samples belongs to the middle of its block: fed a ramp x[n] = n, the
    receiver keeps k·D + (D - 1)/2, and its delay puts reduced sample 0 at that time."""
    receiver = CarrierReceiver(FS, block_s=math.inf)
    n = 3000
    receiver.feed(np.arange(n, dtype=np.complex64))
    d = receiver.decimation
    assert d == 3  # 48 kS/s reduced to 16 kS/s
    np.testing.assert_allclose(receiver.samples.real, np.arange(n // d) * d + (d - 1) / 2)
    assert receiver.delay_s == pytest.approx(float(receiver.samples[0].real) / FS, rel=1e-12)
