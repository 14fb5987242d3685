"""``python -m groundstation`` runs the command line."""

import sys

from groundstation.cli import interrupts

interrupts.install()  # before anything heavy is imported: an early Ctrl-C is one line too

from groundstation.cli import main  # noqa: E402

sys.exit(main())
