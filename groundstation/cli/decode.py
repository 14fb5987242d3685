"""``groundstation decode``: decode recordings in any form the station reads.

::

    groundstation decode pass.sigmf-meta -o out
    groundstation decode rtl.cu8 --samp-rate 250000 --freq 922.75e6 --start 1962-11-05T09:00Z -o out
    groundstation decode a.sigmf-meta b.wav c.sigmf --workers 2 -o out   # out/a, out/b, out/c

Options (gr-satellites' spellings in brackets): ``--format`` and ``--samp-rate``
(``--samp_rate``) for raw files and stdin; ``--band`` or ``--freq`` (``--rawfile``,
``--wavfile`` name inputs). For WAV and SigMF recordings the command line fills in or
overrides what the file gives. Several recordings decode in parallel on dask.distributed,
one output folder each.

Exit status: 0 decoded, 2 bad input, 3 nothing found (the waterfall and the measurements
are still written). With several recordings: 2 if any input was bad, else 3 if nothing was
found in any, else 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_NO_SIGNAL = 3

_FORMATS = ("cf32", "cf64", "ci16", "ci8", "cu8")
#: Smallest data file whose figures are drawn by a second process (bytes): below it the
#: decode is over before that process has started, and a caller decoding many small
#: recordings in one process (a test, a script) draws faster with matplotlib loaded once.
FIGURES_ASIDE_MIN_BYTES = 1 << 20
#: Largest block the allocator takes from its heap rather than mapping it on its own
#: (bytes; :func:`reuse_freed_memory`).
MMAP_THRESHOLD_BYTES = 8 << 20


def add_decode_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``groundstation decode`` (imports nothing heavy)."""
    parser.add_argument(
        "recordings",
        nargs="*",
        metavar="FILE",
        help="NAME.sigmf-meta (or NAME), NAME.sigmf (archive), a 2-channel I/Q WAV, "
        "a raw I/Q file, or - for standard input",
    )
    parser.add_argument(
        "--rawfile", action="append", default=[], metavar="FILE", help="a raw I/Q file"
    )
    parser.add_argument(
        "--wavfile", action="append", default=[], metavar="FILE", help="a 2-channel I/Q WAV"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="output folder (default NAME_decoded); with several recordings, OUT/NAME/ each",
    )
    facts = parser.add_argument_group(
        "what the recording does not say (required for raw files; overrides otherwise)"
    )
    facts.add_argument(
        "--format",
        choices=_FORMATS,
        default=None,
        help="sample format of a raw file (default from its extension: .cf32 .cs16 .cs8 .cu8)",
    )
    facts.add_argument(
        "--samp-rate",
        "--samp_rate",
        dest="fs_hz",
        type=float,
        default=None,
        metavar="HZ",
        help="complex sample rate (Hz)",
    )
    where = facts.add_mutually_exclusive_group()
    where.add_argument("--band", default=None, metavar="ID", help="band id (groundstation bands)")
    where.add_argument(
        "--freq",
        dest="frequency_hz",
        type=float,
        default=None,
        metavar="HZ",
        help="tuned frequency (Hz); the band is the one near it",
    )
    facts.add_argument(
        "--bit-rate",
        "--bit_rate",
        dest="bit_rate_bps",
        type=float,
        default=None,
        metavar="BPS",
        help="telemetry bit rate (default from the metadata, else detected)",
    )
    facts.add_argument(
        "--start",
        default=None,
        metavar="UTC",
        help="UTC of the first sample, ISO 8601 (default from the metadata, else times "
        "count from the first sample)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="a core:sha512 mismatch is an error, not a warning",
    )
    parallel = parser.add_mutually_exclusive_group()
    parallel.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="with several recordings: local dask worker processes (default one per core, "
        "at most 4)",
    )
    parallel.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with several recordings: an existing dask scheduler, e.g. tcp://host:8786",
    )


@dataclass(frozen=True)
class DecodeOutcome:
    """What decoding one recording came to (plain data: it crosses to dask workers).

    Attributes
    ----------
    source : str
        The path as given.
    outdir : str
        Its output folder.
    status : int
        0 decoded, 2 bad input, 3 nothing found.
    lines : tuple of str
        What to tell the user.
    warnings : tuple of str
        What the user should know about the input (printed on standard error).
    reason : str
        Why nothing was decoded (status 3).
    """

    source: str
    outdir: str
    status: int
    lines: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    reason: str = ""


def _options(args: argparse.Namespace):
    from groundstation.errors import RecordingError
    from groundstation.io.facts import SourceOptions
    from groundstation.io.recording import EARLIEST_UTC, LATEST_UTC, parse_utc

    start = None
    if args.start is not None:
        try:
            start = parse_utc(args.start)
        except (ValueError, OverflowError):
            raise RecordingError(f"--start {args.start!r} is not an ISO 8601 time") from None
        if not EARLIEST_UTC <= start < LATEST_UTC:
            years = f"{EARLIEST_UTC.year}-{LATEST_UTC.year - 1}"
            raise RecordingError(f"--start {args.start!r} is outside {years}")
    return SourceOptions(
        sample_format=args.format,
        fs_hz=args.fs_hz,
        band=args.band,
        frequency_hz=args.frequency_hz,
        bit_rate_bps=args.bit_rate_bps,
        start_utc=start,
    )


def _output_name(path: str) -> str:
    from groundstation.io.recording import base_path

    if path == "-":
        return "stdin"
    p = base_path(path)
    return p.stem if p.suffix.lower() in (".sigmf", ".wav") or p.suffix else p.name


def decode_one(
    path: str,
    outdir: str,
    options: Any,
    *,
    strict: bool = False,
    show_progress: bool = True,
    early_hash: Any = None,
    figures: Any = None,
) -> DecodeOutcome:
    """Decode one recording of any form into ``outdir``; write the waterfall and the report.

    Bad input raises (the caller turns it into one line); a recording in which nothing is
    found returns status 3 after writing the waterfall and what the spectrum shows.

    Parameters
    ----------
    path : str
        The recording, in any form :func:`groundstation.io.sources.open_source` reads.
    outdir : str
        Output folder (created).
    options : SourceOptions
        Facts from the command line.
    strict : bool
        A ``core:sha512`` mismatch is an error instead of a warning.
    show_progress : bool
        Draw progress bars on a terminal.
    early_hash : DatasetHash, optional
        The ``core:sha512`` check of this recording's data, started before it was opened
        (:func:`groundstation.io.hashing.hash_pair_early`): used if it covers the bytes the
        metadata's hash covers, else stopped and started anew. The caller stops it.
    figures : FigureProcess, optional
        The process that draws the figures while this one decodes (:func:`figures_process`,
        started by the caller before it loaded anything; the caller closes it): for a
        decode that has the machine to itself, not for one of several decoded side by
        side. Without it the figures are drawn here.
    """
    return _decode_source(path, Path(outdir), options, strict, show_progress, figures, early_hash)


def figures_process(path: str) -> Any:
    """A second process to draw the figures of the decode of ``path`` while it runs
    (:class:`groundstation.outputs.drawing.FigureProcess`), or None for a recording under
    :data:`FIGURES_ASIDE_MIN_BYTES` (drawn faster than a process starts).

    Started first, it imports matplotlib while the decode's process loads and reads. It draws
    every figure (the decode's process only any it could not): a decode's process never
    loads matplotlib, whichever of the two is faster.
    """
    from groundstation.outputs.drawing import FigureProcess

    return FigureProcess(share=False) if _data_bytes(path) >= FIGURES_ASIDE_MIN_BYTES else None


def _data_bytes(path: str) -> int:
    """Size of the file holding the samples of ``path`` (bytes; 0 for standard input or a
    file that cannot be read), found without reading the metadata."""
    if path == "-":
        return 0
    given = Path(path)
    name = given.name
    for suffix in (".sigmf-meta", ".sigmf-data"):
        name = name.removesuffix(suffix)
    if not name:  # a folder such as "." or "/": the reader says why it is no recording
        return 0
    for candidate in (given.with_name(name + ".sigmf-data"), given):
        try:
            if candidate.is_file():
                return candidate.stat().st_size
        except OSError:
            continue
    return 0


def _decode_source(
    path: str,
    out: Path,
    options: Any,
    strict: bool,
    show_progress: bool,
    figures: Any,
    early_hash: Any,
) -> DecodeOutcome:
    """:func:`decode_one`, the figures drawn by ``figures`` (a FigureProcess) if given."""
    import contextlib
    import importlib

    from groundstation.decode import DECODERS
    from groundstation.errors import DataFileError, GroundStationError
    from groundstation.io.files import staged_folder
    from groundstation.io.sources import open_source
    from groundstation.outputs.drawing import figures_aside
    from groundstation.outputs.overview import sampled_waterfall

    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open_source(path, options))
        recording = source.recording
        facts = source.facts
        recording.require_min_sample_rate()
        if recording.band not in DECODERS:
            raise GroundStationError(
                f"{facts.name}: band {recording.band} is an uplink; "
                "this station decodes downlinks only"
            )
        warnings: list[str] = []
        if facts.start_utc is None:
            warnings.append(
                "the recording gives no start time (core:datetime): times count from "
                "sample 0 and are written from 1970-01-01T00:00:00Z; give --start UTC"
            )
        # the hash is checked by a thread meanwhile, or first when a mismatch is an error
        digest = None
        if source.sha512_expected and not strict:
            digest = source.dataset_sha512_aside(early_hash)
            stack.callback(digest.cancel)

        def sha_state() -> str:
            if not source.sha512_expected:
                return "not given"
            actual = digest.hexdigest() if digest is not None else source.dataset_sha512()
            if actual == source.sha512_expected.lower():
                return "checked, matches"
            message = f"{facts.name}: the data does not match its core:sha512"
            if strict:
                raise DataFileError(message)
            warnings.append(message + " (damaged or altered after recording)")
            return "MISMATCH"

        checked = sha_state() if strict else None
        survey = sampled_waterfall(recording.read, recording.n_samples, recording.fs_hz)
        module_name, function_name = DECODERS[recording.band]
        decoder = getattr(importlib.import_module(module_name), function_name)
        inputs = [recording.data_path]
        if facts.form == "sigmf":
            inputs.append(recording.meta_path)
        # the figures' process is stopped before the staging folder is removed on an error
        aside = figures_aside(figures) if figures is not None else contextlib.nullcontext()
        with staged_folder(out, own_files=["summary.json"], inputs=inputs) as staging, aside:
            status, summary, measurement = _decode_into(
                staging,
                decoder,
                source,
                survey,
                warnings,
                (lambda: checked) if checked is not None else sha_state,
                path,
                show_progress,
            )
    lines = []
    if status == EXIT_NO_SIGNAL:
        if measurement is not None:
            m = measurement
            lines.append(
                f"searched {m.search_lower_hz:,.0f} to {m.search_upper_hz:,.0f} Hz over "
                f"{m.duration_s:.2f} s: noise floor {m.noise_floor_db_hz:.1f} dB re 1/Hz, "
                f"strongest line {m.peak_offset_hz:+,.1f} Hz from the tuned frequency, "
                f"{m.peak_above_floor_db:.1f} dB above the floor"
            )
        lines.append(f"output in {out}/ (waterfall.png, report.html)")
    else:
        lines.extend(describe_summary(summary, out).splitlines())
    return DecodeOutcome(
        str(path),
        str(out),
        status,
        tuple(lines),
        tuple(warnings),
        str(summary.get("reason", "")),
    )


def _decode_into(
    out: Path,
    decoder: Any,
    source: Any,
    survey: Any,
    warnings: list[str],
    sha_state: Callable[[], str],
    path: str,
    show_progress: bool,
) -> tuple[int, dict, Any]:
    """Run the band's decoder into ``out`` and write the waterfall, summary and report."""
    import json

    from groundstation.errors import NoSignalError
    from groundstation.io.files import write_json
    from groundstation.io.writer import link_data_beside
    from groundstation.outputs.drawing import draw_png, wait_for_figures
    from groundstation.outputs.figures import waterfall_drawable
    from groundstation.outputs.overview import measure_spectrum, waterfall_caption
    from groundstation.outputs.records import no_signal_record

    recording, facts, waterfall = source.recording, source.facts, survey.waterfall
    title = f"{facts.name} ({facts.band})"
    drawn = waterfall_drawable(waterfall)
    if drawn:  # in a second process while this one decodes (decode_one's figures)
        draw_png("waterfall", out / "waterfall.png", waterfall, title)
    status = EXIT_OK
    try:
        decoder(recording, out, show_progress=show_progress)
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except NoSignalError as exc:
        status = EXIT_NO_SIGNAL
        summary = {
            **no_signal_record(facts.name, str(exc)),
            "band": facts.band,
            "status": "no signal",
            "fs_hz": facts.fs_hz,
            "n_samples": facts.n_samples,
            "start_utc": facts.start_utc,
        }
    # the page's modules (jinja2, PIL) load now, while the figures' process draws the
    # band's figure and the thread hashing the data finishes, not before the decode
    from groundstation.report.decode_page import write_decode_report

    annotated = out / (recording.name + ".sigmf-meta")
    if facts.form == "stdin":
        _keep_spooled_samples(recording, out)
    elif annotated.exists():
        link_data_beside(recording.data_path, annotated)
    measurement = measure_spectrum(
        waterfall, facts.band, facts.center_frequency_hz, facts.duration_s or 0.0
    )
    summary["source"] = {
        "path": str(path),
        "form": facts.form,
        "datatype": facts.datatype,
        "tuned_frequency_hz": facts.center_frequency_hz,
        "duration_s": facts.duration_s,
        "start_utc": facts.start_utc,
        "start_utc_known": facts.start_utc is not None,
        "sha512": sha_state(),
    }
    if measurement is not None:
        summary["spectrum"] = {
            **measurement.as_dict(),
            "nonfinite_fraction": round(survey.nonfinite_fraction, 6),
        }
    summary["waterfall_png"] = "waterfall.png" if drawn else None
    summary["report_html"] = "report.html"
    if isinstance(summary.get("outputs"), list):
        written = ["waterfall.png"] if drawn else []
        summary["outputs"] = [*summary["outputs"], *written, "report.html"]
    summary["warnings"] = [*warnings, *summary.get("warnings", [])]
    write_json(out / "summary.json", summary)
    wait_for_figures()  # the page embeds them
    write_decode_report(
        out / "report.html", summary, waterfall_caption=waterfall_caption(waterfall)
    )
    return status, summary, measurement


def _keep_spooled_samples(recording: Any, out: Path) -> None:
    """Standard input leaves no file behind: move its spooled samples into ``out`` (they
    become the data of the annotated copy) instead of linking to a file about to vanish."""
    import shutil

    from groundstation.io import keys
    from groundstation.io.files import to_json, write_text

    kept = out / recording.data_path.name
    if kept.is_symlink():
        kept.unlink()
    shutil.move(recording.data_path, kept)
    meta = out / (recording.name + ".sigmf-meta")
    if meta.exists():
        import json

        doc = json.loads(meta.read_text(encoding="utf-8"))
        doc[keys.GLOBAL][keys.DATASET] = kept.name
        write_text(meta, to_json(doc) + "\n")


def describe_summary(summary: dict, outdir: Path | str) -> str:
    """One or a few lines telling the user what was decoded and where it is."""
    lines = []
    for image in summary.get("images", []):
        missing = len(image.get("lines_missing", []))
        snr = image.get("snr_db")
        lines.append(
            f"image {image['id']}: {image['lines']}×{image['pixels']} px, "
            f"{image['lines_received']} lines received, {missing} missing, "
            f"SNR {float('nan') if snr is None else snr:.1f} dB -> {image.get('png', '')}"
        )
    if "frames" in summary:
        cn0 = summary.get("cn0_dbhz")
        lines.append(
            f"{summary['frames']} telemetry frames ({summary.get('parity_failures', 0)} with "
            f"parity errors), C/N0 {float('nan') if cn0 is None else cn0:.1f} dB-Hz"
        )
    if "frequency_offset_hz" in summary:
        cn0 = summary.get("cn0_dbhz")
        lines.append(
            f"carrier at {summary['frequency_offset_hz']:+.2f} Hz from the tuned frequency, "
            f"C/N0 {float('nan') if cn0 is None else cn0:.1f} dB-Hz"
        )
    lines.append(f"output in {outdir}/ (open report.html)")
    return "\n".join(lines)


def _decode_in_worker(path: str, outdir: str, options: Any, strict: bool) -> DecodeOutcome:
    """One recording in a dask worker: bad input becomes an outcome, not an exception."""
    from groundstation.errors import GroundStationError
    from signals.errors import SignalsError

    try:
        return decode_one(path, outdir, options, strict=strict, show_progress=False)
    except (GroundStationError, SignalsError, OSError) as exc:
        return DecodeOutcome(path, outdir, EXIT_BAD_INPUT, (f"error: {exc}",))


def _unique_names(paths: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for path in paths:
        name = _output_name(path)
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def reuse_freed_memory() -> None:
    """Have the C library's allocator keep freed blocks for reuse (glibc; elsewhere nothing).

    glibc maps every block above a threshold (128 kB at start, raised as such blocks are
    freed) afresh and gives the top of its heap back to the system whenever more than
    twice that is free; a decode allocates and frees chunk-sized arrays all along, and each
    fresh page costs a fault: about 40 000 in a telemetry decode, 0.1-0.15 s of CPU. Blocks
    up to 8 MiB are taken from the heap and up to 16 MiB of free heap are kept instead; the
    peak memory is the same within a few MB (the pages are reused, not added).
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows): as it is
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    mallopt(m_mmap_threshold, MMAP_THRESHOLD_BYTES)
    mallopt(m_trim_threshold, 2 * MMAP_THRESHOLD_BYTES)


def run_decode_command(args: argparse.Namespace) -> int:
    """Run ``groundstation decode``; return the exit status."""
    from groundstation.errors import GroundStationError, NoSignalError

    reuse_freed_memory()
    for wav in args.wavfile:  # as gr_satellites reads it: a WAV, whatever else it might be
        from groundstation.io.sources import source_form

        if Path(wav).is_file() and source_form(wav) != "wav":
            raise GroundStationError(f"--wavfile {wav}: not a WAV file (no RIFF/WAVE header)")
    paths = [str(p) for p in [*args.recordings, *args.rawfile, *args.wavfile]]
    if not paths:
        raise GroundStationError("decode needs at least one recording (FILE, or - for stdin)")
    if paths.count("-") > 1:
        raise GroundStationError("standard input (-) can be read once")
    if args.workers is not None and args.workers < 1:
        raise GroundStationError("--workers must be at least 1")
    if len(paths) == 1:
        from groundstation.io.hashing import hash_pair_early

        # core:sha512 is checked from now on, on the second core, while this process loads
        # its readers and the receiver (with --strict it is checked before the decode)
        early = None if args.strict else hash_pair_early(paths[0])
        figures = None
        try:
            # and the figures' process starts, to import matplotlib meanwhile too
            figures = figures_process(paths[0])
            options = _options(args)
            outdir = args.output or Path(_output_name(paths[0]) + "_decoded")
            outcome = decode_one(
                paths[0],
                str(outdir),
                options,
                strict=args.strict,
                early_hash=early,
                figures=figures,
            )
        finally:
            if early is not None:
                early.cancel()
            if figures is not None:
                figures.close()  # at once when the input was bad: nothing was drawn
        for warning in outcome.warnings:
            log.warning("%s", warning)
        for line in outcome.lines:
            print(line)
        if outcome.status == EXIT_NO_SIGNAL:
            raise NoSignalError(outcome.reason)  # one line and status 3, as for any command
        return outcome.status
    options = _options(args)
    if "-" in paths:
        raise GroundStationError("standard input (-) decodes alone, not with other recordings")
    out_root = args.output or Path("decoded")
    outdirs = [str(out_root / name) for name in _unique_names(paths)]
    outcomes = _decode_parallel(paths, outdirs, options, args)
    for outcome in outcomes:
        for warning in outcome.warnings:
            log.warning("%s: %s", outcome.source, warning)
        stream = sys.stderr if outcome.status == EXIT_BAD_INPUT else sys.stdout
        if outcome.reason:
            print(f"{outcome.source}: nothing decoded: {outcome.reason}")
        for line in outcome.lines:
            print(f"{outcome.source}: {line}", file=stream)
    statuses = {o.status for o in outcomes}
    decoded = sum(o.status == EXIT_OK for o in outcomes)
    print(f"{decoded} of {len(outcomes)} recordings decoded; output in {out_root}/")
    if EXIT_BAD_INPUT in statuses:
        return EXIT_BAD_INPUT
    return EXIT_NO_SIGNAL if EXIT_NO_SIGNAL in statuses else EXIT_OK


def _decode_parallel(
    paths: list[str], outdirs: list[str], options: Any, args: argparse.Namespace
) -> list[DecodeOutcome]:
    from distributed import as_completed

    from groundstation.progress import progress
    from groundstation.session.mission import dask_client

    # distributed sets its own loggers' levels when imported: its chatter is detail (-vv).
    quiet = logging.DEBUG if log.getEffectiveLevel() <= logging.DEBUG else logging.ERROR
    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(quiet)

    results: dict[str, DecodeOutcome] = {}
    # the local workers' own temporary folders go under a scratch folder removed at the end
    with tempfile.TemporaryDirectory(prefix="mars1-workers-", ignore_cleanup_errors=True) as d:
        client, cluster = dask_client(args.workers, args.scheduler, Path(d))
        try:
            futures = [
                client.submit(
                    _decode_in_worker, path, outdir, options, args.strict, key=f"decode-{outdir}"
                )
                for path, outdir in zip(paths, outdirs, strict=True)
            ]
            with progress(len(futures), "decode", unit="recording") as bar:
                for future in as_completed(futures):
                    outcome = future.result()
                    results[outcome.outdir] = outcome
                    bar.update(1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return [results[outdir] for outdir in outdirs]
