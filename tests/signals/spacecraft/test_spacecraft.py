"""The spacecraft's command receiver and state machine, end to end from the ground transmitter."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from signals.errors import ReceiverConfigError, SpacecraftError
from signals.formats.uplink import (
    BIT_RATE_BPS,
    FRAME_BITS,
    REPEATS,
    Command,
    Opcode,
)
from signals.modulators.uplink import command_start_times_s, modulate_bursts, modulate_commands
from signals.spacecraft.command_receiver import CommandReceiver
from signals.spacecraft.craft import Spacecraft
from signals.spacecraft.flight import FlightModel

T0_UTC = datetime(1962, 11, 3, 9, 0, tzinfo=UTC)  # Sun–star orientation: dish pointed
T_SPIN_UTC = datetime(1962, 12, 1, 9, 0, tzinfo=UTC)  # spinning: dish not pointed


@pytest.fixture(scope="module")
def historical() -> FlightModel:
    return FlightModel("historical", rng=np.random.default_rng(1))


def channel(
    x: np.ndarray,
    fs_hz: float,
    ebn0_db: float,
    offset_hz: float,
    rng: np.random.Generator,
    lead_s: float = 0.5,
) -> np.ndarray:
    """Residual offset and complex AWGN; Eb = A²·Tb with A = 1 (ICD §2: σ² = N0·fs)."""
    lead = np.zeros(round(lead_s * fs_hz), dtype=np.complex64)
    x = np.concatenate([lead, x, lead])
    n0 = (1.0 / BIT_RATE_BPS) / 10 ** (ebn0_db / 10)
    sigma = math.sqrt(n0 * fs_hz / 2)
    t_s = np.arange(x.size) / fs_hz
    noise = sigma * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))
    return (x * np.exp(2j * np.pi * offset_hz * t_s) + noise).astype(np.complex64)


def frame_bits(opcode: int, argument: int, check: int) -> np.ndarray:
    raw = bytes((0xEB, 0x90, opcode, argument, check))
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))


@pytest.mark.parametrize(
    ("fs_hz", "offset_hz"), [(2000.0, -50.0), (2000.0, 0.0), (2345.0, 50.0), (48000.0, 31.7)]
)
def test_commands_survive_the_uplink_and_are_acted_on(
    historical: FlightModel, fs_hz: float, offset_hz: float
) -> None:
    rng = np.random.default_rng(round(fs_hz + offset_hz))
    sent = [Command.start_session(30), Command.set_bit_rate(16), Command.select_tx(0b0011)]
    x = channel(modulate_commands(sent, fs_hz, gap_s=2.0), fs_hz, 12.0, offset_hz, rng)
    craft = Spacecraft(historical)
    frames = craft.receive_uplink(x, fs_hz, T0_UTC)
    report = craft.receiver.last_report
    assert report.offset_hz == pytest.approx(offset_hz, abs=1.0)
    acted = [f for f in frames if f.acted]
    assert [f.command for f in acted] == sent
    assert [f.frame_index for f in acted] == [0, 0, 0]
    # Reception time: end of the first frame of each triple.
    starts_s = command_start_times_s(3, gap_s=2.0) + 0.5
    expected = [T0_UTC + timedelta(seconds=s + FRAME_BITS / BIT_RATE_BPS) for s in starts_s]
    for frame, t_utc in zip(acted, expected, strict=True):
        assert abs((frame.t_utc - t_utc).total_seconds()) < 0.01
        assert abs(frame.sample_start / fs_hz - (t_utc - T0_UTC).total_seconds() + 4.0) < 0.01
    assert craft.session_active and craft.carrier_s == 30.0
    assert craft.bit_rate_bps == 16.0
    assert craft.tx_bits == 0b0011
    assert craft.command_count == 3
    assert craft.last_command == Opcode.SELECT_TX
    assert sum("accepted" in line for line in craft.log) == 3


@pytest.mark.parametrize("gap_s", [0.0, 0.3, 0.8])
def test_commands_close_together_are_all_acted_on(historical: FlightModel, gap_s: float) -> None:
    """Short or no gaps merge keyed intervals; the unbroken bit clock keeps frames whole."""
    sent = [Command.set_bit_rate(2), Command.set_bit_rate(2), Command.take_image(0)]
    rng = np.random.default_rng(21)
    x = channel(modulate_commands(sent, 4000.0, gap_s=gap_s), 4000.0, 12.0, -42.0, rng)
    craft = Spacecraft(historical)
    frames = craft.receive_uplink(x, 4000.0, T0_UTC)
    assert [f.command for f in frames if f.acted] == sent
    assert [f.frame_index for f in frames] == [0, 1, 2] * 3
    assert craft.command_count == 3


def test_bit_errors_follow_noncoherent_fsk_theory() -> None:
    """P_b = ½·exp(−Eb/2N0) for orthogonal non-coherent binary FSK (at 8 dB: 0.0214).

    4,000 bits give ~86 expected errors; the count must fall inside the 99.99 % Poisson
    interval of the theoretical mean, with 0.5 dB allowed for the estimated offset and timing.
    """
    fs_hz, n_bits, ebn0_db = 2000.0, 4000, 8.0
    rng = np.random.default_rng(8)
    bits = rng.integers(0, 2, n_bits)
    x = modulate_bursts([bits], [0.0], fs_hz, n_bits / BIT_RATE_BPS)
    y = channel(x, fs_hz, ebn0_db, -17.0, rng)
    bursts = CommandReceiver().demodulate(y, fs_hz)
    assert len(bursts) == 1
    got = bursts[0].bits
    lag = int(np.argmax([np.count_nonzero(got[k : k + 200] == bits[:200]) for k in range(20)]))
    errors = np.count_nonzero(got[lag : lag + n_bits] != bits)

    def p_bit(db: float) -> float:
        return 0.5 * math.exp(-(10 ** (db / 10)) / 2)

    low = stats.poisson.ppf(5e-5, n_bits * p_bit(ebn0_db))
    high = stats.poisson.isf(5e-5, n_bits * p_bit(ebn0_db - 0.5))
    assert low <= errors <= high


def test_noise_alone_gives_no_command(historical: FlightModel) -> None:
    rng = np.random.default_rng(2)
    y = channel(np.zeros(60 * 2000, dtype=np.complex64), 2000.0, 12.0, 0.0, rng)
    craft = Spacecraft(historical)
    assert craft.receive_uplink(y, 2000.0, T0_UTC) == []
    assert craft.command_count == 0
    assert any("no command frame found" in line for line in craft.log)


def test_bad_check_is_ignored_and_logged(historical: FlightModel) -> None:
    bad = frame_bits(Opcode.SET_BIT_RATE, 5, 0x00)  # check should be 0x07
    x = modulate_bursts([np.tile(bad, REPEATS)], [1.0], 2000.0, 14.0)
    craft = Spacecraft(historical)
    frames = craft.receive_uplink(
        channel(x, 2000.0, 12.0, 20.0, np.random.default_rng(3)), 2000.0, T0_UTC
    )
    assert len(frames) == 3
    assert not any(f.acted or f.check_ok for f in frames)
    assert craft.command_count == 0 and craft.bit_rate_bps == 1.0
    assert craft.receiver.last_report.bad_check == 3
    ignored = [line for line in craft.log if "ignored frame eb90020500" in line]
    assert len(ignored) == 3 and "check byte 0x00" in ignored[0]


def test_unknown_opcode_is_ignored_and_logged(historical: FlightModel) -> None:
    x = modulate_bursts([np.tile(frame_bits(0x09, 1, 0x0A), REPEATS)], [1.0], 2000.0, 14.0)
    craft = Spacecraft(historical)
    craft.receive_uplink(channel(x, 2000.0, 12.0, -5.0, np.random.default_rng(4)), 2000.0, T0_UTC)
    assert craft.command_count == 0
    assert craft.receiver.last_report.unknown_opcode == 3
    assert any("unknown command opcode 0x09" in line for line in craft.log)


def test_triple_rule_acts_once_on_the_first_good_frame(historical: FlightModel) -> None:
    """Two triples back to back: in the first the first frame is corrupted, so the second
    frame is acted on; the second triple repeats the same command and is acted on again."""
    good = Command.select_tx(0b0101).bits()
    corrupted = frame_bits(Opcode.SELECT_TX, 0b0101, 0x00)
    stream = np.concatenate([corrupted, good, good, good, good, good])
    x = modulate_bursts([stream], [1.0], 2000.0, 2.0 + stream.size / BIT_RATE_BPS)
    craft = Spacecraft(historical)
    frames = craft.receive_uplink(
        channel(x, 2000.0, 14.0, 12.0, np.random.default_rng(5)), 2000.0, T0_UTC
    )
    assert [f.frame_index for f in frames] == [0, 1, 2, 0, 1, 2]
    assert [f.acted for f in frames] == [False, True, False, True, False, False]
    assert craft.command_count == 2
    assert sum("repeat" in line and "not acted on" in line for line in craft.log) == 3


def test_lost_first_frame_does_not_shift_the_triples(historical: FlightModel) -> None:
    """First frame of the first triple never arrives (no sync): the slot count still
    starts at the burst, so the next command is not mistaken for a repeat."""
    lost = np.tile([1, 0], FRAME_BITS // 2)  # keyed, but no sync word
    first = Command.set_bit_rate(4).bits()
    second = Command.set_bit_rate(64).bits()
    stream = np.concatenate([lost, first, first, second, second, second])
    x = modulate_bursts([stream], [1.0], 2000.0, 2.0 + stream.size / BIT_RATE_BPS)
    craft = Spacecraft(historical)
    frames = craft.receive_uplink(
        channel(x, 2000.0, 14.0, 0.0, np.random.default_rng(6)), 2000.0, T0_UTC
    )
    assert [f.frame_index for f in frames] == [1, 2, 0, 1, 2]
    assert [f.command for f in frames if f.acted] == [
        Command(Opcode.SET_BIT_RATE, 2),
        Command(Opcode.SET_BIT_RATE, 6),
    ]
    assert craft.bit_rate_bps == 64.0
    assert craft.receiver.last_report.missing_sync == 1


def test_state_machine_arguments_counter_and_channels(historical: FlightModel) -> None:
    craft = Spacecraft(historical)
    t = T0_UTC
    assert not craft.execute(Command(Opcode.SET_BIT_RATE, 9), t)
    assert not craft.execute(Command(Opcode.SELECT_TX, 0x10), t)
    assert not craft.execute(Command(Opcode.TAKE_IMAGE, 1), t)
    assert craft.command_count == 0
    assert sum("ignored" in line for line in craft.log) == 3
    for i in range(130):
        assert craft.execute(Command.select_tx(0b0011), t + timedelta(seconds=10 * i + 10))
    assert craft.command_count == 130 % 128
    before = craft.channels_at(t)
    assert (before["command_count"], before["last_command"], before["tx_state"]) == (0, 0, 0b10001)
    after = craft.channels_at(t + timedelta(hours=1))
    assert (after["command_count"], after["last_command"]) == (2, Opcode.SELECT_TX)
    assert after["tx_state"] == 0b10011  # 1.6 m + 32 cm on, dish pointed
    with pytest.raises(SpacecraftError, match="earlier than the previous"):
        craft.execute(Command.end_session(), t)


def _session(craft: Spacecraft, t0: datetime, commands: list[Command]) -> None:
    for i, command in enumerate(commands):
        craft.execute(command, t0 + timedelta(seconds=14 * i))


def test_plan_with_the_dish_pointed(historical: FlightModel) -> None:
    craft = Spacecraft(historical)
    _session(
        craft,
        T0_UTC,
        [
            Command.start_session(200),
            Command.set_bit_rate(64),
            Command.select_tx(0b1111),
            Command.take_image(4),
            Command.play_image(7),
        ],
    )
    plan = craft.transmission_plan()
    assert plan.band_ids() == ("1.6m-tlm", "32cm-tlm", "8cm-carrier", "5cm-ppm")
    assert plan.not_transmitted == ()
    start = T0_UTC + timedelta(seconds=4 * 14)  # after the last command
    assert all(t.start_utc == start for t in plan.transmissions)
    tlm = plan.transmissions[1]
    assert (tlm.carrier_s, tlm.bit_rate_bps) == (200.0, 64.0)
    assert plan.transmissions[2].bit_rate_bps is None
    ppm = plan.transmissions[3]
    assert [(i.image_id, i.mode, i.taken) for i in ppm.images] == [(1, 4, True), (7, 0, False)]
    # Playing the taken image again gives its id and mode back.
    craft.execute(Command.play_image(1), start + timedelta(seconds=10))
    replay = craft.transmission_plan().transmissions[3].images[-1]
    assert (replay.image_id, replay.mode) == (1, 4)


def test_dish_bands_are_not_sent_when_the_dish_cannot_point(historical: FlightModel) -> None:
    craft = Spacecraft(historical)
    _session(
        craft,
        T_SPIN_UTC,
        [Command.start_session(20), Command.select_tx(0b1111), Command.take_image(0)],
    )
    plan = craft.transmission_plan()
    assert plan.band_ids() == ("1.6m-tlm",)
    assert {band for band, _ in plan.not_transmitted} == {"32cm-tlm", "8cm-carrier", "5cm-ppm"}
    assert all(reason == "dish not pointed at Earth" for _, reason in plan.not_transmitted)
    assert sum("not transmitted: dish not pointed" in line for line in craft.log) == 3
    craft.transmission_plan()  # asking again does not repeat the log lines
    assert sum("not transmitted" in line for line in craft.log) == 3
    nominal = Spacecraft(FlightModel("nominal", rng=np.random.default_rng(1)))
    _session(
        nominal,
        T_SPIN_UTC,
        [Command.start_session(20), Command.select_tx(0b1111), Command.take_image(0)],
    )
    assert nominal.transmission_plan().band_ids() == (
        "1.6m-tlm",
        "32cm-tlm",
        "8cm-carrier",
        "5cm-ppm",
    )


def test_plan_without_a_session_and_after_its_end(historical: FlightModel) -> None:
    craft = Spacecraft(historical)
    assert craft.transmission_plan().transmissions == ()
    _session(craft, T0_UTC, [Command.start_session(20), Command.end_session()])
    plan = craft.transmission_plan()
    assert plan.session_end_utc == T0_UTC + timedelta(seconds=14)
    assert plan.band_ids() == ("1.6m-tlm",)
    assert plan.transmissions[0].start_utc == T0_UTC


def test_receiver_refuses_too_low_a_sample_rate() -> None:
    with pytest.raises(ReceiverConfigError, match="at least 1000 samples/s"):
        CommandReceiver().receive(np.zeros(1000, dtype=np.complex64), 800.0, T0_UTC)
