"""Strava's webhook events, stored durably the moment they arrive, applied by the next sync.

The receiver must answer Strava within 2 seconds, also while a sync holds the DuckDB file
(one writer, never readers at the same time). So events go to their own small SQLite file
(`TRAINSMART_HOME/strava_events.sqlite`, WAL, synchronous FULL: committed to disk before
the 200 goes out), and the sync, which holds the warehouse, applies the pending ones.
The subscription this deployment made (`trainsmart webhook subscribe`) is kept beside it
in `strava_webhook.json`; an event for another subscription is not ours.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
create table if not exists events (
    id              integer primary key autoincrement,
    received_at     real    not null,
    subscription_id integer,
    owner_id        integer,
    object_type     text    not null,   -- 'activity' | 'athlete'
    object_id       integer not null,
    aspect_type     text    not null,   -- 'create' | 'update' | 'delete'
    updates         text,               -- JSON object as Strava sent it
    event_time      integer,
    status          text    not null default 'pending',  -- pending | applied | ignored
    applied_at      real,
    note            text
);
create index if not exists events_pending on events (status, id);
"""


@dataclass(frozen=True)
class Event:
    id: int
    owner_id: int | None
    object_type: str
    object_id: int
    aspect_type: str
    updates: dict

    @property
    def deauthorization(self) -> bool:
        return self.object_type == "athlete" and str(self.updates.get("authorized", "")).lower() == "false"


class EventStore:
    def __init__(self, home: Path):
        self.path = home / "strava_events.sqlite"
        self.subscription_file = home / "strava_webhook.json"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        con.execute("pragma journal_mode=wal")
        con.execute("pragma synchronous=full")
        con.executescript(SCHEMA)
        return con

    # -- the subscription ------------------------------------------------------------
    def subscription(self) -> dict | None:
        try:
            return json.loads(self.subscription_file.read_text())
        except (OSError, ValueError):
            return None

    def save_subscription(self, subscription: dict | None) -> None:
        if subscription is None:
            self.subscription_file.unlink(missing_ok=True)
            return
        self.subscription_file.parent.mkdir(parents=True, exist_ok=True)
        self.subscription_file.write_text(json.dumps(subscription))

    # -- events -----------------------------------------------------------------------
    def add(self, body: dict[str, Any]) -> int:
        """Store one event (committed to disk before this returns)."""
        con = self._connect()
        try:
            cur = con.execute(
                "insert into events (received_at, subscription_id, owner_id, object_type, object_id, aspect_type, "
                "updates, event_time) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [time.time(), body.get("subscription_id"), body.get("owner_id"), str(body["object_type"]),
                 int(body["object_id"]), str(body["aspect_type"]), json.dumps(body.get("updates") or {}),
                 body.get("event_time")])
            return int(cur.lastrowid)
        finally:
            con.close()

    def pending(self) -> list[Event]:
        if not self.path.exists():
            return []
        con = self._connect()
        try:
            rows = con.execute("select id, owner_id, object_type, object_id, aspect_type, updates from events "
                               "where status = 'pending' order by id").fetchall()
        finally:
            con.close()
        return [Event(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}")) for r in rows]

    def mark(self, event_id: int, status: str, note: str | None = None) -> None:
        con = self._connect()
        try:
            con.execute("update events set status = ?, applied_at = ?, note = ? where id = ?",
                        [status, time.time(), note, event_id])
        finally:
            con.close()

    def counts(self) -> dict[str, int]:
        if not self.path.exists():
            return {}
        con = self._connect()
        try:
            return dict(con.execute("select status, count(*) from events group by status").fetchall())
        finally:
            con.close()

    def last_received(self) -> float | None:
        if not self.path.exists():
            return None
        con = self._connect()
        try:
            return con.execute("select max(received_at) from events").fetchone()[0]
        finally:
            con.close()
