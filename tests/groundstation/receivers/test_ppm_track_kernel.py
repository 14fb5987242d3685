"""The compiled line tracker (``ppm_kernels._track_lines_kernel``) decodes a line as the
Python tracker does (``LineTracker.decode_line``), to the bit: images, lines and every
number in them are the same with it and without it, on images whose lines all come, on
images with lines lost and with erased samples. Its sums are numpy's, to the bit."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from groundstation.receivers import ppm_kernels as pk
from groundstation.receivers import ppm_track
from groundstation.receivers.ppm import ArraySource, PpmReceiver, decode_ppm
from groundstation.receivers.ppm_decode import same
from groundstation.receivers.ppm_timing import FIT_MEMORY_PERIODS, PeriodGrid
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap
from signals.sources.images import make_image

FS_HZ = 180e3

needs_kernels = pytest.mark.skipif(not pk.NUMBA_AVAILABLE, reason="numba is not installed")


@functools.lru_cache(maxsize=1)
def _recording() -> np.ndarray:
    """A narrow image with lines lost in a fade, a wide one and a survey, at 11 dB (some
    symbol errors), so that both trackers take turns."""
    rng = np.random.default_rng(5)
    items = [
        ImageTransmission(make_image("random", 40, 6, rng), 1, faded_lines=(10, 11, 25)),
        SilentGap(30),
        ImageTransmission(make_image("ramp", 6, 150, rng), 2),
        SilentGap(30),
        ImageTransmission(make_image("random", 12, 20, rng), 3, mode=3),
    ]
    channel = PpmChannel(clock_ppm=55, carrier_offset_hz=-12000, esn0_db=11.0)
    return PpmSignal(items, fs_hz=FS_HZ, channel=channel, lead_s=0.05, tail_s=0.05).samples(rng)


def _decode_events(x: np.ndarray, compiled: bool, monkeypatch, chunk: int = 50_000):
    with monkeypatch.context() as patch:
        if not compiled:
            patch.setattr(ppm_track.ImageTracking, "_lines_compiled", lambda self, t: False)
        receiver = PpmReceiver(FS_HZ)
        events = []
        for start in range(0, x.size, chunk):
            events += receiver.feed(x[start : start + chunk])
        events += receiver.end(report=False)
        return events


@needs_kernels
def test_the_compiled_tracker_decodes_as_the_python_one(monkeypatch):
    x = _recording()
    calls = []
    original = ppm_track.ImageTracking._lines_compiled

    def counted(self, t_line):
        done = original(self, t_line)
        calls.append(done)
        return done

    monkeypatch.setattr(ppm_track.ImageTracking, "_lines_compiled", counted)
    fast = _decode_events(x, True, monkeypatch)
    monkeypatch.undo()
    slow = _decode_events(x, False, monkeypatch)
    assert sum(calls) > 0 and not all(calls)  # both trackers had lines to decode
    images = [e for e in fast if hasattr(e, "received")]
    assert [i.image_id for i in images] == [1, 2, 3]
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert same(a, b), (a, b)


@functools.lru_cache(maxsize=1)
def _drifting() -> np.ndarray:
    """A narrow image of about 40 s whose clock and carrier drift: new chip lengths and
    carriers all along, so that the tracker's filters keep changing."""
    rng = np.random.default_rng(6)
    items = [ImageTransmission(make_image("random", 300, 8, rng), 4)]
    channel = PpmChannel(
        clock_ppm=-30,
        drift_ppm_per_hour=2000,
        carrier_offset_hz=7000,
        carrier_rate_hz_per_s=20,
        esn0_db=14.0,
    )
    return PpmSignal(items, fs_hz=FS_HZ, channel=channel, lead_s=0.05, tail_s=0.05).samples(rng)


@needs_kernels
@pytest.mark.parametrize("recording", [_recording, _drifting], ids=["three", "drifting"])
def test_filters_made_ahead_spare_the_tracker_its_returns_and_change_nothing(
    recording, monkeypatch
):
    """The compiled tracker goes back to Python for a pulse filter it was not given, and
    decodes its line again from the start; made ahead, the same filters give the same
    events with far fewer returns."""
    x = recording()
    returns = []
    kernel = ppm_track._track_lines_kernel

    def counted(*args):
        kernel(*args)
        returns.append(int(args[4][7]) == ppm_track._NEEDS_FILTER)

    monkeypatch.setattr(ppm_track, "_track_lines_kernel", counted)
    ahead = _decode_events(x, True, monkeypatch)
    ahead_returns = sum(returns)
    returns.clear()
    monkeypatch.setattr(  # only the filter asked for, as before they were made ahead
        ppm_track.ImageTracking, "_filters_around", lambda self, filt, known: [filt]
    )
    alone = _decode_events(x, True, monkeypatch)
    assert sum(returns) >= 10  # one filter at a time: the tracker comes back again and again
    assert ahead_returns <= sum(returns) // 4
    assert len(ahead) == len(alone)
    for a, b in zip(ahead, alone, strict=True):
        assert same(a, b), (a, b)


@needs_kernels
def test_the_filter_table_stays_bounded_and_changes_nothing(monkeypatch):
    """A clock and carrier that drift all through an image ask for new filters without end:
    the table the kernel is given starts again past its limit, and the events are those of
    a table that keeps every filter."""
    x = _drifting()
    sizes = []
    use = ppm_track.ImageTracking._use_filters

    def counted(self, filters):
        sizes.append(len(filters))
        use(self, filters)

    monkeypatch.setattr(ppm_track.ImageTracking, "_use_filters", counted)
    bounded = _decode_events(x, True, monkeypatch)
    bounded_sizes, sizes[:] = list(sizes), []
    limit = ppm_track.FILTER_TABLE_LIMIT
    monkeypatch.setattr(ppm_track, "FILTER_TABLE_LIMIT", 10**9)
    unbounded = _decode_events(x, True, monkeypatch)
    assert max(sizes) > 3 * limit  # without the limit it grows
    assert max(bounded_sizes) < 2 * limit  # the limit and what one line asks for
    assert len(bounded) == len(unbounded)
    for a, b in zip(bounded, unbounded, strict=True):
        assert same(a, b), (a, b)


@needs_kernels
def test_a_small_filter_table_still_finishes_each_line(monkeypatch):
    """A line that asks for more filters than the table holds (a wide line whose clock and
    carrier move): the table does not start again while the kernel decodes that line anew
    (it went round forever), and the events are those of a table that keeps every filter."""
    x = _recording()
    kernel = ppm_track._track_lines_kernel
    returns = []

    def counted(*args):
        kernel(*args)
        returns.append(int(args[4][7]) == ppm_track._NEEDS_FILTER)
        if sum(returns) > 500:
            raise RuntimeError("the tracker keeps asking for the same filters")

    sizes = []
    use = ppm_track.ImageTracking._use_filters

    def sized(self, filters):
        sizes.append(len(filters))
        use(self, filters)

    monkeypatch.setattr(ppm_track, "_track_lines_kernel", counted)
    monkeypatch.setattr(ppm_track.ImageTracking, "_use_filters", sized)
    monkeypatch.setattr(ppm_track, "FILTER_TABLE_LIMIT", 100)
    small = _decode_events(x, True, monkeypatch)
    assert any(b < a for a, b in itertools.pairwise(sizes))  # the table did start again
    monkeypatch.setattr(ppm_track, "FILTER_TABLE_LIMIT", 10**9)
    unbounded = _decode_events(x, True, monkeypatch)
    assert len(small) == len(unbounded)
    for a, b in zip(small, unbounded, strict=True):
        assert same(a, b), (a, b)


@needs_kernels
def test_erased_samples_are_reported_by_either_tracker(monkeypatch):
    x = _recording().copy()
    x[400_000:400_050] = np.nan  # inside the first image's lines
    fast = decode_ppm(ArraySource(x, FS_HZ), threads=False)
    with monkeypatch.context() as patch:
        patch.setattr(ppm_track.ImageTracking, "_lines_compiled", lambda self, t: False)
        slow = decode_ppm(ArraySource(x, FS_HZ), threads=False)
    assert fast.images[0].nonfinite_lines
    assert same(fast.images, slow.images) and fast.skipped == slow.skipped


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_are_numpys_to_the_bit(dtype):
    rng = np.random.default_rng(8)
    for n in [*range(1, 40), 127, 128, 129, 255, 256, 1000, 4095]:
        a = (rng.standard_normal(n) * 100).astype(dtype) ** 2
        assert pk._sum_as_numpy(a, n) == np.sum(a), n


@needs_kernels
def test_grid_fit_kernel_agrees_with_the_numpy_fit(monkeypatch):
    rng = np.random.default_rng(2)
    periods = np.sort(rng.choice(3000, 200, replace=False)).astype(float)
    times = 1000.0 + periods * 4444.9 + rng.standard_normal(periods.size)
    grids = []
    for kernel in ("numba", "numpy"):
        monkeypatch.setenv(pk.NO_NUMBA_ENV, "1" if kernel == "numpy" else "0")
        grid = PeriodGrid(0, 1000.0, 4444.4)
        for p, t in zip(periods, times, strict=True):
            grid.add(p, t, 2.0)
        grids.append(grid)
    fast, slow = grids
    assert fast.slope == pytest.approx(slow.slope, rel=1e-12)
    assert fast.p_ref == pytest.approx(slow.p_ref, rel=1e-12)
    assert fast.t_ref == pytest.approx(slow.t_ref, rel=1e-12)
    assert len(fast.points) == len(slow.points) and FIT_MEMORY_PERIODS > 0
