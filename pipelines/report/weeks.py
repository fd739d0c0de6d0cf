"""Week arithmetic shared by the report, the CLI and the schedule: weeks start on Monday."""

from __future__ import annotations

import datetime as dt

ONE_DAY = dt.timedelta(days=1)
ONE_WEEK = dt.timedelta(days=7)


def week_of(day: dt.date) -> dt.date:
    """The Monday on or before `day` (ISO weeks, as METRICS.md defines week_start)."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return day - dt.timedelta(days=day.weekday())


def week_end(monday: dt.date) -> dt.date:
    """The Sunday of the week that starts on `monday`."""
    return monday + dt.timedelta(days=6)


def last_complete_week(as_of: dt.date) -> dt.date:
    """The Monday of the last week whose Sunday is on or before `as_of`.

    On a Sunday that is the week ending that day; on any other day the week before.
    """
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    return week_of(as_of + ONE_DAY) - ONE_WEEK


def is_complete(monday: dt.date, as_of: dt.date) -> bool:
    return week_end(monday) <= as_of
