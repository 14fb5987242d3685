"""What is known about a source's samples, and metadata made from it.

In: the facts the command line gives about samples that carry none (sample format, rate,
band or tuned frequency, bit rate, start UTC: :class:`SourceOptions`), or that override a
file's. Out: :class:`SourceFacts` (what every source, file or stream, tells the receivers)
and SigMF metadata for samples without their own (:func:`synthesise_metadata`), so that a
raw file, a WAV file or a stream is described to the rest of the station as a recording is.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sigmf

from groundstation.errors import RecordingError, UnknownBandError
from groundstation.io import keys
from groundstation.io.keys import MARS1_EXTENSION
from groundstation.io.recording import META_SUFFIX, format_utc
from groundstation.io.samples import EXTENSION_FORMATS, SAMPLE_FORMATS
from signals import __version__
from signals.bands import BAND_IDS, band_from_frequency, load_bands


@dataclass(frozen=True)
class SourceOptions:
    """What the command line says about a source: fills in or overrides the file's facts.

    Attributes
    ----------
    sample_format : str or None
        ``cf32``, ``cf64``, ``ci16``, ``ci8`` or ``cu8`` (a raw file's or stdin's format).
    fs_hz : float or None
        Complex sample rate (Hz).
    band : str or None
        Band id of ICD §1.
    frequency_hz : float or None
        Tuned frequency (Hz); the band follows from it when ``band`` is not given.
    bit_rate_bps : float or None
        Telemetry bit rate (bit/s).
    start_utc : datetime or None
        UTC of sample 0.
    """

    sample_format: str | None = None
    fs_hz: float | None = None
    band: str | None = None
    frequency_hz: float | None = None
    bit_rate_bps: float | None = None
    start_utc: datetime | None = None

    def __post_init__(self) -> None:
        if self.sample_format is not None and self.sample_format not in SAMPLE_FORMATS:
            raise RecordingError(
                f"unknown sample format {self.sample_format!r} "
                f"(use one of {', '.join(SAMPLE_FORMATS)})"
            )
        for name in ("fs_hz", "frequency_hz", "bit_rate_bps"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise RecordingError(f"{name} must be a positive number, not {value!r}")
        if self.band is not None and self.band not in BAND_IDS:
            raise UnknownBandError(
                f"unknown band {self.band!r}; known bands: {', '.join(BAND_IDS)}"
            )


@dataclass(frozen=True)
class SourceFacts:
    """What is known about a source's samples.

    Attributes
    ----------
    name : str
        A name for outputs (the recording's base name, ``stdin``).
    form : str
        ``sigmf``, ``sigmf-archive``, ``wav``, ``raw`` or ``stdin``.
    datatype : str
        SigMF datatype of the stored samples (``cf32_le``, ``ci16_le``, ``cu8``, ...).
    fs_hz : float
        Complex sample rate (Hz).
    band : str
        Band id of ICD §1.
    center_frequency_hz : float
        Tuned frequency (Hz).
    nominal_frequency_hz : float
        The band's nominal carrier (Hz).
    start_utc : datetime or None
        UTC of sample 0; None when nothing gives it (times then count from sample 0).
    bit_rate_bps : float or None
        Telemetry bit rate (bit/s), None when unknown (the receiver detects it).
    n_samples : int or None
        Number of samples; None for a stream of unknown length.
    """

    name: str
    form: str
    datatype: str
    fs_hz: float
    band: str
    center_frequency_hz: float
    nominal_frequency_hz: float
    start_utc: datetime | None
    bit_rate_bps: float | None
    n_samples: int | None

    @property
    def duration_s(self) -> float | None:
        """Length (s), None for a stream of unknown length."""
        return None if self.n_samples is None else self.n_samples / self.fs_hz


def band_and_frequency(options: SourceOptions, where: str) -> tuple[str, float]:
    bands, _ = load_bands()
    if options.band is not None:
        frequency = options.frequency_hz or bands[options.band].carrier_hz
        return options.band, frequency
    if options.frequency_hz is not None:
        match = band_from_frequency(options.frequency_hz)
        if match is None:
            raise UnknownBandError(
                f"{where}: no band of the ICD near {options.frequency_hz:.6g} Hz "
                "(see 'groundstation bands')"
            )
        return match.band_id, options.frequency_hz
    raise RecordingError(
        f"{where}: say which band with --band ID or --freq HZ (see 'groundstation bands')"
    )


def synthesise_metadata(
    *,
    datatype: str,
    fs_hz: float,
    options: SourceOptions,
    where: str,
    description: str,
    header_bytes: int = 0,
    trailing_bytes: int = 0,
) -> dict[str, Any]:
    """SigMF metadata (a JSON dict) for samples whose facts come from the command line.

    Parameters
    ----------
    datatype : str
        SigMF datatype of the stored samples.
    fs_hz : float
        Complex sample rate (Hz).
    options : SourceOptions
        Band or frequency, bit rate, start time.
    where : str
        The file's name, for messages.
    description : str
        ``core:description``: where the samples came from.
    header_bytes, trailing_bytes : int
        Bytes of the file before and after the samples.
    """
    band, frequency = band_and_frequency(options, where)
    bands, _ = load_bands()
    glob: dict[str, Any] = {
        keys.DATATYPE: datatype,
        keys.SAMPLE_RATE: float(fs_hz),
        keys.VERSION: sigmf.__specification__,
        keys.EXTENSIONS: [dict(MARS1_EXTENSION)],
        keys.RECORDER: f"mars1-groundstation {__version__}",
        keys.DESCRIPTION: description,
        keys.BAND: band,
        keys.NOMINAL_FREQUENCY: bands[band].carrier_hz,
    }
    if trailing_bytes:
        glob[keys.TRAILING_BYTES] = int(trailing_bytes)
    if options.bit_rate_bps is not None:
        glob[keys.BIT_RATE] = float(options.bit_rate_bps)
    capture: dict[str, Any] = {keys.SAMPLE_START: 0, keys.FREQUENCY: float(frequency)}
    if header_bytes:
        capture[keys.HEADER_BYTES] = int(header_bytes)
    if options.start_utc is not None:
        capture[keys.DATETIME] = format_utc(options.start_utc)
    return {"global": glob, "captures": [capture], "annotations": []}


def patched(metadata: dict[str, Any], options: SourceOptions) -> dict[str, Any]:
    """A copy of SigMF ``metadata`` with the command line's facts written in."""
    out = json.loads(json.dumps(metadata))
    glob, capture = out["global"], out["captures"][0]
    if options.fs_hz is not None:
        glob[keys.SAMPLE_RATE] = float(options.fs_hz)
    if options.band is not None or options.frequency_hz is not None:
        band, frequency = band_and_frequency(options, "command line")
        bands, _ = load_bands()
        glob[keys.BAND] = band
        glob[keys.NOMINAL_FREQUENCY] = bands[band].carrier_hz
        if options.frequency_hz is not None or keys.FREQUENCY not in capture:
            capture[keys.FREQUENCY] = float(frequency)
    if options.bit_rate_bps is not None:
        glob[keys.BIT_RATE] = float(options.bit_rate_bps)
    if options.start_utc is not None:
        capture[keys.DATETIME] = format_utc(options.start_utc)
    return out


def needs_patch(options: SourceOptions) -> bool:
    return any(
        getattr(options, name) is not None
        for name in ("fs_hz", "band", "frequency_hz", "bit_rate_bps", "start_utc")
    )


def require_rate_and_format(path: Path, options: SourceOptions, what: str) -> tuple[str, float]:
    sample_format = options.sample_format or EXTENSION_FORMATS.get(path.suffix.lower())
    missing = []
    if sample_format is None:
        missing.append("--format cf32|cf64|ci16|ci8|cu8")
    if options.fs_hz is None:
        missing.append("--samp-rate HZ")
    if missing:
        raise RecordingError(
            f"{path.name}: {what} carries no metadata (no {path.name}{META_SUFFIX}); "
            f"give {' and '.join(missing)}"
        )
    return SAMPLE_FORMATS[sample_format], float(options.fs_hz)


def virtual_meta_path(path: Path, name: str) -> Path:
    """Where the metadata of a source without one would be: names the outputs.

    A ``name`` of dots only (a member ``.sigmf-meta`` of an archive, a file ``..cf32``)
    names nothing, so the file's own stem (or whole name) stands in for it.
    """
    if not name.strip("."):
        name = path.stem if path.stem.strip(".") else path.name
    return path.parent / (name + META_SUFFIX)
