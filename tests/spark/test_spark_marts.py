"""The dbt models on Spark equal the DuckDB build of the same raw data (`make test-spark`).

Skipped by `make test`: it needs the `spark` extra (pyspark, ~490 MB) and Java 17, and a Spark
build takes minutes. `make test-spark` installs both and sets TRAINSMART_SPARK_TESTS=1.

The raw data: the two-year sample athlete plus a generated club (TRAINSMART_SPARK_CLUB,
"<athletes>x<years>", default 20x2, the size issue 11 asks for), each club athlete
a sample athlete of its own seed, id and activity-id range, landed into one DuckDB file.
DuckDB builds it (target local); Spark builds the same raw data from the Parquet export
(`pipelines.exports.spark_build`: export, raw views, `dbt build --target spark`, unit and data
tests included). Every mart Spark wrote under TRAINSMART_HOME/spark/marts/<mart>/ must equal
DuckDB's, read with DuckDB: the same rows, floats to 1e-9 relative, the same nulls.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.mart_compare import MART_KEYS, same

pytestmark = pytest.mark.skipif(os.environ.get("TRAINSMART_SPARK_TESTS") != "1",
                                reason="the Spark build runs in `make test-spark` (TRAINSMART_SPARK_TESTS=1)")

AS_OF = dt.date(2026, 11, 22)  # a Sunday
STREAM_COLUMNS = ("time_s", "heartrate", "moving", "distance_m", "altitude_m", "velocity_smooth")


def club_size() -> tuple[int, float]:
    text = os.environ.get("TRAINSMART_SPARK_CLUB", "20x2")
    athletes, years = text.lower().split("x")
    return int(athletes), float(years)


def _land(con: duckdb.DuckDBPyConnection, athlete_id: int, sample, id_offset: int) -> None:
    """One athlete in bulk (the same rows pipelines.landing writes, without a round trip per activity)."""
    from pipelines.landing import STREAM_COLUMNS as STRAVA_TO_RAW

    now = dt.datetime(2026, 11, 22, 12)
    con.execute("insert into raw.athlete values (?, ?, ?)", [athlete_id, json.dumps(dict(sample.athlete, id=athlete_id)), now])
    acts = [dict(a, id=int(a["id"]) + id_offset, athlete={"id": athlete_id}) for a in sample.activities]
    con.execute(
        "insert into raw.activities (source, activity_id, athlete_id, json, first_seen_at, updated_at) "
        "select 'api', unnest(?::bigint[]), ?, unnest(?::varchar[])::json, ?, ?",
        [[a["id"] for a in acts], athlete_id, [json.dumps(a) for a in acts], now, now])
    cols: dict[str, list] = {"activity_id": [], "seq": [], **{c: [] for c in STREAM_COLUMNS}}
    for activity_id, stream in sample.streams.items():
        n = len(stream["time"])
        cols["activity_id"] += [int(activity_id) + id_offset] * n
        cols["seq"] += range(n)
        for strava_name, raw_name in STRAVA_TO_RAW.items():
            cols[raw_name] += stream.get(strava_name) or [None] * n
    con.execute(
        "insert into raw.streams (source, activity_id, seq, time_s, heartrate, moving, distance_m, altitude_m, "
        "velocity_smooth) select 'api', unnest(?::bigint[]), unnest(?::integer[]), unnest(?::integer[]), "
        "unnest(?::integer[]), unnest(?::boolean[]), unnest(?::double[]), unnest(?::double[]), unnest(?::double[])",
        [cols["activity_id"], cols["seq"], *(cols[c] for c in STREAM_COLUMNS)])
    con.execute(
        "insert into raw.stream_fetches select 'api', unnest(?::bigint[]), null, unnest(?::integer[]), ?",
        [[int(a) + id_offset for a in sample.streams], [len(s["time"]) for s in sample.streams.values()], now])


@dataclass
class Builds:
    duck_db: Path
    marts_dir: Path
    duck_seconds: float
    spark_seconds: float
    spark_returncode: int
    spark_output: str
    spark_results: dict


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Builds:
    from pipelines import profiles
    from pipelines.config import load_settings
    from pipelines.sandbox.sample_athlete import generate_sample_athlete
    from pipelines.warehouse import connect_writer, publish_snapshot, writer_lock
    from tests.cli import trainsmart
    from tests.dbt_build import dbt_build

    tmp = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith(("ATHLETE_", "STRAVA_", "GARMIN_")) or key == "TRAINSMART_ATHLETES":
                mp.delenv(key, raising=False)
        mp.setenv("TRAINSMART_HOME", str(tmp / "home"))
        mp.setenv("TRAINSMART_DB", str(tmp / "home" / "training.duckdb"))
        mp.setenv("TRAINSMART_AS_OF", AS_OF.isoformat())
        settings = load_settings()
        con = connect_writer(settings.db_path)
        try:
            sample = generate_sample_athlete(AS_OF, seed=7, years=2.0)
            _land(con, int(sample.athlete["id"]), sample, 0)
            athletes, years = club_size()
            for i in range(athletes):
                _land(con, 9_300_000 + i, generate_sample_athlete(AS_OF, seed=100 + i, years=years),
                      (i + 1) * 1_000_000_000_000)
            con.execute("begin transaction")
            profiles.write_profiles(con, settings)
            con.execute("commit")
        finally:
            con.close()
        with writer_lock(settings.db_path):
            publish_snapshot(settings.db_path, settings.snapshot_path)

        start = time.monotonic()
        duck = dbt_build(settings.db_path, tmp, AS_OF)
        duck_seconds = time.monotonic() - start
        assert duck.returncode == 0, (duck.stdout + duck.stderr)[-4000:]

        # the product's own verb: export the raw tables, register them, dbt build --target spark
        start = time.monotonic()
        spark = trainsmart("build", "--engine", "spark", timeout=4 * 3600)
        spark_seconds = time.monotonic() - start
    results_path = settings.home / "spark" / "target" / "run_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return Builds(settings.db_path, settings.home / "spark" / "marts", duck_seconds, spark_seconds,
                  spark.returncode, spark.stdout + spark.stderr, results)


def test_spark_build_passes_every_model_seed_data_test_and_unit_test(builds: Builds):
    failed = [f"{r['unique_id']}: {r['status']}: {(r.get('message') or '')[:300]}"
              for r in builds.spark_results.get("results", []) if r["status"] not in ("success", "pass")]
    print(f"DuckDB build {builds.duck_seconds:.0f} s, Spark export + build {builds.spark_seconds:.0f} s")
    assert builds.spark_returncode == 0 and not failed, "\n".join(failed) or builds.spark_output[-4000:]


@pytest.mark.parametrize("mart", MART_KEYS)
def test_spark_mart_equals_duckdb(builds: Builds, mart: str):
    files = builds.marts_dir / mart
    assert files.is_dir(), f"Spark wrote no {files}"
    con = duckdb.connect(str(builds.duck_db), read_only=True)
    try:
        key = ", ".join(MART_KEYS[mart])
        duck_cur = con.execute(f"select * from main.{mart} order by {key}")
        duck_cols = [d[0] for d in duck_cur.description]
        duck_rows = duck_cur.fetchall()
        spark_cur = con.execute(f"select {', '.join(duck_cols)} from read_parquet('{files}/**/*.parquet') "
                                f"order by {key}")
        spark_rows = spark_cur.fetchall()
        spark_cols = [r[0] for r in con.execute(f"describe select * from read_parquet('{files}/**/*.parquet')").fetchall()]
    finally:
        con.close()
    assert sorted(spark_cols) == sorted(duck_cols)
    assert len(spark_rows) == len(duck_rows) > 0
    diffs = [({k: d[duck_cols.index(k)] for k in MART_KEYS[mart]}, col, d[i], s[i])
             for d, s in zip(duck_rows, spark_rows) for i, col in enumerate(duck_cols) if not same(d[i], s[i])]
    assert not diffs, f"{len(diffs)} values differ, first: {diffs[:10]}"
