"""PPM receiver from samples alone: round trips, impairments at the ICD limits, fades,
sample rates, truncation, non-finite samples, noise only, surveys and repeats."""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.receivers.ppm import ArraySource, decode_ppm
from signals.formats.ppm import PERIOD_S
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap
from signals.sources.images import IMAGE_SOURCES, make_image

# At Es/N0 = 16 dB a symbol error has probability 7e-8 (ICD §3), a few 1e-6 after the
# sampling loss at the worst carrier offset: a few thousand symbols decode exactly.
HIGH_ESN0_DB = 16.0


def _decode(items, *, fs_hz=180e3, channel=None, lead_s=0.0371, tail_s=0.05, seed=0):
    sig = PpmSignal(items, fs_hz=fs_hz, channel=channel, lead_s=lead_s, tail_s=tail_s)
    x = sig.samples(np.random.default_rng(seed))
    return sig, x, decode_ppm(ArraySource(x, fs_hz))


def _assert_exact(image, decoded, missing=()):
    lines = [n for n in range(image.shape[0]) if n not in missing]
    assert decoded.received[lines].all()
    assert not decoded.received[list(missing)].any()
    assert np.array_equal(decoded.grey[lines], image[lines])
    assert np.all(decoded.grey[list(missing)] == 0)


@pytest.mark.parametrize("source", sorted(IMAGE_SOURCES))
@pytest.mark.parametrize("esn0_db", [None, HIGH_ESN0_DB])
def test_round_trip_every_source(source, esn0_db):
    image = make_image(source, 20, 24, np.random.default_rng(5))
    channel = PpmChannel(clock_ppm=23, carrier_offset_hz=4100, esn0_db=esn0_db)
    _, _, result = _decode([ImageTransmission(image, 77)], channel=channel, seed=2)
    assert len(result.images) == 1
    decoded = result.images[0]
    assert (decoded.image_id, decoded.lines, decoded.pixels, decoded.mode) == (77, 20, 24, 0)
    _assert_exact(image, decoded)
    assert decoded.lines_missing == []
    assert result.nonfinite_samples == 0 and result.warnings == []


@pytest.mark.parametrize("sign", [1, -1])
def test_every_impairment_at_its_icd_limit(sign):
    image = make_image("random", 32, 32, np.random.default_rng(8))
    channel = PpmChannel(
        clock_ppm=100 * sign,
        drift_ppm_per_hour=1.0 * sign,
        doppler_v_over_c=6e-5 * sign,
        carrier_offset_hz=30_000 * sign,
        carrier_rate_hz_per_s=5 * sign,
        esn0_db=HIGH_ESN0_DB,
    )
    sig, _, result = _decode([ImageTransmission(image, 4095)], channel=channel, seed=3)
    (decoded,) = result.images
    _assert_exact(image, decoded)
    # The receiver's own estimates: carrier within 1 kHz, period length within 2 ppm.
    assert decoded.carrier_offset_hz == pytest.approx(
        sig.carrier_offset_hz(decoded.sample_start / sig.fs_hz), abs=1000
    )
    true_ppm = ((1 + 1e-4 * sign) * (1 + 6e-5 * sign) - 1) * 1e6
    assert decoded.clock_ppm == pytest.approx(true_ppm, abs=2.0)
    truth = sig.truth()["images"][0]
    assert abs(decoded.sample_start - truth["sample_start"]) <= 1


def test_a_fast_drifting_clock_is_followed():
    # 0.1 ppm/s (360 times the ICD limit) over a 28 s image: the grid departs from any one
    # straight line by about ±0.45 chip, far more than a slot window tolerates.
    image = make_image("random", 48, 48, np.random.default_rng(2))
    channel = PpmChannel(clock_ppm=-60, drift_ppm_per_hour=360.0, esn0_db=HIGH_ESN0_DB)
    _, _, result = _decode([ImageTransmission(image, 5)], channel=channel, seed=4)
    _assert_exact(image, result.images[0])


def test_faded_lines_are_reported_missing_and_no_other():
    image = make_image("mars", 40, 32, np.random.default_rng(1))
    faded = (3, 10, 11, 12, 30, 39)
    channel = PpmChannel(clock_ppm=70, carrier_offset_hz=-12_000, esn0_db=HIGH_ESN0_DB)
    _, _, result = _decode(
        [ImageTransmission(image, 12, faded_lines=faded)], channel=channel, seed=5
    )
    (decoded,) = result.images
    assert decoded.lines_missing == list(faded)
    _assert_exact(image, decoded, missing=faded)
    assert decoded.header is not None and decoded.header.image_id == 12
    assert [line.line for line in decoded.received_lines] == [
        n for n in range(40) if n not in faded
    ]
    for line in decoded.received_lines:
        assert line.image_id == 12 and np.array_equal(line.grey, decoded.grey[line.line])


@pytest.mark.parametrize("fs_hz", [200e3, 100e3, 90e3, 123_456.7])
def test_sample_rates(fs_hz):
    image = make_image("random", 24, 24, np.random.default_rng(6))
    channel = PpmChannel(
        clock_ppm=-50, doppler_v_over_c=3e-5, carrier_offset_hz=8000, esn0_db=HIGH_ESN0_DB
    )
    _, _, result = _decode([ImageTransmission(image, 1)], fs_hz=fs_hz, channel=channel, seed=7)
    _assert_exact(image, result.images[0])


def test_truncated_recording_gives_the_partial_image_and_a_warning():
    image = make_image("bars", 30, 20, np.random.default_rng(0))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB)
    sig = PpmSignal([ImageTransmission(image, 2)], fs_hz=180e3, channel=channel, lead_s=0.02)
    x = sig.samples(np.random.default_rng(1))
    # Cut in the middle of line 17 (each line is 25 periods after the 18-period preamble).
    cut = int(sig.period_start_samples(np.array([18 + 17 * 25 + 12]))[0])
    result = decode_ppm(ArraySource(x[:cut], 180e3))
    (decoded,) = result.images
    assert decoded.truncated
    assert decoded.lines_missing == list(range(17, 30))
    _assert_exact(image, decoded, missing=range(17, 30))
    assert any("ends inside image 2" in w for w in result.warnings)


def test_non_finite_samples_are_erasures():
    image = make_image("random", 20, 16, np.random.default_rng(3))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB)
    sig = PpmSignal([ImageTransmission(image, 6)], fs_hz=180e3, channel=channel, lead_s=0.02)
    x = sig.samples(np.random.default_rng(2))
    _, periods = sig.pixel_periods(0)
    bad = 0
    for line, value in ((5, np.nan), (9, np.inf), (9, -np.inf)):
        start = int(sig.period_start_samples(periods[line, 7:8])[0])
        x[start : start + 2000] = value  # one whole pixel period
        bad += 2000 if line == 5 or value > 0 else 0
    x[int(sig.period_start_samples(periods[9, 3:4])[0]) + 10] = complex(np.nan, 0)
    bad += 1
    result = decode_ppm(ArraySource(x, 180e3))
    (decoded,) = result.images
    assert decoded.nonfinite_lines == [5, 9]
    # An erasure decodes as a zero would: the lines are received, as with zeros there.
    zeros = decode_ppm(ArraySource(np.where(np.isfinite(x), x, 0), 180e3)).images[0]
    assert decoded.lines_missing == zeros.lines_missing
    np.testing.assert_array_equal(decoded.grey, zeros.grey)
    np.testing.assert_array_equal(decoded.received, zeros.received)
    assert result.nonfinite_samples == bad
    assert any("non-finite" in w for w in result.warnings)


@pytest.mark.parametrize("fraction", [0.002, 0.01])
def test_sparse_nan_and_inf_decode_like_zeros(fraction):
    """NaN/Inf scattered over 0.2 % or 1 % of the samples: once an IndexError, then the
    whole image lost; now the same image as with zeros at those samples."""
    image = make_image("random", 16, 16, np.random.default_rng(4))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB)
    sig = PpmSignal([ImageTransmission(image, 3)], fs_hz=180e3, channel=channel, lead_s=0.02)
    x = sig.samples(np.random.default_rng(5))
    rng = np.random.default_rng(6)
    where = rng.random(x.size) < fraction
    hostile = x.copy()
    hostile[where] = rng.choice(np.array([np.nan, np.inf, -np.inf], np.float32), where.sum())
    zeros = x.copy()
    zeros[where] = 0
    got = decode_ppm(ArraySource(hostile, 180e3))
    want = decode_ppm(ArraySource(zeros, 180e3))
    assert len(got.images) == len(want.images) == 1
    np.testing.assert_array_equal(got.images[0].grey, want.images[0].grey)
    np.testing.assert_array_equal(got.images[0].received, want.images[0].received)
    assert want.images[0].received.all()
    assert got.nonfinite_samples == int(where.sum())


def test_noise_only_finds_nothing():
    rng = np.random.default_rng(4)
    n = 400_000
    x = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 0.3).astype(np.complex64)
    result = decode_ppm(ArraySource(x, 180e3))
    assert result.images == []
    assert result.skipped == [(0, n)]


def test_survey_mode_expects_only_every_kth_line():
    image = make_image("ramp", 25, 16, np.random.default_rng(0))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB, carrier_offset_hz=-3000)
    _, _, result = _decode([ImageTransmission(image, 3, mode=4, faded_lines=(8,))], channel=channel)
    (decoded,) = result.images
    sent = list(range(0, 25, 4))
    assert decoded.mode == 4
    assert decoded.lines_missing == [8]
    received = [n for n in sent if n != 8]
    assert np.flatnonzero(decoded.received).tolist() == received
    assert np.array_equal(decoded.grey[received], image[received])


def test_a_repeated_image_is_two_results_and_gaps_are_skipped():
    image = make_image("checkerboard", 12, 12, np.random.default_rng(0))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB, clock_ppm=40)
    items = [ImageTransmission(image, 7), SilentGap(200), ImageTransmission(image, 7)]
    sig, _, result = _decode(items, channel=channel, seed=9)
    assert [d.image_id for d in result.images] == [7, 7]
    for decoded, truth in zip(result.images, sig.truth()["images"], strict=True):
        _assert_exact(image, decoded)
        assert abs(decoded.sample_start - truth["sample_start"]) <= 1
    gap = result.skipped[1]
    first_end = result.images[0].sample_start + result.images[0].sample_count
    assert gap[0] == first_end and gap[1] == result.images[1].sample_start
    assert gap[1] - gap[0] == pytest.approx(200 * PERIOD_S * 180e3 * (1 + 40e-6), abs=3)


def test_second_header_copy_used_when_the_first_is_lost():
    image = make_image("random", 10, 10, np.random.default_rng(1))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB)
    sig = PpmSignal([ImageTransmission(image, 1234)], fs_hz=180e3, channel=channel, lead_s=0.02)
    x = sig.samples(np.random.default_rng(3))
    rng = np.random.default_rng(5)
    # Replace the first frame marker and header copy by noise of the same level.
    start, stop = sig.period_start_samples(np.array([0, 9])).astype(int)
    sigma = channel.noise_sigma(180e3) / np.sqrt(2)
    x[start:stop] = sigma * (
        rng.standard_normal(stop - start) + 1j * rng.standard_normal(stop - start)
    )
    result = decode_ppm(ArraySource(x, 180e3))
    (decoded,) = result.images
    assert decoded.image_id == 1234
    _assert_exact(image, decoded)


def test_a_misread_line_number_is_corrected_from_its_neighbours():
    image = make_image("random", 12, 10, np.random.default_rng(2))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB)
    sig = PpmSignal([ImageTransmission(image, 8)], fs_hz=180e3, channel=channel, lead_s=0.02)
    x = sig.samples(np.random.default_rng(3))
    # Line 6's number periods (hi, lo) are 5 and 4 periods before its first pixel: move
    # their pulses by making line 6 read as line 6 + 64 * 5.
    _, periods = sig.pixel_periods(0)
    hi_period = periods[6, 0] - 4
    start = int(sig.period_start_samples(np.array([hi_period]))[0])
    chunk = x[start : start + 2000].copy()
    x[start : start + 2000] = np.roll(chunk, 5 * 6 * 4)  # hi: 0 -> 5 (6 chips per level)
    result = decode_ppm(ArraySource(x, 180e3))
    (decoded,) = result.images
    assert decoded.corrected_lines == [6]
    _assert_exact(image, decoded)


@pytest.mark.parametrize("pauses", [{5: 7}, {4: 30, 9: 3}])
def test_silent_periods_inside_an_image_do_not_lose_lines(pauses):
    # ICD §3: the grid is continuous but the transmitter may stay silent for whole periods.
    # With no clock error a period is exactly 2000 samples at 180 kS/s, so splicing in
    # whole periods of noise keeps the grid; lines after a pause come later than expected.
    image = make_image("random", 14, 16, np.random.default_rng(4))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB, carrier_offset_hz=5000)
    sig = PpmSignal([ImageTransmission(image, 21)], fs_hz=180e3, channel=channel, lead_s=0.02)
    x = sig.samples(np.random.default_rng(6))
    sigma = channel.noise_sigma(180e3) / np.sqrt(2)
    rng = np.random.default_rng(7)
    _, periods = sig.pixel_periods(0)
    pieces, cursor = [], 0
    for line, count in sorted(pauses.items()):
        marker = round(float(sig.period_start_samples(periods[line, :1] - 5)[0]))
        n = count * 2000
        pieces += [
            x[cursor:marker],
            (sigma * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64),
        ]
        cursor = marker
    x = np.concatenate([*pieces, x[cursor:]])
    result = decode_ppm(ArraySource(x, 180e3))
    (decoded,) = result.images
    _assert_exact(image, decoded)
    assert decoded.lines_missing == []


def test_too_low_a_sample_rate_is_a_decode_error():
    from groundstation.errors import DecodeError

    with pytest.raises(DecodeError, match="below the 90000 Hz"):
        decode_ppm(ArraySource(np.zeros(1000, np.complex64), 80e3))


def test_a_data_file_that_shrinks_keeps_what_was_decoded(tmp_path):
    """Once SIGBUS through the memory map: now the images before the cut, and a warning."""
    from datetime import UTC, datetime

    from groundstation.io.recording import open_recording
    from groundstation.io.writer import write_recording

    image = make_image("random", 12, 12, np.random.default_rng(8))
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB)
    sig = PpmSignal(
        [ImageTransmission(image, 1), ImageTransmission(image, 2)],
        fs_hz=180e3,
        channel=channel,
        lead_s=0.02,
    )
    x = sig.samples(np.random.default_rng(9))
    meta = write_recording(
        tmp_path / "rec",
        [x],
        fs_hz=180e3,
        band="5cm-ppm",
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=5.86e9,
    )
    recording = open_recording(meta)
    with open(recording.data_path, "r+b") as f:  # the file shrinks after it was opened
        f.truncate(8 * (x.size * 6 // 10))
    result = decode_ppm(recording)
    assert [i.image_id for i in result.images][:1] == [1]
    assert result.images[0].received.all()
    assert any("shrank" in w for w in result.warnings)


@pytest.mark.parametrize(("kept", "reported"), [((3,), False), ((3, 6), True)])
def test_an_image_needs_two_lines_received(kept, reported):
    """One line behind a header is what noise once made into a false image (one hour of
    noise at 90 kS/s, two one-line images): a single line is not reported."""
    image = make_image("random", 10, 8, np.random.default_rng(12))
    faded = tuple(n for n in range(10) if n not in kept)
    channel = PpmChannel(esn0_db=HIGH_ESN0_DB)
    tx = ImageTransmission(image, 5, faded_lines=faded)
    sig = PpmSignal([tx], fs_hz=180e3, channel=channel, lead_s=0.02)
    result = decode_ppm(ArraySource(sig.samples(np.random.default_rng(13)), 180e3))
    assert bool(result.images) == reported
    if reported:
        assert list(np.flatnonzero(result.images[0].received)) == list(kept)
