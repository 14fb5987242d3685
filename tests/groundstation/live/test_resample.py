"""Stream resampling (groundstation.live.resample): chunk by chunk, the samples of resampling
the whole signal at once."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from groundstation.live.resample import StreamResampler, rate_ratio


@pytest.mark.parametrize(
    ("fs_in_hz", "fs_out_hz"), [(8000, 16000), (180000, 200000), (8000, 9600), (180000, 90000)]
)
def test_chunks_of_any_length_give_the_whole_signal_resampled(fs_in_hz, fs_out_hz):
    rng = np.random.default_rng(fs_out_hz)
    x = (rng.standard_normal(70001) + 1j * rng.standard_normal(70001)).astype(np.complex64)
    up, down = rate_ratio(fs_in_hz, fs_out_hz)
    assert fs_in_hz * up / down == fs_out_hz
    resampler = StreamResampler(up, down)
    parts, start = [], 0
    for size in rng.integers(1, 20000, 100):
        parts.append(resampler.feed(x[start : start + size]))
        start += size
        if start >= x.size:
            break
    parts += [resampler.feed(x[start:]), resampler.end()]
    np.testing.assert_allclose(np.concatenate(parts), resample_poly(x, up, down), atol=1e-6)


def test_a_rate_no_small_ratio_reaches_is_refused():
    with pytest.raises(ValueError, match="ratio of integers"):
        rate_ratio(8000.0, 8000.0 * 1001 / 1000 + 0.123)
