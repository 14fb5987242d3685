"""Telemetry frame packing and unpacking (ICD §4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.errors import SignalsError
from signals.formats.tlm import (
    CHANNEL_BY_NAME,
    CHANNELS,
    FRAME_BYTES,
    SPARE_WORDS,
    AttitudeMode,
    ChannelKind,
    FrameType,
    from_raw,
    to_raw,
)
from signals.formats.tlm_frames import (
    FrameContentError,
    TelemetryFrame,
    TruncatedFrameError,
    encode_word,
    frame_from_channels,
    word_parity_ok,
)


def _hand_frame(data: dict[int, int]) -> bytes:
    """A frame written bit by bit from the ICD: sync, then 7 data bits + odd parity."""
    bits = format(0xFAF320, "024b")
    for w in range(3, 32):
        d = data.get(w, 0)
        b7 = format(d, "07b")
        bits += b7 + ("0" if b7.count("1") % 2 else "1")
    return int(bits, 2).to_bytes(32, "big")


def test_hand_written_engineering_frame() -> None:
    # counter 77, type 0, onboard time 0x12345 min = 0b000_0100_1000_1101_0001_01 ...
    t = 0x12345
    data = {3: 77, 4: 0, 5: (t >> 14) & 127, 6: (t >> 7) & 127, 7: t & 127}
    data |= {8: 40, 10: 85, 11: 60, 13: 62, 15: 80, 16: 2, 17: 130 % 128, 18: 3, 19: 0b10011}
    frame = TelemetryFrame.unpack(_hand_frame(data))
    assert frame.sync_ok and frame.parity_ok and frame.spare_ok
    assert frame.frame_counter == 77
    assert frame.frame_type is FrameType.ENGINEERING
    ch = frame.channels()
    assert ch["onboard_time_min"] == t
    assert ch["n2_pressure_a_mpa"] == pytest.approx(5.0)
    assert ch["n2_pressure_b_mpa"] == 0.0
    assert ch["battery_v"] == pytest.approx(28.5)
    assert ch["battery_a"] == pytest.approx(-1.0)
    assert ch["temp_orbital_c"] == pytest.approx(22.0)
    assert ch["temp_radiator_c"] == pytest.approx(20.0)
    assert ch["attitude_mode"] == AttitudeMode.SPIN_SUN_AXIS
    assert ch["command_count"] == 2
    assert ch["last_command"] == 3
    assert ch["tx_state"] == 0b10011
    # packing reproduces the bytes exactly
    built = frame_from_channels(77, FrameType.ENGINEERING, ch)
    assert built.pack() == _hand_frame(data)


def test_hand_written_science_frame() -> None:
    mag_x = 8192 + 700  # 3.5 nT
    hits = 0x2ABC
    data = {3: 1, 4: 1, 5: mag_x >> 7, 6: mag_x & 127, 11: hits >> 7, 12: hits & 127, 16: 9}
    frame = TelemetryFrame.unpack(_hand_frame(data))
    ch = frame.channels()
    assert frame.frame_type is FrameType.SCIENCE
    assert ch["mag_x_nt"] == pytest.approx(3.5)
    assert ch["mag_y_nt"] == pytest.approx(-40.96)
    assert ch["micrometeoroid_hits"] == hits
    assert ch["scintillation_cps"] == 9
    assert set(ch) == {c.name for c in CHANNELS[FrameType.SCIENCE]}


def test_spare_words_and_parity_bits() -> None:
    frame = frame_from_channels(3, 1, {c.name: 0 for c in CHANNELS[FrameType.SCIENCE]})
    for w in SPARE_WORDS[FrameType.SCIENCE]:
        assert frame.words[w] == 0b0000_0001  # 0 data bits + odd parity 1
    assert SPARE_WORDS[FrameType.ENGINEERING] == tuple(range(20, 32))
    assert SPARE_WORDS[FrameType.SCIENCE] == tuple(range(17, 32))
    assert encode_word(0b1010101) == 0b1010_1011  # four ones: parity bit 1 makes five
    assert encode_word(0b0000111) == 0b0000_1110  # three ones: parity bit 0
    assert all(word_parity_ok(encode_word(d)) for d in range(128))


@pytest.mark.parametrize("n_bytes", [0, 1, 3, 31])
def test_truncated_input_raises_with_numbers(n_bytes: int) -> None:
    data = frame_from_channels(0, 1, {c.name: 1 for c in CHANNELS[FrameType.SCIENCE]}).pack()
    with pytest.raises(TruncatedFrameError) as info:
        TelemetryFrame.unpack(data[:n_bytes])
    assert info.value.n_bytes == n_bytes
    assert info.value.needed_bytes == FRAME_BYTES
    assert str(n_bytes) in str(info.value)
    assert isinstance(info.value, SignalsError)


def test_single_bit_error_fails_exactly_one_word() -> None:
    frame = frame_from_channels(9, 0, {c.name: 5 for c in CHANNELS[FrameType.ENGINEERING]})
    for bit in range(24, 256, 37):
        raw = bytearray(frame.pack())
        raw[bit // 8] ^= 0x80 >> (bit % 8)
        bad = TelemetryFrame.unpack(bytes(raw))
        assert not bad.parity_ok
        assert sum(not ok for ok in bad.word_parity) == 1
        assert not bad.word_parity[bit // 8 - 3]


def test_clipping_wrapping_and_raw_enumerations() -> None:
    battery = CHANNEL_BY_NAME["battery_v"]
    assert to_raw(battery, 100.0) == 127  # clipped to the raw range
    assert to_raw(battery, 0.0) == 0
    assert to_raw(CHANNEL_BY_NAME["micrometeoroid_hits"], 16384 + 5) == 5  # count wraps
    assert to_raw(CHANNEL_BY_NAME["command_count"], 130) == 2
    attitude = CHANNEL_BY_NAME["attitude_mode"]
    assert attitude.kind is ChannelKind.ENUM
    assert from_raw(attitude, 1) is AttitudeMode.GYRO
    assert from_raw(attitude, 77) == 77  # outside the table: reported raw
    assert type(from_raw(attitude, 77)) is int


def test_missing_channel_and_bad_type_are_errors() -> None:
    values = {c.name: 1 for c in CHANNELS[FrameType.ENGINEERING] if c.name != "battery_v"}
    with pytest.raises(FrameContentError, match="battery_v"):
        frame_from_channels(0, 0, values)
    with pytest.raises(FrameContentError, match="type 7"):
        frame_from_channels(0, 7, {})


_words = st.lists(st.integers(0, 127), min_size=29, max_size=29)


@given(_words)
def test_any_data_words_round_trip(data: list[int]) -> None:
    words = (0xFA, 0xF3, 0x20, *(encode_word(d) for d in data))
    frame = TelemetryFrame(words)
    back = TelemetryFrame.unpack(frame.pack())
    assert back == frame
    assert back.parity_ok and back.sync_ok
    assert back.frame_counter == data[0]
    raw = back.raw_channels()
    if data[1] in (0, 1):
        for ch in CHANNELS[FrameType(data[1])]:
            expect = 0
            for w in ch.words:
                expect = (expect << 7) | data[w - 3]
            assert raw[ch.name] == expect
    else:
        assert raw == {} and back.channels() == {}


@given(
    st.integers(0, 10_000),
    st.sampled_from(list(FrameType)),
    st.lists(st.integers(0, (1 << 21) - 1), min_size=13, max_size=13),
)
def test_channels_round_trip_through_raw(counter: int, ft: FrameType, raws: list[int]) -> None:
    chans = CHANNELS[ft]
    values = {ch.name: from_raw(ch, raw & ch.raw_max) for ch, raw in zip(chans, raws, strict=False)}
    frame = frame_from_channels(counter, ft, values)
    back = TelemetryFrame.unpack(frame.pack())
    assert back.frame_counter == counter % 128
    assert back.frame_type == ft
    assert back.raw_channels() == {
        ch.name: raw & ch.raw_max for ch, raw in zip(chans, raws, strict=False)
    }
    assert back.channels() == pytest.approx(values)


def test_the_power_fractions_are_the_bessel_functions_of_the_modulation_index() -> None:
    """J0(β)² and 2·J1(β)², written out in the format module, are scipy's to the bit."""
    from scipy.special import j0, j1

    from signals.formats.tlm import CARRIER_POWER_FRACTION, DATA_POWER_FRACTION, MOD_INDEX_RAD

    assert float(j0(MOD_INDEX_RAD) ** 2) == CARRIER_POWER_FRACTION
    assert float(2.0 * j1(MOD_INDEX_RAD) ** 2) == DATA_POWER_FRACTION
