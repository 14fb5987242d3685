"""Planning a session: is the probe up, which bands close, what to command.

From the trajectory: range, range rate, light time and elevation at Yevpatoria; the probe
must be above the horizon. From the link budget (ICD §7) and the attitude model: which
bands can close, and the highest telemetry rate that keeps a positive margin. The plan
ends with the commands to send (ICD §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import numpy as np

from groundstation.errors import SessionError
from groundstation.io.recording import format_utc
from groundstation.results import SessionPlan
from signals.bands import bands_of_kind
from signals.bands import session as session_setup
from signals.errors import ConfigError
from signals.formats.tlm import BIT_RATES_BPS, TX_STATE_BANDS, tx_state_bits
from signals.formats.uplink import Command
from signals.path.geometry import get_trajectory
from signals.path.link_budget import link_budget
from signals.spacecraft.flight import LAUNCH_UTC, SCENARIOS, FlightModel
from signals.spacecraft.session_downlinks import SessionLink

if TYPE_CHECKING:
    from signals.spacecraft.craft import BandTransmission, TransmissionPlan

TELEMETRY_RATES_BPS: Final = tuple(sorted(BIT_RATES_BPS, reverse=True))
DOWNLINK_BANDS: Final = tuple(TX_STATE_BANDS.values())


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
        days_since_launch=(start_utc - LAUNCH_UTC).total_seconds() / 86400.0,
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


def session_transmissions(
    plan: SessionPlan, profile: SessionProfile, tx_plan: TransmissionPlan
) -> dict[str, BandTransmission]:
    """The spacecraft's transmissions that the session's profile keeps, by band.

    A profile without both telemetry bands keeps the one the rate was chosen for; one
    without carrier time drops the 8 cm carrier.
    """
    transmissions = {t.band_id: t for t in tx_plan.transmissions}
    if not profile.both_tlm_bands and {"1.6m-tlm", "32cm-tlm"} <= set(transmissions):
        transmissions.pop("1.6m-tlm" if plan.main_band == "32cm-tlm" else "32cm-tlm")
    if profile.carrier_band_s <= 0:
        transmissions.pop("8cm-carrier", None)
    return transmissions


def band_rng(seed: int, band_id: str) -> np.random.Generator:
    """The generator of one band's impairments and noise when the bands are streamed side
    by side (``transmit``, ``contact --live``): from the session's seed and the band."""
    return np.random.default_rng([seed, DOWNLINK_BANDS.index(band_id)])
