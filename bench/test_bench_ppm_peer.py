"""The whole-process PPM decode against a GNU Radio flowgraph, and its cost per sample by
what the samples hold.

- ``test_decode_against_gnuradio``: ``groundstation decode`` (a fresh process: start-up,
  reading, acquisition, tracking, images and files) and the bare slot detector of
  ``gnuradio_slots.py`` (a fresh ``/usr/bin/python3`` process with Debian's gnuradio) on
  the same cf32 recording of 20 images at 200 kS/s, run alternately; ``extra_info``
  gives both best times and ``speedup_over_gnuradio`` = GNU Radio's time / the decode's
  (of the SigMF pair, its ``core:sha512`` checked), ``raw_speedup_over_gnuradio`` the
  same for the decode of its data file read as a raw cf32 file, as the flowgraph reads it
  (the metadata's facts given on the command line),
  and the same for the CPU time of each process with its threads (``*_cpu_s``,
  ``cpu_ratio_gnuradio_over_decode``, ``raw_cpu_ratio_gnuradio_over_decode``), which a
  loaded machine disturbs less.
  Skipped, with the reason, where ``/usr/bin/python3`` has no gnuradio.
- ``test_cost_per_sample_by_content``: the receiver in this process (one thread) on narrow
  images, on pure noise and on wide images of the same length; ``extra_info`` gives each
  one's time per sample relative to the wide images' (``narrow_over_wide``,
  ``noise_over_wide``), its samples/s, and its rate relative to one read pass of the wide
  images' cf32 file (``np.fromfile``; ``*_over_read_pass``); the same ratios from CPU time
  (``*_cpu``).
- ``test_two_cores_on_several_images``: the decode of a file of several images with its
  threads (read-ahead, two halves: see ``groundstation/receivers/ppm_decode.py``) and on
  one thread, alternately: ``two_core_speedup``, each against a read pass of the file; the
  results are checked identical.

Size: ``MARS1_BENCH_SIZE`` = ``full`` (96 M samples, 20 images) or ``smoke`` (a few
seconds in all). Recordings are written in the session's temporary folder.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import best_time_s, pick
from ppm_recordings import ppm_image_set

from groundstation.io.recording import format_utc
from groundstation.receivers.ppm import decode_ppm
from groundstation.receivers.ppm_decode import same
from groundstation.receivers.ppm_sources import ArraySource

REPO_ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
FS_HZ = 200e3


def _has_gnuradio() -> str | None:
    """None when the system Python imports gnuradio, else why not."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} does not exist"
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gnuradio.blocks"], capture_output=True, timeout=60
    )
    if done.returncode:
        return f"{SYSTEM_PYTHON} has no gnuradio (Debian package gnuradio)"
    return None


def _timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall time of ``command`` (s) and the CPU time of the process and its threads (user +
    system, s): on a loaded machine the CPU time still says how much work it was."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def test_decode_against_gnuradio(benchmark, bench_dir):
    reason = _has_gnuradio()
    if reason:
        pytest.skip(f"GNU Radio peer not available: {reason}")
    n_images, lines = pick((2, 4), (20, 10))
    recording = ppm_image_set(bench_dir, n_images, lines, 200, fs_hz=FS_HZ)
    data = str(recording.data_path)
    gnuradio = [SYSTEM_PYTHON, str(REPO_ROOT / "bench" / "gnuradio_slots.py"), data, str(FS_HZ)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    out = bench_dir / "peer_out"

    # The same data file read as a raw cf32 file, as the flowgraph reads it: no metadata,
    # so no core:sha512 to check (the SigMF pair's check is one more pass of SHA-512). What
    # the metadata says comes from the command line instead.
    raw = _raw_view(recording.data_path, bench_dir / f"{recording.name}.cf32")
    raw_args = [
        *("--rawfile", str(raw), "--format", "cf32"),
        *("--samp-rate", repr(recording.fs_hz), "--band", recording.band),
        *("--start", format_utc(recording.start_utc)),
    ]

    def decode(*source: str) -> tuple[float, float]:
        shutil.rmtree(out, ignore_errors=True)
        command = [sys.executable, "-m", "groundstation", "decode", *source]
        return _timed([*command, "-o", str(out)], env)

    sigmf = (str(recording.meta_path),)
    decode(*sigmf)  # warm the file cache and the compiled kernels' cache
    _timed(gnuradio)
    rounds = pick(1, 5)
    decode_s, raw_s, gnuradio_s = [], [], []
    for _ in range(rounds):  # alternately, so that all see the same machine
        decode_s.append(decode(*sigmf))
        raw_s.append(decode(*raw_args))
        assert _lines_missing(out) == [[]] * n_images
        gnuradio_s.append(_timed(gnuradio))
    benchmark.pedantic(decode, args=sigmf, rounds=1, iterations=1)
    info = benchmark.extra_info
    (decode_wall, decode_cpu), (raw_wall, raw_cpu), (gnuradio_wall, gnuradio_cpu) = (
        [min(t[i] for t in times) for i in (0, 1)] for times in (decode_s, raw_s, gnuradio_s)
    )
    info.update(
        n_samples=recording.n_samples,
        images=n_images,
        load_average_1min=os.getloadavg()[0],
        decode_best_s=decode_wall,
        gnuradio_best_s=gnuradio_wall,
        speedup_over_gnuradio=gnuradio_wall / decode_wall,
        decode_best_cpu_s=decode_cpu,
        gnuradio_best_cpu_s=gnuradio_cpu,
        cpu_ratio_gnuradio_over_decode=gnuradio_cpu / decode_cpu,
        raw_decode_best_s=raw_wall,
        raw_decode_best_cpu_s=raw_cpu,
        raw_speedup_over_gnuradio=gnuradio_wall / raw_wall,
        raw_cpu_ratio_gnuradio_over_decode=gnuradio_cpu / raw_cpu,
    )
    assert _lines_missing(out) == [[]] * n_images


def _raw_view(data: Path, raw: Path) -> Path:
    """``raw``, the samples of ``data`` under a raw file's name: a link to it (a copy
    where the file system makes no links)."""
    if raw.is_symlink() or raw.exists():
        raw.unlink()
    try:
        raw.symlink_to(data)
    except OSError:
        shutil.copyfile(data, raw)
    return raw


def _lines_missing(out: Path) -> list[list[int]]:
    """Each image's missing lines, from a decode's ``summary.json``."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return [image["lines_missing"] for image in summary["images"]]


def _per_sample_s(samples: ArraySource, rounds: int) -> tuple[float, float]:
    """Best wall and best CPU time per sample of the receiver alone (one thread: no
    read-ahead, no halves, so the CPU time of the process is the receiver's)."""
    wall = cpu = float("inf")
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        decode_ppm(samples, threads=False)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall / samples.n_samples, cpu / samples.n_samples


def _read_pass_s(recording, rounds: int) -> float:
    """Best time of one read pass of the recording's cf32 file (``np.fromfile``)."""
    return best_time_s(lambda: np.fromfile(recording.data_path, np.complex64), rounds)


def test_cost_per_sample_by_content(benchmark, bench_dir):
    n = pick(2_000_000, 40_000_000)
    wide = ppm_image_set(bench_dir, 1, max(2, n // (405 * 4444)), 400, fs_hz=FS_HZ)
    narrow = ppm_image_set(bench_dir, 1, max(2, n // (13 * 4444)), 8, fs_hz=FS_HZ)
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(2 * wide.n_samples, np.float32) * np.float32(np.sqrt(0.5))
    sources = {
        "wide": ArraySource(np.fromfile(wide.data_path, np.complex64), FS_HZ),
        "narrow": ArraySource(np.fromfile(narrow.data_path, np.complex64), FS_HZ),
        "noise": ArraySource(noise.view(np.complex64), FS_HZ),
    }
    assert decode_ppm(sources["wide"]).images and decode_ppm(sources["narrow"]).images
    assert not decode_ppm(sources["noise"]).images
    rounds = pick(1, 3)
    both = {name: _per_sample_s(source, rounds) for name, source in sources.items()}
    cost = {name: wall for name, (wall, _) in both.items()}
    cpu = {name: cpu for name, (_, cpu) in both.items()}
    read_s = _read_pass_s(wide, pick(1, 5)) / wide.n_samples
    benchmark.pedantic(decode_ppm, args=(sources["wide"],), rounds=1, iterations=1)
    info = benchmark.extra_info
    info.update({f"{name}_ns_per_sample": 1e9 * s for name, s in cost.items()})
    info.update({f"{name}_msamples_per_s": 1e-6 / s for name, s in cost.items()})
    info["read_pass_msamples_per_s"] = 1e-6 / read_s
    info["narrow_over_wide"] = cost["narrow"] / cost["wide"]
    info["noise_over_wide"] = cost["noise"] / cost["wide"]
    info.update({f"{name}_over_read_pass": read_s / s for name, s in cost.items()})
    # The same from CPU time, which a loaded machine disturbs less.
    info.update({f"{name}_cpu_ns_per_sample": 1e9 * s for name, s in cpu.items()})
    info["narrow_over_wide_cpu"] = cpu["narrow"] / cpu["wide"]
    info["noise_over_wide_cpu"] = cpu["noise"] / cpu["wide"]
    info["load_average_1min"] = os.getloadavg()[0]


def test_two_cores_on_several_images(benchmark, bench_dir):
    """The whole decode of a file of several images (read-ahead, two halves) against the
    same decode on one thread, alternately, and both against a read pass of the file."""
    n_images, lines = pick((6, 4), (20, 10))
    recording = ppm_image_set(bench_dir, n_images, lines, 200, fs_hz=FS_HZ)
    one = decode_ppm(recording, threads=False)
    two = decode_ppm(recording, threads=True)
    assert len(one.images) == n_images
    assert same(two.images, one.images) and two.skipped == one.skipped
    rounds = pick(1, 5)
    one_s, two_s, read_s = [], [], []
    for _ in range(rounds):  # alternately, so that all see the same machine
        read_s.append(_read_pass_s(recording, 1))
        one_s.append(best_time_s(lambda: decode_ppm(recording, threads=False), 1))
        two_s.append(best_time_s(lambda: decode_ppm(recording, threads=True), 1))
    benchmark.pedantic(decode_ppm, args=(recording,), rounds=1, iterations=1)
    n = recording.n_samples
    benchmark.extra_info.update(
        n_samples=n,
        images=n_images,
        load_average_1min=os.getloadavg()[0],
        read_pass_msamples_per_s=1e-6 * n / min(read_s),
        one_thread_msamples_per_s=1e-6 * n / min(one_s),
        two_cores_msamples_per_s=1e-6 * n / min(two_s),
        two_core_speedup=min(one_s) / min(two_s),
        one_thread_over_read_pass=min(read_s) / min(one_s),
        two_cores_over_read_pass=min(read_s) / min(two_s),
    )
