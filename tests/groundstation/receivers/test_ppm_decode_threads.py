"""A whole recording decoded on two cores (read-ahead, two halves) gives exactly the result of
one receiver fed chunk by chunk: images, skipped ranges, erasures and warnings."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest

from groundstation.receivers import ppm as ppm_module
from groundstation.receivers import ppm_decode
from groundstation.receivers.ppm import ArraySource, Cf32FileSource, decode_ppm
from groundstation.receivers.ppm_decode import same
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap
from signals.sources.images import make_image

FS_HZ = 90e3
CHUNK = 1 << 15


@functools.lru_cache(maxsize=1)
def _recording() -> np.ndarray:
    """Seven small images with gaps of different lengths, at 11 dB, with erasures."""
    rng = np.random.default_rng(4)
    items = []
    for image_id in range(1, 8):
        items += [
            ImageTransmission(make_image("random", 4, 12 + 3 * image_id, rng), image_id),
            SilentGap(5 + 11 * image_id),
        ]
    channel = PpmChannel(clock_ppm=50, carrier_offset_hz=-6000, esn0_db=11.0)
    x = PpmSignal(items, fs_hz=FS_HZ, channel=channel, lead_s=0.05, tail_s=0.05).samples(rng)
    x[rng.integers(0, x.size, 5)] = np.nan
    return x


@pytest.fixture
def joins(monkeypatch):
    """Force the two halves on a short recording; count the hand-overs."""
    monkeypatch.setattr(ppm_module, "SPLIT_MIN_SAMPLES", 4 * CHUNK)
    made = []
    original = ppm_decode.SecondHalf.joined_result

    def joined_result(self, *args):
        made.append(args[1:])
        return original(self, *args)

    monkeypatch.setattr(ppm_decode.SecondHalf, "joined_result", joined_result)
    return made


def _assert_same(got, want):
    assert len(want.images) >= 5
    assert same(got.images, want.images)
    assert got.skipped == want.skipped
    assert got.nonfinite_samples == want.nonfinite_samples == 5
    assert got.warnings == want.warnings


def test_two_halves_give_the_result_of_one_receiver(joins):
    x = _recording()
    want = decode_ppm(ArraySource(x, FS_HZ), chunk_samples=CHUNK, threads=False)
    got = decode_ppm(ArraySource(x, FS_HZ), chunk_samples=CHUNK, threads=True)
    assert joins, "the second half was not used"
    _assert_same(got, want)


def test_read_ahead_and_two_halves_from_a_file(joins, tmp_path):
    x = _recording()
    path = tmp_path / "ppm.cf32"
    x.astype(np.complex64).tofile(path)
    want = decode_ppm(ArraySource(x, FS_HZ), chunk_samples=CHUNK, threads=False)
    seen = []
    got = decode_ppm(
        Cf32FileSource(path, x.size, FS_HZ),
        chunk_samples=CHUNK,
        on_progress=seen.append,
        threads=True,
    )
    assert joins
    _assert_same(got, want)
    assert seen == sorted(seen) and seen[-1] == x.size


def test_a_second_half_that_fails_leaves_the_first_to_decode_alone(joins, monkeypatch):
    x = _recording()
    want = decode_ppm(ArraySource(x, FS_HZ), chunk_samples=CHUNK, threads=False)

    class Failing(ArraySource):
        def read(self, start, count):
            if start > x.size // 2 and count == CHUNK and threading_name() == "ppm-second-half":
                raise RuntimeError("a read error in the second half")
            return super().read(start, count)

    got = decode_ppm(Failing(x, FS_HZ), chunk_samples=CHUNK, threads=True)
    assert not joins
    _assert_same(got, want)


def threading_name() -> str:
    import threading

    return threading.current_thread().name


def test_by_default_one_receiver_and_the_file_read_ahead(joins):
    x = _recording()
    want = decode_ppm(ArraySource(x, FS_HZ), chunk_samples=CHUNK, threads=False)
    got = decode_ppm(ArraySource(x, FS_HZ), chunk_samples=CHUNK)
    assert not joins
    _assert_same(got, want)


def test_a_read_ahead_closed_early_ends_at_once(monkeypatch):
    """A decode that stops before the end of its file (the second half took over, the file
    shrank, an interruption) closes its read-ahead while the thread waits for a free buffer:
    it is woken, not left to notice at its next poll (half a second in a decode)."""
    monkeypatch.setattr(ppm_decode, "POLL_S", 30.0)  # a poll would outlast the test

    def read_into(start: int, out: np.ndarray) -> int:
        out[:] = start
        return out.size

    ahead = ppm_decode.ReadAhead(read_into, 0, 100 * CHUNK, CHUNK)
    count, first = next(iter(ahead))
    assert count == CHUNK and first[0] == 0
    for _ in range(500):  # until every other buffer is read: the thread then waits for one
        if ahead._ready.qsize() == ppm_decode.READ_AHEAD_CHUNKS:
            break
        time.sleep(0.01)
    assert ahead._ready.qsize() == ppm_decode.READ_AHEAD_CHUNKS
    started = time.monotonic()
    ahead.close()
    assert not ahead._thread.is_alive()
    assert time.monotonic() - started < 5.0  # not the 30 s poll
