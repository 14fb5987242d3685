"""``groundstation ephemeris``: the probe's geometry, one row per time step.

::

    groundstation ephemeris --from 1963-03-21 --to 1963-03-22 --step 1h
    groundstation ephemeris --from 1963-06-18 --to 1963-06-21 --step 10min --format json -o f.json

Each row: ``utc``, ``range_km``, ``range_rate_km_s`` and ``light_time_s`` from the station
(Yevpatoria), ``elevation_deg`` there, ``sun_distance_au``, ``mars_distance_km`` and the
heliocentric position in the J2000 ecliptic frame (``x_km``, ``y_km``, ``z_km``), all from
:func:`signals.path.geometry.get_trajectory`. CSV has a header line; JSON is an array of
objects. The rows run from ``--from`` to ``--to`` inclusive.

This module is imported when the parser is built: the geometry (skyfield) is imported only
when the command runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from datetime import datetime, timedelta
from typing import Final

from groundstation.errors import GroundStationError

#: The columns, in order.
COLUMNS: Final = (
    "utc",
    "range_km",
    "range_rate_km_s",
    "light_time_s",
    "elevation_deg",
    "sun_distance_au",
    "mars_distance_km",
    "x_km",
    "y_km",
    "z_km",
)
#: Decimal places written for each numeric column.
DECIMALS: Final = {
    "range_km": 3,
    "range_rate_km_s": 6,
    "light_time_s": 6,
    "elevation_deg": 4,
    "sun_distance_au": 9,
    "mars_distance_km": 3,
    "x_km": 3,
    "y_km": 3,
    "z_km": 3,
}
MAX_ROWS: Final = 1_000_000
_CHUNK_ROWS: Final = 20_000
_UNITS_S: Final = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86_400.0}
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|min|h|d)\s*$")


class EphemerisError(GroundStationError):
    """A bad time range or step for ``groundstation ephemeris``."""


def parse_duration_s(text: str) -> float:
    """Parse a step like ``30s``, ``10min``, ``1h`` or ``1d`` into seconds.

    >>> parse_duration_s("10min"), parse_duration_s("1.5h"), parse_duration_s("1d")
    (600.0, 5400.0, 86400.0)
    """
    match = _DURATION.match(text)
    if not match:
        raise EphemerisError(f"step {text!r} is not a duration (use e.g. 30s, 10min, 1h, 1d)")
    seconds = float(match.group(1)) * _UNITS_S[match.group(2)]
    if not seconds > 0:
        raise EphemerisError(f"step {text!r} must be longer than zero")
    return seconds


def row_times(start: datetime, end: datetime, step_s: float) -> list[datetime]:
    """The instants ``start, start + step, ...`` up to ``end`` inclusive (at most MAX_ROWS)."""
    if end < start:
        raise EphemerisError(f"--to {end:%Y-%m-%d %H:%M:%S} UTC is before --from")
    n = math.floor((end - start).total_seconds() / step_s + 1e-9) + 1
    if n > MAX_ROWS:
        raise EphemerisError(
            f"{n:,} rows: more than {MAX_ROWS:,}; use a longer --step or a shorter span"
        )
    return [start + timedelta(seconds=k * step_s) for k in range(n)]


def ephemeris_rows(times: list[datetime]) -> list[dict[str, object]]:
    """The rows for ``times`` (tz-aware UTC), computed in vectorised chunks."""
    import numpy as np

    from signals.path.geometry import ecliptic_from_icrf, get_trajectory

    traj = get_trajectory()
    rows: list[dict[str, object]] = []
    for i in range(0, len(times), _CHUNK_ROWS):
        chunk = times[i : i + _CHUNK_ROWS]
        stamps = np.array([t.replace(tzinfo=None) for t in chunk], dtype="datetime64[us]")
        st = traj.state(stamps)
        ecl = ecliptic_from_icrf(st.heliocentric_km)
        columns = {
            "range_km": st.range_km,
            "range_rate_km_s": st.range_rate_km_s,
            "light_time_s": st.light_time_s,
            "elevation_deg": st.elevation_deg,
            "sun_distance_au": st.sun_distance_au,
            "mars_distance_km": st.mars_distance_km,
            "x_km": ecl[:, 0],
            "y_km": ecl[:, 1],
            "z_km": ecl[:, 2],
        }
        for j, t in enumerate(chunk):
            row: dict[str, object] = {"utc": _iso(t)}
            for name, values in columns.items():
                row[name] = round(float(values[j]), DECIMALS[name])
            rows.append(row)
    return rows


def _iso(t: datetime) -> str:
    if t.microsecond:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_rows(rows: list[dict[str, object]], fmt: str) -> str:
    """The rows as CSV (with a header) or as a JSON array of objects."""
    if fmt == "json":
        from groundstation.io.files import to_json

        return to_json(rows, indent=None).replace("}, {", "},\n {") + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row["utc"]] + [f"{row[name]:.{DECIMALS[name]}f}" for name in COLUMNS[1:]])
    return buffer.getvalue()


def _time(text: str, option: str) -> datetime:
    from groundstation.io.recording import parse_utc

    try:
        return parse_utc(text)
    except ValueError:
        raise EphemerisError(f"{option} {text!r} is not a UTC time (ISO 8601)") from None


def run_ephemeris_command(args: argparse.Namespace) -> int:
    """``groundstation ephemeris``."""
    start = _time(args.start, "--from")
    end = _time(args.end, "--to")
    times = row_times(start, end, parse_duration_s(args.step))
    from signals.mission import LAUNCH_UTC
    from signals.path.ephemeris import TRAJECTORY_END_UTC

    if start < LAUNCH_UTC or end > TRAJECTORY_END_UTC:
        raise EphemerisError(
            f"the trajectory covers {LAUNCH_UTC:%Y-%m-%d %H:%M:%S} to "
            f"{TRAJECTORY_END_UTC:%Y-%m-%d %H:%M:%S} UTC; asked for "
            f"{start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S}"
        )
    text = format_rows(ephemeris_rows(times), args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        from groundstation.io.files import write_text

        write_text(args.output, text)
        print(f"{len(times)} rows -> {args.output}", file=sys.stderr)
    return 0
