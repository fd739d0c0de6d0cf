"""Every raw table as Parquet, hive-partitioned by athlete (and source), for other engines.

Layout of an export folder (docs/scale-out.md shows the same layout on object storage):

    DIR/_trainsmart_export.json                      what was exported, when, from which snapshot
    DIR/activities/athlete_id=123/source=api/data_0.parquet
    DIR/streams/athlete_id=123/source=api/data_0.parquet
    DIR/garmin_wellness/athlete_id=456/data_0.parquet
    DIR/athlete_profiles/athlete_id=__HIVE_DEFAULT_PARTITION__/data_0.parquet   (the default row)
    DIR/sync_state/data_0.parquet                    bookkeeping: no athlete, not partitioned

- The athlete of a row: its `athlete_id`; for raw.garmin_wellness its `owner_id` (the Garmin
  account, which is the athlete_id of that account's 'garmin' activity rows); for tables
  keyed by (source, activity_id) without an athlete column (raw.streams, raw.stream_fetches)
  the athlete_id of that activity in raw.activities, added to the rows as a column.
  A null athlete is written as `athlete_id=__HIVE_DEFAULT_PARTITION__`, which Spark, Hive and
  DuckDB all read back as null.
- The partition columns are also kept inside every file, so each file is complete on its own
  (an engine reading without hive partitioning loses nothing) with its exact types.
- JSON columns are written as text (Parquet strings): engines other than DuckDB have no JSON
  type, and DuckDB's own JSON functions take text as well.

The database is read through the read snapshot (warehouse.connect_reader), so an export runs
while a sync writes. The files are written into a hidden folder beside DIR and renamed into
place at the end: a reader sees the previous export or the new one, never a half-written one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.config import Settings
from pipelines.errors import UserError
from pipelines.locks import LockTimeout, file_lock
from pipelines.warehouse import connect_reader, sql_path

MANIFEST = "_trainsmart_export.json"  # Spark, Hive and DuckDB's globs skip names starting with _
ATHLETE = "athlete_id"


def default_export_dir(settings: Settings) -> Path:
    """TRAINSMART_HOME/raw-parquet: the asset's folder, which the Spark target reads (profiles.yml)."""
    return settings.home / "raw-parquet"


class ExportError(UserError):
    """The raw export cannot run (no data yet, a folder that is not an export)."""


@dataclass(frozen=True)
class TableExport:
    name: str                       # raw.<name> -> DIR/<name>/
    rows: int
    partition_by: tuple[str, ...]   # () = one unpartitioned file (bookkeeping tables)
    athlete_from: str | None        # how a row's athlete_id is found (for the manifest)
    columns: tuple[tuple[str, str], ...] = field(default=())  # (name, DuckDB type) as written


@dataclass(frozen=True)
class RawExport:
    path: Path
    snapshot: Path
    tables: tuple[TableExport, ...]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def lines(self) -> list[str]:
        per_table = ", ".join(f"{t.name} {t.rows}" for t in self.tables)
        return [f"Exported {len(self.tables)} raw tables ({self.rows} rows: {per_table}) in {self.seconds:.1f} s.",
                f"Parquet in {self.path}, hive-partitioned by athlete_id (and source); read it with "
                f"read_parquet('{self.path}/activities/**/*.parquet', hive_partitioning=true)."]


def export_raw(settings: Settings, out_dir: Path) -> RawExport:
    """Write every raw table (as of the latest snapshot) under out_dir, in this process; see the module doc."""
    staged = start_export(settings, out_dir, token=str(os.getpid()))
    try:
        export_athletes(staged, None)
        return finish_export(settings, staged)
    finally:
        discard_export(staged)


# -- the steps of an export, which a Dagster job also runs per athlete in parallel processes ---
@dataclass(frozen=True)
class StagedExport:
    out_dir: Path                # where the finished export goes
    staging: Path                # the hidden folder beside it that the steps write into
    snapshot: Path               # the published snapshot the export reads
    pinned: Path                 # a hard link to that snapshot's file: every step reads the same version
    athletes: tuple[int, ...]    # the athletes with rows in a partitioned table (null excluded), if listed
    started: float               # time.time() at the start


def start_export(settings: Settings, out_dir: Path, token: str, list_athletes: bool = False) -> StagedExport:
    """Check the target, pin the snapshot and make the staging folder; `token` names both (a pid, a run).
    list_athletes: find the athletes to split the work by (a scan of every partitioned table)."""
    started = time.time()
    snapshot = settings.snapshot_path
    if not snapshot.exists():
        raise ExportError(f"There is no data to export yet ({snapshot} does not exist); run `trainsmart sync` "
                          "or `trainsmart import-export` first.")
    out_dir = Path(os.path.abspath(os.path.expanduser(out_dir)))
    _check_target(out_dir)
    stamp = f"{int(started)}-{token}"  # the start time in the names: leftovers are found by age
    staging = out_dir.parent / f".{out_dir.name}.tmp-{stamp}"
    pinned = snapshot.with_name(f".{snapshot.name}.export-{stamp}")
    _remove_leftovers(out_dir, snapshot)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    pinned.unlink(missing_ok=True)
    try:
        os.link(snapshot, pinned)  # a publish renames a new file over the snapshot; this keeps the one read here
    except OSError:  # a file system without hard links: a copy does the same, slower
        shutil.copyfile(snapshot, pinned)
    con = connect_reader(pinned)
    try:
        plans = _plans(con)
        for plan in plans:
            (staging / plan.table).mkdir()  # made here, so parallel steps never race to create them
        athletes = sorted({row[0] for plan in plans if plan.partition_by and list_athletes for row in con.execute(
            f"select distinct {ATHLETE} from ({_select(plan)}) where {ATHLETE} is not null").fetchall()})
    finally:
        con.close()
    return StagedExport(out_dir, staging, snapshot, pinned, tuple(athletes), started)


def export_athletes(staged: StagedExport, athletes: list[int] | None) -> int:
    """Write these athletes' rows of every partitioned table (None: every athlete); the rows written."""
    if athletes is not None and not athletes:
        return 0
    where = f"{ATHLETE} is not null" if athletes is None else \
        f"{ATHLETE} in ({', '.join(str(int(a)) for a in athletes)})"
    con = connect_reader(staged.pinned)
    try:
        return sum(_copy_rows(con, plan, staged.staging, where) for plan in _plans(con) if plan.partition_by)
    finally:
        con.close()


def finish_export(settings: Settings, staged: StagedExport) -> RawExport:
    """The rows without an athlete and the bookkeeping tables, the manifest, then the swap into place."""
    try:
        with file_lock(settings.home / "raw-export.lock", wait_seconds=600):  # one swap at a time
            _check_target(staged.out_dir)
            con = connect_reader(staged.pinned)
            try:
                tables = tuple(_finish_table(con, plan, staged.staging) for plan in _plans(con))
            finally:
                con.close()
            _write_manifest(staged.staging, staged.snapshot, tables)
            _swap_into_place(staged.staging, staged.out_dir)
    except LockTimeout:
        raise ExportError("Another raw export is still running; try again when it has finished.") from None
    return RawExport(staged.out_dir, staged.snapshot, tables, time.time() - staged.started)


LEFTOVER_SECONDS = 6 * 3600  # no export takes this long; older staging folders and pins are a failed run's


def _remove_leftovers(out_dir: Path, snapshot: Path) -> None:
    """Staging folders and pinned snapshots of exports that failed hours ago (a pin keeps a
    whole snapshot's disk space)."""
    cutoff = time.time() - LEFTOVER_SECONDS
    for path in [*out_dir.parent.glob(f".{out_dir.name}.tmp-*"), *snapshot.parent.glob(f".{snapshot.name}.export-*")]:
        parts = path.name.rsplit(".", 1)[-1].split("-")  # tmp-<start>-<token>, export-<start>-<token>
        if len(parts) < 3 or not parts[1].isdigit() or int(parts[1]) >= cutoff:
            continue  # another export's, still running (or not ours)
        try:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        except OSError:
            pass  # removed meanwhile


def discard_export(staged: StagedExport) -> None:
    """Remove what an export left behind: its staging folder (gone after a swap) and its pinned snapshot."""
    shutil.rmtree(staged.staging, ignore_errors=True)
    staged.pinned.unlink(missing_ok=True)


# -- planning ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    table: str
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type) in table order
    athlete_from: str | None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def partition_by(self) -> tuple[str, ...]:
        if self.athlete_from is None:
            return ()
        return (ATHLETE, "source") if "source" in self.names else (ATHLETE,)


def _plans(con: duckdb.DuckDBPyConnection) -> list[_Plan]:
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'raw' and table_catalog = current_database() "
        "order by table_name, ordinal_position").fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type))
    plans = []
    for table, cols in columns.items():
        names = {name for name, _ in cols}
        if ATHLETE in names:
            athlete_from = ATHLETE
        elif "owner_id" in names:  # raw.garmin_wellness: the Garmin account, the athlete_id of its 'garmin' rows
            athlete_from = "owner_id"
        elif {"source", "activity_id"} <= names and table != "activities":
            athlete_from = "activities"  # raw.streams, raw.stream_fetches: the athlete of that activity
        else:
            athlete_from = None
        plans.append(_Plan(table, tuple(cols), athlete_from))
    return plans


def _select(plan: _Plan) -> str:
    """The rows of one raw table as exported: JSON as text, plus athlete_id where it is derived."""
    out = [f'cast(t."{name}" as varchar) as "{name}"' if data_type.upper() == "JSON" else f't."{name}"'
           for name, data_type in plan.columns]
    join = ""
    if plan.athlete_from == "owner_id":
        out.append(f"t.owner_id as {ATHLETE}")
    elif plan.athlete_from == "activities":
        out.append(f"a.athlete_id as {ATHLETE}")
        join = " left join raw.activities as a on a.source = t.source and a.activity_id = t.activity_id"
    return f'select {", ".join(out)} from raw."{plan.table}" as t{join}'


def _copy_rows(con: duckdb.DuckDBPyConnection, plan: _Plan, root: Path, where: str) -> int:
    """Append the rows of a partitioned table matching `where` to root/<table>/athlete_id=…/[source=…/]."""
    # each step writes other athletes' folders, so files are only ever added (overwrite_or_ignore:
    # the table folder exists already); no matching rows, no files
    return con.execute(f"copy (select * from ({_select(plan)}) where {where}) to '{sql_path(root / plan.table)}' "
                       f"(format parquet, compression zstd, partition_by ({', '.join(plan.partition_by)}), "
                       f"write_partition_columns true, overwrite_or_ignore true)").fetchone()[0]


def _finish_table(con: duckdb.DuckDBPyConnection, plan: _Plan, root: Path) -> TableExport:
    """A table's last rows (no athlete, or not partitioned; an empty table's schema) and its manifest entry."""
    select = _select(plan)
    target = root / plan.table
    rows = con.execute(f'select count(*) from raw."{plan.table}"').fetchone()[0]
    if plan.partition_by and rows:
        _copy_rows(con, plan, root, f"{ATHLETE} is null")
    else:  # bookkeeping tables, and empty tables (one file holding just the schema, so readers find the columns)
        con.execute(f"copy ({select}) to '{sql_path(target / 'data_0.parquet')}' (format parquet, compression zstd)")
    written = con.execute(f"describe {select}").fetchall()
    return TableExport(plan.table, rows, plan.partition_by, plan.athlete_from,
                       tuple((name, data_type) for name, data_type, *_ in written))


# -- the folder -------------------------------------------------------------------------------
def _check_target(out_dir: Path) -> None:
    """Only a new folder, an empty one or an earlier export is (re)placed: never someone's files."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file; give a folder for the export.")
    if any(out_dir.iterdir()) and not (out_dir / MANIFEST).exists():
        raise ExportError(f"{out_dir} holds other files (it is not an earlier trainsmart export); "
                          "give a new or empty folder.")


def _write_manifest(root: Path, snapshot: Path, tables: tuple[TableExport, ...]) -> None:
    manifest = {
        "format": "trainsmart raw export 1",
        "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "snapshot": str(snapshot),
        "snapshot_published_at": dt.datetime.fromtimestamp(snapshot.stat().st_mtime, dt.timezone.utc)
        .isoformat(timespec="seconds"),
        "tables": {t.name: {"rows": t.rows, "partition_by": list(t.partition_by), "athlete_from": t.athlete_from,
                            "columns": [{"name": n, "type": ty} for n, ty in t.columns]} for t in tables},
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished export onto out_dir (a previous export is moved aside, then removed)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
