"""ICD §1, §2, §5 and §7 pinned by value: command uplink, band table, recording datatypes and
the link budget. Every literal is copied from the ICD; expected figures are computed here
from the ICD's formulas, never by the code under test.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy.special import j0, j1

from groundstation.io.recording import open_recording
from groundstation.receivers.carrier import estimate_carrier
from signals.bands import band, station
from signals.formats import uplink as fmt
from signals.modulators.carrier import CarrierSignal
from signals.modulators.uplink import modulate_commands
from signals.path.link_budget import link_budget, max_range_km
from signals.spacecraft.command_receiver import CommandReceiver

START_UTC = datetime(1962, 11, 5, 9, 0, 0, tzinfo=UTC)

# ------------------------------------------------------------------ §5 command uplink

ICD_OPCODES = {
    "START_SESSION": 0x01,
    "SET_BIT_RATE": 0x02,
    "SELECT_TX": 0x03,
    "PLAY_IMAGE": 0x04,
    "TAKE_IMAGE": 0x05,
    "END_SESSION": 0x06,
}


def icd_command(opcode: int, argument: int) -> bytes:
    """sync 0xEB90, opcode, argument, check = (opcode + argument) mod 256."""
    return bytes([0xEB, 0x90, opcode, argument, (opcode + argument) % 256])


def test_uplink_constants() -> None:
    assert fmt.SYNC_WORD == 0xEB90 and fmt.FRAME_BITS == 40
    assert fmt.BIT_RATE_BPS == 10.0
    assert tuple(fmt.TONE_HZ) == (-250.0, 250.0)
    assert fmt.REPEATS == 3
    assert {op.name: int(op) for op in fmt.Opcode} == ICD_OPCODES


@pytest.mark.parametrize(("name", "argument"), [(n, a) for n in ICD_OPCODES for a in (0, 7, 255)])
def test_command_frames_by_hand(name: str, argument: int) -> None:
    data = icd_command(ICD_OPCODES[name], argument)
    command = fmt.Command(fmt.Opcode[name], argument)
    assert command.pack() == data
    assert fmt.Command.unpack(data) == command
    # a check byte that is the sum mod 255 (or anything but mod 256) is refused
    for bad in {(ICD_OPCODES[name] + argument) % 255, data[4] ^ 0x01} - {data[4]}:
        with pytest.raises(fmt.CheckError):
            fmt.Command.unpack(data[:4] + bytes([bad]))


def test_command_constructors_by_the_icd() -> None:
    assert fmt.Command.start_session(120.0).pack() == icd_command(0x01, 12)  # seconds ÷ 10
    assert fmt.Command.set_bit_rate(32).pack() == icd_command(0x02, 5)  # log2 R
    assert fmt.Command.select_tx(0b1010).pack() == icd_command(0x03, 0b1010)
    assert fmt.Command.play_image(300).pack() == icd_command(0x04, 300 % 256)
    assert fmt.Command.take_image(4).pack() == icd_command(0x05, 4)
    assert fmt.Command.end_session().pack() == icd_command(0x06, 0)


def test_uplink_modulator_tones_and_bit_rate() -> None:
    """Instantaneous frequency per 0.1 s bit: +250 Hz for a 1, −250 Hz for a 0, three frames."""
    fs_hz = 4000.0
    x = modulate_commands([fmt.Command(fmt.Opcode.TAKE_IMAGE, 0x3C)], fs_hz)
    frame = np.unpackbits(np.frombuffer(icd_command(0x05, 0x3C), dtype=np.uint8))
    bits = np.tile(frame, 3)
    per_bit = round(fs_hz / 10)
    keyed = np.flatnonzero(np.abs(x) > 0.5)
    assert keyed.size == bits.size * per_bit  # 120 bits at 10 bit/s
    y = x[keyed[0] : keyed[0] + keyed.size].reshape(bits.size, per_bit)
    freq_hz = np.angle(np.sum(y[:, 2:] * np.conj(y[:, 1:-1]), axis=1)) * fs_hz / (2 * np.pi)
    assert freq_hz == pytest.approx(np.where(bits == 1, 250.0, -250.0), abs=0.5)
    # continuous phase: no jump at the bit edges either
    edge_step = np.angle(x[keyed[1:]] * np.conj(x[keyed[:-1]]))
    assert np.max(np.abs(edge_step)) <= 2 * np.pi * 250.0 / fs_hz + 1e-4


def test_spacecraft_receiver_decodes_fsk_written_from_the_icd() -> None:
    """Continuous-phase FSK built here: ±250 Hz, 10 bit/s, each frame three times."""
    fs_hz, lead_s = 2000.0, 1.0
    rng = np.random.default_rng(5)
    bits = np.tile(np.unpackbits(np.frombuffer(icd_command(0x02, 3), dtype=np.uint8)), 3)
    freq = np.repeat(np.where(bits == 1, 250.0, -250.0), round(fs_hz / 10)) + 20.0  # residual
    phase = 2 * np.pi * np.cumsum(freq) / fs_hz
    x = np.concatenate([np.zeros(int(lead_s * fs_hz)), np.exp(1j * phase), np.zeros(2000)])
    x = x + 0.05 * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))
    found = CommandReceiver().receive(x.astype(np.complex64), fs_hz, START_UTC)
    acted = [f.command for f in found if f.acted]
    assert acted == [fmt.Command(fmt.Opcode.SET_BIT_RATE, 3)]
    assert len(found) == 3


# ------------------------------------------------------------------ §1 bands


def test_band_table() -> None:
    assert band("1.6m-tlm").carrier_hz == 183.6e6
    assert band("1.6m-cmd").carrier_hz == 102.0e6
    assert band("32cm-tlm").carrier_hz == 922.76e6
    assert band("8cm-carrier").carrier_hz == pytest.approx(4 * 922.76e6, rel=1e-15)
    assert band("39cm-up").carrier_hz == pytest.approx(922.76e6 * 5 / 6, rel=1e-15)
    assert band("5cm-ppm").carrier_hz == 5860.0e6
    assert 5840e6 <= band("5cm-ppm").carrier_hz <= 5890e6
    # residual carrier limits (Hz, Hz/s): §3 PPM, §4 telemetry, §5 commands, §6 8 cm
    limits = {
        "5cm-ppm": (30_000.0, 5.0),
        "32cm-tlm": (2000.0, 5.0),
        "1.6m-tlm": (2000.0, 5.0),
        "8cm-carrier": (4000.0, 20.0),
    }
    for band_id, limit in limits.items():
        assert (band(band_id).max_residual_hz, band(band_id).max_residual_rate_hz_per_s) == limit
    assert band("1.6m-cmd").max_residual_hz == 50.0
    dish = {b for b in ("1.6m-tlm", "32cm-tlm", "8cm-carrier", "5cm-ppm") if band(b).needs_dish}
    assert dish == {"32cm-tlm", "8cm-carrier", "5cm-ppm"}
    st = station()
    assert (st.latitude_deg, st.longitude_deg) == (45.17, 33.25)


# ------------------------------------------------------------------ §6 coherent carrier


@pytest.mark.parametrize(("offset_hz", "rate_hz_per_s"), [(3700.0, 15.0), (-3800.0, 20.0)])
def test_carrier_receiver_covers_the_8cm_residual(offset_hz: float, rate_hz_per_s: float) -> None:
    """ICD §6: residual ≤ ±4 kHz (the ±1 ppm oscillator alone is ±3.7 kHz), ≤ ±20 Hz/s."""
    fs_hz, duration_s = 8000.0, 8.0
    t = np.arange(round(fs_hz * duration_s)) / fs_hz
    rng = np.random.default_rng(11)
    x = np.exp(2j * np.pi * (offset_hz * t + 0.5 * rate_hz_per_s * t * t))
    sigma = np.sqrt(1 / 10 ** (40 / 10) * fs_hz / 2)  # C/N0 = 40 dB-Hz with C = 1
    x = x + sigma * (rng.standard_normal(t.size) + 1j * rng.standard_normal(t.size))
    est = estimate_carrier(x.astype(np.complex64), fs_hz, max_rate_hz_per_s=20.0)
    assert est.offset_at_start_hz == pytest.approx(offset_hz, abs=0.5)
    assert est.rate_hz_per_s == pytest.approx(rate_hz_per_s, abs=0.05)


def test_8cm_band_allows_the_icd_residual() -> None:
    assert band("8cm-carrier").max_residual_hz >= 4000.0
    assert band("8cm-carrier").max_residual_rate_hz_per_s >= 20.0
    CarrierSignal(fs_hz=8000.0, duration_s=1.0, offset_hz=3700.0, band_id="8cm-carrier")


# ------------------------------------------------------------------ §7 link budget

# band: P_t (W), G_t, G_r (dBi), T_sys (K), L_misc, L_impl, threshold (dB or dB-Hz), kind
ICD_BUDGET = {
    "1.6m-tlm": (40.0, 3.0, 33.0, 500.0, 2.0, 1.0, 8.0, "tlm"),
    "32cm-tlm": (25.0, 21.7, 50.3, 150.0, 2.0, 1.0, 8.0, "tlm"),
    "8cm-carrier": (10.0, 33.7, 60.0, 150.0, 2.0, 1.0, 20.0, "carrier"),
    "5cm-ppm": (25e3, 37.8, 60.0, 150.0, 2.0, 1.0, 12.0, "ppm"),
    "1.6m-cmd": (100e3, 33.0, 3.0, 1000.0, 2.0, 1.0, 10.0, "uplink"),
    "39cm-up": (100e3, 50.0, 3.0, 1000.0, 2.0, 1.0, 20.0, "carrier"),
}
ICD_CARRIER_HZ = {
    "1.6m-tlm": 183.6e6,
    "32cm-tlm": 922.76e6,
    "8cm-carrier": 4 * 922.76e6,
    "5cm-ppm": 5860.0e6,
    "1.6m-cmd": 102.0e6,
    "39cm-up": 922.76e6 * 5 / 6,
}


def icd_margin_db(band_id: str, range_km: float, bit_rate_bps: float = 1.0) -> float:
    """ICD §7: C/N0 and the margin of each kind of link, from the table above."""
    p_w, g_t, g_r, t_sys, l_misc, l_impl, threshold, kind = ICD_BUDGET[band_id]
    c_m_s, k = 299_792_458.0, 1.380649e-23
    l_fs = 20 * math.log10(4 * math.pi * range_km * 1e3 * ICD_CARRIER_HZ[band_id] / c_m_s)
    cn0 = 10 * math.log10(p_w) + g_t - l_fs + g_r - l_misc - 10 * math.log10(k * t_sys)
    if kind == "tlm":
        return (
            cn0
            + 10 * math.log10(2 * j1(1.0) ** 2)
            - 10 * math.log10(bit_rate_bps)
            - (l_impl + threshold)
        )
    if kind == "ppm":
        return cn0 + 10 * math.log10(1 / 45_000) - l_impl - threshold
    if kind == "uplink":
        return cn0 - 10 * math.log10(10.0) - l_impl - threshold
    return cn0 - threshold  # a pure carrier (the 8 cm and 39 cm links)


@pytest.mark.parametrize("band_id", list(ICD_BUDGET))
@pytest.mark.parametrize("range_km", [4.0e5, 2.0e7, 106.76e6])
def test_link_budget_follows_the_icd_formula(band_id: str, range_km: float) -> None:
    got = link_budget(band_id, range_km, bit_rate_bps=8.0)
    assert got.margin_db == pytest.approx(icd_margin_db(band_id, range_km, 8.0), abs=1e-6)


def test_telemetry_carrier_keeps_j0_squared() -> None:
    got = link_budget("32cm-tlm", 1e7, bit_rate_bps=64.0)
    assert got.carrier_cn0_dbhz - got.cn0_dbhz == pytest.approx(10 * math.log10(j0(1.0) ** 2))


def test_documented_loss_of_contact() -> None:
    """ICD §7: the 1 bit/s 1.6 m link has +0.2 dB at 106.76 million km, 0 dB near 109."""
    assert icd_margin_db("1.6m-tlm", 106.76e6) == pytest.approx(0.2, abs=0.05)
    assert link_budget("1.6m-tlm", 106.76e6, bit_rate_bps=1).margin_db == pytest.approx(
        0.2, abs=0.05
    )
    assert max_range_km("1.6m-tlm", bit_rate_bps=1) == pytest.approx(109e6, rel=0.01)
    assert link_budget("1.6m-tlm", 109.5e6, bit_rate_bps=1).margin_db < 0


# ------------------------------------------------------------------ §2 recordings


def _write_pair(tmp_path, datatype: str, raw: bytes):
    meta = {
        "global": {
            "core:datatype": datatype,
            "core:sample_rate": 8000,
            "core:version": "1.0.0",
            "core:extensions": [{"name": "mars1", "version": "1.0.0", "optional": True}],
            "mars1:band": "32cm-tlm",
            "mars1:nominal_frequency": 922.76e6,
            "mars1:bit_rate": 64,
        },
        "captures": [
            {
                "core:sample_start": 0,
                "core:frequency": 922.76e6,
                "core:datetime": "1962-11-05T09:00:00Z",
            }
        ],
        "annotations": [],
    }
    (tmp_path / "rec.sigmf-meta").write_text(json.dumps(meta))
    (tmp_path / "rec.sigmf-data").write_bytes(raw)
    return open_recording(tmp_path / "rec.sigmf-meta")


@pytest.mark.parametrize("datatype", ["cu8", "ci8"])
def test_8bit_recordings_are_read(tmp_path, datatype: str) -> None:
    if datatype == "cu8":
        raw = bytes([0, 255, 127, 128, 255, 0])  # I, Q: −127.5, +127.5, −0.5, +0.5, ...
        centred = np.array([0, 255, 127, 128, 255, 0], dtype=float) - 127.5
    else:
        raw = np.array([-128, 127, -1, 1, 127, -128], dtype=np.int8).tobytes()
        centred = np.frombuffer(raw, dtype=np.int8).astype(float)
    recording = _write_pair(tmp_path, datatype, raw)
    x = recording.read(0, 3)
    expected = centred[0::2] + 1j * centred[1::2]
    # any positive scale, but the offset must be exactly the ICD's
    scale = np.abs(x[0]) / np.abs(expected[0])
    assert np.allclose(x, scale * expected, atol=1e-6 * scale)
