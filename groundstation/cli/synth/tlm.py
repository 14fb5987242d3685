"""``groundstation synth tlm``: a 32 cm or 1.6 m telemetry recording (ICD §4).

The recording is the spacecraft's downlink generator
(:func:`signals.spacecraft.downlinks.telemetry_downlink`), the one ``contact`` uses: the
frames carry the flight's state (:class:`signals.spacecraft.flight.FlightModel`, distances
from the mission trajectory) at the instant each frame left the spacecraft, one light time
before it reaches the station; the station tunes to the nominal
carrier plus the Doppler predicted from the trajectory, so the recording holds only the
residual offset and rate asked for. The truth (every frame, its first-bit sample, the
link parameters) goes to ``NAME.truth.json`` beside the recording.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import numpy as np

from groundstation.cli.options import DEFAULT_START_UTC
from groundstation.cli.synth import write_synth
from signals.formats.tlm import DEFAULT_CARRIER_S
from signals.spacecraft.downlinks import TelemetryOptions, telemetry_downlink


def synth_tlm(
    base: Path | str,
    *,
    band_id: str = "32cm-tlm",
    bit_rate_bps: int = 64,
    start_utc: datetime = DEFAULT_START_UTC,
    duration_s: float | None = None,
    ebn0_db: float | None = None,
    cn0_dbhz: float | None = None,
    carrier_s: float = DEFAULT_CARRIER_S,
    carrier_offset_hz: float = 0.0,
    carrier_rate_hz_per_s: float = 0.0,
    phase_noise_rad_per_sqrt_s: float = 0.0,
    clock_offset: float = 0.0,
    invert: bool = False,
    fs_hz: float = 8000.0,
    seed: int = 0,
    scenario: str = "historical",
) -> Path:
    """Write a telemetry recording ``base`` and ``base.truth.json``; return the meta path.

    Parameters
    ----------
    base : path
        Recording name NAME (writes NAME.sigmf-meta, NAME.sigmf-data, NAME.truth.json).
    band_id : str
        ``32cm-tlm`` or ``1.6m-tlm``.
    bit_rate_bps : int
        Bit rate (bit/s).
    start_utc : datetime
        UTC of sample 0.
    duration_s : float, optional
        Recording length (s); default the carrier plus 10 whole frames. A frame that
        starts at least one bit before the end is sent and cut off there.
    ebn0_db, cn0_dbhz : float, optional
        Noise level; Eb/N0 12 dB when neither is given.
    carrier_s : float
        Unmodulated carrier before the first frame (s).
    carrier_offset_hz, carrier_rate_hz_per_s : float
        Residual carrier offset at sample 0 (Hz) and its rate (Hz/s).
    phase_noise_rad_per_sqrt_s : float
        Oscillator phase noise (rad/√s).
    clock_offset : float
        On-board clock error ε (intervals × (1 + ε)).
    invert : bool
        Send every bit inverted.
    fs_hz : float
        Sample rate (Hz).
    seed : int
        Seed of the one random generator (flight model and noise).
    scenario : str
        Flight scenario of the frames' channels: ``historical`` or ``nominal``.

    Raises
    ------
    ConfigError
        Bad parameters (band, rate, sample rate, durations, offset beyond ±2 kHz).
    """
    from signals.path.geometry import get_trajectory
    from signals.spacecraft.flight import FlightModel

    if ebn0_db is None and cn0_dbhz is None:
        ebn0_db = 12.0
    rng = np.random.default_rng(seed)
    flight = FlightModel(scenario, rng=rng)
    options = TelemetryOptions(
        start_utc=start_utc,
        band_id=band_id,
        bit_rate_bps=bit_rate_bps,
        light_time_s=float(get_trajectory().light_time_s(start_utc)),
        duration_s=duration_s,
        carrier_s=carrier_s,
        ebn0_db=ebn0_db,
        cn0_dbhz=cn0_dbhz,
        carrier_offset_hz=carrier_offset_hz,
        carrier_rate_hz_per_s=carrier_rate_hz_per_s,
        carrier_phase_rad=float(rng.uniform(0.0, 2.0 * np.pi)),
        phase_noise_rad_per_sqrt_s=phase_noise_rad_per_sqrt_s,
        clock_offset=clock_offset,
        invert=invert,
        fs_hz=fs_hz,
    )
    downlink = telemetry_downlink(options, flight.channels_at, rng)
    return write_synth(base, downlink, {"seed": seed, "scenario": scenario})


def run_synth(args: argparse.Namespace) -> Path:
    """Run ``synth tlm`` from parsed arguments; return the metadata path written."""
    return synth_tlm(
        args.output,
        band_id=args.band,
        bit_rate_bps=args.rate,
        start_utc=args.start,
        duration_s=args.duration,
        ebn0_db=args.ebn0_db,
        cn0_dbhz=args.cn0_dbhz,
        carrier_s=DEFAULT_CARRIER_S if args.carrier_s is None else args.carrier_s,
        carrier_offset_hz=args.carrier_offset_hz,
        carrier_rate_hz_per_s=args.carrier_rate_hz_per_s,
        phase_noise_rad_per_sqrt_s=args.phase_noise,
        clock_offset=args.clock_ppm * 1e-6,
        invert=args.invert,
        fs_hz=args.fs_hz,
        seed=args.seed,
        scenario=args.scenario,
    )
