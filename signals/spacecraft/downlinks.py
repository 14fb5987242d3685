"""What the spacecraft transmits on each downlink band, as the station receives it.

One generator for every command that makes a downlink (``groundstation synth ppm|tlm|carrier``,
``contact``, ``mission``): a band's options in, a :class:`Downlink` out. A downlink knows
its sample rate, the UTC of its first sample at the station, the station's tuning (nominal
carrier plus the Doppler the station predicts), and the truth of what was sent (frames,
images, carrier plan); :meth:`Downlink.chunks` then generates the samples through the path
and the channel chunk by chunk, as the modulators do, so that a recording (or a live
transmitter) never holds the whole signal.

In: one band's options (:class:`TelemetryOptions`, :class:`CarrierOptions`,
:class:`PpmOptions`), the flight's channels (telemetry) and a random generator. Out: a
:class:`Downlink`, through :func:`telemetry_downlink`, :func:`carrier_downlink` or
:func:`ppm_downlink`. The ``synth`` commands fill the options from the command line; one
band of a session (:func:`signals.spacecraft.session_downlinks.session_downlink`) fills
them from the spacecraft's plan and the session's link, drawing the impairments.

Telemetry frames carry the channels of the flight at the instant each frame leaves the
spacecraft: one light time before it reaches the station, with the bit clock's error
included, so that ``synth tlm`` and ``contact`` at the same instant carry the same values.

Streaming (a live transmitter): :meth:`Downlink.stream` yields the samples in complex64
chunks of the length asked for (the last shorter), generated as they are asked for and the
same samples, byte for byte, as :meth:`Downlink.samples` (the whole array) whatever the
chunk length; :attr:`Downlink.facts` is what both ends of a stream agree on out of band
(ICD §8: sample format, rate, band and tuning, start time)::

    rng = np.random.default_rng(7)
    flight = FlightModel("historical", rng)
    options = TelemetryOptions(start_utc=datetime(1962, 11, 4, 2, 17, tzinfo=UTC),
                               bit_rate_bps=64, cn0_dbhz=45.0)
    downlink = telemetry_downlink(options, flight.channels_at, rng)
    facts = downlink.facts          # StreamFacts: fs_hz, tuned_hz, start_utc, datatype, ...
    for chunk in downlink.stream(4096):   # complex64, 4096 samples (the last shorter)
        socket.send(chunk.tobytes())      # cf32_le

A downlink draws its noise from the generator it was made with as it streams: iterate it
once (make it again, from the same seed, for the same samples).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np

from signals.bands import band
from signals.dsp import rechunk
from signals.errors import ConfigError
from signals.formats.tlm import (
    COUNTER_MODULUS,
    DEFAULT_CARRIER_S,
    FRAME_BITS,
    MAX_CARRIER_OFFSET_HZ,
    FrameType,
)
from signals.formats.tlm_frames import frame_from_channels
from signals.mission import LAUNCH_UTC
from signals.modulators.carrier import CarrierSignal, CoherentMode, downlink_frequencies
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap
from signals.modulators.tlm import TelemetryTransmission
from signals.spacecraft.craft import CARRIER_BAND, PPM_BAND, TELEMETRY_BANDS

#: Channels of the flight at an instant (``FlightModel.channels_at``, ``Spacecraft.channels_at``).
ChannelSource = Callable[[datetime], Mapping[str, float | int]]

SAMPLE_DATATYPE: Final[str] = "cf32_le"
"""SigMF datatype of the samples a downlink yields (complex64: float32 I and Q, little-endian)."""
TELEMETRY_CHUNK_SAMPLES: Final[int] = 1 << 18
DEFAULT_TELEMETRY_FRAMES: Final[int] = 10
"""Frames of a telemetry downlink given neither a frame count nor a duration."""
_MODULATOR_OPTIONS: Final[tuple[str, ...]] = (
    "fs_hz",
    "bit_rate_bps",
    "carrier_s",
    "tail_s",
    "ebn0_db",
    "cn0_dbhz",
    "carrier_offset_hz",
    "carrier_rate_hz_per_s",
    "carrier_phase_rad",
    "phase_noise_rad_per_sqrt_s",
    "clock_offset",
    "invert",
)
"""The :class:`TelemetryOptions` that :class:`~signals.modulators.tlm.TelemetryTransmission`
takes as they are."""


@dataclass(frozen=True)
class StreamFacts:
    """A downlink's stream as both ends agree on it out of band (ICD §8), and as a
    recording's metadata states it (ICD §2).

    Attributes
    ----------
    band_id : str
        ICD §1 band id.
    fs_hz : float
        Complex sample rate (Hz).
    tuned_hz : float
        The station's tuning, the centre of the baseband: nominal carrier plus predicted
        Doppler (Hz).
    nominal_hz : float
        The band's nominal carrier (Hz).
    start_utc : datetime
        UTC of sample 0 at the station.
    n_samples : int
        Length of the stream (samples).
    bit_rate_bps : float or None
        Telemetry bit rate (telemetry bands only).
    coherent_mode : str or None
        ``one-way`` or ``two-way`` (8 cm carrier only).
    uplink_hz : float or None
        The station's uplink frequency in two-way mode (Hz).
    datatype : str
        SigMF datatype of the samples: ``cf32_le`` (numpy complex64).
    """

    band_id: str
    fs_hz: float
    tuned_hz: float
    nominal_hz: float
    start_utc: datetime
    n_samples: int
    bit_rate_bps: float | None = None
    coherent_mode: str | None = None
    uplink_hz: float | None = None
    datatype: str = SAMPLE_DATATYPE

    @property
    def duration_s(self) -> float:
        """Length of the stream (s)."""
        return self.n_samples / self.fs_hz


@dataclass(frozen=True, kw_only=True)
class Downlink(StreamFacts):
    """One band's transmission as the station receives it: its stream's facts (the
    attributes of :class:`StreamFacts`: band, sample rate, tuning, start, length, bit rate,
    coherent mode) and what makes and describes its samples.

    Attributes
    ----------
    description : str
        One line for the recording's metadata.
    truth : dict
        What was sent, JSON-ready (the modulator's truth plus the band and tuning).
    generate : callable
        Makes the iterator of :meth:`chunks` (called once per iteration).
    frames_sent : int
        Telemetry frames sent (telemetry bands only).
    """

    description: str
    truth: dict[str, Any]
    generate: Callable[[], Iterator[np.ndarray]] = field(repr=False, compare=False)
    frames_sent: int = 0

    def chunks(self) -> Iterator[np.ndarray]:
        """The samples as complex64 chunks of the modulator's own length, generated as they
        are asked for.

        The noise comes from the generator the downlink was made with: iterate once.
        """
        return self.generate()

    def stream(self, chunk_samples: int) -> Iterator[np.ndarray]:
        """The samples as complex64 chunks of ``chunk_samples`` each (the last shorter).

        The chunks are cut from :meth:`chunks`, so they hold the same samples, byte for
        byte, as :meth:`samples` whatever ``chunk_samples`` is; memory stays bounded (one
        modulator block and one chunk at a time) however long the downlink. Like
        :meth:`chunks`, iterate once.

        Parameters
        ----------
        chunk_samples : int
            Complex samples per chunk, at least 1.

        Yields
        ------
        numpy.ndarray of complex64
            The next ``chunk_samples`` samples, a new array each time.

        Raises
        ------
        ValueError
            ``chunk_samples`` below 1.
        """
        if chunk_samples < 1:
            raise ValueError(f"chunk_samples must be at least 1, got {chunk_samples}")
        return rechunk(self.chunks(), chunk_samples)

    def samples(self) -> np.ndarray:
        """The whole downlink as one complex64 array (short downlinks: tests, fixtures)."""
        return np.concatenate([*self.chunks(), np.zeros(0, np.complex64)])

    @property
    def facts(self) -> StreamFacts:
        """What a receiver of this downlink's stream must be told out of band (ICD §8): the
        :class:`StreamFacts` part of this record."""
        return StreamFacts(**{f.name: getattr(self, f.name) for f in fields(StreamFacts)})


def _tuned_hz(band_id: str, start_utc: datetime) -> float:
    """Nominal carrier plus the Doppler the station predicts at ``start_utc`` (Hz)."""
    from signals.path.geometry import get_trajectory

    return band(band_id).carrier_hz + float(get_trajectory().doppler_hz(band_id, start_utc))


def _downlink(truth: dict[str, Any], **values: Any) -> Downlink:
    """A :class:`Downlink` of ``values`` whose truth also names the band, the start and the
    tuning."""
    band_id = values["band_id"]
    nominal_hz = band(band_id).carrier_hz
    more = {
        "band": band_id,
        "start_utc": values["start_utc"],
        "tuned_frequency_hz": values["tuned_hz"],
        "nominal_frequency_hz": nominal_hz,
    }
    return Downlink(truth={**truth, **more}, nominal_hz=nominal_hz, **values)


# ------------------------------------------------------------------------------ telemetry


@dataclass(frozen=True)
class TelemetryOptions:
    """One telemetry downlink (ICD §4).

    Attributes
    ----------
    start_utc : datetime
        UTC of sample 0 at the station.
    band_id : str
        ``32cm-tlm`` or ``1.6m-tlm``.
    bit_rate_bps : float
        Bit rate (bit/s), one of ICD §4.
    light_time_s : float
        One-way light time (s): frames are sampled this much before they arrive.
    n_frames : int, optional
        Frames to send; default every frame that starts at least one bit before the end
        of ``duration_s`` (the last may be cut off).
    duration_s : float, optional
        Recording length (s); default the carrier, the frames and ``tail_s``; with neither
        this nor ``n_frames``, the carrier plus 10 whole frames.
    carrier_s, tail_s : float
        Unmodulated carrier before the first and after the last frame (s).
    ebn0_db, cn0_dbhz : float, optional
        Noise level; neither gives a noiseless signal.
    carrier_offset_hz, carrier_rate_hz_per_s, carrier_phase_rad : float
        Residual carrier offset (Hz) and rate (Hz/s) at sample 0, its phase (rad).
    phase_noise_rad_per_sqrt_s : float
        Oscillator phase noise (rad/√s).
    clock_offset : float
        On-board clock error ε (intervals × (1 + ε)).
    invert : bool
        Every bit inverted.
    fs_hz : float
        Sample rate (Hz).
    antenna_power_gain_s : callable, optional
        The transmitting antenna's power gain towards Earth (mean 1) at spacecraft times
        given in seconds since launch (an array): the 1.6 m antenna of a spinning craft.
    """

    start_utc: datetime
    band_id: str = "32cm-tlm"
    bit_rate_bps: float = 64.0
    light_time_s: float = 0.0
    n_frames: int | None = None
    duration_s: float | None = None
    carrier_s: float = DEFAULT_CARRIER_S
    tail_s: float = 0.0
    ebn0_db: float | None = None
    cn0_dbhz: float | None = None
    carrier_offset_hz: float = 0.0
    carrier_rate_hz_per_s: float = 0.0
    carrier_phase_rad: float = 0.0
    phase_noise_rad_per_sqrt_s: float = 0.0
    clock_offset: float = 0.0
    invert: bool = False
    fs_hz: float = 8000.0
    antenna_power_gain_s: Callable[[np.ndarray], np.ndarray] | None = None


def telemetry_downlink(
    options: TelemetryOptions, channels_at: ChannelSource, rng: np.random.Generator
) -> Downlink:
    """The telemetry downlink ``options`` describe, its frames filled by ``channels_at``.

    Parameters
    ----------
    options : TelemetryOptions
        The band, rate, timing and channel.
    channels_at : callable
        The flight's ICD §4 channels at a UTC instant.
    rng : numpy.random.Generator
        Noise and phase noise of the samples.

    Raises
    ------
    ConfigError
        Not a telemetry band, bad durations, or a residual offset beyond ±2 kHz.
    """
    o = options
    if o.band_id not in TELEMETRY_BANDS:
        raise ConfigError(f"band {o.band_id} is not a telemetry band")
    frame_s = FRAME_BITS / o.bit_rate_bps * (1.0 + o.clock_offset)
    duration_s = o.duration_s
    n_frames = o.n_frames
    if duration_s is None and n_frames is None:
        duration_s = o.carrier_s + DEFAULT_TELEMETRY_FRAMES * frame_s
    if duration_s is not None:
        if duration_s <= o.carrier_s:
            raise ConfigError(f"duration {duration_s:g} s leaves no time after the carrier")
        if n_frames is None:  # every frame that starts at least one bit before the end
            n_frames = math.ceil((duration_s - o.carrier_s) / frame_s - 1.0 / FRAME_BITS)
    assert n_frames is not None
    end_s = duration_s if duration_s is not None else o.carrier_s + n_frames * frame_s + o.tail_s
    end_offset_hz = o.carrier_offset_hz + o.carrier_rate_hz_per_s * end_s
    if max(abs(o.carrier_offset_hz), abs(end_offset_hz)) > MAX_CARRIER_OFFSET_HZ:
        raise ConfigError(
            f"residual carrier reaches {end_offset_hz:+.0f} Hz; "
            f"ICD §4 allows ±{MAX_CARRIER_OFFSET_HZ:.0f} Hz"
        )
    # The counter counts nominal frame periods since launch (the same on both bands); the
    # frames themselves leave at the pace of the on-board clock.
    first_bit_utc = o.start_utc + timedelta(seconds=o.carrier_s - o.light_time_s)
    nominal_frame_s = FRAME_BITS / o.bit_rate_bps
    first_counter = int((first_bit_utc - LAUNCH_UTC).total_seconds() // nominal_frame_s)
    frames = []
    for k in range(n_frames):
        counter = first_counter + k
        frames.append(
            frame_from_channels(
                counter % COUNTER_MODULUS,
                FrameType(counter % 2),
                channels_at(first_bit_utc + timedelta(seconds=k * frame_s)),
            )
        )
    transmission = TelemetryTransmission(
        frames,
        rng=rng,
        duration_s=duration_s,
        power_gain=_power_gain_at_recording_time(o),
        **{name: getattr(o, name) for name in _MODULATOR_OPTIONS},
    )
    return _downlink(
        {
            **transmission.truth(),
            "light_time_s": o.light_time_s,
            "ebn0_db": o.ebn0_db,
            "cn0_dbhz": o.cn0_dbhz,
        },
        band_id=o.band_id,
        start_utc=o.start_utc,
        fs_hz=o.fs_hz,
        tuned_hz=_tuned_hz(o.band_id, o.start_utc),
        n_samples=transmission.n_samples,
        description=f"Mars 1 {o.band_id} telemetry, {o.bit_rate_bps:g} bit/s, emulated",
        generate=lambda: transmission.chunks(TELEMETRY_CHUNK_SAMPLES),
        bit_rate_bps=o.bit_rate_bps,
        frames_sent=n_frames,
    )


def _power_gain_at_recording_time(
    o: TelemetryOptions,
) -> Callable[[np.ndarray], np.ndarray] | None:
    """``o.antenna_power_gain_s`` as a function of recording time: sample t left the
    spacecraft one light time before it arrived."""
    gain_s = o.antenna_power_gain_s
    if gain_s is None:
        return None
    left_s = (o.start_utc - LAUNCH_UTC).total_seconds() - o.light_time_s
    return lambda t_s: gain_s(left_s + t_s)


# ------------------------------------------------------------------------------ carrier


@dataclass(frozen=True)
class CarrierOptions:
    """One 8 cm carrier downlink (ICD §6).

    Attributes
    ----------
    start_utc : datetime
        UTC of sample 0 at the station.
    duration_s, fs_hz : float
        Length (s) and sample rate (Hz).
    two_way : bool
        Coherent two-way mode (else one-way on the on-board oscillator).
    cn0_dbhz : float or None
        Carrier C/N0 (dB-Hz); None for no noise.
    oscillator_offset_ppm : float
        One-way oscillator offset (ppm); must be 0 in two-way mode.
    prediction_error_m_s : float
        Error of the station's range-rate prediction (m/s): it tunes to ṙ + error.
    residual_rate_hz_per_s : float, optional
        None: the station holds its tuning and the residual drifts with the true Doppler.
        A value: the station follows its predicted Doppler and this is the error of the
        predicted rate (Hz/s).
    phase_noise_rad_per_sqrt_s, initial_phase_rad : float
        Oscillator phase noise (rad/√s) and the phase at sample 0 (rad).
    """

    start_utc: datetime
    duration_s: float = 10.0
    fs_hz: float = 8000.0
    two_way: bool = False
    cn0_dbhz: float | None = 40.0
    oscillator_offset_ppm: float = 0.0
    prediction_error_m_s: float = 0.0
    residual_rate_hz_per_s: float | None = None
    phase_noise_rad_per_sqrt_s: float = 0.0
    initial_phase_rad: float = 0.0


def carrier_downlink(options: CarrierOptions, rng: np.random.Generator) -> Downlink:
    """The 8 cm carrier downlink ``options`` describe, from the trajectory's range rate.

    Raises
    ------
    ConfigError
        An oscillator offset in two-way mode, a time outside the flight, or a residual
        beyond the limits of ICD §6.
    """
    from signals.path.geometry import get_trajectory

    o = options
    if o.two_way and o.oscillator_offset_ppm != 0.0:
        raise ConfigError("an oscillator offset applies to one-way mode only")
    mode = CoherentMode.TWO_WAY if o.two_way else CoherentMode.ONE_WAY
    trajectory = get_trajectory()
    mid_utc = o.start_utc + timedelta(seconds=0.5 * o.duration_s)
    end_utc = o.start_utc + timedelta(seconds=o.duration_s)
    rdot_km_s = trajectory.range_rate_km_s(np.array([o.start_utc, mid_utc, end_utc], dtype=object))
    received_hz = [
        downlink_frequencies(r, mode, oscillator_offset_ppm=o.oscillator_offset_ppm).received_hz(
            CARRIER_BAND
        )
        for r in rdot_km_s
    ]
    predicted_km_s = float(rdot_km_s[0]) + o.prediction_error_m_s * 1e-3
    predicted = downlink_frequencies(predicted_km_s, mode)
    tuned_hz = predicted.received_hz(CARRIER_BAND)
    rate_hz_per_s = (
        (received_hz[2] - received_hz[0]) / o.duration_s
        if o.residual_rate_hz_per_s is None
        else o.residual_rate_hz_per_s
    )
    signal = CarrierSignal(
        fs_hz=o.fs_hz,
        duration_s=o.duration_s,
        offset_hz=received_hz[0] - tuned_hz,
        rate_hz_per_s=rate_hz_per_s,
        cn0_dbhz=o.cn0_dbhz,
        phase_noise_rad_per_sqrt_s=o.phase_noise_rad_per_sqrt_s,
        initial_phase_rad=o.initial_phase_rad,
        band_id=CARRIER_BAND,
    )
    coherent_mode = "two-way" if o.two_way else "one-way"
    return _downlink(
        {
            **signal.truth(),
            "coherent_mode": coherent_mode,
            "mid_utc": mid_utc,
            "oscillator_offset_ppm": o.oscillator_offset_ppm,
            "prediction_error_m_s": o.prediction_error_m_s,
            "received_frequency_start_hz": received_hz[0],
            "received_frequency_mid_hz": received_hz[1],
            "range_rate_start_km_s": float(rdot_km_s[0]),
            "range_rate_mid_km_s": float(rdot_km_s[1]),
            "predicted_range_rate_km_s": predicted_km_s,
            "range_km_mid": float(trajectory.range_km(mid_utc)),
        },
        band_id=CARRIER_BAND,
        start_utc=o.start_utc,
        fs_hz=o.fs_hz,
        tuned_hz=tuned_hz,
        n_samples=signal.n_samples,
        description=f"Mars 1 8 cm carrier, {coherent_mode}, emulated",
        generate=lambda: signal.chunks(rng),
        coherent_mode=coherent_mode,
        uplink_hz=predicted.uplink_hz if o.two_way else None,
    )


# ------------------------------------------------------------------------------ images


@dataclass(frozen=True)
class PpmOptions:
    """One 5 cm image downlink (ICD §2–§3).

    Attributes
    ----------
    start_utc : datetime
        UTC of sample 0 at the station.
    items : tuple of ImageTransmission or SilentGap
        The images and gaps, in order.
    channel : PpmChannel
        Clock, Doppler, carrier and noise impairments.
    fs_hz : float
        Sample rate (Hz).
    lead_s, tail_s : float
        Silence before and after the images (s).
    """

    start_utc: datetime
    items: tuple[ImageTransmission | SilentGap, ...]
    channel: PpmChannel = field(default_factory=PpmChannel)
    fs_hz: float = 180_000.0
    lead_s: float = 0.25
    tail_s: float = 0.25


def ppm_downlink(options: PpmOptions, rng: np.random.Generator) -> Downlink:
    """The 5 cm image downlink ``options`` describe (pulse phases and noise from ``rng``)."""
    o = options
    signal = PpmSignal(o.items, fs_hz=o.fs_hz, channel=o.channel, lead_s=o.lead_s, tail_s=o.tail_s)
    sizes = ", ".join(
        f"{i.header.lines}x{i.header.pixels}" for i in o.items if isinstance(i, ImageTransmission)
    )
    return _downlink(
        signal.truth(),
        band_id=PPM_BAND,
        start_utc=o.start_utc,
        fs_hz=o.fs_hz,
        tuned_hz=_tuned_hz(PPM_BAND, o.start_utc),
        n_samples=signal.n_samples,
        description=f"Mars 1 5 cm PPM images ({sizes}), emulated",
        generate=lambda: signal.chunks(rng),
    )
