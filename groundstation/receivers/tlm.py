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

**Early frames.** A segment is decided only once all of it has arrived, a minute or more
after most of its frames ended. So that a frame is out within a second of its last
sample, the receiver also decodes, at fixed steps of the input (every 0.25 s), the
latest stretch of bins (the last 12 s, or two frames and 4 s at the slow rates) whenever
a frame is due: at the end of the next frame on the grid of the frames seen so far
(a few steps later if it does not show), and every second while no frame has been seen.
After a segment, such a look takes the segment's carrier line, noise density and
subcarrier offset as known (the carrier phase and the subcarrier phase are still fitted
over the stretch) and makes bits only from a second before the frame due: it costs about
as much as the new bins, not the whole stretch again.
A frame found there that is ``parity_ok`` is handed out at once; the segments' copies of
it are then dropped. A frame that fails its parity there is held: the segments decide
it (a later copy that passes may still come, from either), as before. With the looks,
frames in the first 16 s come out at the acquisition. The steps are counted in samples, so
the same input in any chunks gives the same frames in the same order. Input that is not
waited for (a file, an array: :mod:`~groundstation.receivers.tlm_decode`) is decoded
without early looks: half the work at the fast rates, every frame decided by the segments.

The stages are modules of one job each: :mod:`~groundstation.receivers.tlm_frontend` (the
full-rate pass), :mod:`~groundstation.receivers.tlm_carrier` (1-2),
:mod:`~groundstation.receivers.tlm_bitsync` (3) and
:mod:`~groundstation.receivers.tlm_framesync` (4); the segment geometry and the bins kept
between segments are :mod:`~groundstation.receivers.tlm_segments`, one segment's bins
through the stages :mod:`~groundstation.receivers.tlm_stages`. This module feeds the
front end, cuts the bins into segments and hands the frames out;
:mod:`~groundstation.receivers.tlm_decode` feeds it arrays, readers and recordings.
"""

from __future__ import annotations

import bisect
import logging
from datetime import datetime
from typing import Final

import numpy as np

from groundstation.errors import DecodeError, NoSignalError
from groundstation.receivers.stream import Event
from groundstation.receivers.tlm_bitsync import (
    SEARCH_CLOCK_OFFSET,
    snr_m2m4_from_moments,
)
from groundstation.receivers.tlm_carrier import (
    ACQUISITION_WINDOW_S,
    Acquisition,
    NoCarrier,
    acquire_carrier,
)
from groundstation.receivers.tlm_framesync import (
    SegmentFrame,
    frame_badness,
    to_decoded,
)
from groundstation.receivers.tlm_frontend import (
    FrontEndState,
    Nco,
    mix,
)
from groundstation.receivers.tlm_segments import (
    SEGMENT_MARGIN_S,
    Bins,
    check_rates,
    data_bin_samples,
    segment_geometry,
)
from groundstation.receivers.tlm_stages import (
    Known,
    ReferencedCarrier,
    SegmentBins,
    SegmentResult,
    decode_bins,
)
from groundstation.results import DecodedFrame, TelemetryDecodeResult, TruncatedFrame
from signals.dsp import nonfinite_to_zero
from signals.formats.tlm import (
    FRAME_BITS,
    MAX_CARRIER_OFFSET_HZ,
)

log = logging.getLogger(__name__)


#: Most samples handled at once (a longer chunk is taken in pieces: bounded temporaries).
MAX_PIECE: Final = 1 << 20
#: Rate error searched around a line tracked by an earlier segment (Hz/s).
TRACKED_RATE_ERROR_HZ_PER_S: Final = 0.1
#: Carrier bins per second (about; the box car of fs/256 samples nulls 1024 Hz).
CARRIER_BIN_RATE_HZ: Final = 256.0
#: Early frames: the input is looked at every this many seconds (of samples).
EARLY_STEP_S: Final = 0.25
#: Shortest stretch decoded for early frames (s; at least two frames and a margin).
EARLY_WINDOW_S: Final = 12.0
#: Without a frame grid, the latest stretch is decoded every this many seconds (or every
#: sixteenth of a frame at the slow rates).
EARLY_SEARCH_S: Final = 1.0
#: After a segment, the bits of an early look start this long before the frame due
#: (s, and at least this many bits).
EARLY_PAD_S: Final = 1.0
EARLY_PAD_BITS: Final = 4
#: A frame due on the grid is looked for until this long after its end (s, at most a
#: quarter frame), then the grid moves on to the next one.
EARLY_WAIT_S: Final = 0.75
#: The step of a receiver that makes no early look: past any input.
NEVER: Final = 1 << 62


class TelemetryReceiver:
    """Push-based telemetry receiver (ICD §4): fed chunks of any size, it hands out each
    frame as soon as it is decided (see :mod:`groundstation.receivers.stream`).

    The front end turns every sample into bins as it arrives (after the first 16 s, held
    at the full rate for the carrier acquisition); each segment is decoded from the bins as
    soon as the samples after it have begun to arrive, and the last one ends with the input
    (:meth:`end`). A frame that passes its parity in the latest stretch of bins, decoded
    every 0.25 s of input when a frame is due, is handed out then (within 0.25 s of its
    last sample); one that fails is handed out once no later segment can hold a better copy
    of it (at most a segment and a step after its first bit). Both are decided at sample
    counts, not at chunk edges, so the same samples split into chunks of any sizes give the
    same frames in the same order. Held: the acquisition window, then the bins of about two
    segments (tens of MB at most).

    Parameters
    ----------
    fs_hz : float
        Complex sample rate (Hz), ≥ 8000.
    bit_rate_bps : float
        Bit rate (bit/s), one of ICD §4.
    start_utc : datetime
        UTC of sample 0.
    early : bool
        Look for early frames (default). Without, every frame is decided by the segments
        (a segment and a step after its first bit at the latest, the same frames but for
        the few an early look decides otherwise): for input read faster than it was
        recorded (a file), where no one waits for a frame, at half the cost per sample
        at the fast rates.

    Raises
    ------
    DecodeError
        If the bit rate or the sample rate is not one of ICD §4.
    """

    def __init__(
        self, fs_hz: float, bit_rate_bps: float, *, start_utc: datetime, early: bool = True
    ) -> None:
        check_rates(fs_hz, bit_rate_bps)
        self.fs_hz = float(fs_hz)
        self.bit_rate_bps = float(bit_rate_bps)
        self.start_utc = start_utc
        self.samples_fed = 0
        self._length, self._step = segment_geometry(fs_hz, bit_rate_bps)
        # a frame belongs to the segment it starts in; half a frame of slack either side
        # keeps one whose start estimate differs by a sample between two segments
        self._half_frame = 0.5 * FRAME_BITS * fs_hz / bit_rate_bps
        # --- front end: acquisition window, NCO pieces, bins held
        self._m = data_bin_samples(fs_hz, bit_rate_bps)
        self._m_c = max(1, round(fs_hz / CARRIER_BIN_RATE_HZ))
        self._window = int(ACQUISITION_WINDOW_S * fs_hz)
        self._acq = Bins(np.complex64, self._window)  # samples held for the acquisition
        self._acquisition: Acquisition | None = None
        self._ncos: list[Nco] = []  # NCO pieces in time order
        self._fe = FrontEndState()
        # held: from the last regular segment's start to the next decision, plus a piece;
        # room for half as much again, so that the bins held are seldom moved (Bins)
        held = self._length + self._step + MAX_PIECE
        self._a = Bins(np.complex64, 3 * (held // self._m + 2) // 2)
        self._b = Bins(np.complex64, 3 * (held // self._m + 2) // 2)
        self._c = Bins(np.complex64, 3 * (held // self._m_c + 2) // 2)
        self._c_phase = Bins(np.float64, 3 * (held // self._m_c + 2) // 2)
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
        # --- early frames: steps, the window, the grid of the frames seen
        bit_n = fs_hz / bit_rate_bps
        frame_n = FRAME_BITS * bit_n * (1 + SEARCH_CLOCK_OFFSET)
        self._step_n = max(1, round(EARLY_STEP_S * fs_hz))
        self._looks = early
        self._early_tick = self._step_n if early else NEVER  # the next step
        self._early_n = int(max(EARLY_WINDOW_S * fs_hz, 2 * frame_n + SEGMENT_MARGIN_S * fs_hz))
        self._frame_n = frame_n
        self._margin_n = SEGMENT_MARGIN_S * fs_hz
        self._search_n = max(round(EARLY_SEARCH_S * fs_hz), int(frame_n / 16))
        self._slack_n = min(bit_n, self._step_n)  # past a frame's end before looking
        self._wait_n = max(self._step_n, min(EARLY_WAIT_S * fs_hz, 0.25 * frame_n))
        self._pad_n = max(EARLY_PAD_S * fs_hz, EARLY_PAD_BITS * bit_n)
        self._last_early = -np.inf  # step of the last early decode
        self._grid: tuple[float, float] | None = None  # end of the last frame seen, length
        self._expect: float | None = None  # end of the next frame due
        self._emitted: list[float] = []  # first bits of the frames handed out, sorted
        # what the last segment measured (None: no segment yet, or it found no carrier);
        # its line is the last NCO piece
        self._known: Known | None = None
        # the carrier bins against the line a look takes, kept from one look to the next
        self._referenced = ReferencedCarrier()

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
            # however the input is chunked, and at the early steps
            decide = self._next + self._length + 1
            size = min(
                chunk.size - lo,
                MAX_PIECE,
                max(1, decide - self.samples_fed),
                max(1, self._early_tick - self.samples_fed),
            )
            if self._acquisition is None:  # hold no more than the acquisition window
                size = max(1, min(size, self._window - (self._acq.stop - self._acq.start)))
            piece = np.asarray(chunk[lo : lo + size], dtype=np.complex64)
            lo += size
            acquiring = self._acquisition is None
            self._front_end(piece)
            moved = acquiring and self._acquisition is not None
            while self.samples_fed > self._next + self._length:
                events += self._decode(self._next, self._next + self._length, final=False)
                self._next += self._step
                self._drop_before(self._next - self._step)
                moved = True
            if moved and self._looks:  # the grid or the carrier changed: the next look
                self._early_tick = self._look_tick(self.samples_fed)
            if self.samples_fed == self._early_tick:
                events += self._early(self._early_tick)
                self._early_tick = self._look_tick(self.samples_fed + 1)
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
        decoded = sorted(self._frames, key=lambda d: d.first_bit_sample)
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
        self._acq = Bins(np.complex64, 16)

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
            self._known = None
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
            self._see(res.frames, b)
            self._pending = [f for f in res.frames if own_lo <= f.first_bit_sample]
            self._truncated += [t for t in res.truncated if own_lo <= t.sample_start]
            # the NCO follows the segment's line from here on
            now = self.samples_fed
            frequency = res.offset_hz + res.rate_hz_per_s * (now - a) / self.fs_hz
            self._ncos.append(
                self._ncos[-1].moved_to(now, self.fs_hz, frequency, res.rate_hz_per_s)
            )
            self._known = Known(res.carrier.n0, res.delta_hz)
        # no later segment holds a frame starting before this one's start - half a frame
        events += self._release(a - self._half_frame)
        return events

    def _decode_segment(
        self,
        a: int,
        b: int,
        *,
        final: bool,
        known: Known | None = None,
        data_from: int | None = None,
        referenced: ReferencedCarrier | None = None,
    ) -> SegmentResult:
        """Carrier, subcarrier, bits and frames of samples ``[a, b)`` from the bins
        (:func:`~groundstation.receivers.tlm_stages.decode_bins`). With ``known`` (what
        the last segment measured) the carrier is taken on that segment's line, the last
        NCO piece, without a search. With ``data_from``, the carrier is tracked over
        ``[a, b)`` but the bits are made from ``data_from`` on only (positions and times
        are then counted from there). With ``referenced``, the carrier bins against the
        reference line are kept there from one call to the next (the early looks).

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
        if data_from is not None:
            a = max(a, data_from)
        j0 = max(-(-a // m), self._a.start)
        j1 = min(-(-b // m), self._a.stop)
        if c.size < 16 or j1 - j0 < 16:
            raise NoCarrier(*self._best_miss)
        centres_c = (np.arange(k0, k0 + c.size) + 0.5) * m_c - 0.5
        reference = self._nco_at(centres_c[0]) if known is None else self._ncos[-1]
        # against the acquisition's line the rate may be off by its error; against a
        # segment's tracked line, by what the rate itself changes (ICD: slowly)
        rate_error = self._acquisition.rate_error_hz_per_s
        if self._tracks:
            rate_error = min(rate_error, TRACKED_RATE_ERROR_HZ_PER_S)
        data_a, data_b = self._a.get(j0, j1), self._b.get(j0, j1)
        return decode_bins(
            SegmentBins(a, b, j0, k0, c, nco_phase, centres_c, data_a, data_b),
            reference,
            fs_hz=fs_hz,
            bit_rate_bps=self.bit_rate_bps,
            m=m,
            m_c=m_c,
            rate_error_hz_per_s=rate_error,
            final=final,
            known=known,
            referenced=referenced,
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
        # a frame handed out early (it passed its parity there) is not handed out again
        out = [f for f in out if not self._was_emitted(f.first_bit_sample)]
        return self._hand_out([to_decoded(f, self.fs_hz, self.start_utc, f.bit_s) for f in out],
                              out)  # fmt: skip

    def _hand_out(self, decoded: list[DecodedFrame], frames: list[SegmentFrame]) -> list[Event]:
        """Hand out ``decoded`` (made from ``frames``): keep them, their moments, their
        first bits (so that no later copy is handed out again)."""
        for d, f in zip(decoded, frames, strict=True):
            self._frames.append(d)
            self._soft_sums += (f.soft.size, np.sum(f.soft**2), np.sum(f.soft**4))
            bisect.insort(self._emitted, f.first_bit_sample)
        keep = self._next - self._step - self._length  # no copy of an older frame can come
        if self._emitted and self._emitted[0] < keep:
            del self._emitted[: bisect.bisect_left(self._emitted, keep)]
        return list(decoded)

    def _was_emitted(self, first_bit_sample: float) -> bool:
        """A copy of the frame starting at ``first_bit_sample`` was handed out."""
        i = bisect.bisect_left(self._emitted, first_bit_sample - self._half_frame)
        return i < len(self._emitted) and self._emitted[i] < first_bit_sample + self._half_frame

    # ------------------------------------------------------------------ early frames
    def _looks_at(self, t: int) -> bool:
        """A frame is due at the step ``t`` (the tests :meth:`_early` makes first)."""
        if self._expect is None:
            return t - self._last_early >= self._search_n
        return t >= self._expect + self._slack_n

    def _look_tick(self, first: int) -> int:
        """The first step at or after sample ``first`` at which :meth:`_early` may look, as
        things stand: the input is cut there, and only there (a step at which no frame is
        due does nothing, and cutting at every step costs a call per piece). Before the
        acquisition, every step."""
        step = self._step_n
        t = max(step, -(-first // step) * step)
        if self._acquisition is None or self._looks_at(t):
            return t
        due = self._last_early + self._search_n if self._expect is None else self._expect
        # from two steps below the threshold's step, the same test as _early
        t = max(t, (int(np.ceil(due / step)) - 2) * step)
        while not self._looks_at(t):
            t += step
        return t

    def _early(self, t: int) -> list[Event]:
        """At the step ``t`` (samples fed): when a frame is due, decode the latest stretch
        and hand out the frames in it that pass their parity and are not out yet."""
        if self._acquisition is None:
            return []
        if self._expect is None:
            if t - self._last_early < self._search_n:
                return []
        elif t < self._expect + self._slack_n:
            return []
        # the latest stretch, and back to the start of the first frame that was not
        # whole in the last one (the first stretch reaches back to the acquisition)
        start = min(t - self._early_n, self._last_early - self._frame_n - self._margin_n)
        start = int(
            max(start, t - self._length, self._a.start * self._m, self._c.start * self._m_c)
        )
        if t - start < 2 * self._frame_n + self._margin_n:
            return []  # too short a look to settle a frame's polarity: the segments will
        self._last_early = t
        # after a segment, the carrier is taken on its line over the whole stretch, but the
        # bits are made only from a little before the frame due (its start on the grid)
        data_from = None
        if self._known is not None and self._expect is not None:
            data_from = int(self._expect - self._frame_n - self._pad_n)
        try:
            res = self._decode_segment(
                start, t, final=False, known=self._known, data_from=data_from,
                referenced=self._referenced,
            )  # fmt: skip
        except (NoCarrier, DecodeError):  # no carrier, or too short yet
            self._see([], t)
            return []
        for f in res.frames:
            f.bit_s = res.bit_s
        self._see(res.frames, t)
        good, frames = [], []
        for f in res.frames:
            if self._was_emitted(f.first_bit_sample):
                continue
            decoded = to_decoded(f, self.fs_hz, self.start_utc, f.bit_s)
            if decoded.parity_ok:
                good.append(decoded)
                frames.append(f)
        return self._hand_out(good, frames)

    def _see(self, frames: list[SegmentFrame], t: float) -> None:
        """Frames found in bins up to sample ``t``: move the grid, set the next frame due."""
        for f in frames:
            length = FRAME_BITS * f.bit_s * self.fs_hz
            end = f.first_bit_sample + length
            if self._grid is None or end > self._grid[0]:
                self._grid = (end, length)
        if self._grid is None:
            return
        last_end, length = self._grid
        if t - last_end > self._length:  # no frame for a segment: search again
            self._grid = self._expect = None
            return
        # the next end on the grid not yet looked for long enough
        k = max(1, int(np.ceil((t - self._wait_n - last_end) / length)))
        self._expect = last_end + k * length
