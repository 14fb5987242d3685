"""``groundstation listen``: decode a live stream as it arrives, into the folder ``decode`` writes.

Each frame, image line and carrier estimate is printed as the receiver decides it, and
written into the output folder at once (:mod:`groundstation.live.folder`). When the
stream ends (``--duration``, ``--idle-timeout``, the end of input, SIGINT or SIGTERM) the
stream, kept as a recording, is decoded by ``decode``'s own code into a staging folder
that replaces the live one whole: the folder ``decode`` would write from the same samples,
plus ``listen.json`` (why it ended, samples received, dropped, ragged). After a signal the
folder is completed the same way (a signal while it is written waits until it is in place)
and the status is 130 / 143.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path


def _facts_line(facts, address) -> str:
    start = facts.start_utc.isoformat() if facts.start_utc else "first sample received"
    rate = f", {facts.bit_rate_bps:g} bit/s" if facts.bit_rate_bps else ""
    return (
        f"listening on {address}: {facts.band}, {facts.fs_hz:g} S/s {facts.datatype}{rate}, "
        f"tuned to {facts.center_frequency_hz:.3f} Hz, sample 0 at {start}"
    )


def run_listen_command(args: argparse.Namespace) -> int:
    """Run ``groundstation listen``; return the exit status."""
    from groundstation.cli.decode import decode_one
    from groundstation.errors import NoSignalError
    from groundstation.io.facts import SourceOptions
    from groundstation.io.files import live_folder, signals_deferred, write_json
    from groundstation.io.recording import base_path
    from groundstation.io.streams import open_stream, parse_address, stream_facts
    from groundstation.live.events import event_line
    from groundstation.live.folder import LiveFolder
    from groundstation.live.listen import check_rate, listen, make_receiver, spool_writer

    options = SourceOptions(
        sample_format=args.format,
        fs_hz=args.fs_hz,
        band=args.band,
        bit_rate_bps=args.bit_rate_bps,
        start_utc=args.start,
    )
    address = parse_address(args.source)
    facts = stream_facts(address, options)
    check_rate(facts)
    receiver = make_receiver(facts)
    out = Path(args.output).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)

    def printer(event) -> None:
        print(event_line(event, facts.band, facts.fs_hz), flush=True)

    with contextlib.ExitStack() as stack:
        if args.record:
            base = base_path(Path(args.record))
        else:
            spool = stack.enter_context(
                tempfile.TemporaryDirectory(prefix=f".{out.name}.spool-", dir=out.parent)
            )
            base = Path(spool) / "stream"
        writer = spool_writer(facts, base)
        with live_folder(out, own_files=["summary.json"]) as folder:
            live = LiveFolder(folder, facts.band, facts.fs_hz)
            try:
                with open_stream(address, options) as source:
                    print(_facts_line(facts, address), file=sys.stderr, flush=True)
                    outcome = listen(
                        source,
                        receiver,
                        writer,
                        subscribers=[live, printer],  # in the folder when printed
                        duration_s=args.duration_seconds,
                        idle_s=args.idle_seconds,
                    )
            finally:
                live.close()
        # The final set is written whole: an interrupt now waits until it is in place.
        stack.enter_context(signals_deferred())
        stream_record = {
            "source": str(address),
            "form": facts.form,
            "datatype": facts.datatype,
            "fs_hz": facts.fs_hz,
            "band": facts.band,
            "ended_by": outcome.reason,
            "samples_fed": outcome.samples_fed,
            "events": outcome.counts,
            "stream": outcome.stats.to_json(),
            "wall_s": round(outcome.wall_s, 3),
            "recording": str(writer.meta_path) if args.record else None,
        }
        status = 3
        not_found = ""
        if outcome.samples_fed:
            decoded = decode_one(
                str(writer.meta_path), str(out), SourceOptions(), show_progress=False
            )
            status = decoded.status
            not_found = decoded.reason if status == 3 else ""
            for line in decoded.lines:
                print(line)
            if not args.record:  # the spool is about to go: no link to it is left behind
                link = out / writer.data_path.name
                if link.is_symlink():
                    link.unlink()
        else:
            from groundstation.outputs.records import no_signal_record

            reason = f"no samples arrived on {address} ({outcome.reason})"
            write_json(out / "summary.json", {**no_signal_record(str(address), reason)})
        write_json(out / "listen.json", stream_record)
    stats = outcome.stats
    print(
        f"ended by {outcome.reason}: {outcome.samples_fed} samples decoded, "
        f"{stats.dropped_samples} dropped here, {stats.ragged_bytes} stray bytes",
        file=sys.stderr,
    )
    if outcome.interrupt is not None:
        raise outcome.interrupt
    if not outcome.samples_fed:
        print(f"groundstation: no samples arrived on {address}", file=sys.stderr)
    elif not_found:  # the outcome is the last line, as for decode
        raise NoSignalError(not_found)
    return status
