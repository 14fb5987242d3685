"""The channel for continuous-envelope signals: oscillator phase noise and AWGN (ICD §2).

A transmitter supplies its noiseless envelope (sample ``n`` = envelope at ``t = n/fs``,
carrier offset and rate included); :func:`through_channel` streams it in chunks, multiplied
by a random-walk phase and with complex white Gaussian noise of variance σ² = N0·fs added.
The telemetry downlink, the coherent carrier and the command uplink all pass through it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np


def through_channel(
    envelope: Callable[[int, int], np.ndarray],
    n_samples: int,
    fs_hz: float,
    rng: np.random.Generator,
    *,
    n0: float,
    phase_noise_rad_per_sqrt_s: float = 0.0,
    chunk_samples: int = 1 << 16,
) -> Iterator[np.ndarray]:
    """Yield ``envelope`` through the channel as complex64 chunks (the last one shorter).

    Parameters
    ----------
    envelope : callable
        ``envelope(start, count)`` returns the noiseless complex envelope of those samples.
    n_samples : int
        Length of the signal (samples).
    fs_hz : float
        Sample rate (Hz).
    rng : numpy.random.Generator
        Source of the phase walk and the noise (drawn in that order, chunk by chunk).
    n0 : float
        Noise power spectral density N0 (power/Hz); 0 for no noise.
    phase_noise_rad_per_sqrt_s : float
        Random-walk phase noise intensity (rad/√s); 0 for none.
    chunk_samples : int
        Samples per chunk, positive.
    """
    if chunk_samples <= 0:
        raise ValueError("chunk_samples must be positive")
    sigma = math.sqrt(n0 * fs_hz / 2.0)
    pn_step = phase_noise_rad_per_sqrt_s / math.sqrt(fs_hz)
    pn_state = 0.0
    for start in range(0, n_samples, chunk_samples):
        count = min(chunk_samples, n_samples - start)
        x = envelope(start, count)
        if pn_step > 0:
            walk = pn_state + np.cumsum(rng.normal(0.0, pn_step, count))
            pn_state = float(walk[-1])
            x = x * np.exp(1j * walk)
        if sigma > 0:
            # the same numbers as x + σ·(re + 1j·im), with two passes fewer
            noise = np.empty(count, np.complex128)
            noise.real = rng.standard_normal(count)
            noise.imag = rng.standard_normal(count)
            noise *= sigma
            noise += x
            x = noise
        yield x.astype(np.complex64)
