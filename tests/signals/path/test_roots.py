"""Brent's root finder takes scipy.optimize.brentq's steps: the same roots, bit for bit.

The geometry's rise and set times were found by ``scipy.optimize.brentq``; the project's own
routine (:mod:`signals.path.roots`) must give the same floats, or every session's times would
move. Checked on functions that exercise each kind of step (secant, inverse quadratic,
bisection, the minimum step near a flat or steep root) with random brackets and tolerances.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from signals.errors import GeometryError
from signals.path.roots import brent_root

FAMILIES = {
    "cubic": lambda r, c: lambda x: (x - r) * (x * x + c),
    "steep": lambda r, c: lambda x: math.tanh(c * 50 * (x - r)),
    "flat": lambda r, c: lambda x: (x - r) ** 3 * (1 + c),
    "wavy": lambda r, c: lambda x: math.sin(x - r) + 0.3 * c * (x - r),
    "kink": lambda r, c: lambda x: (x - r) if x > r else c * 1e-3 * (x - r),
    "exp": lambda r, c: lambda x: math.exp(x - r) - 1.0 + c * 1e-9,
}


@settings(max_examples=300, deadline=None)
@given(
    family=st.sampled_from(sorted(FAMILIES)),
    root=st.floats(-2.0, 2.0),
    c=st.floats(0.01, 3.0),
    left=st.floats(0.05, 3.0),
    right=st.floats(0.05, 3.0),
    xtol=st.sampled_from([1e-14, 2e-12, 1e-9, 1e-6, 1e-3, 0.5]),
    rtol=st.sampled_from([4 * 2.0**-52, 1e-15, 1e-10]),  # Lambert's solver asks 1e-15
    maxiter=st.sampled_from([0, 5, 100, 500]),
)
def test_the_roots_are_brentqs_to_the_bit(
    family, root, c, left, right, xtol, rtol, maxiter
) -> None:
    f = FAMILIES[family](root, c)
    a, b = root - left, root + right
    if math.copysign(1.0, f(a)) == math.copysign(1.0, f(b)):
        return  # no bracket (the shifted exponential's root is not r)
    tolerances = {"xtol": xtol, "rtol": rtol, "maxiter": maxiter}
    for lo, hi in ((a, b), (b, a)):
        assert _ours(f, lo, hi, tolerances) == _scipys(f, lo, hi, tolerances)


def _ours(f, a: float, b: float, tolerances: dict) -> float | str:
    try:
        return brent_root(f, a, b, **tolerances)
    except GeometryError:
        return "no convergence"


def _scipys(f, a: float, b: float, tolerances: dict) -> float | str:
    try:
        return brentq(f, a, b, **tolerances)
    except RuntimeError:  # both give up after maxiter steps (a flat root, a tiny xtol)
        return "no convergence"


def test_the_rise_of_a_sine_to_half_a_second() -> None:
    """As the geometry asks: a smooth crossing, xtol of half a second."""
    f = lambda t: math.sin(2 * math.pi * t / 86400.0) - 0.2  # noqa: E731
    got = brent_root(f, 0.0, 20000.0, xtol=0.5)
    assert got == brentq(f, 0.0, 20000.0, xtol=0.5)
    assert abs(got - 86400.0 * math.asin(0.2) / (2 * math.pi)) < 0.5


def test_an_end_that_is_a_root_is_returned() -> None:
    assert brent_root(lambda x: x - 1.0, 1.0, 3.0) == 1.0
    assert brent_root(lambda x: x - 3.0, 1.0, 3.0) == 3.0


@pytest.mark.parametrize(
    ("f", "message"),
    [
        (lambda x: x * x + 1.0, "no sign change"),
        (lambda x: math.nan, "NaN"),
    ],
)
def test_no_bracket_or_nan_is_an_error(f, message) -> None:
    with pytest.raises(GeometryError, match=message):
        brent_root(f, -1.0, 2.0)


@pytest.mark.parametrize("bad", [{"xtol": 0.0}, {"rtol": 1e-17}, {"maxiter": -1}])
def test_out_of_range_tolerances_are_a_callers_mistake(bad) -> None:
    with pytest.raises(ValueError, match="need xtol"):
        brent_root(lambda x: x, -1.0, 2.0, **bad)


def test_too_few_steps_is_an_error() -> None:
    with pytest.raises(GeometryError, match="in 3 steps"):
        brent_root(lambda x: x**3 - 0.3, -1.0, 2.0, xtol=1e-15, maxiter=3)
