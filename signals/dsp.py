"""Small DSP helpers shared by the transmitter side and the receivers, each defined once.

Both the ground station's receivers and the spacecraft's own command receiver use them,
so they live in ``signals`` (which ``groundstation`` may import, never the reverse). They
are functions over arrays: no state, no format knowledge.

- :func:`parabolic_offset`: sub-sample position of a peak from its two neighbours.
- :func:`block_power_spectra`: power spectra of consecutive blocks of a record.
- :func:`noise_floor`: mean noise power per cell from the median of power values.
- :func:`nonfinite_to_zero`: NaN and Inf samples set to zero, counted.
- :func:`true_runs`: where a boolean condition holds, as (start, stop) index pairs.
- :func:`rechunk`: a stream of sample blocks cut again into blocks of a chosen length.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

from signals.gamma import inverse_lower_gamma

__all__ = [
    "block_power_spectra",
    "hann_periodic",
    "noise_floor",
    "nonfinite_to_zero",
    "parabolic_offset",
    "rechunk",
    "true_runs",
]


def parabolic_offset(left: npt.ArrayLike, centre: npt.ArrayLike, right: npt.ArrayLike):
    """Vertex of the parabola through three equally spaced samples, in sample spacings.

    The parabola passes through (−1, ``left``), (0, ``centre``) and (+1, ``right``); the
    result is where it peaks, relative to the centre sample. Where the three values hold
    no maximum (the parabola opens upwards or is flat) the offset is 0. The offset is
    clipped to ±1, the span the three samples cover: a parabola through three points says
    nothing about a peak beyond them. Around a sampled maximum (``centre`` not below
    either neighbour) the vertex lies within ±0.5 by construction, so the clip only acts
    when the centre is a probe point rather than the maximum (a tracking loop).

    Parameters
    ----------
    left, centre, right : float or array_like
        Samples at −1, 0 and +1 (any unit: power, log-power, a correlation); arrays are
        broadcast element-wise and keep their floating-point type.

    Returns
    -------
    float or numpy.ndarray
        Offset of the vertex from the centre sample, in sample spacings, within ±1.
    """
    a, b, c = np.asarray(left), np.asarray(centre), np.asarray(right)  # dtype kept
    curvature = a - 2.0 * b + c
    peaked = curvature < 0
    offset = np.where(peaked, 0.5 * (a - c) / np.where(peaked, curvature, -1.0), 0.0)
    offset = np.clip(offset, -1.0, 1.0)
    return float(offset) if offset.ndim == 0 else offset


def block_power_spectra(
    x: np.ndarray,
    n_fft: int,
    *,
    max_blocks: int | None = None,
    window: np.ndarray | None = None,
    centred: bool = True,
) -> np.ndarray:
    """|FFT|² of consecutive, non-overlapping blocks of ``x`` (one row per block).

    Parameters
    ----------
    x : numpy.ndarray
        Complex samples; a tail shorter than ``n_fft`` is left out.
    n_fft : int
        Block length and transform size (samples).
    max_blocks : int, optional
        At most this many blocks, spread evenly over the record (every k-th block).
    window : numpy.ndarray, optional
        Taper of length ``n_fft`` applied to each block (none by default).
    centred : bool
        Frequencies in increasing order, zero in the middle (``fftshift``); else FFT order.

    Returns
    -------
    numpy.ndarray, shape (K, n_fft)
        Unnormalised power per bin (|X|², so noise of variance σ² per sample gives a mean of
        σ²·n_fft·mean(window²)). Bin frequencies: :func:`numpy.fft.fftfreq` ``(n_fft, 1/fs)``,
        shifted likewise when ``centred``.
    """
    n_blocks = x.size // n_fft
    blocks = x[: n_blocks * n_fft].reshape(n_blocks, n_fft)
    if max_blocks is not None:
        blocks = blocks[:: max(1, n_blocks // max_blocks)][:max_blocks]
    if window is not None:
        blocks = blocks * window
    power = np.abs(np.fft.fft(blocks, axis=1)) ** 2
    return np.fft.fftshift(power, axes=1) if centred else power


def hann_periodic(n: int) -> np.ndarray:
    """The periodic Hann window of ``n`` points (float64), for spectra.

    0.5 − 0.5·cos(2πk/n), k = 0 … n − 1: ``scipy.signal.windows.hann(n, sym=False)``,
    computed the same way (so bit for bit the same) without importing ``scipy.signal``,
    whose import costs a decode more than its whole spectrum.
    """
    if n <= 1:
        return np.ones(max(n, 0))
    fac = np.linspace(-np.pi, np.pi, n + 1)
    w = np.zeros(n + 1)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(1 * fac)
    return w[:-1]


@functools.cache
def _median_over_mean(n_averaged: int) -> float:
    """Median / mean of an average of ``n_averaged`` independent exponential variables."""
    if n_averaged == 1:
        return math.log(2.0)
    return inverse_lower_gamma(n_averaged, 0.5) / n_averaged


def noise_floor(
    power: npt.ArrayLike,
    *,
    n_averaged: int = 1,
    axis: int | None = None,
    keepdims: bool = False,
):
    """Mean noise power per cell from the median of power values, robust to a few signals.

    Complex Gaussian noise gives exponentially distributed power (|x|² of a sample, or a
    periodogram bin); an average of K such values is a gamma variable with shape K. Its
    median is a known fraction of its mean (ln 2 for K = 1), so the median over cells,
    which a signal occupying a minority of them hardly moves, divided by that fraction
    estimates the mean.

    Parameters
    ----------
    power : array_like
        Power values (|x|², |X|², or averages of ``n_averaged`` of them), any unit.
    n_averaged : int
        How many independent exponential values each cell averages (K ≥ 1).
    axis : int, optional
        Axis over which to take the median (all values by default).
    keepdims : bool
        Keep the reduced axis (length 1), as :func:`numpy.median` does.

    Returns
    -------
    float or numpy.ndarray
        Mean noise power per cell, in the unit of ``power``.
    """
    if n_averaged < 1:
        raise ValueError(f"n_averaged must be at least 1, got {n_averaged}")
    median = np.median(power, axis=axis, keepdims=keepdims)
    floor = median / _median_over_mean(n_averaged)
    return float(floor) if np.ndim(floor) == 0 else floor


def nonfinite_to_zero(x: np.ndarray, *, in_place: bool = False) -> tuple[np.ndarray, int]:
    """``x`` with NaN and Inf samples set to zero, and how many there were.

    Parameters
    ----------
    x : numpy.ndarray
        Samples (real or complex).
    in_place : bool
        Overwrite the bad samples of ``x`` itself; by default a copy is made, and only
        when there is something to replace.

    Returns
    -------
    (numpy.ndarray, int)
        The cleaned samples (``x`` itself when every sample is finite or ``in_place``) and
        the number of samples replaced.
    """
    bad = ~np.isfinite(x)
    count = int(np.count_nonzero(bad))
    if count:
        if not in_place:
            x = np.array(x)
        x[bad] = 0
    return x, count


def true_runs(condition: npt.ArrayLike) -> np.ndarray:
    """Index ranges where a boolean condition holds: one (start, stop) row per run.

    Parameters
    ----------
    condition : array_like of bool, 1-D
        The condition at each sample.

    Returns
    -------
    numpy.ndarray, shape (n_runs, 2), int
        ``start`` is the first index of a run of true values and ``stop`` one past its
        last (Python's slice convention), in increasing order.
    """
    mask = np.asarray(condition, dtype=bool)
    if mask.ndim != 1:
        raise ValueError(f"expected a 1-D condition, got shape {mask.shape}")
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)


def rechunk(blocks: Iterable[np.ndarray], chunk_samples: int) -> Iterator[np.ndarray]:
    """The samples of ``blocks``, in order, cut again into chunks of ``chunk_samples``.

    Every chunk but the last holds exactly ``chunk_samples`` samples; the last holds what
    is left (none is yielded for an empty stream). The samples are the blocks' own,
    unchanged and in their dtype: concatenating the chunks gives the concatenated blocks.
    At most one block and one chunk are held at a time, whatever the stream's length.

    Parameters
    ----------
    blocks : iterable of numpy.ndarray, 1-D
        The stream, in blocks of any lengths (empty blocks are skipped).
    chunk_samples : int
        Samples per chunk, at least 1.

    Yields
    ------
    numpy.ndarray
        A new array per chunk (never a view of a block), so a consumer may keep it.

    Examples
    --------
    >>> chunks = rechunk([np.arange(5), np.arange(5, 7)], 3)
    >>> [c.tolist() for c in chunks]
    [[0, 1, 2], [3, 4, 5], [6]]
    """
    if chunk_samples < 1:
        raise ValueError(f"chunk_samples must be at least 1, got {chunk_samples}")
    pending: list[np.ndarray] = []
    held = 0
    for block in blocks:
        start = 0
        while start < block.size:
            take = min(chunk_samples - held, block.size - start)
            pending.append(block[start : start + take])
            held += take
            start += take
            if held == chunk_samples:
                yield np.concatenate(pending)
                pending, held = [], 0
    if held:
        yield np.concatenate(pending)
