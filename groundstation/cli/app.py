"""The ``groundstation`` command line.

Every failure a user can cause (bad input, unknown band, missing file) ends in one line on
standard error and a non-zero exit status; nothing here prints a traceback unless asked to
with ``-vv``. Text from a recording's metadata is escaped before it reaches the terminal.

Exit status: 0 decoded (warnings may have been printed), 2 bad input or usage, 3 the run
found no signal (what was measured is still written), 1 internal error only, 130 / 143 / 129
interrupted by SIGINT / SIGTERM / SIGHUP (temporary files removed, finished outputs kept).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from groundstation.cli import interrupts, options, streams
from groundstation.cli.bands import add_bands_arguments
from groundstation.cli.decode import add_decode_arguments
from groundstation.errors import GroundStationError, NoSignalError
from signals import __version__
from signals.errors import SignalsError

log = logging.getLogger("groundstation")

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_ERROR = 2
EXIT_NO_SIGNAL = 3
EXIT_INTERRUPTED = 130


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"groundstation: {record.levelname.lower()}: {message}"
        return f"groundstation: {message}"


def _setup_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("matplotlib", "PIL", "asyncio", "bokeh", "tornado", "fsspec"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # dask logs its own retries and shutdown: silent by default, so that the outcome is
    # the last line; -v shows its warnings, -vv everything
    logging.getLogger("distributed").setLevel(
        {0: logging.CRITICAL + 1, 1: logging.WARNING}.get(verbosity, logging.DEBUG)
    )


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences, newlines) shown as escapes."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _error_line(message: str) -> None:
    print(f"groundstation: error: {printable(message)}", file=sys.stderr)


class UsageError(GroundStationError):
    """The command line itself is wrong (an unknown option, a missing argument)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


#: Ranges of the numeric options, by the unit their name ends in (units are in every name).
_OPTION_RANGES: dict[str, tuple[float, float]] = {
    "_hz": (-1e12, 1e12),
    "_db": (-100.0, 100.0),
    "_dbhz": (-100.0, 150.0),
    "_s": (0.0, 3600.0),
    "duration": (0.0, 3600.0),
    "_ppm": (-1e4, 1e4),
}


#: No numeric option of any command is meaningful beyond this magnitude.
_LARGEST_OPTION = 1e15


def _check_options(args: argparse.Namespace) -> str | None:
    """The first numeric option that is not finite or out of its unit's range, as a message."""
    for dest, value in vars(args).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        option = "--" + dest.replace("_", "-")
        if not math.isfinite(value):
            return f"{option} {value} is not a finite number"
        if dest == "seed" and value < 0:
            return f"--seed {value} must be 0 or more"
        if abs(value) > _LARGEST_OPTION:
            return f"{option} {value:g} is out of range"
        for suffix, (low, high) in _OPTION_RANGES.items():
            if dest.endswith(suffix) and not low <= value <= high:
                return f"{option} {value:g} is outside {low:g} to {high:g}"
        if dest.endswith("fs_hz") and value <= 0:
            return f"{option} {value:g} must be positive"
    return None


def _load(module_name: str):
    return importlib.import_module(module_name)


# ---------------------------------------------------------------------------- commands


def _cmd_synth(args: argparse.Namespace) -> int:
    module = _load(f"groundstation.cli.synth.{args.kind}")
    meta_path = module.run_synth(args)
    print(f"wrote {meta_path}")
    return EXIT_OK


def _cmd_decode(args: argparse.Namespace) -> int:
    from groundstation.cli.decode import run_decode_command

    return run_decode_command(args)


def _cmd_bands(args: argparse.Namespace) -> int:
    from groundstation.cli.bands import run_bands_command

    return run_bands_command(args)


def _cmd_contact(args: argparse.Namespace) -> int:
    from groundstation.outputs.drawing import FigureProcess

    # the figures' process starts first: it imports matplotlib while this one imports the
    # session and emulates it, and readies the telemetry plots' panels (one per telemetry
    # band and the report's; their paths come with the plan). This process draws some of
    # them too, its matplotlib imported as the figures' process imports it.
    figures = FigureProcess(lighter_matplotlib=True) if args.scenario != "sputnik22" else None
    if figures is not None:
        from signals.bands import bands_of_kind

        for _ in bands_of_kind("telemetry"):
            figures.expect("telemetry")
        figures.expect("telemetry_panels")
    try:
        from groundstation.session.contact import run_contact_command

        return run_contact_command(args, figures)
    finally:
        if figures is not None:
            figures.close()


def _cmd_transmit(args: argparse.Namespace) -> int:
    from groundstation.session.transmit import run_transmit_command

    return run_transmit_command(args)


def _cmd_listen(args: argparse.Namespace) -> int:
    from groundstation.cli.listen import run_listen_command

    return run_listen_command(args)


def _cmd_mission(args: argparse.Namespace) -> int:
    from groundstation.session.mission import run_mission_command

    return run_mission_command(args)


def _cmd_ephemeris(args: argparse.Namespace) -> int:
    from groundstation.cli.ephemeris import run_ephemeris_command

    return run_ephemeris_command(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    from groundstation.cli.bench import run_bench_command

    return run_bench_command(args)


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser.

    Light: the options are defined in :mod:`groundstation.cli.options` (and the decode and
    bands options in their own light modules); a command's own modules are imported only
    when it runs, so ``--version`` and ``--help`` import no numerical or plotting library.
    """
    parser = _Parser(
        prog="groundstation",
        description="Mars 1 (1962) ground-station emulator and telemetry decoder.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail (-v info, -vv debug)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    contact = commands.add_parser(
        "contact", help="run an emulated contact session with Mars 1 (the main job)"
    )
    options.add_contact_arguments(contact)
    contact.set_defaults(func=_cmd_contact)

    mission = commands.add_parser("mission", help="replay the flight's sessions, launch to flyby")
    options.add_mission_arguments(mission)
    mission.set_defaults(func=_cmd_mission)

    ephemeris = commands.add_parser(
        "ephemeris", help="the probe's range, Doppler, elevation and position over time"
    )
    options.add_ephemeris_arguments(ephemeris)
    ephemeris.set_defaults(func=_cmd_ephemeris)

    synth = commands.add_parser("synth", help="synthesise a recording of one band")
    kinds = synth.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, (help_text, add_arguments) in options.SYNTH_KINDS.items():
        sub = kinds.add_parser(kind, help=help_text)
        add_arguments(sub)
        sub.set_defaults(func=_cmd_synth)

    decode = commands.add_parser(
        "decode",
        help="decode recordings of any downlink band: SigMF, SigMF archive, WAV, raw I/Q, stdin",
    )
    add_decode_arguments(decode)
    decode.set_defaults(func=_cmd_decode)

    bands = commands.add_parser("bands", help="list the bands, their carriers and sample rates")
    add_bands_arguments(bands)
    bands.set_defaults(func=_cmd_bands)

    listen = commands.add_parser(
        "listen", help="decode a live stream (ZeroMQ, UDP, a pipe) as it arrives"
    )
    streams.add_listen_arguments(listen)
    listen.set_defaults(func=_cmd_listen)

    transmit = commands.add_parser(
        "transmit", help="stream a session's downlinks live (ZeroMQ, UDP, a pipe, a file)"
    )
    streams.add_transmit_arguments(transmit)
    transmit.set_defaults(func=_cmd_transmit)

    bench = commands.add_parser(
        "bench", help="run the benchmark suite and print a throughput table"
    )
    options.add_bench_arguments(bench)
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    SIGINT, SIGTERM and SIGHUP are handled for the whole run, start-up included (see
    :mod:`groundstation.cli.interrupts`); the previous handlers are put back on return.
    """
    previous = interrupts.install()
    verbose = 0
    try:
        interrupts.arm()
        parser = build_parser()
        args = parser.parse_args(argv)
        verbose = args.verbose
        _setup_logging(args.verbose)
        if args.command is None:
            parser.print_help()
            return EXIT_OK
        problem = _check_options(args)
        if problem:
            _error_line(problem)
            return EXIT_ERROR
        with warnings.catch_warnings():
            if verbose < 2:  # numeric warnings are detail: the outcome is in the last line
                warnings.simplefilter("ignore", RuntimeWarning)
            status = args.func(args)
        interrupts.raise_if_missed()
        return status
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:
        # an interrupt a library turned into an error of its own ended the run all the same
        interrupt = interrupts.raised_meanwhile()
        if interrupt is not None:
            return _interrupted(interrupt)
        return _failed(exc, verbose)
    finally:
        interrupts.disarm()
        interrupts.restore(previous)


def _interrupted(exc: KeyboardInterrupt) -> int:
    """One line for an interrupted run; its exit status."""
    status = interrupts.interrupted(exc)
    print(
        "groundstation: interrupted; temporary files removed, finished outputs kept",
        file=sys.stderr,
    )
    return status


def _failed(exc: Exception, verbose: int) -> int:
    """One line for a run that ended in ``exc``; its exit status (at ``-vv`` an internal
    error is raised again, with its traceback)."""
    if isinstance(exc, NoSignalError):
        _error_line(str(exc))
        return EXIT_NO_SIGNAL
    if isinstance(exc, (GroundStationError, SignalsError)):
        _error_line(str(exc))
        return EXIT_ERROR
    if isinstance(exc, OSError):
        _error_line(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_ERROR
    if isinstance(exc, (MemoryError, RecursionError)):
        _error_line(f"not enough memory for this input ({type(exc).__name__})")
        return EXIT_ERROR
    if verbose >= 2:
        raise exc
    print(
        f"groundstation: internal error: {type(exc).__name__}: "
        f"{printable(str(exc))} (-vv for details)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
