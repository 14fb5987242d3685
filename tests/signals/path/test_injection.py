"""The injection file: read, and a bad one refused with the section and key named."""

from __future__ import annotations

import pytest

from signals.errors import ConfigError
from signals.path.injection import load_correction, load_injection, parse_injection


def test_injection_file_is_validated():
    parking = (
        "[parking_orbit]\nsite_latitude_deg = 45.9\nsite_longitude_deg = 63.3\n"
        "altitude_km = 200.0\ninclination_deg = 64.9\n"
    )
    with pytest.raises(ConfigError, match=r"missing section \[burn\]"):
        parse_injection(parking)
    good = parking + "[burn]\ncoast_s = 4000.0\ndv_along_km_s = 3.9\ndv_cross_km_s = 'x'\n"
    with pytest.raises(ConfigError, match="dv_cross_km_s"):
        parse_injection(good)
    assert parse_injection(good.replace("'x'", "0.4")).coast_s == 4000.0


def test_the_shipped_file_holds_a_burn_and_a_correction():
    injection, correction = load_injection(), load_correction()
    assert 0.5 * 3600 < injection.coast_s < 2 * 3600  # about an hour on the parking orbit
    assert 3.0 < injection.dv_along_km_s < 4.5
    assert injection.burn_utc > injection.burn_utc.replace(hour=0, minute=0, second=0)
    assert len(correction.dv_km_s) == 3 and correction.epoch_utc.tzinfo is not None
