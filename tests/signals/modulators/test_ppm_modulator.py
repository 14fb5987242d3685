"""PPM modulator and channel: closed-form integrate-and-dump samples, timing, noise, streaming."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from signals.errors import ConfigError
from signals.formats.ppm import CHIP_S, FRAME_MARKER_CHIPS, PERIOD_CHIPS, PERIOD_S, PpmHeader
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap


def _image(lines=4, pixels=5, seed=0):
    return np.random.default_rng(seed).integers(0, 64, (lines, pixels)).astype(np.uint8)


def test_sample_is_the_average_of_the_envelope_over_its_interval():
    fs, f0, rate, lead = 123_456.0, 17_000.0, 4.0, 0.0123
    channel = PpmChannel(carrier_offset_hz=f0, carrier_rate_hz_per_s=rate, random_phase=False)
    sig = PpmSignal([ImageTransmission(_image(), 3)], fs_hz=fs, channel=channel, lead_s=lead)
    x = sig.samples(np.random.default_rng(0))
    # The second pulse of the first frame marker: a rectangular burst of one chip.
    tx = FRAME_MARKER_CHIPS[1] * CHIP_S
    a, b = sig.rx_time_s(np.array([tx, tx + CHIP_S]))
    phase0 = 2 * np.pi * (f0 * a + 0.5 * rate * a * a)
    f_pulse = f0 + rate * (a + b) / 2
    for n in range(math.floor(a * fs) - 1, math.ceil(b * fs) + 1):
        t = np.linspace(n / fs, (n + 1) / fs, 20001)
        inside = (t >= a) & (t < b)
        envelope = np.where(inside, np.exp(1j * (2 * np.pi * f_pulse * (t - a) + phase0)), 0)
        expected = np.trapezoid(envelope, t) * fs
        assert x[n] == pytest.approx(expected, abs=2e-4)


def test_aligned_pulse_without_offset_keeps_all_its_energy():
    # 180 kS/s, no offset, no clock error: every chip is exactly 4 whole samples of value A.
    sig = PpmSignal([ImageTransmission(_image(), 3)], fs_hz=180e3, channel=PpmChannel())
    x = sig.samples(np.random.default_rng(0))
    pulses = 2 * (4 + 8) + 4 * (4 + 4 + 5)
    assert np.count_nonzero(np.abs(x) > 0.5) == 4 * pulses
    assert np.sum(np.abs(x) ** 2) == pytest.approx(4 * pulses, rel=1e-5)
    assert np.abs(x[:4]) == pytest.approx(1.0, rel=1e-6)


def test_pulse_positions_follow_the_data():
    image = _image(2, 3)
    sig = PpmSignal([ImageTransmission(image, 9)], fs_hz=180e3, channel=PpmChannel())
    x = sig.samples(np.random.default_rng(0))
    header = PpmHeader(9, 2, 3, 0).pack()
    on = np.abs(x) > 0.5
    for k, g in enumerate(header):
        start = (1 + k) * PERIOD_CHIPS * 4
        chip = np.flatnonzero(on[start : start + PERIOD_CHIPS * 4])[0] / 4
        assert chip == 50 + 6 * g
    lines, periods = sig.pixel_periods(0)
    assert lines.tolist() == [0, 1]
    for (i, j), p in np.ndenumerate(periods):
        start = p * PERIOD_CHIPS * 4
        chip = np.flatnonzero(on[start : start + PERIOD_CHIPS * 4])[0] / 4
        assert chip == 50 + 6 * int(image[i, j])


def test_clock_doppler_and_drift_scale_the_grid():
    eps, drift, v = 80e-6, 1.0, -5e-5
    channel = PpmChannel(clock_ppm=80, drift_ppm_per_hour=drift, doppler_v_over_c=v)
    sig = PpmSignal([ImageTransmission(_image(), 1)], fs_hz=200e3, channel=channel, lead_s=0.5)
    k = drift * 1e-6 / 3600
    u = np.array([0.0, 1.0, 100.0, 3600.0])
    expected = 0.5 + (1 + v) * (u * (1 + eps) + 0.5 * k * u * u)
    assert sig.rx_time_s(u) == pytest.approx(expected, rel=1e-15, abs=1e-12)
    assert sig.tx_time_s(sig.rx_time_s(u)) == pytest.approx(u, abs=1e-9)
    assert sig.chip_samples(0) == pytest.approx(200e3 * CHIP_S * (1 + eps) * (1 + v), rel=1e-9)
    starts = sig.period_start_samples(np.array([0, 1]))
    assert np.diff(starts)[0] == pytest.approx(PERIOD_S * 200e3 * (1 + eps) * (1 + v), rel=1e-9)


@pytest.mark.parametrize("esn0_db", [6.0, 14.0])
def test_noise_variance_is_n0_fs(esn0_db):
    fs = 150e3
    channel = PpmChannel(esn0_db=esn0_db)
    sig = PpmSignal([ImageTransmission(_image(1, 1), 1)], fs_hz=fs, channel=channel, lead_s=1.0)
    x = sig.samples(np.random.default_rng(1))[: int(0.9 * fs)]  # silence only
    n0 = CHIP_S / 10 ** (esn0_db / 10)
    # Mean of 1.35e5 exponential variables: relative standard deviation 0.27 %.
    assert np.mean(np.abs(x) ** 2) == pytest.approx(n0 * fs, rel=0.015)
    assert np.mean(x.real**2) == pytest.approx(n0 * fs / 2, rel=0.02)


def test_stream_does_not_depend_on_chunk_size_without_randomness():
    channel = PpmChannel(clock_ppm=-40, carrier_offset_hz=-9000, random_phase=False)
    items = [ImageTransmission(_image(), 2), SilentGap(3), ImageTransmission(_image(), 2)]
    sig = PpmSignal(items, fs_hz=97_000.0, channel=channel, lead_s=0.01, tail_s=0.01)
    a = np.concatenate(list(sig.chunks(np.random.default_rng(0), 1000)))
    b = np.concatenate(list(sig.chunks(np.random.default_rng(0), 1 << 18)))
    assert a.size == b.size == sig.n_samples
    assert np.max(np.abs(a - b)) < 1e-6


def test_huge_image_streams_in_bounded_chunks():
    image = np.zeros((1100, 1100), np.uint8)
    sig = PpmSignal([ImageTransmission(image, 1)], fs_hz=180e3)
    assert sig.n_samples == pytest.approx((18 + 1100 * 1105) * PERIOD_S * 180e3, abs=2)
    assert sig.n_samples > 2.4e9
    chunks = list(itertools.islice(sig.chunks(np.random.default_rng(0), 1 << 16), 3))
    assert [c.size for c in chunks] == [1 << 16] * 3
    assert all(c.dtype == np.complex64 for c in chunks)


def test_faded_lines_are_silent_and_the_grid_goes_on():
    image = np.full((5, 4), 20, np.uint8)
    sig = PpmSignal([ImageTransmission(image, 1, faded_lines=(1, 3))], fs_hz=180e3)
    x = sig.samples(np.random.default_rng(0))
    lines, periods = sig.pixel_periods(0)
    for line, row in zip(lines, periods, strict=True):
        span = slice(int((row[0] - 5) * 2000), int((row[-1] + 1) * 2000))
        energy = np.sum(np.abs(x[span]) ** 2)
        assert (energy == 0) == (line in (1, 3))
    truth = sig.truth()["images"][0]
    assert truth["faded_lines"] == [1, 3] and truth["lines_missing"] == [1, 3]


def test_survey_sends_every_kth_line_and_truth_lists_it():
    sig = PpmSignal([ImageTransmission(_image(10, 3), 4, mode=3)], fs_hz=180e3)
    truth = sig.truth()["images"][0]
    assert truth["sent_lines"] == [0, 3, 6, 9]
    assert truth["n_periods"] == 18 + 4 * 8
    assert truth["lines_missing"] == []


def test_bad_plans_are_refused():
    with pytest.raises(ConfigError, match="below"):
        PpmSignal([ImageTransmission(_image(), 1)], fs_hz=80e3)
    with pytest.raises(ConfigError, match=r"0\.\.63"):
        ImageTransmission(np.full((2, 2), 64, np.uint8), 1)
    with pytest.raises(ConfigError, match="mode"):
        ImageTransmission(_image(), 1, mode=1)
