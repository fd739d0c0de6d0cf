"""The jobs the schedules and the CLI run (the CLI runs these same jobs in process)."""

import dagster as dg

strava_assets = dg.AssetSelection.groups("strava")
model_assets = dg.AssetSelection.groups("staging", "intermediate", "marts", "models")

sync_and_build = dg.define_asset_job(
    "sync_and_build", selection=strava_assets | model_assets,
    description="Pull from Strava, then build the dbt models (what `trainsmart sync` and nightly_sync run).",
)
build_models = dg.define_asset_job(
    "build_models", selection=model_assets, description="Build the dbt models only (`trainsmart build`).",
)

defs = dg.Definitions(jobs=[sync_and_build, build_models])
