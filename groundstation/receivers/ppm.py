"""5 cm PPM image receiver (ICD §2-§3): from samples to grey levels, vectorised over blocks.

The receiver works from the samples alone. It does not know where a transmission starts,
the transmitter's clock (±100 ppm, drifting, further scaled by Doppler) or the residual
carrier (±30 kHz, drifting at up to 5 Hz/s).

Acquisition
    A dense scan sums each chip of samples coherently for five carrier hypotheses 15 kHz
    apart and adds the chip energies at the four frame-marker chips. A candidate is
    verified and refined: carrier offset by a grid over the marker pulses, timing by a fine
    search, the other frame marker 9 periods away, a header that passes its check (either
    copy, both added, or a short list of runner-up levels), and the first line markers
    where that header puts them; those markers also fix the clock rate before any data.
Tracking
    Once locked, only the slot windows are touched. The period grid is a local straight
    line (period index to sample time) fitted by weighted least squares to timing
    measurements over the last 1500 periods (older ones weighted down, e^(-Δp/500)), so a
    drifting clock is followed. Each block of periods gives one measurement: marker pulses
    by a fine search, data pulses by an early-late discriminator on the decided slots
    (energies half a chip either side).
    The carrier offset is followed the same way with a three-point fit in frequency.
    Lines are expected every ``5 + pixels`` periods; where a line marker is missing the
    receiver looks for it later on the grid (silent periods inside an image) or for the
    next frame marker, else reports the line lost.
Detection
    Each window is matched to the sampled pulse: the weight of a sample is its overlap with
    the chip (integrate-and-dump sampling) times the conjugate of the carrier across it.
    The weights are tabulated for 32 fractional positions and the current carrier offset.
    The energy |z|² of the 64 slot windows is compared (non-coherent across pulses) and
    the largest wins.
Cost
    The window sums run in :mod:`groundstation.receivers.ppm_kernels`: compiled (numba) when it
    imports, else (or with ``MARS1_NO_NUMBA=1``) their numpy reference. Once locked, a
    line costs one pass over its slot windows (decisions, noise sums and the early-late
    energies together), one over its decided pulses (carrier) and one short marker search:
    about a fifth of the samples are read, each once. A run of lines that find their
    markers is decoded in one compiled call (:mod:`~groundstation.receivers.ppm_track`),
    so narrow lines cost about what wide ones do per sample. Over noise the frame-marker scan
    (:mod:`~groundstation.receivers.ppm_scan`) reads every sample for five carrier
    hypotheses, in vector instructions. :func:`decode_ppm` uses a second core
    (:mod:`~groundstation.receivers.ppm_decode`): the file read ahead, and a long
    recording decoded from its middle as well, with the same result.

Streaming
    The receiver is fed chunks of any length (:meth:`PpmReceiver.feed`) and hands out an
    :class:`~groundstation.results.ImageHeader` once an image is believed (two lines
    received), each :class:`~groundstation.results.ImageLine` as soon as its number is
    settled, and the :class:`~groundstation.results.DecodedImage` at the transmission's
    end. It keeps a bounded look-back of samples (two header copies behind the scan, the
    lines behind the tracker) and runs each stage (a scan block, one candidate's
    verification, one line) once the samples it needs have been fed, so the same samples
    split into chunks of any sizes give the same results. The candidates are verified side
    by side, the scan going on meanwhile, so that one waiting for samples far ahead does
    not hold up an image behind it (``PpmReceiver._first_lock`` says which lock is taken).
    Decoding a file is feeding it chunk by chunk (:func:`decode_ppm`).

Non-finite samples are erasures (zeros, counted as they are fed); a line that held one is
listed in ``nonfinite_lines``.

The stages are modules of one job each: :mod:`~groundstation.receivers.ppm_sources` (sources and
the look-back buffer), :mod:`~groundstation.receivers.ppm_detect` (matched windows and decisions),
:mod:`~groundstation.receivers.ppm_acquire` (acquisition),
:mod:`~groundstation.receivers.ppm_timing` (period grid and loop state),
:mod:`~groundstation.receivers.ppm_track` (line decoding) and
:mod:`~groundstation.receivers.ppm_image` (image assembly); this module runs them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np

from groundstation.errors import DataFileError, DecodeError
from groundstation.receivers.ppm_acquire import Acquirer
from groundstation.receivers.ppm_decode import (
    SPLIT_MIN_SAMPLES,
    Progress,
    ReadAhead,
    SecondHalf,
    make_result,
)
from groundstation.receivers.ppm_detect import (
    PulseFilter,
    genie_decisions,
    slot_decisions,
    slot_energies,
)
from groundstation.receivers.ppm_image import MIN_LINES_RECEIVED
from groundstation.receivers.ppm_sources import (
    CHUNK_SAMPLES,
    ArraySource,
    Cf32FileSource,
    MappedCf32Source,
    NeedSamples,
    SampleBuffer,
    SampleSource,
)
from groundstation.receivers.ppm_timing import ImageLock
from groundstation.receivers.ppm_track import ImageTracking, LineTracker
from groundstation.receivers.stream import Event
from groundstation.results import DecodedImage, PpmDecodeResult
from signals.formats.ppm import HEADER_COPY_PERIODS, MIN_FS_HZ

__all__ = [
    "MIN_LINES_RECEIVED",
    "ArraySource",
    "Cf32FileSource",
    "MappedCf32Source",
    "PpmReceiver",
    "PulseFilter",
    "SampleSource",
    "decode_ppm",
    "genie_decisions",
    "slot_decisions",
    "slot_energies",
]

log = logging.getLogger(__name__)


@dataclass
class _Candidate:
    """A frame-marker candidate of the scan, while it is verified.

    ``need``: the samples its verification waits for; ``reach``: one past the furthest
    sample it has read (when ``done``, all it needed); ``lock``: its lock, once ``done``;
    ``claim``: once the first line marker was found where one of its headers puts it, the
    samples read up to then (the scan waits behind it: see ``PpmReceiver._scan_held``);
    ``lifted``: a line marker was missed after that (the claim no longer holds).
    """

    sample: int
    f_guess: float
    sigma2: float
    need: int = 0
    reach: int = 0
    done: bool = False
    lock: ImageLock | None = None
    claim: int | None = None
    lifted: bool = False


#: Periods of samples kept behind the scan and behind the end of the image being tracked:
#: a frame-marker candidate is verified from the header copy before it (two copies of
#: 9 periods back from the candidate), and a new scan starts where the last image ended.
LOOK_BACK_PERIODS: Final = 2 * HEADER_COPY_PERIODS + 6
#: Of the candidates that lock, those whose verification read at most this many periods
#: more than the one that read least are compared by time (see ``PpmReceiver._first_lock``):
#: a header copy read as the other moves what a candidate reads by 9 periods.
LOCK_SETTLE_PERIODS: Final = 2 * HEADER_COPY_PERIODS + 6


class PpmReceiver:
    """A push-based PPM image receiver (see :mod:`groundstation.receivers.stream`).

    Parameters
    ----------
    fs_hz : float
        Sample rate of the chunks it is fed (Hz), at least
        :data:`~signals.formats.ppm.MIN_FS_HZ`.
    first_sample : int
        Index in the recording of the first sample it is fed (0 unless it decodes a
        recording from its middle: see :mod:`~groundstation.receivers.ppm_decode`).
    scan_from : int, optional
        Where its scan for frame markers starts (``first_sample`` by default).
    backing : callable, optional
        ``backing(start, count)`` reads the samples fed again (a recording): the receiver
        then holds a bounded number of them (see
        :class:`~groundstation.receivers.ppm_sources.SampleBuffer`). The same results.

    Raises
    ------
    DecodeError
        The sample rate is too low for the 22 µs pulses.
    """

    def __init__(
        self,
        fs_hz: float,
        *,
        first_sample: int = 0,
        scan_from: int | None = None,
        backing: Callable[[int, int], np.ndarray] | None = None,
    ):
        if fs_hz < MIN_FS_HZ:
            raise DecodeError(
                f"sample rate {fs_hz:g} Hz is below the {MIN_FS_HZ:g} Hz a PPM decode needs"
            )
        self.fs_hz = float(fs_hz)
        self.buffer = SampleBuffer(self.fs_hz, first_sample, backing)
        self.tracker = LineTracker(self.buffer)
        self.acquirer = Acquirer(self.buffer, self.tracker)
        self.images: list[DecodedImage] = []
        self.warnings: list[str] = []
        #: After each image: (sample where the scan started again, warnings so far).
        self.image_ends: list[tuple[int, int]] = []
        start = int(first_sample if scan_from is None else scan_from)
        self._scan_from = start  # where the current scan started
        self._block = start  # start of the next block to scan
        self._scan_over = False  # the input ends before the next block
        self._candidates: list[_Candidate] = []  # in order of time
        self._tracking: ImageTracking | None = None
        self._over = False
        self._waiting_for = 0  # samples the stage that stopped last needs

    @property
    def samples_fed(self) -> int:
        """Samples fed so far."""
        return self.buffer.fed

    def feed(self, chunk: np.ndarray) -> list[Event]:
        """Take the next samples (complex64, any length, NaN/Inf as erasures).

        Returns the headers, lines and images these samples decided, in order.
        """
        self._check_open()
        self.buffer.append(chunk)
        return self._after_feed()

    def feed_from(self, count: int, fill: Callable[[np.ndarray], int]) -> list[Event]:
        """Like :meth:`feed`, the samples written by ``fill`` straight into the receiver's
        buffer: ``fill(out)`` writes up to ``count`` samples into ``out`` and returns how
        many (a file read with ``preadv``, without a copy)."""
        self._check_open()
        self.buffer.commit(int(fill(self.buffer.space(int(count)))))
        return self._after_feed()

    def _check_open(self) -> None:
        if self.buffer.ended:
            raise DecodeError("the PPM receiver was fed after the end of its input")

    def _after_feed(self) -> list[Event]:
        if self.buffer.fed < self._waiting_for:
            return []  # the stage that waits would stop again at the same place
        return self._advance()

    def end(self, *, report: bool = True) -> list[Event]:
        """The input is over: decode what the last samples hold, close a partial image.

        The warnings are logged unless ``report`` is False (the caller reports them)."""
        if self.buffer.ended:
            return []
        self.buffer.ended = True
        events = self._advance()
        if report:
            for message in self.warnings:
                log.warning(message)
        return events

    def decided_before(self) -> int:
        """A sample before which every image this receiver will report has started: the
        images ending there are all in :attr:`images` already."""
        starts = [self._block]
        if self._candidates:
            starts.append(min(c.sample for c in self._candidates))
        if self._tracking is not None:
            starts.append(math.floor(self._tracking.first_start))
        # A candidate's image may start at the header copy before it.
        return min(starts) - int(LOOK_BACK_PERIODS * self.buffer.period0)

    def look_back_samples(self) -> int:
        """Samples a stage may read behind where its scan starts."""
        return int(LOOK_BACK_PERIODS * self.buffer.period0) + 64

    def result(self) -> PpmDecodeResult:
        """The images so far, the sample ranges in none of them, erasures and warnings."""
        return make_result(self.images, self.buffer.fed, self.buffer.nonfinite, self.warnings)

    # ------------------------------------------------------------------ stages

    def _advance(self) -> list[Event]:
        """Run the stages while they have the samples they need."""
        events: list[Event] = []
        try:
            while not self._over and self._step(events):
                pass
        except NeedSamples as need:
            self._waiting_for = need.stop
        self.buffer.discard_before(self._look_back_from())
        return events

    def _look_back_from(self) -> int:
        """The oldest sample a stage may still read."""
        back = int(LOOK_BACK_PERIODS * self.buffer.period0)
        oldest = min([c.sample for c in self._candidates], default=self._block)
        tracking = self._tracking
        if tracking is not None and tracking.assembly.confirmed:
            # A believed image: the scan starts again where it ends, not before.
            oldest = int(min(tracking.resume_from, tracking.grid.time(tracking.period)))
        elif tracking is not None:  # its header periods are read again on the first step
            oldest = min(oldest, int(tracking.first_start))
        return oldest - back

    def _step(self, events: list[Event]) -> bool:
        """One stage: a line of the image tracked, or the candidates verified as far as
        the samples go and a lock taken, or a block scanned.

        False when nothing can be done before more samples come (:attr:`_waiting_for`
        says how many), or when the input has ended and nothing is left to do.
        """
        tracking = self._tracking
        if tracking is not None:
            more = tracking.step()
            events += tracking.assembly.take_events()
            if more:
                return True
            image = tracking.finish()
            events += tracking.assembly.take_events()
            self._tracking = None
            if image is not None:
                self._add_image(image)
                events.append(image)
                # The scan starts again after the image.
                self._scan_from = max(image.sample_start + image.sample_count, self._scan_from + 1)
                self._block = self._scan_from
                self._scan_over = False
                self._candidates.clear()
                self.acquirer.forget()
                self.image_ends.append((self._scan_from, len(self.warnings)))
            return True
        verified = self._verify()
        lock = self._first_lock()
        if lock is not None:
            self._candidates.remove(lock)
            self._tracking = ImageTracking(self.tracker, lock.lock)
            return True
        if self._scan_over:
            if not self._candidates:
                self._over = True
            return verified
        if self._scan_held():
            # the candidates that claim the next block decide first
            waiting = [c.need for c in self._candidates if not c.done]
            self._waiting_for = min(waiting, default=self.buffer.fed + 1)
            return verified
        try:
            block = self.acquirer.scan_block(self._block)
        except NeedSamples as need:
            # nothing more to do before the first of the samples waited for has come
            waiting = [c.need for c in self._candidates if not c.done]
            self._waiting_for = min([need.stop, *waiting])
            return verified
        if block is None:
            self._scan_over = True
            return True
        candidates, self._block = block
        self._candidates += [_Candidate(*c) for c in candidates]
        return True

    def _verify(self) -> bool:
        """Verify each candidate as far as the samples fed allow (in order of time); drop
        those found false. True when one was decided."""
        decided = False
        for c in self._candidates:
            if c.done or (c.need > self.buffer.fed and not self.buffer.ended):
                continue
            self.buffer.reach = 0
            self.acquirer.line_found_reach = None
            self.acquirer.line_missed_after = False
            try:
                c.lock = self.acquirer.acquire(c.sample, c.f_guess, c.sigma2)
                c.done = decided = True
            except NeedSamples as need:
                c.need = need.stop
            if c.claim is None and self.acquirer.line_found_reach is not None:
                # what it had read before, in earlier calls, counts as well
                c.claim = max(c.reach, self.acquirer.line_found_reach)
            c.lifted = c.lifted or self.acquirer.line_missed_after
            c.reach = max(c.reach, self.buffer.reach)
        self._candidates = [c for c in self._candidates if not c.done or c.lock is not None]
        return decided

    def _first_lock(self) -> _Candidate | None:
        """The lock to take, once it is settled.

        Candidates are verified side by side, so that one waiting for samples far ahead (a
        noise candidate whose false header places its line markers a minute away) does not
        hold up the image behind it. The first lock settled is the one whose verification
        read the fewest samples (R); of the locks that read at most
        :data:`LOCK_SETTLE_PERIODS` periods more, the earliest in time is taken (two
        candidates of one transmission, one of them reading a header copy as the other, read
        about as far: the earlier is right, as when candidates were verified one after the
        other). It is taken once no candidate still waiting and no block not yet scanned
        can lock within that reach: the same lock whatever the chunks. A candidate before
        it whose verification reads further is passed over: two transmissions never
        overlap, and an image's own candidate needs only its first lines.
        """
        locks = [c for c in self._candidates if c.done]
        if not locks:
            return None
        horizon = min(c.reach for c in locks) + LOCK_SETTLE_PERIODS * self.buffer.period0
        held = any(c.done and self._claims_next_block(c) for c in self._candidates)
        if not (self._scan_over or self._block > horizon or held):
            return None  # a block not yet scanned may hold a candidate that reads less
        if any(not c.done and c.need <= horizon for c in self._candidates):
            return None
        return min((c for c in locks if c.reach <= horizon), key=lambda c: c.sample)

    def _claims_next_block(self, c: _Candidate) -> bool:
        """Whether candidate ``c`` holds the scan before its next block: it found the first
        line marker where its header puts it, has missed none since, and that claim needed
        samples that the block reads as well."""
        return (
            c.claim is not None and not c.lifted and c.claim <= self.acquirer.scan_stop(self._block)
        )

    def _scan_held(self) -> bool:
        """Whether the next block waits for the candidates that claim it.

        A candidate that found the first line marker its header predicts is most likely
        the transmission, and the samples after it its image: scanning them would find its
        data pulses as candidates (about two a block) and verify them all. So the scan
        waits behind it while it finds each line marker it looks for: a lock ends the scan
        there (the image is tracked, and the scan starts again after it); a line marker
        missed, or the candidate found false, lets the scan go on from where it waited.
        The blocks that wait are those that read samples the claim needed, and the wait is
        decided once those samples have come (the claim is known by then), so the same
        blocks are scanned whatever the chunks; a wait only delays a block, except behind
        the lock taken.
        """
        stop = self.acquirer.scan_stop(self._block)
        if self.buffer.fed < stop and not self.buffer.ended:
            return False  # the block cannot be scanned yet anyway
        return any(self._claims_next_block(c) for c in self._candidates)

    def _add_image(self, image: DecodedImage) -> None:
        self.images.append(image)
        if image.truncated:
            self.warnings.append(
                f"recording ends inside image {image.image_id}: "
                f"{len(image.lines_missing)} line(s) missing"
            )
        if image.nonfinite_lines:
            self.warnings.append(
                f"image {image.image_id}: {len(image.nonfinite_lines)} line(s) hold "
                "non-finite samples, decoded as zeros"
            )


def decode_ppm(
    source: SampleSource,
    *,
    on_progress: Callable[[int], None] | None = None,
    chunk_samples: int = CHUNK_SAMPLES,
    threads: bool | None = None,
) -> PpmDecodeResult:
    """Decode every PPM image in ``source`` (a recording or :class:`ArraySource`).

    The source is fed to a :class:`PpmReceiver` ``chunk_samples`` at a time. A ``cf32_le``
    recording is read through :class:`Cf32FileSource`; any other source through its own
    ``read``. A data file that shrinks during the decode ends the input where it now ends:
    the images and lines decided before stay, with a warning.

    A file is read ahead by a thread; with ``threads=True`` a long recording is decoded
    from its middle as well by a second receiver in a thread (see
    :mod:`~groundstation.receivers.ppm_decode`); the result is the same, bit for bit.

    Parameters
    ----------
    source : SampleSource
        ``fs_hz``, ``n_samples`` and ``read(start, count)``.
    on_progress : callable, optional
        Called with the samples decoded so far (never fewer than the call before).
    chunk_samples : int
        Samples per chunk fed.
    threads : bool, optional
        True: read ahead and decode in two halves; False: one thread; None (default):
        read ahead only (two halves pay where the time is in the compiled kernels and the
        reads; with the candidates verified side by side it is mostly Python, and they
        measure 0.9 to 1.1 times one thread).
    """
    if getattr(source, "datatype", None) == "cf32_le" and hasattr(source, "data_path"):
        source = Cf32FileSource(
            source.data_path,
            source.n_samples,
            source.fs_hz,
            getattr(source, "data_offset_bytes", 0),
        )
    n = source.n_samples

    def backing(start: int, count: int, source: SampleSource = source) -> np.ndarray:
        return _read_or_nothing(source, start, count)

    receiver = PpmReceiver(source.fs_hz, backing=backing)
    halves = bool(threads)
    second = _second_half(source, receiver, chunk_samples, backing) if halves else None
    progress = Progress(on_progress, n)
    if threads is not False and isinstance(source, Cf32FileSource):
        chunks: Iterable[tuple[int, np.ndarray]] = ReadAhead(source.read_into, 0, n, chunk_samples)
    else:
        chunks = (
            (min(chunk_samples, n - start), _read_or_nothing(source, start, chunk_samples))
            for start in range(0, n, chunk_samples)
        )
    shrunk_at = None
    result = None
    try:
        for count, chunk in chunks:
            start = receiver.samples_fed
            known = len(receiver.images)
            receiver.feed(chunk)
            if chunk.size < count:
                shrunk_at = start + chunk.size
                break
            if second is None:
                progress(receiver.samples_fed)
                continue
            progress(receiver.samples_fed + second.receiver.samples_fed - second.first)
            joined = second.join(receiver, known)
            if joined is not None and second.wait(progress):
                result = second.joined_result(receiver, *joined)
                break
            if joined is not None or second.failed is not None:
                second.stop_now()  # it cannot be used: this receiver goes on alone
                second = None
    finally:
        if isinstance(chunks, ReadAhead):
            chunks.close()
        if second is not None and result is None:
            second.stop_now()
    if result is None:
        receiver.end(report=False)
        result = receiver.result()
    progress(n if shrunk_at is None else shrunk_at)
    if shrunk_at is not None:
        result.warnings.append(
            f"the data file shrank during the decode: samples from {shrunk_at} on were not read"
        )
    for message in result.warnings:
        log.warning(message)
    return result


def _read_or_nothing(source: SampleSource, start: int, count: int) -> np.ndarray:
    try:
        return source.read(start, count)
    except DataFileError:
        return np.zeros(0, np.complex64)


def _second_half(
    source: SampleSource,
    receiver: PpmReceiver,
    chunk_samples: int,
    backing: Callable[[int, int], np.ndarray],
) -> SecondHalf | None:
    """A receiver decoding the second half of a long recording in a thread, or None."""
    n = source.n_samples
    if n < SPLIT_MIN_SAMPLES:
        return None
    middle = (n // 2) // chunk_samples * chunk_samples
    back = -(-receiver.look_back_samples() // chunk_samples) * chunk_samples
    first = middle - back
    if first <= 0:
        return None
    return SecondHalf(
        PpmReceiver(source.fs_hz, first_sample=first, scan_from=middle, backing=backing),
        backing,
        first,
        n,
        chunk_samples,
    )
