"""`trainsmart export-raw DIR`: every raw table as Parquet, hive-partitioned by athlete (and source).

Two athletes land through pipelines.landing (Strava rows with streams, one athlete's Garmin
activity and wellness, the default profile row with a null athlete_id, a stream whose
activity never landed); the snapshot is published as a writer does; the export is read
back with DuckDB's read_parquet(..., hive_partitioning=true) and must equal the raw
tables, athlete by athlete.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from pipelines import profiles
from pipelines.config import load_settings
from pipelines.exports.raw_parquet import MANIFEST
from pipelines.landing import replace_stream, upsert_activity
from pipelines.warehouse import connect_writer, publish_snapshot, writer_lock
from tests.cli import trainsmart

ATHLETES = (9_200_001, 9_200_002)
GARMIN_OWNER = 77_000_001
KEYS = {  # a table's rows are compared on these columns, sorted
    "activities": ("source", "activity_id"),
    "streams": ("source", "activity_id", "seq"),
    "stream_fetches": ("source", "activity_id"),
    "athlete": ("athlete_id",),
    "athlete_profiles": ("athlete_id",),
    "garmin_wellness": ("owner_id", "kind", "calendar_date"),
}


def _land(db_path: Path, small_athlete) -> None:
    con = connect_writer(db_path)
    try:
        for i, athlete_id in enumerate(ATHLETES):
            offset = (i + 1) * 1_000_000_000_000
            con.execute("insert into raw.athlete values (?, ?, ?)",
                        [athlete_id, json.dumps(dict(small_athlete.athlete, id=athlete_id)), dt.datetime(2026, 11, 22)])
            for act in small_athlete.activities[:12]:
                act = copy.deepcopy(act)
                act["id"] = int(act["id"]) + offset
                act["athlete"] = {"id": athlete_id}
                upsert_activity(con, "api", act)
                stream = small_athlete.streams.get(int(act["id"]) - offset)
                if stream:
                    replace_stream(con, "api", act["id"], stream, signature=None)
        # a Garmin activity and two wellness days of one Garmin account
        upsert_activity(con, "garmin", {"activityId": 55, "ownerId": GARMIN_OWNER, "activityName": "Run"},
                        activity_id=55, athlete_id=GARMIN_OWNER)
        replace_stream(con, "garmin", 55, {"time": [0, 1, 2], "heartrate": [120, 121, 122]}, signature="g")
        con.executemany("insert into raw.garmin_wellness values (?, ?, ?, ?, ?)", [
            (GARMIN_OWNER, "hrv", dt.date(2026, 11, 20), json.dumps({"lastNightAvg": 61}), dt.datetime(2026, 11, 21)),
            (GARMIN_OWNER, "sleep", dt.date(2026, 11, 20), json.dumps({"sleepTimeSeconds": 27000}),
             dt.datetime(2026, 11, 21)),
        ])
        # samples of an activity that is not (or no longer) in raw.activities: athlete unknown
        replace_stream(con, "files", 999, {"time": [0, 5], "heartrate": [100, 101]}, signature=None)
        profiles.write_profiles(con, load_settings())  # the default row: athlete_id null
    finally:
        con.close()


@pytest.fixture
def exported(home, small_athlete, monkeypatch, tmp_path) -> tuple[Path, Path]:
    settings = load_settings()
    _land(settings.db_path, small_athlete)
    with writer_lock(settings.db_path):
        publish_snapshot(settings.db_path, settings.snapshot_path)
    out = tmp_path / "export"
    proc = trainsmart("export-raw", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "hive-partitioned" in proc.stderr
    return settings.db_path, out


def _rows(con: duckdb.DuckDBPyConnection, sql: str, columns: list[str], key: tuple[str, ...]) -> list[tuple]:
    return con.execute(f"select {', '.join(columns)} from ({sql}) order by {', '.join(key)}").fetchall()


def test_export_equals_the_raw_tables_per_athlete(exported):
    assert_export_equals_raw(*exported)


def assert_export_equals_raw(db_path: Path, out: Path) -> None:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        raw_tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
        manifest = json.loads((out / MANIFEST).read_text())
        assert set(manifest["tables"]) == raw_tables
        assert {p.name for p in out.iterdir()} == raw_tables | {MANIFEST}
        for table, key in KEYS.items():
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
                "order by ordinal_position", [table]).fetchall()]
            # JSON is written as text: compare as text
            raw_sql = (f"select * replace (cast(json as varchar) as json) from raw.{table}" if "json" in columns
                       else f"select * from raw.{table}")
            files = f"read_parquet('{out / table}/**/*.parquet', hive_partitioning=true)"
            assert con.execute(f"select count(*) from {files}").fetchone()[0] == \
                con.execute(f"select count(*) from raw.{table}").fetchone()[0] > 0, table
            assert _rows(con, f"select * from {files}", columns, key) == _rows(con, raw_sql, columns, key), table
            athlete = {"garmin_wellness": "owner_id"}.get(table, "athlete_id")
            if table in ("streams", "stream_fetches"):  # the athlete comes from the activity
                raw_sql = (f"select t.*, a.athlete_id from raw.{table} t left join raw.activities a "
                           "on a.source = t.source and a.activity_id = t.activity_id")
                athlete = "athlete_id"
            for (athlete_id,) in con.execute(f"select distinct {athlete} from ({raw_sql})").fetchall():
                folder = out / table / f"athlete_id={'__HIVE_DEFAULT_PARTITION__' if athlete_id is None else athlete_id}"
                assert folder.is_dir(), folder
                one = f"read_parquet('{folder}/**/*.parquet', hive_partitioning=true)"
                where = f"{athlete} is null" if athlete_id is None else f"{athlete} = {athlete_id}"
                assert _rows(con, f"select * from {one}", columns, key) == \
                    _rows(con, f"select * from ({raw_sql}) where {where}", columns, key), (table, athlete_id)
        # streams of both athletes, each under its own athlete and source
        for athlete_id in ATHLETES:
            assert (out / "streams" / f"athlete_id={athlete_id}" / "source=api").is_dir()
        assert (out / "streams" / f"athlete_id={GARMIN_OWNER}" / "source=garmin").is_dir()
        assert (out / "streams" / "athlete_id=__HIVE_DEFAULT_PARTITION__" / "source=files").is_dir()
        assert (out / "garmin_wellness" / f"athlete_id={GARMIN_OWNER}").is_dir()
        # the partition columns are inside the files too, with their types (a reader without hive partitioning)
        types = dict(con.execute(
            f"select column_name, column_type from (describe select * from "
            f"read_parquet('{out}/activities/**/*.parquet', hive_partitioning=false))").fetchall())
        assert types["athlete_id"] == "BIGINT" and types["source"] == "VARCHAR" and types["json"] == "VARCHAR"
        # bookkeeping tables without an athlete: one file
        assert [p.name for p in (out / "sync_state").iterdir()] == ["data_0.parquet"]
    finally:
        con.close()


def test_export_replaces_an_earlier_export_and_refuses_other_folders(exported):
    _, out = exported
    stale = out / "activities" / "athlete_id=1"
    stale.mkdir()
    proc = trainsmart("export-raw", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists()  # replaced whole, not merged
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".export.")]  # no temporary folders left

    other = out.parent / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_text("x")
    proc = trainsmart("export-raw", str(other))
    assert proc.returncode == 1
    assert "not an earlier trainsmart export" in proc.stderr.splitlines()[-1]
    assert (other / "holiday.jpg").exists()


def test_an_export_removes_what_failed_exports_left_hours_ago(exported):
    """A failed run of the export job leaves its staging folder and its pin of the snapshot
    (a whole snapshot's disk space); the next export removes them once they are hours old,
    never a running export's."""
    import time

    db_path, out = exported
    snapshot = load_settings().snapshot_path
    old, recent = int(time.time()) - 7 * 3600, int(time.time()) - 60
    leftovers = [out.parent / f".{out.name}.tmp-{old}-run1", snapshot.with_name(f".{snapshot.name}.export-{old}-run1")]
    running = [out.parent / f".{out.name}.tmp-{recent}-run2", snapshot.with_name(f".{snapshot.name}.export-{recent}-run2")]
    for staging, pin in (leftovers, running):
        staging.mkdir()
        (staging / "activities").mkdir()
        pin.write_bytes(b"pinned snapshot")
    proc = trainsmart("export-raw", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not any(p.exists() for p in leftovers)
    assert all(p.exists() for p in running)


def test_export_without_data_says_what_to_do(home, tmp_path):
    proc = trainsmart("export-raw", str(tmp_path / "export"))
    assert proc.returncode == 1
    assert "trainsmart sync" in proc.stderr.splitlines()[-1]
    assert "Traceback" not in proc.stderr


def test_the_asset_exports_into_trainsmart_home_outside_the_nightly_job(home, small_athlete):
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.exports.assets import raw_parquet

    settings = load_settings()
    _land(settings.db_path, small_athlete)
    with writer_lock(settings.db_path):
        publish_snapshot(settings.db_path, settings.snapshot_path)
    result = dg.materialize([raw_parquet])
    assert result.success
    metadata = result.asset_materializations_for_node("exports__raw_parquet")[0].metadata
    assert metadata["path"].value == str(settings.home / "raw-parquet")
    assert json.loads((settings.home / "raw-parquet" / MANIFEST).read_text())["tables"]["streams"]["rows"] > 0

    graph = defs.resolve_asset_graph()
    spark = dg.AssetKey(["exports", "spark_marts"])  # the Spark build: one at a time (embedded metastore)
    assert graph.get(spark).assets_def.op.pool == "spark"
    for key in (dg.AssetKey(["exports", "raw_parquet"]), spark):
        assert graph.get(key).group_name == "exports"
        for job in ("sync_and_build", "build_models", "weekly_report_job"):
            assert key not in defs.resolve_job_def(job).asset_layer.selected_asset_keys, (key, job)


@pytest.mark.skipif(__import__("importlib").util.find_spec("pyspark") is not None,
                    reason="this environment has the spark extra (make test-spark builds on Spark for real)")
def test_spark_build_without_the_spark_extra_says_what_to_install(home):
    proc = trainsmart("build", "--engine", "spark")
    assert proc.returncode == 1
    last = proc.stderr.splitlines()[-1]
    assert "uv sync --locked --extra spark" in last and "Traceback" not in proc.stderr, proc.stderr


def test_the_export_job_runs_athletes_side_by_side_in_two_processes(home, small_athlete):
    """The Dagster job export_raw_parquet: one step per athlete under the multiprocess executor
    (2 at a time), each reading the pinned snapshot; the result equals the raw tables."""
    import dagster as dg

    from pipelines.defs.exports.assets import export_raw_parquet_job

    settings = load_settings()
    _land(settings.db_path, small_athlete)
    with writer_lock(settings.db_path):
        publish_snapshot(settings.db_path, settings.snapshot_path)
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        job = dg.reconstructable(export_raw_parquet_job)
        assert job.get_definition().executor_def.name == "multiprocess"
        with dg.execute_job(job, instance=instance) as result:
            assert result.success
            steps = {e.step_key: e.pid for e in result.all_events if e.event_type_value == "STEP_START"}
            materialized = [e.asset_key for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    athlete_steps = {k: pid for k, pid in steps.items() if k.startswith("exports__raw_parquet.export_athlete_rows[")}
    expected = {f"exports__raw_parquet.export_athlete_rows[athlete_{a}]" for a in (*ATHLETES, GARMIN_OWNER)}
    assert set(athlete_steps) == expected, steps
    assert len(set(athlete_steps.values())) == 3, "each step runs in a process of its own"
    assert materialized == [dg.AssetKey(["exports", "raw_parquet"])]
    out = settings.home / "raw-parquet"
    assert_export_equals_raw(settings.db_path, out)
    # nothing left behind: no staging folder, no pinned snapshot
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".raw-parquet")) == []
    assert [p.name for p in settings.snapshot_path.parent.iterdir() if ".export-" in p.name] == []
