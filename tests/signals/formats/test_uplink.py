"""The ICD §5 command frame and the ground FSK transmitter."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.formats.uplink import (
    BIT_RATE_BPS,
    FRAME_BITS,
    FRAME_DURATION_S,
    REPEATS,
    SYNC_PATTERN,
    ArgumentError,
    CheckError,
    Command,
    FrameLengthError,
    Opcode,
    SyncError,
    UnknownOpcodeError,
)
from signals.modulators.uplink import (
    UplinkError,
    command_start_times_s,
    modulate_bursts,
    modulate_commands,
    uplink_duration_s,
)

commands = st.builds(Command, st.sampled_from(Opcode), st.integers(0, 255))


@given(commands)
def test_frame_round_trip(command: Command) -> None:
    frame = command.pack()
    assert len(frame) == 5
    assert frame[:2] == b"\xeb\x90"
    assert frame[4] == (frame[2] + frame[3]) % 256
    assert Command.unpack(frame) == command
    bits = command.bits()
    assert bits.size == FRAME_BITS
    np.testing.assert_array_equal(bits[:16], SYNC_PATTERN)
    assert Command.from_bits(bits) == command


@given(commands, st.integers(1, 255))
def test_any_wrong_check_byte_is_refused(command: Command, error: int) -> None:
    frame = bytearray(command.pack())
    frame[4] = (frame[4] + error) % 256
    with pytest.raises(CheckError, match="check byte"):
        Command.unpack(bytes(frame))


def test_hand_written_frames() -> None:
    assert Command.unpack(bytes.fromhex("eb90020305")) == Command(Opcode.SET_BIT_RATE, 3)
    assert Command.unpack(bytes.fromhex("eb9001ff00")) == Command(Opcode.START_SESSION, 255)
    with pytest.raises(FrameLengthError, match="has 24 bits; ICD §5 frames have 40"):
        Command.unpack(bytes.fromhex("eb9002"))
    with pytest.raises(FrameLengthError):
        Command.from_bits(np.ones(39, dtype=np.uint8))
    with pytest.raises(SyncError, match="0xEB91"):
        Command.unpack(bytes.fromhex("eb91020305"))
    with pytest.raises(UnknownOpcodeError, match="0x07"):
        Command.unpack(bytes.fromhex("eb90070007"))


def test_opcodes_are_those_of_the_icd() -> None:
    assert [(op.name, op.value) for op in Opcode] == [
        ("START_SESSION", 1),
        ("SET_BIT_RATE", 2),
        ("SELECT_TX", 3),
        ("PLAY_IMAGE", 4),
        ("TAKE_IMAGE", 5),
        ("END_SESSION", 6),
    ]


def test_argument_constructors_check_their_ranges() -> None:
    assert Command.start_session(170).argument == 17
    assert Command.set_bit_rate(128).argument == 7
    assert Command.play_image(300).argument == 44
    assert Command.take_image(4).argument == 4
    assert Command.select_tx(0b1010).argument == 0b1010
    for bad in (
        lambda: Command.start_session(25),
        lambda: Command.set_bit_rate(3),
        lambda: Command.set_bit_rate(256),
        lambda: Command.select_tx(0x10),
        lambda: Command.take_image(1),
        lambda: Command(Opcode.PLAY_IMAGE, 256),
    ):
        with pytest.raises(ArgumentError):
            bad()


def _instantaneous_frequency_hz(x: np.ndarray, fs_hz: float) -> np.ndarray:
    return np.angle(x[1:] * np.conj(x[:-1])) * fs_hz / (2 * np.pi)


@pytest.mark.parametrize(("bit", "tone_hz"), [(1, 250.0), (0, -250.0)])
def test_tone_frequencies(bit: int, tone_hz: float) -> None:
    fs_hz = 2000.0
    x = modulate_bursts([np.full(100, bit)], [0.0], fs_hz, 10.0)
    spectrum = np.abs(np.fft.fft(x)) ** 2
    freqs = np.fft.fftfreq(x.size, 1 / fs_hz)
    assert freqs[np.argmax(spectrum)] == pytest.approx(tone_hz, abs=0.1)


def test_fsk_is_continuous_phase_unit_amplitude() -> None:
    fs_hz = 3000.0  # 300 samples per bit, tones exactly ±250 Hz
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2, 200)
    x = modulate_bursts([bits], [0.5], fs_hz, 21.0)
    keyed = np.abs(x) > 0
    np.testing.assert_allclose(np.abs(x[keyed]), 1.0, rtol=1e-6)
    assert np.count_nonzero(keyed) == pytest.approx(200 / BIT_RATE_BPS * fs_hz, abs=1)
    first = np.argmax(keyed)
    freq = _instantaneous_frequency_hz(x[first : first + bits.size * 300], fs_hz)
    # No phase jump anywhere: every step is exactly one of the two tones.
    assert np.all(np.isclose(np.abs(freq), 250.0, atol=1e-2))
    # The tone of each bit is the bit: sample the frequency mid-bit.
    mid = np.arange(bits.size) * 300 + 150
    np.testing.assert_array_equal(freq[mid] > 0, bits == 1)


def test_command_schedule_and_frames_on_air() -> None:
    fs_hz = 1000.0
    sent = [Command.start_session(20), Command.set_bit_rate(4), Command.end_session()]
    x = modulate_commands(sent, fs_hz, gap_s=1.5, start_offset_s=2.0)
    assert x.dtype == np.complex64
    assert x.size == round(uplink_duration_s(3, gap_s=1.5, start_offset_s=2.0) * fs_hz)
    assert uplink_duration_s(3, gap_s=1.5, start_offset_s=2.0) == 2.0 + 3 * 12.0 + 2 * 1.5
    starts_s = command_start_times_s(3, gap_s=1.5, start_offset_s=2.0)
    np.testing.assert_allclose(starts_s, [2.0, 15.5, 29.0])
    keyed = np.abs(x) > 0.5
    runs = np.flatnonzero(np.diff(keyed.astype(int)) == 1) + 1
    np.testing.assert_allclose(runs / fs_hz, starts_s, atol=1.5 / fs_hz)
    # Genie demodulation at known timing: tone sign mid-bit gives back every frame.
    freq = _instantaneous_frequency_hz(x, fs_hz)
    bit_s = 1 / BIT_RATE_BPS
    for start_s, command in zip(starts_s, sent, strict=True):
        mid = np.round((start_s + (np.arange(REPEATS * FRAME_BITS) + 0.5) * bit_s) * fs_hz)
        bits = (freq[mid.astype(int)] > 0).astype(np.uint8)
        for i in range(REPEATS):
            assert Command.from_bits(bits[i * FRAME_BITS : (i + 1) * FRAME_BITS]) == command
    assert REPEATS * FRAME_DURATION_S == 12.0


def test_transmitter_refuses_bad_parameters() -> None:
    with pytest.raises(UplinkError, match="below the minimum"):
        modulate_commands([Command.end_session()], 500.0)
    with pytest.raises(UplinkError, match="negative"):
        modulate_commands([Command.end_session()], 2000.0, gap_s=-1.0)
    with pytest.raises(UplinkError, match=r"not a whole number of 0\.1 s bit periods"):
        modulate_commands([Command.end_session()], 2000.0, gap_s=0.75)
    with pytest.raises(UplinkError, match="overlap"):
        modulate_bursts([np.ones(40), np.ones(40)], [0.0, 1.0], 2000.0, 10.0)
