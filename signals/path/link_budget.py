"""Link budgets of ICD §7: C/N0, Eb/N0 or Es/N0, and the margin of each band.

C/N0 = P_t + G_t - L_fs + G_r - L_misc - 10 log10(k T_sys) (dB-Hz), with the free-space
loss L_fs = 20 log10(4 pi d f / c). The margin of each kind of link:

* telemetry (``ebn0``, downlink): Eb/N0 = C/N0 + 10 log10(2 J1(beta)^2) - 10 log10(R) - L_impl;
* command uplink (``ebn0``, uplink): Eb/N0 = C/N0 - 10 log10(10 bit/s) - L_impl;
* PPM (``esn0``): Es/N0 = C/N0(peak) + 10 log10(tau) - L_impl;
* carrier (``cn0``): C/N0 of the carrier (the whole power: a pure carrier);

margin = (Eb/N0, Es/N0 or carrier C/N0) - threshold, usable when margin >= 0 and, for the
dish-fed bands, the dish is pointed at Earth.

>>> lb = link_budget("1.6m-tlm", 106.76e6, bit_rate_bps=1)
>>> round(lb.margin_db, 1)
0.2
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from signals.bands import BAND_IDS, band
from signals.constants import BOLTZMANN_J_PER_K, C_M_S
from signals.errors import ConfigError
from signals.formats.ppm import CHIP_S as PPM_CHIP_S
from signals.formats.tlm import CARRIER_POWER_FRACTION, DATA_POWER_FRACTION
from signals.formats.uplink import BIT_RATE_BPS as COMMAND_BIT_RATE_BPS


class LinkBudgetError(ConfigError):
    """A link budget was asked for with missing or invalid parameters."""


@dataclass(frozen=True)
class LinkBudget:
    """One band's link budget at one distance (ICD §7). All terms in dB units.

    Attributes
    ----------
    band_id : str
        ICD band id.
    range_km : float
        Distance transmitter-receiver (km).
    bit_rate_bps : float or None
        Bit rate of the telemetry or command link (bit/s); None for PPM and carriers.
    tx_power_dbw, tx_gain_dbi, rx_gain_dbi : float
        Transmitter power (dBW; peak power for PPM) and antenna gains (dBi).
    path_loss_db, misc_loss_db, impl_loss_db : float
        Free-space loss, miscellaneous and implementation losses (dB).
    noise_density_dbw_hz : float
        10 log10(k T_sys) (dBW/Hz).
    cn0_dbhz : float
        Total received C/N0 (dB-Hz).
    carrier_cn0_dbhz : float
        C/N0 left in the residual carrier (dB-Hz): C/N0 + 10 log10(J0(beta)^2) for the
        telemetry downlinks, the whole C/N0 otherwise.
    ebn0_db, esn0_db : float or None
        Eb/N0 (telemetry, commands) or Es/N0 (PPM) in dB, whichever applies.
    threshold_db : float
        The band's threshold (dB or dB-Hz, as ``threshold_kind``).
    margin_db : float
        The quantity minus its threshold (dB).
    usable : bool
        margin >= 0 and, for dish bands, the dish is pointed at Earth.
    reason : str
        Why the link is or is not usable, for a person.
    """

    band_id: str
    range_km: float
    bit_rate_bps: float | None
    tx_power_dbw: float
    tx_gain_dbi: float
    rx_gain_dbi: float
    path_loss_db: float
    misc_loss_db: float
    impl_loss_db: float
    noise_density_dbw_hz: float
    cn0_dbhz: float
    carrier_cn0_dbhz: float
    ebn0_db: float | None
    esn0_db: float | None
    threshold_db: float
    threshold_kind: str
    margin_db: float
    usable: bool
    reason: str


def free_space_loss_db(range_km: float, frequency_hz: float) -> float:
    """Free-space path loss 20 log10(4 pi d f / c) (dB) at ``range_km`` and ``frequency_hz``."""
    return 20.0 * math.log10(4.0 * math.pi * range_km * 1e3 * frequency_hz / C_M_S)


def link_budget(
    band_id: str,
    range_km: float,
    *,
    bit_rate_bps: float | None = None,
    dish_pointed: bool = True,
) -> LinkBudget:
    """The link budget of one band at one distance (ICD §7).

    Parameters
    ----------
    band_id : str
        ICD band id.
    range_km : float
        Distance (km), positive.
    bit_rate_bps : float, optional
        Telemetry bit rate (bit/s); required for ``32cm-tlm`` and ``1.6m-tlm``. The command
        uplink always runs at 10 bit/s; PPM and carrier bands ignore it.
    dish_pointed : bool
        Whether the spacecraft dish points at Earth; dish-fed bands are unusable otherwise.

    Raises
    ------
    LinkBudgetError
        Non-positive range, or a telemetry band without a positive bit rate.
    """
    b = band(band_id)
    if not range_km > 0 or not math.isfinite(range_km):
        raise LinkBudgetError(f"link budget needs a positive range, got {range_km} km")
    tx_power_dbw = 10.0 * math.log10(b.tx_power_w)
    path_loss = free_space_loss_db(range_km, b.carrier_hz)
    noise_density = 10.0 * math.log10(BOLTZMANN_J_PER_K * b.system_temp_k)
    cn0 = tx_power_dbw + b.tx_gain_dbi - path_loss + b.rx_gain_dbi - b.misc_loss_db - noise_density
    carrier_cn0 = cn0
    ebn0: float | None = None
    esn0: float | None = None
    rate: float | None = None
    if b.threshold_kind == "ebn0" and b.direction == "down":
        if bit_rate_bps is None or not bit_rate_bps > 0:
            raise LinkBudgetError(f"band {band_id!r} needs a positive bit rate for its budget")
        rate = float(bit_rate_bps)
        carrier_cn0 = cn0 + 10.0 * math.log10(CARRIER_POWER_FRACTION)
        ebn0 = cn0 + 10.0 * math.log10(DATA_POWER_FRACTION) - 10.0 * math.log10(rate)
        ebn0 -= b.impl_loss_db
        quantity = ebn0
    elif b.threshold_kind == "ebn0":
        rate = COMMAND_BIT_RATE_BPS
        ebn0 = cn0 - 10.0 * math.log10(rate) - b.impl_loss_db
        quantity = ebn0
    elif b.threshold_kind == "esn0":
        esn0 = cn0 + 10.0 * math.log10(PPM_CHIP_S) - b.impl_loss_db
        quantity = esn0
    else:
        quantity = carrier_cn0
    margin = quantity - b.threshold_db
    if b.needs_dish and not dish_pointed:
        usable, reason = False, "dish not pointed at Earth"
    elif margin >= 0.0:
        usable, reason = True, f"margin {margin:+.1f} dB"
    else:
        usable, reason = False, f"below threshold by {-margin:.1f} dB"
    return LinkBudget(
        band_id=band_id,
        range_km=float(range_km),
        bit_rate_bps=rate,
        tx_power_dbw=tx_power_dbw,
        tx_gain_dbi=b.tx_gain_dbi,
        rx_gain_dbi=b.rx_gain_dbi,
        path_loss_db=path_loss,
        misc_loss_db=b.misc_loss_db,
        impl_loss_db=b.impl_loss_db,
        noise_density_dbw_hz=noise_density,
        cn0_dbhz=cn0,
        carrier_cn0_dbhz=carrier_cn0,
        ebn0_db=ebn0,
        esn0_db=esn0,
        threshold_db=b.threshold_db,
        threshold_kind=b.threshold_kind,
        margin_db=margin,
        usable=usable,
        reason=reason,
    )


def budget_table(
    range_km: float,
    dish_pointed: bool = True,
    bit_rates: dict[str, float] | None = None,
) -> dict[str, LinkBudget]:
    """Link budgets of every band at one distance.

    Parameters
    ----------
    range_km : float
        Distance (km).
    dish_pointed : bool
        Whether the dish points at Earth.
    bit_rates : dict, optional
        Telemetry bit rate (bit/s) per band id; default 1 bit/s for ``1.6m-tlm`` and
        ``32cm-tlm`` where not given.

    Returns
    -------
    dict
        :class:`LinkBudget` per ICD band id, in ICD order.
    """
    rates = {"1.6m-tlm": 1.0, "32cm-tlm": 1.0, **(bit_rates or {})}
    return {
        band_id: link_budget(
            band_id, range_km, bit_rate_bps=rates.get(band_id), dish_pointed=dish_pointed
        )
        for band_id in BAND_IDS
    }


def max_range_km(band_id: str, bit_rate_bps: float | None = None) -> float:
    """Distance (km) at which the band's margin falls to 0 dB.

    The margin falls as 20 log10(d), so d_max = d_ref * 10^(margin(d_ref) / 20).
    """
    ref_km = 1e8
    margin = link_budget(band_id, ref_km, bit_rate_bps=bit_rate_bps).margin_db
    return ref_km * 10.0 ** (margin / 20.0)
