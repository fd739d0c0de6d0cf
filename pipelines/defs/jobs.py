"""The jobs the schedules and the CLI run (the CLI runs these same jobs in process)."""

import dagster as dg

from pipelines.defs.report.assets import weekly_partitions

strava_assets = dg.AssetSelection.groups("strava")
model_assets = dg.AssetSelection.groups("staging", "intermediate", "marts", "models")
report_assets = dg.AssetSelection.groups("report")

sync_and_build = dg.define_asset_job(
    "sync_and_build", selection=strava_assets | model_assets,
    description="Pull from Strava, then build the dbt models (what `trainsmart sync` and nightly_sync run).",
)
build_models = dg.define_asset_job(
    "build_models", selection=model_assets, description="Build the dbt models only (`trainsmart build`).",
)
weekly_report_job = dg.define_asset_job(
    "weekly_report_job", selection=strava_assets | model_assets | report_assets, partitions_def=weekly_partitions,
    description="A fresh sync and build, then the week's report (what the weekly_report schedule runs).",
)

defs = dg.Definitions(jobs=[sync_and_build, build_models, weekly_report_job])
