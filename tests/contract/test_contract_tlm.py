"""ICD §4 (telemetry) pinned by value: the layout and calibrations of ``contract.icd_tlm``
(written from the ICD alone) against the project's packer, unpacker, modulator and receiver.

Frames are packed here byte by byte; the project must read the ICD's engineering values from
them and pack exactly the same bytes from those values. The waveform is written here from
the ICD's formula; the project's modulator must produce it and its receiver must decode it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from contract.icd_tlm import (
    BIT_RATES_BPS,
    ENGINEERING,
    ICD_CHANNELS,
    SCIENCE,
    SPARE_WORDS,
    SYNC,
    IcdChannel,
    frame_bytes,
    odd_word,
    pm_waveform,
)

from groundstation.cli.synth.tlm import synth_tlm
from groundstation.receivers.tlm_decode import decode_tlm_samples
from signals.formats import tlm as fmt
from signals.formats.tlm_frames import TelemetryFrame, frame_from_channels
from signals.modulators.tlm import TelemetryTransmission

START_UTC = datetime(1962, 11, 5, 9, 0, 0, tzinfo=UTC)
ALL_CHANNELS = [(ft, ch) for ft, chs in ICD_CHANNELS.items() for ch in chs]


def raw_samples(ch: IcdChannel) -> list[int]:
    """A few raw values across the channel's range (0, 1, a middle value, the largest)."""
    return [0, 1, (ch.raw_max * 5) // 11, ch.raw_max]


def icd_values(frame_type: int, raw: dict[str, int]) -> dict[str, float]:
    """Engineering value of every channel of the frame type, by the ICD's formulas."""
    return {ch.name: ch.value(raw.get(ch.name, 0)) for ch in ICD_CHANNELS[frame_type]}


# ------------------------------------------------------------------ constants by value


def test_signal_constants() -> None:
    assert fmt.SYNC_WORD == 0xFAF320 and fmt.SYNC_BITS == 24
    assert tuple(fmt.BIT_RATES_BPS) == BIT_RATES_BPS
    assert fmt.SUBCARRIER_HZ == 1024.0
    assert fmt.MOD_INDEX_RAD == 1.0
    assert fmt.FRAME_WORDS == 32 and fmt.FRAME_BITS == 256
    # the ICD's power split for β = 1: J0(1)² = 58.6 %, 2·J1(1)² = 38.7 %
    assert fmt.CARRIER_POWER_FRACTION == pytest.approx(0.586, abs=5e-4)
    assert fmt.DATA_POWER_FRACTION == pytest.approx(0.387, abs=5e-4)


def test_channel_names_and_words() -> None:
    for frame_type in (ENGINEERING, SCIENCE):
        got = [(c.name, tuple(c.words)) for c in fmt.CHANNELS[fmt.FrameType(frame_type)]]
        assert got == [(c.name, c.words) for c in ICD_CHANNELS[frame_type]]
        assert tuple(fmt.SPARE_WORDS[fmt.FrameType(frame_type)]) == SPARE_WORDS[frame_type]


def test_every_data_word_has_odd_parity() -> None:
    for data in range(128):
        frame = frame_from_channels(data, fmt.FrameType.SCIENCE, icd_values(SCIENCE, {}))
        assert frame.words[3] == odd_word(data)
        assert bin(frame.words[3]).count("1") % 2 == 1


# ------------------------------------------------------------------ frames by hand


@pytest.mark.parametrize(("frame_type", "ch"), ALL_CHANNELS, ids=lambda v: getattr(v, "name", v))
def test_channel_calibration_and_position(frame_type: int, ch: IcdChannel) -> None:
    """Each raw value in the channel's own words, every other channel 0: the project reads
    the ICD's value for this channel (and 0 raw for the others) and packs the same bytes."""
    for raw_value in raw_samples(ch):
        raw = {ch.name: raw_value}
        data = frame_bytes(93, frame_type, raw)
        expected = icd_values(frame_type, raw)
        frame = TelemetryFrame.unpack(data)
        assert frame.parity_ok and frame.sync_ok and frame.spare_ok
        assert (frame.frame_counter, int(frame.frame_type)) == (93, frame_type)
        assert frame.pack()[:3] == SYNC
        raw_all = {c.name: raw.get(c.name, 0) for c in ICD_CHANNELS[frame_type]}
        assert frame.raw_channels() == raw_all
        assert frame.channels() == pytest.approx(expected, abs=1e-9)
        assert frame_from_channels(93, frame_type, expected).pack() == data


def test_a_whole_engineering_frame_by_hand() -> None:
    # counter 45, time 1 000 000 min = (61, 4, 64) in 7-bit groups, battery 27.3 V = raw 73
    words = "fa f3 20 5b 01 7a 08 80 29 40 92 80 cb 3e 0b 01 83 62 0d 13 01 01 01 01 01 01"
    data = bytes.fromhex(words + " 01 01 01 01 01 01")
    frame = TelemetryFrame.unpack(data)
    assert frame.parity_ok and frame.frame_counter == 45
    assert frame.channels() == pytest.approx(
        {
            "onboard_time_min": 1_000_000,
            "n2_pressure_a_mpa": 20 * 0.125,
            "n2_pressure_b_mpa": 32 * 0.125,
            "battery_v": 20.0 + 73 * 0.1,
            "battery_a": (64 - 64) * 0.25,
            "solar_array_a": 101 * 0.1,
            "temp_orbital_c": -40 + 31,
            "temp_experiment_c": -40 + 5,
            "temp_radiator_c": -100 + 0 * 1.5,
            "attitude_mode": 65,  # outside the table: reported raw
            "command_count": 49,
            "last_command": 6,
            "tx_state": 9,
        }
    )
    assert frame_from_channels(45, ENGINEERING, frame.channels()).pack() == data


def test_even_parity_word_is_flagged() -> None:
    data = bytearray(frame_bytes(3, SCIENCE, {"mag_x_nt": 9000}))
    data[7] ^= 0x01  # word 7: now an even number of ones
    frame = TelemetryFrame.unpack(bytes(data))
    assert not frame.parity_ok
    assert [i + 3 for i, ok in enumerate(frame.word_parity) if not ok] == [7]


# ------------------------------------------------------------------ the modulator


@pytest.mark.parametrize("invert", [False, True])
def test_modulator_is_the_icd_waveform(invert: bool) -> None:
    frames = [frame_bytes(k, k % 2, {}) for k in range(2)]
    fs_hz, rate = 8000.0, 64
    tx = TelemetryTransmission(
        [TelemetryFrame.unpack(f) for f in frames],
        fs_hz=fs_hz,
        bit_rate_bps=rate,
        rng=np.random.default_rng(0),
        carrier_s=0.25,
        tail_s=0.25,
        invert=invert,
    )
    got = tx.envelope(0, tx.n_samples)
    icd = pm_waveform(
        frames,
        fs_hz=fs_hz,
        bit_rate_bps=rate,
        carrier_s=0.25,
        duration_s=tx.n_samples / fs_hz,
        rng=np.random.default_rng(0),
        ebn0_db=None,
        invert=invert,
    )
    icd = icd * np.exp(-1j * np.angle(icd[0]))  # the reference starts at a random phase
    assert got.size == icd.size
    assert np.max(np.abs(got - icd)) < 1e-5


def test_synthesised_frames_alternate_type_and_count_up(tmp_path) -> None:
    meta = synth_tlm(tmp_path / "alt", bit_rate_bps=128, carrier_s=1.0, duration_s=13.0)
    truth = json.loads((tmp_path / "alt.truth.json").read_text())
    frames = [TelemetryFrame(tuple(f["words"])) for f in truth["frames"]]
    assert meta.exists() and len(frames) >= 5
    types = [int(f.frame_type) for f in frames]
    counters = [f.frame_counter for f in frames]
    assert types[1:] == [1 - t for t in types[:-1]]
    assert counters[1:] == [(c + 1) % 128 for c in counters[:-1]]
    assert all(f.sync_ok and f.parity_ok for f in frames)


# ------------------------------------------------------------------ the receiver


@pytest.mark.parametrize(
    ("invert", "clock_offset", "offset_hz", "rate_hz_per_s"),
    [(False, 0.0, -740.0, 0.0), (True, 100e-6, 1900.0, -5.0), (False, -100e-6, -1950.0, 5.0)],
)
def test_receiver_decodes_a_waveform_written_from_the_icd(
    invert: bool, clock_offset: float, offset_hz: float, rate_hz_per_s: float
) -> None:
    """Both polarities, at the ICD's limits: clock ±100 ppm, residual ±2 kHz at ±5 Hz/s."""
    rng = np.random.default_rng(42)
    raws = [
        {"battery_v": 55, "battery_a": 80, "temp_radiator_c": 90, "onboard_time_min": 7000},
        {"mag_x_nt": 8192 + 700, "mag_y_nt": 8192 - 1500, "micrometeoroid_hits": 12345},
        {"attitude_mode": 2, "tx_state": 0b10011, "last_command": 5},
        {"mag_z_nt": 100, "gas_discharge_cps": 16383, "scintillation_cps": 2},
    ]
    frames = [frame_bytes(126 + k, k % 2, raw) for k, raw in enumerate(raws)]
    fs_hz, rate, carrier_s = 8000.0, 128, 6.0
    x = pm_waveform(
        frames,
        fs_hz=fs_hz,
        bit_rate_bps=rate,
        carrier_s=carrier_s,
        duration_s=carrier_s + 4 * 2.0 + 1.0,
        rng=rng,
        ebn0_db=12.0,  # P_b = 9e-9 (ICD §4): the 1024 bits come back exact
        carrier_offset_hz=offset_hz,
        carrier_rate_hz_per_s=rate_hz_per_s,
        clock_offset=clock_offset,
        invert=invert,
    )
    result = decode_tlm_samples(x, fs_hz, bit_rate_bps=rate, start_utc=START_UTC)
    assert [bytes(f.words) for f in result.frames] == frames
    assert [f.frame_counter for f in result.frames] == [126, 127, 0, 1]
    assert all(f.parity_ok and f.inverted == invert for f in result.frames)
    frame_s = 2.0 * (1 + clock_offset)
    for k, (f, raw) in enumerate(zip(result.frames, raws, strict=True)):
        assert f.channels == pytest.approx(icd_values(k % 2, raw), abs=1e-9)
        assert f.first_bit_sample == pytest.approx((carrier_s + frame_s * k) * fs_hz, abs=0.5)
    assert result.carrier_offset_hz == pytest.approx(offset_hz, abs=0.5)
    assert result.carrier_rate_hz_per_s == pytest.approx(rate_hz_per_s, abs=0.05)
    assert result.clock_offset == pytest.approx(clock_offset, abs=10e-6)
