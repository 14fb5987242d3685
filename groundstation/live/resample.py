"""Rational resampling of a stream, chunk by chunk (``transmit --samp-rate``).

In: complex chunks of any length at ``fs_in_hz``. Out: the same signal at ``fs_out_hz`` =
``fs_in_hz · up / down`` (a ratio of small integers), the samples identical to those of
``scipy.signal.resample_poly`` on the whole signal at once: the input is cut into blocks
that start on a multiple of ``down``, each resampled with a margin longer than the filter
on both sides, and the margins' outputs dropped.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Final

import numpy as np
from scipy.signal import resample_poly

#: Largest numerator or denominator of a rate ratio.
MAX_RATIO_TERM: Final = 1000
#: Input samples resampled per block (before margins), rounded to a multiple of ``down``.
BLOCK_SAMPLES: Final = 1 << 15


def rate_ratio(fs_in_hz: float, fs_out_hz: float) -> tuple[int, int]:
    """``(up, down)`` with ``fs_out = fs_in · up / down`` exactly, both at most 1000.

    Raises
    ------
    ValueError
        No such small ratio gives ``fs_out_hz`` (to 1 part in 10⁹).
    """
    ratio = Fraction(fs_out_hz / fs_in_hz).limit_denominator(MAX_RATIO_TERM)
    up, down = ratio.numerator, ratio.denominator
    if up > MAX_RATIO_TERM or abs(fs_in_hz * up / down - fs_out_hz) > 1e-9 * fs_out_hz:
        raise ValueError(
            f"{fs_out_hz:g} Hz is not {fs_in_hz:g} Hz times a ratio of integers up to "
            f"{MAX_RATIO_TERM}"
        )
    return up, down


class StreamResampler:
    """Resample a stream by ``up / down``, the same samples as resampling it whole.

    Parameters
    ----------
    up, down : int
        The ratio (:func:`rate_ratio`).
    """

    def __init__(self, up: int, down: int):
        self.up, self.down = up, down
        half_len = 10 * max(up, down)  # resample_poly's default filter: 2·half_len + 1 taps
        margin = math.ceil((half_len + 1) / up) + 1
        self.margin = math.ceil(margin / down) * down
        self.block = max(down, BLOCK_SAMPLES // down * down)
        self._held = np.zeros(self.margin, np.complex64)  # the zeros before sample 0
        self._start = -self.margin  # input index of _held[0]
        self._next = 0  # first input sample whose output is not yet given

    def _run(self, stop: int) -> np.ndarray:
        """Outputs of inputs [_next, stop) (stop a multiple of down, margin available)."""
        lo = self._next - self.margin - self._start
        hi = stop + self.margin - self._start
        y = resample_poly(self._held[lo:hi], self.up, self.down)
        skip = self.margin * self.up // self.down
        out = y[skip : skip + (stop - self._next) * self.up // self.down]
        self._next = stop
        keep = self._next - self.margin - self._start
        self._held = self._held[keep:]
        self._start += keep
        return out.astype(np.complex64)

    def feed(self, chunk: np.ndarray) -> np.ndarray:
        """Take the next input samples; return the output samples now decided."""
        self._held = np.concatenate([self._held, np.asarray(chunk, np.complex64)])
        end = self._start + self._held.size
        parts = []
        while end - self.margin - self._next >= self.block:
            parts.append(self._run(self._next + self.block))
        return np.concatenate([*parts, np.zeros(0, np.complex64)])

    def end(self) -> np.ndarray:
        """The input is over: the remaining outputs (zeros after the last sample, as
        ``resample_poly`` pads)."""
        end = self._start + self._held.size
        n_out = math.ceil(end * self.up / self.down)
        stop = math.ceil(end / self.down) * self.down
        self._held = np.concatenate([self._held, np.zeros(stop + self.margin - end, np.complex64)])
        done = self._next * self.up // self.down
        return self._run(stop)[: max(0, n_out - done)]
