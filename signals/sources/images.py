"""Image sources for the 5 cm PPM downlink: test patterns and a procedural Mars.

Every source returns a ``(lines, pixels)`` ``uint8`` array of grey levels 0..63 (6 bits,
0 black, 63 white), the values the PPM modulator sends one per period.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

from signals.errors import ConfigError
from signals.formats.ppm import GREY_MAX, N_LEVELS


def _check_size(lines: int, pixels: int) -> None:
    if lines < 1 or pixels < 1:
        raise ConfigError(f"an image needs at least 1x1 pixels, got {lines}x{pixels}")


def quantise(intensity: np.ndarray) -> np.ndarray:
    """Quantise intensities in [0, 1] to grey levels 0..63 (``uint8``); clips outside."""
    levels = np.rint(np.clip(intensity, 0.0, 1.0) * GREY_MAX)
    return levels.astype(np.uint8)


def grey_ramp(lines: int, pixels: int) -> np.ndarray:
    """Horizontal ramp from 0 at the left to 63 at the right, all levels present."""
    _check_size(lines, pixels)
    row = np.floor(np.arange(pixels) * N_LEVELS / pixels).astype(np.uint8)
    return np.broadcast_to(row, (lines, pixels)).copy()


def bars(lines: int, pixels: int, n_bars: int = 8) -> np.ndarray:
    """Vertical bars of ``n_bars`` grey levels from black to white."""
    _check_size(lines, pixels)
    levels = np.rint(np.linspace(0, GREY_MAX, n_bars)).astype(np.uint8)
    index = np.arange(pixels) * n_bars // pixels
    return np.broadcast_to(levels[index], (lines, pixels)).copy()


def checkerboard(lines: int, pixels: int, square_px: int = 4) -> np.ndarray:
    """Black (0) and white (63) squares of ``square_px`` pixels."""
    _check_size(lines, pixels)
    y = np.arange(lines)[:, None] // square_px
    x = np.arange(pixels)[None, :] // square_px
    return (((x + y) % 2) * GREY_MAX).astype(np.uint8)


def random_image(lines: int, pixels: int, rng: np.random.Generator) -> np.ndarray:
    """Independent uniform grey levels, 0..63 each."""
    _check_size(lines, pixels)
    return rng.integers(0, N_LEVELS, size=(lines, pixels), dtype=np.uint8)


def mars(
    lines: int,
    pixels: int,
    rng: np.random.Generator,
    *,
    phase_angle_deg: float = 35.0,
    n_dark_regions: int = 6,
) -> np.ndarray:
    """A procedural Mars: lit disk, limb darkening, terminator, polar cap, dark regions.

    Parameters
    ----------
    lines, pixels : int
        Image size.
    rng : numpy.random.Generator
        Places the dark albedo regions.
    phase_angle_deg : float
        Sun-Mars-observer angle (deg); for a positive angle the Sun is to the left and the
        terminator on the right.
    n_dark_regions : int
        Smooth dark blobs in addition to a Syrtis-Major-like dark wedge.
    """
    _check_size(lines, pixels)
    radius = 0.45 * min(lines, pixels)
    y = (np.arange(lines)[:, None] - (lines - 1) / 2) / radius
    x = (np.arange(pixels)[None, :] - (pixels - 1) / 2) / radius
    r2 = x**2 + y**2
    on_disk = r2 < 1.0
    mu = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))  # cosine of the emission angle
    # Surface coordinates on the visible hemisphere (sub-observer point at lon 0).
    lat = np.arcsin(np.clip(-y, -1.0, 1.0))
    lon = np.arctan2(x, np.maximum(mu, 1e-9))
    alpha = np.radians(phase_angle_deg)
    sun = (-np.sin(alpha), 0.0, np.cos(alpha))
    cos_incidence = np.clip(x * sun[0] + y * sun[1] + mu * sun[2], 0.0, 1.0)

    albedo = np.full((lines, pixels), 0.72)
    # Syrtis-Major-like dark wedge: narrowing towards the north.
    lat0, lon0 = np.radians(10.0), np.radians(rng.uniform(-25.0, 25.0))
    width = np.radians(18.0) * (1.0 - 0.6 * np.clip((lat - lat0) / np.radians(30.0), -1, 1))
    wedge = np.exp(-(((lon - lon0) / width) ** 2) - ((lat - lat0) / np.radians(22.0)) ** 2)
    albedo -= 0.38 * wedge
    for _ in range(n_dark_regions):
        blat = np.radians(rng.uniform(-50.0, 40.0))
        blon = np.radians(rng.uniform(-80.0, 80.0))
        size = np.radians(rng.uniform(8.0, 20.0))
        d2 = (lat - blat) ** 2 + ((lon - blon) * np.cos(blat)) ** 2
        albedo -= rng.uniform(0.1, 0.25) * np.exp(-d2 / (2 * size**2))
    # Bright north polar cap with a soft edge.
    cap_edge = np.radians(62.0)
    albedo = np.maximum(albedo, 1.0 / (1.0 + np.exp(-(lat - cap_edge) / np.radians(2.5))))
    albedo = np.clip(albedo, 0.05, 1.0)

    intensity = albedo * cos_incidence**0.9 * mu**0.25
    intensity = np.where(on_disk, intensity, 0.0)
    return quantise(intensity / max(float(intensity.max()), 1e-12))


ImageSource = Callable[..., np.ndarray]

#: Image sources by name; each is called as ``source(lines, pixels, rng, **kw)``.
IMAGE_SOURCES: Final[dict[str, ImageSource]] = {
    "mars": mars,
    "ramp": lambda lines, pixels, rng, **kw: grey_ramp(lines, pixels, **kw),
    "bars": lambda lines, pixels, rng, **kw: bars(lines, pixels, **kw),
    "checkerboard": lambda lines, pixels, rng, **kw: checkerboard(lines, pixels, **kw),
    "random": lambda lines, pixels, rng, **kw: random_image(lines, pixels, rng, **kw),
}


def make_image(
    name: str, lines: int, pixels: int, rng: np.random.Generator, **kwargs: float
) -> np.ndarray:
    """Make an image from a named source of :data:`IMAGE_SOURCES` (grey levels 0..63)."""
    try:
        source = IMAGE_SOURCES[name]
    except KeyError:
        raise ConfigError(
            f"unknown image source {name!r}; choose one of {', '.join(IMAGE_SOURCES)}"
        ) from None
    return source(lines, pixels, rng, **kwargs)
