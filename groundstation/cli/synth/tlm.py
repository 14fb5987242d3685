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
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np

from groundstation.cli.synth import truth_path, utc_argument
from groundstation.io.files import write_json
from groundstation.session.downlinks import write_downlink
from signals.formats.tlm import BIT_RATES_BPS, DEFAULT_CARRIER_S
from signals.spacecraft.downlinks import TelemetryOptions, telemetry_downlink
from signals.spacecraft.flight import SCENARIOS

#: Band ids accepted by ``--band`` (short and full).
BAND_ALIASES: Final = {
    "32cm": "32cm-tlm",
    "32cm-tlm": "32cm-tlm",
    "1.6m": "1.6m-tlm",
    "1.6m-tlm": "1.6m-tlm",
}
#: Default epoch of a synthetic recording (a session of 5 November 1962, dish pointed).
DEFAULT_START_UTC: Final = datetime(1962, 11, 5, 9, 0, 0, tzinfo=UTC)


def _band(text: str) -> str:
    try:
        return BAND_ALIASES[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"unknown telemetry band {text!r}; expected 32cm, 1.6m, 32cm-tlm or 1.6m-tlm"
        ) from None


def _rate(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value not in BIT_RATES_BPS:
        raise argparse.ArgumentTypeError(
            f"bit rate {text} is not one of {', '.join(map(str, BIT_RATES_BPS))} bit/s"
        )
    return int(value)


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``synth tlm`` (the caller adds ``-o/--output``)."""
    parser.add_argument(
        "--band", type=_band, default="32cm-tlm", help="32cm (default) or 1.6m (or full ids)"
    )
    parser.add_argument(
        "--rate", type=_rate, default=64, help="bit rate in bit/s: 1, 2, 4, ... 128 (default 64)"
    )
    parser.add_argument(
        "--start",
        type=utc_argument,
        default=DEFAULT_START_UTC,
        help="UTC of the first sample (ISO 8601; default 1962-11-05T09:00:00Z)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="recording length in s (default: the carrier plus 10 whole frames)",
    )
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--ebn0-db", type=float, default=None, help="Eb/N0 in dB (default 12)")
    level.add_argument("--cn0-dbhz", type=float, default=None, help="C/N0 in dB-Hz")
    parser.add_argument(
        "--carrier-s",
        type=float,
        default=DEFAULT_CARRIER_S,
        help=f"unmodulated carrier before the frames in s (default {DEFAULT_CARRIER_S:g})",
    )
    parser.add_argument(
        "--carrier-offset-hz", type=float, default=0.0, help="residual offset in Hz (default 0)"
    )
    parser.add_argument(
        "--carrier-rate-hz-per-s",
        type=float,
        default=0.0,
        help="rate of the residual offset in Hz/s (default 0)",
    )
    parser.add_argument(
        "--phase-noise",
        type=float,
        default=0.0,
        help="oscillator phase noise, random walk in rad/sqrt(s) (default 0; ICD limit 0.05)",
    )
    parser.add_argument(
        "--clock-ppm",
        type=float,
        default=0.0,
        help="on-board clock error in ppm: intervals x (1 + ppm/1e6) (default 0)",
    )
    parser.add_argument(
        "--invert", action="store_true", help="send every bit inverted (180° ambiguity)"
    )
    parser.add_argument(
        "--fs-hz", type=float, default=8000.0, help="sample rate in Hz (default 8000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="historical",
        help="historical: the real flight; nominal: as planned (no leak)",
    )


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
    meta_path = write_downlink(base, downlink)
    write_json(truth_path(base), {**downlink.truth, "seed": seed, "scenario": scenario})
    return meta_path


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
        carrier_s=args.carrier_s,
        carrier_offset_hz=args.carrier_offset_hz,
        carrier_rate_hz_per_s=args.carrier_rate_hz_per_s,
        phase_noise_rad_per_sqrt_s=args.phase_noise,
        clock_offset=args.clock_ppm * 1e-6,
        invert=args.invert,
        fs_hz=args.fs_hz,
        seed=args.seed,
        scenario=args.scenario,
    )
