"""Session and mission reports: self-contained HTML pages a person opens in a browser.

``report.html`` (one contact session) tells the story of the session in the order it
happened: where the probe was and how it was oriented, which links could close (ICD §7),
the commands sent, the coherent range-rate check (ICD §6), what each downlink looked like
(a waterfall), the telemetry channels (ICD §4), the pictures (ICD §3) and the spacecraft's
own log. ``mission.html`` follows the link margins and the range over the whole flight.

Every plot is a PNG drawn with matplotlib's Agg renderer and embedded as base64, the CSS
is inline, and nothing is fetched from anywhere: the page can be mailed or archived as
one file. Pages are written atomically (:func:`groundstation.io.files.write_text`).

The waterfall is computed in one pass over the chunks of a recording, with memory
bounded by ``max_rows × n_fft`` whatever the recording's length: the power spectra of
consecutive Hann-windowed segments are averaged into at most ``max_rows`` rows. Averaging
power (not taking the maximum) is right for the sparse 5 cm pulses as for the carriers.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.fft
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PIL import Image
from scipy.signal import windows

from groundstation.io.files import write_text
from groundstation.io.recording import Recording, parse_utc
from signals.bands import band as band_info
from signals.errors import SignalsError
from signals.formats.ppm import CHIP_S
from signals.formats.tlm import CHANNEL_BY_NAME, SUBCARRIER_HZ, AttitudeMode, TxStateBit
from signals.formats.uplink import BIT_RATE_BPS as UPLINK_BIT_RATE_BPS
from signals.formats.uplink import Opcode

# ------------------------------------------------------------------------------ waterfall

#: Segments transformed together (bounds the working memory of one FFT batch).
_FFT_BATCH_SEGMENTS: Final = 256
#: Floor of the power spectral density before taking dB (keeps silent rows finite).
_PSD_FLOOR: Final = 1e-30


@dataclass(frozen=True)
class Waterfall:
    """Averaged power spectra of a recording over time.

    Attributes
    ----------
    freqs_hz : np.ndarray
        Baseband frequency of each column (Hz from the tuned frequency), ascending
        (fftshifted), shape ``(n_fft,)``.
    times_s : np.ndarray
        Centre of each row (s from the first sample), shape ``(n_rows,)``.
    power_db : np.ndarray
        Power spectral density of each row, ``float32``, shape ``(n_rows, n_fft)``, in dB
        relative to one (full-scale unit)² per Hz: complex white noise of variance σ² per
        sample reads ``10·log10(σ²/fs_hz)`` (that is, N0 in dB), whatever ``n_fft``.
    segments_per_row : int
        Consecutive ``n_fft``-sample segments averaged in each row (the last row may hold
        fewer).
    """

    freqs_hz: np.ndarray
    times_s: np.ndarray
    power_db: np.ndarray
    segments_per_row: int

    @property
    def n_rows(self) -> int:
        """Number of time rows."""
        return int(self.power_db.shape[0])


class _WaterfallAccumulator:
    """One-pass accumulation of segment power spectra into at most ``max_rows`` rows.

    Segment ``k`` (samples ``[k·n_fft, (k+1)·n_fft)``) goes to row ``k // group``. When a
    segment would need row ``max_rows``, ``group`` doubles and rows merge pairwise, so the
    result depends only on the samples, never on how they were cut into chunks.
    """

    def __init__(self, fs_hz: float, n_fft: int, max_rows: int, n_samples: int | None):
        if not (isinstance(fs_hz, int | float) and math.isfinite(fs_hz) and fs_hz > 0):
            raise ValueError(f"fs_hz must be a positive number, got {fs_hz!r}")
        if n_fft < 2:
            raise ValueError(f"n_fft must be at least 2, got {n_fft}")
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self.fs_hz = float(fs_hz)
        self.n_fft = int(n_fft)
        self.max_rows = int(max_rows)
        self.window = windows.hann(self.n_fft, sym=False).astype(np.float32)
        self.group = 1
        if n_samples is not None and n_samples > 0:
            n_segments = -(-int(n_samples) // self.n_fft)
            self.group = max(1, -(-n_segments // self.max_rows))
        self.sums = np.zeros((self.max_rows, self.n_fft), dtype=np.float64)
        self.counts = np.zeros(self.max_rows, dtype=np.int64)
        self.n_segments = 0
        self.carry = np.zeros(self.n_fft, dtype=np.complex64)
        self.n_carry = 0

    def add(self, chunk: np.ndarray) -> None:
        x = np.asarray(chunk).ravel()
        if x.size == 0:
            return
        if self.n_carry:
            take = min(self.n_fft - self.n_carry, x.size)
            self.carry[self.n_carry : self.n_carry + take] = x[:take]
            self.n_carry += take
            x = x[take:]
            if self.n_carry < self.n_fft:
                return
            self._segments(self.carry[np.newaxis, :])
            self.n_carry = 0
        n_full = x.size // self.n_fft
        batch = _FFT_BATCH_SEGMENTS * self.n_fft
        for start in range(0, n_full * self.n_fft, batch):
            stop = min(start + batch, n_full * self.n_fft)
            self._segments(x[start:stop].reshape(-1, self.n_fft))
        rest = x[n_full * self.n_fft :]
        self.carry[: rest.size] = rest
        self.n_carry = rest.size

    def _segments(self, block: np.ndarray) -> None:
        with np.errstate(invalid="ignore", over="ignore"):
            windowed = block.astype(np.complex64, copy=False) * self.window
        finite = np.isfinite(windowed)
        if not finite.all():
            windowed[~finite] = 0.0
        spectrum = scipy.fft.fft(windowed, axis=-1)
        power = spectrum.real**2 + spectrum.imag**2
        first = self.n_segments
        last = first + power.shape[0] - 1
        while last // self.group >= self.max_rows:
            self._merge()
        rows = np.arange(first, last + 1) // self.group
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        self.sums[rows[starts]] += np.add.reduceat(power, starts, axis=0, dtype=np.float64)
        self.counts[rows[starts]] += np.diff(np.r_[starts, rows.size])
        self.n_segments = last + 1

    def _merge(self) -> None:
        half = (self.max_rows + 1) // 2
        sums = np.zeros_like(self.sums)
        counts = np.zeros_like(self.counts)
        np.add.at(sums, np.arange(self.max_rows) // 2, self.sums)
        np.add.at(counts, np.arange(self.max_rows) // 2, self.counts)
        sums[half:] = 0.0
        counts[half:] = 0
        self.sums, self.counts = sums, counts
        self.group *= 2

    def result(self) -> Waterfall:
        if self.n_segments == 0 and self.n_carry:
            # Shorter than one segment: transform the zero-padded samples once.
            self.carry[self.n_carry :] = 0.0
            self._segments(self.carry[np.newaxis, :])
        n_rows = -(-self.n_segments // self.group) if self.n_segments else 0
        counts = self.counts[:n_rows]
        scale = self.fs_hz * float(np.sum(self.window.astype(np.float64) ** 2))
        psd = self.sums[:n_rows] / (counts[:, np.newaxis] * scale)
        power_db = 10.0 * np.log10(np.maximum(psd, _PSD_FLOOR))
        power_db = np.fft.fftshift(power_db, axes=-1).astype(np.float32)
        first = np.arange(n_rows) * self.group
        last = np.minimum(first + self.group, self.n_segments)
        times_s = 0.5 * (first + last) * self.n_fft / self.fs_hz
        freqs_hz = np.fft.fftshift(np.fft.fftfreq(self.n_fft, d=1.0 / self.fs_hz))
        return Waterfall(
            freqs_hz=freqs_hz,
            times_s=times_s,
            power_db=power_db,
            segments_per_row=self.group,
        )


def compute_waterfall(
    chunks: Iterable[np.ndarray],
    fs_hz: float,
    *,
    n_fft: int = 1024,
    max_rows: int = 400,
    n_samples: int | None = None,
) -> Waterfall:
    """Waterfall (averaged power spectra over time) of complex baseband chunks, in one pass.

    The samples are cut into consecutive ``n_fft``-sample segments (a trailing partial
    segment is dropped unless it is all there is), each Hann-windowed and transformed; the
    power spectra of consecutive segments are averaged into at most ``max_rows`` rows.
    Memory stays ``O(max_rows · n_fft)`` whatever the number of samples; the result does
    not depend on how the samples are split into chunks. Non-finite samples count as 0.

    Parameters
    ----------
    chunks : iterable of np.ndarray
        Consecutive complex baseband chunks (any lengths; complex64 is fastest).
    fs_hz : float
        Sample rate (complex samples per second, Hz).
    n_fft : int
        Segment length and number of frequency columns.
    max_rows : int
        Largest number of time rows.
    n_samples : int, optional
        Total number of samples when known: rows then hold ``ceil(segments / max_rows)``
        segments each. Without it the row length doubles as needed (a power of two).

    Returns
    -------
    Waterfall
        Frequencies (Hz, fftshifted), row times (s) and PSD rows (dB re 1 unit²/Hz).

    Raises
    ------
    ValueError
        ``fs_hz``, ``n_fft`` or ``max_rows`` is not positive.
    """
    accumulator = _WaterfallAccumulator(fs_hz, n_fft, max_rows, n_samples)
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator.result()


def waterfall_from_recording(
    recording: Recording,
    *,
    n_fft: int = 1024,
    max_rows: int = 400,
    chunk_samples: int = 1 << 20,
) -> Waterfall:
    """Waterfall of a whole recording, read chunk by chunk (bounded memory).

    Parameters
    ----------
    recording : Recording
        An opened recording (:func:`groundstation.io.recording.open_recording`).
    n_fft : int
        Segment length and number of frequency columns.
    max_rows : int
        Largest number of time rows.
    chunk_samples : int
        Samples read from the file at a time.

    Returns
    -------
    Waterfall
        See :func:`compute_waterfall`; times are seconds from the recording's first sample.
    """
    return compute_waterfall(
        (chunk for _, chunk in recording.chunks(chunk_samples)),
        recording.fs_hz,
        n_fft=n_fft,
        max_rows=max_rows,
        n_samples=recording.n_samples,
    )


# ------------------------------------------------------------------------------ formatting

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

_CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
       background: #fbfbf8; margin: 0; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { font-size: 1.7rem; margin: 0.2rem 0 0.3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 2px solid #d8dbe2;
     padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin-bottom: 0.3rem; }
.subtitle { color: #596173; margin: 0 0 1rem; }
.verdict { font-size: 1.1rem; padding: 0.7rem 1rem; border-radius: 6px; margin: 1rem 0; }
.verdict.ok { background: #e5f4e8; border-left: 5px solid #2e8b47; }
.verdict.no { background: #fbe9e7; border-left: 5px solid #c0392b; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #d8dbe2; padding: 0.25rem 0.55rem; text-align: left;
         vertical-align: top; }
th { background: #eef0f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.good td { background: #f1f9f2; }
tr.bad td { background: #fdf3f1; }
table.facts th { width: 14rem; }
.pair { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e4ea; background: #fff; }
figure img.pixels { image-rendering: pixelated; }
figcaption { color: #444b5a; font-size: 0.9rem; margin-top: 0.3rem; }
pre { background: #f2f3f6; border: 1px solid #e0e2e8; padding: 0.6rem 0.8rem;
      font-size: 0.85rem; overflow-x: auto; white-space: pre-wrap; }
.muted { color: #7a8191; }
footer { margin-top: 3rem; color: #7a8191; font-size: 0.85rem; }
"""


def _number(value: Any) -> float | None:
    """``value`` as a finite float, else None (None, NaN, strings, bools)."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fmt(value: Any, spec: str = ".1f", unit: str = "") -> str:
    """Format a number for a table; a dash when absent or not finite."""
    number = _number(value)
    if number is None:
        return "—" if value is None or isinstance(value, int | float) else str(value)
    text = format(number, spec)
    return f"{text} {unit}" if unit else text


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _yes_no(value: Any) -> str:
    if value is None:
        return "—"
    return "yes" if value else "no"


def _label(key: str) -> str:
    """A readable label from a snake_case key with its unit suffix: ``error_m_s`` →
    ``error (m/s)``."""
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return f"{key[: -len(suffix)].replace('_', ' ')} ({unit})"
    return key.replace("_", " ")


def _value_html(key: str, value: Any) -> str:
    """Render any JSON value of a dict for a table cell."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if value is None:
        return "—"
    number = _number(value)
    if number is not None:
        if isinstance(value, int | np.integer):
            return _e(f"{int(value):d}")
        if key.endswith("_hz") and abs(number) >= 1e6:
            return _e(f"{number:,.1f}")
        if key.endswith("_hz"):
            return _e(f"{number:+.1f}")
        if key.endswith("_hz_per_s"):
            return _e(f"{number:+.3f}")
        if key.endswith(("_db", "_dbhz")):
            return _e(f"{number:.2f}")
        return _e(_float_text(number))
    if isinstance(value, float):
        return "—"
    if isinstance(value, Mapping):
        return "<br>".join(
            f"{_e(_label(str(k)))} {_value_html(str(k), v)}" for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        if len(value) > 24:
            shown = ", ".join(_value_html(key, v) for v in value[:24])
            return f"{shown}, … ({len(value)} in all)"
        return ", ".join(_value_html(key, v) for v in value) or "none"
    return _e(value)


def _float_text(number: float) -> str:
    """A float with about six significant digits, without a needless exponent."""
    magnitude = abs(number)
    if magnitude == 0.0:
        return "0"
    if magnitude >= 1e7 or magnitude < 1e-3:
        return f"{number:.4e}"
    if magnitude >= 1e4:
        return f"{number:,.1f}"
    return f"{number:.6g}"


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_png(fig: Figure) -> bytes:
    """The figure as an 8-bit palette PNG (a third of the RGBA size; plots use few colours)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    buffer.seek(0)
    with Image.open(buffer) as rgba:
        palette = rgba.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _img(png: bytes, alt: str, *, css_class: str = "", width: int | None = None) -> str:
    attrs = f' class="{css_class}"' if css_class else ""
    if width is not None:
        attrs += f' width="{int(width)}"'
    return f'<img src="{_png_data_uri(png)}" alt="{_e(alt)}"{attrs}>'


def _figure(fig: Figure, alt: str, caption: str = "") -> str:
    caption_html = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure>{_img(_figure_png(fig), alt)}{caption_html}</figure>"


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    css: str = "",
    row_classes: Sequence[str] | None = None,
    numeric: Sequence[bool] | None = None,
) -> str:
    """An HTML table; cells are already HTML."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f'<td class="num">{c}</td>'
            if numeric and j < len(numeric) and numeric[j]
            else f"<td>{c}</td>"
            for j, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    css_attr = f' class="{css}"' if css else ""
    return f"<table{css_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _facts(items: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in items)
    return f'<table class="facts"><tbody>{rows}</tbody></table>'


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def _carrier_mhz(band_id: str) -> str:
    try:
        return f"{band_info(band_id).carrier_hz / 1e6:.2f} MHz"
    except (SignalsError, KeyError):
        return "—"


def attitude_name(mode: Any) -> str:
    """Readable name of an ICD §4 attitude-mode code; the raw value when out of table."""
    if isinstance(mode, bool) or not isinstance(mode, int | np.integer):
        number = _number(mode)
        if number is None or number != int(number):
            return "unknown" if mode is None else str(mode)
        mode = int(number)
    return ATTITUDE_NAMES.get(int(mode), f"raw {int(mode)}")


def opcode_name(opcode: Any) -> str:
    """``0x02 set bit rate`` for an ICD §5 opcode (a number or an :class:`Opcode` name);
    the raw value when unknown."""
    if isinstance(opcode, str):
        try:
            opcode = int(Opcode[opcode.strip().upper()])
        except KeyError:
            return opcode
    number = _number(opcode)
    if number is None or number != int(number):
        return str(opcode)
    try:
        name = Opcode(int(number)).name.lower().replace("_", " ")
    except ValueError:
        return f"0x{int(number):02X} (unknown)"
    return f"0x{int(number):02X} {name}"


def tx_state_text(tx_state: Any) -> str:
    """The transmitters and dish flag of an ICD §4 ``tx_state`` word."""
    number = _number(tx_state)
    if number is None:
        return "—"
    bits = int(number)
    on = [name for bit, name in _TX_NAMES.items() if bits >> bit & 1]
    return ", ".join(on) if on else "all off"


# ------------------------------------------------------------------------------ verdict


def _tlm_bands(session: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    bands = session.get("bands") or {}
    return {b: v for b, v in bands.items() if b.endswith("-tlm") and isinstance(v, Mapping)}


def session_contact(session: Mapping[str, Any]) -> bool:
    """Whether the session made contact: its own verdict, else telemetry decoded on a band
    whose link budget closes."""
    if isinstance(session.get("contact"), bool):
        return session["contact"]
    return any(
        (v.get("frames_decoded") or 0) > 0 and v.get("usable") for v in _tlm_bands(session).values()
    )


def _margin_key(band: Mapping[str, Any]) -> float:
    margin = _number(band.get("margin_db"))
    return -math.inf if margin is None else margin


def session_verdict(session: Mapping[str, Any]) -> str:
    """One sentence: contact or not, and why (from the link budget and the decoders)."""
    tlm = _tlm_bands(session)
    range_km = _number(session.get("range_km"))
    at = f" at {range_km / 1e6:.2f} million km" if range_km is not None else ""
    if session_contact(session):
        decoded = {b: v for b, v in tlm.items() if (v.get("frames_decoded") or 0) > 0}
        if not decoded:
            return f"Contact{at}."
        best = max(decoded, key=lambda b: decoded[b].get("frames_decoded") or 0)
        v = decoded[best]
        n = int(v.get("frames_decoded") or 0)
        rate = _number(v.get("bit_rate_bps"))
        rate_text = f" at {rate:g} bit/s" if rate is not None else ""
        margin = _number(v.get("margin_db"))
        margin_text = f", link margin {margin:+.1f} dB" if margin is not None else ""
        lost = int(v.get("frames_lost") or 0)
        lost_text = f" ({lost} lost)" if lost else ""
        return (
            f"Contact: {n} telemetry frame{'s' if n != 1 else ''}{lost_text} decoded on "
            f"{best}{rate_text}{at}{margin_text}."
        )
    if not tlm:
        return f"No contact{at}: no telemetry band was worked in this session."
    usable = {b: v for b, v in tlm.items() if v.get("usable")}
    if not usable:
        parts = [
            f"{b} {tlm[b].get('reason') or 'does not close'}"
            for b in sorted(tlm, key=lambda b: _margin_key(tlm[b]), reverse=True)
        ]
        return f"No contact{at}: no telemetry link closes ({'; '.join(parts)})."
    best = max(usable, key=lambda b: _margin_key(usable[b]))
    v = usable[best]
    margin = _number(v.get("margin_db"))
    margin_text = f" ({margin:+.1f} dB)" if margin is not None else ""
    if v.get("transmitted") is False:
        return (
            f"No contact{at}: the {best} link budget closes{margin_text} but the "
            "spacecraft did not transmit on it."
        )
    error = v.get("error")
    why = f": {error}" if error else ""
    return (
        f"No contact{at}: the {best} link budget closes{margin_text} but no telemetry "
        f"frame was decoded{why}."
    )


# ------------------------------------------------------------------------------ plots


def _margin_chart(session: Mapping[str, Any]) -> str:
    entries: list[tuple[str, float | None, bool, str]] = []
    for band_id, v in (session.get("bands") or {}).items():
        if isinstance(v, Mapping):
            entries.append(
                (band_id, _number(v.get("margin_db")), bool(v.get("usable")), v.get("reason"))
            )
    uplink = session.get("uplink")
    if isinstance(uplink, Mapping):
        entries.append(
            (
                str(uplink.get("band", "uplink")),
                _number(uplink.get("margin_db")),
                bool(uplink.get("usable")),
                uplink.get("reason"),
            )
        )
    if not entries:
        return ""
    fig = Figure(figsize=(9.0, 0.55 * len(entries) + 1.3), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(entries))[::-1]
    values = [m if m is not None else 0.0 for _, m, _, _ in entries]
    colours = ["#2e8b47" if ok else "#c0392b" for _, _, ok, _ in entries]
    ax.barh(y, values, color=colours, height=0.6)
    ax.axvline(0.0, color="#1d2330", linewidth=1.0)
    labels = []
    for band_id, _, ok, reason in entries:
        # Say why when the margin itself does not (e.g. the dish is not pointed).
        why = not ok and reason and not str(reason).startswith(("margin", "below"))
        labels.append(f"{band_id}\n({reason})" if why else band_id)
    ax.set_yticks(y, labels, fontsize=9)
    span = max([abs(v) for v in values] + [1.0])
    for yi, (_, m, ok, _) in zip(y, entries, strict=True):
        text = "n/a" if m is None else f"{m:+.1f} dB" + ("" if ok else " (unusable)")
        x = 0.0 if m is None else m
        ax.text(
            x + (0.01 if x >= 0 else -0.01) * span,
            yi,
            " " + text + " ",
            va="center",
            ha="left" if x >= 0 else "right",
            fontsize=9,
        )
    lo = min([*values, 0.0])
    hi = max([*values, 0.0])
    ax.set_xlim(lo - 0.25 * span if lo < 0 else -0.05 * span, hi + 0.3 * span)
    ax.set_xlabel("link margin (dB)")
    ax.set_title("Link margin per band (green: usable, red: unusable)")
    ax.grid(axis="x", alpha=0.3)
    return _figure(
        fig,
        "link margin per band",
        "Margin above the ICD §7 threshold; a link is usable when it is ≥ 0 dB and, "
        "for the dish bands, the dish is pointed at Earth.",
    )


def _waterfall_figure(band_id: str, wf: Waterfall) -> str:
    power = np.asarray(wf.power_db, dtype=np.float32)
    if power.ndim != 2 or power.size == 0:
        return f'<p class="muted">{_e(band_id)}: the recording holds no samples.</p>'
    finite = power[np.isfinite(power)]
    if finite.size == 0:
        return f'<p class="muted">{_e(band_id)}: no finite power in the recording.</p>'
    vmin = float(np.percentile(finite, 5.0))
    vmax = float(finite.max())
    if vmax - vmin < 3.0:
        vmin = vmax - 3.0
    freqs_khz = np.asarray(wf.freqs_hz, dtype=float) / 1e3
    times = np.asarray(wf.times_s, dtype=float)
    df = (freqs_khz[1] - freqs_khz[0]) if freqs_khz.size > 1 else 1.0
    if times.size > 1:
        dt = (times[-1] - times[0]) / (times.size - 1)
        t0, t1 = times[0] - dt / 2, times[-1] + dt / 2
    else:
        t0, t1 = 0.0, max(2 * float(times[0]) if times.size else 1.0, 1e-6)
    fig = Figure(figsize=(9.0, 3.9), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(
        np.nan_to_num(power, nan=vmin, posinf=vmax, neginf=vmin),
        aspect="auto",
        origin="upper",
        cmap="viridis",
        vmin=vmin,
        vmax=vmax,
        extent=(freqs_khz[0] - df / 2, freqs_khz[-1] + df / 2, t1, t0),
        interpolation="nearest",
    )
    ax.set_xlabel("frequency from the tuned carrier (kHz)")
    ax.set_ylabel("time in recording (s)")
    ax.set_title(f"{band_id} ({_carrier_mhz(band_id)})")
    bar = fig.colorbar(image, ax=ax, pad=0.015)
    bar.set_label("PSD (dB re 1/Hz)")
    n_fft = power.shape[1]
    fs_khz = abs(df) * n_fft
    caption = (
        f"{band_id}: {power.shape[0]} rows of {wf.segments_per_row} averaged "
        f"{n_fft}-point Hann spectra ({fs_khz:g} kHz wide, "
        f"{1e3 * abs(df):.3g} Hz per bin); colour is power spectral density."
    )
    return _figure(fig, f"waterfall of {band_id}", _e(caption))


# ------------------------------------------------------------------------------ telemetry

#: Telemetry panels: title, channels, smallest y span shown (so that one quantisation step
#: of a steady channel does not fill the panel).
_PANELS: Final[tuple[tuple[str, tuple[str, ...], float], ...]] = (
    ("Battery voltage", ("battery_v",), 1.0),
    ("Currents", ("battery_a", "solar_array_a"), 1.0),
    ("N₂ bottle pressure", ("n2_pressure_a_mpa", "n2_pressure_b_mpa"), 2.0),
    ("Temperatures", ("temp_orbital_c", "temp_experiment_c", "temp_radiator_c"), 10.0),
    ("Magnetic field", ("mag_x_nt", "mag_y_nt", "mag_z_nt"), 2.0),
    ("Micrometeoroid hits", ("micrometeoroid_hits",), 4.0),
    ("Radiation counters", ("gas_discharge_cps", "scintillation_cps"), 10.0),
    ("Attitude mode", ("attitude_mode",), 0.0),
    ("Commands received", ("command_count",), 4.0),
)
_INTEGER_CHANNELS: Final = {"micrometeoroid_hits", "command_count", "gas_discharge_cps"}

_CHANNEL_UNIT_SUFFIXES: Final = {"min", "mpa", "v", "a", "c", "nt", "cps"}
_ENGINEERING_TYPES: Final = {"0", "engineering", "eng"}
_SCIENCE_TYPES: Final = {"1", "science", "sci"}


def _float(text: Any) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return math.nan
    return value


def _unit(channel: str) -> str:
    ch = CHANNEL_BY_NAME.get(channel)
    return ch.unit if ch is not None else ""


def _short_name(channel: str) -> str:
    """A channel name without its unit suffix, for legends: ``temp_orbital_c`` → ``temp
    orbital``."""
    stem, _, suffix = channel.rpartition("_")
    if stem and suffix in _CHANNEL_UNIT_SUFFIXES:
        channel = stem
    return channel.replace("_", " ")


def _frame_kind(row: Mapping[str, str]) -> str:
    text = str(row.get("frame_type", "")).strip().lower()
    if text in _ENGINEERING_TYPES:
        return "engineering"
    if text in _SCIENCE_TYPES:
        return "science"
    return text


def _parity_ok(row: Mapping[str, str]) -> bool:
    return str(row.get("parity_ok", "")).strip().lower() in {"1", "true", "yes", "ok"}


def _telemetry_times(rows: Sequence[Mapping[str, str]]) -> tuple[np.ndarray, str]:
    """Seconds from the first frame (or frame numbers when times cannot be read)."""
    try:
        times = [parse_utc(str(r.get("time_utc", ""))) for r in rows]
    except ValueError:
        return np.arange(len(rows), dtype=float), "frame number"
    t0 = min(times)
    seconds = np.array([(t - t0).total_seconds() for t in times])
    return seconds, f"s after {t0:%H:%M:%S} UTC"


def _at_least_span(ax: Any, values: np.ndarray, min_span: float) -> None:
    """Widen the y range around the data to at least ``min_span``."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < min_span:
        mid = 0.5 * (lo + hi)
        ax.set_ylim(mid - 0.5 * min_span, mid + 0.5 * min_span)
    ax.ticklabel_format(axis="y", useOffset=False)


def _telemetry_plot(rows: Sequence[Mapping[str, str]]) -> str:
    times, time_label = _telemetry_times(rows)
    ok = np.array([_parity_ok(r) for r in rows], dtype=bool)
    fig = Figure(figsize=(9.0, 7.6), layout="constrained")
    axes = fig.subplots(3, 3, sharex=True)
    for ax, (title, channels, min_span) in zip(axes.ravel(), _PANELS, strict=True):
        unit = _unit(channels[0])
        plotted = False
        shown: list[np.ndarray] = []
        for channel in channels:
            values = np.array([_float(r.get(channel, "")) for r in rows])
            have = np.isfinite(values)
            if not have.any():
                continue
            shown.append(values[have])
            label = _short_name(channel)
            good = have & ok
            line = ax.plot(
                times[good], values[good], marker="o", markersize=3, linewidth=1.0, label=label
            )
            bad = have & ~ok
            if bad.any():
                ax.plot(
                    times[bad],
                    values[bad],
                    linestyle="none",
                    marker="x",
                    color=line[0].get_color(),
                    alpha=0.6,
                )
            plotted = True
        if channels == ("attitude_mode",) and plotted:
            ax.set_yticks(list(ATTITUDE_NAMES), ["Sun–star", "gyro", "spin", "uncontr."])
            ax.set_ylim(-0.5, 3.5)
        elif plotted:
            _at_least_span(ax, np.concatenate(shown), min_span)
            if channels[0] in _INTEGER_CHANNELS:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if not plotted:
            ax.text(
                0.5,
                0.5,
                "no data",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#7a8191",
            )
            ax.set_yticks([])
        elif len(channels) > 1:
            ax.legend(fontsize=7, loc="best", frameon=False)
        ax.set_title(f"{title} ({unit})" if unit else title, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel(time_label, fontsize=8)
    return _figure(
        fig,
        "telemetry channels over the session",
        "Decoded telemetry (ICD §4), engineering values; × marks a frame with a parity error.",
    )


def _channel_value(channel: str, text: str) -> str:
    if text == "" or text is None:
        return "—"
    number = _float(text)
    if channel == "attitude_mode" and math.isfinite(number):
        return _e(f"{int(number)} ({attitude_name(int(number))})")
    if channel == "tx_state" and math.isfinite(number):
        return _e(f"{int(number)} ({tx_state_text(number)})")
    if channel == "last_command" and math.isfinite(number):
        return _e(opcode_name(int(number)) if number else "0 (none)")
    return _e(text)


def _frame_table(row: Mapping[str, str] | None, kind: str) -> str:
    if row is None:
        return f'<div><h3>Last {kind} frame</h3><p class="muted">none decoded</p></div>'
    body = [
        ("time (UTC)", _e(str(row.get("time_utc", ""))[:23].replace("T", " "))),
        ("parity", "ok" if _parity_ok(row) else "<b>error</b>"),
    ]
    body += [
        (key.replace("_", " "), _e(row[key])) for key in ("band", "frame_counter") if row.get(key)
    ]
    for key, text in row.items():
        if key not in CHANNEL_BY_NAME or text in ("", None):
            continue
        unit = _unit(key)
        name = _short_name(key)
        body.append((f"{name} ({unit})" if unit else name, _channel_value(key, text)))
    rows = [[_e(k), v] for k, v in body]
    return f"<div><h3>Last {kind} frame</h3>{_table(['channel', 'value'], rows)}</div>"


def _telemetry_section(rows: Sequence[Mapping[str, str]]) -> str:
    out = ["<h2>Telemetry</h2>"]
    if not rows:
        out.append('<p class="muted">No telemetry frame was decoded in this session.</p>')
        return "\n".join(out)
    n_bad = sum(not _parity_ok(r) for r in rows)
    kinds = [_frame_kind(r) for r in rows]
    out.append(
        f"<p>{len(rows)} frames decoded ({kinds.count('engineering')} engineering, "
        f"{kinds.count('science')} science), {n_bad} with parity errors.</p>"
    )
    out.append(_telemetry_plot(rows))
    last_eng = next(
        (r for r, k in zip(reversed(rows), reversed(kinds), strict=True) if k == "engineering"),
        None,
    )
    last_sci = next(
        (r for r, k in zip(reversed(rows), reversed(kinds), strict=True) if k == "science"), None
    )
    out.append(
        f'<div class="pair">{_frame_table(last_eng, "engineering")}'
        f"{_frame_table(last_sci, 'science')}</div>"
    )
    return "\n".join(out)


# ------------------------------------------------------------------------------ images


def _read_png(path: Path) -> tuple[bytes, tuple[int, int]] | None:
    """The PNG's bytes and (width, height), or None when it is not a readable PNG."""
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                return None
            image.load()
            return data, image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _line_mask_png(entry: Mapping[str, Any]) -> bytes | None:
    """A strip showing each image line: received (white), missing (red), not sent (grey)."""
    lines = _number(entry.get("lines"))
    if lines is None or lines < 1 or lines > 4096:
        return None
    n = int(lines)
    mask = entry.get("mask")
    status = np.zeros(n, dtype=np.uint8)  # 0 not sent, 1 received, 2 missing
    if isinstance(mask, list | tuple) and len(mask) == n:
        status[:] = np.where(np.asarray([bool(m) for m in mask]), 1, 2)
    else:
        mode = _number(entry.get("mode"))
        step = int(mode) if mode is not None and mode >= 2 else 1
        status[::step] = 1
    for line in entry.get("lines_missing") or []:
        number = _number(line)
        if number is not None and 0 <= number < n:
            status[int(number)] = 2
    palette = np.array([[150, 150, 150], [245, 245, 245], [200, 40, 30]], dtype=np.uint8)
    strip = np.repeat(palette[status][:, np.newaxis, :], 6, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(strip, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _image_caption(entry: Mapping[str, Any]) -> str:
    parts = [f"Image {entry.get('id', '?')}"]
    lines, pixels = entry.get("lines"), entry.get("pixels")
    if lines is not None and pixels is not None:
        parts.append(f"{lines} lines × {pixels} pixels")
    mode = _number(entry.get("mode"))
    if mode is not None:
        parts.append("full image" if mode == 0 else f"survey, every {int(mode)}th line")
    if entry.get("lines_received") is not None:
        parts.append(f"{entry['lines_received']} lines received")
    missing = entry.get("lines_missing")
    if isinstance(missing, list | tuple):
        if missing:
            shown = ", ".join(str(m) for m in missing[:20])
            more = f", … ({len(missing)} in all)" if len(missing) > 20 else ""
            parts.append(f"missing lines {shown}{more}")
        else:
            parts.append("no line missing")
    snr = _number(entry.get("snr_db"))
    if snr is not None:
        parts.append(f"SNR {snr:.1f} dB")
    return _e("; ".join(parts) + ".")


_IMAGE_KEYS: Final = ("png", "file", "path")
_MASK_KEYS: Final = ("mask_png", "mask_file", "mask")


def _find_file(
    entry: Mapping[str, Any], keys: Sequence[str], files: Sequence[Path], base_dir: Path
) -> Path | None:
    """The file an image entry names under one of ``keys``.

    Looked for among ``files`` (by name), then relative to ``base_dir``, then by name in
    the folders up to three levels below it (a decoder's output folder).
    """
    for key in keys:
        name = entry.get(key)
        if not (isinstance(name, str) and name.lower().endswith(".png")):
            continue
        filename = Path(name).name
        for f in files:
            if f.name == filename:
                return f
        if (base_dir / name).is_file():
            return base_dir / name
        for depth in range(1, 4):
            found = sorted(p for p in base_dir.glob("*/" * depth + filename) if p.is_file())
            if found:
                return found[0]
    return None


def _pixels_img(data: bytes, size: tuple[int, int], alt: str) -> str:
    """A decoded PNG shown with whole-pixel magnification (1 to 8×, about 480 px wide)."""
    width = size[0]
    scale = max(1, min(8, 480 // max(width, 1)))
    return _img(data, alt, css_class="pixels", width=width * scale)


def _image_figure(path: Path | None, entry: Mapping[str, Any] | None, base_dir: Path) -> str:
    caption = _image_caption(entry) if entry else _e(path.name if path else "")
    parts = []
    if path is not None:
        png = _read_png(path)
        if png is None:
            parts.append(f'<p class="muted">{_e(path.name)}: not a readable PNG.</p>')
        else:
            parts.append(_pixels_img(*png, f"decoded image {path.name}"))
    elif entry is not None:
        parts.append('<p class="muted">(no image file)</p>')
    mask_note = ""
    if entry is not None:
        # The decoder's mask lies beside its image, or where the entry says.
        mask_file = _find_file(entry, _MASK_KEYS, [], base_dir)
        if mask_file is None and path is not None:
            mask_file = _find_file(entry, _MASK_KEYS, [], path.parent)
        decoder_mask = _read_png(mask_file) if mask_file is not None else None
        if decoder_mask is not None:
            parts.append(_pixels_img(*decoder_mask, "received-pixel mask"))
            mask_note = " Beside it, the decoder's mask of what was received."
        else:
            strip = _line_mask_png(entry)
            if strip is not None:
                parts.append(_img(strip, "line mask", css_class="pixels", width=18))
                mask_note = (
                    " The strip beside it marks each line: white received, red "
                    "missing, grey not sent."
                )
    body = '<div style="display:flex;gap:0.6rem;align-items:stretch">' + "".join(parts)
    return f"<figure>{body}</div><figcaption>{caption}{_e(mask_note)}</figcaption></figure>"


def _images_section(session: Mapping[str, Any], image_files: Sequence[Path], base_dir: Path) -> str:
    out = ["<h2>Images (5 cm PPM)</h2>"]
    entries = [e for e in (session.get("images") or []) if isinstance(e, Mapping)]
    files = [Path(f) for f in image_files]
    if not entries and not files:
        out.append('<p class="muted">No image was received in this session.</p>')
        return "\n".join(out)
    remaining = list(files)
    for entry in entries:
        path = _find_file(entry, _IMAGE_KEYS, remaining, base_dir)
        if path is None and remaining and len(entries) == len(files):
            path = remaining[0]  # unnamed entries and files, in the same order
        if path in remaining:
            remaining.remove(path)
        out.append(_image_figure(path, entry, base_dir))
    for path in remaining:
        out.append(_image_figure(path, None, base_dir))
    return "\n".join(out)


# ------------------------------------------------------------------------------ session


def _header(session: Mapping[str, Any]) -> str:
    number = session.get("session")
    kind = session.get("kind") or "session"
    title = f"Mars 1 — session {number}" if number is not None else "Mars 1 — radio session"
    start = str(session.get("start_utc") or "")
    start_text = start[:19].replace("T", " ") + " UTC" if start else "—"
    range_km = _number(session.get("range_km"))
    rate = _number(session.get("range_rate_km_s"))
    light = _number(session.get("light_time_s"))
    light_text = (
        "—"
        if light is None
        else (f"{light:.2f} s" + (f" ({light / 60:.1f} min)" if light >= 60 else ""))
    )
    mode = session.get("attitude_mode")
    mode_text = "—" if mode is None else _e(f"{mode} — {attitude_name(mode)}")
    facts = [
        ("Session", _e(f"{number if number is not None else '—'} ({kind})")),
        ("Scenario", _e(session.get("scenario") or "—")),
        ("Start", _e(start_text)),
        ("Days since launch", _e(_fmt(session.get("days_since_launch"), ".2f", "d"))),
        ("Range", _e("—" if range_km is None else f"{range_km / 1e6:.3f} million km")),
        (
            "Range rate",
            _e(
                "—"
                if rate is None
                else f"{rate:+.3f} km/s " + ("(receding)" if rate > 0 else "(approaching)")
            ),
        ),
        ("One-way light time", _e(light_text)),
        ("Elevation at Yevpatoria", _e(_fmt(session.get("elevation_deg"), ".1f", "°"))),
        ("Distance from the Sun", _e(_fmt(session.get("sun_distance_au"), ".3f", "AU"))),
        ("Attitude mode", mode_text),
        ("Dish pointed at Earth", _yes_no(session.get("dish_pointed"))),
        ("Telemetry bit rate", _e(_fmt(session.get("bit_rate_bps"), "g", "bit/s"))),
    ]
    verdict = session_verdict(session)
    cls = "ok" if session_contact(session) else "no"
    subtitle = f"{kind} session, {start_text}" if start else str(kind)
    return (
        f'<h1>{_e(title)}</h1><p class="subtitle">{_e(subtitle)}</p>'
        f'<p class="verdict {cls}">{_e(verdict)}</p>{_facts(facts)}'
    )


def _budget_section(session: Mapping[str, Any]) -> str:
    out = ["<h2>Link budget</h2>"]
    bands = {b: v for b, v in (session.get("bands") or {}).items() if isinstance(v, Mapping)}
    uplink = session.get("uplink") if isinstance(session.get("uplink"), Mapping) else None
    if not bands and uplink is None:
        out.append('<p class="muted">No link budget in this session.</p>')
        return "\n".join(out)
    header = [
        "band",
        "carrier",
        "transmitted",
        "usable",
        "margin (dB)",
        "C/N0 (dB-Hz)",
        "bit rate (bit/s)",
        "Eb/N0 or Es/N0 (dB)",
        "lock time (s)",
        "frames decoded / lost",
        "lines decoded / lost",
        "measured",
        "reason",
    ]
    numeric = [False, True, False, False, True, True, True, True, True, True, True, False, False]
    rows, classes = [], []
    for band_id, v in bands.items():
        ebn0, esn0 = _number(v.get("ebn0_db")), _number(v.get("esn0_db"))
        snr = (
            "—"
            if ebn0 is None and esn0 is None
            else f"Eb/N0 {ebn0:.1f}"
            if ebn0 is not None
            else f"Es/N0 {esn0:.1f}"
        )
        frames = (
            f"{v.get('frames_decoded', 0) or 0} / {v.get('frames_lost', 0) or 0}"
            if band_id.endswith("-tlm")
            else "—"
        )
        lines = (
            f"{v.get('lines_decoded', 0) or 0} / {v.get('lines_lost', 0) or 0}"
            if band_id == "5cm-ppm"
            else "—"
        )
        measured = v.get("measured")
        measured_html = _value_html("measured", measured) if measured else "—"
        reason = _e(v.get("reason") or "")
        if v.get("error"):
            reason += f'<br><span class="muted">{_e(v["error"])}</span>'
        rows.append(
            [
                f"<b>{_e(band_id)}</b>",
                _e(_carrier_mhz(band_id)),
                _yes_no(v.get("transmitted")),
                _yes_no(v.get("usable")),
                _e(_fmt(v.get("margin_db"), "+.1f")),
                _e(_fmt(v.get("cn0_dbhz"), ".1f")),
                _e(_fmt(v.get("bit_rate_bps"), "g")),
                _e(snr),
                _e(_fmt(v.get("lock_time_s"), ".1f")),
                _e(frames),
                _e(lines),
                measured_html,
                reason,
            ]
        )
        classes.append("good" if v.get("usable") else "bad")
    if uplink is not None:
        band_id = str(uplink.get("band") or "1.6m-cmd")
        rows.append(
            [
                f"<b>{_e(band_id)}</b> (uplink)",
                _e(_carrier_mhz(band_id)),
                "yes",
                _yes_no(uplink.get("usable")),
                _e(_fmt(uplink.get("margin_db"), "+.1f")),
                _e(_fmt(uplink.get("cn0_dbhz"), ".1f")),
                _e(_fmt(UPLINK_BIT_RATE_BPS, "g")),
                _e(
                    "—"
                    if _number(uplink.get("ebn0_db")) is None
                    else f"Eb/N0 {_number(uplink.get('ebn0_db')):.1f}"
                ),
                "—",
                "—",
                "—",
                "—",
                "commands (FSK, ICD §5)",
            ]
        )
        classes.append("good" if uplink.get("usable") else "bad")
    out.append(_table(header, rows, row_classes=classes, numeric=numeric))
    out.append(_margin_chart(session))
    return "\n".join(out)


def _received(command: Mapping[str, Any]) -> bool | None:
    """Whether the spacecraft received (acted on) a command; None when not said."""
    for key in ("accepted", "received"):
        if isinstance(command.get(key), bool):
            return command[key]
    if "received_utc" in command:
        return command["received_utc"] is not None
    return None


def _commands_section(session: Mapping[str, Any]) -> str:
    out = ["<h2>Commands</h2>"]
    commands = [c for c in (session.get("commands") or []) if isinstance(c, Mapping)]
    if not commands:
        out.append('<p class="muted">No command was sent in this session.</p>')
        return "\n".join(out)
    keys: list[str] = []
    for c in commands:
        keys += [k for k in c if k not in keys]
    rows = []
    for c in commands:
        row = []
        for k in keys:
            value = c.get(k)
            if k in {"opcode", "op"} and value is not None:
                row.append(_e(opcode_name(value)))
            elif isinstance(value, str) and k.endswith("_utc"):
                row.append(_e(value[:23].replace("T", " ")))
            else:
                row.append(_value_html(k, value))
        rows.append(row)
    acknowledged = sum(bool(c.get("acknowledged")) for c in commands)
    received = [_received(c) for c in commands]
    received_text = (
        f", {sum(bool(r) for r in received)} acted on by the spacecraft"
        if any(r is not None for r in received)
        else ""
    )
    out.append(
        f"<p>{len(commands)} command{'s' if len(commands) != 1 else ''} sent"
        f"{received_text}, {acknowledged} acknowledged in telemetry.</p>"
    )
    out.append(_table([_e(_label(k)) for k in keys], rows))
    return "\n".join(out)


def _range_rate_section(session: Mapping[str, Any]) -> str:
    out = ["<h2>Coherent link check</h2>"]
    check = session.get("range_rate_check")
    if not isinstance(check, Mapping) or not check:
        out.append(
            '<p class="muted">No coherent carrier was measured in this session, so the '
            "range rate was not checked against the geometry.</p>"
        )
        return "\n".join(out)
    measured = next((k for k in check if "measured" in k and k.endswith("_km_s")), None)
    geometry = next(
        (k for k in check if ("geometry" in k or "predicted" in k) and k.endswith("_km_s")), None
    )
    error = next((k for k in check if "error" in k and k.endswith("_m_s")), None)
    if measured and geometry:
        m, g = _number(check[measured]), _number(check[geometry])
        err = (
            _number(check[error]) if error else (None if m is None or g is None else 1e3 * (m - g))
        )
        if m is not None and g is not None:
            err_text = f", a difference of {err:+.3f} m/s" if err is not None else ""
            out.append(
                f"<p>Range rate from the Doppler of the coherent carrier: "
                f"<b>{m:+.6f} km/s</b>; from the trajectory: {g:+.6f} km/s"
                f"{_e(err_text)}.</p>"
            )
    rows = [[_e(_label(k)), _value_html(k, v)] for k, v in check.items()]
    out.append(_table(["quantity", "value"], rows, numeric=[False, True]))
    return "\n".join(out)


def _waterfall_section(waterfalls: Mapping[str, Waterfall]) -> str:
    out = ["<h2>Downlink spectra</h2>"]
    shown = [(b, w) for b, w in waterfalls.items() if isinstance(w, Waterfall)]
    if not shown:
        out.append('<p class="muted">No downlink recording to show.</p>')
        return "\n".join(out)
    out.append(
        "<p>Waterfalls of each downlink as received: time runs down, frequency is "
        "measured from the frequency the receiver was tuned to (nominal carrier plus "
        "the predicted Doppler), so a line off centre is the residual of the Doppler "
        "prediction. A telemetry downlink shows its residual carrier and, once frames "
        f"start, the BPSK subcarrier sidebands at ±{SUBCARRIER_HZ:g} Hz (and "
        f"±{2 * SUBCARRIER_HZ:g} Hz from the phase modulation); the coherent 8 cm carrier "
        f"a single line; the 5 cm image link the sinc² spectrum of its "
        f"{CHIP_S * 1e6:.1f} µs pulses, with nulls {1e-3 / CHIP_S:g} kHz either side of "
        "the carrier.</p>"
    )
    out += [_waterfall_figure(b, w) for b, w in shown]
    return "\n".join(out)


def _log_section(session_log: Sequence[str]) -> str:
    out = ["<h2>Spacecraft log</h2>"]
    if not session_log:
        out.append('<p class="muted">The spacecraft logged nothing.</p>')
    else:
        out.append("<pre>" + "\n".join(_e(line) for line in session_log) + "</pre>")
    return "\n".join(out)


def write_session_report(
    path: Path,
    session: dict,
    *,
    waterfalls: dict[str, Waterfall],
    telemetry_rows: list[dict[str, str]],
    image_files: list[Path],
    session_log: list[str],
) -> Path:
    """Write the self-contained HTML report of one contact session, atomically.

    Parameters
    ----------
    path : Path
        The HTML file to write (``report.html``).
    session : dict
        The session summary (``SessionResult.to_json()``: plan, ``bands`` keyed by ICD §1
        band id, ``uplink``, ``commands``, ``range_rate_check``, ``images``). Any part may
        be missing, None or NaN.
    waterfalls : dict of str to Waterfall
        Downlink waterfalls keyed by band id (:func:`compute_waterfall`).
    telemetry_rows : list of dict
        Decoded frames as CSV strings: ``time_utc``, ``frame_type``, ``parity_ok`` and the
        ICD §4 channel names (empty where a frame type lacks the channel).
    image_files : list of Path
        Decoded image PNGs; embedded as they are.
    session_log : list of str
        The spacecraft's log lines.

    Returns
    -------
    Path
        ``path``.
    """
    session = session if isinstance(session, Mapping) else {}
    log_lines = list(session_log or session.get("spacecraft_log") or [])
    elapsed = _number(session.get("elapsed_s"))
    footer = (
        "Emulated with the Mars 1 ground station"
        + (f" in {elapsed:.1f} s" if elapsed is not None else "")
        + ". Figures follow the interface control document: link budgets §7, "
        "telemetry §4, images §3, commands §5, coherent link §6."
    )
    body = "\n".join(
        [
            _header(session),
            _budget_section(session),
            _commands_section(session),
            _range_rate_section(session),
            _waterfall_section(waterfalls or {}),
            _telemetry_section(list(telemetry_rows or [])),
            _images_section(session, list(image_files or []), Path(path).parent),
            _log_section(log_lines),
            f"<footer>{_e(footer)}</footer>",
        ]
    )
    number = session.get("session")
    title = f"Mars 1 session {number}" if number is not None else "Mars 1 session"
    return write_text(path, _page(title, body))


# ------------------------------------------------------------------------------ mission


def _session_dates(sessions: Sequence[Mapping[str, Any]]) -> list[datetime | None]:
    dates: list[datetime | None] = []
    for entry in sessions:
        try:
            dates.append(parse_utc(str(entry.get("start_utc"))))
        except ValueError:
            dates.append(None)
    return dates


def _date_axis(ax: Any) -> None:
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _band_ids(sessions: Sequence[Mapping[str, Any]]) -> list[str]:
    ids: list[str] = []
    for entry in sessions:
        margins = entry.get("margin_db")
        if isinstance(margins, Mapping):
            ids += [b for b in margins if b not in ids]
    return ids


def _mission_margin_plot(
    sessions: Sequence[Mapping[str, Any]], dates: Sequence[datetime | None]
) -> str:
    keep = [i for i, d in enumerate(dates) if d is not None]
    bands = _band_ids(sessions)
    if not keep or not bands:
        return ""
    x = [dates[i] for i in keep]
    rates = [_number(sessions[i].get("bit_rate_bps")) for i in keep]
    fig = Figure(figsize=(9.0, 5.6), layout="constrained")
    ax, ax_rate = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    all_values = []
    for band_id in bands:
        margins = [_number((sessions[i].get("margin_db") or {}).get(band_id)) for i in keep]
        values = np.array([math.nan if m is None else m for m in margins])
        usable = np.array(
            [bool((sessions[i].get("usable") or {}).get(band_id, True)) for i in keep]
        )
        if not np.isfinite(values).any():
            continue
        all_values.append(values[np.isfinite(values)])
        line = ax.plot(x, values, linestyle=":", linewidth=1.0, alpha=0.6)
        ax.plot(
            x,
            np.where(usable, values, math.nan),
            color=line[0].get_color(),
            marker="o",
            markersize=3,
            linewidth=1.6,
            label=band_id,
        )
    ax.axhline(0.0, color="#1d2330", linewidth=1.0)
    # A rug along the bottom: green bar for a session with contact, red cross without.
    rug = ax.get_xaxis_transform()
    contacts = [d for i, d in zip(keep, x, strict=True) if sessions[i].get("contact")]
    silent = [d for i, d in zip(keep, x, strict=True) if not sessions[i].get("contact")]
    if contacts:
        ax.plot(
            contacts,
            [0.03] * len(contacts),
            transform=rug,
            linestyle="none",
            marker="|",
            color="#2e8b47",
            markersize=9,
            label="contact",
        )
    if silent:
        ax.plot(
            silent,
            [0.03] * len(silent),
            transform=rug,
            linestyle="none",
            marker="x",
            color="#c0392b",
            markersize=5,
            label="no contact",
        )
    if all_values:
        lo = min(0.0, float(np.min(np.concatenate(all_values))))
        hi = max(0.0, float(np.max(np.concatenate(all_values))))
        ax.set_ylim(lo - 0.12 * (hi - lo + 1.0), hi + 0.05 * (hi - lo + 1.0))
    ax.set_ylabel("link margin (dB)")
    ax.set_title("Link margin of each band over the flight")
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8, loc="upper right", ncols=3)
    rate_values = np.array([math.nan if r is None or r <= 0 else r for r in rates])
    if np.isfinite(rate_values).any():
        ax_rate.plot(
            x,
            rate_values,
            drawstyle="steps-post",
            color="#596173",
            marker="o",
            markersize=3,
            linewidth=1.2,
        )
        ax_rate.set_yscale("log", base=2)
        ax_rate.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax_rate.text(
            0.5,
            0.5,
            "no bit rate",
            ha="center",
            va="center",
            transform=ax_rate.transAxes,
            color="#7a8191",
        )
    ax_rate.set_ylabel("bit/s")
    ax_rate.set_title("Telemetry bit rate chosen for each session", fontsize=10)
    ax_rate.grid(alpha=0.3)
    _date_axis(ax_rate)
    return _figure(
        fig,
        "link margin over the flight",
        "Margins at each session's telemetry bit rate (the station picks the fastest rate "
        "that closes, so the telemetry margin stays small while the rate falls). Solid: the "
        "band is usable (dish bands only while the dish is pointed at Earth); dotted: the "
        "margin the budget would give. The marks along the bottom tell each session's "
        "verdict.",
    )


def _mission_range_plot(
    sessions: Sequence[Mapping[str, Any]], dates: Sequence[datetime | None]
) -> str:
    points = [
        (d, _number(e.get("range_km")), bool(e.get("contact")))
        for e, d in zip(sessions, dates, strict=True)
    ]
    points = [(d, r, c) for d, r, c in points if d is not None and r is not None]
    if not points:
        return ""
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([p[0] for p in points], [p[1] / 1e6 for p in points], color="#8a93a6", linewidth=1.0)
    yes = [p for p in points if p[2]]
    no = [p for p in points if not p[2]]
    if yes:
        ax.plot(
            [p[0] for p in yes],
            [p[1] / 1e6 for p in yes],
            linestyle="none",
            marker="o",
            color="#2e8b47",
            markersize=5,
            label="contact",
        )
    if no:
        ax.plot(
            [p[0] for p in no],
            [p[1] / 1e6 for p in no],
            linestyle="none",
            marker="x",
            color="#c0392b",
            markersize=6,
            label="no contact",
        )
    ax.set_ylabel("range (million km)")
    ax.set_title("Distance from Earth at each session")
    _date_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _figure(fig, "range over the flight", "")


def _mission_table(sessions: Sequence[Mapping[str, Any]]) -> str:
    bands = _band_ids(sessions)
    header = [
        "#",
        "kind",
        "start (UTC)",
        "range (million km)",
        "attitude",
        "dish",
        "bit rate (bit/s)",
        *[f"{_e(b)} margin (dB)" for b in bands],
        "frames",
        "commands ack / sent",
        "verdict",
    ]
    numeric = [True, False, False, True, False, False, True, *[True] * len(bands), True, True]
    numeric.append(False)
    rows, classes = [], []
    for e in sessions:
        range_km = _number(e.get("range_km"))
        margins = e.get("margin_db") if isinstance(e.get("margin_db"), Mapping) else {}
        usable = e.get("usable") if isinstance(e.get("usable"), Mapping) else {}
        margin_cells = []
        for b in bands:
            text = _e(_fmt(margins.get(b), "+.1f"))
            if b in usable and not usable[b]:
                text = f'<span class="muted">{text}</span>'
            margin_cells.append(text)
        sent = e.get("commands_sent")
        commands = "—" if sent is None else f"{e.get('commands_acknowledged', 0) or 0} / {sent}"
        start = str(e.get("start_utc") or "")
        rows.append(
            [
                _e(e.get("session", "—")),
                _e(e.get("kind") or "—"),
                _e(start[:16].replace("T", " ") or "—"),
                _e("—" if range_km is None else f"{range_km / 1e6:.2f}"),
                _e("—" if e.get("attitude_mode") is None else attitude_name(e["attitude_mode"])),
                _yes_no(e.get("dish_pointed")),
                _e(_fmt(e.get("bit_rate_bps"), "g")),
                *margin_cells,
                _e(e.get("frames") if e.get("frames") is not None else "—"),
                _e(commands),
                "contact" if e.get("contact") else "no contact",
            ]
        )
        classes.append("good" if e.get("contact") else "bad")
    return _table(header, rows, row_classes=classes, numeric=numeric)


def write_mission_report(path: Path, mission: dict) -> Path:
    """Write the self-contained HTML report of a mission replay, atomically.

    Parameters
    ----------
    path : Path
        The HTML file to write (``mission.html``).
    mission : dict
        The replay's summary (:func:`groundstation.session.mission.replay`): ``scenario``,
        ``sessions_total``, ``contacts``, ``last_contact``, ``first_loss`` and
        ``sessions`` (entries of :func:`groundstation.session.mission.run_scheduled_session`).

    Returns
    -------
    Path
        ``path``.
    """
    mission = mission if isinstance(mission, Mapping) else {}
    sessions = [e for e in (mission.get("sessions") or []) if isinstance(e, Mapping)]
    dates = _session_dates(sessions)
    n_sessions = mission.get("sessions_total", len(sessions))
    n_contacts = mission.get("contacts", sum(bool(e.get("contact")) for e in sessions))

    def where(event: Any) -> str:
        if not isinstance(event, Mapping):
            return "—"
        range_km = _number(event.get("range_km"))
        at = f" at {range_km / 1e6:.2f} million km" if range_km is not None else ""
        return _e(
            f"session {event.get('session', '?')}, {str(event.get('start_utc') or '')[:10]}{at}"
        )

    facts = [
        ("Scenario", _e(mission.get("scenario") or "—")),
        ("Sessions replayed", _e(n_sessions)),
        ("Contacts", _e(n_contacts)),
        ("Last contact", where(mission.get("last_contact"))),
        ("First session without contact after it", where(mission.get("first_loss"))),
    ]
    documented = mission.get("documented_sessions_to_21_mar_1963")
    if documented is not None:
        facts.append(
            ("Sessions to 21 Mar 1963 in the schedule", _e(f"{documented} (the record: 61)"))
        )
    if mission.get("workers") is not None:
        facts.append(("Parallel workers", _e(mission["workers"])))
    if mission.get("schedule"):
        facts.append(("Schedule", _e(mission["schedule"])))
    last = mission.get("last_contact")
    if isinstance(last, Mapping) and _number(last.get("range_km")) is not None:
        summary = (
            f"{n_contacts} of {n_sessions} sessions made contact; the last on "
            f"{str(last.get('start_utc'))[:10]} at "
            f"{_number(last.get('range_km')) / 1e6:.2f} million km (the record: "
            "21 March 1963 at 106.76 million km)."
        )
    else:
        summary = f"{n_contacts} of {n_sessions} sessions made contact."
    body = [
        "<h1>Mars 1 — the flight, session by session</h1>",
        '<p class="subtitle">Every radio session from launch towards the Mars flyby, '
        "replayed through the link budget, the spacecraft and the receivers.</p>",
        f'<p class="verdict {"ok" if n_contacts else "no"}">{_e(summary)}</p>',
        _facts(facts),
        "<h2>Link margins</h2>",
    ]
    if sessions:
        body.append(
            _mission_margin_plot(sessions, dates) or '<p class="muted">No link margin to plot.</p>'
        )
        body.append("<h2>Range</h2>")
        body.append(
            _mission_range_plot(sessions, dates) or '<p class="muted">No range to plot.</p>'
        )
        body.append("<h2>Sessions</h2>")
        body.append(_mission_table(sessions))
    else:
        body.append('<p class="muted">No session was replayed.</p>')
    body.append(
        "<footer>Emulated with the Mars 1 ground station; link budgets per ICD §7, "
        "schedule per ICD §1.</footer>"
    )
    return write_text(path, _page("Mars 1 mission replay", "\n".join(body)))
