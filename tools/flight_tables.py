"""Integrate the mission's flights once and store them: write signals/data/flights.npz.

Usage (from the repository root, a second)::

    python tools/flight_tables.py [--check]

A session needs the probe's flight, integrated from the injection (and, in the ``nominal``
scenario, the midcourse correction) of ``signals/data/trajectory.toml``. Integrating it costs
every session a fifth of a second, scipy's integrator included; the two flights are the same
every time, so they are integrated here and stored: each arc's steps and the coefficients of
its dense output (:class:`signals.path.orbit.Arc`), under a digest of the inputs
(:func:`signals.path.orbit.flight_key`). A flight whose digest is not stored (another
injection, a changed tolerance) is integrated as before.

Run it after ``tools/fit_trajectory.py`` writes new parameters, or after a change to the
force model; ``tests/signals/path/test_stored_flights.py`` fails until it is run.
``--check`` integrates the flights and says whether the stored ones are theirs, writing
nothing.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signals.mission import SCENARIOS
from signals.path.geometry import Trajectory
from signals.path.injection import load_correction
from signals.path.orbit import STORED_FLIGHTS, flight_arrays, stored_flight

OUT = Path(__file__).resolve().parents[1] / "signals" / "data" / STORED_FLIGHTS


def integrated_flights() -> dict[str, np.ndarray]:
    """The arrays of every scenario's flight, integrated now."""
    arrays: dict[str, np.ndarray] = {}
    for scenario in SCENARIOS:
        correction = load_correction() if scenario == "nominal" else None
        flight = Trajectory(correction=correction, integrate=True).flight
        arrays.update(flight_arrays(flight))
        print(f"{scenario}: key {flight.key}, {flight.n_steps} steps")
    return arrays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    arrays = integrated_flights()
    if args.check:
        keys = sorted({name.split(".")[0] for name in arrays})
        stale = [key for key in keys if stored_flight(key) is None]
        print("stored flights are current" if not stale else f"not stored: {stale}")
        return 1 if stale else 0
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    OUT.write_bytes(buffer.getvalue())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
