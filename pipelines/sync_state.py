"""The syncs' bookkeeping in raw.sync_state: one JSON value per key (listing cursors, wellness
progress, rate budgets, the last build). Written in the same transaction as the data it
describes, so a killed run resumes exactly where its last commit left off."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from pipelines.landing import utcnow
from pipelines.warehouse import transaction


def get_state(con: duckdb.DuckDBPyConnection, key: str) -> Any:
    row = con.execute("select value from raw.sync_state where key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else None


def set_state(con: duckdb.DuckDBPyConnection, key: str, value: Any) -> None:
    con.execute(
        "insert or replace into raw.sync_state (key, value, updated_at) values (?, ?, ?)",
        [key, json.dumps(value), utcnow()],
    )


def clear_state(con: duckdb.DuckDBPyConnection, key: str) -> None:
    con.execute("delete from raw.sync_state where key = ?", [key])


def state_key(athlete_key: str | None, name: str) -> str:
    """A sync_state key of one athlete's sync (Strava's or Garmin's): `athlete/KEY/name` for a
    roster athlete, the plain name for the one athlete of the environment."""
    return f"athlete/{athlete_key}/{name}" if athlete_key else name


def record_failure(con: duckdb.DuckDBPyConnection, key: str, message: str, at: float) -> None:
    """An athlete's last failure in a club run, for `trainsmart status` until a run of theirs
    gets through (then clear_state); committed at once, whatever the run does next."""
    with transaction(con):
        set_state(con, key, {"at": at, "message": message})
