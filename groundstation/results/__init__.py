"""What the receivers decide, as small typed records: one frame, one image line, one carrier
estimate, what one band's decode produced, and what a session planned and received.

One module per stage of the chain:

==============  ===========================================================================
module          records
==============  ===========================================================================
``telemetry``   :class:`DecodedFrame`, :class:`TruncatedFrame`, :class:`TelemetryDecodeResult`
``images``      :class:`ImageLine`, :class:`ImageHeader`, :class:`DecodedImage`,
                :class:`PpmDecodeResult`
``carrier``     :class:`CarrierEstimate`
``bands``       :class:`RecordingInfo`, :class:`PpmBandResult`, :class:`TelemetryBandResult`,
                :class:`CarrierBandResult`, :data:`BandResult`
``session``     :class:`SessionFrame`, :class:`SessionPlan`, :class:`BandOutcome`,
                :class:`CommandOutcome`, :class:`RangeRateCheck`, :class:`SessionImage`,
                :class:`SessionResult`
``mission``     :class:`MissionSession`, :class:`TrajectoryFacts`, :class:`MissionResult`
==============  ===========================================================================

Each receiver emits per-item records (:class:`DecodedFrame`, :class:`ImageLine` and
:class:`ImageHeader`, :class:`CarrierEstimate`) and an aggregate for its run
(:class:`TelemetryDecodeResult`, :class:`PpmDecodeResult`); a band decode wraps the aggregate
with the recording it came from in a band result. The per-item records stand on their own, so
a receiver can hand them out one at a time as it decides them.

Every output file (``summary.json``, ``telemetry.csv``, ``telemetry.jsonl``, SigMF
annotations, ``session.json``) is written from these types by
:mod:`groundstation.outputs.records`, ``mission.json`` by :mod:`groundstation.outputs.mission`;
the session scores and the report draws from the same types, never from files read back.

The package sits at the top of ``groundstation``, not inside :mod:`groundstation.receivers`,
because it is the contract between every stage after demodulation: receivers produce the
records, outputs serialise them, the session scores them and the report draws them. It imports
only the standard library and numpy, so a consumer of results never loads a receiver (numba,
scipy). Every record is importable from here (``from groundstation.results import X``).

Units are in the field names (``_hz``, ``_db``, ``_s``); sample positions are indices into the
recording (``sample_start``, ``sample_count``).
"""

from groundstation.results.bands import (
    BandResult,
    CarrierBandResult,
    PpmBandResult,
    RecordingInfo,
    TelemetryBandResult,
)
from groundstation.results.carrier import CarrierEstimate
from groundstation.results.images import DecodedImage, ImageHeader, ImageLine, PpmDecodeResult
from groundstation.results.mission import MissionResult, MissionSession, TrajectoryFacts
from groundstation.results.session import (
    BandOutcome,
    CommandOutcome,
    RangeRateCheck,
    SessionFrame,
    SessionImage,
    SessionPlan,
    SessionResult,
)
from groundstation.results.telemetry import DecodedFrame, TelemetryDecodeResult, TruncatedFrame

__all__ = [
    "BandOutcome",
    "BandResult",
    "CarrierBandResult",
    "CarrierEstimate",
    "CommandOutcome",
    "DecodedFrame",
    "DecodedImage",
    "ImageHeader",
    "ImageLine",
    "MissionResult",
    "MissionSession",
    "PpmBandResult",
    "PpmDecodeResult",
    "RangeRateCheck",
    "RecordingInfo",
    "SessionFrame",
    "SessionImage",
    "SessionPlan",
    "SessionResult",
    "TelemetryBandResult",
    "TelemetryDecodeResult",
    "TrajectoryFacts",
    "TruncatedFrame",
]
