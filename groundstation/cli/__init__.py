"""The ``groundstation`` command line: the only importer of this package is itself.

Each command's module is imported only when that command runs. :func:`main` routes the
interrupt signals first and imports the command line after, so a Ctrl-C or SIGTERM that
lands while it loads ends in one line too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``groundstation`` with ``argv`` (default: the process's arguments); exit status."""
    from groundstation.cli import interrupts

    previous = interrupts.install()
    try:
        from groundstation.cli.app import main as run_app

        return run_app(argv)
    finally:
        interrupts.restore(previous)


def run() -> NoReturn:
    """The process's entry point: run the command line and exit with its status.

    A signal that lands after the run is over (its outputs final, the interpreter shutting
    down) neither changes the status nor kills the process.

    What the run leaves in memory is frozen out of the cyclic garbage collector before the
    interpreter shuts down: its last collection would otherwise walk every object the
    imported libraries made (numba's and matplotlib's among them), up to a second of a
    decode that is over. Files are closed and flushed as before (by reference counting and
    the interpreter's own shut-down); only unreachable cycles are left to the process's
    end, which frees their memory anyway.
    """
    import gc

    from groundstation.cli import interrupts

    interrupts.install()
    status = main()
    interrupts.ignore_from_now()
    gc.freeze()
    sys.exit(status)
