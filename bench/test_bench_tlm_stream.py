"""The telemetry receiver: in-process throughput at 48 kS/s, peak memory of a whole decode,
and a whole-process decode against a GNU Radio flowgraph doing the bare demodulation.

- ``test_tlm_receiver_throughput``: samples/s of :class:`TelemetryReceiver` fed 1 s chunks,
  in ``extra_info['samples_per_s']`` (and the real-time factor); target ≥ 50 MS/s at 48 kS/s.
  ``stream``: with its early looks, as ``listen`` runs it; ``file``: without, as a
  recording or an array is decoded.
- ``test_tlm_peak_memory``: peak resident set (``VmHWM``) of a child process running the
  receiver over a recording (``extra_info['peak_rss_mib']``; the test fails above 300 MiB),
  and of one running the whole decode, files and telemetry plot included
  (``decode_peak_rss_mib``, reported); 1 bit/s at 48 kS/s for an hour in the full size
  (1.4 GB). Of either, about 120 MiB is the interpreter with numpy, scipy and sigmf loaded
  (plus 60 MiB of numba's runtime where the kernels are not built at install); the plot's
  matplotlib, in its own process, about 80 MiB.
- ``test_tlm_decode_against_gnuradio``: ``python -m groundstation decode`` (a whole process:
  start-up, the recording's survey, the decode, every output file, the page) and
  ``/usr/bin/python3 bench/gnuradio_tlm_demod.py`` (file_source → pll_carriertracking_cc →
  complex_to_imag → × 1024 Hz sine → integrate_ff over a bit) on the same 20-minute
  64 bit/s recording at 8 kS/s, alternating, best of each;
  ``extra_info['gnuradio_over_groundstation']`` is the ratio of their times (above 1: the
  project is faster). A second ratio, ``gnuradio_over_receiver``, takes the project's
  receiver alone in a fresh process (start-up, reading, decoding; no plot, no page).
  Skipped, saying why, where the system Python has no GNU Radio.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import pick, record_throughput

from groundstation.io.writer import write_recording
from groundstation.receivers.tlm import TelemetryReceiver
from signals.formats.tlm import CHANNELS, FrameType, from_raw
from signals.formats.tlm_frames import frame_from_channels
from signals.modulators.tlm import TelemetryTransmission

REPO_ROOT = Path(__file__).resolve().parents[1]
GNURADIO_PYTHON = "/usr/bin/python3"
FLOWGRAPH = Path(__file__).with_name("gnuradio_tlm_demod.py")
START = datetime(1962, 11, 5, 9, 0, tzinfo=UTC)
LIMIT_MIB = 300.0


def _transmission(bit_rate: int, fs_hz: float, duration_s: float, seed: int):
    rng = np.random.default_rng(seed)
    n_frames = int((duration_s - 5.0) * bit_rate / 256) + 1
    frames = []
    for k in range(n_frames):
        ft = FrameType(k % 2)
        values = {c.name: from_raw(c, int(rng.integers(0, c.raw_max + 1))) for c in CHANNELS[ft]}
        frames.append(frame_from_channels(k % 128, ft, values))
    return TelemetryTransmission(
        frames, fs_hz=fs_hz, bit_rate_bps=bit_rate, rng=rng, carrier_s=5.0,
        duration_s=duration_s, ebn0_db=10.0, carrier_offset_hz=350.0,
        carrier_rate_hz_per_s=0.1, phase_noise_rad_per_sqrt_s=0.05, clock_offset=50e-6,
    )  # fmt: skip


def _recording(folder: Path, name: str, bit_rate: int, fs_hz: float, duration_s: float) -> Path:
    """A telemetry recording NAME.sigmf-meta in ``folder`` (made once per session)."""
    meta = folder / f"{name}.sigmf-meta"
    if not meta.exists():
        tx = _transmission(bit_rate, fs_hz, duration_s, seed=bit_rate)
        write_recording(
            folder / name, tx.chunks(1 << 20), fs_hz=fs_hz, band="32cm-tlm", start_utc=START,
            center_frequency_hz=922.76e6, bit_rate_bps=bit_rate,
        )  # fmt: skip
    return meta


@pytest.mark.parametrize("early", [True, False], ids=["stream", "file"])
def test_tlm_receiver_throughput(benchmark, early: bool) -> None:
    fs_hz, bit_rate = 48000.0, 64
    duration_s = pick(smoke=70.0, full=600.0)
    x = np.concatenate(list(_transmission(bit_rate, fs_hz, duration_s, seed=1).chunks(1 << 20)))
    second = int(fs_hz)

    def decode() -> int:
        receiver = TelemetryReceiver(fs_hz, bit_rate, start_utc=START, early=early)
        for lo in range(0, x.size, second):
            receiver.feed(x[lo : lo + second])
        receiver.end()
        return len(receiver.result().frames)

    decode()  # compiled kernels loaded, caches warm
    frames = benchmark.pedantic(decode, rounds=pick(smoke=1, full=3), iterations=1)
    assert frames >= int((duration_s - 5.0) * bit_rate / 256) - 1
    record_throughput(benchmark, x.size, fs_hz=fs_hz, bit_rate_bps=bit_rate, frames=frames)


# VmHWM (kB) is the child's own peak resident set; see test_bench_memory.py. The receiver
# alone (reading, decoding), then the whole decode (files and the telemetry plot too).
_MEMORY_SCRIPTS = {
    "receiver": """
import sys
from groundstation.io.recording import open_recording
from groundstation.receivers.tlm_decode import decode_tlm_recording
decode_tlm_recording(open_recording(sys.argv[1]))
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
""",
    "decode": """
import sys
from groundstation.decode import decode_recording
decode_recording(sys.argv[1], sys.argv[2], show_progress=False)
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
""",
}
# compiles the kernels into numba's cache if they are not there yet (compiling takes memory
# a decode with the cache does not)
_WARM_UP = """
import numpy as np
from datetime import UTC, datetime
from groundstation.errors import NoSignalError
from groundstation.receivers.tlm_decode import decode_tlm_samples
try:
    decode_tlm_samples(np.ones(400_000, np.complex64), 48000.0, bit_rate_bps=64,
                       start_utc=datetime(1962, 11, 5, tzinfo=UTC))
except NoSignalError:
    pass
"""


@pytest.mark.parametrize(("bit_rate", "fs_hz"), [(1, 48000.0), (128, 48000.0)])
def test_tlm_peak_memory(benchmark, bench_dir, bit_rate: int, fs_hz: float) -> None:
    duration_s = pick(smoke=300.0, full=3600.0) if bit_rate == 1 else pick(60.0, 1800.0)
    meta = _recording(bench_dir, f"tlm_mem_{bit_rate}", bit_rate, fs_hz, duration_s)
    out = bench_dir / f"tlm_mem_{bit_rate}_out"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, "-c", _WARM_UP], check=True, capture_output=True, env=env)
    peaks: dict[str, float] = {}

    def decode() -> None:
        for name, script in _MEMORY_SCRIPTS.items():
            done = subprocess.run(
                [sys.executable, "-c", script, str(meta), str(out)],
                capture_output=True, text=True, check=True, env=env,
            )  # fmt: skip
            peaks[name] = int(done.stdout.split()[-1]) / 1024.0

    benchmark.pedantic(decode, rounds=1, iterations=1)
    n_samples = int(duration_s * fs_hz)
    record_throughput(
        benchmark, n_samples, fs_hz=fs_hz, bit_rate_bps=bit_rate,
        peak_rss_mib=peaks["receiver"], decode_peak_rss_mib=peaks["decode"],
        recording_bytes=n_samples * 8,
    )  # fmt: skip
    assert peaks["receiver"] < LIMIT_MIB, f"peak RSS {peaks['receiver']:.0f} MiB"


def _gnuradio_missing() -> str | None:
    if not Path(GNURADIO_PYTHON).exists():
        return f"{GNURADIO_PYTHON} is absent"
    found = subprocess.run(
        [GNURADIO_PYTHON, "-c", "from gnuradio import analog, blocks, gr"], capture_output=True
    )
    if found.returncode:
        return f"GNU Radio does not import in {GNURADIO_PYTHON} (Debian's gnuradio package)"
    return None


_RECEIVER_SCRIPT = """
import sys
from groundstation.io.recording import open_recording
from groundstation.receivers.tlm_decode import decode_tlm_recording
print(len(decode_tlm_recording(open_recording(sys.argv[1])).frames))
"""


def test_tlm_decode_against_gnuradio(benchmark, bench_dir) -> None:
    reason = _gnuradio_missing()
    if reason:
        pytest.skip(f"no GNU Radio to compare with: {reason}")
    fs_hz, bit_rate = 8000.0, 64
    duration_s = pick(smoke=120.0, full=1200.0)
    meta = _recording(bench_dir, "tlm_peer", bit_rate, fs_hz, duration_s)
    data = meta.with_suffix(".sigmf-data")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    commands = {
        "gnuradio": [GNURADIO_PYTHON, str(FLOWGRAPH), str(data), str(fs_hz), str(bit_rate),
                     str(bench_dir / "gnuradio_bits.f32")],
        "groundstation": [sys.executable, "-m", "groundstation", "decode", str(meta), "-o",
                          str(bench_dir / "tlm_peer_out")],
        "receiver": [sys.executable, "-c", _RECEIVER_SCRIPT, str(meta)],
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in commands}

    def alternate() -> None:
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times[name].append(time.perf_counter() - start)

    alternate()  # warm the file cache and the compiled kernels
    for name in times:
        times[name].clear()
    benchmark.pedantic(alternate, rounds=pick(smoke=1, full=5), iterations=1)
    best = {name: min(values) for name, values in times.items()}
    info = benchmark.extra_info
    info.update({f"{name}_s": value for name, value in best.items()})
    info["gnuradio_over_groundstation"] = best["gnuradio"] / best["groundstation"]
    info["gnuradio_over_receiver"] = best["gnuradio"] / best["receiver"]
    info["n_samples"] = int(duration_s * fs_hz)
