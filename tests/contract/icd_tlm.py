"""ICD §4 telemetry written out here, independently of ``signals.formats``: the word layout,
the calibration of every channel, frame packing, and the PCM/PSK/PM waveform.

Every number in this file is copied from ``ICD.md`` §4; nothing is imported from the project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import j1

SYNC = bytes([0xFA, 0xF3, 0x20])
SUBCARRIER_HZ = 1024.0
BETA_RAD = 1.0
BIT_RATES_BPS = (1, 2, 4, 8, 16, 32, 64, 128)
ENGINEERING, SCIENCE = 0, 1


@dataclass(frozen=True)
class IcdChannel:
    """A channel of the ICD §4 tables: its words and its raw → engineering formula."""

    name: str
    words: tuple[int, ...]
    value: Callable[[int], float]

    @property
    def raw_max(self) -> int:
        return (1 << (7 * len(self.words))) - 1


ICD_CHANNELS: dict[int, tuple[IcdChannel, ...]] = {
    ENGINEERING: (
        IcdChannel("onboard_time_min", (5, 6, 7), lambda r: r),
        IcdChannel("n2_pressure_a_mpa", (8,), lambda r: r * 0.125),
        IcdChannel("n2_pressure_b_mpa", (9,), lambda r: r * 0.125),
        IcdChannel("battery_v", (10,), lambda r: 20.0 + r * 0.1),
        IcdChannel("battery_a", (11,), lambda r: (r - 64) * 0.25),
        IcdChannel("solar_array_a", (12,), lambda r: r * 0.1),
        IcdChannel("temp_orbital_c", (13,), lambda r: -40 + r),
        IcdChannel("temp_experiment_c", (14,), lambda r: -40 + r),
        IcdChannel("temp_radiator_c", (15,), lambda r: -100 + r * 1.5),
        IcdChannel("attitude_mode", (16,), lambda r: r),
        IcdChannel("command_count", (17,), lambda r: r),
        IcdChannel("last_command", (18,), lambda r: r),
        IcdChannel("tx_state", (19,), lambda r: r),
    ),
    SCIENCE: (
        IcdChannel("mag_x_nt", (5, 6), lambda r: (r - 8192) * 0.005),
        IcdChannel("mag_y_nt", (7, 8), lambda r: (r - 8192) * 0.005),
        IcdChannel("mag_z_nt", (9, 10), lambda r: (r - 8192) * 0.005),
        IcdChannel("micrometeoroid_hits", (11, 12), lambda r: r),
        IcdChannel("gas_discharge_cps", (13, 14), lambda r: r),
        IcdChannel("scintillation_cps", (15, 16), lambda r: r),
    ),
}
SPARE_WORDS = {ENGINEERING: tuple(range(20, 32)), SCIENCE: tuple(range(17, 32))}


def odd_word(data: int) -> int:
    """7 data bits, then the bit that makes the number of ones in the 8-bit word odd."""
    return (data << 1) | (1 - bin(data).count("1") % 2)


def frame_bytes(counter: int, frame_type: int, raw: dict[str, int]) -> bytes:
    """A frame packed by hand: sync, counter, type, the channels' 7-bit groups, spares 0."""
    data = [0] * 32
    data[3] = counter % 128
    data[4] = frame_type
    for ch in ICD_CHANNELS[frame_type]:
        value = raw.get(ch.name, 0)
        for i, w in enumerate(ch.words):
            data[w] = (value >> (7 * (len(ch.words) - 1 - i))) & 0x7F
    return SYNC + bytes(odd_word(d) for d in data[3:])


def pm_waveform(
    frames: list[bytes],
    *,
    fs_hz: float,
    bit_rate_bps: float,
    carrier_s: float,
    duration_s: float,
    rng: np.random.Generator,
    ebn0_db: float | None,
    carrier_offset_hz: float = 0.0,
    carrier_rate_hz_per_s: float = 0.0,
    clock_offset: float = 0.0,
    invert: bool = False,
) -> np.ndarray:
    """s(t) = exp(j·[β·d(u)·sin(2π·1024·u) + 2π·(f·t + ½·ḟ·t²)]) + noise.

    u = (t − carrier_s)/(1 + ε) is on-board time from the first bit (all intervals × (1 + ε)).
    NRZ-L, bit 1 → d = +1; unmodulated carrier for ``carrier_s`` before the first bit and
    after the last. Noise from Eb/N0 with Eb = 2·J1(β)²·A²/R, A = 1, σ² = N0·fs.
    """
    bits = np.unpackbits(np.frombuffer(b"".join(frames), dtype=np.uint8))
    level = np.where(bits == 1, 1.0, -1.0) * (-1.0 if invert else 1.0)
    t = np.arange(round(duration_s * fs_hz)) / fs_hz
    u = (t - carrier_s) / (1.0 + clock_offset)
    k = np.floor(u * bit_rate_bps).astype(np.int64)
    inside = (k >= 0) & (k < bits.size)
    d = np.zeros(t.size)
    d[inside] = level[k[inside]]
    carrier = 2 * np.pi * (carrier_offset_hz * t + 0.5 * carrier_rate_hz_per_s * t * t)
    phase = BETA_RAD * d * np.sin(2 * np.pi * SUBCARRIER_HZ * u) + carrier
    x = np.exp(1j * (phase + rng.uniform(0, 2 * np.pi)))
    if ebn0_db is not None:
        eb = 2 * j1(BETA_RAD) ** 2 / bit_rate_bps
        sigma = np.sqrt(eb / 10 ** (ebn0_db / 10) * fs_hz / 2)
        x += sigma * (rng.standard_normal(t.size) + 1j * rng.standard_normal(t.size))
    return x.astype(np.complex64)
