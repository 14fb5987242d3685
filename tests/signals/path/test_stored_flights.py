"""The mission's flights as stored are the flights integrated from today's inputs.

``signals/data/flights.npz`` holds the two scenarios' flights, integrated once by
``tools/flight_tables.py`` (a session reads them instead of integrating: no scipy
integrator, a fifth of a second less). These tests fail when the stored flights no longer
are what the code integrates (new injection parameters, another force model): run the tool.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from signals.errors import GeometryError
from signals.mission import SCENARIOS
from signals.path.ephemeris import body_table
from signals.path.geometry import Trajectory, get_trajectory
from signals.path.injection import load_correction, load_injection
from signals.path.orbit import (
    SAME_STEP_KM,
    SAME_STEP_KM_S,
    Arc,
    Flight,
    stored_flight,
)

ROOT = Path(__file__).resolve().parents[3]
RUN_THE_TOOL = "the stored flights are stale: run python tools/flight_tables.py"


def _correction(scenario: str):
    return load_correction() if scenario == "nominal" else None


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_reads_its_stored_flight(scenario) -> None:
    flight = get_trajectory(scenario).flight
    assert stored_flight(flight.key) is not None, RUN_THE_TOOL


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_stored_flight_is_the_one_integrated_now(scenario) -> None:
    """Each stored step taken again from its start with today's force model and DOP853: the
    same states within the rounding of a step (on the machine that stored them, the same
    bits), and a flight integrated here is its own to the bit."""
    stored = get_trajectory(scenario).flight
    km, km_s = stored.model_differences()
    assert km < SAME_STEP_KM and km_s < SAME_STEP_KM_S, RUN_THE_TOOL
    fresh = Trajectory(correction=_correction(scenario), integrate=True).flight
    km, km_s = fresh.model_differences()  # the same steps: at most the rounding of a sum
    assert km < 1e-3 * SAME_STEP_KM and km_s < 1e-3 * SAME_STEP_KM_S
    assert abs(stored.n_steps - fresh.n_steps) <= 0.05 * fresh.n_steps


def test_a_changed_force_model_is_seen(monkeypatch) -> None:
    """The stored flights' check is not fooled by the key (which holds the data, not the
    code): with a force a hundred-millionth stronger, the stored steps are not today's."""
    table = body_table()
    make = table.acceleration_function

    def stronger(gm_km3_s2):
        return make(gm_km3_s2 * (1 + 1e-8))

    monkeypatch.setattr(table, "acceleration_function", stronger)
    km, km_s = get_trajectory("historical").flight.model_differences()
    assert km > 100 * SAME_STEP_KM and km_s > 100 * SAME_STEP_KM_S


def test_a_changed_burn_is_seen(monkeypatch) -> None:
    """The impulses are worked out again from the arcs' own states: a burn a millimetre per
    second stronger is not the stored flight."""
    flight = get_trajectory("nominal").flight
    stronger = dataclasses.replace(
        flight.injection, dv_along_km_s=flight.injection.dv_along_km_s + 1e-6
    )
    monkeypatch.setattr(flight, "injection", stronger)
    _, km_s = flight.model_differences()
    assert km_s > 100 * SAME_STEP_KM_S


def test_a_stored_step_moved_or_an_arc_cut_short_is_seen(monkeypatch) -> None:
    """A step that does not start where the one before ends (by 10 cm), and an arc that
    ends before its span, are not today's flight."""
    flight = get_trajectory("historical").flight
    cruise = flight.arcs.cruise
    moved = cruise.y_start.copy()
    moved[120, 0] += 1e-4
    monkeypatch.setattr(
        flight, "arcs", dataclasses.replace(flight.arcs, cruise=Arc(cruise.ts, moved, cruise.coef))
    )
    km, _ = flight.model_differences()
    assert km > 5 * SAME_STEP_KM
    short = Arc(cruise.ts[:-1], cruise.y_start[:-1], cruise.coef[:-1])
    monkeypatch.setattr(flight, "arcs", dataclasses.replace(flight.arcs, cruise=short))
    assert flight.model_differences() == (math.inf, math.inf)


def test_a_flight_without_coast_has_no_state_before_launch() -> None:
    injection = dataclasses.replace(load_injection(), coast_s=0.0)
    flight = Flight(injection, 30 * 86400.0)
    assert flight.state(np.array([0.0, 86400.0])).shape == (2, 6)
    with pytest.raises(GeometryError, match="starts at launch"):
        flight.state(-1.0)


def test_an_arc_gives_scipys_dense_output_to_the_bit() -> None:
    """An :class:`Arc` evaluates the steps as scipy's OdeSolution does: the same floats, at
    times inside steps and on their edges, in any order."""

    def rhs(t, y):
        return np.array([y[3], y[4], y[5], -y[0], -y[1] - 0.1 * y[4], -4.0 * y[2] + np.sin(t)])

    y0 = np.array([1.0, 0.0, 0.5, 0.0, 1.0, 0.2])
    solution = solve_ivp(rhs, (0.0, 40.0), y0, method="DOP853", rtol=1e-10, dense_output=True)
    arc = Arc.from_solution(solution.sol)
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(0.0, 40.0, 500), solution.t, [-1.0, 41.0]])
    assert np.array_equal(arc(t), solution.sol(t).T)
    assert np.array_equal(arc(t[0]), solution.sol(t[0])[None, :])  # a scalar


def test_a_session_trajectory_loads_no_integrator_nor_optimizer() -> None:
    """A fresh process that builds both trajectories and asks for the station's visibility
    imports neither scipy's integrator nor its optimizers (their import is a tenth of a
    second and more)."""
    code = (
        "import json, sys\n"
        "from datetime import datetime, UTC\n"
        "from signals.path.geometry import get_trajectory\n"
        "for s in ('historical', 'nominal'):\n"
        "    t = get_trajectory(s)\n"
        "    t.range_km(datetime(1962, 12, 1, tzinfo=UTC))\n"
        "    t.visibility_windows(datetime(1962, 12, 1, tzinfo=UTC), "
        "datetime(1962, 12, 2, tzinfo=UTC))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert not {"scipy.integrate", "scipy.optimize"} & modules
