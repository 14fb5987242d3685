"""The command uplink of a session, as the spacecraft's command receiver gets it.

The commands (ICD §5) are modulated as FSK on the metre band and pass the uplink channel:
path loss from the link budget, noise, and a residual Doppler drawn within
``[impairments.uplink]`` of ``signals/data/mars1.toml``. One light time later they reach
the emulated spacecraft's own command receiver.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from groundstation.io.recording import Recording
from groundstation.session.plan import SessionPlan
from signals.bands import impairments
from signals.bands import session as session_setup
from signals.formats.uplink import Command
from signals.path.channel import through_channel

if TYPE_CHECKING:
    from signals.spacecraft.command_receiver import ReceivedCommand
    from signals.spacecraft.craft import Spacecraft


def uplink_at_spacecraft(
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


def command_spacecraft(
    plan: SessionPlan, spacecraft: Spacecraft, rng: np.random.Generator
) -> tuple[float, list[datetime], list[ReceivedCommand]]:
    """Send the plan's commands: the uplink through the channel, one light time later into
    the spacecraft's own command receiver.

    Returns
    -------
    residual_hz : float
        The uplink's residual Doppler drawn (Hz).
    sent_utc : list of datetime
        When each command's first bit left the station.
    received : list of ReceivedCommand
        The commands the spacecraft decoded and acted on.
    """
    uplink, residual_hz, sent_utc = uplink_at_spacecraft(plan, rng, plan.commands, plan.start_utc)
    arrival = plan.start_utc + timedelta(seconds=plan.light_time_s)
    received = spacecraft.receive_uplink(uplink, session_setup().uplink_fs_hz, arrival)
    return residual_hz, sent_utc, received


def end_of_session_uplink(
    plan: SessionPlan, rng: np.random.Generator, recordings: dict[str, Recording]
) -> tuple[np.ndarray, float, datetime, list[datetime]]:
    """The end-of-session command, sent once the downlinks are in: the uplink at the
    spacecraft, its sample rate (Hz), the UTC of its first sample there, and when it left."""
    last_rx = max(
        (r.start_utc + timedelta(seconds=r.duration_s) for r in recordings.values()),
        default=plan.start_utc,
    )
    sent = last_rx + timedelta(seconds=session_setup().end_command_delay_s)
    uplink, _, sent_utc = uplink_at_spacecraft(plan, rng, (Command.end_session(),), sent)
    arrival = sent + timedelta(seconds=plan.light_time_s)
    return uplink, session_setup().uplink_fs_hz, arrival, sent_utc
