"""``groundstation synth carrier``: an 8 cm coherent-carrier recording from the geometry.

The station tunes to the nominal 8 cm carrier plus the Doppler predicted from the
trajectory (``captures[0] core:frequency``). What is left in the recording is the
residual: in one-way mode the on-board oscillator's offset (and any prediction error), in
two-way mode only the prediction error, plus the drift of the true Doppler over the
recording (its rate). The recording is the spacecraft's downlink generator
(:func:`signals.spacecraft.downlinks.carrier_downlink`), the one ``contact`` uses. The
truth goes to ``NAME.truth.json`` beside the recording.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np

from groundstation.cli.options import DEFAULT_AT_UTC
from groundstation.cli.synth import write_synth
from signals.errors import ConfigError
from signals.spacecraft.downlinks import CarrierOptions, carrier_downlink

#: Default one-way oscillator offsets are drawn within this (ppm): ±0.5 ppm keeps the
#: 8 cm residual inside the ±2 kHz of ICD §6 (±1 ppm would be ±3.7 kHz).
DEFAULT_OSCILLATOR_SPAN_PPM: Final = 0.5


def synth_carrier(
    base: Path | str,
    *,
    at_utc: datetime = DEFAULT_AT_UTC,
    two_way: bool = False,
    duration_s: float = 10.0,
    cn0_dbhz: float | None = 40.0,
    fs_hz: float = 8000.0,
    rng: np.random.Generator,
    oscillator_offset_ppm: float | None = None,
    prediction_error_m_s: float = 0.0,
    phase_noise_rad_per_sqrt_s: float = 0.0,
) -> Path:
    """Write an ``8cm-carrier`` recording ``base`` and ``base.truth.json``; return the meta path.

    Parameters
    ----------
    base : path
        Recording name NAME (writes NAME.sigmf-meta, NAME.sigmf-data, NAME.truth.json).
    at_utc : datetime
        UTC of sample 0.
    two_way : bool
        Coherent two-way mode (else one-way on the on-board oscillator).
    duration_s, fs_hz : float
        Length (s) and sample rate (Hz).
    cn0_dbhz : float or None
        Carrier C/N0 (dB-Hz); None for no noise.
    rng : numpy.random.Generator
        Noise, phase noise and the default oscillator offset.
    oscillator_offset_ppm : float, optional
        One-way oscillator offset (ppm); drawn uniformly within ±0.5 ppm when None.
    prediction_error_m_s : float
        Range-rate error of the station's prediction (m/s): the station assumes
        ṙ + error.
    phase_noise_rad_per_sqrt_s : float
        Oscillator phase noise (rad/sqrt(s)).

    Raises
    ------
    ConfigError
        A time outside the flight, or a residual beyond the limits of ICD §6.
    """
    if two_way:
        if oscillator_offset_ppm not in (None, 0.0):
            raise ConfigError("--osc-ppm applies to one-way mode only")
        osc_ppm = 0.0
    elif oscillator_offset_ppm is None:
        osc_ppm = float(rng.uniform(-DEFAULT_OSCILLATOR_SPAN_PPM, DEFAULT_OSCILLATOR_SPAN_PPM))
    else:
        osc_ppm = float(oscillator_offset_ppm)
    options = CarrierOptions(
        start_utc=at_utc,
        duration_s=duration_s,
        fs_hz=fs_hz,
        two_way=two_way,
        cn0_dbhz=cn0_dbhz,
        oscillator_offset_ppm=osc_ppm,
        prediction_error_m_s=prediction_error_m_s,
        phase_noise_rad_per_sqrt_s=phase_noise_rad_per_sqrt_s,
        initial_phase_rad=float(rng.uniform(0.0, 2.0 * np.pi)),
    )
    return write_synth(base, carrier_downlink(options, rng))


def run_synth(args: argparse.Namespace) -> Path:
    """Run ``synth carrier`` from parsed arguments; return the metadata path written."""
    return synth_carrier(
        args.output,
        at_utc=args.at,
        two_way=args.two_way,
        duration_s=args.duration,
        cn0_dbhz=args.cn0_dbhz,
        fs_hz=args.fs_hz,
        rng=np.random.default_rng(args.seed),
        oscillator_offset_ppm=args.osc_ppm,
        prediction_error_m_s=args.prediction_error_m_s,
        phase_noise_rad_per_sqrt_s=args.phase_noise,
    )
