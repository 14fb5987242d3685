"""``groundstation contact --scenario sputnik22``: what Yevpatoria could hear of the sister craft.

2MV-4 No.1 (Sputnik 22) never left its parking orbit: the Blok L exploded at ignition.
This runs the station's side of that day: the orbit (:mod:`signals.path.sputnik22`), its
passes over Yevpatoria from orbit insertion to four hours after launch, the Doppler the
station would have had to follow on the 1.6 m band, and the end; and writes
``session.json``, ``pass.csv`` (every 10 s of each pass) and ``report.html``.

Nothing here reads or changes the Mars 1 trajectory, its fitted data or its sessions.
"""

from __future__ import annotations

import argparse
import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from groundstation.errors import SessionError
from groundstation.io.files import write_json, write_text

#: The window searched for passes: from orbit insertion to this long after launch.
SEARCH_S = 4 * 3600.0
#: The 1.6 m band's limits on what a recording may keep of the Doppler (ICD §1 table).
STEP_S = 10.0


def _utc(t: np.datetime64) -> str:
    return str(np.datetime_as_string(t, unit="s")) + "Z"


def sputnik22_day() -> dict[str, Any]:
    """The orbit, the failure and the passes, as plain data (see module docs)."""
    from signals.bands import band
    from signals.path import sputnik22 as s22

    ignition = s22.ignition_utc()
    start = s22.LAUNCH_UTC + timedelta(seconds=s22.INSERTION_S)
    passes = s22.passes(start, s22.LAUNCH_UTC + timedelta(seconds=SEARCH_S), STEP_S)
    b = band(s22.LISTENING_BAND)
    ignition64 = np.datetime64(ignition.replace(tzinfo=None), "us")
    rows = []
    for p in passes:
        rate = np.abs(np.diff(p.doppler_hz)) / STEP_S if p.doppler_hz.size > 1 else np.zeros(1)
        fixed_ok = float(np.mean(np.abs(p.doppler_hz) <= b.max_residual_hz))
        rows.append(
            {
                "rise_utc": _utc(p.t_utc[0]),
                "set_utc": _utc(p.t_utc[-1]),
                "max_elevation_deg": float(np.max(p.elevation_deg)),
                "nearest_km": float(np.min(p.range_km)),
                "doppler_max_hz": float(np.max(p.doppler_hz)),
                "doppler_min_hz": float(np.min(p.doppler_hz)),
                "doppler_rate_max_hz_per_s": float(np.max(rate)),
                "fraction_within_residual_if_fixed": fixed_ok,
                "before_ignition": bool(p.t_utc[-1] < ignition64),
                "samples": p,
            }
        )
    return {
        "launch_utc": s22.LAUNCH_UTC,
        "ignition_utc": ignition,
        "coast_s": s22.planned_coast_s(),
        "perigee_km": s22.PERIGEE_ALTITUDE_KM,
        "apogee_km": s22.APOGEE_ALTITUDE_KM,
        "inclination_deg": s22.INCLINATION_DEG,
        "band": s22.LISTENING_BAND,
        "carrier_hz": b.carrier_hz,
        "max_residual_hz": b.max_residual_hz,
        "max_residual_rate_hz_per_s": b.max_residual_rate_hz_per_s,
        "passes": rows,
        "heard_before_failure": any(r["before_ignition"] for r in rows),
        "debris_pieces": s22.DEBRIS_PIECES,
        "decay_first_utc": s22.DECAY_FIRST_UTC,
        "decay_last_utc": s22.DECAY_LAST_UTC,
    }


def _sentences(day: dict[str, Any]) -> dict[str, str]:
    ignition = day["ignition_utc"]
    first = day["passes"][0] if day["passes"] else None
    if day["heard_before_failure"]:
        verdict = "Yevpatoria could hear the craft on its parking orbit before the failure."
    else:
        verdict = "Nothing heard: the craft never rose over Yevpatoria before the explosion."
    story = (
        f"Launched at {day['launch_utc']:%H:%M:%S} UTC, the craft coasted on a "
        f"{day['perigee_km']:.0f} × {day['apogee_km']:.0f} km orbit until the Blok L ignited "
        f"at about {ignition:%H:%M} UTC ({day['coast_s'] / 60:.0f} min, the time the departure "
        "towards Mars needed) and exploded."
    )
    if first is not None:
        timing = "before" if first["before_ignition"] else "after"
        minutes = (
            abs(
                datetime.fromisoformat(first["rise_utc"].replace("Z", "+00:00")) - ignition
            ).total_seconds()
            / 60
        )
        story += (
            f" Its first pass over the Crimea, {first['rise_utc'][11:16]}–"
            f"{first['set_utc'][11:16]} UTC ({first['max_elevation_deg']:.0f}° up, "
            f"{first['nearest_km']:,.0f} km at the nearest), came {minutes:.0f} min {timing} the "
            "ignition"
            + (": what crossed the station's sky was debris, silent." if timing == "after" else ".")
        )
    sweep = held = ""
    if first is not None:
        low, high = first["doppler_min_hz"] / 1e3, first["doppler_max_hz"] / 1e3
        rate = first["doppler_rate_max_hz_per_s"]
        sweep = f"from {high:+.1f} to {low:+.1f} kHz in a few minutes, at up to {rate:.0f} Hz/s "
        sweep += "at culmination, "
        share = 100 * first["fraction_within_residual_if_fixed"]
        held = f" (a fixed tuning holds for only {share:.0f} % of the pass)"
    limit_khz = day["max_residual_hz"] / 1e3
    limit_rate = day["max_residual_rate_hz_per_s"]
    tuning = (
        f"On the 1.6 m band ({day['carrier_hz'] / 1e6:.1f} MHz) a low orbit sweeps the carrier "
        f"{sweep}against the ±{limit_khz:.0f} kHz and ±{limit_rate:.0f} Hz/s residual a "
        f"recording of that band may keep{held}. So the station programs the predicted Doppler "
        "into its receiver, as for Mars 1 (ICD §1): it tunes along the Doppler curve computed "
        "from the predicted orbit, and only the error of the prediction is left in the "
        "recording."
    )
    end = (
        f"The explosion left {day['debris_pieces']} catalogued pieces in low orbit; the "
        f"atmosphere brought them down between {day['decay_first_utc']:%d %B %Y} and "
        f"{day['decay_last_utc']:%d %B %Y}. Eight days later Mars 1 left the same kind of "
        "orbit on the same kind of stage, and reached interplanetary space."
    )
    return {"verdict": verdict, "story": story, "tuning": tuning, "end": end}


def run_sputnik22_command(args: argparse.Namespace) -> int:
    """``groundstation contact --scenario sputnik22``: exit 3 when nothing could be heard."""
    from groundstation.report.pages import write_sputnik22_report

    if getattr(args, "at", None) or getattr(args, "session", None) is not None:
        raise SessionError("--scenario sputnik22 has its own day; --at and --session do not apply")
    outdir = Path(args.output)
    day = sputnik22_day()
    text = _sentences(day)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["pass", "utc", "elevation_deg", "range_km", "range_rate_km_s", "doppler_hz"])
    for i, row in enumerate(day["passes"], start=1):
        p = row["samples"]
        for k in range(p.t_utc.size):
            writer.writerow(
                [
                    i,
                    _utc(p.t_utc[k]),
                    f"{p.elevation_deg[k]:.3f}",
                    f"{p.range_km[k]:.3f}",
                    f"{p.range_rate_km_s[k]:.6f}",
                    f"{p.doppler_hz[k]:.1f}",
                ]
            )
    write_text(outdir / "pass.csv", buffer.getvalue())
    summary = {k: v for k, v in day.items() if k != "passes"}
    summary["passes"] = [{k: v for k, v in r.items() if k != "samples"} for r in day["passes"]]
    summary.update(text)
    write_json(outdir / "session.json", summary)
    facts = [
        ("Launch", f"{day['launch_utc']:%Y-%m-%d %H:%M:%S} UTC, Baikonur Site 1/5"),
        (
            "Parking orbit",
            f"{day['perigee_km']:.0f} × {day['apogee_km']:.0f} km, {day['inclination_deg']}°",
        ),
        ("Blok L ignition (modelled)", f"{day['ignition_utc']:%H:%M:%S} UTC"),
        ("Heard before the failure", "yes" if day["heard_before_failure"] else "no"),
    ]
    passes = [
        (
            r["rise_utc"][11:19],
            r["set_utc"][11:19],
            f"{r['max_elevation_deg']:.1f}",
            f"{r['nearest_km']:,.0f}",
            f"{r['doppler_max_hz'] / 1e3:+.1f} … {r['doppler_min_hz'] / 1e3:+.1f}",
            f"{r['doppler_rate_max_hz_per_s']:.0f}",
            "the craft" if r["before_ignition"] else "debris (silent)",
        )
        for r in day["passes"]
    ]
    write_sputnik22_report(outdir / "report.html", {**text, "facts": facts, "passes": passes})
    print(text["verdict"])
    print(text["story"])
    print(f"report: {outdir / 'report.html'}")
    return 0 if day["heard_before_failure"] else 3
