"""The replay's schedule: which sessions there are, numbered in time order, and when each starts.

The schedule follows the documented flight (ICD §1); ``docs/sessions.md`` and
:mod:`groundstation.session.mission` say how the sessions the record does not date are placed.
``groundstation contact --session N`` and ``groundstation mission`` both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from groundstation.errors import SessionError

FIRST_SESSION_DAY: Final = datetime(1962, 11, 2, tzinfo=UTC)
FIVE_DAY_START: Final = datetime(1962, 12, 13, tzinfo=UTC)
LAST_DOCUMENTED_CONTACT: Final = datetime(1963, 3, 21, tzinfo=UTC)
FLYBY_DAY: Final = datetime(1963, 6, 19, tzinfo=UTC)
DOCUMENTED_SESSIONS: Final = 61
#: The launch-day sessions: the outer radiation belt (L ≈ 3.7, 64° up), then the
#: near-Earth meteoroid zone (37,000 km altitude, about 30 hits counted so far).
BELT_SESSION_UTC: Final = datetime(1962, 11, 1, 17, 44, tzinfo=UTC)
METEOROID_SESSION_UTC: Final = datetime(1962, 11, 1, 19, 15, tzinfo=UTC)
LAUNCH_DAY_SESSIONS: Final = (BELT_SESSION_UTC, METEOROID_SESSION_UTC)
#: Ground-commanded sessions on the odd days from 3 Nov to this day.
LAST_ODD_DAY: Final = datetime(1962, 12, 5, tzinfo=UTC)
#: The default ``groundstation contact``: the 4 November 1962 session, dish still pointed.
DEFAULT_CONTACT_DAY: Final = datetime(1962, 11, 4, tzinfo=UTC)


@dataclass(frozen=True)
class ScheduledSession:
    """One entry of the replay's schedule: a day and how the session was called."""

    number: int
    day_utc: datetime
    kind: str  # "automatic", "ground-commanded", "attempt" or "flyby"
    fixed_start: bool = False  # day_utc is the start itself, not the day of a culmination


def session_start(entry: ScheduledSession) -> datetime:
    """When session ``entry`` starts: its fixed time, or the culmination of its day's pass."""
    from groundstation.session.plan import find_session_time

    return entry.day_utc if entry.fixed_start else find_session_time(entry.day_utc)


def mission_schedule(until: datetime = FLYBY_DAY) -> list[ScheduledSession]:
    """The replay's sessions, numbered in time order, up to ``until`` (see module docs)."""
    days: list[tuple[datetime, str]] = [(t, "ground-commanded") for t in LAUNCH_DAY_SESSIONS]
    day = FIRST_SESSION_DAY
    while day < FIVE_DAY_START:
        days.append((day, "automatic"))
        if day + timedelta(days=1) <= LAST_ODD_DAY:
            days.append((day + timedelta(days=1), "ground-commanded"))
        day += timedelta(days=2)
    five_day = []
    day = FIVE_DAY_START
    while day <= LAST_DOCUMENTED_CONTACT:
        five_day.append(day)
        day += timedelta(days=5)
    days += [(d, "automatic") for d in five_day]
    days.append((LAST_DOCUMENTED_CONTACT, "ground-commanded"))
    day = five_day[-1] + timedelta(days=5)
    while day < FLYBY_DAY:
        days.append((day, "attempt"))
        day += timedelta(days=5)
    days.append((FLYBY_DAY, "flyby"))
    days.sort()
    return [
        ScheduledSession(number=i + 1, day_utc=d, kind=k, fixed_start=d in LAUNCH_DAY_SESSIONS)
        for i, (d, k) in enumerate(days)
        if d <= until
    ]


def default_session() -> ScheduledSession:
    """The session ``groundstation contact`` plays without ``--at`` or ``--session``."""
    return next(s for s in mission_schedule() if s.day_utc == DEFAULT_CONTACT_DAY)


def session_day(number: int) -> ScheduledSession:
    """The schedule entry of session ``number`` (1-based)."""
    schedule = mission_schedule()
    if not 1 <= number <= len(schedule):
        raise SessionError(f"no session {number}: the replay has sessions 1 to {len(schedule)}")
    return schedule[number - 1]
