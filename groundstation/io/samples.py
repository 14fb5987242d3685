"""Sample formats: bytes as stored or sent, to and from ``complex64``.

In: the bytes of interleaved I/Q samples in one of the datatypes of ICD §2 (``cf32_le``,
``cf64_le``, ``ci16_le``, ``ci8``, ``cu8``), from a file, a socket or a pipe. Out:
``complex64`` arrays at full scale 1.0, and back (:func:`to_bytes`) for the writers and the
stream sinks. One place for the scales and the ``cu8`` offset, so a recording and a stream of
the same samples read the same.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Datatypes a reader accepts (ICD §2), with their numpy storage type and scale to complex64.
DATATYPES: Final[dict[str, tuple[np.dtype, float]]] = {
    "cf32_le": (np.dtype("<c8"), 1.0),
    "cf64_le": (np.dtype("<c16"), 1.0),
    "ci16_le": (np.dtype("<i2"), 2.0**-15),
    "ci8": (np.dtype("i1"), 2.0**-7),
    "cu8": (np.dtype("u1"), 2.0**-7),
}
#: Bytes of one complex sample of each datatype.
SAMPLE_BYTES: Final[dict[str, int]] = {
    "cf32_le": 8,
    "cf64_le": 16,
    "ci16_le": 4,
    "ci8": 2,
    "cu8": 2,
}
#: Offset of unsigned 8-bit samples (ICD §2): a ``cu8`` value v reads as (v - 127.5)·2⁻⁷.
CU8_OFFSET: Final = 127.5

#: Sample formats by their command-line name (gr-satellites, inspectrum) -> SigMF datatype.
SAMPLE_FORMATS: Final[dict[str, str]] = {
    "cf32": "cf32_le",
    "cf64": "cf64_le",
    "ci16": "ci16_le",
    "ci8": "ci8",
    "cu8": "cu8",
}
#: File extensions that name a raw sample format (as inspectrum and the SDR tools use them).
EXTENSION_FORMATS: Final[dict[str, str]] = {
    ".cf32": "cf32",
    ".fc32": "cf32",
    ".cfile": "cf32",
    ".cf64": "cf64",
    ".fc64": "cf64",
    ".ci16": "ci16",
    ".cs16": "ci16",
    ".sc16": "ci16",
    ".ci8": "ci8",
    ".cs8": "ci8",
    ".sc8": "ci8",
    ".cu8": "cu8",
}


def to_complex64(raw: bytes | bytearray | memoryview | np.ndarray, datatype: str) -> np.ndarray:
    """Samples stored as ``datatype`` to a fresh ``complex64`` array.

    Parameters
    ----------
    raw : bytes-like or uint8 array
        A whole number of samples (``len(raw)`` a multiple of :data:`SAMPLE_BYTES`).
    datatype : str
        One of :data:`DATATYPES`.

    Returns
    -------
    numpy.ndarray
        ``complex64``, one element per sample, integers scaled to full scale 1.0 (``cu8``
        offset by 127.5 first); NaN and Inf pass through. A ``cf32_le`` array passed in is
        viewed, not copied; bytes are always copied, so the result is writable.

    Examples
    --------
    >>> to_complex64(bytes([255, 0]), "cu8")
    array([0.99609375-0.99609375j], dtype=complex64)
    """
    storage, scale = DATATYPES[datatype]
    owned = isinstance(raw, np.ndarray)  # a caller's fresh buffer is viewed, bytes are copied
    data = raw.view(np.uint8) if owned else np.frombuffer(raw, np.uint8)
    if data.size % SAMPLE_BYTES[datatype]:
        raise ValueError(
            f"{data.size} bytes are not a whole number of {datatype} samples "
            f"({SAMPLE_BYTES[datatype]} bytes each)"
        )
    if storage.kind in "iu":
        out = data.view(storage).astype(np.float32).view(np.complex64)
        if datatype == "cu8":
            out -= np.complex64(CU8_OFFSET + 1j * CU8_OFFSET)
        out *= np.float32(scale)
        return out
    if datatype == "cf64_le":
        return data.view("<c16").astype(np.complex64)
    samples = data.view("<c8").view(np.complex64)
    return samples if owned else samples.copy()


def stored_bytes(samples: np.ndarray, datatype: str) -> np.ndarray:
    """Complex samples as the bytes ``datatype`` stores (uint8; integers rounded and clipped
    at full scale): a view of ``samples`` where they are stored as they are (complex64 as
    ``cf32_le``), no copy made.

    Parameters
    ----------
    samples : numpy.ndarray
        Complex samples, full scale 1.0.
    datatype : str
        One of :data:`DATATYPES`.
    """
    data = np.asarray(samples)
    storage, scale = DATATYPES[datatype]
    if storage.kind == "c":
        return np.ascontiguousarray(data, dtype=storage).reshape(-1).view(np.uint8)
    iq = np.empty((data.size, 2), np.float64)
    iq[:, 0] = data.real
    iq[:, 1] = data.imag
    iq /= scale
    if datatype == "cu8":
        iq += CU8_OFFSET
    info = np.iinfo(storage)
    return np.clip(np.rint(iq), info.min, info.max).astype(storage).reshape(-1).view(np.uint8)


def to_bytes(samples: np.ndarray, datatype: str) -> bytes:
    """Complex samples stored as ``datatype``: :func:`stored_bytes` as a ``bytes`` copy.

    Examples
    --------
    >>> to_complex64(to_bytes(np.array([0.5 - 0.25j]), "ci16_le"), "ci16_le")
    array([0.5-0.25j], dtype=complex64)
    """
    return stored_bytes(samples, datatype).tobytes()
