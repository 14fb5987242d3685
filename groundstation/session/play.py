"""A session's downlinks as the spacecraft sends them, for a live stream.

In: a session (start UTC, scenario, number, profile, seed) and the bands wanted. Out: the
session's plan, the commands the spacecraft obeyed, and one
:class:`~signals.spacecraft.downlinks.Downlink` per band it transmits, each generated as it
is streamed.

The steps are ``contact``'s: the same plan, the same uplink through the same channel, the
same spacecraft deciding what to send, the same downlink generator. One difference: each
band draws its impairments and noise from a generator of its own (seeded from the session's
seed and the band), so that the bands can stream side by side, chunk by chunk, and still
give the same samples every time. The bands' noise therefore differs from that of
``contact``'s recordings; what is sent (frames, values, images, carriers) does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from groundstation.results import CommandOutcome
from groundstation.session.plan import (
    DOWNLINK_BANDS,
    SessionPlan,
    SessionProfile,
    band_rng,
    plan_session,
    session_link,
    session_transmissions,
)
from groundstation.session.score import command_table
from groundstation.session.uplink import command_spacecraft
from signals.path.geometry import get_trajectory
from signals.spacecraft.downlinks import Downlink
from signals.spacecraft.flight import FlightModel
from signals.spacecraft.session_downlinks import session_downlink


@dataclass
class SessionStreams:
    """What a live session transmits.

    Attributes
    ----------
    plan : SessionPlan
        The station's plan (time, geometry, budgets, commands).
    downlinks : dict of str to Downlink
        The bands the spacecraft transmits, in the order of the band table.
    commands : list of CommandOutcome
        Each command as the session report lists it: opcode, argument, description, when
        it was sent and received, whether the spacecraft accepted it.
    spacecraft_log : list of str
        What the spacecraft did, in its own words.
    """

    plan: SessionPlan
    downlinks: dict[str, Downlink]
    commands: list[CommandOutcome] = field(default_factory=list)
    spacecraft_log: list[str] = field(default_factory=list)


def session_downlinks(
    start_utc: datetime,
    scenario: str = "historical",
    *,
    number: int | None = None,
    kind: str = "requested",
    profile: SessionProfile | None = None,
    seed: int = 1962,
    bands: tuple[str, ...] | None = None,
) -> SessionStreams:
    """Plan a session, send its commands, and return the downlinks the spacecraft sends.

    Parameters
    ----------
    start_utc : datetime
        When the station starts the session (UTC).
    scenario : str
        ``historical`` or ``nominal``.
    number : int, optional
        The session's number in the flight's schedule.
    kind : str
        How the session was chosen (for the plan's record).
    profile : SessionProfile, optional
        Lengths of the session's transmissions (default: ``contact``'s).
    seed : int
        Seed of every random draw.
    bands : tuple of str, optional
        Only these bands (default: every band the spacecraft transmits).
    """
    from signals.spacecraft.craft import Spacecraft

    profile = profile or SessionProfile.named("contact")
    plan = plan_session(
        start_utc, scenario, number=number, kind=kind, profile=profile, rng_seed=seed
    )
    rng = np.random.default_rng(seed)
    flight = FlightModel(scenario, np.random.default_rng(seed), get_trajectory())
    spacecraft = Spacecraft(flight)
    _, sent_utc, received = command_spacecraft(plan, spacecraft, rng)
    transmissions = session_transmissions(plan, profile, spacecraft.transmission_plan())
    link = session_link(plan, profile)
    downlinks: dict[str, Downlink] = {}
    for band_id in DOWNLINK_BANDS:
        tx = transmissions.get(band_id)
        if tx is None or (bands is not None and band_id not in bands):
            continue
        downlinks[band_id] = session_downlink(
            tx,
            link,
            spacecraft.channels_at,
            band_rng(seed, band_id),
            antenna_power_gain_s=spacecraft.flight.antenna_power_gain_s,
        )
    commands = command_table(plan.commands, sent_utc, received, [])
    return SessionStreams(plan, downlinks, commands, [str(e) for e in spacecraft.log])
