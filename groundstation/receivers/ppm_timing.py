"""PPM timing and carrier state while a transmission is tracked (ICD §3).

The period grid is a local straight line (period index to sample time) fitted by weighted
least squares to the timing measurements of the last :data:`FIT_SPAN_PERIODS` periods, older
ones weighted down, so a drifting clock is followed. :class:`TrackState` is what else the
tracking loop carries from block to block: the pulse filter at the current carrier estimate,
the noise power and the count of blocks decided.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from groundstation.receivers.ppm_detect import PulseFilter
from signals.formats.ppm import PERIOD_CHIPS, PpmHeader

#: Timing measurements kept for the local least-squares fit (periods back from now), and
#: the memory of its exponential weighting: older measurements count less, so the fit
#: follows a drifting clock (the ICD's 1 ppm/h moves the grid by < 0.001 chip within it).
FIT_SPAN_PERIODS: Final = 1500
FIT_MEMORY_PERIODS: Final = 500.0


class PeriodGrid:
    """Period grid: sample time of a period start, as a local weighted straight line."""

    def __init__(self, period0: int, time0: float, period_samples: float):
        self.points: list[tuple[float, float, float]] = [(float(period0), time0, 1.0)]
        self.nominal = period_samples
        self.p_ref, self.t_ref, self.slope = float(period0), time0, period_samples

    def add(self, period: float, time: float, weight: float) -> None:
        self.points.append((float(period), float(time), float(weight)))
        newest = self.points[-1][0]
        keep = [pt for pt in self.points if pt[0] >= newest - FIT_SPAN_PERIODS]
        self.points = keep if len(keep) >= 2 else self.points[-2:]
        self._fit()

    def _fit(self) -> None:
        # A dozen points or so: plain floats beat array operations here.
        newest = max(pt[0] for pt in self.points)
        sw = swp = swt = 0.0
        weighted = []
        for p, t, weight in self.points:
            w = weight * math.exp((p - newest) / FIT_MEMORY_PERIODS)
            weighted.append((w, p, t))
            sw += w
            swp += w * p
            swt += w * t
        p_ref, t_ref = swp / sw, swt / sw
        spread = cross = 0.0
        for w, p, t in weighted:
            spread += w * (p - p_ref) ** 2
            cross += w * (p - p_ref) * (t - t_ref)
        if spread >= 1.0:
            slope = cross / spread
            # A clock can be off by at most ~200 ppm: reject fits outside that.
            if abs(slope / self.nominal - 1.0) < 4e-4:
                self.slope = slope
        self.p_ref, self.t_ref = p_ref, t_ref

    def snapshot(self) -> tuple:
        """The grid's state, for :meth:`restore`."""
        return list(self.points), self.p_ref, self.t_ref, self.slope

    def restore(self, saved: tuple) -> None:
        """Go back to a state taken by :meth:`snapshot`."""
        points, self.p_ref, self.t_ref, self.slope = saved
        self.points = list(points)

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
        0 or 1 for a copy read alone, -1 for the two copies added, -2 for a runner-up level.
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
