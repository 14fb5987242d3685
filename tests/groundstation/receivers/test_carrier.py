"""Coherent link (ICD §6): carrier generation, estimation against the Cramér-Rao bound,
range rate from Doppler against the geometry."""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime

import numpy as np
import pytest

from groundstation.cli.synth.carrier import synth_carrier
from groundstation.errors import DecodeError, NoSignalError
from groundstation.io.recording import open_recording
from groundstation.io.writer import write_recording
from groundstation.outputs.carrier import decode_carrier_to_dir
from groundstation.outputs.records import summary_record
from groundstation.receivers.carrier import (
    estimate_carrier,
    frequency_crlb_hz,
    one_way_range_rate_bounds,
    range_rate_from_doppler,
    rate_crlb_hz_per_s,
)
from signals.bands import band
from signals.errors import ConfigError
from signals.modulators.carrier import (
    C_M_S,
    CarrierError,
    CarrierSignal,
    CoherentMode,
    downlink_frequencies,
)
from signals.path.geometry import get_trajectory

FS = 8000.0
AT = datetime(1963, 1, 20, 10, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------- generator


def test_noiseless_carrier_is_the_stated_envelope():
    sig = CarrierSignal(FS, 1.0, offset_hz=-1234.5, rate_hz_per_s=7.0, initial_phase_rad=0.3)
    x = sig.samples(np.random.default_rng(0))
    assert x.dtype == np.complex64 and x.size == 8000
    t = np.arange(8000) / FS
    expected = np.exp(1j * (2 * np.pi * (-1234.5 * t + 3.5 * t * t) + 0.3))
    np.testing.assert_allclose(x, expected, atol=1e-5)
    # A tone without drift peaks in the FFT at its frequency.
    tone = CarrierSignal(FS, 1.0, offset_hz=625.0).samples(np.random.default_rng(0))
    assert np.fft.fftfreq(8000, 1 / FS)[np.argmax(np.abs(np.fft.fft(tone)))] == 625.0


def test_noise_variance_is_n0_fs():
    sig = CarrierSignal(FS, 10.0, offset_hz=100.0, cn0_dbhz=30.0)
    x = sig.samples(np.random.default_rng(1)).astype(np.complex128)
    noise = x - sig.envelope(0, sig.n_samples)
    expected = 10 ** (-30 / 10) * FS  # sigma^2 = N0 fs with A = 1
    # 80,000 samples: the variance estimate has a relative std of 1/sqrt(80,000) = 0.35 %.
    assert np.mean(np.abs(noise) ** 2) == pytest.approx(expected, rel=0.02)
    assert np.mean(noise.real**2) == pytest.approx(expected / 2, rel=0.03)


def test_phase_noise_is_a_random_walk_of_the_stated_density():
    q = 0.05  # rad/sqrt(s)
    sig = CarrierSignal(FS, 20.0, phase_noise_rad_per_sqrt_s=q)
    x = sig.samples(np.random.default_rng(2))
    steps = np.diff(np.unwrap(np.angle(x.astype(np.complex128))))
    # Increment variance q^2 / fs; 160,000 increments, relative std 0.35 %.
    assert np.var(steps) == pytest.approx(q * q / FS, rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"offset_hz": 4500.0}, "exceeds"),
        ({"offset_hz": 3990.0, "rate_hz_per_s": 15.0}, "exceeds"),
        ({"rate_hz_per_s": 25.0}, "rate"),
        ({"fs_hz": 4000.0}, "sample rate"),
        ({"duration_s": 0.0}, "duration"),
    ],
)
def test_generator_rejects_out_of_range(kwargs, match):
    args = {"fs_hz": FS, "duration_s": 1.0, **kwargs}
    with pytest.raises(CarrierError, match=match):
        CarrierSignal(**args)


# -------------------------------------------------------------------- coherent frequencies


def test_coherent_frequencies_follow_icd_6():
    f32 = band("32cm-tlm").carrier_hz
    rest = downlink_frequencies(0.0, CoherentMode.TWO_WAY)
    # At rest the turnaround reproduces the nominal 32 cm carrier (39 cm = 922.76 x 5/6).
    assert rest.received_32cm_hz == pytest.approx(f32, rel=1e-15)
    assert rest.received_8cm_hz == 4 * rest.received_32cm_hz == pytest.approx(3691.04e6)
    v = 5.0  # km/s receding
    two = downlink_frequencies(v, CoherentMode.TWO_WAY)
    assert two.received_32cm_hz == pytest.approx(
        1.2 * band("39cm-up").carrier_hz * (1 - 2 * v * 1e3 / C_M_S), rel=1e-15
    )
    one = downlink_frequencies(v, CoherentMode.ONE_WAY, oscillator_offset_ppm=0.7)
    assert one.transmitted_8cm_hz == 4 * one.transmitted_32cm_hz
    assert one.received_8cm_hz == pytest.approx(
        4 * f32 * (1 + 0.7e-6) * (1 - v * 1e3 / C_M_S), rel=1e-15
    )
    with pytest.raises(CarrierError, match="ppm"):
        downlink_frequencies(v, CoherentMode.ONE_WAY, oscillator_offset_ppm=1.5)


@pytest.mark.parametrize("v_km_s", [-17.9, -0.3, 0.0, 4.2, 18.0])
def test_range_rate_inverts_the_doppler(v_km_s):
    two = downlink_frequencies(v_km_s, CoherentMode.TWO_WAY)
    one = downlink_frequencies(v_km_s, CoherentMode.ONE_WAY)
    for band_id in ("8cm-carrier", "32cm-tlm"):
        assert range_rate_from_doppler(
            two.received_hz(band_id), band_id, two_way=True
        ) == pytest.approx(v_km_s, abs=1e-9)
        assert range_rate_from_doppler(one.received_hz(band_id), band_id) == pytest.approx(
            v_km_s, abs=1e-9
        )
    # The ±1 ppm oscillator leaves ±c·1e-6 = ±0.29979 km/s on a one-way measurement.
    assert one_way_range_rate_bounds(one.received_8cm_hz) == pytest.approx(0.29979, abs=1e-4)


# ------------------------------------------------------------------------------ estimator


@pytest.mark.parametrize(("cn0_dbhz", "duration_s"), [(35.0, 2.0), (24.0, 4.0)])
def test_estimator_reaches_the_cramer_rao_bound(cn0_dbhz, duration_s):
    # 30 seeded trials at random offsets (±1.8 kHz) and rates (±15 Hz/s). For an efficient
    # estimator the mean-square error over 30 trials is CRLB² · chi²_30 / 30, which exceeds
    # (1.6 CRLB)² = 2.56 CRLB² with probability ~1e-5: the bound 1.6 leaves no room for
    # a biased or inefficient estimator, yet does not fail by chance.
    rng = np.random.default_rng(11)
    f_err, r_err, cn0 = [], [], []
    for _ in range(30):
        f0 = rng.uniform(-1800, 1800)
        rate = rng.uniform(-15, 15)
        if abs(f0 + rate * duration_s) > 1950:
            rate = -rate
        sig = CarrierSignal(FS, duration_s, f0, rate, cn0_dbhz, initial_phase_rad=rng.uniform(0, 6))
        est = estimate_carrier(sig.samples(rng), FS, tuned_frequency_hz=3.69e9)
        assert est.frequency_hz == pytest.approx(3.69e9 + est.frequency_offset_hz, abs=1e-6)
        f_err.append(est.frequency_offset_hz - (f0 + rate * est.reference_time_s))
        r_err.append(est.rate_hz_per_s - rate)
        cn0.append(est.cn0_dbhz)
    crlb_f = frequency_crlb_hz(cn0_dbhz, duration_s)
    crlb_r = rate_crlb_hz_per_s(cn0_dbhz, duration_s)
    assert math.sqrt(np.mean(np.square(f_err))) < 1.6 * crlb_f
    assert math.sqrt(np.mean(np.square(r_err))) < 1.6 * crlb_r
    # C/N0: one estimate has a std of about sqrt(2 / (C/N0·T)) (in power ratio), small here.
    assert np.mean(cn0) == pytest.approx(cn0_dbhz, abs=0.3)


def test_estimator_with_phase_noise_and_bad_samples():
    rng = np.random.default_rng(5)
    sig = CarrierSignal(
        FS, 4.0, -640.0, 12.0, 40.0, phase_noise_rad_per_sqrt_s=0.05, initial_phase_rad=1.0
    )
    x = sig.samples(rng)
    x[1000:1010] = np.nan
    x[5000] = np.inf
    est = estimate_carrier(x, FS)
    assert est.frequency_offset_hz == pytest.approx(-640.0 + 12.0 * 2.0, abs=0.05)
    assert est.rate_hz_per_s == pytest.approx(12.0, abs=0.05)


def test_noise_alone_is_no_signal():
    rng = np.random.default_rng(3)
    noise = (rng.standard_normal(40_000) + 1j * rng.standard_normal(40_000)).astype(np.complex64)
    with pytest.raises(NoSignalError, match="no carrier") as err:
        estimate_carrier(noise, FS)
    assert "\n" not in str(err.value)
    with pytest.raises(DecodeError, match="too few"):
        estimate_carrier(noise[:100], FS)


def test_weak_carrier_at_threshold_is_found():
    # 20 dB-Hz (the 8 cm threshold of ICD §7) for 2 s: energy-to-noise 23 dB, well above the
    # detection threshold of ~14 dB; the frequency error stays within 4 CRLB.
    rng = np.random.default_rng(4)
    sig = CarrierSignal(FS, 2.0, 1500.0, -8.0, 20.0)
    est = estimate_carrier(sig.samples(rng), FS)
    assert abs(est.frequency_offset_hz - (1500.0 - 8.0)) < 4 * frequency_crlb_hz(20.0, 2.0)


# ------------------------------------------------------------------ range rate vs geometry


@pytest.mark.parametrize("cn0_dbhz", [None, 30.0])
def test_two_way_range_rate_matches_geometry(tmp_path, cn0_dbhz):
    # The station's prediction is off by 30 m/s; the measurement must recover the truth.
    meta = synth_carrier(
        tmp_path / "rec",
        at_utc=AT,
        two_way=True,
        duration_s=4.0,
        cn0_dbhz=cn0_dbhz,
        rng=np.random.default_rng(6),
        prediction_error_m_s=30.0,
    )
    result = decode_carrier_to_dir(meta, tmp_path / "out", show_progress=False)
    summary = summary_record(result)
    truth = json.loads((tmp_path / "rec.truth.json").read_text())
    err_m_s = (summary["range_rate_two_way_km_s"] - truth["range_rate_mid_km_s"]) * 1e3
    # Noiseless: only float32 samples and the linear-drift model remain (well under 1 mm/s).
    # With noise: 4 sigma of sigma_v = (c/2) sigma_f / f, sigma_f the CRLB (~20 µm/s here).
    bound = 1e-3 if cn0_dbhz is None else 4e3 * summary["range_rate_two_way_std_km_s"] + 1e-4
    assert abs(err_m_s) < bound
    assert summary["coherent_mode"] == "two-way" == result.coherent_mode
    assert result.range_rate_km_s == result.range_rate_two_way_km_s
    assert summary["range_rate_km_s"] == summary["range_rate_two_way_km_s"]
    geometry = get_trajectory().range_rate_km_s(AT.replace(second=2))
    assert summary["predicted_range_rate_km_s"] == pytest.approx(geometry, abs=1e-9)
    assert (tmp_path / "out" / "spectrum.png").stat().st_size > 1000
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["band"] == "8cm-carrier"
    annotated = json.loads((tmp_path / "out" / "rec.sigmf-meta").read_text())
    assert annotated["annotations"][0]["core:label"] == "carrier"


def test_one_way_error_is_the_oscillator_offset(tmp_path):
    ppm = 0.45
    meta = synth_carrier(
        tmp_path / "rec",
        at_utc=AT,
        duration_s=2.0,
        cn0_dbhz=40.0,
        rng=np.random.default_rng(8),
        oscillator_offset_ppm=ppm,
    )
    result = decode_carrier_to_dir(meta, tmp_path / "out", show_progress=False)
    summary = summary_record(result)
    truth = json.loads((tmp_path / "rec.truth.json").read_text())
    err_km_s = summary["range_rate_one_way_km_s"] - truth["range_rate_mid_km_s"]
    # f_rx = f (1 + e)(1 - v/c) read as f (1 - v'/c): v' - v = -c e (1 - v/c).
    expected = -C_M_S * 1e-3 * ppm * 1e-6 * (1 - truth["range_rate_mid_km_s"] / (C_M_S * 1e-3))
    assert err_km_s == pytest.approx(expected, abs=1e-6)
    assert abs(err_km_s) <= summary["range_rate_one_way_uncertainty_km_s"]
    assert "range_rate_two_way_km_s" not in summary


def test_decoder_reduces_a_fast_recording(tmp_path):
    # 48 kS/s: blocks of D = 3 are averaged; the carrier at 1.9 kHz loses 0.2 dB there,
    # which the decoder restores in its C/N0.
    sig = CarrierSignal(48_000.0, 2.0, 1900.0, -10.0, 38.0)
    rng = np.random.default_rng(9)
    meta = write_recording(
        tmp_path / "fast",
        sig.chunks(rng, 30_000),
        fs_hz=48_000.0,
        band="8cm-carrier",
        start_utc=AT,
        center_frequency_hz=3.691e9,
    )
    result = decode_carrier_to_dir(open_recording(meta), tmp_path / "out", show_progress=False)
    summary = summary_record(result)
    assert summary["decimation"] == 3 == result.decimation
    assert result.estimate.n_samples == summary["analysed_samples"]
    t_ref = summary["reference_time_s"]
    assert summary["frequency_offset_hz"] == pytest.approx(
        1900.0 - 10.0 * t_ref, abs=4 * summary["frequency_std_hz"]
    )
    # The start offset combines both estimates: std sqrt(sf^2 + (T/2 sr)^2); allow 4 of it.
    std = math.hypot(summary["frequency_std_hz"], t_ref * summary["rate_std_hz_per_s"])
    assert summary["offset_at_start_hz"] == pytest.approx(1900.0, abs=4 * std)
    assert summary["cn0_dbhz"] == pytest.approx(38.0, abs=0.3)
    assert summary["coherent_mode"] == "one-way"


def test_a_recording_that_shrinks_keeps_the_estimate_made(tmp_path):
    """Once the whole decode was lost to the short read: now the carrier of what was read,
    written like any other (summary, annotation), with a warning saying where it ended."""
    fs_hz = 48_000.0
    x = CarrierSignal(fs_hz, 12.0, 1900.0, -10.0, 45.0).samples(np.random.default_rng(12))
    common = dict(fs_hz=fs_hz, band="8cm-carrier", start_utc=AT, center_frequency_hz=3.691e9)
    recording = open_recording(write_recording(tmp_path / "rec", [x], **common))
    os.truncate(recording.data_path, 8 * (x.size * 2 // 3))  # cf32: 8 bytes a sample
    result = decode_carrier_to_dir(recording, tmp_path / "out", show_progress=False)
    assert [w for w in result.warnings if "shrank" in w] == result.warnings != []
    fed = result.estimate.n_samples
    assert x.size // 3 <= fed < x.size * 2 // 3
    # the estimate is the one a recording holding just those samples gives
    alone = write_recording(tmp_path / "first", [x[:fed]], **common)
    assert decode_carrier_to_dir(alone, None, show_progress=False).estimate == result.estimate
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["analysed_samples"] == fed and summary["warnings"] == result.warnings
    meta = json.loads((tmp_path / "out" / "rec.sigmf-meta").read_text())
    assert [a["core:label"] for a in meta["annotations"]] == ["carrier"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_decoder_reports_no_carrier(tmp_path):
    rng = np.random.default_rng(10)
    noise = (0.1 * (rng.standard_normal(16_000) + 1j * rng.standard_normal(16_000))).astype(
        np.complex64
    )
    meta = write_recording(
        tmp_path / "empty",
        [noise],
        fs_hz=FS,
        band="8cm-carrier",
        start_utc=AT,
        center_frequency_hz=3.691e9,
    )
    with pytest.raises(NoSignalError):
        decode_carrier_to_dir(meta, tmp_path / "out", show_progress=False)
    assert not (tmp_path / "out" / "summary.json").exists()


def test_synth_refuses_oscillator_beyond_icd(tmp_path):
    # ICD §6: the one-way oscillator is within ±1 ppm (3.7 kHz at 3691 MHz, inside the ±4 kHz
    # residual the 8 cm band allows); 1.2 ppm is refused before anything is written.
    with pytest.raises(ConfigError, match="exceeds"):
        synth_carrier(
            tmp_path / "rec", at_utc=AT, rng=np.random.default_rng(0), oscillator_offset_ppm=1.2
        )
    assert not list(tmp_path.iterdir())


def test_command_line_synth_and_decode(tmp_path, capsys):
    from groundstation.cli.app import main

    name = tmp_path / "c"
    argv = ["synth", "carrier", "--at", "1963-02-01T12:00:00Z", "--two-way", "--duration", "2"]
    assert main([*argv, "--cn0-dbhz", "35", "--seed", "3", "-o", str(name)]) == 0
    assert main(["decode", str(name) + ".sigmf-meta", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "carrier at" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    truth = json.loads((tmp_path / "c.truth.json").read_text())
    assert summary["range_rate_two_way_km_s"] == pytest.approx(
        truth["range_rate_mid_km_s"], abs=1e-6
    )
    assert main(["synth", "carrier", "--at", "1962-10-01T00:00:00Z", "-o", str(name)]) == 2
    assert "before the launch" in capsys.readouterr().err


def test_uplink_recording_and_estimate_from_a_recording(tmp_path):
    # A 39 cm uplink as received on board: one way, the station's transmitter the reference.
    f_up = band("39cm-up").carrier_hz
    v_km_s = 3.5
    tuned = f_up * (1 - v_km_s * 1e3 / C_M_S) + 400.0  # prediction 400 Hz too high
    sig = CarrierSignal(FS, 2.0, -400.0, 0.0, 40.0, band_id="39cm-up")
    meta = write_recording(
        tmp_path / "up",
        sig.chunks(np.random.default_rng(12)),
        fs_hz=FS,
        band="39cm-up",
        start_utc=AT,
        center_frequency_hz=tuned,
    )
    rec = open_recording(meta)
    est = estimate_carrier(rec)
    assert est.frequency_hz == pytest.approx(tuned - 400.0, abs=4 * est.frequency_std_hz)
    result = decode_carrier_to_dir(rec, tmp_path / "out", show_progress=False)
    summary = summary_record(result)
    assert summary["range_rate_km_s"] == pytest.approx(v_km_s, abs=1e-6)
    assert "range_rate_one_way_km_s" not in summary


def test_decoder_rejects_bad_coherent_metadata(tmp_path):
    sig = CarrierSignal(FS, 0.5, 100.0)
    meta = write_recording(
        tmp_path / "bad",
        sig.chunks(np.random.default_rng(0)),
        fs_hz=FS,
        band="8cm-carrier",
        start_utc=AT,
        center_frequency_hz=3.691e9,
        extra_global={"mars1:coherent_mode": "three-way"},
    )
    with pytest.raises(DecodeError, match="one-way or two-way"):
        decode_carrier_to_dir(meta, tmp_path / "out", show_progress=False)
    with pytest.raises(DecodeError, match="fs_hz"):
        estimate_carrier(np.ones(1000, np.complex64))


@pytest.mark.parametrize("mode", [CoherentMode.ONE_WAY, CoherentMode.TWO_WAY])
def test_predicted_downlink_agrees_with_geometry_doppler(mode):
    from signals.modulators.carrier import predicted_downlink

    traj = get_trajectory()
    two_way = mode is CoherentMode.TWO_WAY
    pred = predicted_downlink(AT, mode)
    doppler = traj.doppler_hz("8cm-carrier", AT, two_way=two_way)
    assert pred.received_8cm_hz - band("8cm-carrier").carrier_hz == pytest.approx(doppler, abs=1e-4)
    assert pred.range_rate_km_s == traj.range_rate_km_s(AT)


@pytest.mark.parametrize("seed", range(6))
def test_the_refinement_finds_the_likelihood_maximum(seed):
    """Newton's steps on the exact derivatives land on the maximum of |Σ z·exp(…)|² that
    a derivative-free search (scipy's Nelder-Mead, tight tolerances) finds from the same
    start, a fraction of a cell away: the same (f, r) to 1e-6 of a cell, the same power."""
    from scipy.optimize import minimize

    from groundstation.receivers.carrier import _refine

    rng = np.random.default_rng(seed)
    duration_s = rng.uniform(5.0, 60.0)
    t = np.linspace(-duration_s / 2, duration_s / 2, 2048)
    fscale, rscale = 1.0 / duration_s, 1.0 / duration_s**2
    df, dr = rng.uniform(-0.5, 0.5) * fscale, rng.uniform(-0.5, 0.5) * rscale
    snr = 10 ** rng.uniform(-0.5, 1.5)
    z = snr * np.exp(2j * np.pi * (df * t + 0.5 * dr * t * t)) + (
        rng.standard_normal(t.size) + 1j * rng.standard_normal(t.size)
    ) / np.sqrt(2)

    def cost(p):
        w = np.exp(-2j * np.pi * (p[0] * fscale * t + 0.5 * p[1] * rscale * t * t))
        return -(abs(np.dot(z, w)) ** 2)

    (got_df, got_dr), power = _refine(z, t, 0.0, 0.0, fscale, rscale)
    ref = minimize(cost, [0.0, 0.0], method="Nelder-Mead",
                   options={"xatol": 1e-9, "fatol": 1e-14, "maxiter": 4000})  # fmt: skip
    assert got_df / fscale == pytest.approx(ref.x[0], abs=1e-6)
    assert got_dr / rscale == pytest.approx(ref.x[1], abs=1e-6)
    assert power == pytest.approx(-ref.fun, rel=1e-12)
