"""Scoring a session: what each band delivered, which commands were acknowledged, and the
verdict.

The verdict is defined here and only here (:func:`made_contact`): a session makes contact
when telemetry frames are decoded with good parity on a band whose link budget closes (a
margin of at least 0 dB). The session's result carries it (``SessionResult.contact``), and
``session.json``, the mission replay and the report take it from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from groundstation.io.recording import Recording
from groundstation.results import (
    BandOutcome,
    BandResult,
    CommandOutcome,
    PpmBandResult,
    SessionFrame,
    TelemetryBandResult,
)
from signals.bands import bands_of_kind


def made_contact(bands: Iterable[BandOutcome]) -> bool:
    """The verdict of a session: contact or not.

    Parameters
    ----------
    bands : iterable of BandOutcome
        The session's downlinks.

    Returns
    -------
    bool
        True when a telemetry band decoded at least one frame with good parity while its
        link budget closes with a margin of at least 0 dB.
    """
    return any(
        o.frames_decoded > 0 and bool(o.budget.usable) and o.budget.margin_db >= 0
        for o in bands
        if o.band_id in bands_of_kind("telemetry")
    )


def score_band(outcome: BandOutcome, result: BandResult | None, recording: Recording) -> None:
    """Fill frames/lines decoded and lost and the lock time from a band's decode."""
    if result is None:
        outcome.frames_lost = outcome.frames_expected
        outcome.lines_lost = outcome.lines_expected
        return
    fs_hz = recording.fs_hz
    if isinstance(result, TelemetryBandResult):
        good = result.frames_ok
        outcome.frames_decoded = good
        outcome.frames_lost = max(outcome.frames_expected - good, 0)
        if result.frames:
            outcome.lock_time_s = float(result.frames[0].sample_start) / fs_hz
    elif isinstance(result, PpmBandResult):
        outcome.lines_decoded = result.lines_received
        outcome.lines_lost = max(outcome.lines_expected - outcome.lines_decoded, 0)
        if result.images:
            outcome.lock_time_s = float(min(i.sample_start for i in result.images)) / fs_hz


def command_table(
    commands, sent_utc: list[datetime], received, frames: Sequence[SessionFrame]
) -> list[CommandOutcome]:
    """Each command: when it left, when the spacecraft acted on it, whether telemetry shows it.

    The spacecraft counts the commands it accepts (``command_count``, ICD §4 word 17); a
    command is acknowledged when a decoded frame that passed parity shows the count reaching
    it. Without such a frame, whether it was acknowledged stays None.
    """
    acted = [r for r in received if getattr(r, "acted", False)]
    counts = [
        int(count)
        for item in frames
        if item.frame.parity_ok and (count := item.frame.channels.get("command_count")) is not None
    ]
    seen = max(counts) if counts else None
    table = []
    for i, (command, sent) in enumerate(zip(commands, sent_utc, strict=True)):
        match = next((r for r in acted if r.command == command), None)
        table.append(
            CommandOutcome(
                opcode=command.opcode.name,
                argument=int(command.argument),
                description=command.describe(),
                sent_utc=sent,
                received_utc=match.t_utc if match else None,
                acknowledged=None if seen is None else bool(match is not None and seen >= i + 1),
            )
        )
    return table
