"""The ``groundstation`` command line: the only importer of this package is itself.

Each command's module is imported only when that command runs. :func:`main` routes the
interrupt signals first and imports the command line after, so a Ctrl-C or SIGTERM that
lands while it loads ends in one line too.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``groundstation`` with ``argv`` (default: the process's arguments); exit status."""
    from groundstation.cli import interrupts

    previous = interrupts.install()
    try:
        from groundstation.cli.app import main as run

        return run(argv)
    finally:
        interrupts.restore(previous)
