"""The session's verdict, defined once (``score.made_contact``), and the command table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from groundstation.results import BandOutcome, DecodedFrame, SessionFrame
from groundstation.session.score import command_table, made_contact
from signals.formats.tlm import FRAME_WORDS, FrameType
from signals.formats.uplink import Command
from signals.path.link_budget import link_budget
from signals.spacecraft.command_receiver import ReceivedCommand

T0 = datetime(1962, 11, 4, 2, 18, tzinfo=UTC)


def _outcome(band_id: str, range_km: float, frames: int, dish: bool = True) -> BandOutcome:
    rate = 1.0 if band_id.endswith("tlm") else None
    budget = link_budget(band_id, range_km, bit_rate_bps=rate, dish_pointed=dish)
    return BandOutcome(band_id, budget, transmitted=True, frames_decoded=frames)


def test_contact_is_a_frame_with_good_parity_on_a_band_that_closes():
    near, far = 1e6, 200e6
    assert made_contact([_outcome("1.6m-tlm", near, 1)])
    assert not made_contact([_outcome("1.6m-tlm", near, 0)])
    # decoded, but on a link whose budget does not close: not a contact
    assert link_budget("1.6m-tlm", far, bit_rate_bps=1.0).margin_db < 0
    assert not made_contact([_outcome("1.6m-tlm", far, 1)])
    # the dish bands close only while the dish points at Earth
    assert not made_contact([_outcome("32cm-tlm", near, 5, dish=False)])
    # frames counted on a band that carries no telemetry decide nothing
    assert not made_contact([_outcome("8cm-carrier", near, 3)])
    assert not made_contact([])


def _frame(i: int, count: int, parity_ok: bool) -> SessionFrame:
    frame = DecodedFrame(
        sample_start=i,
        time_utc=T0 + timedelta(seconds=i),
        frame_counter=i,
        frame_type=int(FrameType.ENGINEERING),
        parity_ok=parity_ok,
        words=(0,) * FRAME_WORDS,
        channels={"command_count": count},
        inverted=False,
        quality_db=10.0,
    )
    return SessionFrame("1.6m-tlm", frame)


def _received(command: Command, t_s: float) -> ReceivedCommand:
    return ReceivedCommand(command, T0 + timedelta(seconds=t_s), 0, True, True, None, 0, b"", 0)


def test_a_command_is_acknowledged_by_a_frame_that_passed_parity_only():
    commands = (Command.start_session(20.0), Command.set_bit_rate(64), Command.select_tx(1))
    sent = [T0 + timedelta(seconds=10 * k) for k in range(3)]
    received = [_received(commands[0], 5.0), _received(commands[1], 15.0)]
    # the count reads 3 only in a frame that failed parity: it proves nothing
    frames = [_frame(0, 2, True), _frame(1, 3, False)]
    table = command_table(commands, sent, received, frames)
    assert [c.opcode for c in table] == ["START_SESSION", "SET_BIT_RATE", "SELECT_TX"]
    assert [c.accepted for c in table] == [True, True, False]
    assert [c.acknowledged for c in table] == [True, True, False]
    assert table[0].received_utc == T0 + timedelta(seconds=5.0)
    # without a frame that passed parity, nothing can be said either way
    assert [c.acknowledged for c in command_table(commands, sent, received, frames[1:])] == [
        None
    ] * 3
