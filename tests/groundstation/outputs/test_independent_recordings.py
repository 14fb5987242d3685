"""The project's decoder on recordings made by an independent reading of the ICD.

``tests/independent/`` holds a PPM transmitter, a telemetry transmitter and a SigMF writer
written from ``ICD.md`` alone (they import nothing from ``signals`` or ``groundstation``).
Every case writes a recording into ``tmp_path``, runs ``python -m groundstation decode`` on
it as a user would, and compares the output folder with what was sent.

Error-rate arguments for the fixed seeds: at Es/N0 = 16 dB the ICD's 64-ary non-coherent
symbol error rate is 7e-8, and the sampled pulse loses at most 0.6 dB (P_s < 2e-6 at
15.4 dB), so a few hundred periods decode bit-exact with probability > 0.999. At
Eb/N0 = 12 dB coherent BPSK has P_b = 9e-9, so a few thousand bits decode bit-exact
with probability > 0.9999. A failure here is a decoder or ICD-reading problem, not luck.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from independent import ppm_tx, sigmf_raw, tlm_tx
from PIL import Image
from scipy.special import j0, j1

REPO_ROOT = Path(__file__).resolve().parents[3]
START_UTC = datetime(1962, 11, 5, 9, 0, 0, tzinfo=UTC)


def decode(meta_path: Path, outdir: Path) -> dict:
    """Run the command line decoder; return its summary.json."""
    result = subprocess.run(
        [sys.executable, "-m", "groundstation", "decode", str(meta_path), "-o", str(outdir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"decode failed ({result.returncode}): {result.stderr}"
    return json.loads((outdir / "summary.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------- PPM


@dataclass(frozen=True)
class ImageSpec:
    image_id: int
    lines: int
    pixels: int
    mode: int = 0
    faded_lines: tuple[int, ...] = ()
    spoil_first_header: bool = False


@dataclass(frozen=True)
class PpmCase:
    name: str
    fs_hz: float  # an int is written as a JSON integer
    images: tuple[ImageSpec, ...]
    channel: ppm_tx.PpmChannel
    datatype: str = "cf32_le"
    esn0_db: float = 16.0
    write_band: bool = True
    write_nominal: bool = True
    doppler_hz: float = -351_600.0  # predicted Doppler programmed into the tuning


LIMITS_PLUS = ppm_tx.PpmChannel(100.0, 1.0, 6e-5, 30_000.0, 5.0)
LIMITS_MINUS = ppm_tx.PpmChannel(-100.0, -1.0, -6e-5, -30_000.0, -5.0)

PPM_CASES = [
    PpmCase("180k-limits-plus", 180_000.0, (ImageSpec(101, 12, 12),), LIMITS_PLUS),
    PpmCase(
        "200k-limits-minus-ci16-integer-rate",
        200_000,
        (ImageSpec(2047, 10, 14),),
        LIMITS_MINUS,
        datatype="ci16_le",
    ),
    PpmCase(
        "100k-mixed-cf64",
        100_000.0,
        (ImageSpec(64, 11, 10),),
        ppm_tx.PpmChannel(-100.0, 1.0, 6e-5, 17_250.0, -5.0),
        datatype="cf64_le",
    ),
    PpmCase(
        "90k-faded-line",
        90_000.0,
        (ImageSpec(7, 12, 12, faded_lines=(5,)),),
        ppm_tx.PpmChannel(100.0, -1.0, -6e-5, -30_000.0, 5.0),
    ),
    PpmCase(
        "137k-survey-faded-band-from-nominal",
        137_000.0,
        (ImageSpec(4095, 16, 12, mode=2, faded_lines=(6,)),),
        ppm_tx.PpmChannel(60.0, 1.0, -4e-5, 22_000.0, -3.0),
        write_band=False,
    ),
    PpmCase(
        "180k-repeat-band-from-capture",
        180_000.0,
        (ImageSpec(300, 10, 10), ImageSpec(301, 10, 12), ImageSpec(300, 10, 10)),
        ppm_tx.PpmChannel(-40.0, 0.0, 2e-5, -8_000.0, 1.0),
        write_band=False,
        write_nominal=False,
    ),
    PpmCase(
        "180k-first-header-spoiled",
        180_000.0,
        (ImageSpec(1234, 10, 10, spoil_first_header=True),),
        ppm_tx.PpmChannel(25.0, 0.0, 1e-5, 3_000.0, 0.0),
    ),
]


def grey_to_png(grey: np.ndarray) -> np.ndarray:
    """ICD §3: 8-bit grey = round(g·255/63) (g·255/63 is never a half-integer)."""
    return np.rint(np.asarray(grey) * 255 / 63).astype(np.uint8)


def sampled_esn0_db(esn0_db: float, fs_hz: float) -> float:
    """Es/N0 kept in the samples' sum of squares, for a pulse at a uniformly random start.

    A pulse n = fs·τ samples long overlaps the samples by widths w_k (sum n); its samples
    keep Σ w_k² / n of Es. For integer n the mean over the start is 1 - 1/(3n): -0.38 dB
    at 180 kS/s, -0.79 dB at 90 kS/s (ICD §2).
    """
    n = fs_hz * ppm_tx.CHIP_S
    start = (np.arange(1000) + 0.5) / 1000
    edge = np.arange(int(np.ceil(n)) + 2)
    width = np.clip(
        np.minimum(start[:, None] + n, edge + 1.0) - np.maximum(start[:, None], edge), 0.0, None
    )
    return esn0_db + 10 * math.log10(float(np.mean(np.sum(width**2, axis=1))) / n)


def check_image(entry: dict, image: ppm_tx.PpmImage, outdir: Path, png_name: str) -> None:
    assert entry["id"] == image.image_id
    assert entry["lines"] == image.lines
    assert entry["pixels"] == image.pixels
    assert entry["mode"] == image.mode
    received = image.received_lines()
    missing = sorted(set(image.sent_lines().tolist()) & set(image.faded_lines))
    assert entry["lines_received"] == received.size
    assert sorted(entry["lines_missing"]) == missing
    pixels = np.asarray(Image.open(outdir / "images" / f"{png_name}.png").convert("L"))
    mask = np.asarray(Image.open(outdir / "images" / f"{png_name}_mask.png").convert("L"))
    assert pixels.shape == (image.lines, image.pixels)
    assert mask.shape == (image.lines, image.pixels)
    np.testing.assert_array_equal(pixels[received], grey_to_png(image.grey[received]))
    expected_mask = np.zeros(image.lines, dtype=np.uint8)
    expected_mask[received] = 255
    np.testing.assert_array_equal(mask, np.repeat(expected_mask[:, None], image.pixels, axis=1))


def check_line_annotations(
    annotations: list[dict], images: list[ppm_tx.PpmImage], tx: ppm_tx.PpmTransmission, fs_hz: float
) -> None:
    """ICD §2: one annotation per received line, starting at its marker period."""
    found = [
        (a["core:label"], a["core:sample_start"])
        for a in annotations
        if a["core:label"].startswith("ppm-line")
    ]
    expected = []
    for image, line_start_s in zip(images, tx.line_start_s, strict=True):
        keep = ~np.isin(image.sent_lines(), image.faded_lines)
        for line, start_s in zip(image.sent_lines()[keep], line_start_s[keep], strict=True):
            expected.append((f"ppm-line {line}", start_s * fs_hz))
    assert len(found) == len(expected)
    for label, start in expected:
        offsets = [abs(s - start) for lab, s in found if lab == label]
        assert offsets and min(offsets) <= 2.0, (label, start, offsets)


@pytest.mark.parametrize("case", PPM_CASES, ids=lambda c: c.name)
def test_ppm_independent_recording(case: PpmCase, tmp_path: Path) -> None:
    rng = np.random.default_rng(sum(map(ord, case.name)))
    images = [
        ppm_tx.random_image(
            spec.image_id,
            spec.lines,
            spec.pixels,
            rng,
            mode=spec.mode,
            faded_lines=spec.faded_lines,
            spoil_first_header=spec.spoil_first_header,
        )
        for spec in case.images
    ]
    tx = ppm_tx.transmit(
        images, fs_hz=case.fs_hz, esn0_db=case.esn0_db, rng=rng, channel=case.channel
    )
    meta = sigmf_raw.write_sigmf(
        tmp_path / "rec",
        tx.samples,
        fs_hz=case.fs_hz,
        band="5cm-ppm",
        center_frequency_hz=sigmf_raw.NOMINAL_CARRIER_HZ["5cm-ppm"] + case.doppler_hz,
        start_utc=START_UTC,
        datatype=case.datatype,
        write_band=case.write_band,
        write_nominal_frequency=case.write_nominal,
    )
    outdir = tmp_path / "out"
    summary = decode(meta, outdir)
    assert summary["band"] == "5cm-ppm"
    entries = summary["images"]
    assert [e["id"] for e in entries] == [im.image_id for im in images]
    seen: dict[int, int] = {}
    for entry, image in zip(entries, images, strict=True):
        seen[image.image_id] = seen.get(image.image_id, 0) + 1
        suffix = "" if seen[image.image_id] == 1 else f"_{seen[image.image_id]}"
        check_image(entry, image, outdir, f"image_{image.image_id}{suffix}")
        assert entry["snr_db"] == pytest.approx(sampled_esn0_db(case.esn0_db, case.fs_hz), abs=1.0)
        # received intervals are × (1 + ε)(1 + v/c) (ICD §3); drift adds < 0.01 ppm here
        timing_ppm = (
            (1 + case.channel.clock_ppm * 1e-6) * (1 + case.channel.doppler_v_over_c) - 1
        ) * 1e6
        assert entry["clock_ppm"] == pytest.approx(timing_ppm, abs=3.0)
    annotated = json.loads((outdir / "rec.sigmf-meta").read_text(encoding="utf-8"))
    check_line_annotations(annotated["annotations"], images, tx, case.fs_hz)


# ------------------------------------------------------------------------- telemetry


@dataclass(frozen=True)
class TlmCase:
    name: str
    band: str
    fs_hz: float
    bit_rate_bps: float
    n_frames: int
    channel: tlm_tx.TlmChannel
    invert: bool = False
    ebn0_db: float = 12.0
    carrier_s: float = 3.0007
    write_band: bool = True
    write_nominal: bool = True
    doppler_hz: float = 45_310.0
    bad_parity: tuple[tuple[int, tuple[int, ...]], ...] = ()  # (frame index, word numbers)
    start_utc: datetime = START_UTC


TLM_CASES = [
    TlmCase(
        "32cm-64bps-limits-inverted",
        "32cm-tlm",
        8_000.0,
        64.0,
        4,
        tlm_tx.TlmChannel(1_520.0, 5.0, 0.05, 100.0, 0.7),
        invert=True,
    ),
    TlmCase(
        "32cm-128bps-9k6-band-from-capture",
        "32cm-tlm",
        9_600.0,
        128.0,
        6,
        tlm_tx.TlmChannel(-1_850.0, -5.0, 0.05, -100.0, 2.1),
        carrier_s=2.50031,
        write_band=False,
        write_nominal=False,
    ),
    TlmCase(
        "1.6m-64bps-band-from-nominal",
        "1.6m-tlm",
        8_000.0,
        64.0,
        3,
        tlm_tx.TlmChannel(-640.0, 2.5, 0.03, 40.0, -1.0),
        write_band=False,
        doppler_hz=9_020.0,
    ),
    TlmCase(
        "1.6m-16bps-parity-errors",
        "1.6m-tlm",
        8_000.0,
        16.0,
        3,
        tlm_tx.TlmChannel(1_990.0, -4.0, 0.05, -70.0, 0.0),
        invert=True,
        doppler_hz=-8_870.0,
        bad_parity=((1, (4,)), (2, (9, 31))),
        start_utc=datetime(1962, 12, 13, 10, 29, 59, 750_000, tzinfo=UTC),
    ),
]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("case", TLM_CASES, ids=lambda c: c.name)
def test_tlm_independent_recording(case: TlmCase, tmp_path: Path) -> None:
    rng = np.random.default_rng(sum(map(ord, case.name)))
    first_counter = int(rng.integers(0, 128))
    frames = tlm_tx.random_frames(case.n_frames, first_counter, rng, dict(case.bad_parity))
    tx = tlm_tx.transmit(
        frames,
        fs_hz=case.fs_hz,
        bit_rate_bps=case.bit_rate_bps,
        ebn0_db=case.ebn0_db,
        rng=rng,
        channel=case.channel,
        carrier_s=case.carrier_s,
        invert=case.invert,
    )
    meta = sigmf_raw.write_sigmf(
        tmp_path / "rec",
        tx.samples,
        fs_hz=case.fs_hz,
        band=case.band,
        center_frequency_hz=sigmf_raw.NOMINAL_CARRIER_HZ[case.band] + case.doppler_hz,
        start_utc=case.start_utc,
        bit_rate_bps=case.bit_rate_bps,
        write_band=case.write_band,
        write_nominal_frequency=case.write_nominal,
    )
    outdir = tmp_path / "out"
    summary = decode(meta, outdir)
    rows = read_csv(outdir / "telemetry.csv")

    assert summary["band"] == case.band
    assert summary["frames"] == len(frames) == len(rows)
    assert summary["parity_failures"] == sum(not f.parity_ok for f in frames)
    for k, (row, frame) in enumerate(zip(rows, frames, strict=True)):
        assert int(row["frame_counter"]) == frame.counter
        assert int(row["frame_type"]) == frame.frame_type
        assert row["parity_ok"] == ("true" if frame.parity_ok else "false")
        words = [int(row[f"w{i:02d}"]) for i in range(tlm_tx.WORDS_PER_FRAME)]
        assert words == frame.words.tolist(), f"frame {k}"
        for name in tlm_tx.ALL_CHANNEL_NAMES:
            if name not in frame.values:
                assert row[name] == "", name
            elif frame.parity_ok:
                assert float(row[name]) == pytest.approx(frame.values[name], abs=1e-9), name
        first_bit_s = tx.first_bit_s + k * tlm_tx.BITS_PER_FRAME * tx.bit_s
        assert abs(int(row["sample_start"]) - first_bit_s * case.fs_hz) < 3.0
        time_utc = datetime.fromisoformat(row["time_utc"])
        expected_utc = case.start_utc + timedelta(seconds=first_bit_s)
        assert abs((time_utc - expected_utc).total_seconds()) < 3.0 / case.fs_hz

    # ICD §2: one annotation per frame, at its first bit, with the counter and parity verdict
    annotated = json.loads((outdir / "rec.sigmf-meta").read_text(encoding="utf-8"))
    frame_notes = [a for a in annotated["annotations"] if a["core:label"].startswith("tlm-frame")]
    assert [a["core:sample_start"] for a in frame_notes] == [int(r["sample_start"]) for r in rows]
    assert [a["mars1:frame_counter"] for a in frame_notes] == [f.counter for f in frames]
    assert [a["mars1:parity_ok"] for a in frame_notes] == [f.parity_ok for f in frames]
    # the residual carrier is an absolute phase reference (ICD §4: bit 1 -> +1, +β·sin), so
    # the polarity the decoder corrected must be the one this transmitter sent
    assert [a["mars1:inverted"] for a in frame_notes] == [case.invert] * len(frames)

    # link estimates against what was set
    cn0_dbhz = case.ebn0_db + 10 * math.log10(case.bit_rate_bps) - 10 * math.log10(2 * j1(1.0) ** 2)
    assert summary["ebn0_db"] == pytest.approx(case.ebn0_db, abs=1.0)
    assert summary["cn0_dbhz"] == pytest.approx(cn0_dbhz, abs=1.0)
    assert summary["carrier_offset_hz"] == pytest.approx(case.channel.carrier_offset_hz, abs=3.0)
    assert summary["carrier_rate_hz_per_s"] == pytest.approx(
        case.channel.carrier_rate_hz_per_s, abs=0.3
    )


# ------------------------------------------------- the reference transmitters themselves


def test_ppm_integrate_and_dump_matches_fine_grid_average() -> None:
    """Analytic integration equals a brute-force average of the envelope on a fine grid."""
    fs_hz, n_fine = 137_000.0, 2000
    start_s = np.array([0.001234, 0.0021])
    stop_s = start_s + ppm_tx.CHIP_S * (1 + 1e-4)
    phase = np.array([0.3, 1.2])
    kwargs = {"carrier_offset_hz": -30_000.0, "carrier_rate_hz_per_s": 5.0}
    got = ppm_tx.integrate_pulses(start_s, stop_s, phase, 400, fs_hz=fs_hz, amplitude=1.0, **kwargs)
    t = (np.arange(400 * n_fine) + 0.5) / (fs_hz * n_fine)
    envelope = np.zeros(t.size, dtype=np.complex128)
    for a, b, p in zip(start_s, stop_s, phase, strict=True):
        on = (t >= a) & (t < b)
        envelope[on] = np.exp(1j * (p + 2 * np.pi * (-30_000.0 * t[on] + 2.5 * t[on] ** 2)))
    expected = envelope.reshape(400, n_fine).mean(axis=1)
    # the fine grid resolves a pulse edge to 1/n_fine of a sample
    np.testing.assert_allclose(got, expected, atol=2.0 / n_fine)


def test_ppm_pulse_energy_and_noise_level() -> None:
    """An aligned pulse at 4 samples per chip keeps Es = A²·τ; noise variance is N0·fs."""
    fs_hz = 180_000.0
    image = ppm_tx.PpmImage(5, np.zeros((1, 1), dtype=np.int64))
    tx = ppm_tx.transmit(
        [image], fs_hz=fs_hz, esn0_db=300.0, rng=np.random.default_rng(1), lead_s=0.0
    )
    chips = ppm_tx.pulse_chips(image.period_codes())
    first = int(chips[0] * ppm_tx.CHIP_S * fs_hz)
    pulse = tx.samples[first : first + 4]
    assert np.sum(np.abs(pulse) ** 2) / fs_hz == pytest.approx(tx.amplitude**2 * ppm_tx.CHIP_S)
    silent = ppm_tx.transmit(
        [image], fs_hz=fs_hz, esn0_db=10.0, rng=np.random.default_rng(2), amplitude=1e-9
    )
    # 1e-9 amplitude: the samples are noise; var of the sample variance is 1/n relative
    n0 = 1e-18 * ppm_tx.CHIP_S / 10.0
    assert np.var(silent.samples) == pytest.approx(n0 * fs_hz, rel=6 / np.sqrt(silent.samples.size))


def test_ppm_header_and_line_layout() -> None:
    image = ppm_tx.PpmImage(4095, np.full((16, 3), 63), mode=2)
    header = image.header()
    np.testing.assert_array_equal(header[:7], [63, 63, 0, 16, 0, 3, 2])
    assert header[7] == (63 + 63 + 16 + 3 + 2) % 64
    codes = image.period_codes()
    assert codes.size == 2 * 9 + 8 * (5 + 3)
    line_2 = codes[image.line_periods()[1] :][:8]
    np.testing.assert_array_equal(line_2, [ppm_tx.LINE_MARKER, 0, 2, 0, 63, 63, 63, 63])


def test_tlm_frames_have_sync_and_odd_parity() -> None:
    frames = tlm_tx.random_frames(6, 126, np.random.default_rng(3))
    assert [f.counter for f in frames] == [126, 127, 0, 1, 2, 3]
    assert [f.frame_type for f in frames] == [0, 1, 0, 1, 0, 1]
    for frame in frames:
        assert frame.words[:3].tolist() == [0xFA, 0xF3, 0x20]
        assert frame.parity_ok
        assert frame.words[3] >> 1 == frame.counter
        assert frame.words[4] >> 1 == frame.frame_type
    spare = frames[0].words[20:] >> 1
    assert not spare.any()
    bad = tlm_tx.random_frames(1, 0, np.random.default_rng(3), {0: (9,)})[0]
    assert not bad.parity_ok


def test_tlm_carrier_power_and_bits_noise_free() -> None:
    """J0(β) of the amplitude stays in the carrier; the phase carries β·d·sin(2π·f_sc·t)."""
    fs_hz, rate_bps = 8_192.0, 128.0  # 64 samples per bit
    frames = tlm_tx.random_frames(1, 0, np.random.default_rng(4))
    tx = tlm_tx.transmit(
        frames,
        fs_hz=fs_hz,
        bit_rate_bps=rate_bps,
        ebn0_db=300.0,
        rng=np.random.default_rng(5),
        carrier_s=0.5,
        tail_s=0.0,
    )
    first = round(tx.first_bit_s * fs_hz)
    per_bit = round(tx.bit_s * fs_hz)
    body = tx.samples[first : first + tlm_tx.BITS_PER_FRAME * per_bit]
    assert abs(body.mean()) == pytest.approx(float(j0(1.0)), abs=1e-3)
    t = np.arange(body.size) / fs_hz
    correlation = np.angle(body) * np.sin(2 * np.pi * tlm_tx.SUBCARRIER_HZ * t)
    bits = correlation.reshape(-1, per_bit).sum(axis=1) > 0
    np.testing.assert_array_equal(bits, tlm_tx.frame_bits(frames).astype(bool))


@pytest.mark.parametrize("datatype", ["cf32_le", "ci16_le", "cf64_le"])
def test_sigmf_raw_round_trip(datatype: str, tmp_path: Path) -> None:
    samples = np.exp(1j * np.linspace(0, 7, 50)) * np.linspace(0, 0.99, 50)
    meta_path = sigmf_raw.write_sigmf(
        tmp_path / "x",
        samples,
        fs_hz=1e5,
        band="5cm-ppm",
        center_frequency_hz=5.86e9,
        start_utc=START_UTC,
        datatype=datatype,
        write_band=False,
    )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["global"]["core:datatype"] == datatype
    assert "mars1:band" not in meta["global"]
    assert meta["captures"][0]["core:datetime"] == "1962-11-05T09:00:00Z"
    raw = np.fromfile(tmp_path / "x.sigmf-data", dtype=sigmf_raw.COMPONENT_DTYPE[datatype])
    scale = 1 / sigmf_raw.CI16_FULL_SCALE if datatype == "ci16_le" else 1.0
    back = (raw[0::2] + 1j * raw[1::2]) * scale
    np.testing.assert_allclose(back, samples, atol=1e-6 if datatype == "cf32_le" else scale)
    with pytest.raises(sigmf_raw.SigmfRawError, match="clip"):
        sigmf_raw.interleave(np.array([1.5 + 0j]), "ci16_le")


def test_other_datatypes_are_refused_in_one_line(tmp_path: Path) -> None:
    """ICD §2: anything but cf32_le, cf64_le, ci16_le, ci8, cu8 is rejected with a clear error."""
    meta_path = sigmf_raw.write_sigmf(
        tmp_path / "x",
        np.zeros(1000, dtype=np.complex128),
        fs_hz=180_000,
        band="5cm-ppm",
        center_frequency_hz=5.86e9,
        start_utc=START_UTC,
    )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["global"]["core:datatype"] = "ri16_le"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "groundstation",
            "decode",
            str(meta_path),
            "-o",
            str(tmp_path / "o"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "ri16_le" in message, message
