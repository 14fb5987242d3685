"""The telemetry modulator against the closed forms of ICD §4 (PCM/PSK/PM, β = 1)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import j0, j1

from signals.errors import ConfigError
from signals.formats.tlm import CHANNELS, FRAME_BITS, SUBCARRIER_HZ, FrameType, from_raw
from signals.formats.tlm_frames import frame_from_channels
from signals.modulators.tlm import TelemetryTransmission, noise_density


def _frames(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        ft = FrameType(k % 2)
        values = {c.name: from_raw(c, int(rng.integers(0, c.raw_max + 1))) for c in CHANNELS[ft]}
        out.append(frame_from_channels(k, ft, values))
    return out


@pytest.mark.parametrize(("bit_rate", "fs_hz", "clock"), [(64, 8000.0, 0.0), (8, 9600.0, 80e-6)])
def test_bits_ride_a_sine_subcarrier_starting_positive_at_each_bit(bit_rate, fs_hz, clock):
    """Im(s) = sin(β·d·sin θ) = 2·J1(β)·d·sin θ + odd harmonics: projected on sin θ over
    one bit it gives 2·J1(β)·d, d = +1 for a 1 bit (NRZ-L), θ = 0 at each bit start."""
    frames = _frames(2)
    tx = TelemetryTransmission(
        frames, fs_hz=fs_hz, bit_rate_bps=bit_rate, rng=np.random.default_rng(0),
        carrier_s=1.0, clock_offset=clock,
    )  # fmt: skip
    x = tx.samples()
    n = np.arange(x.size)
    u = (n / fs_hz - 1.0) / (1 + clock)  # on-board time since the first bit
    bit = np.floor(u * bit_rate).astype(int)
    proj = np.imag(x) * np.sin(2 * np.pi * SUBCARRIER_HZ * u)
    inside = (bit >= 0) & (bit < 2 * FRAME_BITS)
    sums = np.bincount(bit[inside], weights=proj[inside], minlength=2 * FRAME_BITS)
    counts = np.bincount(bit[inside], minlength=2 * FRAME_BITS)
    d = 2 * sums / counts  # mean of sin² is 1/2
    sent = np.concatenate([f.bits() for f in frames]) * 2.0 - 1.0
    np.testing.assert_allclose(d, 2 * j1(1.0) * sent, atol=0.01)
    # the carrier line keeps J0(β) of the amplitude while modulated, all of it before
    assert abs(np.mean(x[inside])) == pytest.approx(j0(1.0), abs=2e-3)
    np.testing.assert_allclose(x[: int(0.9 * fs_hz)], 1.0, atol=1e-6)
    # truth: frame k starts at carrier_s + k·256/R·(1 + ε)
    first = [p.first_bit_sample for p in tx.frame_positions()]
    np.testing.assert_allclose(
        first, [fs_hz * (1.0 + k * 256 / bit_rate * (1 + clock)) for k in (0, 1)]
    )


def test_noise_variance_is_n0_fs_from_ebn0_and_from_cn0() -> None:
    """σ² = N0·fs with Eb = 2·J1(β)²·A²/R (Eb/N0) or C = A² (C/N0). 400 000 samples give
    the variance to 0.3 % (1σ); the test allows 2 %."""
    fs = 8000.0
    for kwargs, n0 in (
        ({"ebn0_db": 3.0}, 2 * j1(1.0) ** 2 * 4.0 / 32 / 10**0.3),
        ({"cn0_dbhz": 30.0}, 4.0 / 1000.0),
    ):
        tx = TelemetryTransmission(
            [], fs_hz=fs, bit_rate_bps=32, rng=np.random.default_rng(1), carrier_s=0.0,
            duration_s=50.0, amplitude=2.0, carrier_offset_hz=100.0, **kwargs,
        )  # fmt: skip
        assert tx.n0 == pytest.approx(n0)
        noise = tx.samples() - tx.envelope(0, tx.n_samples)
        assert np.var(noise) == pytest.approx(n0 * fs, rel=0.02)
        assert np.mean(noise.real**2) == pytest.approx(np.mean(noise.imag**2), rel=0.03)
    with pytest.raises(ConfigError, match="not both"):
        noise_density(1.0, 32, ebn0_db=3.0, cn0_dbhz=30.0)


def test_carrier_offset_rate_and_phase_noise() -> None:
    """Phase of the unmodulated carrier: 2π(f0·t + ½·ḟ·t²) plus a random walk whose
    increments have variance q²/fs (checked to 2 % with 160 000 increments)."""
    fs, q = 8000.0, 0.05
    tx = TelemetryTransmission(
        [], fs_hz=fs, bit_rate_bps=64, rng=np.random.default_rng(2), carrier_s=0.0,
        duration_s=20.0, carrier_offset_hz=-1234.5, carrier_rate_hz_per_s=4.0,
        phase_noise_rad_per_sqrt_s=q,
    )  # fmt: skip
    x = tx.samples()
    t = np.arange(x.size) / fs
    walk = np.unwrap(np.angle(x * np.exp(-2j * np.pi * (-1234.5 * t + 2.0 * t * t))))
    assert np.var(np.diff(walk)) == pytest.approx(q * q / fs, rel=0.02)


def test_streaming_chunks_do_not_change_the_signal() -> None:
    frames = _frames(1)
    make = lambda: TelemetryTransmission(  # noqa: E731
        frames, fs_hz=8000.0, bit_rate_bps=128, rng=np.random.default_rng(3), carrier_s=0.5,
        invert=True,
    )  # fmt: skip
    whole = make().samples()
    pieces = list(make().chunks(777))
    assert all(p.dtype == np.complex64 for p in pieces)
    assert {p.size for p in pieces[:-1]} == {777}
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    assert whole.size == make().n_samples == int(np.ceil((0.5 + 2.0) * 8000))


@pytest.mark.parametrize(
    "kwargs",
    [{"fs_hz": 4000.0}, {"bit_rate_bps": 3}, {"carrier_s": -1.0}, {"clock_offset": 0.5}],
)
def test_bad_parameters_are_config_errors(kwargs) -> None:
    args = {"fs_hz": 8000.0, "bit_rate_bps": 64, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ConfigError):
        TelemetryTransmission([], **args)
