"""``python -m groundstation`` runs the command line."""

from groundstation.cli import interrupts

interrupts.install()  # before anything heavy is imported: an early Ctrl-C is one line too

from groundstation.cli import run  # noqa: E402

run()
