"""Telemetry receiver (ICD §4): PM carrier -> BPSK subcarrier -> bits -> frames.

The receiver is push-based (:mod:`groundstation.receivers.stream`): fed chunks of any size,
it hands out each frame as soon as it is decided. Every sample is touched once, at its full
rate, by the front end (:mod:`~groundstation.receivers.tlm_frontend`): derotated by an NCO
that follows the carrier and summed into bins, carrier bins of about 1/256 s and data bins
of a few samples per subcarrier cycle (more at a few bit/s). Everything after works on the
bins, in overlapping segments, so memory stays bounded whatever the rate and the length:

1. **Carrier acquisition** (once). Power spectra of short blocks (about 0.5 s) over the
   first 16 s, summed along straight lines f0 + ḟ·t (an incoherent Hough search over
   |f0| ≤ 2 kHz + margin, |ḟ| ≤ 5.5 Hz/s): the residual carrier (J0(β)² = 58.6 % of the
   power) gives the peak, tested against the noise-only distribution. Its line starts the
   NCO; while no carrier is found the next 16 s are searched.
2. **Carrier tracking** (every segment, on the carrier bins; the box car nulls the data
   sidebands at 1024 Hz). A line search (blocks of 2 s) refines offset and rate and checks
   the carrier is still there; a least-squares quadratic fit to the unwrapped phase of the
   smoothed carrier and a final zero-phase box-car average of the remaining phasor give
   the carrier phase. The averaging time minimises thermal plus random-walk phase error
   for the measured C/N0. The segment's line moves the NCO on: the lock is kept from
   chunk to chunk.
3. **Subcarrier and bit timing.** The imaginary part of the derotated signal holds
   2·J1(β)·A·d(t)·sin θ(t). Integrals over nominal subcarrier cycles, grouped and
   squared (removing the data), give the subcarrier frequency (hence the clock error ε)
   and its phase modulo π from the peak of their spectrum. Half-cycle integrals of the
   matched product Im(z)·sin θ̂ are summed into bits for each of the 2·(1024/R) possible
   bit starts; the start with the largest Σ|soft bit| wins.
4. **Frames.** Correlation of the hard bits with the 24-bit sync word in both polarities;
   near-exact matches anchor a 256-bit grid on which weaker matches are accepted. An
   inverted sync word inverts every bit of its frame. Every frame is kept; it is
   ``parity_ok`` only if all 29 words pass odd parity, its type is known, its spare
   words are zero, and its soft bits make an undetected double error in some word
   improbable (< 10⁻³; single parity cannot see two errors, nor a whole inverted word).

Estimates: C/N0 = (carrier power + data-sideband power scaled to the total) over the
noise density (spectrum of the data bins, median over frequency); this holds whatever
fraction of the segment is modulated. Eb/N0 from the moments of the frames' soft bits
(M2M4). Carrier offset (at the first sample) and rate from the fitted phase.

Segments are at least 64 s or three frames long and overlap by one frame and 4 s; a frame
belongs to the segment in which it starts (before the next segment's start), so every
frame is decoded once and whole.

The stages are modules of one job each: :mod:`~groundstation.receivers.tlm_frontend` (the
full-rate pass), :mod:`~groundstation.receivers.tlm_carrier` (1-2),
:mod:`~groundstation.receivers.tlm_bitsync` (3) and
:mod:`~groundstation.receivers.tlm_framesync` (4); this module feeds them and cuts the bins
into segments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np

from groundstation.errors import DataFileError, DecodeError, NoSignalError
from groundstation.io.recording import RELATIVE_EPOCH, Recording
from groundstation.receivers.stream import Event
from groundstation.receivers.tlm_bitsync import (
    SEARCH_CLOCK_OFFSET,
    snr_m2m4_from_moments,
    soft_bits,
    soft_llr_scale,
    subcarrier,
    undetected_error_prob,
)
from groundstation.receivers.tlm_carrier import (
    ACQUISITION_WINDOW_S,
    Acquisition,
    CarrierTrack,
    NoCarrier,
    acquire_carrier,
    noise_density,
    track_carrier,
)
from groundstation.receivers.tlm_framesync import (
    SegmentFrame,
    find_frames,
    frame_badness,
    to_decoded,
)
from groundstation.receivers.tlm_frontend import (
    FrontEndState,
    Nco,
    matched_bins,
    mix,
    subcarrier_bins,
)
from groundstation.results import DecodedFrame, TelemetryDecodeResult, TruncatedFrame
from signals.dsp import nonfinite_to_zero
from signals.formats.tlm import (
    BIT_RATES_BPS,
    CARRIER_POWER_FRACTION,
    DATA_POWER_FRACTION,
    FRAME_BITS,
    MAX_CARRIER_OFFSET_HZ,
    MIN_FS_HZ,
    SUBCARRIER_HZ,
    cycles_per_bit,
    frame_duration_s,
)

log = logging.getLogger(__name__)

#: Segments: at least this long (s) and at least this many frames.
MIN_SEGMENT_S: Final = 64.0
SEGMENT_FRAMES: Final = 3.0
SEGMENT_MARGIN_S: Final = 4.0


#: Spectra averaged for the noise density of a segment.
NOISE_BLOCKS: Final = 128
#: Data bins a bit spans (at most eight a subcarrier cycle).
BINS_PER_BIT: Final = 256
#: Most samples handled at once (a longer chunk is taken in pieces: bounded temporaries).
MAX_PIECE: Final = 1 << 20
#: Rate error searched around a line tracked by an earlier segment (Hz/s).
TRACKED_RATE_ERROR_HZ_PER_S: Final = 0.1
#: Carrier bins per second (about; the box car of fs/256 samples nulls 1024 Hz).
CARRIER_BIN_RATE_HZ: Final = 256.0


@dataclass
class _SegmentResult:
    carrier: CarrierTrack
    offset_hz: float  # residual carrier offset at the segment's first sample
    rate_hz_per_s: float
    frames: list[SegmentFrame]
    truncated: list[TruncatedFrame]
    clock_offset: float
    bit_s: float
    cn0_dbhz: float


class _Bins:
    """A run of bins indexed from ``start`` (absolute), the oldest droppable; room for
    ``capacity`` (it grows if ever needed)."""

    def __init__(self, dtype: type, capacity: int = 1 << 12) -> None:
        self.start = 0
        self._data = np.zeros(max(16, int(capacity)), dtype)
        self._count = 0

    @property
    def stop(self) -> int:
        """One past the last bin held (absolute index)."""
        return self.start + self._count

    def append(self, values: np.ndarray) -> None:
        need = self._count + values.size
        if need > self._data.size:
            grown = np.zeros(max(2 * self._data.size, need), self._data.dtype)
            grown[: self._count] = self._data[: self._count]
            self._data = grown
        self._data[self._count : need] = values
        self._count = need

    def get(self, lo: int, hi: int) -> np.ndarray:
        """Bins ``[lo, hi)`` (absolute; clipped to those held), a view."""
        lo = max(lo, self.start) - self.start
        hi = min(hi, self.stop) - self.start
        return self._data[lo : max(lo, hi)]

    def drop_before(self, index: int) -> None:
        cut = min(index - self.start, self._count)
        if cut <= 0:
            return
        self._data[: self._count - cut] = self._data[cut : self._count]
        self._count -= cut
        self.start += cut


def _data_bin_samples(fs_hz: float, bit_rate_bps: float) -> int:
    """Samples per data bin: 256 bins a bit, at most eight a subcarrier cycle (32 bit/s and
    up). A bit's edges fall inside a bin, whose sum is split in proportion: at 8 bins a
    cycle the bin around the zero crossing holds 2.5 % of a half cycle's energy, and a bit
    of hundreds of half cycles (the low rates) cares still less for coarser bins."""
    bin_rate_hz = min(8.0 * SUBCARRIER_HZ, BINS_PER_BIT * float(bit_rate_bps))
    return max(1, int(fs_hz // bin_rate_hz))


def _bits_and_frames(
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


def _segment_geometry(fs_hz: float, bit_rate_bps: float) -> tuple[int, int]:
    """Length and step (samples) of the regular segments."""
    frame_s = frame_duration_s(bit_rate_bps) * (1 + SEARCH_CLOCK_OFFSET)
    length = int(max(MIN_SEGMENT_S, SEGMENT_FRAMES * frame_s) * fs_hz)
    step = length - int((frame_s + SEGMENT_MARGIN_S) * fs_hz)
    return length, step


def _segments(n: int, fs_hz: float, bit_rate_bps: float) -> list[tuple[int, int]]:
    """Overlapping ``(start, stop)`` segments; every frame fits whole in the segment that
    owns its start (owner: the last segment starting at or before it).

    Regular segments start every ``step`` samples; the last one ends with the recording
    (``TelemetryReceiver`` decides the same segments as the samples arrive)."""
    length, step = _segment_geometry(fs_hz, bit_rate_bps)
    if n <= length:
        return [(0, n)]
    starts = [*list(range(0, n - length, step)), n - length]
    return [(s, s + length) for s in starts]


def _check_rates(fs_hz: float, bit_rate_bps: float) -> None:
    if bit_rate_bps not in BIT_RATES_BPS:
        raise DecodeError(
            f"bit rate {bit_rate_bps:g} bit/s is not a telemetry rate {list(BIT_RATES_BPS)}"
        )
    if fs_hz < MIN_FS_HZ:
        raise DecodeError(f"sample rate {fs_hz:g} Hz is below the {MIN_FS_HZ:g} Hz needed")


class TelemetryReceiver:
    """Push-based telemetry receiver (ICD §4): fed chunks of any size, it hands out each
    frame as soon as it is decided (see :mod:`groundstation.receivers.stream`).

    The front end turns every sample into bins as it arrives (after the first 16 s, held
    at the full rate for the carrier acquisition); each segment is decoded from the bins as
    soon as the samples after it have begun to arrive, and the last one ends with the input
    (:meth:`end`). A frame is handed out once no later segment can hold a better copy of it
    (at most a segment and a step after its first bit), so the same samples split into
    chunks of any sizes give the same frames in the same order. Held: the acquisition
    window, then the bins of about two segments (tens of MB at most).

    Parameters
    ----------
    fs_hz : float
        Complex sample rate (Hz), ≥ 8000.
    bit_rate_bps : float
        Bit rate (bit/s), one of ICD §4.
    start_utc : datetime
        UTC of sample 0.

    Raises
    ------
    DecodeError
        If the bit rate or the sample rate is not one of ICD §4.
    """

    def __init__(self, fs_hz: float, bit_rate_bps: float, *, start_utc: datetime) -> None:
        _check_rates(fs_hz, bit_rate_bps)
        self.fs_hz = float(fs_hz)
        self.bit_rate_bps = float(bit_rate_bps)
        self.start_utc = start_utc
        self.samples_fed = 0
        self._length, self._step = _segment_geometry(fs_hz, bit_rate_bps)
        # a frame belongs to the segment it starts in; half a frame of slack either side
        # keeps one whose start estimate differs by a sample between two segments
        self._half_frame = 0.5 * FRAME_BITS * fs_hz / bit_rate_bps
        # --- front end: acquisition window, NCO pieces, bins held
        self._m = _data_bin_samples(fs_hz, bit_rate_bps)
        self._m_c = max(1, round(fs_hz / CARRIER_BIN_RATE_HZ))
        self._window = int(ACQUISITION_WINDOW_S * fs_hz)
        self._acq = _Bins(np.complex64, self._window)  # samples held for the acquisition
        self._acquisition: Acquisition | None = None
        self._ncos: list[Nco] = []  # NCO pieces in time order
        self._fe = FrontEndState()
        # held: from the last regular segment's start to the next decision, plus a piece
        held = self._length + self._step + MAX_PIECE
        self._a = _Bins(np.complex64, held // self._m + 2)
        self._b = _Bins(np.complex64, held // self._m + 2)
        self._c = _Bins(np.complex64, held // self._m_c + 2)
        self._c_phase = _Bins(np.float64, held // self._m_c + 2)
        # --- segments and frames
        self._next = 0  # start of the next regular segment
        self._n_decoded = 0  # segments decoded
        self._pending: list[SegmentFrame] = []  # frames of the last segment, owner unknown
        self._raw: list[SegmentFrame] = []  # owned frames not yet de-duplicated
        self._tail: SegmentFrame | None = None  # last kept frame, a better copy may come
        self._ended = False
        self._nonfinite = 0
        self._warnings: list[str] = []
        self._truncated: list[TruncatedFrame] = []
        self._frames: list[DecodedFrame] = []
        self._tracks: list[tuple[int, int, float, float]] = []  # a, b, offset, rate
        self._cn0s: list[float] = []
        self._clock: list[float] = []
        self._best_miss = (-np.inf, 0.0)
        self._soft_sums = np.zeros(3)  # count, Σ soft², Σ soft⁴ of the frames handed out

    # ------------------------------------------------------------------ push interface
    def feed(self, chunk: np.ndarray) -> list[Event]:
        """Take the next samples (any length; NaN/Inf are erasures, read as 0).

        Returns
        -------
        list of DecodedFrame
            The frames these samples decided, in time order.
        """
        if self._ended:
            raise DecodeError("the telemetry receiver was fed after end()")
        chunk = np.asarray(chunk)
        events: list[Event] = []
        lo = 0
        while lo < chunk.size:
            # pieces end where a segment is decided, so the NCO moves at the same sample
            # however the input is chunked
            decide = self._next + self._length + 1
            size = min(chunk.size - lo, MAX_PIECE, max(1, decide - self.samples_fed))
            if self._acquisition is None:  # hold no more than the acquisition window
                size = max(1, min(size, self._window - (self._acq.stop - self._acq.start)))
            piece = np.asarray(chunk[lo : lo + size], dtype=np.complex64)
            lo += size
            self._front_end(piece)
            while self.samples_fed > self._next + self._length:
                events += self._decode(self._next, self._next + self._length, final=False)
                self._next += self._step
                self._drop_before(self._next - self._step)
        return events

    def end(self) -> list[Event]:
        """The input is over: decode the last segment, flush the frames held."""
        if self._ended:
            return []
        self._ended = True
        n = self.samples_fed
        if n == 0:
            return []
        if self._acquisition is None and self._acq.stop > self._acq.start:
            self._acquire()
        self._flush_bins()
        start = max(0, n - self._length)
        events = self._decode(start, n, final=True)
        events += self._own_pending(np.inf)
        events += self._release(np.inf)
        events += self._truncated
        return events

    def result(self) -> TelemetryDecodeResult:
        """Frames and link estimates of the input so far (of all of it after :meth:`end`).

        Raises
        ------
        NoSignalError
            If no segment held a telemetry carrier (or no sample was fed).
        """
        if self.samples_fed <= 0:
            raise NoSignalError("the recording holds no samples")
        warnings = list(self._warnings)
        nonfinite = self._nonfinite + self._fe.nonfinite
        if nonfinite:
            warnings.append(f"{nonfinite} non-finite samples were replaced by 0")
        if not self._tracks:
            raise NoSignalError(
                f"no telemetry carrier within ±{MAX_CARRIER_OFFSET_HZ:.0f} Hz of the tuned "
                f"frequency (strongest line {self._best_miss[0]:.1f} dB, detection threshold "
                f"{self._best_miss[1]:.1f} dB)"
            )
        fs_hz = self.fs_hz
        a0, _b0, first_offset, first_rate = self._tracks[0]
        lengths = np.array([b - a for a, b, _, _ in self._tracks], dtype=float)
        cn0_lin = 10 ** (np.array(self._cn0s) / 10)
        cn0_dbhz = float(10 * np.log10(np.sum(cn0_lin * lengths) / np.sum(lengths)))
        if len(self._tracks) > 1:
            mids = np.array([(a + b) / 2 / fs_hz for a, b, _, _ in self._tracks])
            fmid = np.array([f + r * (b - a) / 2 / fs_hz for a, b, f, r in self._tracks])
            rate, offset0 = np.polyfit(mids, fmid, 1)
            offset = float(offset0)
            rate = float(rate)
        else:
            offset = first_offset - first_rate * a0 / fs_hz
            rate = first_rate
        decoded = list(self._frames)
        count, m2, m4 = self._soft_sums
        ebn0 = snr_m2m4_from_moments(int(count), m2 / max(count, 1), m4 / max(count, 1))
        clock_offset = float(np.median(self._clock))
        for t in self._truncated:
            warnings.append(
                f"frame at sample {t.sample_start} is cut off by the end of the recording "
                f"({t.bits_received} of {FRAME_BITS} bits)"
            )
        failures = sum(not d.parity_ok for d in decoded)
        if decoded:
            message = (
                f"{len(decoded)} telemetry frames ({failures} with parity errors), carrier at "
                f"{offset:+.1f} Hz, C/N0 {cn0_dbhz:.1f} dB-Hz, Eb/N0 {ebn0:.1f} dB"
            )
        else:
            message = (
                f"carrier found at {offset:+.0f} Hz, C/N0 {cn0_dbhz:.0f} dB-Hz, "
                "but no telemetry frame"
            )
            warnings.append(message)
        return TelemetryDecodeResult(
            frames=decoded,
            cn0_dbhz=cn0_dbhz,
            ebn0_db=ebn0,
            carrier_offset_hz=offset,
            carrier_rate_hz_per_s=rate,
            truncated_frames=list(self._truncated),
            warnings=warnings,
            bit_rate_bps=self.bit_rate_bps,
            fs_hz=fs_hz,
            n_samples=int(self.samples_fed),
            clock_offset=clock_offset,
            message=message,
        )

    # ------------------------------------------------------------------ internals
    def _front_end(self, piece: np.ndarray) -> None:
        """Bins of ``piece``; before the carrier is acquired, hold it for the acquisition."""
        if self._acquisition is None:
            piece, bad = nonfinite_to_zero(piece)
            self._nonfinite += bad
            self._acq.append(piece)
            self.samples_fed += piece.size
            while self._acquisition is None and self._acq.stop - self._acq.start >= self._window:
                self._acquire()
            return
        self._mix(piece, self.samples_fed)
        self.samples_fed += piece.size

    def _acquire(self) -> None:
        """Search the acquisition window (the first 16 s held, or what the input held);
        on success start the NCO there and bin what is held, else drop the window."""
        start = self._acq.start
        window = self._acq.get(start, start + self._window)
        try:
            acquisition = acquire_carrier(window, self.fs_hz)
        except NoCarrier as exc:
            self._best_miss = max(self._best_miss, (exc.peak_db, exc.threshold_db))
            self._acq.drop_before(start + window.size)
            return
        self._acquisition = acquisition
        self._ncos = [Nco(start, 0.0, acquisition.offset_hz, acquisition.rate_hz_per_s)]
        self._a.start = self._b.start = start // self._m
        self._c.start = self._c_phase.start = start // self._m_c
        held = self._acq.get(start, self._acq.stop)
        self._mix(held, start)
        self._acq = _Bins(np.complex64, 16)

    def _mix(self, x: np.ndarray, n_first: int) -> None:
        a, b, c, phase = mix(x, n_first, self.fs_hz, self._ncos[-1], self._m, self._m_c, self._fe)
        self._a.append(a)
        self._b.append(b)
        self._c.append(c)
        self._c_phase.append(phase)

    def _flush_bins(self) -> None:
        """The input ends inside a data bin: keep its partial sums as a last bin."""
        if self._acquisition is None or self.samples_fed % self._m == 0:
            return
        acc = self._fe.acc
        self._a.append(np.array([acc[0] + 1j * acc[1]]))
        self._b.append(np.array([acc[2] + 1j * acc[3]]))

    def _drop_before(self, start: int) -> None:
        self._a.drop_before(start // self._m)
        self._b.drop_before(start // self._m)
        self._c.drop_before(start // self._m_c)
        self._c_phase.drop_before(start // self._m_c)
        while len(self._ncos) > 1 and self._ncos[1].n0 <= start:
            self._ncos.pop(0)

    def _decode(self, a: int, b: int, *, final: bool) -> list[Event]:
        """Decode segment ``[a, b)``; hand out the frames it decides."""
        events = self._own_pending(a)
        own_lo = -np.inf if self._n_decoded == 0 else a - self._half_frame
        self._n_decoded += 1
        try:
            res = self._decode_segment(a, b, final=final)
        except NoCarrier as exc:
            self._best_miss = max(self._best_miss, (exc.peak_db, exc.threshold_db))
            self._warnings.append(
                f"no carrier in samples {a}-{b} ({(b - a) / self.fs_hz:.0f} s from "
                f"{a / self.fs_hz:.0f} s)"
            )
            self._pending = []
        else:
            log.debug(
                "segment %d-%d: carrier %+.2f Hz, %+.4f Hz/s, C/N0 %.1f dB-Hz, %d frames",
                a, b, res.offset_hz, res.rate_hz_per_s, res.cn0_dbhz, len(res.frames),
            )  # fmt: skip
            self._tracks.append((a, b, res.offset_hz, res.rate_hz_per_s))
            self._cn0s.append(res.cn0_dbhz)
            self._clock.append(res.clock_offset)
            for f in res.frames:
                f.bit_s = res.bit_s
            self._pending = [f for f in res.frames if own_lo <= f.first_bit_sample]
            self._truncated += [t for t in res.truncated if own_lo <= t.sample_start]
            # the NCO follows the segment's line from here on
            now = self.samples_fed
            frequency = res.offset_hz + res.rate_hz_per_s * (now - a) / self.fs_hz
            self._ncos.append(
                self._ncos[-1].moved_to(now, self.fs_hz, frequency, res.rate_hz_per_s)
            )
        # no later segment holds a frame starting before this one's start - half a frame
        events += self._release(a - self._half_frame)
        return events

    def _decode_segment(self, a: int, b: int, *, final: bool) -> _SegmentResult:
        """Carrier, subcarrier, bits and frames of samples ``[a, b)`` from the bins.

        Raises
        ------
        NoCarrier
            No carrier in the segment (or no bins: before the acquisition).
        """
        fs_hz, m, m_c = self.fs_hz, self._m, self._m_c
        if self._acquisition is None:
            raise NoCarrier(*self._best_miss)
        # --- carrier bins, against the line of the NCO piece at the segment's start
        k0 = max(-(-a // m_c), self._c.start)
        c = self._c.get(k0, b // m_c)
        nco_phase = self._c_phase.get(k0, b // m_c)
        j0 = max(-(-a // m), self._a.start)
        j1 = min(-(-b // m), self._a.stop)
        if c.size < 16 or j1 - j0 < 16:
            raise NoCarrier(*self._best_miss)
        centres_c = (np.arange(k0, k0 + c.size) + 0.5) * m_c - 0.5
        reference = self._nco_at(centres_c[0])
        ref_phase = np.asarray(reference.phase_rad(centres_c, fs_hz))
        t_c = (centres_c - a) / fs_hz
        c_ref = c.astype(np.complex128) * np.exp(1j * (nco_phase - ref_phase))
        # --- noise density from the data bins (white: sums of m independent samples)
        a_bins = self._a.get(j0, j1)
        b_bins = self._b.get(j0, j1)
        n0 = noise_density(a_bins, fs_hz / m, max_blocks=NOISE_BLOCKS) / (m * m)
        # against the acquisition's line the rate may be off by its error; against a
        # segment's tracked line, by what the rate itself changes (ICD: slowly)
        rate_error = self._acquisition.rate_error_hz_per_s
        if self._tracks:
            rate_error = min(rate_error, TRACKED_RATE_ERROR_HZ_PER_S)
        carrier = track_carrier(c_ref, t_c, fs_hz / m_c, n0, rate_error)
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
        delta, psi0 = subcarrier(mix_bins, first, m, n, fs_hz, self.bit_rate_bps)
        w = matched_bins(mix_bins, (centre0 - a) / fs_hz, m / fs_hz, delta, psi0)
        soft, frames, truncated = _bits_and_frames(
            w, first, m, n, fs_hz, self.bit_rate_bps, delta, psi0, a, final=final
        )
        bit_s = cycles_per_bit(self.bit_rate_bps) / (SUBCARRIER_HZ + delta)
        clock_offset = SUBCARRIER_HZ / (SUBCARRIER_HZ + delta) - 1.0
        # total power: carrier line plus data sidebands. Over a fraction f of modulated
        # time, P_carrier = C·(1 − f) + C·f·J0², P_data = C·f·2·J1², so
        # C = P_carrier + P_data·(1 − J0²)/(2·J1²) whatever f is. Soft bits carry the data
        # amplitude: b = ±a·Tb/2 + noise of variance N0·Tb/4, with data power a²/2.
        bit_noise = carrier.n0 * bit_s / 4.0
        s_b = max(float(np.mean(soft**2)) - bit_noise, 0.0) if soft.size else 0.0
        data_power = 2.0 * s_b / bit_s**2
        power = carrier.carrier_power + data_power * (1 - CARRIER_POWER_FRACTION) / (
            DATA_POWER_FRACTION
        )
        cn0_dbhz = float(10 * np.log10(max(power, 1e-300) / max(carrier.n0, 1e-300)))
        return _SegmentResult(
            carrier, offset_hz, rate_hz_per_s, frames, truncated, clock_offset, bit_s, cn0_dbhz
        )

    def _nco_at(self, n: float) -> Nco:
        """The NCO piece that derotated sample ``n``."""
        for nco in reversed(self._ncos):
            if nco.n0 <= n:
                return nco
        return self._ncos[0]

    def _own_pending(self, next_start: float) -> list[Event]:
        """The next segment starts at ``next_start``: the last one's frames before it (and
        half a frame) are its own."""
        own_hi = next_start + self._half_frame
        self._raw += [f for f in self._pending if f.first_bit_sample < own_hi]
        self._pending = []
        return []

    def _release(self, frontier: float) -> list[Event]:
        """De-duplicate the frames starting before ``frontier`` (no later frame can); hand
        out those no later copy can replace."""
        gap = self._half_frame
        ready = sorted(
            (f for f in self._raw if f.first_bit_sample < frontier),
            key=lambda f: f.first_bit_sample,
        )
        self._raw = [f for f in self._raw if f.first_bit_sample >= frontier]
        out: list[SegmentFrame] = []
        for f in ready:
            tail = self._tail
            if tail is not None and f.first_bit_sample - tail.first_bit_sample < gap:
                if frame_badness(f) < frame_badness(tail):
                    self._tail = f
                continue
            if tail is not None:
                out.append(tail)
            self._tail = f
        if self._tail is not None and frontier - self._tail.first_bit_sample >= gap:
            out.append(self._tail)
            self._tail = None
        events: list[Event] = []
        for f in out:
            decoded = to_decoded(f, self.fs_hz, self.start_utc, f.bit_s)
            self._frames.append(decoded)
            self._soft_sums += (f.soft.size, np.sum(f.soft**2), np.sum(f.soft**4))
            events.append(decoded)
        return events


def decode_tlm_segments(
    read: Callable[[int, int], np.ndarray],
    n_samples: int,
    fs_hz: float,
    *,
    bit_rate_bps: float,
    start_utc: datetime,
    progress: Callable[[int], object] | None = None,
    chunk_samples: int = 1 << 18,
) -> TelemetryDecodeResult:
    """Decode telemetry from any sample source: read chunk by chunk and fed to a
    :class:`TelemetryReceiver`.

    Parameters
    ----------
    read : callable
        ``read(start, count)`` returns complex samples ``[start, start + count)``.
    n_samples : int
        Number of samples.
    fs_hz : float
        Complex sample rate (Hz), ≥ 8000.
    bit_rate_bps : float
        Bit rate (bit/s), one of ICD §4.
    start_utc : datetime
        UTC of sample 0.
    progress : callable, optional
        Called with the number of new samples processed after each chunk.
    chunk_samples : int
        Samples read at a time.

    Raises
    ------
    NoSignalError
        If no segment holds a telemetry carrier.
    DecodeError
        If the bit rate or the sample rate is not one of ICD §4.
    """
    receiver = TelemetryReceiver(fs_hz, bit_rate_bps, start_utc=start_utc)
    for start in range(0, max(0, int(n_samples)), chunk_samples):
        chunk = read(start, min(chunk_samples, n_samples - start))
        receiver.feed(chunk)
        if progress is not None:
            progress(len(chunk))
    receiver.end()
    return receiver.result()


def decode_tlm_samples(
    samples: np.ndarray,
    fs_hz: float,
    *,
    bit_rate_bps: float,
    start_utc: datetime,
) -> TelemetryDecodeResult:
    """Decode telemetry from an in-memory complex baseband array.

    Parameters
    ----------
    samples : ndarray of complex
        Baseband samples centred on the tuned frequency (ICD §2); not modified.
    fs_hz : float
        Complex sample rate (Hz), ≥ 8000.
    bit_rate_bps : float
        Bit rate (bit/s).
    start_utc : datetime
        UTC of sample 0.
    """
    samples = np.asarray(samples)
    return decode_tlm_segments(
        lambda start, count: samples[start : start + count],
        samples.size,
        fs_hz,
        bit_rate_bps=bit_rate_bps,
        start_utc=start_utc,
    )


def detect_bit_rate(read: Callable[[int, int], np.ndarray], n_samples: int, fs_hz: float) -> float:
    """Guess the bit rate of a recording without ``mars1:bit_rate``: the rate whose first
    segment yields the most frames that pass every parity check (fastest first).

    Raises
    ------
    NoSignalError
        If no rate gives a frame.
    """
    best = (0, 0.0)
    for rate in sorted(BIT_RATES_BPS, reverse=True):
        a, b = _segments(n_samples, fs_hz, rate)[0]
        receiver = TelemetryReceiver(fs_hz, rate, start_utc=RELATIVE_EPOCH)
        receiver.feed(read(a, b - a))
        # a frame read at the wrong rate almost never passes 29 parity checks (2⁻²⁹)
        good = sum(isinstance(f, DecodedFrame) and all(f.word_parity) for f in receiver.end())
        if good > best[0]:
            best = (good, float(rate))
    if best[0] == 0:
        raise NoSignalError("no telemetry frame at any bit rate of ICD §4")
    return best[1]


def decode_tlm_recording(
    recording: Recording,
    *,
    bit_rate_bps: float | None = None,
    progress: Callable[[int], object] | None = None,
) -> TelemetryDecodeResult:
    """Decode a telemetry :class:`~groundstation.io.recording.Recording` segment by segment.

    Only one segment (at least 64 s or three frames) is in memory at a time.

    Parameters
    ----------
    recording : Recording
        An opened 32 cm or 1.6 m telemetry recording.
    bit_rate_bps : float, optional
        Bit rate (bit/s); default ``mars1:bit_rate``, else detected.
    progress : callable, optional
        Called with the number of samples processed after each segment.
    """
    rate = bit_rate_bps or recording.bit_rate_bps
    warnings = []
    if rate is None:
        rate = detect_bit_rate(recording.read, recording.n_samples, recording.fs_hz)
        warnings.append(f"recording has no mars1:bit_rate; detected {rate:g} bit/s")
    receiver = TelemetryReceiver(recording.fs_hz, rate, start_utc=recording.start_utc)
    try:
        for _first, chunk in recording.chunks(1 << 18):
            receiver.feed(chunk)
            if progress is not None:
                progress(chunk.size)
    except DataFileError as exc:
        # the file shrank under us: what was read is the recording
        warnings.append(f"{exc}; decoded the first {receiver.samples_fed} samples")
    receiver.end()
    result = receiver.result()
    result.warnings[:0] = warnings
    return result
