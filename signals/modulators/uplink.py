"""The ground command transmitter: ICD §5 commands to continuous-phase FSK complex baseband.

Each command goes out as three identical 40-bit frames back to back (12 s at 10 bit/s);
between commands the transmitter is keyed off for ``gap_s``, a whole number of bit
periods, so that the bit clock runs on unbroken through the gaps (the spacecraft's
receiver treats keyed intervals less than about 0.8 s apart as one). Baseband is centred on the
uplink carrier as pre-tuned for the predicted Doppler: bit 1 at +250 Hz, bit 0 at
−250 Hz, unit amplitude while keyed, zero while off. Sample n is the envelope at
t = n / fs (ICD §2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from signals.errors import SignalsError
from signals.formats.uplink import (
    BIT_RATE_BPS,
    FRAME_DURATION_S,
    MIN_FS_HZ,
    REPEATS,
    TONE_OFFSET_HZ,
    Command,
)

DEFAULT_GAP_S: float = 2.0
"""Transmitter-off time between two commands (s)."""


class UplinkError(SignalsError):
    """A command uplink cannot be generated with the given parameters."""


def _check_timing(fs_hz: float, gap_s: float, start_offset_s: float) -> None:
    if not fs_hz >= MIN_FS_HZ:
        raise UplinkError(f"uplink sample rate {fs_hz} Hz is below the minimum {MIN_FS_HZ:g} Hz")
    if gap_s < 0 or start_offset_s < 0:
        raise UplinkError(
            f"uplink gap ({gap_s} s) and start offset ({start_offset_s} s) must not be negative"
        )
    gap_bits = gap_s * BIT_RATE_BPS
    if abs(gap_bits - round(gap_bits)) > 1e-6:
        raise UplinkError(
            f"uplink gap {gap_s} s is not a whole number of {1 / BIT_RATE_BPS:g} s bit periods"
        )


def command_start_times_s(
    n_commands: int, *, gap_s: float = DEFAULT_GAP_S, start_offset_s: float = 0.0
) -> np.ndarray:
    """Start of each command's first frame, in seconds from the first sample.

    Parameters
    ----------
    n_commands : int
        Number of commands sent.
    gap_s : float
        Transmitter-off time between commands (s).
    start_offset_s : float
        Silence before the first command (s).

    Returns
    -------
    numpy.ndarray
        ``n_commands`` start times (s). Frame ``i`` of a command starts ``i × 4 s`` later.
    """
    command_s = REPEATS * FRAME_DURATION_S
    return start_offset_s + np.arange(n_commands) * (command_s + gap_s)


def uplink_duration_s(
    n_commands: int, *, gap_s: float = DEFAULT_GAP_S, start_offset_s: float = 0.0
) -> float:
    """Length of the uplink (s): offset, commands and the gaps between them."""
    if n_commands == 0:
        return float(start_offset_s)
    return float(
        start_offset_s + n_commands * REPEATS * FRAME_DURATION_S + (n_commands - 1) * gap_s
    )


def modulate_bursts(
    bursts: Sequence[npt.ArrayLike],
    start_times_s: npt.ArrayLike,
    fs_hz: float,
    duration_s: float,
) -> np.ndarray:
    """Continuous-phase binary FSK for bursts of bits at given start times.

    Parameters
    ----------
    bursts : sequence of array_like
        Bits (0/1) of each burst, sent back to back at 10 bit/s.
    start_times_s : array_like
        Start of each burst (s from the first sample), increasing, bursts not overlapping.
    fs_hz : float
        Sample rate (Hz).
    duration_s : float
        Length of the output (s).

    Returns
    -------
    numpy.ndarray
        complex64 baseband, unit amplitude inside bursts and zero outside.
    """
    starts_s = np.asarray(start_times_s, dtype=np.float64)
    bit_arrays = [np.asarray(b, dtype=np.int8).ravel() for b in bursts]
    if len(bit_arrays) != starts_s.size:
        raise UplinkError(f"{len(bit_arrays)} bursts but {starts_s.size} start times")
    n_samples = round(duration_s * fs_hz)
    if not bit_arrays or n_samples == 0:
        return np.zeros(n_samples, dtype=np.complex64)
    bit_s = 1.0 / BIT_RATE_BPS
    n_bits = np.array([b.size for b in bit_arrays])
    if np.any(starts_s[1:] < starts_s[:-1] + n_bits[:-1] * bit_s * (1 - 1e-9)):
        raise UplinkError("uplink bursts overlap")
    bits = np.concatenate(bit_arrays)
    first_bit = np.concatenate([[0], np.cumsum(n_bits)[:-1]])
    freq_hz = np.where(bits > 0, TONE_OFFSET_HZ, -TONE_OFFSET_HZ)
    phase_at_start = np.concatenate([[0.0], np.cumsum(2 * np.pi * freq_hz * bit_s)[:-1]])
    t_s = np.arange(n_samples) / fs_hz
    burst = np.maximum(np.searchsorted(starts_s, t_s, side="right") - 1, 0)
    bit_position = (t_s - starts_s[burst]) * BIT_RATE_BPS  # bits since the burst start
    keyed = (bit_position >= 0) & (bit_position < n_bits[burst])
    local_bit = np.clip(np.floor(bit_position), 0, n_bits[burst] - 1).astype(np.int64)
    k = first_bit[burst] + local_bit
    dt_s = (bit_position - local_bit) * bit_s
    phase = phase_at_start[k] + 2 * np.pi * freq_hz[k] * dt_s
    out = np.zeros(n_samples, dtype=np.complex64)
    out[keyed] = np.exp(1j * phase[keyed])
    return out


def modulate_commands(
    commands: Sequence[Command],
    fs_hz: float,
    *,
    gap_s: float = DEFAULT_GAP_S,
    start_offset_s: float = 0.0,
) -> np.ndarray:
    """Commands as the ground transmitter sends them: complex baseband at ``fs_hz``.

    Parameters
    ----------
    commands : sequence of Command
        Commands in sending order; each is sent three times back to back.
    fs_hz : float
        Sample rate (Hz), at least 1 kHz.
    gap_s : float
        Transmitter-off time between commands (s), a multiple of the 0.1 s bit period.
    start_offset_s : float
        Silence before the first command (s).

    Returns
    -------
    numpy.ndarray
        complex64 baseband of :func:`uplink_duration_s` seconds. Command ``i`` starts at
        ``command_start_times_s(len(commands), ...)[i]``.

    Raises
    ------
    UplinkError
        Sample rate too low or negative times.
    """
    _check_timing(fs_hz, gap_s, start_offset_s)
    starts_s = command_start_times_s(len(commands), gap_s=gap_s, start_offset_s=start_offset_s)
    bursts = [np.tile(command.bits(), REPEATS) for command in commands]
    duration_s = uplink_duration_s(len(commands), gap_s=gap_s, start_offset_s=start_offset_s)
    return modulate_bursts(bursts, starts_s, fs_hz, duration_s)
