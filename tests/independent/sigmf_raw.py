"""Write a SigMF recording pair with plain ``json`` and numpy (ICD §2).

Deliberately independent of the ``sigmf`` library and of the project's recording writer:
the metadata is built key by key from the ICD, and the samples are written as raw
little-endian interleaved I/Q in one of the three datatypes a reader must accept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np

#: Nominal carrier of every band of ICD §1 (Hz).
NOMINAL_CARRIER_HZ: Final[dict[str, float]] = {
    "1.6m-tlm": 183.6e6,
    "1.6m-cmd": 102.0e6,
    "39cm-up": 922.76e6 * 5.0 / 6.0,
    "32cm-tlm": 922.76e6,
    "8cm-carrier": 4.0 * 922.76e6,
    "5cm-ppm": 5860.0e6,
}

#: Full scale of ``ci16_le``: an amplitude of 1.0 is written as this integer.
CI16_FULL_SCALE: Final[int] = 32767

#: numpy dtype of one real component for each accepted SigMF datatype.
COMPONENT_DTYPE: Final[dict[str, str]] = {"cf32_le": "<f4", "ci16_le": "<i2", "cf64_le": "<f8"}


class SigmfRawError(ValueError):
    """A recording that this writer refuses to write (bad datatype, clipping)."""


def iso_utc(start_utc: datetime) -> str:
    """ISO 8601 UTC with microseconds and a ``Z`` suffix.

    Parameters
    ----------
    start_utc : datetime
        Timezone-aware instant.

    Returns
    -------
    str
        ``1962-11-05T09:00:00Z`` on a whole second, else ``1962-11-05T09:00:00.250000Z``
        (both are ISO 8601; a reader must take either).
    """
    if start_utc.tzinfo is None:
        raise SigmfRawError("start_utc must be timezone-aware")
    utc = start_utc.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ" if utc.microsecond == 0 else "%Y-%m-%dT%H:%M:%S.%fZ")


def interleave(samples: np.ndarray, datatype: str) -> bytes:
    """Complex samples as the bytes of ``datatype`` (interleaved I, Q, little-endian).

    Parameters
    ----------
    samples : np.ndarray
        Complex baseband samples (full scale 1.0 for ``ci16_le``).
    datatype : str
        ``cf32_le``, ``ci16_le`` or ``cf64_le``.

    Returns
    -------
    bytes
        The data file's content.
    """
    if datatype not in COMPONENT_DTYPE:
        raise SigmfRawError(f"datatype {datatype!r} is not one of {sorted(COMPONENT_DTYPE)}")
    pairs = np.empty((samples.size, 2), dtype=np.float64)
    pairs[:, 0] = samples.real
    pairs[:, 1] = samples.imag
    if datatype == "ci16_le":
        peak = float(np.max(np.abs(pairs))) if pairs.size else 0.0
        if peak > 1.0:
            raise SigmfRawError(f"ci16_le would clip: peak component {peak:.3f} > 1.0")
        pairs = np.rint(pairs * CI16_FULL_SCALE)
    return pairs.astype(COMPONENT_DTYPE[datatype]).tobytes()


def write_sigmf(
    base_path: Path | str,
    samples: np.ndarray,
    *,
    fs_hz: float,
    band: str,
    center_frequency_hz: float,
    start_utc: datetime,
    datatype: str = "cf32_le",
    bit_rate_bps: float | None = None,
    write_band: bool = True,
    write_nominal_frequency: bool = True,
) -> Path:
    """Write ``NAME.sigmf-data`` and ``NAME.sigmf-meta``; return the meta path.

    Parameters
    ----------
    base_path : Path or str
        Recording name without extension.
    samples : np.ndarray
        Complex baseband samples centred on ``center_frequency_hz``.
    fs_hz : float
        Sample rate (complex samples per second); an int is written as a JSON integer.
    band : str
        Band id of ICD §1 (written as ``mars1:band`` unless ``write_band`` is false).
    center_frequency_hz : float
        Frequency the receiver was tuned to (``captures[0].core:frequency``), Hz.
    start_utc : datetime
        UTC of the start of sample 0 (timezone-aware).
    datatype : str
        ``cf32_le`` (default), ``ci16_le`` or ``cf64_le``.
    bit_rate_bps : float or None
        ``mars1:bit_rate`` in bit/s for telemetry recordings.
    write_band : bool
        Leave ``mars1:band`` out when false (the reader must infer it).
    write_nominal_frequency : bool
        Leave ``mars1:nominal_frequency`` out when false.

    Returns
    -------
    Path
        ``NAME.sigmf-meta``.
    """
    base = Path(base_path)
    data_path = base.with_name(base.name + ".sigmf-data")
    meta_path = base.with_name(base.name + ".sigmf-meta")
    global_meta: dict[str, object] = {
        "core:datatype": datatype,
        "core:sample_rate": fs_hz,  # as given: a JSON integer or a real
        "core:version": "1.2.0",
        "core:extensions": [{"name": "mars1", "version": "1.0.0", "optional": True}],
        "core:description": "independent reference transmitter (ICD §2)",
    }
    if write_band:
        global_meta["mars1:band"] = band
    if write_nominal_frequency:
        global_meta["mars1:nominal_frequency"] = NOMINAL_CARRIER_HZ[band]
    if bit_rate_bps is not None:
        global_meta["mars1:bit_rate"] = float(bit_rate_bps)
    meta = {
        "global": global_meta,
        "captures": [
            {
                "core:sample_start": 0,
                "core:frequency": float(center_frequency_hz),
                "core:datetime": iso_utc(start_utc),
            }
        ],
        "annotations": [],
    }
    data_path.write_bytes(interleave(np.asarray(samples), datatype))
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta_path
