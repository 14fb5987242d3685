"""Receiver noise of any length, made on demand: hours of it without storing a sample.

:class:`NoiseSource` reads like a recording (``fs_hz``, ``n_samples``, ``read(start,
count)``) and returns complex white Gaussian noise of unit variance (σ² = 1 per complex
sample, ICD §2). Each block of :data:`BLOCK_SAMPLES` is drawn from a counter-based
generator (Philox) keyed by the block's index, so any span reads the same samples whatever
the order of the reads. It measures how often a receiver finds something in nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

import numpy as np

#: Samples drawn per block (each block from its own Philox counter).
BLOCK_SAMPLES: Final = 1 << 16
#: Blocks kept after drawing them, least recently read dropped first (a receiver re-reads
#: what it just read): 128 blocks are 64 MiB.
_CACHED_BLOCKS: Final = 128


class NoiseSource:
    """Complex white Gaussian noise, σ² = 1, of ``n_samples`` samples at ``fs_hz``.

    Parameters
    ----------
    n_samples : int
        Length (samples).
    fs_hz : float
        Sample rate (Hz).
    rng : numpy.random.Generator
        Draws the key of the counter-based generator (the same key, the same noise).
    """

    def __init__(self, n_samples: int, fs_hz: float, rng: np.random.Generator):
        self.n_samples = int(n_samples)
        self.fs_hz = float(fs_hz)
        self._key = int(rng.integers(0, 2**63))
        self._blocks: OrderedDict[int, np.ndarray] = OrderedDict()

    def _block(self, k: int) -> np.ndarray:
        block = self._blocks.get(k)
        if block is not None:
            self._blocks.move_to_end(k)
        else:
            if len(self._blocks) >= _CACHED_BLOCKS:
                self._blocks.popitem(last=False)
            gen = np.random.Generator(np.random.Philox(key=self._key, counter=k))
            iq = gen.standard_normal(2 * BLOCK_SAMPLES, np.float32)
            iq *= np.float32(np.sqrt(0.5))
            block = self._blocks[k] = iq.view(np.complex64)
        return block

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples ``[start, start + count)`` clipped to ``n_samples`` (complex64)."""
        start = max(0, int(start))
        stop = min(self.n_samples, start + max(0, int(count)))
        if stop <= start:
            return np.zeros(0, np.complex64)
        first, last = start // BLOCK_SAMPLES, (stop - 1) // BLOCK_SAMPLES
        if first == last:
            offset = first * BLOCK_SAMPLES
            return self._block(first)[start - offset : stop - offset]
        x = np.concatenate([self._block(k) for k in range(first, last + 1)])
        return x[start - first * BLOCK_SAMPLES : stop - first * BLOCK_SAMPLES]
