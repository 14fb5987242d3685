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
import dataclasses
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from groundstation.errors import SessionError
from groundstation.io.recording import Recording, format_utc, open_recording, parse_utc
from groundstation.progress import progress
from groundstation.results import BandOutcome, CarrierBandResult, CommandOutcome, SessionResult
from groundstation.results.session import session_frames
from groundstation.session.decode import collect_images, decode_band, range_rate_check
from groundstation.session.downlinks import write_downlink
from groundstation.session.folder import write_session_folder
from groundstation.session.plan import (
    DOWNLINK_BANDS,
    SessionPlan,
    SessionProfile,
    band_rng,
    plan_session,
    session_link,
    session_transmissions,
)
from groundstation.session.score import command_table, made_contact, score_band
from groundstation.session.uplink import command_spacecraft, end_of_session_uplink
from signals.bands import bands_of_kind
from signals.formats.uplink import Command
from signals.path.geometry import get_trajectory
from signals.spacecraft.downlinks import Downlink
from signals.spacecraft.flight import FlightModel
from signals.spacecraft.session_downlinks import session_downlink

if TYPE_CHECKING:
    from groundstation.outputs.drawing import FigureProcess

log = logging.getLogger(__name__)


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


#: What ``run_session`` calls instead of writing the downlinks' recordings: (downlinks by
#: band, folder for recordings, plan, command table, spacecraft log) -> recordings by band.
Air = Callable[
    [dict[str, Downlink], Path, SessionPlan, list[CommandOutcome], list[str]], dict[str, Path]
]


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
    band with its own generator, :func:`groundstation.session.plan.band_rng`), the folder
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
    scratch_recordings: tempfile.TemporaryDirectory | None = None
    try:
        if record:
            recording_dir = work / "recordings"
            recording_dir.mkdir(parents=True, exist_ok=True)
        else:
            scratch_recordings = tempfile.TemporaryDirectory(prefix="mars1-rec-")
            recording_dir = Path(scratch.enter_context(scratch_recordings))
        bands = {b: BandOutcome(b, plan.budgets[b]) for b in DOWNLINK_BANDS}
        drawn: Path | None = None
        if outdir is not None and write_report:
            # The report's figures are drawn as their data comes (by the second process
            # meanwhile, within outputs.drawing.figures_aside), into a folder of their own.
            drawn = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="mars1-fig-")))
            from groundstation.report.pages import draw_session_margin

            # the link budgets are the plan's: the margin chart is drawn from here on,
            # while the spacecraft is commanded
            draw_session_margin(drawn, bands.values(), plan)
        stages.step(f"uplink: {len(plan.commands)} commands at {plan.range_km / 1e6:.2f} Mkm")
        residual_hz, sent_utc, received = command_spacecraft(plan, spacecraft, rng)
        recordings: dict[str, Recording] = {}
        carrier_truth: dict[str, Any] | None = None
        transmissions = session_transmissions(plan, profile, spacecraft.transmission_plan())
        link = session_link(plan, profile)
        downlinks: dict[str, Downlink] = {}
        waterfalls: dict[str, Any] = {}
        if drawn is not None:
            from groundstation.outputs.drawing import expect_figure

            # the telemetry plots (each band's, the report's), their parts readied meanwhile
            sent = [b for b in bands_of_kind("telemetry") if b in transmissions]
            for band_id in sent:
                expect_figure("telemetry", work / "bands" / band_id / "telemetry.png")
            if sent:
                expect_figure("telemetry_panels", drawn / "telemetry.png")

        def recorded(band_id: str, meta: Path) -> None:
            """Open the band's recording; hand its waterfall to be drawn."""
            recordings[band_id] = recording = open_recording(meta)
            if record:
                bands[band_id].recording = str(meta.relative_to(work))
            if drawn is not None:
                from groundstation.outputs.spectrum import waterfall_from_recording
                from groundstation.report.pages import draw_session_waterfalls

                rows = 120 if band_id in bands_of_kind("telemetry") else 400
                waterfalls[band_id] = waterfall_from_recording(recording, max_rows=rows)
                draw_session_waterfalls(drawn, {band_id: waterfalls[band_id]})

        rate_check = None
        bands_dir = work / "bands"
        telemetry_left = {b for b in bands_of_kind("telemetry") if b in transmissions}
        telemetry_drawn = bool(telemetry_left)  # its plot drawn once the last is decoded

        def decode(band_id: str) -> None:
            """Decode the band's recording into its folder; score it."""
            nonlocal rate_check
            stages.step(f"{band_id}: decoding")
            outcome = bands[band_id]
            # Decoder outputs are drawn only into a folder that is kept.
            band_dir = bands_dir / band_id if outdir is not None else None
            decoded, error = decode_band(recordings[band_id], band_dir)
            outcome.decoded, outcome.error = decoded, error
            score_band(outcome, decoded, recordings[band_id])
            if isinstance(decoded, CarrierBandResult) and carrier_truth is not None:
                rate_check = range_rate_check(decoded, carrier_truth, recordings[band_id])
            if drawn is not None and telemetry_left == {band_id}:
                # every telemetry band is in: the report's plot is drawn meanwhile
                from groundstation.report.pages import draw_session_telemetry

                draw_session_telemetry(drawn, session_frames(bands))
            telemetry_left.discard(band_id)

        for band_id in DOWNLINK_BANDS:
            tx = transmissions.get(band_id)
            if tx is None:
                stages.step(f"{band_id}: not transmitted")
                stages.step(f"{band_id}: nothing to decode")
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
                # decoded at once: its figures are drawn (by the figures' process) while
                # the next band is generated and decoded; a scratch recording (no
                # --record) is read back and deleted, not synced
                recorded(band_id, write_downlink(recording_dir / band_id, downlink, sync=record))
                decode(band_id)
            else:
                downlinks[band_id] = downlink
        if air is not None:
            table = command_table(plan.commands, sent_utc, received, [])
            for band_id, meta in air(
                downlinks, recording_dir, plan, table, list(spacecraft.log)
            ).items():
                recorded(band_id, meta)
            telemetry_left &= set(recordings)
            telemetry_drawn = bool(telemetry_left)
            for band_id in DOWNLINK_BANDS:
                if band_id in recordings:
                    decode(band_id)
                elif band_id in transmissions:
                    stages.step(f"{band_id}: nothing to decode")
        if scratch_recordings is not None:
            # Every sample is decoded (what follows reads the recordings' metadata alone):
            # the scratch recordings go now, while the figures' process draws, not at the end.
            scratch_recordings.cleanup()
        images = collect_images(bands["5cm-ppm"].decoded, bands_dir / "5cm-ppm", work / "images")
        result = SessionResult(
            plan=plan,
            outdir=outdir,
            bands=bands,
            commands=[],
            spacecraft_log=[],
            range_rate_check=rate_check,
            images=images,
            contact=made_contact(bands.values()),
            elapsed_s=0.0,
        )
        result.commands = command_table(plan.commands, sent_utc, received, result.frames)
        stages.step("spacecraft: end of session")
        end_samples, end_fs_hz, end_t0_utc, end_sent = end_of_session_uplink(plan, rng, recordings)
        end_received = spacecraft.receive_uplink(end_samples, end_fs_hz, end_t0_utc)
        # No telemetry follows the end of the session: whether it was seen stays None.
        end = command_table((Command.end_session(),), end_sent, end_received, [])
        result.end_command = end[0]
        result.spacecraft_log = list(spacecraft.log)
        result.waterfalls.update(waterfalls)
        if outdir is not None:
            stages.step("writing the session folder")
            if drawn is not None:
                from groundstation.outputs.drawing import flush_figures
                from groundstation.report.pages import draw_session_figures

                draw_session_figures(drawn, result, margin=False, telemetry=not telemetry_drawn)
                flush_figures()
            result.elapsed_s = time.perf_counter() - wall_start
            write_session_folder(result, work, write_report=write_report, drawn=drawn)
        result.elapsed_s = time.perf_counter() - wall_start
        log.info("uplink residual %.1f Hz; session done in %.1f s", residual_hz, result.elapsed_s)
        return result
    except BaseException:
        from groundstation.outputs.drawing import stop_figures

        stop_figures()  # it may be drawing into ``drawn``, about to be removed
        raise
    finally:
        stages.close()
        scratch.close()
        if outdir is None:
            shutil.rmtree(work, ignore_errors=True)


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
    from groundstation.session.schedule import default_session, session_day, session_start

    entry = default_session() if args.session is None else session_day(args.session)
    return session_start(entry), entry.number, entry.kind


def run_contact_command(args: argparse.Namespace, figures: FigureProcess | None = None) -> int:
    """``groundstation contact``; its figures drawn by ``figures`` (started earlier, its
    imports under way) or by a second process started now."""
    if args.scenario == "sputnik22":
        from groundstation.session.sputnik22 import run_sputnik22_command

        return run_sputnik22_command(args)
    from groundstation.io.files import staged_folder
    from groundstation.outputs.drawing import figures_aside, wait_for_figures

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
        # each band's figures (telemetry.png) drawn by a second process meanwhile
        with (
            staged_folder(args.output, own_files=["session.json"]) as staging,
            figures_aside(figures),
        ):
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
            wait_for_figures()
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
            f"  coherent link: range rate {c.measured_range_rate_km_s:.4f} km/s, "
            f"error {c.error_m_s:+.2f} m/s against the geometry"
        )
    commands = result.all_commands  # the end of the session too, as the report counts them
    acked = sum(bool(c.acknowledged) for c in commands)
    lines.append(
        f"  commands: {len(commands)} sent, "
        f"{sum(c.accepted for c in commands)} accepted by the spacecraft, "
        f"{acked} acknowledged in telemetry"
    )
    lines.append("  verdict: " + ("contact" if result.contact else "no contact"))
    return "\n".join(lines)
