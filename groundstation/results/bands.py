"""Band results: what one band's decode produced, with the recording it came from.

Each wraps a receiver's aggregate (:mod:`.telemetry`, :mod:`.images`, :mod:`.carrier`) with
:class:`RecordingInfo`; :data:`BandResult` is what :func:`groundstation.decode.decode_recording`
returns. The ``kind`` class attribute names the band's kind as the band plan does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from groundstation.results.carrier import CarrierEstimate
from groundstation.results.images import DecodedImage, PpmDecodeResult
from groundstation.results.telemetry import DecodedFrame, TelemetryDecodeResult


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


#: What :func:`groundstation.decode.decode_recording` returns.
BandResult = PpmBandResult | TelemetryBandResult | CarrierBandResult
