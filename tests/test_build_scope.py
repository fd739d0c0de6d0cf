"""The nightly build runs what changed: nothing, the models for a new day, the data tests for new
data, everything for a changed project; and the marts are right for the new day every time."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from pipelines import landing, warehouse
from pipelines.config import ConfigError, load_settings
from pipelines.defs.models import build_scope
from pipelines.defs.models.build_scope import BuildState, decide
from tests.conftest import END_DATE


def test_decide_picks_the_smallest_scope_that_keeps_the_marts_right():
    base = BuildState(data="d1", as_of="2026-11-24", project="p1")
    assert decide(None, base) == "full"
    assert decide(base, base) == "skip"
    assert decide(base, BuildState("d1", "2026-11-25", "p1")) == "models"
    assert decide(base, BuildState("d2", "2026-11-25", "p1")) == "data"
    assert decide(base, BuildState("d2", "2026-11-25", "p2")) == "full"
    assert decide(base, BuildState("d1", "2026-11-24", "p2")) == "full"
    assert decide(base, base, requested="full") == "full"
    with pytest.raises(ConfigError, match="build scope"):
        decide(base, base, requested="everything")


def test_data_fingerprint_sees_content_not_bookkeeping(tmp_path):
    con = warehouse.connect_writer(tmp_path / "t.duckdb")
    activity = {"id": 1, "athlete": {"id": 7}, "start_date": "2026-11-01T08:00:00Z", "elapsed_time": 3600,
                "moving_time": 3500, "distance": 10000.0, "has_heartrate": True, "name": "Run"}
    landing.upsert_activity(con, "api", activity)
    first = build_scope.data_fingerprint(con)
    landing.upsert_activity(con, "api", activity)  # the same activity again: only updated_at moves
    con.execute("insert into raw.sync_runs (run_id, kind, started_at, status) values ('r', 'sync', now(), 'complete')")
    assert build_scope.data_fingerprint(con) == first
    landing.upsert_activity(con, "api", dict(activity, name="Renamed"))
    renamed = build_scope.data_fingerprint(con)
    assert renamed != first
    landing.mark_deleted(con, "api", [1])
    assert build_scope.data_fingerprint(con) not in (first, renamed)
    con.close()


def test_project_fingerprint_follows_the_vars():
    assert build_scope.project_fingerprint({}) == build_scope.project_fingerprint({})
    assert build_scope.project_fingerprint({}) != build_scope.project_fingerprint({"hr_max": 190})


def _night(monkeypatch, day: dt.date):
    from pipelines.runner import run_job

    monkeypatch.setenv("TRAINSMART_AS_OF", day.isoformat())
    settings = load_settings()
    outcome = run_job(settings, "sync_and_build")
    assert outcome.success, outcome.error
    logged = settings.log_file.read_text()
    scope = logged.rsplit("dbt build scope: ", 1)[1].split(" ", 1)[0]
    return settings, scope


def _last_day(settings) -> tuple[dt.date, int]:
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    try:
        return con.execute("select max(date), count(*) from main.daily_training_load").fetchone()
    finally:
        con.close()


def test_quiet_nights_move_the_marts_a_day_and_a_rerun_does_nothing(make_fake, small_athlete, monkeypatch):
    make_fake(small_athlete)
    day = END_DATE + dt.timedelta(days=1)
    settings, scope = _night(monkeypatch, day)
    assert scope == "full"  # the first build runs every test
    first_day, first_rows = _last_day(settings)
    assert first_day == day

    settings, scope = _night(monkeypatch, day + dt.timedelta(days=1))  # nothing new upstream
    assert scope == "models"
    assert _last_day(settings) == (day + dt.timedelta(days=1), first_rows + 1)
    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert kinds == {"model"}, kinds  # no tests, no seeds reloaded

    published = settings.snapshot_path.stat().st_mtime_ns
    settings, scope = _night(monkeypatch, day + dt.timedelta(days=1))  # the same day again
    assert scope == "skip"
    assert _last_day(settings) == (day + dt.timedelta(days=1), first_rows + 1)
    assert settings.snapshot_path.stat().st_mtime_ns >= published  # the sync still published its run
