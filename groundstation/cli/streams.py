"""Options of the live commands, ``listen`` and ``transmit`` (light: nothing heavy imported).

``listen`` takes a stream (ICD §8) and decodes it as it arrives; ``transmit`` streams a
session's downlinks. Both ends agree out of band on what a stream carries: sample format,
rate, band (or tuned frequency), start time and bit rate are given on both command lines.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from groundstation.cli.options import SCENARIOS, utc_argument

#: Sample formats a stream carries (ICD §2 datatypes, by their command-line names).
STREAM_FORMATS: Final = ("cf32", "cf64", "ci16", "ci8", "cu8")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value < 1e9):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation listen``."""
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="zmq://HOST:PORT (SUB to a PUB, as GNU Radio's ZMQ PUB sink), "
        "zmq+pull://HOST:PORT (PULL to a PUSH), udp://HOST:PORT (bound; GNU Radio's UDP "
        "sink sends to it) or - (standard input)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="output folder (as decode writes)"
    )
    facts = parser.add_argument_group("what the stream carries (agreed out of band)")
    facts.add_argument("--band", required=True, metavar="ID", help="band id (groundstation bands)")
    facts.add_argument(
        "--samp-rate", dest="fs_hz", type=float, required=True, metavar="HZ",
        help="complex sample rate (Hz)",
    )  # fmt: skip
    facts.add_argument(
        "--format", choices=STREAM_FORMATS, default="cf32", help="sample format (default cf32)"
    )
    facts.add_argument(
        "--bit-rate", dest="bit_rate_bps", type=float, default=None, metavar="BPS",
        help="telemetry bit rate (bit/s; required for a telemetry band)",
    )  # fmt: skip
    facts.add_argument(
        "--start", type=utc_argument, default=None, metavar="UTC",
        help="UTC of the first sample (default: times count from the first sample)",
    )  # fmt: skip
    ends = parser.add_argument_group("when to stop (also: end of input, SIGINT, SIGTERM)")
    ends.add_argument(
        "--duration", dest="duration_seconds", type=_positive, default=None, metavar="S",
        help="stop after this many seconds of samples",
    )  # fmt: skip
    ends.add_argument(
        "--idle-timeout", dest="idle_seconds", type=_positive, default=None, metavar="S",
        help="stop when nothing has arrived for this long (s of wall time)",
    )  # fmt: skip
    parser.add_argument(
        "--record", default=None, metavar="NAME",
        help="also keep the stream as the recording NAME.sigmf-meta + NAME.sigmf-data",
    )  # fmt: skip


def add_transmit_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation transmit``."""
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--session", type=int, default=None,
        help="session number N of the flight's schedule (default: the default contact's)",
    )  # fmt: skip
    when.add_argument("--at", default=None, metavar="UTC", help="UTC start of the session")
    parser.add_argument(
        "--scenario", choices=SCENARIOS, metavar="SCENARIO", default="historical",
        help="%(choices)s (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--band", dest="bands", action="append", default=None, metavar="ID",
        help="only this band (repeat for several; default every band the spacecraft sends)",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=STREAM_FORMATS, default="cf32", help="sample format (default cf32)"
    )
    parser.add_argument(
        "--samp-rate", dest="fs_hz", type=float, default=None, metavar="HZ",
        help="resample every band to this rate (Hz; a ratio of integers up to 1000 of the "
        "band's own; default: each band's own rate)",
    )  # fmt: skip
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed", type=_positive, default=1.0, metavar="X",
        help="times real time (default 1: real time)",
    )  # fmt: skip
    pace.add_argument("--fast", action="store_true", help="as fast as the receiving end takes it")
    parser.add_argument(
        "--to", required=True, metavar="TARGET",
        help="zmq://HOST:PORT (binds a PUB, as GNU Radio's ZMQ PUB sink; several bands on "
        "consecutive ports), udp://HOST:PORT, - (standard output, one band) or "
        "NAME.sigmf-meta",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1962, help="seed of every random draw")
