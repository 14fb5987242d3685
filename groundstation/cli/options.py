"""The options of every ``groundstation`` command, light to import.

Building the argument parser imports this module and nothing heavy: no numpy, no
receiver, no ephemeris, no plotting. ``groundstation --version`` and ``... --help`` stay
fast, and each command imports what it needs only when it runs. Values an option is
checked against (bit rates, image sources, scenarios, UTC parsing) are read from the
module that defines them, and only when an option is parsed or its help is printed.
"""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

#: Default epoch of a synthetic PPM or telemetry recording (5 November 1962, dish pointed).
DEFAULT_START_UTC: Final = datetime(1962, 11, 5, 9, 0, 0, tzinfo=UTC)
#: Default epoch of a synthetic 8 cm carrier recording (a December 1962 session).
DEFAULT_AT_UTC: Final = datetime(1962, 12, 13, 9, 0, 0, tzinfo=UTC)

#: Band ids accepted by ``synth tlm --band`` (short and full).
TLM_BAND_ALIASES: Final = {
    "32cm": "32cm-tlm",
    "32cm-tlm": "32cm-tlm",
    "1.6m": "1.6m-tlm",
    "1.6m-tlm": "1.6m-tlm",
}


class DefinedIn:
    """``argparse`` choices read from ``module.attribute`` only when they are needed.

    Give the option a ``metavar`` (argparse would otherwise list the choices while the
    parser is built) and ``%(choices)s`` in its help.
    """

    def __init__(self, module: str, attribute: str, *extra: str) -> None:
        self.module = module
        self.attribute = attribute
        self.extra = extra

    def _names(self) -> tuple[str, ...]:
        names = getattr(importlib.import_module(self.module), self.attribute)
        return (*sorted(names), *self.extra)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, value: object) -> bool:
        return value in self._names()


class ScheduleLength:
    """The number of sessions in the replay's schedule, counted only when the help is printed
    (``%(last_session)s``), so the help and the error for a number past the last agree."""

    def __str__(self) -> str:
        from groundstation.session.schedule import mission_schedule

        return str(len(mission_schedule()))


SCENARIOS = DefinedIn("signals.mission", "SCENARIOS")
#: ``contact`` also listens for the sister craft lost in its parking orbit (Sputnik 22).
CONTACT_SCENARIOS = DefinedIn("signals.mission", "SCENARIOS", "sputnik22")
IMAGE_SOURCES = DefinedIn("signals.sources.images", "IMAGE_SOURCES")


def utc_argument(text: str) -> datetime:
    """An ``argparse`` type: an ISO 8601 time, UTC when it has no zone, within the years a
    recording's ``core:datetime`` may carry (1957-2099)."""
    from groundstation.io.recording import EARLIEST_UTC, LATEST_UTC, parse_utc

    try:
        t = parse_utc(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if not EARLIEST_UTC <= t < LATEST_UTC:
        years = f"{EARLIEST_UTC.year}-{LATEST_UTC.year - 1}"
        raise argparse.ArgumentTypeError(f"{text!r} is outside {years}")
    return t


def parse_line_list(text: str) -> tuple[int, ...]:
    """Parse ``"10-12,40"`` into (10, 11, 12, 40); an empty string gives ()."""
    out: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad line list {text!r}: expected numbers and ranges like 10-12,40"
            ) from None
    return tuple(sorted(set(out)))


def tlm_band(text: str) -> str:
    """An ``argparse`` type: a telemetry band id from its short or full name."""
    try:
        return TLM_BAND_ALIASES[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"unknown telemetry band {text!r}; expected 32cm, 1.6m, 32cm-tlm or 1.6m-tlm"
        ) from None


def tlm_bit_rate(text: str) -> int:
    """An ``argparse`` type: one of the telemetry bit rates of ICD §4 (bit/s)."""
    from signals.formats.tlm import BIT_RATES_BPS

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value not in BIT_RATES_BPS:
        raise argparse.ArgumentTypeError(
            f"bit rate {text} is not one of {', '.join(map(str, BIT_RATES_BPS))} bit/s"
        )
    return int(value)


def _scenario(parser: argparse.ArgumentParser, choices: DefinedIn = SCENARIOS) -> None:
    parser.add_argument(
        "--scenario",
        choices=choices,
        metavar="SCENARIO",
        default="historical",
        help="%(choices)s: historical is the real flight, nominal as planned (no leak)"
        + (
            "; sputnik22 the sister craft lost in its parking orbit on 24 Oct 1962"
            if choices is CONTACT_SCENARIOS
            else ""
        )
        + " (default %(default)s)",
    )


def _output(
    parser: argparse.ArgumentParser, default: Path | None, help_text: str, *, required=False
) -> None:
    parser.add_argument(
        "-o", "--output", type=Path, default=default, required=required, help=help_text
    )


# ---------------------------------------------------------------------------- commands


def add_contact_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation contact``."""
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        default=None,
        help="UTC start of the session, e.g. 1962-11-04T10:00Z (must be visible)",
    )
    session = when.add_argument(
        "--session",
        type=int,
        default=None,
        help="session number N of the mission replay's schedule (1-%(last_session)s)",
    )
    session.last_session = ScheduleLength()  # type: ignore[attr-defined]
    _scenario(parser, CONTACT_SCENARIOS)
    _output(parser, Path("contact"), "session folder (default ./contact)")
    parser.add_argument(
        "--record", action="store_true", help="keep the SigMF recordings in the session folder"
    )
    live = parser.add_argument_group("live (a page on 127.0.0.1 shows the session happening)")
    live.add_argument(
        "--live",
        action="store_true",
        help="play the downlinks through transmit and listen at once and serve a page that "
        "shows them: waterfalls, margins, telemetry, the image line by line, the command log",
    )
    pace = live.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="times real time (default 1)"
    )
    pace.add_argument("--fast", action="store_true", help="as fast as the receivers take it")
    live.add_argument(
        "--port", type=int, default=0, help="the page's port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument("--seed", type=int, default=1962, help="seed of every random draw")
    parser.add_argument(
        "--carrier-s",
        type=float,
        default=None,
        help="seconds of plain carrier before the telemetry frames, a multiple of 10 up to "
        "2550 (default 20; the 1962 sessions used about 17 minutes: --carrier-s 1020)",
    )


def add_mission_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation mission``."""
    _scenario(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local dask worker processes (default: one per core, at most 4)",
    )
    where.add_argument(
        "--scheduler",
        default=None,
        help="address of an existing dask scheduler, e.g. tcp://host:8786",
    )
    parser.add_argument("--until", default=None, help="replay only sessions up to this UTC date")
    parser.add_argument(
        "--sessions", default=None, help="only these session numbers, e.g. 1,30,59-63"
    )
    parser.add_argument("--seed", type=int, default=1962)
    parser.add_argument(
        "--session-folders",
        action="store_true",
        help="also keep each session's folder (session.json, telemetry)",
    )
    _output(parser, Path("mission"), "output folder (default ./mission)")


def add_ephemeris_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation ephemeris``."""
    parser.add_argument("--from", dest="start", required=True, help="first time (UTC, ISO 8601)")
    parser.add_argument("--to", dest="end", required=True, help="last time (UTC, ISO 8601)")
    parser.add_argument("--step", required=True, help="time step, e.g. 30s, 10min, 1h, 1d")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="write to FILE (default: stdout)"
    )


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation bench``."""
    parser.add_argument(
        "--size",
        choices=("smoke", "full"),
        default="smoke",
        help="smoke: seconds, for a quick check (default); full: the README's sizes",
    )
    parser.add_argument("-k", dest="select", default=None, help="only benchmarks matching this")
    parser.add_argument("--save", default=None, help="save the run as NAME for later comparison")
    parser.add_argument("--compare", default=None, help="compare with saved run NAME (or 'last')")
    parser.add_argument(
        "--fail-over",
        type=float,
        default=None,
        metavar="PERCENT",
        help="with --compare: fail when a mean is slower by more than PERCENT",
    )


def _options(parser: argparse.ArgumentParser, kind: type, *options: tuple[str, Any, str]) -> None:
    """Options that take one number each, as (flag, default, help) rows, in order."""
    for flag, default, help_text in options:
        parser.add_argument(flag, type=kind, default=default, help=help_text)


def _start_utc(parser: argparse.ArgumentParser, flag: str, default: datetime) -> None:
    """The UTC of a synthetic recording's first sample."""
    parser.add_argument(
        flag,
        type=utc_argument,
        default=default,
        help=f"UTC of the first sample (ISO 8601; default {default:%Y-%m-%dT%H:%M:%SZ})",
    )


def _recording_name(parser: argparse.ArgumentParser) -> None:
    _output(parser, None, "recording name NAME (writes NAME.sigmf-*)", required=True)


#: The oscillator's phase noise of a synthetic carrier (telemetry and 8 cm bands).
_PHASE_NOISE: Final = "oscillator phase noise, random walk in rad/sqrt(s) (default 0"


def add_synth_ppm_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation synth ppm``."""
    parser.add_argument(
        "--source",
        choices=IMAGE_SOURCES,
        metavar="SOURCE",
        default="mars",
        help="image source: %(choices)s (default %(default)s)",
    )
    _options(
        parser,
        int,
        ("--lines", 64, "image lines (default 64)"),
        ("--pixels", 64, "pixels per line (default 64)"),
        ("--image-id", 1, "header image id (default 1)"),
        ("--mode", 0, "0 full image, k >= 2 survey of every k-th line"),
        ("--repeat", 1, "transmissions of the image (default 1)"),
        ("--gap-periods", 90, "silent periods between repeated transmissions (default 90 = 1 s)"),
    )
    _options(
        parser,
        float,
        ("--fs-hz", 180_000.0, "sample rate in Hz (default 180000)"),
        ("--esn0-db", 16.0, "Es/N0 per pulse in dB (default 16)"),
    )
    parser.add_argument("--noiseless", action="store_true", help="no noise (overrides --esn0-db)")
    _options(
        parser,
        float,
        ("--clock-ppm", 0.0, "on-board clock error in ppm (ICD ±100)"),
        ("--drift-ppm-per-hour", 0.0, "clock drift (ICD ≤ 1 ppm/h)"),
        (
            "--doppler-ppm",
            0.0,
            "range rate over c in ppm, stretches the timing (ICD |v/c| ≤ 60 ppm)",
        ),
        ("--carrier-offset-hz", 0.0, "residual offset (ICD ±30 kHz)"),
        ("--carrier-rate-hz-per-s", 0.0, "offset rate (ICD ≤ 5 Hz/s)"),
    )
    parser.add_argument(
        "--fade-lines",
        type=parse_line_list,
        default=(),
        help='line numbers lost in a fade, e.g. "10-12,40"',
    )
    _options(
        parser,
        float,
        ("--lead-s", 0.25, "silence before the image in s (default 0.25)"),
        ("--tail-s", 0.25, "silence after the image in s (default 0.25)"),
    )
    _options(parser, int, ("--seed", 1, "random seed (default 1)"))
    _start_utc(parser, "--start", DEFAULT_START_UTC)
    _recording_name(parser)


def add_synth_tlm_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation synth tlm``."""
    parser.add_argument(
        "--band", type=tlm_band, default="32cm-tlm", help="32cm (default) or 1.6m (or full ids)"
    )
    parser.add_argument(
        "--rate",
        type=tlm_bit_rate,
        default=64,
        help="bit rate in bit/s: 1, 2, 4, ... 128 (default 64)",
    )
    _start_utc(parser, "--start", DEFAULT_START_UTC)
    _options(
        parser,
        float,
        ("--duration", None, "recording length in s (default: the carrier plus 10 whole frames)"),
    )
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--ebn0-db", type=float, default=None, help="Eb/N0 in dB (default 12)")
    level.add_argument("--cn0-dbhz", type=float, default=None, help="C/N0 in dB-Hz")
    _options(
        parser,
        float,
        (
            "--carrier-s",
            None,
            "unmodulated carrier before the frames in s "
            "(default: signals.formats.tlm.DEFAULT_CARRIER_S)",
        ),
        ("--carrier-offset-hz", 0.0, "residual offset in Hz (default 0)"),
        ("--carrier-rate-hz-per-s", 0.0, "rate of the residual offset in Hz/s (default 0)"),
        ("--phase-noise", 0.0, _PHASE_NOISE + "; ICD limit 0.05)"),
        ("--clock-ppm", 0.0, "on-board clock error in ppm: intervals x (1 + ppm/1e6) (default 0)"),
    )
    parser.add_argument(
        "--invert", action="store_true", help="send every bit inverted (180° ambiguity)"
    )
    _options(parser, float, ("--fs-hz", 8000.0, "sample rate in Hz (default 8000)"))
    _options(parser, int, ("--seed", 0, "random seed (default 0)"))
    _scenario(parser)
    _recording_name(parser)


def add_synth_carrier_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``groundstation synth carrier``."""
    _start_utc(parser, "--at", DEFAULT_AT_UTC)
    parser.add_argument(
        "--two-way", action="store_true", help="downlink locked to the 39 cm uplink (6/5)"
    )
    _options(
        parser,
        float,
        ("--duration", 10.0, "length in s (default 10)"),
        ("--cn0-dbhz", 40.0, "carrier C/N0 in dB-Hz (default 40)"),
        ("--fs-hz", 8000.0, "sample rate in Hz (default 8000)"),
    )
    _options(parser, int, ("--seed", 0, "random seed (default 0)"))
    _options(
        parser,
        float,
        (
            "--osc-ppm",
            None,
            "one-way on-board oscillator offset in ppm (default: drawn within ±0.5)",
        ),
        (
            "--prediction-error-m-s",
            0.0,
            "range-rate error of the station's prediction in m/s (default 0)",
        ),
        ("--phase-noise", 0.0, _PHASE_NOISE + ")"),
    )
    _recording_name(parser)


#: ``synth`` kinds: (help, options); each runs ``groundstation.cli.synth.<kind>.run_synth``.
SYNTH_KINDS: Final = {
    "ppm": ("5 cm PPM image recording (ICD §3)", add_synth_ppm_arguments),
    "tlm": ("32 cm / 1.6 m telemetry recording (ICD §4)", add_synth_tlm_arguments),
    "carrier": ("8 cm coherent carrier recording (ICD §6)", add_synth_carrier_arguments),
}
