"""Image sources: 6-bit grey levels, shapes, and the physics of the procedural Mars."""

from __future__ import annotations

import numpy as np
import pytest

from signals.errors import ConfigError
from signals.sources.images import (
    IMAGE_SOURCES,
    bars,
    checkerboard,
    grey_ramp,
    make_image,
    mars,
    quantise,
)


@pytest.mark.parametrize("name", sorted(IMAGE_SOURCES))
@pytest.mark.parametrize(("lines", "pixels"), [(1, 1), (7, 13), (64, 48)])
def test_every_source_gives_6_bit_levels(name, lines, pixels):
    image = make_image(name, lines, pixels, np.random.default_rng(3))
    assert image.shape == (lines, pixels)
    assert image.dtype == np.uint8
    assert image.max() <= 63


def test_ramp_holds_every_level_once_wide_enough():
    image = grey_ramp(3, 128)
    assert set(np.unique(image)) == set(range(64))
    assert np.all(np.diff(image.astype(int), axis=1) >= 0)


def test_bars_and_checkerboard_levels():
    assert np.unique(bars(4, 80, n_bars=8)).tolist() == [0, 9, 18, 27, 36, 45, 54, 63]
    board = checkerboard(8, 8, square_px=2)
    assert np.unique(board).tolist() == [0, 63]
    assert board[0, 0] == 0 and board[0, 2] == 63 and board[2, 0] == 63


def test_random_source_is_reproducible_from_its_rng():
    a = make_image("random", 16, 16, np.random.default_rng(9))
    b = make_image("random", 16, 16, np.random.default_rng(9))
    c = make_image("random", 16, 16, np.random.default_rng(10))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # Uniform over 64 levels: mean 31.5, sd of the mean 18.5/16 ≈ 1.2 -> 5 sd margin.
    assert abs(a.mean() - 31.5) < 6


def test_mars_disk_limb_terminator_and_cap():
    n = 129
    image = mars(n, n, np.random.default_rng(1), phase_angle_deg=40.0, n_dark_regions=0)
    c = n // 2
    radius = 0.45 * n
    # Sky is black outside the disk.
    assert image[0, 0] == 0 and image[c, 2] == 0
    # The disk is lit; beyond the terminator (right, the Sun being to the left for a positive
    # phase angle) it is dark, while the sunward limb at the same distance is still bright.
    assert image[c, c] > 20
    sunward, night = image[c, c - int(0.9 * radius)], image[c, c + int(0.9 * radius)]
    assert night == 0 and sunward > 10
    # Limb darkening: on the sunward side brightness falls towards the limb.
    assert image[c, c - int(0.97 * radius)] < image[c, c - int(0.4 * radius)]
    # Bright north polar cap (above 62° latitude): brighter than the mirror point in the south,
    # which has the same illumination and emission angles.
    d = int(radius * np.sin(np.radians(72)))
    assert image[c - d, c] > image[c + d, c]


def test_mars_dark_regions_depend_on_the_seed():
    a = mars(64, 64, np.random.default_rng(1))
    b = mars(64, 64, np.random.default_rng(2))
    assert not np.array_equal(a, b)


def test_quantise_rounds_and_clips():
    assert quantise(np.array([-1.0, 0.0, 0.5 / 63, 1.0, 2.0])).tolist() == [0, 0, 0, 63, 63]


def test_unknown_source_and_bad_size():
    with pytest.raises(ConfigError, match="unknown image source"):
        make_image("venus", 4, 4, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="at least"):
        grey_ramp(0, 4)
