"""Progress display for long jobs (a tqdm bar on standard error when it is a terminal)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress(total: float | None, desc: str, unit: str = "sample", *, enabled: bool = True) -> tqdm:
    """Return a progress bar; call ``update(n)`` on it and close it (or use ``with``).

    The bar is drawn only when standard error is a terminal and ``enabled`` is true, so
    logs and tests stay clean.
    """
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        dynamic_ncols=True,
        leave=False,
        file=sys.stderr,
        disable=(not enabled) or not sys.stderr.isatty(),
    )
