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
``--check`` says whether the stored flights are what today's code integrates (each step
taken again from its stored start: the same states, within the rounding of a step), writing
nothing; status 1 if not.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signals.mission import SCENARIOS
from signals.path.geometry import Trajectory, get_trajectory
from signals.path.injection import load_correction
from signals.path.orbit import (
    SAME_STEP_KM,
    SAME_STEP_KM_S,
    STORED_FLIGHTS,
    Flight,
    flight_arrays,
    stored_flight,
)

OUT = Path(__file__).resolve().parents[1] / "signals" / "data" / STORED_FLIGHTS


def integrated_flights() -> dict[str, Flight]:
    """Every scenario's flight, integrated now."""
    flights = {}
    for scenario in SCENARIOS:
        correction = load_correction() if scenario == "nominal" else None
        flights[scenario] = flight = Trajectory(correction=correction, integrate=True).flight
        print(f"{scenario}: key {flight.key}, {flight.n_steps} steps")
    return flights


def stale(scenario: str) -> str | None:
    """Why the stored flight of ``scenario`` is not what today's code integrates, or None."""
    flight = get_trajectory(scenario).flight
    if stored_flight(flight.key) is None:
        return f"{scenario}: no flight stored for these inputs"
    km, km_s = flight.model_differences()
    if km >= SAME_STEP_KM or km_s >= SAME_STEP_KM_S:
        return f"{scenario}: a stored step is {km:.3g} km, {km_s:.3g} km/s away"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    if args.check:
        reasons = [r for r in map(stale, SCENARIOS) if r is not None]
        print("\n".join(reasons) if reasons else "the stored flights are current")
        return 1 if reasons else 0
    flights = integrated_flights()
    arrays = {name: a for flight in flights.values() for name, a in flight_arrays(flight).items()}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    OUT.write_bytes(buffer.getvalue())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
