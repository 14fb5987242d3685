"""PPM timing and carrier state while a transmission is tracked (ICD §3).

The period grid is a local straight line (period index to sample time) fitted by weighted
least squares to the timing measurements of the last :data:`FIT_SPAN_PERIODS` periods, older
ones weighted down, so a drifting clock is followed (one compiled call, the one the
compiled line tracker makes, when the kernels are in use). :class:`TrackState` is what else the
tracking loop carries from block to block: the pulse filter at the current carrier estimate,
the noise power and the count of blocks decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from groundstation.receivers.ppm_detect import PulseFilter
from groundstation.receivers.ppm_kernels import NUMBA_AVAILABLE, active_kernel
from signals.formats.ppm import PERIOD_CHIPS, PpmHeader

if NUMBA_AVAILABLE:
    from groundstation.receivers.ppm_kernels import _grid_fit_kernel

#: Timing measurements kept for the local least-squares fit (periods back from now), and
#: the memory of its exponential weighting: older measurements count less, so the fit
#: follows a drifting clock (the ICD's 1 ppm/h moves the grid by < 0.001 chip within it).
FIT_SPAN_PERIODS: Final = 1500
FIT_MEMORY_PERIODS: Final = 500.0


class PeriodGrid:
    """Period grid: sample time of a period start, as a local weighted straight line."""

    def __init__(self, period0: int, time0: float, period_samples: float):
        # One row per timing measurement: (period, sample time, weight).
        self._points = np.array([[float(period0), float(time0), 1.0]])
        self.nominal = period_samples
        self.p_ref, self.t_ref, self.slope = float(period0), time0, period_samples

    @property
    def points(self) -> list[tuple[float, float, float]]:
        """The measurements in the fit: (period, sample time, weight)."""
        return [(float(p), float(t), float(w)) for p, t, w in self._points]

    def add(self, period: float, time: float, weight: float) -> None:
        """Add a timing measurement and fit the line again."""
        points = np.concatenate([self._points, [[float(period), float(time), float(weight)]]])
        keep = points[:, 0] >= float(period) - FIT_SPAN_PERIODS
        self._points = points[keep] if np.count_nonzero(keep) >= 2 else points[-2:]
        self._fit()

    def _fit(self) -> None:
        if active_kernel() == "numba":
            # One compiled call, the one the line tracker's kernel makes (the same numbers).
            fit = np.array([self.p_ref, self.t_ref, self.slope])
            _grid_fit_kernel(
                self._points, self._points.shape[0], float(self.nominal), FIT_MEMORY_PERIODS, fit
            )
            self.p_ref, self.t_ref, self.slope = float(fit[0]), float(fit[1]), float(fit[2])
            return
        # Whole arrays: narrow images put hundreds of measurements in the fit span.
        p, t, weight = self._points.T
        w = weight * np.exp((p - p.max()) / FIT_MEMORY_PERIODS)
        sw = w.sum()
        p_ref, t_ref = float(w @ p / sw), float(w @ t / sw)
        dp = p - p_ref
        spread = float(w @ (dp * dp))
        cross = float(w @ (dp * (t - t_ref)))
        if spread >= 1.0:
            slope = cross / spread
            # A clock can be off by at most ~200 ppm: reject fits outside that.
            if abs(slope / self.nominal - 1.0) < 4e-4:
                self.slope = slope
        self.p_ref, self.t_ref = p_ref, t_ref

    def snapshot(self) -> tuple:
        """The grid's state, for :meth:`restore`."""
        return self._points, self.p_ref, self.t_ref, self.slope

    def restore(self, saved: tuple) -> None:
        """Go back to a state taken by :meth:`snapshot` (the arrays are never changed in
        place, so the snapshot shares them)."""
        self._points, self.p_ref, self.t_ref, self.slope = saved

    def time(self, periods: np.ndarray | float) -> np.ndarray:
        """Start of ``periods`` (samples, fractional)."""
        if isinstance(periods, (int, float)):
            return self.t_ref + (float(periods) - self.p_ref) * self.slope
        return self.t_ref + (np.asarray(periods, float) - self.p_ref) * self.slope

    @property
    def chip_samples(self) -> float:
        return self.slope / PERIOD_CHIPS


@dataclass
class TrackState:
    """What the tracking loop carries from one block of periods to the next.

    Attributes
    ----------
    filter : PulseFilter
        Pulse filter at the current chip length and carrier estimate (``filter.freq_hz``).
    sigma2 : float
        Noise power per window (units of the sample power), smoothed over blocks.
    blocks : int
        Blocks decided so far (sets the next block's length).
    """

    filter: PulseFilter
    sigma2: float
    blocks: int = 0

    def snapshot(self) -> tuple[PulseFilter, float, int]:
        """The state's values, for :meth:`restore`."""
        return self.filter, self.sigma2, self.blocks

    def restore(self, saved: tuple[PulseFilter, float, int]) -> None:
        """Go back to the values taken by :meth:`snapshot`."""
        self.filter, self.sigma2, self.blocks = saved


@dataclass
class ImageLock:
    """A verified transmission start: the header read and the grid and carrier it fixed.

    Attributes
    ----------
    header : PpmHeader
        The header.
    copy_index : int
        0 or 1 for a copy read alone, -1 for the two copies added, -2 for a word of the
        list decoding.
    grid : PeriodGrid
        The period grid, refined on the first line markers.
    freq_hz : float
        Carrier offset (Hz).
    sigma2 : float
        Noise power per window.
    """

    header: PpmHeader
    copy_index: int
    grid: PeriodGrid
    freq_hz: float
    sigma2: float
