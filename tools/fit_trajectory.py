"""Fit the Blok L burn of Mars 1 to the documented flyby; write signals/data/trajectory.toml.

Usage (from the repository root, about a minute)::

    python tools/fit_trajectory.py [--check]

The free parameters are the three of the burn (:class:`signals.path.injection.Injection`):
the coast on the parking orbit (s), the velocity added along the track and across it
(km/s). The parking orbit is fixed: circular at 200 km, inclined 64.9°, its plane through
Baikonur at the launch epoch.

The fit, in two nested loops:

1. Start from Lambert's problem (Earth at the burn to a point beside Mars on 19 June 1963
   12:00 UTC), turned into a departure hyperbola from the parking orbit: its periapsis on
   the orbit gives the coast, its speed the along-track velocity.
2. Inner loop: Newton's method (finite-difference Jacobian) on the three burn parameters so
   that the integrated probe is at the aim point relative to Mars at the aim epoch.
3. Outer loop: the integrated closest approach (Mars' gravity bends the path, so it is
   not the aim) is compared with the record, 195,000 km (the middle of 193,000–197,000 km)
   at 1963-06-19 12:00 UTC (the middle of the day); the aim distance is scaled and the aim
   epoch shifted by the differences until both agree to 1 km and 1 min.

The aim lies perpendicular to the Mars-relative arrival velocity, in the plane of that
velocity and the Sun–Mars line, on the side away from the Sun (the night side). The
distance on 21 March 1963 is not fitted: it is printed as a check against the record
(106.76 million km).

The ``nominal`` scenario's midcourse correction (the manoeuvre the lost attitude-control
gas made impossible) is fitted the same way afterwards: three velocity components added
on 1962-11-15 12:00 UTC (an assumption: two weeks out, after orbit determination) so that
the integrated closest approach is 11,000 km at 1963-06-19 12:00 UTC, the planned flyby.

``--check`` integrates the stored parameters and prints the residuals without writing.
After writing new parameters, run ``tools/flight_tables.py``: the sessions read the flights
integrated from them (``signals/data/flights.npz``).
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signals.constants import EARTH_RADIUS_KM, GM_EARTH_KM3_S2, GM_MARS_KM3_S2, GM_SUN_KM3_S2
from signals.mission import LAUNCH_UTC
from signals.path.ephemeris import EARTH_INDEX, LAUNCH_UNIX_S, MARS_INDEX, ephemeris
from signals.path.geometry import Trajectory
from signals.path.injection import (
    TRAJECTORY_FILE,
    Correction,
    Injection,
    load_correction,
    load_injection,
)
from signals.path.kepler import departure_periapsis_angle, solve_lambert
from signals.path.orbit import Flight, closest_approach, parking_orbit_state

TARGET_KM = 195_000.0
TARGET_UTC = datetime(1963, 6, 19, 12, tzinfo=UTC)
LAST_CONTACT_UTC = datetime(1963, 3, 21, 12, tzinfo=UTC)
LAST_CONTACT_KM = 106.76e6
CORRECTION_UTC = datetime(1962, 11, 15, 12, tzinfo=UTC)
NOMINAL_TARGET_KM = 11_000.0
OUT = Path(__file__).resolve().parents[1] / "signals" / "data" / TRAJECTORY_FILE

PARKING = {
    "site_latitude_deg": 45.920,
    "site_longitude_deg": 63.342,
    "altitude_km": 200.0,
    "inclination_deg": 64.9,
}


def _seconds(t: datetime) -> float:
    return (t - LAUNCH_UTC).total_seconds()


def _helio(index: int, t_s: float) -> tuple[np.ndarray, np.ndarray]:
    return ephemeris().heliocentric(index, LAUNCH_UNIX_S + t_s)


def injection(x: np.ndarray) -> Injection:
    return Injection(
        **PARKING, coast_s=float(x[0]), dv_along_km_s=float(x[1]), dv_cross_km_s=float(x[2])
    )


def aim_vector(aim_utc: datetime, distance_km: float, burn_s: float) -> np.ndarray:
    """The aim point relative to Mars (km) from a Lambert arc, night side (see module)."""
    r_e, _ = _helio(EARTH_INDEX, burn_s)
    r_m, v_m = _helio(MARS_INDEX, _seconds(aim_utc))
    tof = _seconds(aim_utc) - burn_s
    aim = np.zeros(3)
    for _ in range(20):
        _, v2 = solve_lambert(r_e, r_m + aim, tof, GM_SUN_KM3_S2)
        u = (v2 - v_m) / np.linalg.norm(v2 - v_m)
        out = r_m / np.linalg.norm(r_m)
        perp = out - (out @ u) * u
        aim = distance_km * perp / np.linalg.norm(perp)
    return aim


def first_guess(aim_utc: datetime) -> np.ndarray:
    """Coast and burn from a Lambert arc and a departure hyperbola (see module)."""
    eph = ephemeris()
    probe = injection(np.array([0.0, 0.0, 0.0]))
    r0, v0 = parking_orbit_state(probe, eph)
    h = np.cross(r0, v0)
    h /= np.linalg.norm(h)
    burn_s = 3600.0
    r_e, v_e = _helio(EARTH_INDEX, burn_s)
    r_m, _ = _helio(MARS_INDEX, _seconds(aim_utc))
    v1, _ = solve_lambert(r_e, r_m, _seconds(aim_utc) - burn_s, GM_SUN_KM3_S2)
    v_inf = v1 - v_e
    vinf = float(np.linalg.norm(v_inf))
    r_p = EARTH_RADIUS_KM + PARKING["altitude_km"]
    angle = departure_periapsis_angle(r0 / np.linalg.norm(r0), h, v_inf, r_p, GM_EARTH_KM3_S2)
    n = math.sqrt(GM_EARTH_KM3_S2 / r_p**3)
    v_c = math.sqrt(GM_EARTH_KM3_S2 / r_p)
    v_p = math.sqrt(vinf**2 + 2 * GM_EARTH_KM3_S2 / r_p)
    return np.array([angle / n, v_p - v_c, 0.0])


def correction(dv: np.ndarray) -> Correction:
    return Correction(CORRECTION_UTC, (float(dv[0]), float(dv[1]), float(dv[2])))


def offset_at(flight_of, x: np.ndarray, aim_utc: datetime) -> np.ndarray:
    """Probe minus Mars (km) at ``aim_utc`` for the flight ``flight_of(x, end_s)``."""
    t_s = _seconds(aim_utc)
    flight = flight_of(x, t_s + 60.0)
    eph = ephemeris()
    m_p, _ = eph.barycentric(MARS_INDEX, eph.time([LAUNCH_UNIX_S + t_s]))
    return flight.state(np.array([t_s]))[0, :3] - m_p[0]


def hit(flight_of, x, steps, max_step, aim_utc: datetime, aim: np.ndarray) -> np.ndarray:
    """Newton's method: parameters ``x`` that put the probe at ``aim`` beside Mars.

    ``steps`` are the finite-difference steps of the Jacobian, ``max_step`` the largest
    change of each parameter per iteration.
    """
    for _ in range(12):
        f0 = offset_at(flight_of, x, aim_utc) - aim
        print(f"    miss {np.linalg.norm(f0):14.3f} km  x = {x}")
        if np.linalg.norm(f0) < 1.0:
            return x
        jac = np.empty((3, 3))
        for j in range(3):
            dx = np.zeros(3)
            dx[j] = steps[j]
            jac[:, j] = (offset_at(flight_of, x + dx, aim_utc) - aim - f0) / steps[j]
        delta = np.linalg.solve(jac, -f0)
        # Damped: no parameter moves by more than its max_step in one iteration.
        scale = min(1.0, float(np.min(max_step / np.maximum(np.abs(delta), 1e-15))))
        x = x + scale * delta
    raise SystemExit("the fit did not converge")


def fit_flyby(flight_of, x, steps, max_step, target_km, aim_km, burn_s):
    """Outer loop: scale the aim and shift its epoch until the closest approach is right."""
    aim_utc = TARGET_UTC
    for outer in range(12):
        aim = aim_vector(aim_utc, aim_km, burn_s)
        x = hit(flight_of, x, steps, max_step, aim_utc, aim)
        flight = flight_of(x, _seconds(TARGET_UTC + timedelta(days=12)))
        when, dist = closest_approach(flight, TARGET_UTC)
        dt_s = (TARGET_UTC - when).total_seconds()
        print(f"  outer {outer}: closest {dist:.1f} km at {when:%Y-%m-%d %H:%M:%S} UTC")
        if abs(dist - target_km) < 1.0 and abs(dt_s) < 60.0:
            return x
        aim_km *= target_km / dist
        aim_utc += timedelta(seconds=dt_s)
    raise SystemExit("the outer fit did not converge")


def report_nominal(inj: Injection, corr: Correction) -> dict[str, object]:
    traj = Trajectory(inj, corr, integrate=True)
    when, dist = traj.flyby()
    out = {
        "nominal_closest_approach_utc": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nominal_closest_approach_km": round(dist, 1),
        "nominal_correction_dv_m_s": round(1e3 * float(np.linalg.norm(corr.dv_km_s)), 3),
    }
    for key, value in out.items():
        print(f"  {key} = {value}")
    return out


def report(inj: Injection) -> dict[str, object]:
    traj = Trajectory(inj, integrate=True)
    when, dist = traj.flyby()
    rng = traj.range_km(LAST_CONTACT_UTC)
    st = traj.flight.injection_state_km
    r = float(np.linalg.norm(st[:3]))
    v = float(np.linalg.norm(st[3:]))
    c3 = v**2 - 2 * GM_EARTH_KM3_S2 / r
    out = {
        "closest_approach_utc": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "closest_approach_km": round(dist, 1),
        "range_1963_03_21_12h_km": round(rng, 0),
        "range_1963_03_21_12h_residual_percent": round(100 * (rng / LAST_CONTACT_KM - 1), 3),
        "injection_speed_km_s": round(v, 6),
        "c3_km2_s2": round(c3, 4),
    }
    for key, value in out.items():
        print(f"  {key} = {value}")
    return out


def write(inj: Injection, corr: Correction, fit: dict[str, object]) -> None:
    lines = [
        "# Mars 1 injection: the parking orbit and the Blok L burn (signals/path/injection.py).",
        "# Written by tools/fit_trajectory.py; [fit] is what the integration gives (a record",
        "# of the fit, not read by the code).",
        "",
        "[parking_orbit]",
        *(f"{k} = {v!r}" for k, v in PARKING.items()),
        "",
        "[burn]",
        f"coast_s = {inj.coast_s!r}",
        f"dv_along_km_s = {inj.dv_along_km_s!r}",
        f"dv_cross_km_s = {inj.dv_cross_km_s!r}",
        "",
        "# The nominal scenario's planned midcourse correction (ICRF axes).",
        "[nominal_correction]",
        f"epoch_utc = {corr.epoch_utc:%Y-%m-%dT%H:%M:%SZ}",
        f"dv_x_km_s = {corr.dv_km_s[0]!r}",
        f"dv_y_km_s = {corr.dv_km_s[1]!r}",
        f"dv_z_km_s = {corr.dv_km_s[2]!r}",
        "",
        "[fit]",
        f'target_closest_approach_utc = "{TARGET_UTC:%Y-%m-%dT%H:%M:%SZ}"',
        f"target_closest_approach_km = {TARGET_KM!r}",
        f"nominal_target_closest_approach_km = {NOMINAL_TARGET_KM!r}",
        *(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v!r}" for k, v in fit.items()),
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report the stored fit only")
    args = parser.parse_args()
    if args.check:
        inj = load_injection()
        report(inj)
        report_nominal(inj, load_correction())
        return 0
    x = first_guess(TARGET_UTC)
    print(f"first guess: coast {x[0]:.1f} s, along {x[1]:.5f} km/s")
    x = fit_flyby(
        lambda x, end_s: Flight(injection(x), end_s),
        x,
        np.array([0.5, 1e-7, 1e-7]),
        np.array([600.0, 0.05, 0.05]),
        TARGET_KM,
        TARGET_KM,
        x[0],
    )
    inj = injection(x)
    fit = report(inj)
    print("nominal: the midcourse correction")
    # Gravity focusing: aim wider than the closest approach, r_p sqrt(1 + 2 mu / (r_p v^2)).
    aim_km = NOMINAL_TARGET_KM * math.sqrt(1 + 2 * GM_MARS_KM3_S2 / (NOMINAL_TARGET_KM * 4.0**2))
    dv = fit_flyby(
        lambda dv, end_s: Flight(inj, end_s, correction(dv)),
        np.zeros(3),
        np.full(3, 1e-7),
        np.full(3, 0.01),
        NOMINAL_TARGET_KM,
        aim_km,
        inj.coast_s,
    )
    corr = correction(dv)
    fit.update(report_nominal(inj, corr))
    write(inj, corr, fit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
