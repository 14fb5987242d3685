"""Progress display for long jobs (a tqdm bar on standard error when it is a terminal).

tqdm is imported only when a bar is drawn: a decode whose standard error is a file or a
pipe (a script, a test, a worker) does not carry its 5 MB.
"""

from __future__ import annotations

import sys
from typing import Any


class QuietBar:
    """What :func:`progress` returns when no bar is drawn: a bar's calls, doing nothing but
    counting."""

    def __init__(self, total: float | None = None) -> None:
        self.total = total
        self.n: float = 0

    def update(self, n: float = 1) -> None:
        self.n += n

    def set_description_str(self, desc: str | None = None, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> QuietBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(total: float | None, desc: str, unit: str = "sample", *, enabled: bool = True) -> Any:
    """Return a progress bar; call ``update(n)`` on it and close it (or use ``with``).

    The bar is drawn only when standard error is a terminal and ``enabled`` is true, so
    logs and tests stay clean; otherwise the bar is a :class:`QuietBar`.
    """
    if not enabled or not sys.stderr.isatty():
        return QuietBar(total)
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        dynamic_ncols=True,
        leave=False,
        file=sys.stderr,
    )
