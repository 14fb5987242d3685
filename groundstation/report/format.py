"""How the reports write numbers, times and ICD codes as text.

Every function returns plain text (the templates escape it) and takes whatever a summary
holds: a number, a numpy scalar, None, NaN or a string. Missing or non-finite values read
as a dash.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

import numpy as np

from groundstation.io.recording import format_utc
from signals.bands import band as band_info
from signals.errors import SignalsError
from signals.formats.tlm import AttitudeMode, TxStateBit
from signals.formats.uplink import Opcode

DASH: Final = "—"

ATTITUDE_NAMES: Final[dict[int, str]] = {
    AttitudeMode.SUN_STAR: "Sun–star oriented",
    AttitudeMode.GYRO: "gyro",
    AttitudeMode.SPIN_SUN_AXIS: "spin about the Sun axis",
    AttitudeMode.UNCONTROLLED: "uncontrolled",
}
"""Readable names of the ICD §4 attitude modes."""

_TX_NAMES: Final[dict[int, str]] = {
    TxStateBit.TX_1_6M: "1.6 m",
    TxStateBit.TX_32CM: "32 cm",
    TxStateBit.TX_8CM: "8 cm",
    TxStateBit.TX_5CM: "5 cm",
    TxStateBit.DISH_POINTED: "dish pointed",
}

_UNIT_SUFFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("_km_s", "km/s"),
    ("_m_s", "m/s"),
    ("_hz_per_s", "Hz/s"),
    ("_dbhz", "dB-Hz"),
    ("_db", "dB"),
    ("_hz", "Hz"),
    ("_km", "km"),
    ("_m", "m"),
    ("_s", "s"),
    ("_bps", "bit/s"),
    ("_ppm", "ppm"),
    ("_deg", "°"),
    ("_au", "AU"),
)

#: Readable names of the quantities the decoders and the link budget report, by key stem.
_NAMES: Final[dict[str, str]] = {
    "cn0": "C/N0",
    "ebn0": "Eb/N0",
    "esn0": "Es/N0",
    "snr": "SNR",
}


def number(value: Any) -> float | None:
    """``value`` as a finite float, else None (None, NaN, strings, bools)."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def fmt(value: Any, spec: str = ".1f", unit: str = "") -> str:
    """A number formatted with ``spec`` (and ``unit``); a dash when absent or not finite;
    a string as it is."""
    n = number(value)
    if n is None:
        return value if isinstance(value, str) and value else DASH
    text = format(n, spec)
    return f"{text} {unit}" if unit else text


def yes_no(value: Any) -> str:
    """``yes``, ``no``, or a dash when not said."""
    if value is None:
        return DASH
    return "yes" if value else "no"


def label(key: str) -> str:
    """A readable label from a snake_case key with its unit suffix: ``error_m_s`` →
    ``error (m/s)``, ``cn0_dbhz`` → ``C/N0 (dB-Hz)``."""
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            stem = key[: -len(suffix)]
            return f"{_NAMES.get(stem, stem.replace('_', ' '))} ({unit})"
    return _NAMES.get(key, key.replace("_", " "))


def float_text(value: float) -> str:
    """A float with about six significant digits, without a needless exponent."""
    magnitude = abs(value)
    if magnitude == 0.0:
        return "0"
    if magnitude >= 1e7 or magnitude < 1e-3:
        return f"{value:.4e}"
    if magnitude >= 1e4:
        return f"{value:,.1f}"
    return f"{value:.6g}"


def value_text(key: str, value: Any) -> str:
    """Any JSON value of a summary as text, formatted by what its key says it is."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    n = number(value)
    if n is not None:
        if isinstance(value, int | np.integer):
            return f"{int(value):d}"
        if key.endswith("_hz") and abs(n) >= 1e6:
            return f"{n:,.1f}"
        if key.endswith("_hz"):
            return f"{n:+.1f}"
        if key.endswith("_hz_per_s"):
            return f"{n:+.3f}"
        if key.endswith(("_db", "_dbhz")):
            return f"{n:.2f}"
        return float_text(n)
    if value is None or isinstance(value, float | np.floating):
        return DASH
    if isinstance(value, list | tuple):
        shown = ", ".join(value_text(key, v) for v in value[:24])
        more = f", … ({len(value)} in all)" if len(value) > 24 else ""
        return shown + more if value else "none"
    return str(value)


def utc_text(value: Any, *, date: bool = True) -> str:
    """An ISO 8601 UTC time (text or datetime) as ``1962-11-04 09:12:30.0`` (or the time of
    day alone)."""
    if isinstance(value, datetime):
        value = format_utc(value)
    if not isinstance(value, str) or not value:
        return DASH
    text = value.replace("T", " ").rstrip("Z")
    day, _, time = text.partition(" ")
    time = time[:10] if "." in time else time[:8]
    return f"{day} {time}".strip() if date else (time or day)


def carrier_mhz(band_id: str) -> str:
    """The ICD §1 carrier frequency of a band, ``183.60 MHz``; a dash when unknown."""
    try:
        return f"{band_info(band_id).carrier_hz / 1e6:.2f} MHz"
    except (SignalsError, KeyError):
        return DASH


def attitude_name(mode: Any) -> str:
    """Readable name of an ICD §4 attitude-mode code; the raw value when out of table."""
    if isinstance(mode, bool) or not isinstance(mode, int | np.integer):
        n = number(mode)
        if n is None or n != int(n):
            return "unknown" if mode is None else str(mode)
        mode = int(n)
    return ATTITUDE_NAMES.get(int(mode), f"raw {int(mode)}")


def opcode_name(opcode: Any) -> str:
    """``0x02 set bit rate`` for an ICD §5 opcode (a number or an :class:`Opcode` name);
    the raw value when unknown."""
    if isinstance(opcode, str):
        try:
            opcode = int(Opcode[opcode.strip().upper()])
        except KeyError:
            return opcode
    n = number(opcode)
    if n is None or n != int(n):
        return str(opcode)
    try:
        name = Opcode(int(n)).name.lower().replace("_", " ")
    except ValueError:
        return f"0x{int(n):02X} (unknown)"
    return f"0x{int(n):02X} {name}"


def tx_state_text(tx_state: Any) -> str:
    """The transmitters and dish flag of an ICD §4 ``tx_state`` word."""
    n = number(tx_state)
    if n is None:
        return DASH
    on = [name for bit, name in _TX_NAMES.items() if int(n) >> bit & 1]
    return ", ".join(on) if on else "all off"
