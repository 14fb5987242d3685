"""The sister craft: its parking orbit, the ignition it needed, and Yevpatoria's view."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from signals.bands import band
from signals.constants import C_KM_S, EARTH_RADIUS_KM, GM_EARTH_KM3_S2
from signals.path import sputnik22 as s22
from signals.path.geometry import get_trajectory
from signals.path.injection import load_injection


def _grid(start, seconds: float, step_s: float = 10.0) -> np.ndarray:
    t0 = np.datetime64(start.replace(tzinfo=None), "us")
    return t0 + (np.arange(0.0, seconds, step_s) * 1e6).astype("timedelta64[us]")


def test_parking_orbit_is_the_documented_one():
    after = s22.LAUNCH_UTC + timedelta(seconds=s22.INSERTION_S)
    r, v = s22.orbit_km(_grid(after, 2 * 5500.0))
    altitude = np.linalg.norm(r, axis=1) - EARTH_RADIUS_KM
    assert altitude.min() == pytest.approx(180.0, abs=1.0)
    assert altitude.max() == pytest.approx(485.0, abs=1.0)
    h = np.cross(r[0], v[0])
    assert np.degrees(np.arccos(h[2] / np.linalg.norm(h))) == pytest.approx(64.9, abs=1e-6)
    energy = 0.5 * np.sum(v**2, axis=1) - GM_EARTH_KM3_S2 / np.linalg.norm(r, axis=1)
    a_km = -GM_EARTH_KM3_S2 / (2 * energy[0])
    period_min = 2 * np.pi * np.sqrt(a_km**3 / GM_EARTH_KM3_S2) / 60
    assert 90.0 < period_min < 93.0


def test_the_ignition_comes_before_any_pass_over_yevpatoria():
    ignition = s22.ignition_utc()
    assert timedelta(minutes=60) < ignition - s22.LAUNCH_UTC < timedelta(minutes=90)
    start = s22.LAUNCH_UTC + timedelta(seconds=s22.INSERTION_S)
    passes = s22.passes(start, s22.LAUNCH_UTC + timedelta(hours=4))
    assert passes, "the orbit does cross the Crimea within four hours"
    first = passes[0]
    assert first.t_utc[0] > np.datetime64(ignition.replace(tzinfo=None), "us")
    assert np.all(first.elevation_deg > 0)


def test_doppler_of_the_pass_needs_programmed_tuning():
    start = s22.LAUNCH_UTC + timedelta(seconds=s22.INSERTION_S)
    first = s22.passes(start, s22.LAUNCH_UTC + timedelta(hours=4))[0]
    f_hz = band("1.6m-tlm").carrier_hz
    np.testing.assert_allclose(first.doppler_hz, -f_hz * first.range_rate_km_s / C_KM_S)
    assert np.max(np.abs(first.range_rate_km_s)) < 8.0  # a low orbit: under 8 km/s
    assert np.max(first.doppler_hz) > 2000.0 > -2000.0 > np.min(first.doppler_hz)
    rate = np.max(np.abs(np.diff(first.doppler_hz))) / 10.0
    assert rate > band("1.6m-tlm").max_residual_rate_hz_per_s


def test_nothing_of_it_changes_mars_1():
    before = get_trajectory().flyby()
    s22.planned_coast_s()
    s22.passes(s22.LAUNCH_UTC + timedelta(minutes=10), s22.LAUNCH_UTC + timedelta(hours=2))
    assert get_trajectory().flyby() == before
    assert load_injection() == get_trajectory().injection
