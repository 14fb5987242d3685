"""``groundstation transmit``: a session's downlinks streamed live.

In: the command line (session, scenario, bands, format, pace, target). Out: the streams'
facts and the ``listen`` command that receives each, printed first, then the samples
(:mod:`groundstation.live.transmit`), paced in real time or faster.
"""

from __future__ import annotations

import sys

from groundstation.errors import SessionError
from groundstation.io.recording import format_utc
from groundstation.io.streams import is_stream_address
from groundstation.live.transmit import open_sinks, plan_streams, send_streams


def run_transmit_command(args) -> int:
    """``groundstation transmit``: print the streams' facts, then stream until done."""
    from groundstation.session.contact import resolve_start
    from groundstation.session.play import session_downlinks

    start, number, kind = resolve_start(args)
    bands = tuple(args.bands) if args.bands else None
    session = session_downlinks(
        start, args.scenario, number=number, kind=kind, seed=args.seed, bands=bands
    )
    if bands:
        unknown = [b for b in bands if b not in session.downlinks]
        if unknown:
            raise SessionError(
                f"the spacecraft does not transmit {', '.join(unknown)} in this session "
                f"(it sends {', '.join(session.downlinks) or 'nothing'})"
            )
    if not session.downlinks:
        raise SessionError("the spacecraft transmits nothing in this session")
    streams = plan_streams(session.downlinks, args.to, args.format, args.fs_hz)
    info = sys.stderr if args.to == "-" else sys.stdout
    pace = "as fast as taken" if args.fast else f"{args.speed:g}x real time"
    p = session.plan
    print(
        f"session {p.number or '-'} ({p.scenario}) at {format_utc(p.start_utc)[:19]}Z, {pace}:",
        file=info,
    )
    for s in streams:
        print("  " + s.facts_line(), file=info)
    for s in streams:
        if s.target != "-" and is_stream_address(s.target):
            print("  receive with: " + s.listen_command() + f" -o {s.downlink.band_id}", file=info)
    info.flush()
    sinks = open_sinks(streams)
    sent = send_streams(streams, sinks, speed=None if args.fast else args.speed)
    total = ", ".join(f"{b} {n}" for b, n in sent.items())
    print(f"sent: {total} samples", file=info)
    return 0
