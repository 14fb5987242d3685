"""From a session's or a mission's results to the plain records the report templates read.

Nothing here draws or writes HTML: each function takes the typed results
(:class:`groundstation.results.SessionResult`, its frames, the mission's entries) and
returns dataclasses of text and numbers. Every table is a list of :class:`Column` (header,
unit, how to get and write the value), so adding a column to a table is one edit in one list.

Numbers may be None or NaN (a quantity not measured) and read as a dash. Whether a session
made contact is the session's own verdict (``SessionResult.contact``, decided once by
``groundstation.session.score.made_contact``); the report never decides it again.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from groundstation.outputs import records
from groundstation.outputs.figures import (
    MarginBar,
    TelemetrySeries,
    channel_short_name,
)
from groundstation.report.format import (
    DASH,
    attitude_name,
    carrier_mhz,
    fmt,
    label,
    number,
    opcode_name,
    tx_state_text,
    utc_text,
    value_text,
    yes_no,
)
from groundstation.report.tables import Cell, Column, Fact, Table, build_table
from groundstation.results import (
    BandOutcome,
    CommandOutcome,
    DecodedFrame,
    SessionFrame,
    SessionPlan,
    SessionResult,
)
from signals.bands import bands_of_kind
from signals.formats.tlm import CHANNEL_BY_NAME, CHANNEL_NAMES, FrameType
from signals.formats.uplink import BIT_RATE_BPS as UPLINK_BIT_RATE_BPS


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def whole(value: Any) -> int:
    """``value`` as an int (a count); 0 when absent or not a finite number."""
    n = number(value)
    return 0 if n is None else int(n)


# ------------------------------------------------------------------------------ verdict


def _tlm_bands(result: SessionResult) -> dict[str, BandOutcome]:
    return {b: o for b, o in result.bands.items() if b in bands_of_kind("telemetry")}


def _margin_key(outcome: BandOutcome) -> float:
    margin = number(outcome.budget.margin_db)
    return -math.inf if margin is None else margin


def session_verdict(result: SessionResult) -> str:
    """One sentence: contact or not (the session's verdict), and why (from the link budget
    and the decoders)."""
    tlm = _tlm_bands(result)
    range_km = number(result.plan.range_km)
    at = f" at {range_km / 1e6:.2f} million km" if range_km is not None else ""
    if result.contact:
        decoded = {b: o for b, o in tlm.items() if o.frames_decoded > 0}
        if not decoded:
            return f"Contact{at}."
        best = max(decoded, key=lambda b: decoded[b].frames_decoded)
        o = decoded[best]
        n = o.frames_decoded
        rate = number(o.budget.bit_rate_bps)
        rate_text = f" at {rate:g} bit/s" if rate is not None else ""
        margin = number(o.budget.margin_db)
        margin_text = f", link margin {margin:+.1f} dB" if margin is not None else ""
        lost_text = f" ({o.frames_lost} lost)" if o.frames_lost else ""
        return (
            f"Contact: {n} telemetry frame{'s' if n != 1 else ''}{lost_text} decoded on "
            f"{best}{rate_text}{at}{margin_text}."
        )
    if not tlm:
        return f"No contact{at}: no telemetry band was worked in this session."
    usable = {b: o for b, o in tlm.items() if o.budget.usable}
    if not usable:
        parts = [
            f"{b} {tlm[b].budget.reason or 'does not close'}"
            for b in sorted(tlm, key=lambda b: _margin_key(tlm[b]), reverse=True)
        ]
        return f"No contact{at}: no telemetry link closes ({'; '.join(parts)})."
    best = max(usable, key=lambda b: _margin_key(usable[b]))
    o = usable[best]
    margin = number(o.budget.margin_db)
    margin_text = f" ({margin:+.1f} dB)" if margin is not None else ""
    if not o.transmitted:
        return (
            f"No contact{at}: the {best} link budget closes{margin_text} but the "
            "spacecraft did not transmit on it."
        )
    why = f": {o.error}" if o.error else ""
    if o.decoded is not None and not o.frames_decoded:
        why = ": every frame received failed parity"
    return (
        f"No contact{at}: the {best} link budget closes{margin_text} but no telemetry "
        f"frame was decoded{why}."
    )


# ------------------------------------------------------------------------------ header


def session_facts(result: SessionResult) -> list[Fact]:
    """Where the probe was and how it was oriented, as the header's facts."""
    p = result.plan
    light = number(p.light_time_s)
    light_text = (
        DASH
        if light is None
        else f"{light:.2f} s" + (f" ({light / 60:.1f} min)" if light >= 60 else "")
    )
    rate = number(p.range_rate_km_s)
    direction = "(receding)" if rate is not None and rate > 0 else "(approaching)"
    return [
        Fact("Session", f"{p.number if p.number is not None else DASH} ({p.kind})"),
        Fact("Scenario", p.scenario),
        Fact("Start", utc_text(p.start_utc)[:19] + " UTC"),
        Fact("Days since launch", fmt(p.days_since_launch, ".2f", "d")),
        Fact("Range", fmt(p.range_km / 1e6, ".3f", "million km")),
        Fact("Range rate", DASH if rate is None else f"{rate:+.3f} km/s {direction}"),
        Fact("One-way light time", light_text),
        Fact("Elevation at Yevpatoria", fmt(p.elevation_deg, ".1f", "°")),
        Fact("Distance from the Sun", fmt(p.sun_distance_au, ".3f", "AU")),
        Fact("Attitude mode", f"{p.attitude_mode} — {attitude_name(p.attitude_mode)}"),
        Fact("Dish pointed at Earth", yes_no(p.dish_pointed)),
        Fact("Telemetry bit rate", fmt(p.bit_rate_bps, "g", "bit/s")),
    ]


# ------------------------------------------------------------------------------ bands


@dataclass(frozen=True)
class Band:
    """One link of the session: its budget (ICD §7) and what the receivers measured."""

    band_id: str
    uplink: bool
    transmitted: bool | None
    usable: bool | None
    margin_db: float | None
    cn0_dbhz: float | None
    bit_rate_bps: float | None
    ebn0_db: float | None
    esn0_db: float | None
    reason: str
    error: str
    lock_time_s: float | None = None
    frames: tuple[int, int] | None = None
    lines: tuple[int, int] | None = None
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """Row colour: usable or not."""
        return "good" if self.usable else "bad"


def _downlink(o: BandOutcome) -> Band:
    tlm, ppm = o.band_id in bands_of_kind("telemetry"), o.band_id in bands_of_kind("ppm")
    b = o.budget
    return Band(
        band_id=o.band_id,
        uplink=False,
        transmitted=o.transmitted,
        usable=bool(b.usable),
        margin_db=number(b.margin_db),
        cn0_dbhz=number(b.cn0_dbhz),
        bit_rate_bps=number(b.bit_rate_bps),
        ebn0_db=number(b.ebn0_db),
        esn0_db=number(b.esn0_db),
        reason=b.reason or "",
        error=o.error or "",
        lock_time_s=number(o.lock_time_s),
        frames=(o.frames_decoded, o.frames_lost) if tlm else None,
        lines=(o.lines_decoded, o.lines_lost) if ppm else None,
        measured=records.measured_record(o.decoded) if o.decoded is not None else {},
    )


def session_bands(result: SessionResult) -> list[Band]:
    """The session's downlinks, then its uplink (the command link, ICD §5)."""
    return link_bands(result.bands.values(), result.plan)


def link_bands(outcomes: Iterable[BandOutcome], plan: SessionPlan) -> list[Band]:
    """The downlinks of ``outcomes``, then the uplink of ``plan`` (the command link, ICD
    §5): :func:`session_bands`, from outcomes that may hold no more than their link budget
    yet (the margin chart's bars are known once the session is planned)."""
    bands = [_downlink(o) for o in outcomes]
    up = plan.budgets.get("1.6m-cmd")
    if up is not None:
        bands.append(
            Band(
                band_id="1.6m-cmd",
                uplink=True,
                transmitted=True,
                usable=bool(up.usable),
                margin_db=number(up.margin_db),
                cn0_dbhz=number(up.cn0_dbhz),
                bit_rate_bps=float(UPLINK_BIT_RATE_BPS),
                ebn0_db=number(up.ebn0_db),
                esn0_db=None,
                reason="commands (FSK, ICD §5)",
                error="",
            )
        )
    return bands


def _snr(b: Band) -> str:
    if b.ebn0_db is not None:
        return f"Eb/N0 {b.ebn0_db:.1f}"
    return DASH if b.esn0_db is None else f"Es/N0 {b.esn0_db:.1f}"


def _pair(counts: tuple[int, int] | None) -> str:
    return DASH if counts is None else f"{counts[0]} / {counts[1]}"


def _band_cell(b: Band) -> Cell:
    return Cell(b.band_id, strong=True, note="uplink" if b.uplink else "")


def _reason_cell(b: Band) -> Cell:
    return Cell(b.reason, note=b.error)


#: The link budget of each band (ICD §7), as predicted before the session.
BUDGET_COLUMNS: Final[tuple[Column[Band], ...]] = (
    Column("band", "", _band_cell, numeric=False),
    Column("carrier", "", lambda b: carrier_mhz(b.band_id)),
    Column("sent", "", lambda b: yes_no(b.transmitted), numeric=False),
    Column("usable", "", lambda b: yes_no(b.usable), numeric=False),
    Column("margin", "dB", lambda b: fmt(b.margin_db, "+.1f")),
    Column("C/N0", "dB-Hz", lambda b: fmt(b.cn0_dbhz, ".1f")),
    Column("bit rate", "bit/s", lambda b: fmt(b.bit_rate_bps, "g")),
    Column("SNR per bit or symbol", "dB", _snr),
    Column("why", "", _reason_cell, numeric=False),
)

#: What the receivers measured on each downlink (``measured`` of the summary).
_MEASURED_SHOWN: Final = {
    "cn0_dbhz",
    "ebn0_db",
    "carrier_offset_hz",
    "frequency_offset_hz",
    "carrier_rate_hz_per_s",
    "parity_failures",
}


def _offset_hz(b: Band) -> Any:
    return b.measured.get("carrier_offset_hz", b.measured.get("frequency_offset_hz"))


def _other_measured(b: Band) -> Cell:
    rest = [
        f"{label(k)} {value_text(k, v)}" for k, v in b.measured.items() if k not in _MEASURED_SHOWN
    ]
    return Cell("; ".join(rest) if rest else "", note=b.error)


RECEIVED_COLUMNS: Final[tuple[Column[Band], ...]] = (
    Column("band", "", _band_cell, numeric=False),
    Column("lock time", "s", lambda b: fmt(b.lock_time_s, ".1f")),
    Column("frames decoded / lost", "", lambda b: _pair(b.frames)),
    Column("lines decoded / lost", "", lambda b: _pair(b.lines)),
    Column("C/N0", "dB-Hz", lambda b: fmt(b.measured.get("cn0_dbhz"), ".2f")),
    Column("Eb/N0", "dB", lambda b: fmt(b.measured.get("ebn0_db"), ".2f")),
    Column("carrier offset", "Hz", lambda b: fmt(_offset_hz(b), "+.1f")),
    Column("drift", "Hz/s", lambda b: fmt(b.measured.get("carrier_rate_hz_per_s"), "+.3f")),
    Column("parity failures", "", lambda b: fmt(b.measured.get("parity_failures"), ".0f")),
    Column("notes", "", _other_measured, numeric=False, optional=True),
)


def margin_bars(bands: Sequence[Band]) -> list[MarginBar]:
    """The bars of the link-margin chart."""
    return [MarginBar(b.band_id, b.margin_db, bool(b.usable), b.reason) for b in bands]


# ------------------------------------------------------------------------------ commands


COMMAND_COLUMNS: Final[tuple[Column[CommandOutcome], ...]] = (
    Column("opcode", "", lambda c: opcode_name(c.opcode), numeric=False),
    Column("argument", "", lambda c: value_text("argument", c.argument)),
    Column("description", "", lambda c: c.description or DASH, numeric=False),
    Column("sent", "UTC", lambda c: utc_text(c.sent_utc, date=False)),
    Column("acted on at", "UTC", lambda c: utc_text(c.received_utc, date=False)),
    Column("acted on", "", lambda c: yes_no(c.accepted), numeric=False),
    Column("seen in telemetry", "", lambda c: yes_no(c.acknowledged), numeric=False),
)


@dataclass(frozen=True)
class Commands:
    """The commands sent in the session: a sentence and a table."""

    summary: str
    table: Table | None


def session_commands(result: SessionResult) -> Commands:
    """The commands table and its one-line summary.

    Every command sent is listed, the end-of-session command (sent once the downlinks are
    in) last, so that the table counts what the spacecraft's log counts.
    """
    commands = result.all_commands
    if not commands:
        return Commands("", None)
    acknowledged = sum(bool(c.acknowledged) for c in commands)
    acted = sum(c.accepted for c in commands)
    n = len(commands)
    summary = (
        f"{n} command{'s' if n != 1 else ''} sent, {acted} acted on by the spacecraft, "
        f"{acknowledged} acknowledged in telemetry."
    )
    if result.end_command is not None:
        summary += (
            f" The last, {opcode_name(result.end_command.opcode)}, went once the downlinks "
            "were in: no telemetry follows it to acknowledge it."
        )
    return Commands(summary, build_table(COMMAND_COLUMNS, commands))


# ------------------------------------------------------------------------------ range rate


@dataclass(frozen=True)
class RangeRate:
    """The coherent range-rate check (ICD §6): a sentence and every quantity."""

    summary: str
    quantities: list[Fact]


def range_rate_check(result: SessionResult) -> RangeRate | None:
    """The Doppler range rate against the trajectory; None when not measured."""
    check = result.range_rate_check
    if check is None:
        return None
    m, g = number(check.measured_range_rate_km_s), number(check.geometry_range_rate_km_s)
    summary = ""
    if m is not None and g is not None:
        err = number(check.error_m_s)
        err_text = f", a difference of {err:+.3f} m/s" if err is not None else ""
        summary = (
            f"Range rate from the Doppler of the coherent carrier: {m:+.6f} km/s; "
            f"from the trajectory: {g:+.6f} km/s{err_text}."
        )
    quantities = [Fact(label(k), value_text(k, v)) for k, v in dataclasses.asdict(check).items()]
    return RangeRate(summary, quantities)


# ------------------------------------------------------------------------------ telemetry


def _channels(frame: DecodedFrame) -> dict[str, float | int | None]:
    """Every ICD §4 channel of ``frame`` as its records carry it (None where its type lacks
    the channel)."""
    record = records.frame_record(frame)
    return {name: record[name] for name in CHANNEL_NAMES}


def frame_kind(frame: DecodedFrame) -> str:
    """``engineering`` or ``science`` (ICD §4 frame type), else the type's number."""
    if frame.frame_type == FrameType.ENGINEERING:
        return "engineering"
    if frame.frame_type == FrameType.SCIENCE:
        return "science"
    return str(frame.frame_type)


def telemetry_series(frames: Sequence[SessionFrame]) -> TelemetrySeries:
    """Decoded frames as arrays for the telemetry plot."""
    return TelemetrySeries.from_frames(
        [f.frame.time_utc for f in frames],
        [_channels(f.frame) for f in frames],
        [f.frame.parity_ok for f in frames],
    )


@dataclass(frozen=True)
class LastFrame:
    """The last frame of one type, channel by channel."""

    kind: str
    values: list[Fact]


@dataclass(frozen=True)
class Telemetry:
    """The telemetry section: counts, the plot's data and the last frames."""

    summary: str
    series: TelemetrySeries
    last_frames: list[LastFrame]


def _channel_text(channel: str, value: float | int) -> str:
    if not math.isfinite(value):
        return str(value)
    if channel == "attitude_mode":
        return f"{int(value)} ({attitude_name(int(value))})"
    if channel == "tx_state":
        return f"{int(value)} ({tx_state_text(value)})"
    if channel == "last_command":
        return opcode_name(int(value)) if value else "0 (none)"
    return str(value)


def _last_frame(item: SessionFrame, kind: str) -> LastFrame:
    frame = item.frame
    values = [
        Fact("time (UTC)", utc_text(frame.time_utc)),
        Fact("parity", "ok" if frame.parity_ok else "FAILED (values unchecked)"),
        Fact("band", item.band),
        Fact("frame counter", str(frame.frame_counter)),
    ]
    for key, value in _channels(frame).items():
        if value is not None:
            unit = CHANNEL_BY_NAME[key].unit
            name = channel_short_name(key)
            values.append(Fact(f"{name} ({unit})" if unit else name, _channel_text(key, value)))
    return LastFrame(kind, values)


def session_telemetry(frames: Sequence[SessionFrame]) -> Telemetry | None:
    """The telemetry section's records; None when no frame was decoded."""
    if not frames:
        return None
    ok = [f.frame.parity_ok for f in frames]
    kinds = [frame_kind(f.frame) for f in frames]
    n_bad = ok.count(False)
    n_ok = len(frames) - n_bad
    summary = (
        f"{len(frames)} frames received ({kinds.count('engineering')} engineering, "
        f"{kinds.count('science')} science): {n_ok} passed parity and count as decoded"
        + (f", {n_bad} failed." if n_bad else ".")
    )
    if n_bad and n_ok:
        summary += (
            " The values of a frame that failed parity cannot be trusted: the plot leaves "
            "them out and marks the time of each such frame with a red tick along the bottom."
        )
    elif n_bad:
        summary += (
            " The values of a frame that failed parity cannot be trusted, so none is plotted."
        )
    last = []
    for kind in ("engineering", "science"):
        # The last frame of the kind that passed parity, else the last of the kind at all.
        of_kind = [f for f, k in zip(frames, kinds, strict=True) if k == kind]
        good = [f for f in of_kind if f.frame.parity_ok]
        if of_kind:
            last.append(_last_frame((good or of_kind)[-1], kind))
        else:
            last.append(LastFrame(kind, []))
    return Telemetry(summary, telemetry_series(frames), last)


# ------------------------------------------------------------------------------ story


def _last_values(frames: Sequence[SessionFrame]) -> dict[str, float]:
    """The last value of each channel among the frames that passed parity."""
    values: dict[str, float] = {}
    for item in frames:
        if not item.frame.parity_ok:
            continue
        for key, value in _channels(item.frame).items():
            if value is not None and not math.isnan(value):
                values[key] = float(value)
    return values


def session_story(frames: Sequence[SessionFrame]) -> str:
    """What the session's telemetry shows, and why, in a sentence or two."""
    v = _last_values(frames)
    if not v:
        return ""
    said: list[str] = []
    scint = v.get("scintillation_cps")
    if scint is not None and scint > 200:
        said.append(
            f"The counters read {scint:,.0f} counts/s of scintillation: the probe is crossing "
            "the Earth's radiation belts, which it leaves within the hour."
        )
    mags = [v.get(k) for k in ("mag_x_nt", "mag_y_nt", "mag_z_nt")]
    if all(m is not None for m in mags):
        if max(abs(m) for m in mags) > 40.9:
            said.append("The magnetometer is saturated by the Earth's own field.")
        elif not said:
            total = math.sqrt(sum(m * m for m in mags))
            said.append(
                f"The magnetometer reads {total:.1f} nT, the interplanetary field, which "
                "weakens with the distance from the Sun."
            )
    a, b = v.get("n2_pressure_a_mpa"), v.get("n2_pressure_b_mpa")
    if a is not None and b is not None:
        if a == 0 and b > 0.5:
            said.append(
                f"Nitrogen bottle A reads zero, emptied through the leaking valve right after "
                f"engine cutoff; bottle B ({b:.1f} MPa) alone keeps the dish on Earth."
            )
        elif a == 0 and b == 0:
            said.append(
                "Both nitrogen bottles read zero: the last gas spun the craft up about its "
                "Sun axis on 6–7 November, so the dish cannot follow the Earth and only the "
                "1.6 m omni antenna carries telemetry."
            )
    hits = v.get("micrometeoroid_hits")
    if hits is not None and hits > 0 and len(said) < 3:
        said.append(f"The micrometeoroid counter stands at {hits:.0f} hits.")
    return " ".join(said[:3])
