"""The ``groundstation`` command line: the only importer of this package is itself.

Each command's module is imported only when that command runs.
"""

from groundstation.cli.app import main

__all__ = ["main"]
