"""Link budgets (ICD §7) checked by hand and against the documented loss of contact."""

from __future__ import annotations

import math

import pytest

from signals.bands import BAND_IDS
from signals.path.link_budget import (
    LinkBudgetError,
    budget_table,
    free_space_loss_db,
    link_budget,
    max_range_km,
)


def test_hand_checked_1_6m_telemetry_at_last_contact():
    # d = 106.76e6 km, f = 183.6 MHz, R = 1 bit/s:
    #   P_t = 10 log10(40 W)                           =  16.0206 dBW
    #   L_fs = 20 log10(4 pi 1.0676e11 m 183.6e6 / c)  = 238.2934 dB
    #   10 log10(k 500 K)                              = -201.6095 dBW/Hz
    #   C/N0 = 16.0206 + 3 - 238.2934 + 33 - 2 + 201.6095 = 13.3367 dB-Hz
    #   Eb/N0 = 13.3367 + 10 log10(2 J1(1)^2) (-4.1196) - 10 log10(1) - 1 = 8.2171 dB
    #   margin = 8.2171 - 8 = +0.2171 dB
    lb = link_budget("1.6m-tlm", 106.76e6, bit_rate_bps=1)
    assert lb.path_loss_db == pytest.approx(238.2934, abs=1e-4)
    assert lb.noise_density_dbw_hz == pytest.approx(-201.6095, abs=1e-4)
    assert lb.cn0_dbhz == pytest.approx(13.3367, abs=1e-4)
    assert lb.ebn0_db == pytest.approx(8.2171, abs=1e-4)
    assert lb.esn0_db is None
    assert lb.margin_db == pytest.approx(0.2171, abs=1e-4)
    assert lb.usable
    # 2 J1^2 + J0^2 < 1: the carrier keeps J0(1)^2 = -2.3245 dB of the power.
    assert lb.carrier_cn0_dbhz == pytest.approx(13.3367 - 2.3245, abs=1e-4)


def test_hand_checked_at_one_million_km():
    # d = 1e6 km. 10 log10(k 150 K) = -206.8383 dBW/Hz.
    # 8 cm carrier: L_fs(3691.04 MHz) = 223.7908 dB;
    #   C/N0 = 10 + 33.7 - 223.7908 + 60 - 2 + 206.8383 = 84.7475 dB-Hz, margin 64.7475 dB.
    lb = link_budget("8cm-carrier", 1e6)
    assert lb.cn0_dbhz == pytest.approx(84.7475, abs=1e-4)
    assert lb.margin_db == pytest.approx(64.7475, abs=1e-4)
    assert lb.ebn0_db is None and lb.esn0_db is None
    # 5 cm PPM: P_t = 10 log10(25 kW) = 43.9794 dBW, L_fs(5860 MHz) = 227.8057 dB;
    #   C/N0 = 43.9794 + 37.8 - 227.8057 + 60 - 2 + 206.8383 = 118.8119 dB-Hz;
    #   Es/N0 = 118.8119 + 10 log10(1/45000 s) (-46.5321) - 1 = 71.2798 dB, margin 59.2798 dB.
    lb = link_budget("5cm-ppm", 1e6)
    assert lb.cn0_dbhz == pytest.approx(118.8119, abs=1e-4)
    assert lb.esn0_db == pytest.approx(71.2798, abs=1e-4)
    assert lb.margin_db == pytest.approx(59.2798, abs=1e-4)
    assert lb.usable
    off = link_budget("5cm-ppm", 1e6, dish_pointed=False)
    assert not off.usable and "dish" in off.reason
    assert off.margin_db == pytest.approx(lb.margin_db)


def test_hand_checked_command_uplink():
    # d = 50,000 km, f = 102 MHz: L_fs = 166.5992 dB, 10 log10(k 1000 K) = -198.5992 dBW/Hz;
    #   C/N0 = 50 + 33 - 166.5992 + 3 - 2 + 198.5992 = 116.0000 dB-Hz;
    #   Eb/N0 = 116 - 10 log10(10 bit/s) - 1 = 105.0 dB; margin 95.0 dB (omni: dish irrelevant).
    lb = link_budget("1.6m-cmd", 5e4, dish_pointed=False)
    assert lb.cn0_dbhz == pytest.approx(116.0, abs=1e-4)
    assert lb.ebn0_db == pytest.approx(105.0, abs=1e-4)
    assert lb.margin_db == pytest.approx(95.0, abs=1e-4)
    assert lb.bit_rate_bps == 10.0
    assert lb.usable


def test_icd_loss_of_contact_statement():
    # ICD §7: +0.2 dB at 106.76 million km, 0 dB near 109 million km (1 bit/s, 1.6 m).
    assert link_budget("1.6m-tlm", 106.76e6, bit_rate_bps=1).margin_db == pytest.approx(
        0.2, abs=0.05
    )
    d_max = max_range_km("1.6m-tlm", 1)
    assert 108.5e6 < d_max < 110.0e6
    assert link_budget("1.6m-tlm", d_max, bit_rate_bps=1).margin_db == pytest.approx(0, abs=1e-9)
    assert not link_budget("1.6m-tlm", d_max * 1.001, bit_rate_bps=1).usable


def test_margin_scales_with_distance_and_rate():
    a = link_budget("32cm-tlm", 1e7, bit_rate_bps=8)
    b = link_budget("32cm-tlm", 2e7, bit_rate_bps=8)
    c = link_budget("32cm-tlm", 1e7, bit_rate_bps=64)
    assert a.margin_db - b.margin_db == pytest.approx(20 * math.log10(2), abs=1e-9)
    assert a.margin_db - c.margin_db == pytest.approx(10 * math.log10(8), abs=1e-9)
    assert free_space_loss_db(1.0, 299_792_458.0) == pytest.approx(20 * math.log10(4e3 * math.pi))


def test_budget_table_covers_every_band_and_dish_rule():
    table = budget_table(5e7, dish_pointed=False, bit_rates={"32cm-tlm": 64})
    assert list(table) == list(BAND_IDS)
    assert table["32cm-tlm"].bit_rate_bps == 64
    for band_id in ("32cm-tlm", "8cm-carrier", "5cm-ppm"):
        assert not table[band_id].usable
    assert table["1.6m-tlm"].usable and table["39cm-up"].usable


def test_bad_inputs_raise():
    with pytest.raises(LinkBudgetError, match="bit rate"):
        link_budget("32cm-tlm", 1e6)
    with pytest.raises(LinkBudgetError, match="positive range"):
        link_budget("8cm-carrier", 0.0)
