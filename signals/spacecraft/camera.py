"""The spacecraft's camera: an instant in, the image it returns out.

Near Mars (within :data:`NEAR_MARS_KM` of the planet's centre) the camera sees Mars as at
the closest approach of the integrated trajectory, lit from the Sun's direction then, in
:data:`FLYBY_IMAGE_SIZE`; anywhere else it returns its stored test chart
(:func:`signals.sources.images.bars`) in the size asked for. Grey levels 0..63 (ICD §3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import numpy as np

NEAR_MARS_KM: Final[float] = 5e6
"""Within this distance of Mars the camera sees the planet."""
FLYBY_IMAGE_SIZE: Final[tuple[int, int]] = (96, 128)
"""Lines and pixels of an image taken near Mars."""


def near_mars(t_utc: datetime) -> bool:
    """Whether the camera sees Mars at ``t_utc`` (within :data:`NEAR_MARS_KM`)."""
    from signals.path.geometry import get_trajectory

    return float(get_trajectory().mars_distance_km(t_utc)) < NEAR_MARS_KM


def camera_image(t_utc: datetime, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """What the camera returns at ``t_utc``: Mars as seen at closest approach when near the
    planet (in :data:`FLYBY_IMAGE_SIZE`), else the stored test chart in ``size``."""
    from signals.path.geometry import get_trajectory
    from signals.sources.images import bars, mars

    if near_mars(t_utc):
        trajectory = get_trajectory()
        closest_utc, _ = trajectory.flyby()
        phase_deg = float(trajectory.mars_phase_angle_deg(closest_utc))
        return mars(*FLYBY_IMAGE_SIZE, rng, phase_angle_deg=phase_deg)
    return bars(*size)
