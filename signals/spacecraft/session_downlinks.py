"""One band of a session: what the spacecraft plans to send, through the session's link.

In: the spacecraft's plan for a band (:class:`~signals.spacecraft.craft.BandTransmission`:
start, carrier, bit rate, images), what the station knows of the link
(:class:`SessionLink`: light time, coherent mode, C/N0 from the link budget, length
limits), the channels of the flight and the session's random generator. Out: the band's
:class:`~signals.spacecraft.downlinks.Downlink`, made by the one downlink generator
(:mod:`signals.spacecraft.downlinks`) from options whose impairments (oscillator, clock,
Doppler prediction residuals, phase noise) are drawn within the limits of
``[impairments.*]`` in ``signals/data/mars1.toml``. ``contact`` and ``mission`` make
their recordings from it, a live transmitter its stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np

from signals.bands import Impairments, band, impairments, session
from signals.constants import C_M_S
from signals.errors import ConfigError
from signals.formats.ppm import CHIP_S
from signals.formats.tlm import FRAME_BITS
from signals.modulators.ppm import ImageTransmission, PpmChannel, SilentGap
from signals.spacecraft.camera import FLYBY_IMAGE_SIZE, camera_image
from signals.spacecraft.craft import CARRIER_BAND, PPM_BAND, TELEMETRY_BANDS, BandTransmission
from signals.spacecraft.downlinks import (
    CarrierOptions,
    ChannelSource,
    Downlink,
    PpmOptions,
    TelemetryOptions,
    carrier_downlink,
    ppm_downlink,
    telemetry_downlink,
)

SPIN_MODULATED_BAND: Final[str] = "1.6m-tlm"
"""The band whose antenna (omni / semi-directional) the craft's spin sweeps past Earth."""


@dataclass(frozen=True)
class SessionLink:
    """What the station's plan knows of one session's link.

    Attributes
    ----------
    light_time_s : float
        One-way light time (s).
    two_way : bool
        The station transmits the 39 cm uplink: the 8 cm carrier is coherent.
    cn0_dbhz : mapping of str to float
        Received C/N0 of each downlink band from the link budget (dB-Hz).
    max_frames : int
        Telemetry frames at most per band.
    max_telemetry_s : float
        Length of a telemetry downlink at most, carrier included (s).
    carrier_duration_s : float
        Length of the 8 cm carrier downlink (s).
    image_size : tuple of int, optional
        Lines and pixels of a test-chart image.
    """

    light_time_s: float
    two_way: bool
    cn0_dbhz: Mapping[str, float]
    max_frames: int
    max_telemetry_s: float
    carrier_duration_s: float
    image_size: tuple[int, int] | None


def session_downlink(
    tx: BandTransmission,
    link: SessionLink,
    channels_at: ChannelSource,
    rng: np.random.Generator,
    *,
    impaired: Impairments | None = None,
    antenna_power_gain_s: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Downlink:
    """One band of a session: what the spacecraft plans to send, through the session's link.

    The impairments (oscillator, clock, Doppler prediction residuals, phase noise) are
    drawn from ``rng`` within the limits of ``impaired`` (default
    :func:`signals.bands.impairments`); the sample rates are the station's
    (:func:`signals.bands.session`).

    Parameters
    ----------
    tx : BandTransmission
        The spacecraft's plan for the band (start, carrier, rate, images).
    link : SessionLink
        The session's link as the station planned it.
    channels_at : callable
        The spacecraft's ICD §4 channels at a UTC instant (telemetry).
    rng : numpy.random.Generator
        The session's generator: impairments, image, pulse phases and noise.
    impaired : Impairments, optional
        Limits of the drawn impairments.
    antenna_power_gain_s : callable, optional
        The 1.6 m antenna's power gain towards Earth (mean 1) against seconds since launch
        (:meth:`signals.spacecraft.flight.FlightModel.antenna_power_gain_s`: a spinning
        craft); the dish bands are not modulated (a spinning craft cannot point its dish).
    """
    imp = impairments() if impaired is None else impaired
    setup = session()
    received_utc = tx.start_utc + timedelta(seconds=link.light_time_s)
    carrier_hz = band(tx.band_id).carrier_hz
    cn0_dbhz = link.cn0_dbhz[tx.band_id]
    if tx.band_id in TELEMETRY_BANDS:
        t = imp.telemetry
        rate = float(tx.bit_rate_bps or 1.0)
        room_s = max(link.max_telemetry_s - tx.carrier_s, FRAME_BITS / rate)
        max_ppm = t.oscillator_max_ppm
        oscillator_hz = float(rng.uniform(-max_ppm, max_ppm)) * 1e-6 * carrier_hz
        options = TelemetryOptions(
            start_utc=received_utc,
            band_id=tx.band_id,
            bit_rate_bps=rate,
            light_time_s=link.light_time_s,
            n_frames=max(1, min(link.max_frames, int(room_s // (FRAME_BITS / rate)))),
            carrier_s=tx.carrier_s,
            tail_s=t.tail_s,
            cn0_dbhz=cn0_dbhz,
            carrier_offset_hz=oscillator_hz + float(rng.normal(0.0, t.doppler_residual_sigma_hz)),
            carrier_rate_hz_per_s=float(rng.normal(0.0, t.doppler_rate_sigma_hz_per_s)),
            carrier_phase_rad=float(rng.uniform(0, 2 * np.pi)),
            phase_noise_rad_per_sqrt_s=t.phase_noise_rad_per_sqrt_s,
            clock_offset=float(rng.uniform(-t.clock_max_ppm / 1e6, t.clock_max_ppm / 1e6)),
            invert=bool(rng.integers(2)),
            fs_hz=setup.telemetry_fs_hz,
            antenna_power_gain_s=(
                antenna_power_gain_s if tx.band_id == SPIN_MODULATED_BAND else None
            ),
        )
        return telemetry_downlink(options, channels_at, rng)
    if tx.band_id == PPM_BAND:
        p = imp.ppm
        items: list[ImageTransmission | SilentGap] = []
        for request in tx.images:
            size = link.image_size or FLYBY_IMAGE_SIZE
            image = camera_image(tx.start_utc, size, rng)
            items += [
                ImageTransmission(image, request.image_id % 4096, request.mode),
                SilentGap(int(p.gap_periods)),
            ]
        from signals.path.geometry import get_trajectory

        range_rate_km_s = float(get_trajectory().range_rate_km_s(received_utc))
        channel = PpmChannel(
            clock_ppm=float(rng.uniform(-p.clock_max_ppm, p.clock_max_ppm)),
            drift_ppm_per_hour=float(
                rng.uniform(-p.clock_drift_max_ppm_per_hour, p.clock_drift_max_ppm_per_hour)
            ),
            doppler_v_over_c=range_rate_km_s * 1e3 / C_M_S,
            carrier_offset_hz=float(rng.uniform(-p.oscillator_max_ppm, p.oscillator_max_ppm))
            * 1e-6
            * carrier_hz,
            carrier_rate_hz_per_s=float(rng.normal(0.0, p.carrier_rate_sigma_hz_per_s)),
            esn0_db=cn0_dbhz + 10.0 * math.log10(CHIP_S),
        )
        options = PpmOptions(
            start_utc=received_utc,
            items=tuple(items),
            channel=channel,
            fs_hz=setup.ppm_fs_hz,
            lead_s=p.lead_s,
            tail_s=p.tail_s,
        )
        return ppm_downlink(options, rng)
    if tx.band_id == CARRIER_BAND:
        c = imp.carrier
        options = CarrierOptions(
            start_utc=received_utc,
            duration_s=link.carrier_duration_s,
            fs_hz=setup.carrier_fs_hz,
            two_way=link.two_way,
            cn0_dbhz=min(cn0_dbhz, setup.carrier_cn0_cap_dbhz),
            prediction_error_m_s=float(rng.normal(0.0, c.range_rate_prediction_sigma_m_s)),
            residual_rate_hz_per_s=float(rng.normal(0.0, c.rate_residual_sigma_hz_per_s)),
            phase_noise_rad_per_sqrt_s=c.phase_noise_rad_per_sqrt_s,
            initial_phase_rad=float(rng.uniform(0, 2 * np.pi)),
        )
        return carrier_downlink(options, rng)
    raise ConfigError(f"band {tx.band_id} is not a downlink band")
