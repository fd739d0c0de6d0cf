"""The raw tables as Parquet for other engines (Spark, a cluster), as an asset of its own group.

Not part of the nightly job: materialize it from the UI, or run `trainsmart export-raw DIR`
(the same code). The Spark build reads TRAINSMART_HOME/raw-parquet, this asset's default.
"""

from typing import Optional

import dagster as dg

from pipelines.config import load_settings
from pipelines.defs.garmin.assets import RAW_TABLES as GARMIN_TABLES
from pipelines.defs.strava.assets import RAW_TABLES as STRAVA_TABLES


class RawExportConfig(dg.Config):
    path: Optional[str] = None  # the export folder; None: TRAINSMART_HOME/raw-parquet


@dg.asset(
    key=["exports", "raw_parquet"], group_name="exports", kinds={"python", "duckdb", "parquet"},
    deps=[dg.AssetKey(["strava", name]) for name in STRAVA_TABLES]
    + [dg.AssetKey(["garmin", name]) for name in GARMIN_TABLES],
    description="Every raw table as Parquet, hive-partitioned by athlete_id (and source), read from the "
                "snapshot; the folder is replaced whole at the end, so readers never see half an export.",
)
def raw_parquet(context: dg.AssetExecutionContext, config: RawExportConfig) -> dg.MaterializeResult:
    """`trainsmart export-raw DIR`; by default into TRAINSMART_HOME/raw-parquet."""
    from pathlib import Path

    from pipelines.exports import default_export_dir, export_raw

    settings = load_settings()
    export = export_raw(settings, Path(config.path) if config.path else default_export_dir(settings))
    for line in export.lines():
        context.log.info(line)
    return dg.MaterializeResult(metadata={
        "path": str(export.path),
        "rows": export.rows,
        "seconds": round(export.seconds, 3),
        "tables": dg.MetadataValue.md("\n".join(
            f"- {t.name}: {t.rows} rows, partitioned by {', '.join(t.partition_by) or 'nothing'}"
            for t in export.tables)),
    })


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
