"""Peak resident memory while decoding a 4 GB PPM recording stays under 300 MB.

The decode runs in a child process so that its peak resident set (``VmHWM``, which counts
the mapped pages of the recording it has touched) is its own. The figure goes into
``extra_info['peak_rss_mib']`` and the test fails above the limit.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import pick, record_throughput
from ppm_recordings import ppm_recording

LIMIT_MIB = 300.0

# VmHWM (kB) is the child's own peak resident set, mapped file pages included; getrusage's
# ru_maxrss is not used because Linux carries the parent's figure over fork and exec.
_SCRIPT = """
import sys
from groundstation.decode import decode_recording
decode_recording(sys.argv[1], sys.argv[2], show_progress=False)
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def test_decode_4gb_peak_memory(benchmark, bench_dir):
    # 540e6 complex64 samples = 4.3 GB at 180 kS/s (50 minutes of signal).
    n = pick(smoke=4_000_000, full=540_000_000)
    recording = ppm_recording(bench_dir, n)
    out = bench_dir / "memory_out"
    peaks = []

    def decode():
        result = subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(recording.meta_path), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks.append(int(result.stdout.split()[-1]) / 1024.0)

    benchmark.pedantic(decode, rounds=1, iterations=1)
    peak_mib = max(peaks)
    record_throughput(
        benchmark,
        recording.n_samples,
        fs_hz=recording.fs_hz,
        peak_rss_mib=peak_mib,
        recording_bytes=recording.n_samples * 8,
    )
    assert peak_mib < LIMIT_MIB, f"peak RSS {peak_mib:.0f} MiB decoding {n * 8 / 1e9:.1f} GB"
