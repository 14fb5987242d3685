"""One telemetry segment through the stages, from its bins (ICD §4).

In: the carrier bins and the data bins of a segment (:class:`SegmentBins`, cut by
:class:`~groundstation.receivers.tlm.TelemetryReceiver`), the NCO piece they were derotated
against. Out: a :class:`SegmentResult`: the carrier tracked over the segment (offset, rate,
phase), the subcarrier and bit timing, the frames found in the soft bits (and those cut off
by the end), the clock offset and the C/N0. The stages themselves are
:mod:`~groundstation.receivers.tlm_carrier` (1),
:mod:`~groundstation.receivers.tlm_frontend` (2),
:mod:`~groundstation.receivers.tlm_bitsync` (3) and
:mod:`~groundstation.receivers.tlm_framesync` (4); nothing here touches samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from groundstation.receivers.tlm_bitsync import (
    soft_bits,
    soft_llr_scale,
    subcarrier,
    undetected_error_prob,
)
from groundstation.receivers.tlm_carrier import (
    CarrierTrack,
    mean,
    noise_density,
    track_carrier,
    unit_phasors,
)
from groundstation.receivers.tlm_framesync import SegmentFrame, find_frames
from groundstation.receivers.tlm_frontend import Nco, matched_bins, subcarrier_bins
from groundstation.results import TruncatedFrame
from signals.formats.tlm import (
    CARRIER_POWER_FRACTION,
    DATA_POWER_FRACTION,
    FRAME_BITS,
    SUBCARRIER_HZ,
    cycles_per_bit,
)

#: Spectra averaged for the noise density of a segment.
NOISE_BLOCKS: Final = 128


@dataclass(frozen=True)
class SegmentBins:
    """The bins of segment ``[a, b)`` (samples).

    Attributes
    ----------
    a, b : int
        The segment's first and end sample.
    j0 : int
        Index of the first data bin (bins of ``m`` samples from sample 0).
    k0 : int
        Index of the first carrier bin (bins of ``m_c`` samples from sample 0).
    carrier : ndarray of complex
        Carrier bins (means of ``m_c`` samples) over the segment.
    nco_phase : ndarray of float
        The NCO's phase at each carrier bin's centre (rad).
    centres : ndarray of float
        Each carrier bin's centre (fractional sample).
    data_a, data_b : ndarray of complex
        Data bins A and B (:mod:`~groundstation.receivers.tlm_frontend`).
    """

    a: int
    b: int
    j0: int
    k0: int
    carrier: np.ndarray
    nco_phase: np.ndarray
    centres: np.ndarray
    data_a: np.ndarray
    data_b: np.ndarray


@dataclass
class SegmentResult:
    """What the stages found in one segment."""

    carrier: CarrierTrack
    offset_hz: float  # residual carrier offset at the segment's first sample
    rate_hz_per_s: float
    frames: list[SegmentFrame]
    truncated: list[TruncatedFrame]
    clock_offset: float
    bit_s: float
    cn0_dbhz: float
    delta_hz: float  # subcarrier frequency offset δ


@dataclass(frozen=True)
class Known:
    """What a segment measured that a short look at the bins after it may take as known
    (:func:`decode_bins`): its noise density and subcarrier offset; its carrier line is
    the reference the look is derotated against.

    Attributes
    ----------
    n0 : float
        Noise density (σ² = N0·fs per sample).
    delta_hz : float
        Subcarrier frequency offset δ (Hz).
    """

    n0: float
    delta_hz: float


class ReferencedCarrier:
    """The carrier bins against a reference line, ``c·exp(j(φ_nco − φ_ref))``, and the line's
    phase φ_ref at their centres, kept from one call to the next for the same line.

    Each value is a function of its own bin only, so the bins two calls share (consecutive
    early looks on one segment's line share 8 s of their 12) are taken from the last call,
    to the bit, and only the new ones are computed: about a tenth of a look's work.
    """

    def __init__(self) -> None:
        self._reference: Nco | None = None
        self._k0 = 0
        self._phase = np.zeros(0)
        self._c_ref = np.zeros(0, np.complex128)

    def get(self, bins: SegmentBins, reference: Nco, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
        """(φ_ref, c·exp(j(φ_nco − φ_ref))) at the carrier bins of ``bins``."""
        k0, n = bins.k0, bins.carrier.size
        kept = 0
        if self._reference is reference and self._k0 <= k0:
            kept = max(0, min(n, self._k0 + self._phase.size - k0))
        phase = np.empty(n)
        c_ref = np.empty(n, np.complex128)
        lo = k0 - self._k0
        phase[:kept] = self._phase[lo : lo + kept]
        c_ref[:kept] = self._c_ref[lo : lo + kept]
        phase[kept:] = reference.phase_rad(bins.centres[kept:], fs_hz)
        c_ref[kept:] = bins.carrier[kept:].astype(np.complex128) * unit_phasors(
            bins.nco_phase[kept:] - phase[kept:]
        )
        self._reference, self._k0, self._phase, self._c_ref = reference, k0, phase, c_ref
        return phase, c_ref


def bits_and_frames(
    w: np.ndarray,
    first: float,
    m: int,
    n: int,
    fs_hz: float,
    bit_rate_bps: float,
    delta: float,
    psi0: float,
    offset: int,
    *,
    final: bool,
) -> tuple[np.ndarray, list[SegmentFrame], list[TruncatedFrame]]:
    """Soft bits of a segment, the frames in them and those cut off by the end."""
    starts, soft = soft_bits(w, first, m, n, fs_hz, bit_rate_bps, delta, psi0)
    found, cut = find_frames(soft, final=final)
    frames = []
    for p, inverted, errs in found:
        s = soft[p : p + FRAME_BITS] * (-1.0 if inverted else 1.0)
        frames.append(SegmentFrame(offset + starts[p], p, s, inverted, errs))
    if frames:
        llr_scale = soft_llr_scale(np.concatenate([f.soft for f in frames]))
        for f in frames:
            f.undetected_error_prob = undetected_error_prob(f.soft, llr_scale)
    truncated = [
        TruncatedFrame(int(np.ceil(offset + starts[p] - 1e-6)), int(soft.size - p), inverted)
        for p, inverted in cut
    ]
    return soft, frames, truncated


def decode_bins(
    bins: SegmentBins,
    reference: Nco,
    *,
    fs_hz: float,
    bit_rate_bps: float,
    m: int,
    m_c: int,
    rate_error_hz_per_s: float,
    final: bool,
    known: Known | None = None,
    referenced: ReferencedCarrier | None = None,
) -> SegmentResult:
    """Carrier, subcarrier, bits and frames of a segment from its bins.

    Parameters
    ----------
    bins : SegmentBins
        The segment's bins.
    reference : Nco
        The NCO piece at the segment's first carrier bin: the line the carrier is tracked
        against.
    fs_hz, bit_rate_bps : float
        Sample rate (Hz) and bit rate (bit/s).
    m, m_c : int
        Samples per data bin and per carrier bin.
    rate_error_hz_per_s : float
        How far the carrier's rate may be off the reference's (Hz/s).
    final : bool
        The segment ends with the input (frames cut off there are reported).
    known : Known, optional
        The noise density and subcarrier offset of a segment just before, whose line is
        ``reference``: no line search, noise spectrum or subcarrier spectrum is made (a
        short look for early frames; about a fifth of the work).
    referenced : ReferencedCarrier, optional
        Where the carrier bins against ``reference`` are kept between calls (the same
        numbers, fewer made).

    Raises
    ------
    NoCarrier
        No carrier line in the segment.
    """
    a, b, j0, c, nco_phase, centres_c = (
        bins.a,
        bins.b,
        bins.j0,
        bins.carrier,
        bins.nco_phase,
        bins.centres,
    )
    if referenced is None:
        ref_phase = np.asarray(reference.phase_rad(centres_c, fs_hz))
        c_ref = c.astype(np.complex128) * unit_phasors(nco_phase - ref_phase)
    else:
        ref_phase, c_ref = referenced.get(bins, reference, fs_hz)
    t_c = (centres_c - a) / fs_hz
    # --- noise density from the data bins (white: sums of m independent samples)
    a_bins, b_bins = bins.data_a, bins.data_b
    if known is None:
        n0 = noise_density(a_bins, fs_hz / m, max_blocks=NOISE_BLOCKS) / (m * m)
    else:
        n0 = known.n0
    carrier = track_carrier(c_ref, t_c, fs_hz / m_c, n0, rate_error_hz_per_s, search=known is None)
    ref_offset = reference.frequency_hz + reference.rate_hz_per_s * ((a - reference.n0) / fs_hz)
    offset_hz = ref_offset + carrier.offset_hz
    rate_hz_per_s = reference.rate_hz_per_s + carrier.rate_hz_per_s
    # --- data bins: carrier phase left by the NCO, then Im(z)·exp(−jω(t − t_a))
    centre0 = (j0 + 0.5) * m - 0.5
    rho_c = ref_phase + carrier.phase_rad - nco_phase
    mix_bins = subcarrier_bins(
        a_bins, b_bins, centre0, m, centres_c[0], m_c, rho_c, (SUBCARRIER_HZ * a / fs_hz) % 1.0
    )
    first = j0 * m - a
    n = b - a
    delta, psi0 = subcarrier(
        mix_bins, first, m, n, fs_hz, bit_rate_bps,
        delta_hz=None if known is None else known.delta_hz,
    )  # fmt: skip
    w = matched_bins(mix_bins, (centre0 - a) / fs_hz, m / fs_hz, delta, psi0)
    soft, frames, truncated = bits_and_frames(
        w, first, m, n, fs_hz, bit_rate_bps, delta, psi0, a, final=final
    )
    bit_s = cycles_per_bit(bit_rate_bps) / (SUBCARRIER_HZ + delta)
    clock_offset = SUBCARRIER_HZ / (SUBCARRIER_HZ + delta) - 1.0
    # total power: carrier line plus data sidebands. Over a fraction f of modulated
    # time, P_carrier = C·(1 − f) + C·f·J0², P_data = C·f·2·J1², so
    # C = P_carrier + P_data·(1 − J0²)/(2·J1²) whatever f is. Soft bits carry the data
    # amplitude: b = ±a·Tb/2 + noise of variance N0·Tb/4, with data power a²/2.
    bit_noise = carrier.n0 * bit_s / 4.0
    s_b = max(mean(soft**2) - bit_noise, 0.0) if soft.size else 0.0
    data_power = 2.0 * s_b / bit_s**2
    power = carrier.carrier_power + data_power * (1 - CARRIER_POWER_FRACTION) / (
        DATA_POWER_FRACTION
    )
    cn0_dbhz = float(10 * np.log10(max(power, 1e-300) / max(carrier.n0, 1e-300)))
    return SegmentResult(
        carrier, offset_hz, rate_hz_per_s, frames, truncated, clock_offset, bit_s, cn0_dbhz,
        delta,
    )  # fmt: skip
