"""A root of a scalar function in a bracket, by Brent's method: what the path needs of scipy.

In: a continuous function of one variable and a bracket [a, b] where it changes sign. Out:
a root to within a tolerance (:func:`brent_root`). The geometry refines the station's rise
and set with it; it is here, not imported from ``scipy.optimize``, because that import costs
every session a tenth of a second (its sparse and linear-algebra modules come with it) for a
short routine.

The steps are Brent's (R. P. Brent, *Algorithms for Minimization without Derivatives*,
1973, ch. 4): keep a bracket [cur, blk] with ``f(cur)`` the smaller in magnitude; try the
secant or inverse quadratic interpolation step and accept it only while it shrinks fast
enough, else bisect; never step by less than the tolerance. They are taken in the same order
and with the same tests as ``scipy.optimize.brentq``, so the roots are the same to the last
bit (``tests/signals/path/test_roots.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from signals.errors import GeometryError

#: The smallest relative tolerance that means anything in double precision.
MIN_RTOL: Final = 4 * 2.0**-52


def brent_root(
    f: Callable[[float], float],
    a: float,
    b: float,
    *,
    xtol: float = 2e-12,
    rtol: float = MIN_RTOL,
    maxiter: int = 100,
) -> float:
    """A root of ``f`` in ``[a, b]``, to within ``xtol + rtol·|root|``.

    Parameters
    ----------
    f : callable
        The function; ``f(a)`` and ``f(b)`` must differ in sign (or one be zero).
    a, b : float
        The bracket.
    xtol, rtol : float
        Absolute (in the units of x) and relative tolerance of the root; ``xtol > 0``,
        ``rtol ≥`` :data:`MIN_RTOL`.
    maxiter : int
        Most evaluations of ``f`` after the two at the ends.

    Raises
    ------
    ValueError
        If a tolerance or ``maxiter`` is out of range (a caller's mistake).
    GeometryError
        If ``f`` does not change sign over the bracket, returns NaN, or the root is not
        found in ``maxiter`` steps (where ``brentq`` raises ValueError or RuntimeError: the
        callers' errors are the path's).
    """
    if not xtol > 0 or not rtol >= MIN_RTOL or maxiter < 0:
        raise ValueError(f"need xtol > 0, rtol >= {MIN_RTOL} and maxiter >= 0")
    x_pre, x_cur = float(a), float(b)
    f_pre, f_cur = _value(f, x_pre), _value(f, x_cur)
    if f_pre == 0:
        return x_pre
    if f_cur == 0:
        return x_cur
    if math.copysign(1.0, f_pre) == math.copysign(1.0, f_cur):
        raise GeometryError(f"no sign change of the function over [{a}, {b}]")
    x_blk = f_blk = s_pre = s_cur = 0.0
    for _ in range(maxiter):
        if f_pre != 0 and f_cur != 0 and math.copysign(1.0, f_pre) != math.copysign(1.0, f_cur):
            x_blk, f_blk = x_pre, f_pre  # the bracket is [cur, pre]
            s_pre = s_cur = x_cur - x_pre
        if abs(f_blk) < abs(f_cur):  # cur is the end nearer the root
            x_pre, x_cur, x_blk = x_cur, x_blk, x_cur
            f_pre, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = (xtol + rtol * abs(x_cur)) / 2
        s_bis = (x_blk - x_cur) / 2
        if f_cur == 0 or abs(s_bis) < delta:
            return x_cur
        if abs(s_pre) > delta and abs(f_cur) < abs(f_pre):
            if x_pre == x_blk:  # secant
                s_try = -f_cur * (x_cur - x_pre) / (f_cur - f_pre)
            else:  # inverse quadratic interpolation
                d_pre = (f_pre - f_cur) / (x_pre - x_cur)
                d_blk = (f_blk - f_cur) / (x_blk - x_cur)
                s_try = -f_cur * (f_blk * d_blk - f_pre * d_pre) / (d_blk * d_pre * (f_blk - f_pre))
            if 2 * abs(s_try) < min(abs(s_pre), 3 * abs(s_bis) - delta):
                s_pre, s_cur = s_cur, s_try  # a short enough step: taken
            else:
                s_pre = s_cur = s_bis
        else:
            s_pre = s_cur = s_bis
        x_pre, f_pre = x_cur, f_cur
        x_cur += s_cur if abs(s_cur) > delta else math.copysign(delta, s_bis)
        f_cur = _value(f, x_cur)
    raise GeometryError(f"no root found in [{a}, {b}] in {maxiter} steps")


def _value(f: Callable[[float], float], x: float) -> float:
    y = float(f(x))
    if math.isnan(y):
        raise GeometryError(f"the function is NaN at {x}")
    return y
