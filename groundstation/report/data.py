"""From a session's or a mission's results to the plain records the report templates read.

Nothing here draws or writes HTML: each function takes the results (``session.json`` /
``mission.json`` content, telemetry rows, image files) and returns dataclasses of text
and numbers. Every table is a list of :class:`Column` (header, unit, how to get and write
the value), so adding a column to a table is one edit in one list.

The results are read tolerantly: any part may be missing, None or NaN, and reads as a
dash. Whether a session made contact is decided in one place, :func:`session_contact`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
from groundstation.results import DecodedFrame, SessionFrame
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


# ------------------------------------------------------------------------------ contact
# The one seam with the session's own decision: these two read the summary only.


def _tlm_bands(session: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    bands = mapping(session.get("bands"))
    return {
        b: v for b, v in bands.items() if b in bands_of_kind("telemetry") and isinstance(v, Mapping)
    }


def session_contact(session: Mapping[str, Any]) -> bool:
    """Whether the session made contact: its own verdict, else telemetry decoded on a band
    whose link budget closes."""
    if isinstance(session.get("contact"), bool):
        return session["contact"]
    return any(
        whole(v.get("frames_decoded")) > 0 and v.get("usable") for v in _tlm_bands(session).values()
    )


def _margin_key(band: Mapping[str, Any]) -> float:
    margin = number(band.get("margin_db"))
    return -math.inf if margin is None else margin


def session_verdict(session: Mapping[str, Any]) -> str:
    """One sentence: contact or not, and why (from the link budget and the decoders)."""
    tlm = _tlm_bands(session)
    range_km = number(session.get("range_km"))
    at = f" at {range_km / 1e6:.2f} million km" if range_km is not None else ""
    if session_contact(session):
        decoded = {b: v for b, v in tlm.items() if whole(v.get("frames_decoded")) > 0}
        if not decoded:
            return f"Contact{at}."
        best = max(decoded, key=lambda b: whole(decoded[b].get("frames_decoded")))
        v = decoded[best]
        n = whole(v.get("frames_decoded"))
        rate = number(v.get("bit_rate_bps"))
        rate_text = f" at {rate:g} bit/s" if rate is not None else ""
        margin = number(v.get("margin_db"))
        margin_text = f", link margin {margin:+.1f} dB" if margin is not None else ""
        lost = whole(v.get("frames_lost"))
        lost_text = f" ({lost} lost)" if lost else ""
        return (
            f"Contact: {n} telemetry frame{'s' if n != 1 else ''}{lost_text} decoded on "
            f"{best}{rate_text}{at}{margin_text}."
        )
    if not tlm:
        return f"No contact{at}: no telemetry band was worked in this session."
    usable = {b: v for b, v in tlm.items() if v.get("usable")}
    if not usable:
        parts = [
            f"{b} {tlm[b].get('reason') or 'does not close'}"
            for b in sorted(tlm, key=lambda b: _margin_key(tlm[b]), reverse=True)
        ]
        return f"No contact{at}: no telemetry link closes ({'; '.join(parts)})."
    best = max(usable, key=lambda b: _margin_key(usable[b]))
    v = usable[best]
    margin = number(v.get("margin_db"))
    margin_text = f" ({margin:+.1f} dB)" if margin is not None else ""
    if v.get("transmitted") is False:
        return (
            f"No contact{at}: the {best} link budget closes{margin_text} but the "
            "spacecraft did not transmit on it."
        )
    error = v.get("error")
    why = f": {error}" if error else ""
    return (
        f"No contact{at}: the {best} link budget closes{margin_text} but no telemetry "
        f"frame was decoded{why}."
    )


# ------------------------------------------------------------------------------ header


def session_facts(session: Mapping[str, Any]) -> list[Fact]:
    """Where the probe was and how it was oriented, as the header's facts."""
    number_ = session.get("session")
    kind = session.get("kind") or "session"
    range_km = number(session.get("range_km"))
    rate = number(session.get("range_rate_km_s"))
    light = number(session.get("light_time_s"))
    light_text = (
        DASH
        if light is None
        else f"{light:.2f} s" + (f" ({light / 60:.1f} min)" if light >= 60 else "")
    )
    mode = session.get("attitude_mode")
    direction = "(receding)" if rate is not None and rate > 0 else "(approaching)"
    return [
        Fact("Session", f"{number_ if number_ is not None else DASH} ({kind})"),
        Fact("Scenario", str(session.get("scenario") or DASH)),
        Fact("Start", utc_text(session.get("start_utc"))[:19] + " UTC"),
        Fact("Days since launch", fmt(session.get("days_since_launch"), ".2f", "d")),
        Fact("Range", DASH if range_km is None else f"{range_km / 1e6:.3f} million km"),
        Fact("Range rate", DASH if rate is None else f"{rate:+.3f} km/s {direction}"),
        Fact("One-way light time", light_text),
        Fact("Elevation at Yevpatoria", fmt(session.get("elevation_deg"), ".1f", "°")),
        Fact("Distance from the Sun", fmt(session.get("sun_distance_au"), ".3f", "AU")),
        Fact("Attitude mode", DASH if mode is None else f"{mode} — {attitude_name(mode)}"),
        Fact("Dish pointed at Earth", yes_no(session.get("dish_pointed"))),
        Fact("Telemetry bit rate", fmt(session.get("bit_rate_bps"), "g", "bit/s")),
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


def _downlink(band_id: str, v: Mapping[str, Any]) -> Band:
    tlm, ppm = band_id in bands_of_kind("telemetry"), band_id in bands_of_kind("ppm")
    return Band(
        band_id=band_id,
        uplink=False,
        transmitted=v.get("transmitted"),
        usable=v.get("usable"),
        margin_db=number(v.get("margin_db")),
        cn0_dbhz=number(v.get("cn0_dbhz")),
        bit_rate_bps=number(v.get("bit_rate_bps")),
        ebn0_db=number(v.get("ebn0_db")),
        esn0_db=number(v.get("esn0_db")),
        reason=str(v.get("reason") or ""),
        error=str(v.get("error") or ""),
        lock_time_s=number(v.get("lock_time_s")),
        frames=(whole(v.get("frames_decoded")), whole(v.get("frames_lost"))) if tlm else None,
        lines=(whole(v.get("lines_decoded")), whole(v.get("lines_lost"))) if ppm else None,
        measured=dict(mapping(v.get("measured"))),
    )


def session_bands(session: Mapping[str, Any]) -> list[Band]:
    """The session's downlinks, then its uplink (the command link, ICD §5)."""
    bands = [
        _downlink(b, v) for b, v in mapping(session.get("bands")).items() if isinstance(v, Mapping)
    ]
    up = session.get("uplink")
    if isinstance(up, Mapping):
        bands.append(
            Band(
                band_id=str(up.get("band") or "1.6m-cmd"),
                uplink=True,
                transmitted=True,
                usable=up.get("usable"),
                margin_db=number(up.get("margin_db")),
                cn0_dbhz=number(up.get("cn0_dbhz")),
                bit_rate_bps=float(UPLINK_BIT_RATE_BPS),
                ebn0_db=number(up.get("ebn0_db")),
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


def _acted_on(command: Mapping[str, Any]) -> bool | None:
    """Whether the spacecraft acted on a command; None when not said."""
    for key in ("accepted", "received"):
        if isinstance(command.get(key), bool):
            return command[key]
    if "received_utc" in command:
        return command["received_utc"] is not None
    return None


def _opcode(c: Mapping[str, Any]) -> str:
    opcode = c.get("opcode", c.get("op"))
    return DASH if opcode is None else opcode_name(opcode)


COMMAND_COLUMNS: Final[tuple[Column[Mapping[str, Any]], ...]] = (
    Column("opcode", "", _opcode, numeric=False),
    Column("argument", "", lambda c: value_text("argument", c.get("argument"))),
    Column("description", "", lambda c: str(c.get("description") or DASH), numeric=False),
    Column("sent", "UTC", lambda c: utc_text(c.get("sent_utc"), date=False)),
    Column("acted on at", "UTC", lambda c: utc_text(c.get("received_utc"), date=False)),
    Column("acted on", "", lambda c: yes_no(_acted_on(c)), numeric=False),
    Column("seen in telemetry", "", lambda c: yes_no(c.get("acknowledged")), numeric=False),
)


@dataclass(frozen=True)
class Commands:
    """The commands sent in the session: a sentence and a table."""

    summary: str
    table: Table | None


def session_commands(session: Mapping[str, Any]) -> Commands:
    """The commands table and its one-line summary.

    Every command sent is listed, the end-of-session command (``end_command``, sent once
    the downlinks are in) last, so that the table counts what the spacecraft's log counts.
    """
    commands = [c for c in (session.get("commands") or []) if isinstance(c, Mapping)]
    end = session.get("end_command")
    if isinstance(end, Mapping):
        commands.append(end)
    if not commands:
        return Commands("", None)
    acknowledged = sum(bool(c.get("acknowledged")) for c in commands)
    acted = [_acted_on(c) for c in commands]
    acted_text = (
        f", {sum(bool(a) for a in acted)} acted on by the spacecraft"
        if any(a is not None for a in acted)
        else ""
    )
    n = len(commands)
    summary = (
        f"{n} command{'s' if n != 1 else ''} sent{acted_text}, "
        f"{acknowledged} acknowledged in telemetry."
    )
    if isinstance(end, Mapping):
        summary += (
            f" The last, {_opcode(end)}, went once the downlinks were in: no telemetry "
            "follows it to acknowledge it."
        )
    return Commands(summary, build_table(COMMAND_COLUMNS, commands))


# ------------------------------------------------------------------------------ range rate


@dataclass(frozen=True)
class RangeRate:
    """The coherent range-rate check (ICD §6): a sentence and every quantity."""

    summary: str
    quantities: list[Fact]


def range_rate_check(session: Mapping[str, Any]) -> RangeRate | None:
    """The Doppler range rate against the trajectory; None when not measured."""
    check = mapping(session.get("range_rate_check"))
    if not check:
        return None
    measured = next((k for k in check if "measured" in k and k.endswith("_km_s")), None)
    geometry = next(
        (k for k in check if ("geometry" in k or "predicted" in k) and k.endswith("_km_s")), None
    )
    error = next((k for k in check if "error" in k and k.endswith("_m_s")), None)
    summary = ""
    if measured and geometry:
        m, g = number(check[measured]), number(check[geometry])
        if m is not None and g is not None:
            err = number(check[error]) if error else 1e3 * (m - g)
            err_text = f", a difference of {err:+.3f} m/s" if err is not None else ""
            summary = (
                f"Range rate from the Doppler of the coherent carrier: {m:+.6f} km/s; "
                f"from the trajectory: {g:+.6f} km/s{err_text}."
            )
    return RangeRate(summary, [Fact(label(k), value_text(k, v)) for k, v in check.items()])


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
