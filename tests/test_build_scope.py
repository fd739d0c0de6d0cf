"""The nightly build runs what changed: nothing, the models for a new day, the data tests for new
data, everything for a changed project; and the marts are right for the new day every time."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil

import duckdb
import pytest

from pipelines import landing, warehouse
from pipelines.config import ConfigError, load_settings
from pipelines.defs.models import build_scope
from pipelines.defs.models.build_scope import BuildState, decide
from pipelines.defs.models.project import load_manifest
from tests.conftest import END_DATE
from tests.dbt_build import dbt_build, query_rows
from tests.mart_compare import MART_KEYS, differences


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


def test_models_a_new_date_cannot_reach_are_found_through_macros_and_refs():
    def model(name, macros=(), refs=()):
        return f"model.p.{name}", {"resource_type": "model", "name": name,
                                   "depends_on": {"macros": list(macros), "nodes": [f"model.p.{r}" for r in refs]}}

    manifest = {
        "macros": {"macro.trainsmart.as_of_date": {"depends_on": {"macros": ["macro.trainsmart.as_of_date_text"]}},
                   "macro.p.window": {"depends_on": {"macros": ["macro.p.helper"]}},
                   "macro.p.helper": {"depends_on": {"macros": ["macro.trainsmart.as_of_date"]}},
                   "macro.p.plain": {"depends_on": {"macros": []}}},
        "nodes": dict([model("stg", ["macro.p.plain"]), model("direct", ["macro.trainsmart.as_of_date_text"], ["stg"]),
                       model("via_macros", ["macro.p.window"], ["stg"]), model("below", refs=["stg", "direct"]),
                       model("two_below", refs=["below"]), model("beside", refs=["stg"]),
                       ("test.p.t", {"resource_type": "test", "name": "t", "depends_on": {"macros": [], "nodes": []}})]),
    }
    assert build_scope.date_independent_models(manifest) == ["beside", "stg"]
    args = build_scope.dbt_args("models", manifest)
    assert args[0] == "--exclude" and args[1].split() == [*build_scope.NOT_MODELS.split(), "beside", "stg"]
    assert build_scope.dbt_args("full", manifest) == ["--select", "test_type:data test_type:unit"]
    assert build_scope.dbt_args("full", manifest, unit_tests=False) == [
        "--select", "test_type:data", "--exclude", "resource_type:unit_test"]


def test_unit_tests_run_once_per_project_and_engine_on_a_machine(tmp_path):
    record = tmp_path / "target"
    key = build_scope.unit_test_key(build_scope.project_fingerprint({}))
    assert len({key, build_scope.unit_test_key(build_scope.project_fingerprint({"volume_spike": 0.5})),
                build_scope.unit_test_key("another project")}) == 3
    # nothing recorded: a full scope runs them, whether the build chose it or was asked for it
    assert build_scope.with_unit_tests("full", "auto", key, record)
    assert not build_scope.unit_tests_passed(key, record)
    build_scope.record_unit_tests_passed(key, record)
    assert build_scope.unit_tests_passed(key, record)
    # recorded: a full scope the build chose (new warehouse, changed project) leaves them out...
    assert not build_scope.with_unit_tests("full", "auto", key, record)
    assert build_scope.with_unit_tests("full", "auto", "another key", record)
    # ...a requested full runs them anyway, and no other scope ever does
    assert build_scope.with_unit_tests("full", "full", key, record)
    assert not any(build_scope.with_unit_tests(scope, scope, "another key", record) for scope in ("models", "data"))
    # the record keeps the newest keys; a damaged one is no record
    for n in range(build_scope.UNIT_TESTS_KEPT):
        build_scope.record_unit_tests_passed(f"k{n}", record)
    assert not build_scope.unit_tests_passed(key, record) and build_scope.unit_tests_passed("k0", record)
    (record / build_scope.UNIT_TESTS_RECORD).write_text("{half a file")
    assert not build_scope.unit_tests_passed("k0", record)
    build_scope.record_unit_tests_passed(key, record)
    assert build_scope.unit_tests_passed(key, record)
    assert sorted(p.name for p in record.iterdir()) == [f".{build_scope.UNIT_TESTS_RECORD}.lock",
                                                         build_scope.UNIT_TESTS_RECORD]  # no partial file left
    # a folder it cannot write keeps no record, and the build goes on
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    build_scope.record_unit_tests_passed(key, blocked)
    assert not build_scope.unit_tests_passed(key, blocked)


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
    assert build_scope.project_fingerprint({}) != build_scope.project_fingerprint({"volume_spike": 0.5})


def test_a_profile_change_is_a_data_change_not_a_project_change(home, monkeypatch):
    from pipelines import profiles

    monkeypatch.delenv("TRAINSMART_ATHLETES", raising=False)  # no roster: the default row from ATHLETE_*
    monkeypatch.setenv("ATHLETE_HR_MAX", "188")
    settings = load_settings()
    assert settings.dbt_vars() == {}  # the profile is no var: the project fingerprint cannot see it
    con = warehouse.connect_writer(settings.db_path)
    try:
        profiles.write_profiles(con, settings)
        assert con.execute("select athlete_id, hr_max, hr_rest, lthr, sex, min_runs_per_week "
                           "from raw.athlete_profiles").fetchall() == [(None, 188, None, None, None, None)]
        first = build_scope.data_fingerprint(con)
        profiles.write_profiles(con, settings)  # written again before every build: only updated_at moves
        assert build_scope.data_fingerprint(con) == first
        monkeypatch.setenv("ATHLETE_HR_MAX", "190")
        monkeypatch.setenv("ATHLETE_SEX", "female")
        changed = load_settings()
        profiles.write_profiles(con, changed)
        assert con.execute("select hr_max, sex from raw.athlete_profiles").fetchall() == [(190, "F")]
        assert build_scope.data_fingerprint(con) != first
        before = BuildState(first, "2026-11-24", build_scope.project_fingerprint(settings.dbt_vars()))
        after = BuildState(build_scope.data_fingerprint(con), "2026-11-24", build_scope.project_fingerprint(changed.dbt_vars()))
        assert decide(before, after) == "data"
    finally:
        con.close()


def test_a_roster_writes_one_profile_row_per_athlete_with_a_strava_id(home, monkeypatch):
    from pipelines import profiles

    monkeypatch.delenv("TRAINSMART_ATHLETES", raising=False)  # the roster at TRAINSMART_HOME/athletes.toml
    monkeypatch.setenv("ATHLETE_HR_MAX", "188")  # ignored with a roster: no default row
    home.mkdir(parents=True, exist_ok=True)
    (home / "athletes.toml").write_text(
        '[[athlete]]\nkey = "ann"\nname = "Ann"\ntimezone = "UTC"\nstrava_athlete_id = 11\nhr_max = 182\n'
        'sex = "F"\nmin_runs_per_week = 2\n\n'
        '[[athlete]]\nkey = "bob"\nname = "Bob"\ntimezone = "UTC"\nlthr = 170\n\n'  # not authorized yet
        '[[athlete]]\nkey = "cy"\nname = "Cy"\ntimezone = "UTC"\nstrava_athlete_id = 33\n')
    settings = load_settings()
    con = warehouse.connect_writer(settings.db_path)
    try:
        con.execute("insert into raw.athlete_profiles (athlete_id, hr_max, updated_at) values (null, 150, now())")
        assert profiles.write_profiles(con, settings) == 2
        rows = con.execute("select athlete_id, hr_max, hr_rest, lthr, sex, min_runs_per_week "
                           "from raw.athlete_profiles order by athlete_id").fetchall()
        assert rows == [(11, 182, None, None, "F", 2), (33, None, None, None, None, None)]
    finally:
        con.close()


def logged_builds(settings) -> list[tuple[str, str]]:
    """(scope, "run" or "not run" for the unit tests) of every build in the run log, oldest first:
    what each build decided, as the dbt asset logs it."""
    return re.findall(r"dbt build scope: (\w+) \(as of [-\d]+; unit tests (run|not run)\)",
                      settings.log_file.read_text())


def _observations_and_warnings(settings) -> tuple[int, int]:
    """Asset observations and warnings in the event log of the last run."""
    from pipelines.runner import cli_instance

    with cli_instance(settings) as instance:
        entries = instance.all_logs(instance.get_runs(limit=1)[0].run_id)
    observations = sum(1 for e in entries if e.dagster_event and e.dagster_event.event_type_value == "ASSET_OBSERVATION")
    return observations, sum(1 for e in entries if e.level >= logging.WARNING)


def _night(monkeypatch, day: dt.date):
    from pipelines.runner import run_job

    monkeypatch.setenv("TRAINSMART_AS_OF", day.isoformat())
    settings = load_settings()
    outcome = run_job(settings, "sync_and_build")
    assert outcome.success, outcome.error
    return settings, logged_builds(settings)[-1][0]


def _last_day(settings) -> tuple[dt.date, int]:
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    try:
        return con.execute("select max(date), count(*) from main.daily_training_load").fetchone()
    finally:
        con.close()


def _ran(settings) -> set[str]:
    """The unique ids of what the last `dbt build` ran (its run_results.json)."""
    results = json.loads((settings.home / "dbt" / "target" / "run_results.json").read_text())
    return {r["unique_id"] for r in results["results"]}


def _kinds(unique_ids: set[str]) -> set[str]:
    """model, seed, test, unit_test."""
    return {uid.split(".")[0] for uid in unique_ids}


def test_quiet_nights_move_the_marts_a_day_and_a_rerun_does_nothing(make_fake, small_athlete, monkeypatch, tmp_path):
    from pipelines.defs.models.assets import UNIT_TESTS_RECORD_DIR

    make_fake(small_athlete)
    day = END_DATE + dt.timedelta(days=1)
    unit_key = build_scope.unit_test_key(build_scope.project_fingerprint(load_settings().dbt_vars()))
    passed_before = build_scope.unit_tests_passed(unit_key, UNIT_TESTS_RECORD_DIR)  # another test's build
    settings, scope = _night(monkeypatch, day)
    assert scope == "full"  # the first build runs every model, seed and data test
    # and the unit tests unless they passed here already (another worker's build may record
    # them meanwhile: the build's own log line says what it decided)
    ran_unit_tests = logged_builds(settings)[-1][1] == "run"
    assert not (passed_before and ran_unit_tests)
    assert _kinds(_ran(settings)) == {"model", "seed", "test"} | ({"unit_test"} if ran_unit_tests else set())
    assert build_scope.unit_tests_passed(unit_key, UNIT_TESTS_RECORD_DIR)  # passed now, if not before
    first_day, first_rows = _last_day(settings)
    assert first_day == day
    # the data tests' results are counted in one line, not recorded as some 440 Dagster events
    data_tests = sum(1 for n in load_manifest()["nodes"].values() if n["resource_type"] == "test")
    assert f"dbt data tests: {data_tests} results, none failed" in settings.log_file.read_text()
    assert _observations_and_warnings(settings) == (0, 0)

    settings, scope = _night(monkeypatch, day + dt.timedelta(days=1))  # nothing new upstream
    assert scope == "models"
    assert _last_day(settings) == (day + dt.timedelta(days=1), first_rows + 1)
    ran_ids = _ran(settings)
    assert _kinds(ran_ids) == {"model"}  # no tests, no seeds reloaded
    # only the models the date reaches: staging (every activity's JSON) stays as it was
    ran = {uid.rsplit(".", 1)[1] for uid in ran_ids}
    kept = set(build_scope.date_independent_models(load_manifest()))
    assert {"stg_strava__activities", "stg_strava__streams", "int_activities_unified"} <= kept
    assert not ran & kept and "daily_training_load" in ran and "int_activities_categorized" in ran
    # and the marts are what a full build of the same data for the same day makes
    full = tmp_path / "full" / "training.duckdb"
    full.parent.mkdir()
    shutil.copy(settings.db_path, full)
    proc = dbt_build(full, full.parent, day + dt.timedelta(days=1), data_tests=False)  # compared, not tested
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    for mart, key in MART_KEYS.items():
        diffs = differences(query_rows(full, f"select * from main.{mart}"),
                            query_rows(settings.snapshot_path, f"select * from main.{mart}"), key)
        assert not diffs, f"{mart}: {len(diffs)} differences from a full build, e.g. {diffs[:5]}"

    published = settings.snapshot_path.stat().st_mtime_ns
    settings, scope = _night(monkeypatch, day + dt.timedelta(days=1))  # the same day again
    assert scope == "skip"
    assert _last_day(settings) == (day + dt.timedelta(days=1), first_rows + 1)
    assert settings.snapshot_path.stat().st_mtime_ns >= published  # the sync still published its run
