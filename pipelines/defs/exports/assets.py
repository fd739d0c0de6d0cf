"""The raw tables as Parquet for other engines (Spark, a cluster), as an asset of its own group.

Not part of the nightly job: materialize it from the UI (job export_raw_parquet: each athlete a
step, two processes side by side), or run `trainsmart export-raw DIR` (the same steps in one
process). The Spark build reads TRAINSMART_HOME/raw-parquet, this asset's default.
"""

import os
from typing import Optional

import dagster as dg

from pipelines.config import load_settings
from pipelines.defs.garmin.assets import RAW_TABLES as GARMIN_TABLES
from pipelines.defs.strava.assets import RAW_TABLES as STRAVA_TABLES


MAX_STEPS = 16  # more athletes than this share steps: a step is a process start of a few seconds


class RawExportConfig(dg.Config):
    path: Optional[str] = None  # the export folder; None: TRAINSMART_HOME/raw-parquet


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.DynamicOut(),
       description=f"Pins the snapshot, makes the staging folder, one output per athlete (athletes share steps "
                   f"past {MAX_STEPS}).")
def plan_raw_export(context: dg.OpExecutionContext, config: RawExportConfig):
    from pathlib import Path

    from pipelines.exports.raw_parquet import default_export_dir, start_export

    settings = load_settings()
    out_dir = Path(config.path) if config.path else default_export_dir(settings)
    staged = start_export(settings, out_dir, token=context.run_id, list_athletes=True)
    groups = [list(staged.athletes[i::MAX_STEPS]) for i in range(min(MAX_STEPS, len(staged.athletes)))] or [[]]
    context.log.info(f"{len(staged.athletes)} athletes in {len(groups)} steps, from {staged.snapshot}")
    for group in groups:
        key = f"athlete_{group[0]}" if len(group) == 1 else f"athletes_{len(group)}_from_{group[0] if group else 0}"
        yield dg.DynamicOutput((staged, group), mapping_key=key)


@dg.op(description="One athlete's rows (or a few athletes') of every partitioned raw table, as Parquet.")
def export_athlete_rows(context: dg.OpExecutionContext, part):
    from pipelines.exports.raw_parquet import export_athletes

    staged, athletes = part
    rows = export_athletes(staged, athletes)
    context.log.info(f"athletes {athletes}: {rows} rows (process {os.getpid()})")
    return staged


@dg.op(description="The rows without an athlete, the bookkeeping tables and the manifest, then the swap into place.")
def publish_raw_export(context: dg.OpExecutionContext, parts: list):
    from pipelines.exports.raw_parquet import discard_export, finish_export

    staged = parts[0]
    try:
        export = finish_export(load_settings(), staged)
    finally:
        discard_export(staged)
    for line in export.lines():
        context.log.info(line)
    context.add_output_metadata({
        "path": str(export.path),
        "rows": export.rows,
        "athletes": len(staged.athletes),
        "seconds": round(export.seconds, 3),
        "tables": dg.MetadataValue.md("\n".join(
            f"- {t.name}: {t.rows} rows, partitioned by {', '.join(t.partition_by) or 'nothing'}"
            for t in export.tables)),
    })


@dg.graph_asset(
    key=["exports", "raw_parquet"], group_name="exports", kinds={"python", "duckdb", "parquet"},
    ins={name: dg.AssetIn(["strava", name], dagster_type=dg.Nothing) for name in STRAVA_TABLES}
    | {f"garmin_{name}": dg.AssetIn(["garmin", name], dagster_type=dg.Nothing) for name in GARMIN_TABLES},
    description="Every raw table as Parquet, hive-partitioned by athlete_id (and source), read from the "
                "snapshot, each athlete in a step of their own (in parallel under the job export_raw_parquet); "
                "the folder is replaced whole at the end, so readers never see half an export.",
)
def raw_parquet(**upstream):
    """`trainsmart export-raw DIR` split per athlete; by default into TRAINSMART_HOME/raw-parquet."""
    return publish_raw_export(plan_raw_export(after=list(upstream.values())).map(export_athlete_rows).collect())


# Athletes side by side in processes of their own: each step reads the pinned snapshot (DuckDB
# allows many readers) and writes only its athletes' folders. The step processes fork from a
# server that has imported Dagster and the definitions once, instead of each importing them
# (about 2 CPU-s a step: a club's export has a step per athlete).
export_raw_parquet = dg.define_asset_job(
    "export_raw_parquet", selection=dg.AssetSelection.assets(raw_parquet),
    executor_def=dg.multiprocess_executor.configured({
        "max_concurrent": 2,
        "start_method": {"forkserver": {"preload_modules": ["dagster", "pipelines.definitions"]}}}),
    description="The raw Parquet export, two athletes' steps at a time in separate processes.")


@dg.asset(
    key=["exports", "spark_marts"], group_name="exports", kinds={"python", "spark", "parquet"},
    deps=[raw_parquet], pool="spark",
    description="The same dbt project built on Spark (target spark, dbt-spark session, local[2]) from the raw "
                "Parquet export; every mart as Parquet under TRAINSMART_HOME/spark/marts/<mart>/. Needs the "
                "spark extra and Java 17 (docs/scale-out.md). Pool 'spark': Spark's embedded metastore takes "
                "one process at a time.",
)
def spark_marts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """`dbt build --target spark` over TRAINSMART_HOME/raw-parquet (exports/raw_parquet upstream)."""
    from pipelines.exports.spark_build import build_on_spark

    build = build_on_spark(load_settings(), export=False)
    if not build.ok:
        context.log.error(build.output[-4000:])
        raise dg.Failure(description="The Spark build failed; its dbt log is under TRAINSMART_HOME/spark/logs.")
    return dg.MaterializeResult(metadata={
        "marts": str(build.marts_dir),
        "seconds": round(build.seconds, 1),
        "raw_views_registered": build.registered,
    })


def export_raw_parquet_job() -> dg.JobDefinition:
    """The job export_raw_parquet for dg.reconstructable: a run outside the webserver (a script, a
    test) that its multiprocess executor can rebuild in each step's process."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("export_raw_parquet")
