"""What the receivers decide, as small typed records: one frame, one image line, one carrier
estimate, and what one band's decode produced.

Each receiver emits per-item records (:class:`DecodedFrame`, :class:`ImageLine` and
:class:`ImageHeader`, :class:`CarrierEstimate`) and an aggregate for its run
(:class:`TelemetryDecodeResult`, :class:`PpmDecodeResult`); a band decode wraps the aggregate
with the recording it came from in a band result (:class:`PpmBandResult`,
:class:`TelemetryBandResult`, :class:`CarrierBandResult`). The per-item records stand on their
own, so a receiver can hand them out one at a time as it decides them.

Every output file (``summary.json``, ``telemetry.csv``, ``telemetry.jsonl``, SigMF
annotations) is written from these types by :mod:`groundstation.outputs.records`; the session
scores and the report draws from the same types, never from files read back.

A session's records (:class:`SessionPlan`, :class:`BandOutcome`, :class:`CommandOutcome`,
:class:`RangeRateCheck`, :class:`SessionImage`, :class:`SessionResult`) hold what one contact
planned, sent and received; ``session.json`` and ``telemetry.csv`` are written from them
and the session report drawn from them.

The module sits at the top of the package, not inside :mod:`groundstation.receivers`, because
it is the contract between every stage after demodulation: receivers produce the records,
outputs serialise them, the session scores them and the report draws them. It imports only
the standard library and numpy, so a consumer of results never loads a receiver (numba, scipy).

Units are in the field names (``_hz``, ``_db``, ``_s``); sample positions are indices into the
recording (``sample_start``, ``sample_count``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:  # for the annotations only: the records stay free of the transmitter side
    from signals.formats.uplink import Command
    from signals.path.link_budget import LinkBudget

# ============================================================================ telemetry


@dataclass(frozen=True)
class DecodedFrame:
    """One received telemetry frame.

    Attributes
    ----------
    sample_start : int
        First sample at or after the start of the frame's first bit.
    time_utc : datetime
        UTC of the frame's first bit at the receiver.
    frame_counter : int
        Word 3 (mod 128).
    frame_type : int
        Word 4 (0 engineering, 1 science; other values after bit errors).
    parity_ok : bool
        True only if all 29 words pass odd parity, the type is known, the spare words
        are zero and ``undetected_error_prob`` ≤ 10⁻³ (a single parity bit per word
        cannot see two errors; the soft bits tell when two are likely).
    words : tuple of int
        The 32 8-bit words, parity bits included, after polarity correction.
    channels : dict
        Engineering value of each channel of the frame type (ICD §4 names).
    inverted : bool
        The sync word arrived inverted (every bit was inverted back). Bit starts fix the
        subcarrier's sign (ICD §4: sin starts positive at each bit), so this is the
        transmitter's inversion wherever the bit-start half cycle is resolved (the
        higher rates); at a few bit/s over few frames it is the ambiguity of BPSK.
    quality_db : float
        Soft quality: 10·log10(mean(|b|)² / var(|b|)) of the frame's soft bits (dB);
        about 2.4 dB for pure noise, ≈ Eb/N0 + 3 dB at high SNR.
    first_bit_sample : float
        Fractional sample position of the first bit's start.
    sample_count : int
        Samples spanned by the frame.
    word_parity : tuple of bool
        Parity result of each data word 3-31.
    sync_errors : int
        Bits of the (polarity-corrected) sync word received wrong.
    ebn0_db : float
        Eb/N0 estimated from this frame's 256 soft bits (M2M4 moments, dB; coarse).
    undetected_error_prob : float
        Probability, from the soft bits, that some word holds an even number of bit
        errors (which parity cannot see).
    """

    sample_start: int
    time_utc: datetime
    frame_counter: int
    frame_type: int
    parity_ok: bool
    words: tuple[int, ...]
    channels: dict[str, float | int]
    inverted: bool
    quality_db: float
    first_bit_sample: float = 0.0
    sample_count: int = 0
    word_parity: tuple[bool, ...] = ()
    sync_errors: int = 0
    undetected_error_prob: float = 0.0
    ebn0_db: float = math.nan

    def __post_init__(self) -> None:
        # parity_ok is a bool everywhere it travels (CSV, JSONL, annotations, the session).
        object.__setattr__(self, "parity_ok", bool(self.parity_ok))
        object.__setattr__(self, "inverted", bool(self.inverted))


@dataclass(frozen=True)
class TruncatedFrame:
    """A frame the recording cuts off (reported, not decoded).

    Attributes
    ----------
    sample_start : int
        First sample of the frame's first bit.
    bits_received : int
        Whole bits received before the recording ends.
    inverted : bool
        Polarity of its sync word (or of the frames before it).
    """

    sample_start: int
    bits_received: int
    inverted: bool


@dataclass
class TelemetryDecodeResult:
    """What the telemetry receiver found in one recording.

    Attributes
    ----------
    frames : list of DecodedFrame
        Every frame found, in time order, parity failures included.
    cn0_dbhz : float
        Estimated C/N0 of the whole signal (dB-Hz).
    ebn0_db : float
        Estimated Eb/N0 from the frames' soft bits (dB); NaN without frames.
    carrier_offset_hz : float
        Residual carrier offset at the first sample (Hz, + above the tuned frequency).
    carrier_rate_hz_per_s : float
        Rate of the residual offset (Hz/s).
    truncated_frames : list of TruncatedFrame
        Frames cut off by the end of the recording.
    warnings : list of str
        One-line messages for the user.
    bit_rate_bps : float
        Bit rate decoded (bit/s).
    fs_hz : float
        Sample rate (Hz).
    n_samples : int
        Samples processed.
    clock_offset : float
        Estimated on-board clock error ε (intervals × (1 + ε)), dimensionless.
    message : str
        One line describing the outcome.
    """

    frames: list[DecodedFrame]
    cn0_dbhz: float
    ebn0_db: float
    carrier_offset_hz: float
    carrier_rate_hz_per_s: float
    truncated_frames: list[TruncatedFrame] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bit_rate_bps: float = 0.0
    fs_hz: float = 0.0
    n_samples: int = 0
    clock_offset: float = 0.0
    message: str = ""

    @property
    def parity_failures(self) -> int:
        """Number of frames that are not ``parity_ok``."""
        return sum(not f.parity_ok for f in self.frames)


# ============================================================================ PPM images


@dataclass(frozen=True, eq=False)
class ImageLine:
    """One received line of a PPM image.

    Attributes
    ----------
    image_id : int
        Image the line belongs to (from its header).
    line : int
        Line number, after checking the number read against its neighbours.
    grey : ndarray of int16, shape (pixels,)
        Grey levels 0..63.
    snr_db : float
        Es/N0 estimated over the line (dB), NaN when the decided pulses do not stand above
        the noise.
    sample_start, sample_count : int
        Samples spanned, line marker to the end of the last pixel.
    line_number_corrected : bool
        The number read contradicted the neighbouring lines and was corrected.
    """

    image_id: int
    line: int
    grey: np.ndarray
    snr_db: float
    sample_start: int
    sample_count: int
    line_number_corrected: bool = False


@dataclass(frozen=True)
class ImageHeader:
    """The header of a received PPM transmission (ICD §3).

    Attributes
    ----------
    image_id, lines, pixels, mode : int
        The header's fields.
    header_copy : int
        Which copy was read: 1 or 2, 0 when the two were added or the header was taken
        from a short list of runner-up levels.
    sample_start, sample_count : int
        Samples spanned, from the first frame marker to the first line.
    """

    image_id: int
    lines: int
    pixels: int
    mode: int
    header_copy: int
    sample_start: int
    sample_count: int


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """One received transmission of an image.

    Attributes
    ----------
    image_id, lines, pixels, mode : int
        From the header.
    grey : ndarray of int16, shape (lines, pixels)
        Grey levels 0..63; 0 on lines not received.
    received : ndarray of bool, shape (lines,)
        Lines received.
    lines_missing : list of int
        Lines the mode sends that were not received (a survey expects lines 0, k, 2k, ...).
    snr_db : float
        Es/N0 estimate over the image (dB), from the decided slot vs the others.
    line_snr_db : ndarray, shape (lines,)
        Es/N0 estimate per line (dB), NaN where not received.
    sample_start, sample_count : int
        Samples spanned, from the first frame marker to the end of the last line.
    header : ImageHeader or None
        The header as received.
    received_lines : tuple of ImageLine
        Every line received, in order of reception.
    carrier_offset_hz : float
        Residual carrier estimated at the start (Hz).
    clock_ppm : float
        Period length relative to nominal at the start, ppm (clock and Doppler together).
    corrected_lines : list of int
        Lines whose received line number contradicted its neighbours and was corrected.
    nonfinite_lines : list of int
        Lines that held NaN/Inf samples (decoded with those samples as zeros).
    truncated : bool
        The recording ends inside the image.
    """

    image_id: int
    lines: int
    pixels: int
    mode: int
    grey: np.ndarray
    received: np.ndarray
    lines_missing: list[int]
    snr_db: float
    line_snr_db: np.ndarray
    sample_start: int
    sample_count: int
    header: ImageHeader | None = None
    received_lines: tuple[ImageLine, ...] = ()
    carrier_offset_hz: float = 0.0
    clock_ppm: float = 0.0
    corrected_lines: list[int] = field(default_factory=list)
    nonfinite_lines: list[int] = field(default_factory=list)
    truncated: bool = False

    @property
    def lines_received(self) -> int:
        """Number of lines received."""
        return int(np.count_nonzero(self.received))


@dataclass
class PpmDecodeResult:
    """What a PPM decode found and what it skipped.

    Attributes
    ----------
    images : list of DecodedImage
        In order of transmission.
    skipped : list of (int, int)
        Sample ranges ``[start, stop)`` in no decoded image.
    nonfinite_samples : int
        NaN/Inf samples met in the samples examined.
    warnings : list of str
        One line each (truncation, lines lost to non-finite samples, ...).
    """

    images: list[DecodedImage]
    skipped: list[tuple[int, int]]
    nonfinite_samples: int
    warnings: list[str]


# ============================================================================ carrier


@dataclass(frozen=True)
class CarrierEstimate:
    """A received carrier.

    Attributes
    ----------
    frequency_offset_hz : float
        Offset from the tuned frequency at ``reference_time_s`` (Hz).
    frequency_hz : float
        Absolute received frequency at ``reference_time_s`` (Hz) = tuned + offset.
    rate_hz_per_s : float
        Frequency rate (Hz/s).
    cn0_dbhz : float
        Estimated carrier-to-noise density (dB-Hz); inf without noise.
    reference_time_s : float
        Time after sample 0 at which the frequency is given (s): the middle of the record.
    offset_at_start_hz : float
        Offset at sample 0 (Hz).
    frequency_std_hz, rate_std_hz_per_s : float
        Cramér-Rao standard deviations for the estimated C/N0 and length (Hz, Hz/s).
    detection_snr_db : float
        Peak of the de-chirped spectrum over the mean noise bin (dB).
    tuned_frequency_hz : float
        Frequency the receiver was tuned to (Hz).
    fs_hz : float
        Sample rate analysed (Hz).
    n_samples : int
        Samples analysed.
    """

    frequency_offset_hz: float
    frequency_hz: float
    rate_hz_per_s: float
    cn0_dbhz: float
    reference_time_s: float
    offset_at_start_hz: float
    frequency_std_hz: float
    rate_std_hz_per_s: float
    detection_snr_db: float
    tuned_frequency_hz: float
    fs_hz: float
    n_samples: int


# ============================================================================ band results


@dataclass(frozen=True)
class RecordingInfo:
    """The recording a band result came from.

    Attributes
    ----------
    name : str
        Recording name (``NAME`` of ``NAME.sigmf-meta``).
    band : str
        Band id (ICD §1), e.g. ``32cm-tlm``.
    fs_hz : float
        Sample rate (Hz).
    n_samples : int
        Samples in the recording.
    start_utc : datetime
        UTC of sample 0.
    meta_name : str
        File name of the metadata (the annotated copy in the output folder has the same).
    """

    name: str
    band: str
    fs_hz: float
    n_samples: int
    start_utc: datetime
    meta_name: str


@dataclass(frozen=True)
class PpmBandResult:
    """A decoded 5 cm PPM recording.

    Attributes
    ----------
    recording : RecordingInfo
        Where the samples came from.
    decode : PpmDecodeResult
        The receiver's images and what it skipped.
    image_names : tuple of str
        File stem of each image in the output folder (``image_<id>``, ``image_<id>_2``, ...),
        parallel to ``decode.images``.
    """

    kind: ClassVar[str] = "ppm"
    recording: RecordingInfo
    decode: PpmDecodeResult
    image_names: tuple[str, ...]

    @property
    def images(self) -> list[DecodedImage]:
        """The decoded images, in order of transmission."""
        return self.decode.images

    @property
    def lines_received(self) -> int:
        """Lines received over every image."""
        return sum(image.lines_received for image in self.decode.images)

    @property
    def warnings(self) -> list[str]:
        """One-line messages for the user."""
        return self.decode.warnings


@dataclass(frozen=True)
class TelemetryBandResult:
    """A decoded 32 cm or 1.6 m telemetry recording.

    Attributes
    ----------
    recording : RecordingInfo
        Where the samples came from.
    decode : TelemetryDecodeResult
        The receiver's frames and link estimates.
    outputs : tuple of str
        Files written into the output folder.
    """

    kind: ClassVar[str] = "telemetry"
    recording: RecordingInfo
    decode: TelemetryDecodeResult
    outputs: tuple[str, ...] = ()

    @property
    def frames(self) -> list[DecodedFrame]:
        """Every frame found, in time order."""
        return self.decode.frames

    @property
    def frames_ok(self) -> int:
        """Frames that pass parity."""
        return len(self.decode.frames) - self.decode.parity_failures

    @property
    def warnings(self) -> list[str]:
        """One-line messages for the user."""
        return self.decode.warnings


@dataclass(frozen=True)
class CarrierBandResult:
    """A measured coherent-carrier recording (ICD §6) and the range rate it gives.

    Attributes
    ----------
    recording : RecordingInfo
        Where the samples came from.
    estimate : CarrierEstimate
        The carrier, in the recording's own terms (times from its sample 0).
    nonfinite_samples : int
        NaN/Inf samples replaced by 0.
    decimation : int
        Block-mean reduction D applied before the estimate.
    reference_utc : datetime
        UTC at which ``estimate.frequency_hz`` holds.
    coherent_mode : str
        ``one-way`` or ``two-way``.
    range_rate_km_s : float
        The best range rate: two-way when available, else one-way (km/s); for the uplink
        band the station's transmitter is the reference.
    range_rate_std_km_s : float or None
        Its standard deviation (uplink band only; km/s).
    range_rate_one_way_km_s, range_rate_one_way_uncertainty_km_s : float or None
        One-way range rate and its ± bound from the on-board oscillator (downlink; km/s).
    uplink_frequency_hz : float or None
        Uplink frequency of a two-way measurement (Hz).
    range_rate_two_way_km_s, range_rate_two_way_std_km_s : float or None
        Two-way range rate and its standard deviation (km/s).
    predicted_range_rate_km_s : float or None
        The geometry's range rate at ``reference_utc`` (km/s), None outside the flight.
    spectrum_png : str
        The spectrum plot, relative to the output folder.
    warnings : list of str
        One-line messages for the user (a data file that shrank while it was read).
    """

    kind: ClassVar[str] = "carrier"
    recording: RecordingInfo
    estimate: CarrierEstimate
    nonfinite_samples: int
    decimation: int
    reference_utc: datetime
    coherent_mode: str
    range_rate_km_s: float
    range_rate_std_km_s: float | None = None
    range_rate_one_way_km_s: float | None = None
    range_rate_one_way_uncertainty_km_s: float | None = None
    uplink_frequency_hz: float | None = None
    range_rate_two_way_km_s: float | None = None
    range_rate_two_way_std_km_s: float | None = None
    predicted_range_rate_km_s: float | None = None
    spectrum_png: str = "spectrum.png"
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SessionFrame:
    """A telemetry frame of a session, with the band it came down on.

    Attributes
    ----------
    band : str
        Band id (ICD §1): ``32cm-tlm`` or ``1.6m-tlm``.
    frame : DecodedFrame
        The frame as the receiver decided it.
    """

    band: str
    frame: DecodedFrame


#: What :func:`groundstation.decode.decode_recording` returns.
BandResult = PpmBandResult | TelemetryBandResult | CarrierBandResult


# ============================================================================ session


@dataclass(frozen=True)
class SessionPlan:
    """Everything a session decides before the first command is sent.

    Attributes
    ----------
    start_utc : datetime
        When the first uplink bit leaves the station.
    scenario : str
        ``historical`` or ``nominal``.
    number : int or None
        Session number in the replay's schedule; None for a time asked for.
    kind : str
        How the session was called (``automatic``, ``ground-commanded``, ``requested``, ...).
    range_km, range_rate_km_s, light_time_s, elevation_deg, sun_distance_au : float
        The geometry at the start (km, km/s, s, degrees at Yevpatoria, AU).
    days_since_launch : float
        Days from the launch to the start (d).
    dish_pointed : bool
        The dish points at Earth (the 32 cm, 8 cm and 5 cm bands can close).
    attitude_mode : int
        ICD §4 attitude mode at the start.
    bit_rate_bps : int
        The telemetry rate commanded (bit/s).
    main_band : str
        The telemetry band the rate was chosen for.
    budgets : dict of str to LinkBudget
        Link budget of each downlink and of the command uplink ``1.6m-cmd`` (ICD §7).
    commands : tuple of Command
        The commands to send (ICD §5).
    images : tuple of int
        Ids of the images asked for.
    two_way : bool
        The downlink is coherent with the uplink.
    """

    start_utc: datetime
    scenario: str
    number: int | None
    kind: str
    range_km: float
    range_rate_km_s: float
    light_time_s: float
    elevation_deg: float
    sun_distance_au: float
    days_since_launch: float
    dish_pointed: bool
    attitude_mode: int
    bit_rate_bps: int
    main_band: str
    budgets: dict[str, LinkBudget]
    commands: tuple[Command, ...]
    images: tuple[int, ...]
    two_way: bool


@dataclass
class BandOutcome:
    """What one downlink of a session delivered, beside its link budget.

    Attributes
    ----------
    band_id : str
        ICD §1 band id.
    budget : LinkBudget
        The band's link budget at the session (ICD §7).
    transmitted : bool
        The spacecraft transmitted on the band.
    recording : str or None
        The recording, relative to the session folder (kept with ``--record`` only).
    decoded : BandResult or None
        What the band's decoder found; None when nothing was decoded.
    lock_time_s : float or None
        First frame or image in the recording (s from its start).
    frames_decoded, frames_lost, frames_expected : int
        Telemetry frames that passed parity, sent but not decoded, and sent.
    lines_expected, lines_decoded, lines_lost : int
        Image lines sent, received and lost.
    error : str or None
        Why the decoder found nothing.
    """

    band_id: str
    budget: LinkBudget
    transmitted: bool = False
    recording: str | None = None
    decoded: BandResult | None = None
    lock_time_s: float | None = None
    frames_decoded: int = 0
    frames_lost: int = 0
    frames_expected: int = 0
    lines_expected: int = 0
    lines_decoded: int = 0
    lines_lost: int = 0
    error: str | None = None


@dataclass(frozen=True)
class CommandOutcome:
    """One command of a session: when it left, when the spacecraft acted on it, and whether
    telemetry shows it (ICD §5, word 17 ``command_count``).

    Attributes
    ----------
    opcode : str
        Opcode name (``START_SESSION``, ...).
    argument : int
        The command's argument byte.
    description : str
        The command in words.
    sent_utc : datetime
        When its first bit left the station.
    received_utc : datetime or None
        When the spacecraft acted on it; None when it did not.
    acknowledged : bool or None
        Decoded telemetry shows the command count reaching it; None when no telemetry
        followed to tell.
    """

    opcode: str
    argument: int
    description: str
    sent_utc: datetime
    received_utc: datetime | None
    acknowledged: bool | None

    @property
    def accepted(self) -> bool:
        """The spacecraft acted on the command."""
        return self.received_utc is not None


@dataclass(frozen=True)
class RangeRateCheck:
    """The range rate measured on the coherent 8 cm carrier against the geometry (ICD §6).

    Attributes
    ----------
    mode : str
        ``two-way`` (coherent with the uplink) or ``one-way``.
    measured_range_rate_km_s, geometry_range_rate_km_s, predicted_range_rate_km_s : float
        From the carrier's Doppler, from the trajectory, and the station's prediction (km/s).
    error_m_s : float
        Measured minus geometry (m/s).
    carrier_offset_hz : float
        The carrier's offset from the tuned frequency (Hz).
    cn0_dbhz : float
        The carrier's C/N0 (dB-Hz).
    """

    mode: str
    measured_range_rate_km_s: float
    geometry_range_rate_km_s: float
    predicted_range_rate_km_s: float
    error_m_s: float
    carrier_offset_hz: float
    cn0_dbhz: float


@dataclass(frozen=True)
class SessionImage:
    """A picture decoded in a session, with its file name stem and the recording's rate.

    Attributes
    ----------
    image : DecodedImage
        The image as the PPM receiver decided it.
    name : str
        File stem (``image_1``); the session folder holds ``images/<name>.png``.
    fs_hz : float
        Sample rate of the recording it came from (Hz).
    """

    image: DecodedImage
    name: str
    fs_hz: float


@dataclass
class SessionResult:
    """The outcome of one session: the plan, each band, the commands, the verdict.

    ``session.json`` is written from it by :func:`groundstation.outputs.records.session_record`
    and the report drawn from it; neither reads the other back.

    Attributes
    ----------
    plan : SessionPlan
        What was decided before the session.
    outdir : Path or None
        The session folder; None when nothing is kept.
    bands : dict of str to BandOutcome
        Each downlink, in the order of the band table.
    commands : list of CommandOutcome
        The commands of the plan, in the order sent.
    spacecraft_log : list of str
        What the spacecraft did, in its own words.
    range_rate_check : RangeRateCheck or None
        The coherent carrier's range rate; None when no carrier was measured.
    images : list of SessionImage
        The pictures decoded.
    contact : bool
        The verdict (:func:`groundstation.session.score.made_contact`, its one definition).
    elapsed_s : float
        Wall-clock time of the session's emulation (s).
    waterfalls : dict of str to Waterfall
        Waterfalls of the recordings, by band (drawn in the report).
    end_command : CommandOutcome or None
        The end-of-session command, sent once the downlinks are in.
    """

    plan: SessionPlan
    outdir: Path | None
    bands: dict[str, BandOutcome]
    commands: list[CommandOutcome]
    spacecraft_log: list[str]
    range_rate_check: RangeRateCheck | None
    images: list[SessionImage]
    contact: bool
    elapsed_s: float
    waterfalls: dict[str, Any] = field(default_factory=dict)
    end_command: CommandOutcome | None = None

    @property
    def frames(self) -> list[SessionFrame]:
        """The telemetry frames of both telemetry bands, in time order, each with its band."""
        frames = [
            SessionFrame(band_id, frame)
            for band_id in ("32cm-tlm", "1.6m-tlm")
            if band_id in self.bands
            and isinstance(decoded := self.bands[band_id].decoded, TelemetryBandResult)
            for frame in decoded.frames
        ]
        return sorted(frames, key=lambda f: f.frame.time_utc)

    @property
    def all_commands(self) -> list[CommandOutcome]:
        """Every command sent, the end-of-session command last."""
        return self.commands + ([self.end_command] if self.end_command is not None else [])
