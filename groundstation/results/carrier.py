"""The carrier record (ICD §6): one estimate of a received coherent carrier's frequency,
rate and C/N0.
"""

from __future__ import annotations

from dataclasses import dataclass


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
