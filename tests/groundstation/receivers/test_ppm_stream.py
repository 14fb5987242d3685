"""The PPM receiver fed chunk by chunk: the same samples in chunks of any sizes give the same
headers, lines and images; events come as they are decided; the look-back stays bounded."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundstation.receivers.ppm import ArraySource, PpmReceiver, decode_ppm
from groundstation.results import DecodedImage, ImageHeader, ImageLine
from signals.formats.ppm import PREAMBLE_PERIODS
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap
from signals.sources.images import make_image

FS_HZ = 180e3


@functools.lru_cache(maxsize=1)
def _recording() -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Two images with a gap, at 12 dB (a few symbol errors, so decisions are exercised)."""
    rng = np.random.default_rng(21)
    images = (make_image("random", 7, 9, rng), make_image("ramp", 5, 11, rng))
    channel = PpmChannel(clock_ppm=-35, carrier_offset_hz=9000, esn0_db=12.0)
    items = [ImageTransmission(images[0], 3), SilentGap(40), ImageTransmission(images[1], 4)]
    sig = PpmSignal(items, fs_hz=FS_HZ, channel=channel, lead_s=0.03, tail_s=0.03)
    return sig.samples(rng), images


def _feed(x: np.ndarray, sizes) -> tuple[list, PpmReceiver]:
    receiver = PpmReceiver(FS_HZ)
    events = []
    pos = 0
    for size in itertools.cycle(sizes):
        if pos >= x.size:
            break
        events += receiver.feed(x[pos : pos + size])
        pos += size
    events += receiver.end()
    return events, receiver


def _key(event) -> tuple:
    """Everything an event holds, arrays as bytes."""
    if isinstance(event, ImageHeader):
        return ("header", event)
    if isinstance(event, ImageLine):
        return (
            "line",
            event.image_id,
            event.line,
            event.grey.tobytes(),
            np.float64(event.snr_db).tobytes(),
            event.sample_start,
            event.sample_count,
            event.line_number_corrected,
        )
    assert isinstance(event, DecodedImage)
    return (
        "image",
        event.image_id,
        event.grey.tobytes(),
        event.received.tobytes(),
        np.float64(event.snr_db).tobytes(),
        event.line_snr_db.tobytes(),
        event.sample_start,
        event.sample_count,
        event.carrier_offset_hz,
        event.clock_ppm,
        event.header,
        tuple(event.lines_missing),
    )


@functools.lru_cache(maxsize=1)
def _whole() -> list[tuple]:
    x, _ = _recording()
    events, _ = _feed(x, [x.size])
    return [_key(e) for e in events]


def test_events_in_order_and_images_hold_their_lines():
    x, images = _recording()
    events, receiver = _feed(x, [65_536])
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "ImageHeader",
        *["ImageLine"] * 7,
        "DecodedImage",
        "ImageHeader",
        *["ImageLine"] * 5,
        "DecodedImage",
    ]
    decoded = [e for e in events if isinstance(e, DecodedImage)]
    assert [d.image_id for d in decoded] == [3, 4]
    for d, image in zip(decoded, images, strict=True):
        assert d.received.all()
        lines = [e for e in events if isinstance(e, ImageLine) and e.image_id == d.image_id]
        assert [_key(e) for e in lines] == [_key(e) for e in d.received_lines]
        assert d.header is not None
        # At 12 dB a few pixels are wrong (P_s ≈ 7e-3), not many.
        assert np.count_nonzero(d.grey != image) <= 4
    assert receiver.result().images == decoded


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 60_000), min_size=1, max_size=12))
def test_any_chunking_gives_byte_identical_events(sizes):
    x, _ = _recording()
    events, _ = _feed(x, sizes)
    assert [_key(e) for e in events] == _whole()


def test_decode_ppm_is_the_chunked_feed():
    x, _ = _recording()
    result = decode_ppm(ArraySource(x, FS_HZ), chunk_samples=12_345)
    images = [e for e in _whole() if e[0] == "image"]
    assert [_key(image) for image in result.images] == images


def test_a_recording_that_stops_keeps_the_lines_decided():
    x, _ = _recording()
    whole = _whole()
    first_image = next(i for i, k in enumerate(whole) if k[0] == "image")
    # Stop about three lines into the second image (after its 40-period gap, 18-period
    # preamble and 16-period lines of 2000 samples).
    cut = whole[first_image][7] + (40 + 18 + 3 * 16) * 2000
    receiver = PpmReceiver(FS_HZ)
    fed = [_key(e) for e in receiver.feed(x[:cut])]
    # What the samples decided before the end was known is what the whole recording gives.
    assert fed == whole[: len(fed)] and len(fed) > first_image
    tail = receiver.end()
    (second,) = [e for e in tail if isinstance(e, DecodedImage)]
    assert second.image_id == 4 and second.truncated and 2 <= second.lines_received < 5
    assert [e.line for e in second.received_lines] == list(range(second.lines_received))
    assert any("ends inside image 4" in w for w in receiver.result().warnings)


def test_a_header_whose_lines_never_come_does_not_hold_up_the_image_behind_it():
    """A transmission cut off after its header (a 1000-pixel image whose line markers would
    come 11 and 22 s later), then a small image: the small image's lines are handed out as
    their samples arrive, not once the cut-off header's wait is over (before, nothing came
    out until the end of the input)."""
    rng = np.random.default_rng(8)
    channel = PpmChannel(clock_ppm=20, carrier_offset_hz=-4000, esn0_db=12.0)
    wide = PpmSignal([ImageTransmission(make_image("random", 40, 1000, rng), 77)],
                     fs_hz=FS_HZ, channel=channel, lead_s=0.03)  # fmt: skip
    cut = int(wide.period_start_samples(np.array([PREAMBLE_PERIODS]))[0])
    header_only = next(wide.chunks(rng, chunk_samples=cut))
    small = make_image("ramp", 8, 9, rng)
    behind = PpmSignal([ImageTransmission(small, 5)], fs_hz=FS_HZ, channel=channel,
                       lead_s=0.1, tail_s=0.05).samples(rng)  # fmt: skip
    x = np.concatenate([header_only, behind])
    chunk = round(0.02 * FS_HZ)
    receiver = PpmReceiver(FS_HZ)
    handed = []
    for lo in range(0, x.size, chunk):
        handed += [(e, receiver.samples_fed) for e in receiver.feed(x[lo : lo + chunk])]
    tail = receiver.end()
    lines = [(e, fed) for e, fed in handed if isinstance(e, ImageLine)]
    assert [e.line for e, _ in lines] == list(range(8))  # every line before the end
    line_samples = lines[1][0].sample_start - lines[0][0].sample_start
    # the first lines wait for the markers that confirm the image (up to four lines in);
    # from then on each line is out within a chunk (and the marker search's margin) of
    # its last sample
    for event, fed in lines[4:]:
        assert fed - (event.sample_start + event.sample_count) <= chunk + line_samples // 8
    (image,) = [e for e in [e for e, _ in handed] + tail if isinstance(e, DecodedImage)]
    assert image.image_id == 5 and image.received.all()
    assert np.count_nonzero(image.grey != small) <= 2
    whole = PpmReceiver(FS_HZ)
    assert [_key(e) for e, _ in handed] + [_key(e) for e in tail] == [
        _key(e) for e in whole.feed(x) + whole.end()
    ]


def test_the_scan_waits_behind_the_image_its_candidate_verifies():
    """A five-line image of 400 pixels: its candidate waits four lines for its line markers,
    and meanwhile the scan does not go over the image's data, whose pulses make frame-marker
    candidates (21 were verified here before, 2 are: the two header copies). The same events
    in chunks as whole."""
    rng = np.random.default_rng(12)
    image = make_image("random", 5, 400, rng)
    channel = PpmChannel(clock_ppm=30, carrier_offset_hz=5000, esn0_db=16.0)
    x = PpmSignal([ImageTransmission(image, 9)], fs_hz=FS_HZ, channel=channel,
                  lead_s=0.05, tail_s=0.05).samples(rng)  # fmt: skip
    events, receiver = _feed(x, [40_000])
    (decoded,) = [e for e in events if isinstance(e, DecodedImage)]
    assert decoded.image_id == 9 and decoded.received.all()
    assert np.count_nonzero(decoded.grey != image) <= 2
    assert receiver.acquirer.counts["candidates"] <= 4, receiver.acquirer.counts
    whole = PpmReceiver(FS_HZ)
    assert [_key(e) for e in events] == [_key(e) for e in whole.feed(x) + whole.end()]


def test_a_scan_held_by_a_cut_transmission_goes_on_once_its_next_line_marker_is_missed():
    """A transmission cut off ten periods into its first line (its header and first line
    marker found: the scan waits behind it), then a small image: once the cut one's second
    line marker is looked for and missed, the scan goes on from where it waited and finds
    the small image, every line; the same events in chunks as whole."""
    rng = np.random.default_rng(9)
    channel = PpmChannel(clock_ppm=-15, carrier_offset_hz=3000, esn0_db=14.0)
    wide = PpmSignal([ImageTransmission(make_image("random", 6, 300, rng), 41)],
                     fs_hz=FS_HZ, channel=channel, lead_s=0.03)  # fmt: skip
    cut = int(wide.period_start_samples(np.array([PREAMBLE_PERIODS + 10]))[0])
    first_line = next(wide.chunks(rng, chunk_samples=cut))
    small = make_image("ramp", 6, 9, rng)
    behind = PpmSignal([ImageTransmission(small, 6)], fs_hz=FS_HZ, channel=channel,
                       lead_s=0.2, tail_s=4.0).samples(rng)  # fmt: skip
    x = np.concatenate([first_line, behind])
    chunk = round(0.02 * FS_HZ)
    receiver = PpmReceiver(FS_HZ)
    events, header_fed = [], None
    for lo in range(0, x.size, chunk):
        events += receiver.feed(x[lo : lo + chunk])
        if header_fed is None and any(isinstance(e, ImageHeader) for e in events):
            header_fed = receiver.samples_fed
    events += receiver.end()
    images = [e for e in events if isinstance(e, DecodedImage)]
    assert [image.image_id for image in images] == [6]
    assert images[0].received.all() and np.count_nonzero(images[0].grey != small) <= 2
    # the small image came out once the cut header's second line marker had been looked
    # for and missed, not when the third was (the cut candidate still waits for two more)
    second, third = wide.period_start_samples(PREAMBLE_PERIODS + np.array([305, 610]))
    assert header_fed is not None and second <= header_fed < third
    whole = PpmReceiver(FS_HZ)
    assert [_key(e) for e in events] == [_key(e) for e in whole.feed(x) + whole.end()]


def test_the_look_back_stays_bounded():
    x, _ = _recording()
    noise = np.random.default_rng(3).standard_normal((2, 4_000_000)).astype(np.float32)
    x = np.concatenate([x, (noise[0] + 1j * noise[1]) * np.float32(np.std(x[:5000]))])
    receiver = PpmReceiver(FS_HZ)
    held = []
    for start in range(0, x.size, 50_000):
        receiver.feed(x[start : start + 50_000])
        held.append(receiver.buffer.held)
    receiver.end()
    # At most: the look-back (24 periods of 2000 samples), what verifying a candidate
    # reaches (both header copies and the first four line markers the header places: up
    # to 27 + 3 × 4100 periods), a chunk and a scan block.
    assert max(held) < (24 + 27 + 3 * 4100 + 1) * 2000 + 50_000 + (1 << 15)


def test_feeding_after_the_end_is_an_error():
    from groundstation.errors import DecodeError

    receiver = PpmReceiver(FS_HZ)
    receiver.end()
    with pytest.raises(DecodeError):
        receiver.feed(np.zeros(10, np.complex64))


@pytest.mark.parametrize("chunk", [997, 7_000, 40_000])
def test_small_chunks_at_the_lowest_rate(chunk):
    """At 90 kS/s a scan block (32 768 samples) is longer than the look-back (24 periods
    of 1000 samples): the image being verified and tracked is kept all the same."""
    rng = np.random.default_rng(8)
    image = make_image("random", 6, 10, rng)
    channel = PpmChannel(clock_ppm=20, carrier_offset_hz=-4000, esn0_db=14.0)
    items = [SilentGap(50), ImageTransmission(image, 9), SilentGap(10)]
    x = PpmSignal(items, fs_hz=90e3, channel=channel, lead_s=0.2, tail_s=0.05).samples(rng)
    events = []
    receiver = PpmReceiver(90e3)
    for start in range(0, x.size, chunk):
        events += receiver.feed(x[start : start + chunk])
    events += receiver.end()
    whole = PpmReceiver(90e3)
    assert [_key(e) for e in events] == [_key(e) for e in whole.feed(x) + whole.end()]
    (decoded,) = receiver.result().images
    assert decoded.received.all() and np.array_equal(decoded.grey, image)


def test_a_cf32_file_read_into_the_buffer_decodes_like_its_samples(tmp_path):
    """A cf32 recording is read straight into the receiver's buffer (no copy): the same
    events as the samples fed from memory."""
    from datetime import UTC, datetime

    from groundstation.io.recording import open_recording
    from groundstation.io.writer import write_recording

    x, _ = _recording()
    meta = write_recording(
        tmp_path / "rec",
        [x],
        fs_hz=FS_HZ,
        band="5cm-ppm",
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=5.86e9,
    )
    result = decode_ppm(open_recording(meta), chunk_samples=20_000)
    images = [e for e in _whole() if e[0] == "image"]
    assert [_key(image) for image in result.images] == images


def test_images_and_skipped_ranges_cover_the_input_once() -> None:
    """What was skipped is every sample in no image: with the images, [0, n) exactly, in
    order, without overlap (the silence after the last image included)."""
    x, _ = _recording()
    _, receiver = _feed(x, [x.size])
    result = receiver.result()
    assert len(result.images) == 2
    spans = sorted(
        [(i.sample_start, i.sample_start + i.sample_count) for i in result.images]
        + [tuple(r) for r in result.skipped]
    )
    assert spans[0][0] == 0 and spans[-1][1] == x.size
    for (_, stop), (start, _) in itertools.pairwise(spans):
        assert stop == start
    # Cut right after the last image, then one sample later: nothing skipped at the end,
    # then exactly that one sample.
    end = spans[-1][0]
    for extra in (0, 1):
        _, cut = _feed(x[: end + extra], [end + extra])
        tail = [r for r in cut.result().skipped if r[1] > end - 1]
        assert tail == ([(end, end + 1)] if extra else [])
