"""Scoring a session: what each band delivered, which commands were acknowledged, and the
verdict.

The verdict is defined here and only here (:func:`made_contact`): a session makes contact
when telemetry frames are decoded with good parity on a band whose link budget closes (a
margin of at least 0 dB). ``session.json`` carries it as ``contact``; the mission replay and
the report read it from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from groundstation.io.recording import Recording, format_utc
from groundstation.outputs import records
from groundstation.results import (
    BandResult,
    PpmBandResult,
    SessionFrame,
    TelemetryBandResult,
)
from groundstation.session.plan import SessionPlan
from signals.bands import bands_of_kind
from signals.path.link_budget import LinkBudget
from signals.spacecraft.flight import LAUNCH_UTC


def made_contact(bands: Iterable[tuple[str, int, LinkBudget]]) -> bool:
    """The verdict of a session: contact or not.

    Parameters
    ----------
    bands : iterable of (str, int, LinkBudget)
        For each band: its id, the telemetry frames decoded with good parity, and its link
        budget.

    Returns
    -------
    bool
        True when a telemetry band decoded at least one frame with good parity while its
        link budget closes with a margin of at least 0 dB.
    """
    return any(
        frames > 0 and budget.usable and budget.margin_db >= 0
        for band_id, frames, budget in bands
        if band_id in bands_of_kind("telemetry")
    )


@dataclass
class BandOutcome:
    """What happened on one band during a session."""

    band_id: str
    budget: LinkBudget
    transmitted: bool = False
    recording: str | None = None
    decoded: BandResult | None = None
    lock_time_s: float | None = None
    frames_decoded: int = 0
    frames_lost: int = 0
    frames_expected: int = 0
    lines_expected: int = 0
    lines_decoded: int = 0
    lines_lost: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        b = self.budget
        out: dict[str, Any] = {
            "usable": bool(b.usable),
            "reason": b.reason,
            "transmitted": self.transmitted,
            "cn0_dbhz": b.cn0_dbhz,
            "margin_db": b.margin_db,
            "bit_rate_bps": b.bit_rate_bps,
            "ebn0_db": b.ebn0_db,
            "esn0_db": b.esn0_db,
            "lock_time_s": self.lock_time_s,
            "frames_decoded": self.frames_decoded,
            "frames_lost": self.frames_lost,
            "lines_decoded": self.lines_decoded,
            "lines_lost": self.lines_lost,
        }
        if self.decoded is not None:
            out["measured"] = records.measured_record(self.decoded)
        if self.recording:
            out["recording"] = self.recording
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class SessionResult:
    """The outcome of one session (what ``session.json`` holds)."""

    plan: SessionPlan
    outdir: Path | None
    bands: dict[str, BandOutcome]
    commands: list[dict[str, Any]]
    spacecraft_log: list[str]
    range_rate_check: dict[str, Any] | None
    telemetry_rows: list[dict[str, str]]
    images: list[dict[str, Any]]
    elapsed_s: float
    waterfalls: dict[str, Any] = field(default_factory=dict)
    #: The end-of-session command, sent after the downlinks (a row like ``commands``).
    end_command: dict[str, Any] | None = None

    @property
    def frames(self) -> list[SessionFrame]:
        """The telemetry frames of both telemetry bands, in time order, each with its band."""
        frames = [
            SessionFrame(band_id, frame)
            for band_id in ("32cm-tlm", "1.6m-tlm")
            if isinstance(outcome := self.bands.get(band_id), BandOutcome)
            and isinstance(outcome.decoded, TelemetryBandResult)
            for frame in outcome.decoded.frames
        ]
        return sorted(frames, key=lambda f: f.frame.time_utc)

    @property
    def contact(self) -> bool:
        """The session's verdict (:func:`made_contact`)."""
        return made_contact((b, o.frames_decoded, o.budget) for b, o in self.bands.items())

    def to_json(self) -> dict[str, Any]:
        p = self.plan
        return {
            "session": p.number,
            "kind": p.kind,
            "scenario": p.scenario,
            "start_utc": format_utc(p.start_utc),
            "range_km": p.range_km,
            "range_rate_km_s": p.range_rate_km_s,
            "light_time_s": p.light_time_s,
            "elevation_deg": p.elevation_deg,
            "sun_distance_au": p.sun_distance_au,
            "days_since_launch": (p.start_utc - LAUNCH_UTC).total_seconds() / 86400.0,
            "attitude_mode": p.attitude_mode,
            "dish_pointed": p.dish_pointed,
            "bit_rate_bps": p.bit_rate_bps,
            "contact": self.contact,
            "commands": self.commands,
            "end_command": self.end_command,
            "bands": {b: o.to_json() for b, o in self.bands.items()},
            "uplink": self.bands_uplink_json(),
            "range_rate_check": self.range_rate_check,
            "images": self.images,
            "spacecraft_log": self.spacecraft_log,
            "elapsed_s": self.elapsed_s,
        }

    def bands_uplink_json(self) -> dict[str, Any]:
        b = self.plan.budgets["1.6m-cmd"]
        return {
            "band": "1.6m-cmd",
            "cn0_dbhz": b.cn0_dbhz,
            "ebn0_db": b.ebn0_db,
            "margin_db": b.margin_db,
            "usable": bool(b.usable),
        }


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


def merge_telemetry(bands: dict[str, BandOutcome]) -> list[dict[str, str]]:
    """The telemetry rows of both telemetry bands, in time order, each with its band."""
    rows: list[dict[str, str]] = []
    for band_id in ("32cm-tlm", "1.6m-tlm"):
        result = bands[band_id].decoded if band_id in bands else None
        if isinstance(result, TelemetryBandResult):
            rows += [{"band": band_id, **row} for row in records.telemetry_rows(result.frames)]
    rows.sort(key=lambda r: r.get("time_utc", ""))
    return rows


def command_table(
    commands, sent_utc: list[datetime], received, telemetry_rows
) -> list[dict[str, Any]]:
    """Each command: when it left, when the spacecraft acted on it, whether telemetry shows it.

    The spacecraft counts the commands it accepts (``command_count``, ICD §4 word 17); a
    command is acknowledged when decoded telemetry shows the count reaching it.
    """
    acted = [r for r in received if getattr(r, "acted", False)]
    counts = [
        int(float(r["command_count"]))
        for r in telemetry_rows
        if r.get("command_count") not in (None, "") and r.get("parity_ok") == "true"
    ]
    seen = max(counts) if counts else None
    table = []
    for i, (command, sent) in enumerate(zip(commands, sent_utc, strict=True)):
        match = next((r for r in acted if r.command == command), None)
        table.append(
            {
                "opcode": command.opcode.name,
                "argument": int(command.argument),
                "description": command.describe(),
                "sent_utc": format_utc(sent),
                "received_utc": format_utc(match.t_utc) if match else None,
                "accepted": match is not None,
                "acknowledged": None if seen is None else bool(match is not None and seen >= i + 1),
            }
        )
    return table
