"""The band plan of ICD §1, the link-budget defaults of ICD §7 and the session's station
set-up and impairments, described by data.

The numbers live in ``signals/data/mars1.toml`` with the unit in every key. This module
loads and validates that file once; an invalid file raises :class:`ConfigError` naming
the band or table and the key. :func:`band` and :func:`station` read the band plan,
:func:`session` the station's recording set-up, :func:`impairments` the impairments.

>>> band("32cm-tlm").carrier_hz
922760000.0
>>> band("8cm-carrier").carrier_hz == 4 * band("32cm-tlm").carrier_hz
True
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, fields
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Final, TypeVar

from signals.errors import ConfigError

BAND_IDS: Final[tuple[str, ...]] = (
    "1.6m-tlm",
    "1.6m-cmd",
    "39cm-up",
    "32cm-tlm",
    "8cm-carrier",
    "5cm-ppm",
)

#: Two-way turnaround ratio of the coherent link (ICD §6): 32 cm downlink / 39 cm uplink.
TURNAROUND_RATIO: Final = Fraction(6, 5)
#: The 8 cm carrier is this multiple of the 32 cm carrier (ICD §6).
X8_MULTIPLIER: Final = 4
#: The bands of the coherent link (the on-board oscillator, or its turnaround of the 39 cm
#: uplink), each with its multiple of the 32 cm carrier.
COHERENT_BANDS: Final[dict[str, int]] = {"32cm-tlm": 1, "8cm-carrier": X8_MULTIPLIER}

_DIRECTIONS: Final = ("down", "up")
#: What a band carries (``kind`` in the band table): its modulator and receiver follow.
BAND_KINDS: Final = ("telemetry", "ppm", "carrier", "uplink")
_ANTENNAS: Final = ("dish", "omni")
_THRESHOLD_KINDS: Final = ("ebn0", "esn0", "cn0")
_NUMERIC_KEYS: Final = (
    "carrier_hz",
    "tx_power_w",
    "tx_gain_dbi",
    "rx_gain_dbi",
    "system_temp_k",
    "misc_loss_db",
    "impl_loss_db",
    "threshold_db",
    "max_residual_hz",
    "max_residual_rate_hz_per_s",
)
_POSITIVE_KEYS: Final = ("carrier_hz", "tx_power_w", "system_temp_k")


@dataclass(frozen=True)
class Band:
    """One radio band of the spacecraft, with its link-budget defaults (ICD §1, §7)."""

    band_id: str
    carrier_hz: float
    direction: str
    kind: str
    antenna: str
    purpose: str
    waveform: str
    tx_power_w: float
    tx_gain_dbi: float
    rx_gain_dbi: float
    system_temp_k: float
    misc_loss_db: float
    impl_loss_db: float
    threshold_db: float
    threshold_kind: str
    max_residual_hz: float
    max_residual_rate_hz_per_s: float

    @property
    def needs_dish(self) -> bool:
        """True when the band is fed only by the high-gain dish."""
        return self.antenna == "dish"


@dataclass(frozen=True)
class Station:
    """The ground station (ICD §1)."""

    name: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float


def _parse_band(band_id: str, table: dict) -> Band:
    where = f"band {band_id!r}"
    for key in (*_NUMERIC_KEYS, "direction", "kind", "antenna", "threshold_kind"):
        if key not in table:
            raise ConfigError(f"{where}: missing key {key!r}")
    values = {}
    for key in _NUMERIC_KEYS:
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: key {key!r} must be a number, got {value!r}")
        if key in _POSITIVE_KEYS and value <= 0:
            raise ConfigError(f"{where}: key {key!r} must be positive, got {value!r}")
        values[key] = float(value)
    for key, allowed in (
        ("direction", _DIRECTIONS),
        ("kind", BAND_KINDS),
        ("antenna", _ANTENNAS),
        ("threshold_kind", _THRESHOLD_KINDS),
    ):
        if table[key] not in allowed:
            raise ConfigError(f"{where}: key {key!r} must be one of {allowed}, got {table[key]!r}")
    unknown = (
        set(table)
        - set(_NUMERIC_KEYS)
        - {"direction", "kind", "antenna", "threshold_kind", "purpose", "waveform"}
    )
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    return Band(
        band_id=band_id,
        direction=table["direction"],
        kind=table["kind"],
        antenna=table["antenna"],
        threshold_kind=table["threshold_kind"],
        purpose=str(table.get("purpose", "")),
        waveform=str(table.get("waveform", "")),
        **values,
    )


def parse_band_table(text: str) -> tuple[dict[str, Band], Station]:
    """Parse and validate a band-plan TOML document.

    Parameters
    ----------
    text : str
        TOML text with a ``[station]`` table and one ``[bands."<band id>"]`` table per band.

    Returns
    -------
    bands, station
        Bands keyed by their ICD band id, and the ground station.

    Raises
    ------
    ConfigError
        The text is not TOML, a band of ICD §1 is missing, or a key is missing or invalid.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"band table is not valid TOML: {exc}") from None
    tables = doc.get("bands")
    if not isinstance(tables, dict):
        raise ConfigError("band table has no [bands] section")
    missing = [b for b in BAND_IDS if b not in tables]
    if missing:
        raise ConfigError(f"band table lacks band(s) {missing}")
    unknown = [b for b in tables if b not in BAND_IDS]
    if unknown:
        raise ConfigError(f"band table has unknown band(s) {unknown}; known: {list(BAND_IDS)}")
    bands = {band_id: _parse_band(band_id, tables[band_id]) for band_id in BAND_IDS}
    st = doc.get("station")
    try:
        station = Station(
            name=str(st["name"]),
            latitude_deg=float(st["latitude_deg"]),
            longitude_deg=float(st["longitude_deg"]),
            elevation_m=float(st["elevation_m"]),
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise ConfigError(f"band table: [station] is missing or invalid ({exc})") from None
    return bands, station


@functools.cache
def load_bands(path: Path | None = None) -> tuple[dict[str, Band], Station]:
    """Load the band table (the packaged ``data/mars1.toml`` unless ``path`` is given)."""
    if path is None:
        text = resources.files("signals").joinpath("data/mars1.toml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return parse_band_table(text)


def band(band_id: str) -> Band:
    """Return the band with ICD id ``band_id``.

    Raises
    ------
    ConfigError
        ``band_id`` is not a band of ICD §1.
    """
    bands, _ = load_bands()
    try:
        return bands[band_id]
    except KeyError:
        raise ConfigError(f"unknown band {band_id!r}; known bands: {', '.join(BAND_IDS)}") from None


def bands_of_kind(kind: str) -> tuple[str, ...]:
    """Ids of the bands that carry ``kind`` (one of :data:`BAND_KINDS`), in ICD §1 order."""
    if kind not in BAND_KINDS:
        raise ConfigError(f"unknown band kind {kind!r}; known kinds: {', '.join(BAND_KINDS)}")
    bands, _ = load_bands()
    return tuple(band_id for band_id in BAND_IDS if bands[band_id].kind == kind)


def station() -> Station:
    """Return the ground station of the band table."""
    return load_bands()[1]


def band_from_frequency(frequency_hz: float) -> Band | None:
    """Return the band whose nominal carrier lies nearest ``frequency_hz``.

    The match must be within 1 % of that carrier (ample for Doppler and residuals; the
    5 cm band's 5840–5890 MHz allocation included); otherwise ``None``.
    """
    bands, _ = load_bands()
    best = min(bands.values(), key=lambda b: abs(b.carrier_hz - frequency_hz))
    if abs(best.carrier_hz - frequency_hz) <= 0.01 * best.carrier_hz:
        return best
    return None


# ---------------------------------------------------------------- session and impairments


@dataclass(frozen=True)
class SessionSetup:
    """The station's recording set-up for an emulated session (``[session]``)."""

    min_elevation_deg: float
    uplink_fs_hz: float
    telemetry_fs_hz: float
    carrier_fs_hz: float
    ppm_fs_hz: float
    end_command_delay_s: float
    carrier_cn0_cap_dbhz: float


@dataclass(frozen=True)
class UplinkImpairments:
    """``[impairments.uplink]``: residual Doppler at the command receiver (uniform ±Hz)."""

    residual_max_hz: float


@dataclass(frozen=True)
class TelemetryImpairments:
    """``[impairments.telemetry]``: oscillator (uniform ±ppm of the carrier), Doppler
    prediction residual and its rate (normal σ), phase noise, bit clock (uniform ±ppm)."""

    oscillator_max_ppm: float
    doppler_residual_sigma_hz: float
    doppler_rate_sigma_hz_per_s: float
    phase_noise_rad_per_sqrt_s: float
    clock_max_ppm: float
    tail_s: float


@dataclass(frozen=True)
class PpmImpairments:
    """``[impairments.ppm]``: chip clock and its drift, oscillator (uniform ±), carrier rate
    (normal σ), silences around and between the images."""

    clock_max_ppm: float
    clock_drift_max_ppm_per_hour: float
    oscillator_max_ppm: float
    carrier_rate_sigma_hz_per_s: float
    lead_s: float
    tail_s: float
    gap_periods: float


@dataclass(frozen=True)
class CarrierImpairments:
    """``[impairments.carrier]``: range-rate prediction error and Doppler-rate error
    (normal σ), oscillator phase noise."""

    range_rate_prediction_sigma_m_s: float
    rate_residual_sigma_hz_per_s: float
    phase_noise_rad_per_sqrt_s: float


@dataclass(frozen=True)
class Impairments:
    """Every impairment of an emulated session, by link."""

    uplink: UplinkImpairments
    telemetry: TelemetryImpairments
    ppm: PpmImpairments
    carrier: CarrierImpairments


_T = TypeVar("_T")


def _parse_table(cls: type[_T], table: Any, where: str) -> _T:
    """A dataclass of non-negative numbers from the TOML table ``where``; every key named."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is missing from the data file")
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}")
    values = {}
    for name in names:
        if name not in table:
            raise ConfigError(f"{where}: missing key {name!r}")
        value = table[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ConfigError(f"{where}: key {name!r} must be a number ≥ 0, got {value!r}")
        values[name] = float(value)
    return cls(**values)


def parse_session_tables(text: str) -> tuple[SessionSetup, Impairments]:
    """Parse and validate the ``[session]`` and ``[impairments.*]`` tables of a data file.

    Raises
    ------
    ConfigError
        The text is not TOML, or a table or key is missing, unknown, or not a number ≥ 0.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"data file is not valid TOML: {exc}") from None
    setup = _parse_table(SessionSetup, doc.get("session"), "[session]")
    tables = doc.get("impairments")
    if not isinstance(tables, dict):
        raise ConfigError("[impairments] is missing from the data file")
    parts = {
        name: _parse_table(cls, tables.get(name), f"[impairments.{name}]")
        for name, cls in _IMPAIRMENT_TABLES.items()
    }
    unknown = sorted(set(tables) - set(parts))
    if unknown:
        raise ConfigError(f"[impairments]: unknown table(s) {unknown}")
    return setup, Impairments(**parts)


_IMPAIRMENT_TABLES: Final[dict[str, type]] = {
    "uplink": UplinkImpairments,
    "telemetry": TelemetryImpairments,
    "ppm": PpmImpairments,
    "carrier": CarrierImpairments,
}


@functools.cache
def _load_session_tables() -> tuple[SessionSetup, Impairments]:
    text = resources.files("signals").joinpath("data/mars1.toml").read_text("utf-8")
    return parse_session_tables(text)


def session() -> SessionSetup:
    """The station's recording set-up for an emulated session (``[session]``)."""
    return _load_session_tables()[0]


def impairments() -> Impairments:
    """The impairments of an emulated session (``[impairments.*]``)."""
    return _load_session_tables()[1]
