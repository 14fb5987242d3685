"""Measure the telemetry receiver's bit error rate curve against ideal coherent BPSK.

For each Eb/N0 point a seeded transmission (random frames, a carrier offset and rate, phase
noise, a clock error, as in ``tests/groundstation/receivers/test_tlm_chain.py``, with offsets
and rates kept within ICD §4 over a long recording) is decoded,
the data bits of every decoded frame are compared with what was sent, and the bit error rate
is turned into the Eb/N0 an ideal BPSK receiver would need for it. The difference is the
receiver's implementation loss (dB); its standard error comes from the Poisson error count.

Usage (from the repository root, with the project's environment active)::

    python tools/tlm_ber_curve.py                         # 2..6 dB, 1000 frames a point
    python tools/tlm_ber_curve.py --ebn0 3 5 --frames 400 --bit-rate 128 --fs 9600

Prints one line per point: Eb/N0 sent, errors, bits, BER, ideal BER, equivalent Eb/N0,
loss ± its standard error, frames found.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from groundstation.receivers.tlm_decode import decode_tlm_samples
from signals.formats.tlm import CHANNELS, FRAME_BITS, SYNC_BITS, FrameType, from_raw
from signals.formats.tlm_frames import frame_from_channels
from signals.modulators.tlm import TelemetryTransmission

START = datetime(1962, 11, 7, 9, 30, tzinfo=UTC)


def ideal_ebn0_db(ber: float) -> float:
    """Eb/N0 (dB) at which ideal BPSK has bit error rate ``ber``."""
    return 10 * math.log10(float(special.erfcinv(2 * ber)) ** 2) if ber > 0 else math.inf


def measure(ebn0_db: float, n_frames: int, bit_rate: int, fs_hz: float, seed: int) -> dict:
    """Errors and bits of one seeded point (frames matched by first-bit position)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_frames):
        ft = FrameType(k % 2)
        values = {c.name: from_raw(c, int(rng.integers(0, c.raw_max + 1))) for c in CHANNELS[ft]}
        frames.append(frame_from_channels(k % 128, ft, values))
    tx = TelemetryTransmission(
        frames, fs_hz=fs_hz, bit_rate_bps=bit_rate, rng=rng, carrier_s=5.0, tail_s=1.0,
        ebn0_db=ebn0_db, carrier_offset_hz=float(rng.uniform(-500, 500)),
        carrier_rate_hz_per_s=float(rng.uniform(-0.2, 0.2)),
        carrier_phase_rad=float(rng.uniform(0, 2 * np.pi)), phase_noise_rad_per_sqrt_s=0.05,
        clock_offset=float(rng.uniform(-100e-6, 100e-6)),
    )  # fmt: skip
    result = decode_tlm_samples(tx.samples(), fs_hz, bit_rate_bps=bit_rate, start_utc=START)
    truth = [p for p in tx.frame_positions() if p.complete]
    starts = np.array([p.first_bit_sample for p in truth])
    bit_samples = fs_hz / bit_rate
    errors = bits = found = 0
    for f in result.frames:
        i = int(np.argmin(np.abs(starts - f.first_bit_sample)))
        if abs(starts[i] - f.first_bit_sample) >= bit_samples:
            continue
        found += 1
        sent = np.unpackbits(np.frombuffer(truth[i].frame.pack(), np.uint8))[SYNC_BITS:]
        got = np.unpackbits(np.array(f.words, np.uint8))[SYNC_BITS:]
        errors += int(np.sum(sent != got))
        bits += FRAME_BITS - SYNC_BITS
    return {"errors": errors, "bits": bits, "frames": found, "sent": len(truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ebn0", type=float, nargs="+", default=[2.0, 3.0, 4.0, 5.0, 6.0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--bit-rate", type=int, default=64)
    parser.add_argument("--fs", type=float, default=8000.0)
    parser.add_argument("--seed", type=int, default=1962)
    args = parser.parse_args()
    print("ebn0_db errors bits ber ideal_ber equivalent_db loss_db se_db frames")
    for ebn0 in args.ebn0:
        m = measure(ebn0, args.frames, args.bit_rate, args.fs, args.seed + int(ebn0 * 10))
        ber = m["errors"] / max(m["bits"], 1)
        eq = ideal_ebn0_db(ber)
        ideal = 0.5 * float(special.erfc(math.sqrt(10 ** (ebn0 / 10))))
        # d(Eb/N0)/d(ln BER) by a finite difference of the ideal curve at the measured BER
        slope = (ideal_ebn0_db(ber * 1.01) - eq) / math.log(1.01) if ber > 0 else math.nan
        se = abs(slope) / math.sqrt(max(m["errors"], 1))
        print(
            f"{ebn0:.1f} {m['errors']} {m['bits']} {ber:.4e} {ideal:.4e} {eq:.3f} "
            f"{ebn0 - eq:+.3f} {se:.3f} {m['frames']}/{m['sent']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
