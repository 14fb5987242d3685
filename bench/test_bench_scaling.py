"""Decode throughput with 1 and 2 worker processes on independent recordings.

This is the mission replay's parallel path: a dask.distributed local cluster of worker
processes, each decoding its own recording. ``ratio_to_baseline`` is the speed-up of two
workers over one (the baseline), on the same recordings in the same run.
"""

from __future__ import annotations

import logging

import pytest
from conftest import best_time_s, pick, record_throughput
from ppm_recordings import ppm_recording

N_RECORDINGS = 4


def _decode(meta: str, out: str) -> int:
    from groundstation.decode import decode_recording

    return len(decode_recording(meta, out, show_progress=False).images)


def _run_all(client, recordings, bench_dir) -> None:
    futures = [
        client.submit(_decode, str(r.meta_path), str(bench_dir / f"scale_out_{i}"), pure=False)
        for i, r in enumerate(recordings)
    ]
    assert all(f.result() > 0 for f in futures)


@pytest.fixture(scope="module")
def clients():
    from distributed import Client, LocalCluster

    made = {}
    for workers in (1, 2):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        made[workers] = (cluster, Client(cluster))
    yield {w: c for w, (_, c) in made.items()}
    for cluster, client in made.values():
        client.close()
        cluster.close()


def test_decode_scaling_1_vs_2_workers(benchmark, bench_dir, clients):
    n = pick(smoke=2_000_000, full=40_000_000)
    recordings = [ppm_recording(bench_dir, n, seed=100 + i) for i in range(N_RECORDINGS)]
    total = sum(r.n_samples for r in recordings)
    _run_all(clients[1], recordings, bench_dir)  # warm both clusters and the page cache
    _run_all(clients[2], recordings, bench_dir)
    one_worker_s = best_time_s(lambda: _run_all(clients[1], recordings, bench_dir), rounds=1)
    benchmark.pedantic(_run_all, args=(clients[2], recordings, bench_dir), rounds=1, iterations=1)
    record_throughput(
        benchmark,
        total,
        baseline_s=one_worker_s,
        fs_hz=recordings[0].fs_hz,
        workers=2,
        note="ratio = 2 workers / 1 worker",
    )
