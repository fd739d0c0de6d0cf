"""What every sync run shares, whatever the platform: the writer lock, a row in
raw.sync_runs (running -> complete | partial | failed, with its request count and summary),
and the read snapshot published at the end, also after a failure, so `trainsmart sql`
sees everything that was committed."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Callable, Protocol, TypeVar

import duckdb

from pipelines import landing, warehouse
from pipelines.config import Settings


@dataclass
class SyncCounts:
    """What every platform's sync reports: done or stopped early, and the activity counts."""

    complete: bool = True
    message: str = ""
    requests: int = 0
    pages: int = 0
    activities_new: int = 0
    activities_updated: int = 0
    activities_unchanged: int = 0
    deleted: int = 0
    reconciled: bool = False

    def summary(self) -> dict:
        return dict(self.__dict__)

    def add(self, other: "SyncCounts") -> None:
        """Add another run's counts (a club run sums its athletes' runs)."""
        for name in ("pages", "activities_new", "activities_updated", "activities_unchanged", "deleted",
                     "stream_samples"):
            if hasattr(self, name):
                setattr(self, name, getattr(self, name) + getattr(other, name, 0))


class ClubOutcomes:
    """The per-athlete side of a club run's result (Strava's and Garmin's): `athletes` holds
    one progress record per athlete, each with a `status` and a `line()`."""

    athletes: list

    @property
    def failed(self) -> list:
        return [a for a in self.athletes if a.status == "failed"]

    def summary(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "athletes"}
        out["athletes"] = [a.__dict__ for a in self.athletes]
        return out


class SyncOutcome(Protocol):
    complete: bool
    message: str
    requests: int

    def summary(self) -> dict: ...


R = TypeVar("R", bound=SyncOutcome)


def recorded_sync(settings: Settings, kind: str, body: Callable[[duckdb.DuckDBPyConnection], R],
                  progress: Callable[[str], None] | None = None) -> R:
    run_id = uuid.uuid4().hex
    with warehouse.writer_lock(settings.db_path, on_wait=lambda: (progress or print)("waiting for another run to finish")):
        con = warehouse.connect_writer(settings.db_path)
        try:
            con.execute("insert into raw.sync_runs (run_id, kind, started_at, status) values (?, ?, ?, 'running')",
                        [run_id, kind, landing.utcnow()])
            status, message, result = "failed", None, None
            try:
                result = body(con)
                status, message = ("complete" if result.complete else "partial"), result.message
                return result
            except Exception as e:
                message = str(e)
                raise
            finally:
                con.execute(
                    "update raw.sync_runs set finished_at = ?, status = ?, requests = ?, summary = ?, message = ? "
                    "where run_id = ?",
                    [landing.utcnow(), status, result.requests if result else None,
                     json.dumps(result.summary()) if result else None, message, run_id])
        finally:
            con.close()
            warehouse.publish_snapshot(settings.db_path, settings.snapshot_path)
