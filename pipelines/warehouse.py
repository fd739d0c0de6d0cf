"""The DuckDB file: the raw landing schema, the single-writer rule, and the read snapshot.

DuckDB lets one process write *or* many read a file, never both. So every writer
(sync, import, dbt build) takes `writer_lock()` first, and readers (`trainsmart sql`,
reports) never open the live file: they open the snapshot that each writer publishes
with `publish_snapshot()` when it is done. A query therefore never blocks or breaks a
sync, and always sees a consistent state.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

import duckdb

from pipelines.errors import UserError
from pipelines.locks import LockTimeout, file_lock

# One row per object as landed. `source` is 'api', 'export', 'garmin' or 'files'; the same
# Strava activity can land from the API and from a bulk export; staging keeps the API row.
# Garmin activities share raw.activities/streams/stream_fetches (source 'garmin', the
# activityId, Garmin's own JSON), so one landing code serves every source.
RAW_DDL = """
create schema if not exists raw;

create table if not exists raw.activities (
    source           varchar   not null,   -- 'api' | 'export' | 'garmin' | 'files'
    activity_id      bigint    not null,   -- Strava id (export too); Garmin activityId; content hash for 'files'
    athlete_id       bigint,               -- Strava athlete id; Garmin ownerId for 'garmin'
    json             json      not null,   -- SummaryActivity JSON exactly as Strava sent it
                                           -- (export/files: the same field names, built by the importer;
                                           -- garmin: the activity-list object exactly as Garmin sent it)
    stream_signature varchar,              -- changes when an edit can change the stream
    deleted_at       timestamp,            -- set when upstream no longer has it
    first_seen_at    timestamp not null,
    updated_at       timestamp not null,
    primary key (source, activity_id)
);

-- One row per stream sample (long format keeps the models portable SQL).
create table if not exists raw.streams (
    source          varchar not null,
    activity_id     bigint  not null,
    seq             integer not null,      -- 0-based sample index
    time_s          integer,               -- seconds since start
    heartrate       integer,
    moving          boolean,
    distance_m      double,
    altitude_m      double,
    velocity_smooth double,
    primary key (source, activity_id, seq)
);

-- One row per activity whose streams were fetched/parsed (also when it had no samples),
-- so a stream is fetched exactly once per stream_signature.
create table if not exists raw.stream_fetches (
    source           varchar   not null,
    activity_id      bigint    not null,
    stream_signature varchar,
    sample_count     integer   not null,
    fetched_at       timestamp not null,
    primary key (source, activity_id)
);

create table if not exists raw.athlete (
    athlete_id bigint primary key,
    json       json      not null,
    fetched_at timestamp not null
);

create table if not exists raw.athlete_zones (
    athlete_id bigint primary key,
    json       json      not null,
    fetched_at timestamp not null
);

-- Garmin Connect wellness: one row per Garmin account, kind and calendar day (the day the
-- athlete woke up), the day's object exactly as Garmin sent it. A re-read day replaces
-- the row, so the record landed last wins.
create table if not exists raw.garmin_wellness (
    owner_id      bigint    not null,      -- Garmin userProfilePk (= ownerId of the activities)
    kind          varchar   not null,      -- 'hrv' | 'sleep' | 'daily_summary'
    calendar_date date      not null,
    json          json      not null,      -- an hrvSummaries element, a daily sleep object, a daily summary
    landed_at     timestamp not null,
    primary key (owner_id, kind, calendar_date)
);

-- The athlete profiles (METRICS.md section 1) the models use, written before every build by
-- pipelines/profiles.py from the roster (one row per athlete) or, without a roster, from
-- the ATHLETE_* environment (the default row). athlete_id null = the default row: it
-- applies to every athlete without a row of their own. A null value = the METRICS.md
-- default or derivation.
create table if not exists raw.athlete_profiles (
    athlete_id        bigint,              -- Strava athlete id, else Garmin owner id; null = the default row
    hr_max            integer,             -- bpm; null = derived from the last 365 days, else 190
    hr_rest           integer,             -- bpm; null = 60
    lthr              integer,             -- bpm; null = 0.89 x hr_max rounded half up
    sex               varchar,             -- 'F' | 'M' | null (unspecified)
    min_runs_per_week integer,             -- null = 3
    updated_at        timestamp not null,
    garmin_owner_id   bigint               -- the athlete's Garmin account (a roster athlete's, once synced)
);
-- databases made before the roster's Garmin accounts
alter table raw.athlete_profiles add column if not exists garmin_owner_id bigint;

-- Key/value bookkeeping: cursor, last reconciliation, budget seen.
create table if not exists raw.sync_state (
    key        varchar primary key,
    value      varchar,
    updated_at timestamp not null
);

create table if not exists raw.sync_runs (
    run_id      varchar primary key,
    kind        varchar   not null,        -- 'sync' | 'import-export' | 'import-files'
    started_at  timestamp not null,
    finished_at timestamp,
    status      varchar   not null,        -- running | complete | partial | failed
    requests    integer,
    summary     json,
    message     varchar
);
"""


class WarehouseBusy(UserError):
    """Another trainsmart process is writing the database."""


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)


@contextlib.contextmanager
def writer_lock(db_path: Path, wait_seconds: float = 3600.0, on_wait=None) -> Iterator[None]:
    """Serialize writers across processes (sync, import, build) with an flock beside the DB."""
    try:
        with file_lock(db_path.with_name(db_path.name + ".writer.lock"), wait_seconds, on_wait):
            yield
    except LockTimeout:
        raise WarehouseBusy(f"Another trainsmart run is writing {db_path}; try again when it has finished.") from None


def connect_writer(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the live database for writing (caller holds writer_lock) with the raw schema present."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db_path))
    except duckdb.IOException as e:
        if "lock" not in str(e).lower():
            raise
        raise WarehouseBusy(
            f"{db_path} is open in another program (a DuckDB shell or notebook?); close it, and query "
            f"the snapshot {db_path.with_name(db_path.stem + '.snapshot.duckdb')} instead."
        ) from None
    ensure_raw_schema(con)
    return con


def publish_snapshot(db_path: Path, snapshot_path: Path) -> Path:
    """Checkpoint the live database, copy its file to a fresh one and atomically rename that
    over the snapshot.

    Must run in the writer (lock held, no other connection open to db_path): then the
    checkpoint leaves every committed write in the file (an earlier writer's write-ahead
    log included). Readers that still have the old snapshot open keep their file; new
    readers get the new one. A file copy, not DuckDB's `copy from database` (which rewrites
    every table): 1.9 s instead of 40 s for a 1,000-athlete club's database, at the price of
    the live file's free blocks (the snapshot is about a fifth larger).
    """
    tmp = snapshot_path.with_name(snapshot_path.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    shutil.copyfile(db_path, tmp)
    os.replace(tmp, snapshot_path)
    return snapshot_path


def connect_reader(snapshot_path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(snapshot_path), read_only=True)


def sql_path(path: Path) -> str:
    """A path inside a SQL string literal ('...'), its quotes doubled."""
    return str(path).replace("'", "''")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit the block's writes together, or none of them."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()
