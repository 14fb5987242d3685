"""PPM format (ICD §3): slots, markers, header packing and its check."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.formats.ppm import (
    CHIP_S,
    FRAME_MARKER_CHIPS,
    LINE_MARKER_CHIPS,
    PERIOD_CHIPS,
    PERIOD_S,
    SLOT_CHIPS,
    PpmFormatError,
    PpmHeader,
    header_check,
    join12,
    line_prefix,
    slot_chip,
    split12,
)


def test_timing_constants_match_the_icd():
    assert CHIP_S == pytest.approx(1 / 45_000)
    assert PERIOD_CHIPS == 500
    assert PERIOD_S == pytest.approx(1 / 90)


def test_slots_span_chips_50_to_428_six_apart():
    assert SLOT_CHIPS[0] == 50 and SLOT_CHIPS[-1] == 428
    assert np.all(np.diff(SLOT_CHIPS) == 6)
    assert slot_chip(63) == 428


def test_markers_never_look_like_data():
    # Consecutive data pulses are at least 500 - 428 + 50 = 122 chips apart; a marker packs
    # four pulses into 44 chips, and the two markers share no three-pulse sub-pattern.
    min_data_gap = PERIOD_CHIPS - SLOT_CHIPS[-1] + SLOT_CHIPS[0]
    assert min_data_gap == 122
    for chips in (LINE_MARKER_CHIPS, FRAME_MARKER_CHIPS):
        assert len(chips) == 4 and chips[-1] - chips[0] < min_data_gap
    line, frame = np.array(LINE_MARKER_CHIPS), np.array(FRAME_MARKER_CHIPS)
    for shift in range(-60, 61):
        assert len(set(line + shift) & set(frame)) <= 2


def test_header_pack_by_hand():
    header = PpmHeader(image_id=0x9C5, lines=200, pixels=300, mode=4)
    values = header.pack()
    expected = [0x9C5 >> 6, 0x9C5 & 63, 200 >> 6, 200 & 63, 300 >> 6, 300 & 63, 4]
    assert values[:7].tolist() == expected
    assert values[7] == sum(expected) % 64


@given(
    st.integers(0, 4095),
    st.integers(1, 4095),
    st.integers(1, 4095),
    st.sampled_from([0, *range(2, 64)]),
)
def test_header_round_trip(image_id, lines, pixels, mode):
    header = PpmHeader(image_id, lines, pixels, mode)
    values = header.pack()
    assert values.min() >= 0 and values.max() <= 63
    assert PpmHeader.unpack(values) == header


@given(st.integers(0, 7), st.integers(1, 63))
def test_corrupted_header_fails_its_check(position, delta):
    values = PpmHeader(1234, 64, 80, 0).pack()
    values[position] = (values[position] + delta) % 64
    with pytest.raises(PpmFormatError, match="check"):
        PpmHeader.unpack(values)


def test_header_check_is_sum_mod_64():
    values = np.array([63, 63, 63, 63, 63, 63, 63, 0])
    assert header_check(values) == (7 * 63) % 64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_id": 4096, "lines": 1, "pixels": 1}, "image_id"),
        ({"image_id": 1, "lines": 0, "pixels": 1}, "at least one line"),
        ({"image_id": 1, "lines": 1, "pixels": 1, "mode": 1}, "mode"),
        ({"image_id": 1, "lines": 1, "pixels": 1, "mode": 64}, "mode"),
    ],
)
def test_invalid_headers_are_refused(kwargs, message):
    with pytest.raises(PpmFormatError, match=message):
        PpmHeader(**kwargs)


def test_unpack_rejects_wrong_length_and_range():
    with pytest.raises(PpmFormatError, match="8 values"):
        PpmHeader.unpack(np.zeros(7, int))
    with pytest.raises(PpmFormatError, match=r"0\.\.63"):
        PpmHeader.unpack(np.array([64, 0, 0, 1, 0, 1, 0, 2]))


def test_survey_lines_and_periods():
    header = PpmHeader(5, lines=10, pixels=7, mode=3)
    assert header.sent_lines.tolist() == [0, 3, 6, 9]
    assert header.line_periods == 12
    assert header.total_periods == 18 + 4 * 12


def test_12_bit_fields_and_line_prefix():
    for value in (0, 1, 63, 64, 4095):
        assert join12(*split12(value)) == value
    with pytest.raises(PpmFormatError):
        split12(4096)
    assert line_prefix(130).tolist() == [2, 2, 0, 63]
