"""`trainsmart import-export` / `import-files` run Dagster jobs (import asset, then the dbt
models), recorded in the Dagster instance under TRAINSMART_HOME like the sync; bad input
still ends with one plain sentence."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.config import load_settings
from pipelines.sandbox.sample_export import write_sample_export
from tests.cli import trainsmart
from tests.import_fixtures import SHARED_SAMPLES, make_athlete

DEVICE_FILES = ["garmin-fenix-5-run.fit", "garmin-fenix-5-walk.fit"]


def marts_by_source() -> dict[str, int]:
    con = duckdb.connect(str(load_settings().snapshot_path), read_only=True)
    try:
        assert con.execute("select count(*) from main.weekly_training_summary").fetchone()[0] > 0
        return dict(con.execute("select source, count(*) from main.activities group by source").fetchall())
    finally:
        con.close()


def dagster_record(home: Path, job_name: str, asset_key: list[str]):
    """(the job's runs, the step order of the last one, the asset's latest materialization metadata)."""
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=job_name))
        steps = [e.step_key for e in instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_START)] \
            if runs else []
        event = instance.get_latest_materialization_event(dg.AssetKey(asset_key))
        metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()} if event else None
        return runs, steps, metadata


def import_lines(verb: str, path, imported: str) -> list[str]:
    """Run `trainsmart VERB PATH`; it must succeed, say what it imported, and end with the build line."""
    done = trainsmart(verb, str(path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert any(line.startswith(imported) for line in lines)
    assert lines[-1].startswith("Models built in ")
    return lines


def test_import_export_is_a_dagster_job_with_its_counts(home, tmp_path):
    athlete = make_athlete(n=12, seed=5)
    archive = write_sample_export(athlete, tmp_path / "export_4242.zip")
    lines = import_lines("import-export", archive, "Imported Strava export export_4242.zip in ")
    n = len(athlete.activities)
    assert marts_by_source() == {"export": n}

    runs, steps, metadata = dagster_record(home, "import_export_and_build", ["imports", "strava_export"])
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS]
    assert runs[0].run_config["ops"]["imports__strava_export"]["config"]["path"] == str(archive.absolute())
    assert steps == ["imports__strava_export", "dbt_models"]  # the import lands before dbt reads it
    assert metadata["activities"] == metadata["new"] == metadata["total"] == n
    assert metadata["complete"] is True and metadata["skipped"] == 0
    assert metadata["streams"] == len(athlete.streams) and metadata["samples"] > 0
    assert [line for line in lines if line in metadata["lines"]] == metadata["lines"]


@pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason="the shared device files (../shared/samples/device-files) are missing")
def test_import_files_is_a_dagster_job_with_its_counts(home, tmp_path):
    folder = tmp_path / "watch"
    folder.mkdir()
    for name in DEVICE_FILES:
        shutil.copy(SHARED_SAMPLES / name, folder / name)
    import_lines("import-files", folder, "Imported activity files from watch in ")
    assert marts_by_source() == {"files": len(DEVICE_FILES)}

    runs, steps, metadata = dagster_record(home, "import_files_and_build", ["imports", "device_files"])
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS]
    assert steps == ["imports__device_files", "dbt_models"]
    assert metadata["activities"] == metadata["new"] == len(DEVICE_FILES)
    assert metadata["complete"] is True and metadata["streams"] == len(DEVICE_FILES)


def test_a_bad_path_is_one_plain_sentence_and_a_failed_run(home, tmp_path):
    missing = tmp_path / "no_such_export.zip"
    done = trainsmart("import-export", str(missing))
    assert done.returncode not in (0, 75)
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"{missing} does not exist; give the Strava export zip or its unpacked folder.")
    runs, steps, metadata = dagster_record(home, "import_export_and_build", ["imports", "strava_export"])
    assert [r.status for r in runs] == [dg.DagsterRunStatus.FAILURE]
    assert steps == ["imports__strava_export"] and metadata is None  # dbt never started
