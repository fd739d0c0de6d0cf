"""The jobs the schedules and the CLI run (the CLI runs these same jobs in process)."""

import dagster as dg

from pipelines.defs.report.assets import weekly_partitions

strava_assets = dg.AssetSelection.groups("strava")
garmin_assets = dg.AssetSelection.groups("garmin")
source_assets = strava_assets | garmin_assets
model_assets = dg.AssetSelection.groups("staging", "intermediate", "marts", "models")
report_assets = dg.AssetSelection.groups("report")
# The nightly and import jobs build only what changed (pipelines/defs/models/build_scope.py)
# and carry no asset checks: Dagster records a "planned" event per check at the start of
# every run (about 5 s for 160 checks), which a quiet night, running no test, does not
# need; on a night with new data the data tests still run and fail the run, their results
# counted in one log line (models/assets.py). `trainsmart build` and the weekly job build
# everything, unit tests included, with every dbt test as an asset check.
FULL_BUILD = {"ops": {"dbt_models": {"config": {"scope": "full"}}}}
export_import_asset = dg.AssetSelection.assets(["imports", "strava_export"])
files_import_asset = dg.AssetSelection.assets(["imports", "device_files"])

sync_and_build = dg.define_asset_job(
    "sync_and_build", selection=(source_assets | model_assets).without_checks(),
    description="Pull from every configured source (Strava, Garmin), then build the dbt models "
                "(what `trainsmart sync` and nightly_sync run).",
)
build_models = dg.define_asset_job(
    "build_models", selection=model_assets, config=FULL_BUILD,
    description="Build the dbt models with every test (`trainsmart build`).",
)
weekly_report_job = dg.define_asset_job(
    "weekly_report_job", selection=source_assets | model_assets | report_assets, partitions_def=weekly_partitions,
    config=FULL_BUILD,
    description="A fresh sync and a build with every test, then the week's report (what the weekly_report "
                "schedule runs: the whole test suite runs at least once a week).",
)
import_export_and_build = dg.define_asset_job(
    "import_export_and_build", selection=(export_import_asset | model_assets).without_checks(),
    description="Import a Strava bulk export (run config: the path), then build the dbt models "
                "(what `trainsmart import-export PATH` runs; no schedule).",
)
import_files_and_build = dg.define_asset_job(
    "import_files_and_build", selection=(files_import_asset | model_assets).without_checks(),
    description="Import a folder of FIT/GPX/TCX files (run config: the path), then build the dbt models "
                "(what `trainsmart import-files DIR` runs; no schedule).",
)

defs = dg.Definitions(jobs=[sync_and_build, build_models, weekly_report_job,
                            import_export_and_build, import_files_and_build])
