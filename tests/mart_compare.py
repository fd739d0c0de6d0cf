"""Comparing two builds of the marts: each mart's key, and when two values count as equal.

Used where one build must equal another: a club against single-athlete builds
(test_club_marts.py), Spark against DuckDB (spark/test_spark_marts.py), a quiet night's
partial build against a full one (test_build_scope.py).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math

REL = 1e-9  # floats: relative tolerance

MART_KEYS = {
    "activities": ("source", "activity_id"),
    "daily_training_load": ("athlete_id", "date"),
    "weekly_training_summary": ("athlete_id", "week_start"),
    "training_flags": ("athlete_id", "week_start", "flag"),
    "daily_wellness": ("athlete_id", "date"),
}


def _utc_naive(value):
    """Spark writes its TIMESTAMP (UTC session) as an instant, which DuckDB reads as TIMESTAMPTZ."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def same(a, b) -> bool:
    """Equal values: the same nulls and booleans, floats to REL relative, anything else exactly."""
    a, b = _utc_naive(a), _utc_naive(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (float, decimal.Decimal)) or isinstance(b, (float, decimal.Decimal)):
        a, b = float(a), float(b)
        return a == b or math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)
    return a == b


def differences(expected: list[dict], actual: list[dict], key: tuple[str, ...]) -> list[tuple]:
    """What differs between two builds of one mart, rows as dicts: keys missing, extra or
    repeated, other columns, and values that are not `same`."""
    by_key = {tuple(r[k] for k in key): r for r in actual}
    found = [("repeated keys", len(actual) - len(by_key))] if len(by_key) != len(actual) else []
    for row in expected:
        k = tuple(row[c] for c in key)
        other = by_key.pop(k, None)
        if other is None:
            found.append(("missing", k))
        elif list(other) != list(row):
            found.append(("columns", list(row), list(other)))
        else:
            found += [(k, c, row[c], other[c]) for c in row if not same(row[c], other[c])]
    return found + [("extra", k) for k in by_key]
