"""The ``groundstation`` command line.

Every failure a user can cause (bad input, unknown band, missing file) ends in one line on
standard error and a non-zero exit status; nothing here prints a traceback unless asked to
with ``-vv``.

Exit status: 0 success (warnings may have been printed), 1 internal error, 2 an error
explained on standard error (nothing decoded, bad input), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from groundstation.errors import GroundStationError
from signals import __version__
from signals.errors import SignalsError

log = logging.getLogger("groundstation")

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

#: ``synth`` kinds and the module that provides their options and runner.
SYNTH_MODULES = {
    "ppm": ("groundstation.cli.synth.ppm", "5 cm PPM image recording (ICD §3)"),
    "tlm": ("groundstation.cli.synth.tlm", "32 cm / 1.6 m telemetry recording (ICD §4)"),
    "carrier": ("groundstation.cli.synth.carrier", "8 cm coherent carrier recording (ICD §6)"),
}

#: Which decoder handles each band: (module, function).
DECODERS = {
    "5cm-ppm": ("groundstation.outputs.ppm", "decode_ppm_to_dir"),
    "32cm-tlm": ("groundstation.outputs.tlm", "decode_tlm_to_dir"),
    "1.6m-tlm": ("groundstation.outputs.tlm", "decode_tlm_to_dir"),
    "8cm-carrier": ("groundstation.outputs.carrier", "decode_carrier_to_dir"),
    "39cm-up": ("groundstation.outputs.carrier", "decode_carrier_to_dir"),
}


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
    # dask reports its own shutdown (workers stopped, comms closed) as warnings
    logging.getLogger("distributed").setLevel(logging.DEBUG if verbosity >= 2 else logging.ERROR)


def _load(module_name: str):
    return importlib.import_module(module_name)


# ---------------------------------------------------------------------------- commands


def _cmd_synth(args: argparse.Namespace) -> int:
    module = _load(SYNTH_MODULES[args.kind][0])
    meta_path = module.run_synth(args)
    print(f"wrote {meta_path}")
    return EXIT_OK


def decode_recording(
    meta_path: Path | str, outdir: Path | str, *, show_progress: bool = True
) -> dict:
    """Decode one recording into ``outdir`` with the decoder of its band; return the summary."""
    from groundstation.io.recording import open_recording

    recording = open_recording(meta_path)
    recording.require_min_sample_rate()
    if recording.band not in DECODERS:
        raise GroundStationError(
            f"{recording.meta_path.name}: band {recording.band} is an uplink; "
            "this station decodes downlinks only"
        )
    module_name, function_name = DECODERS[recording.band]
    decoder: Callable[..., dict] = getattr(_load(module_name), function_name)
    return decoder(recording, Path(outdir), show_progress=show_progress)


def _cmd_decode(args: argparse.Namespace) -> int:
    from groundstation.io.recording import base_path

    outdir = args.output or Path(base_path(args.recording).name + "_decoded")
    summary = decode_recording(args.recording, outdir)
    print(describe_summary(summary, outdir))
    return EXIT_OK


def describe_summary(summary: dict, outdir: Path | str) -> str:
    """One or a few lines telling the user what was decoded and where it is."""
    lines = []
    for image in summary.get("images", []):
        missing = len(image.get("lines_missing", []))
        lines.append(
            f"image {image['id']}: {image['lines']}×{image['pixels']} px, "
            f"{image['lines_received']} lines received, {missing} missing, "
            f"SNR {image.get('snr_db', float('nan')):.1f} dB -> {image.get('png', '')}"
        )
    if "frames" in summary:
        lines.append(
            f"{summary['frames']} telemetry frames ({summary.get('parity_failures', 0)} with "
            f"parity errors), C/N0 {summary.get('cn0_dbhz', float('nan')):.1f} dB-Hz"
        )
    if "frequency_offset_hz" in summary:
        lines.append(
            f"carrier at {summary['frequency_offset_hz']:+.2f} Hz from the tuned frequency, "
            f"C/N0 {summary.get('cn0_dbhz', float('nan')):.1f} dB-Hz"
        )
    lines.append(f"output in {outdir}/")
    return "\n".join(lines)


def _cmd_contact(args: argparse.Namespace) -> int:
    from groundstation.session.contact import run_contact_command

    return run_contact_command(args)


def _cmd_mission(args: argparse.Namespace) -> int:
    from groundstation.session.mission import run_mission_command

    return run_mission_command(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    from groundstation.cli.bench import run_bench_command

    return run_bench_command(args)


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (subcommands whose modules are missing are left out)."""
    parser = argparse.ArgumentParser(
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
    _add_optional(contact, "groundstation.session.contact", "add_contact_arguments")
    contact.set_defaults(func=_cmd_contact)

    mission = commands.add_parser("mission", help="replay the flight's sessions, launch to flyby")
    _add_optional(mission, "groundstation.session.mission", "add_mission_arguments")
    mission.set_defaults(func=_cmd_mission)

    synth = commands.add_parser("synth", help="synthesise a recording of one band")
    kinds = synth.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, (module_name, help_text) in SYNTH_MODULES.items():
        sub = kinds.add_parser(kind, help=help_text)
        _add_optional(sub, module_name, "add_synth_arguments")
        sub.add_argument(
            "-o",
            "--output",
            type=Path,
            required=True,
            help="recording name NAME (writes NAME.sigmf-*)",
        )
        sub.set_defaults(func=_cmd_synth)

    decode = commands.add_parser("decode", help="decode a SigMF recording of any downlink band")
    decode.add_argument("recording", type=Path, help="NAME.sigmf-meta (or NAME)")
    decode.add_argument(
        "-o", "--output", type=Path, default=None, help="output folder (default NAME_decoded)"
    )
    decode.set_defaults(func=_cmd_decode)

    bench = commands.add_parser(
        "bench", help="run the benchmark suite and print a throughput table"
    )
    _add_optional(bench, "groundstation.cli.bench", "add_bench_arguments")
    bench.set_defaults(func=_cmd_bench)
    return parser


def _add_optional(parser: argparse.ArgumentParser, module_name: str, function_name: str) -> None:
    try:
        module = _load(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        parser.set_defaults(unavailable=module_name)
        return
    getattr(module, function_name)(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if getattr(args, "unavailable", None):
        print(
            f"groundstation: error: {args.command} is not available in this build", file=sys.stderr
        )
        return EXIT_ERROR
    try:
        return args.func(args)
    except (GroundStationError, SignalsError) as exc:
        print(f"groundstation: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("groundstation: interrupted; files already written are complete", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        print(
            f"groundstation: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return EXIT_ERROR
    except Exception as exc:
        if args.verbose >= 2:
            raise
        print(
            f"groundstation: internal error: {type(exc).__name__}: {exc} (-vv for details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
