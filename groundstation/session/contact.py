"""An emulated radio session between Yevpatoria and Mars 1 (``groundstation contact``).

A session runs the way the 1962 station worked, in this order:

1. **Plan.** From the trajectory: range, range rate, light time and elevation at the
   station; the probe must be above the horizon. From the link budget (ICD §7) and the
   attitude model: which bands can close, and the highest telemetry rate that keeps a
   positive margin.
2. **Uplink.** The commands (ICD §5) are modulated as FSK on the metre band, pass the
   uplink channel (path loss, noise, residual Doppler) and, one light time later, reach the
   emulated spacecraft's own command receiver, which demodulates them and acts on what it
   can decode (its log says what it ignored).
3. **Downlinks.** What the spacecraft then transmits (carrier, telemetry at the commanded
   rate on the commanded transmitters, images on command) is generated through the
   channel: path loss from the link budget, noise, light-time delay, the residual of the
   Doppler prediction and its rate, clock errors. Each downlink is a SigMF recording.
4. **Decode.** Each recording is decoded by the same receivers ``groundstation decode``
   uses; the station estimates range rate from the coherent carrier and compares it with
   the geometry.
5. **Report.** A session folder: ``session.json``, ``telemetry.csv``, ``images/``, the
   per-band decoder outputs under ``bands/``, recordings with ``--record``, and
   ``report.html``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import io
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np

from groundstation.errors import GroundStationError, SessionError
from groundstation.io import keys
from groundstation.io.files import write_json, write_text
from groundstation.io.recording import Recording, format_utc, open_recording, parse_utc
from groundstation.outputs import records
from groundstation.progress import progress
from groundstation.results import (
    BandResult,
    CarrierBandResult,
    PpmBandResult,
    SessionFrame,
    TelemetryBandResult,
)
from groundstation.session.downlinks import write_downlink
from signals.bands import bands_of_kind, impairments
from signals.bands import session as session_setup
from signals.errors import ConfigError
from signals.formats.tlm import BIT_RATES_BPS, TX_STATE_BANDS, tx_state_bits
from signals.formats.uplink import Command
from signals.path.channel import through_channel
from signals.path.geometry import get_trajectory
from signals.path.link_budget import LinkBudget, link_budget
from signals.spacecraft.downlinks import Downlink
from signals.spacecraft.flight import LAUNCH_UTC, SCENARIOS, FlightModel
from signals.spacecraft.session_downlinks import SessionLink, session_downlink

log = logging.getLogger(__name__)

TELEMETRY_RATES_BPS: Final = tuple(sorted(BIT_RATES_BPS, reverse=True))
DOWNLINK_BANDS: Final = tuple(TX_STATE_BANDS.values())

#: Default session: the third session of the flight, all transmitters on the dish.
DEFAULT_SESSION_UTC: Final = datetime(1962, 11, 4, tzinfo=UTC)


@dataclass(frozen=True)
class SessionProfile:
    """How much signal a session generates.

    ``contact`` is the full session of the command line; ``mission`` is the short form the
    mission replay runs for each of its sessions.
    """

    name: str
    carrier_s: float
    frames: int
    max_tlm_s: float
    carrier_band_s: float
    image_size: tuple[int, int] | None
    both_tlm_bands: bool

    @staticmethod
    def named(name: str) -> SessionProfile:
        profiles = {
            "contact": SessionProfile("contact", 20.0, 12, 600.0, 30.0, (48, 64), True),
            "mission": SessionProfile("mission", 10.0, 2, 560.0, 0.0, None, False),
        }
        try:
            return profiles[name]
        except KeyError:
            raise SessionError(f"unknown session profile {name!r}") from None


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


# ------------------------------------------------------------------------------ planning


def choose_bit_rate(range_km: float, dish_pointed: bool) -> tuple[int, str]:
    """Highest telemetry rate of ICD §4 with a non-negative margin, and its band.

    The 32 cm band is preferred while the dish is pointed; otherwise, or when it cannot
    close, the 1.6 m band. When no rate closes, 1 bit/s on 1.6 m (the station tries anyway).
    """
    for band_id in ("32cm-tlm", "1.6m-tlm"):
        if band_id == "32cm-tlm" and not dish_pointed:
            continue
        for rate in TELEMETRY_RATES_BPS:
            if link_budget(band_id, range_km, bit_rate_bps=rate, dish_pointed=dish_pointed).usable:
                return rate, band_id
    return 1, "1.6m-tlm"


def find_session_time(day_utc: datetime) -> datetime:
    """Start of the session of ``day_utc``: the first culmination over Yevpatoria after it.

    Passes are searched from half a day before ``day_utc``, so a pass already under way at
    that moment is taken at its true culmination.

    Raises
    ------
    SessionError
        The probe does not culminate above the station's horizon within a day and a half.
    """
    trajectory = get_trajectory()
    begin = max(day_utc - timedelta(hours=12), LAUNCH_UTC + timedelta(minutes=1))
    end = day_utc + timedelta(days=1.5)
    windows = trajectory.visibility_windows(
        begin, end, min_elevation_deg=session_setup().min_elevation_deg
    )
    for rise, set_ in windows:
        grid = [rise + (set_ - rise) * k / 96 for k in range(97)]
        elevations = np.asarray(trajectory.elevation_deg(grid))
        best = grid[int(np.argmax(elevations))]
        if best >= day_utc:
            return best.replace(microsecond=0)
    raise SessionError(
        f"Mars 1 does not culminate above the horizon at Yevpatoria between "
        f"{format_utc(day_utc)[:16]}Z and {format_utc(end)[:16]}Z"
    )


def check_visible(t_utc: datetime) -> float:
    """Elevation (deg) at ``t_utc``; :class:`SessionError` when below the horizon."""
    trajectory = get_trajectory()
    elevation = float(trajectory.elevation_deg(t_utc))
    min_elevation_deg = session_setup().min_elevation_deg
    if elevation < min_elevation_deg:
        try:
            windows = trajectory.visibility_windows(
                t_utc, t_utc + timedelta(days=1.5), min_elevation_deg=min_elevation_deg
            )
        except ConfigError:
            windows = []
        hint = f"; it next rises at {format_utc(windows[0][0])[:19]}Z" if windows else ""
        raise SessionError(
            f"Mars 1 is below the horizon at Yevpatoria at {format_utc(t_utc)[:19]}Z "
            f"(elevation {elevation:.1f}°){hint}"
        )
    return elevation


@dataclass(frozen=True)
class SessionPlan:
    """Everything decided before the first command is sent."""

    start_utc: datetime
    scenario: str
    number: int | None
    kind: str
    range_km: float
    range_rate_km_s: float
    light_time_s: float
    elevation_deg: float
    sun_distance_au: float
    dish_pointed: bool
    attitude_mode: int
    bit_rate_bps: int
    main_band: str
    budgets: dict[str, LinkBudget]
    commands: tuple[Command, ...]
    images: tuple[int, ...]
    two_way: bool


def plan_session(
    start_utc: datetime,
    scenario: str = "historical",
    *,
    number: int | None = None,
    kind: str = "requested",
    profile: SessionProfile | None = None,
    rng_seed: int = 1962,
) -> SessionPlan:
    """Plan a session starting at ``start_utc`` (the first uplink bit leaves the station)."""
    if scenario not in SCENARIOS:
        raise SessionError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if start_utc < LAUNCH_UTC:
        raise SessionError(
            f"{format_utc(start_utc)[:19]}Z is before the launch of Mars 1 "
            f"({format_utc(LAUNCH_UTC)[:19]}Z)"
        )
    profile = profile or SessionProfile.named("contact")
    trajectory = get_trajectory()
    elevation = check_visible(start_utc)
    flight = FlightModel(scenario, np.random.default_rng(rng_seed), trajectory)
    dish = bool(flight.dish_pointed_at(start_utc))
    range_km = float(trajectory.range_km(start_utc))
    rate, main_band = choose_bit_rate(range_km, dish)
    budgets = {
        b: link_budget(
            b,
            range_km,
            bit_rate_bps=rate if b in bands_of_kind("telemetry") else None,
            dish_pointed=dish,
        )
        for b in DOWNLINK_BANDS
    }
    budgets["1.6m-cmd"] = link_budget("1.6m-cmd", range_km, bit_rate_bps=10.0)
    tx_bits = tx_state_bits("1.6m-tlm")
    if dish:
        tx_bits |= tx_state_bits("32cm-tlm", "8cm-carrier")
    images: tuple[int, ...] = ()
    if dish and profile.image_size is not None and budgets["5cm-ppm"].usable:
        tx_bits |= tx_state_bits("5cm-ppm")
        images = (1,)
    commands = [
        Command.start_session(profile.carrier_s),
        Command.set_bit_rate(rate),
        Command.select_tx(tx_bits),
    ]
    commands += [Command.play_image(image_id) for image_id in images]
    return SessionPlan(
        start_utc=start_utc,
        scenario=scenario,
        number=number,
        kind=kind,
        range_km=range_km,
        range_rate_km_s=float(trajectory.range_rate_km_s(start_utc)),
        light_time_s=float(trajectory.light_time_s(start_utc)),
        elevation_deg=elevation,
        sun_distance_au=float(trajectory.sun_distance_au(start_utc)),
        dish_pointed=dish,
        attitude_mode=int(flight.attitude_mode_at(start_utc)),
        bit_rate_bps=rate,
        main_band=main_band,
        budgets=budgets,
        commands=tuple(commands),
        images=images,
        two_way=dish,
    )


def session_link(plan: SessionPlan, profile: SessionProfile) -> SessionLink:
    """What the spacecraft's downlinks need to know of the planned link."""
    return SessionLink(
        light_time_s=plan.light_time_s,
        two_way=plan.two_way,
        cn0_dbhz={b: budget.cn0_dbhz for b, budget in plan.budgets.items()},
        max_frames=profile.frames,
        max_telemetry_s=profile.max_tlm_s,
        carrier_duration_s=profile.carrier_band_s,
        image_size=profile.image_size,
    )


# ------------------------------------------------------------------------------ running


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
        """A contact: telemetry decoded on a band whose link budget closes."""
        return any(
            o.frames_decoded > 0 and o.budget.margin_db >= 0 and o.budget.usable
            for b, o in self.bands.items()
            if b in bands_of_kind("telemetry")
        )

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


# ------------------------------------------------------------------------------ the run


class _Stages:
    """A progress display over the stages of a session, with a log line per stage."""

    def __init__(self, total: int, enabled: bool):
        self._bar = progress(total, "contact", unit="step", enabled=enabled)

    def step(self, text: str) -> None:
        log.info(text)
        self._bar.set_description_str(text[:60])
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def _uplink(
    plan: SessionPlan, rng: np.random.Generator, commands: tuple[Command, ...], sent_utc: datetime
) -> tuple[np.ndarray, float, list[datetime]]:
    """The command uplink as the spacecraft's receiver gets it: FSK through the channel."""
    from signals.modulators.uplink import command_start_times_s, modulate_commands

    fs_hz = session_setup().uplink_fs_hz
    clean = modulate_commands(commands, fs_hz)
    budget = plan.budgets["1.6m-cmd"]
    max_hz = impairments().uplink.residual_max_hz
    residual_hz = float(rng.uniform(-max_hz, max_hz))
    rotation = np.exp(2j * np.pi * residual_hz * np.arange(clean.size) / fs_hz)
    n0 = 10.0 ** (-budget.cn0_dbhz / 10.0)  # unit amplitude: N0 = A² / (C/N0), before losses
    received = np.concatenate(list(through_channel(
        lambda first, count: clean[first : first + count] * rotation[first : first + count],
        clean.size, fs_hz, rng, n0=n0,
    )))  # fmt: skip
    starts = command_start_times_s(len(commands))
    sent = [sent_utc + timedelta(seconds=float(s)) for s in starts]
    return received, residual_hz, sent


def _decode(meta: Path, outdir: Path) -> tuple[BandResult | None, str | None]:
    from groundstation.decode import decode_recording

    try:
        return decode_recording(meta, outdir, show_progress=False), None
    except GroundStationError as exc:
        return None, str(exc)


def _range_rate_check(
    result: CarrierBandResult, truth: dict[str, Any], recording: Recording
) -> dict[str, Any] | None:
    """Range rate from the measured 8 cm carrier against the geometry (m/s)."""
    from groundstation.receivers.carrier import range_rate_from_doppler

    est = result.estimate
    two_way = truth["coherent_mode"] == "two-way"
    measured_km_s = range_rate_from_doppler(
        est.frequency_hz,
        "8cm-carrier",
        two_way=two_way,
        uplink_hz=recording.metadata[keys.GLOBAL].get(keys.UPLINK_FREQUENCY),
    )
    error_m_s = (measured_km_s - truth["range_rate_start_km_s"]) * 1e3
    return {
        "mode": truth["coherent_mode"],
        "measured_range_rate_km_s": measured_km_s,
        "geometry_range_rate_km_s": truth["range_rate_start_km_s"],
        "predicted_range_rate_km_s": truth["predicted_range_rate_km_s"],
        "error_m_s": error_m_s,
        "carrier_offset_hz": est.frequency_offset_hz,
        "cn0_dbhz": est.cn0_dbhz,
    }


#: What ``run_session`` calls instead of writing the downlinks' recordings: (downlinks by
#: band, folder for recordings, plan, command table, spacecraft log) -> recordings by band.
Air = Callable[
    [dict[str, Downlink], Path, SessionPlan, list[dict[str, Any]], list[str]], dict[str, Path]
]


def band_rng(seed: int, band_id: str) -> np.random.Generator:
    """The generator of one band's impairments and noise when the bands are streamed side
    by side (``transmit``, ``contact --live``): from the session's seed and the band."""
    return np.random.default_rng([seed, DOWNLINK_BANDS.index(band_id)])


def run_session(
    start_utc: datetime,
    scenario: str = "historical",
    outdir: Path | None = None,
    *,
    number: int | None = None,
    kind: str = "requested",
    profile: SessionProfile | None = None,
    seed: int = 1962,
    record: bool = False,
    show_progress: bool = True,
    write_report: bool = True,
    air: Air | None = None,
) -> SessionResult:
    """Run one emulated session; write the session folder when ``outdir`` is given.

    ``air`` replaces the downlinks' recordings: given every band's downlink at once (each
    band with its own generator, :func:`groundstation.session.play.band_rng`), the folder
    for recordings, the plan, the command table and the spacecraft's log, it returns the
    recording of what was received of each band (``contact --live``: transmitted and
    listened to at once, :mod:`groundstation.session.live`).
    """
    from signals.spacecraft.craft import Spacecraft

    wall_start = time.perf_counter()
    profile = profile or SessionProfile.named("contact")
    plan = plan_session(
        start_utc, scenario, number=number, kind=kind, profile=profile, rng_seed=seed
    )
    rng = np.random.default_rng(seed)
    trajectory = get_trajectory()
    flight = FlightModel(scenario, np.random.default_rng(seed), trajectory)
    spacecraft = Spacecraft(flight)
    n_stages = 4 + 2 * len(DOWNLINK_BANDS)
    stages = _Stages(n_stages, show_progress)
    work = outdir if outdir is not None else Path(tempfile.mkdtemp(prefix="mars1-session-"))
    scratch = contextlib.ExitStack()
    try:
        if record:
            recording_dir = work / "recordings"
            recording_dir.mkdir(parents=True, exist_ok=True)
        else:
            recording_dir = Path(
                scratch.enter_context(tempfile.TemporaryDirectory(prefix="mars1-rec-"))
            )
        stages.step(f"uplink: {len(plan.commands)} commands at {plan.range_km / 1e6:.2f} Mkm")
        uplink, residual_hz, sent_utc = _uplink(plan, rng, plan.commands, plan.start_utc)
        arrival = plan.start_utc + timedelta(seconds=plan.light_time_s)
        received = spacecraft.receive_uplink(uplink, session_setup().uplink_fs_hz, arrival)
        tx_plan = spacecraft.transmission_plan()
        bands = {b: BandOutcome(b, plan.budgets[b]) for b in DOWNLINK_BANDS}
        recordings: dict[str, Recording] = {}
        carrier_truth: dict[str, Any] | None = None
        transmissions = {t.band_id: t for t in tx_plan.transmissions}
        if not profile.both_tlm_bands and {"1.6m-tlm", "32cm-tlm"} <= set(transmissions):
            transmissions.pop("1.6m-tlm" if plan.main_band == "32cm-tlm" else "32cm-tlm")
        if profile.carrier_band_s <= 0:
            transmissions.pop("8cm-carrier", None)
        link = session_link(plan, profile)
        downlinks: dict[str, Downlink] = {}
        metas: dict[str, Path] = {}
        for band_id in DOWNLINK_BANDS:
            tx = transmissions.get(band_id)
            if tx is None:
                stages.step(f"{band_id}: not transmitted")
                continue
            stages.step(f"{band_id}: generating the downlink")
            outcome = bands[band_id]
            outcome.transmitted = True
            downlink = session_downlink(
                tx,
                link,
                spacecraft.channels_at,
                rng if air is None else band_rng(seed, band_id),
                antenna_power_gain_s=spacecraft.flight.antenna_power_gain_s,
            )
            if band_id in bands_of_kind("telemetry"):
                outcome.frames_expected = downlink.frames_sent
            elif band_id == "5cm-ppm":
                outcome.lines_expected = sum(i["lines"] for i in downlink.truth["images"])
            else:
                carrier_truth = downlink.truth
            if air is None:
                metas[band_id] = write_downlink(recording_dir / band_id, downlink)
            else:
                downlinks[band_id] = downlink
        if air is not None:
            table = _command_table(plan.commands, sent_utc, received, [])
            metas = air(downlinks, recording_dir, plan, table, list(spacecraft.log))
        for band_id, meta in metas.items():
            recordings[band_id] = open_recording(meta)
            if record:
                bands[band_id].recording = str(meta.relative_to(work))
        range_rate_check = None
        bands_dir = work / "bands"
        for band_id in DOWNLINK_BANDS:
            if band_id not in recordings:
                stages.step(f"{band_id}: nothing to decode")
                continue
            stages.step(f"{band_id}: decoding")
            outcome = bands[band_id]
            decoded, error = _decode(recordings[band_id].meta_path, bands_dir / band_id)
            outcome.decoded, outcome.error = decoded, error
            _score(outcome, decoded, recordings[band_id])
            if isinstance(decoded, CarrierBandResult) and carrier_truth is not None:
                range_rate_check = _range_rate_check(decoded, carrier_truth, recordings[band_id])
        telemetry_rows = _merge_telemetry(bands)
        commands = _command_table(plan.commands, sent_utc, received, telemetry_rows)
        images = _collect_images(bands_dir / "5cm-ppm", work / "images", bands["5cm-ppm"])
        stages.step("spacecraft: end of session")
        end_samples, end_fs_hz, end_t0_utc, end_sent = _end_uplink(plan, rng, recordings)
        end_received = spacecraft.receive_uplink(end_samples, end_fs_hz, end_t0_utc)
        # No telemetry follows the end of the session: whether it was seen stays None.
        end_command = _command_table((Command.end_session(),), end_sent, end_received, [])[0]
        waterfalls: dict[str, Any] = {}
        result = SessionResult(
            plan=plan,
            outdir=outdir,
            bands=bands,
            commands=commands,
            spacecraft_log=list(spacecraft.log),
            range_rate_check=range_rate_check,
            telemetry_rows=telemetry_rows,
            images=images,
            elapsed_s=0.0,
            waterfalls=waterfalls,
            end_command=end_command,
        )
        if outdir is not None:
            stages.step("writing the session folder")
            if write_report:
                from groundstation.outputs.spectrum import waterfall_from_recording

                for band_id, recording in recordings.items():
                    rows = 120 if band_id in bands_of_kind("telemetry") else 400
                    waterfalls[band_id] = waterfall_from_recording(recording, max_rows=rows)
            result.elapsed_s = time.perf_counter() - wall_start
            _write_session_folder(result, work, write_report=write_report)
        result.elapsed_s = time.perf_counter() - wall_start
        log.info("uplink residual %.1f Hz; session done in %.1f s", residual_hz, result.elapsed_s)
        return result
    finally:
        stages.close()
        scratch.close()
        if outdir is None:
            shutil.rmtree(work, ignore_errors=True)


def _end_uplink(
    plan: SessionPlan, rng: np.random.Generator, recordings: dict[str, Recording]
) -> tuple[np.ndarray, float, datetime, list[datetime]]:
    """The end-of-session command, sent once the downlinks are in: the uplink at the
    spacecraft, its sample rate (Hz), the UTC of its first sample there, and when it left."""
    last_rx = max(
        (r.start_utc + timedelta(seconds=r.duration_s) for r in recordings.values()),
        default=plan.start_utc,
    )
    sent = last_rx + timedelta(seconds=session_setup().end_command_delay_s)
    uplink, _, sent_utc = _uplink(plan, rng, (Command.end_session(),), sent)
    arrival = sent + timedelta(seconds=plan.light_time_s)
    return uplink, session_setup().uplink_fs_hz, arrival, sent_utc


def _score(outcome: BandOutcome, result: BandResult | None, recording: Recording) -> None:
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


def _merge_telemetry(bands: dict[str, BandOutcome]) -> list[dict[str, str]]:
    """The telemetry rows of both telemetry bands, in time order, each with its band."""
    rows: list[dict[str, str]] = []
    for band_id in ("32cm-tlm", "1.6m-tlm"):
        result = bands[band_id].decoded if band_id in bands else None
        if isinstance(result, TelemetryBandResult):
            rows += [{"band": band_id, **row} for row in records.telemetry_rows(result.frames)]
    rows.sort(key=lambda r: r.get("time_utc", ""))
    return rows


def _command_table(
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


def _collect_images(ppm_dir: Path, images_dir: Path, outcome: BandOutcome) -> list[dict[str, Any]]:
    result = outcome.decoded
    if not isinstance(result, PpmBandResult):
        return []
    images = []
    for image, name in zip(result.images, result.image_names, strict=True):
        entry = records.image_record(image, name, result.recording.fs_hz)
        for key in ("png", "mask_png"):
            source = ppm_dir / entry[key]
            if source.exists():
                images_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, images_dir / source.name)
                entry[key] = f"images/{source.name}"
        images.append(entry)
    return images


def _write_session_folder(result: SessionResult, work: Path, *, write_report: bool) -> None:
    summary = result.to_json()
    write_json(work / "session.json", summary)
    rows = result.telemetry_rows
    if rows:
        columns = list(dict.fromkeys(k for row in rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(work / "telemetry.csv", buffer.getvalue())
    if write_report:
        from groundstation.report.pages import write_session_report

        write_session_report(
            work / "report.html",
            summary,
            waterfalls=result.waterfalls,
            frames=result.frames,
            image_files=[work / i["png"] for i in result.images if i.get("png")],
            session_log=result.spacecraft_log,
        )


# ------------------------------------------------------------------------------ CLI


def resolve_start(args: argparse.Namespace) -> tuple[datetime, int | None, str]:
    """The session start the command line asks for: (UTC, session number, kind)."""
    if args.at:
        try:
            return parse_utc(args.at), None, "requested"
        except ValueError:
            raise SessionError(
                f"--at {args.at!r} is not a UTC time (e.g. 1962-11-04T10:00Z)"
            ) from None
    from groundstation.session.mission import default_session, session_day, session_start

    entry = default_session() if args.session is None else session_day(args.session)
    return session_start(entry), entry.number, entry.kind


def run_contact_command(args: argparse.Namespace) -> int:
    """``groundstation contact``."""
    if args.scenario == "sputnik22":
        from groundstation.session.sputnik22 import run_sputnik22_command

        return run_sputnik22_command(args)
    from groundstation.io.files import staged_folder

    start, number, kind = resolve_start(args)
    profile = SessionProfile.named("contact")
    if args.carrier_s is not None:
        steps = args.carrier_s / 10.0
        if not (0 < steps <= 255 and steps == round(steps)):
            raise SessionError(
                f"--carrier-s {args.carrier_s:g} is not a multiple of 10 s from 10 to 2550 s"
            )
        extra_s = float(args.carrier_s) - profile.carrier_s
        profile = dataclasses.replace(
            profile,
            carrier_s=float(args.carrier_s),
            max_tlm_s=profile.max_tlm_s + max(extra_s, 0.0),
        )
    live = None
    if args.live:
        from groundstation.session.live import LiveSession

        if not (args.speed > 0 and 0 <= args.port <= 65535):
            raise SessionError("--speed must be above 0 and --port within 0-65535")
        live = LiveSession(None if args.fast else args.speed, port=args.port)
        print(f"live page: {live.start()}", flush=True)
    try:
        with staged_folder(args.output, own_files=["session.json"]) as staging:
            result = run_session(
                start,
                args.scenario,
                staging,
                number=number,
                kind=kind,
                profile=profile,
                seed=args.seed,
                record=args.record,
                show_progress=live is None,
                air=None if live is None else live.air,
            )
    except BaseException:
        if live is not None:
            live.finish("The session was cut short.", "")
        raise
    summary = describe_session(result)
    print(summary)
    print(f"report: {args.output / 'report.html'}")
    if live is not None:
        live.finish(summary.splitlines()[-1].strip(), str(args.output / "report.html"))
    return 0


def describe_session(result: SessionResult) -> str:
    """A few lines for the terminal: where, what closed, what came down."""
    p = result.plan
    lines = [
        f"session {p.number or '-'} ({p.scenario}) at {format_utc(p.start_utc)[:16]}Z: "
        f"range {p.range_km / 1e6:.3f} million km, light time {p.light_time_s:.1f} s, "
        f"elevation {p.elevation_deg:.0f}°",
    ]
    for band_id, o in result.bands.items():
        b = o.budget
        state = "decoded" if o.decoded else ("not sent" if not o.transmitted else "lost")
        detail = ""
        if band_id in bands_of_kind("telemetry") and o.transmitted:
            detail = f", {o.frames_decoded}/{o.frames_expected} frames"
        if band_id == "5cm-ppm" and o.transmitted:
            detail = f", {o.lines_decoded} lines ({o.lines_lost} lost)"
        lines.append(f"  {band_id:12s} margin {b.margin_db:+6.1f} dB  {state}{detail}")
    if result.range_rate_check:
        c = result.range_rate_check
        lines.append(
            f"  coherent link: range rate {c['measured_range_rate_km_s']:.4f} km/s, "
            f"error {c['error_m_s']:+.2f} m/s against the geometry"
        )
    acked = sum(bool(c["acknowledged"]) for c in result.commands)
    lines.append(
        f"  commands: {len(result.commands)} sent, "
        f"{sum(c['accepted'] for c in result.commands)} accepted by the spacecraft, "
        f"{acked} acknowledged in telemetry"
    )
    lines.append("  verdict: " + ("contact" if result.contact else "no contact"))
    return "\n".join(lines)
