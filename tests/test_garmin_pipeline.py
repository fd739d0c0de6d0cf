"""`trainsmart sync` with Garmin, end to end: the real CLI in a subprocess, both local
servers over HTTP, the Dagster job, real dbt, the snapshot.

- Garmin alone: Strava is skipped with one line and the marts come from the watch.
- Strava and Garmin together: no workout counted twice; the marts equal the Strava-only
  marts on the activities Strava has, with Garmin filling in the rest (METRICS.md section 1).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.config import load_settings
from tests.cli import trainsmart
from tests.conftest import END_DATE, emptied_but_dbt_parse

ACTIVITY_COLUMNS = """activity_id, athlete_id, sport_type, category, start_date_local, local_date, week_start,
    distance_km, moving_min, elevation_gain_m, average_heartrate, easy_min, moderate_min, hard_min,
    unclassified_min, trimp, is_quality, long_run_spike_ratio, source"""


def marts(db_snapshot) -> dict:
    con = duckdb.connect(str(db_snapshot), read_only=True)
    try:
        return {
            "activities": con.execute(f"select {ACTIVITY_COLUMNS} from main.activities order by source, activity_id").fetchall(),
            "starts": con.execute("select athlete_id, source, activity_id, start_date_local from main.activities "
                                  "order by start_date_local").fetchall(),
            "wellness_days": con.execute("select count(*) from main.daily_wellness "
                                         "where hrv_rmssd is not null or resting_hr is not null").fetchone()[0],
        }
    finally:
        con.close()


def same_rows(got: list[tuple], want: list[tuple]) -> bool:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert len(g) == len(w)
        for a, b in zip(g, w):
            assert a == (pytest.approx(b, rel=1e-9) if isinstance(b, float) else b), (g, w)
    return True


def _utc(activity: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(activity["startTimeGMT"])


def watch_only(watch, strava_activities) -> set[int]:
    """Garmin activities with no Strava activity starting within 60 s (worked out here, in Python)."""
    strava_starts = [dt.datetime.fromisoformat(a["start_date"].replace("Z", "")) for a in strava_activities]
    return {int(a["activityId"]) for a in watch.activities
            if not any(abs((_utc(a) - s).total_seconds()) <= 60 for s in strava_starts)}


def test_garmin_alone(make_garmin, small_watch):
    make_garmin(small_watch)
    done = trainsmart("sync")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Strava skipped" in done.stderr and "Garmin sync complete" in done.stderr
    got = marts(load_settings().snapshot_path)
    in_scope = [a for a in small_watch.activities if a["startTimeLocal"][:10] <= END_DATE.isoformat()]
    assert {row[-1] for row in got["activities"]} == {"garmin"}
    assert len(got["activities"]) == len(in_scope)
    assert {row[1] for row in got["activities"]} == {small_watch.owner_id}  # no Strava data: the Garmin id
    assert got["wellness_days"] > 100

    status = trainsmart("status")
    assert status.returncode == 0, status.stderr
    assert "Garmin key: set" in status.stdout and f"Last wellness day: {END_DATE}" in status.stdout


@pytest.fixture
def strava_only_marts(make_fake, small_athlete, home, monkeypatch):
    """The Strava-only build of the same athlete, read into memory; then the home is empty
    again for the test, but for dbt's parse (a new home's first build would parse in full)."""
    monkeypatch.setenv("TRAINSMART_AS_OF", END_DATE.isoformat())
    fake = make_fake(small_athlete)
    done = trainsmart("sync")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Garmin skipped" in done.stderr
    fake.stop()
    built = marts(load_settings().snapshot_path)
    emptied_but_dbt_parse(home)
    return built


def test_strava_and_garmin_together_count_each_workout_once(strava_only_marts, make_fake, make_garmin,
                                                             small_athlete, small_watch, home):
    assert not (home / "training.duckdb").exists()  # nothing of the Strava-only build is left
    strava = make_fake(small_athlete)
    make_garmin(small_watch)
    done = trainsmart("sync")
    assert done.returncode == 0, done.stderr[-3000:]
    both = marts(load_settings().snapshot_path)

    # the Strava rows are the Strava-only marts' rows, value for value (sums to 1e-9: their order may differ)
    assert same_rows([r for r in both["activities"] if r[-1] == "api"], strava_only_marts["activities"])
    # Garmin fills in exactly the workouts Strava does not have
    expected_extra = watch_only(small_watch, strava.activities())
    assert expected_extra, "the sample watch has workouts of its own"
    assert {r[0] for r in both["activities"] if r[-1] == "garmin"} == {
        i for i in expected_extra
        if next(a for a in small_watch.activities if int(a["activityId"]) == i)["startTimeLocal"][:10] <= str(END_DATE)}
    # no workout twice: one athlete, no two activities starting within 60 s of each other
    assert {r[0] for r in both["starts"]} == {small_athlete.athlete["id"]}  # Garmin rows count for the Strava athlete
    con = duckdb.connect(str(load_settings().snapshot_path), read_only=True)
    twins = con.execute("""
        select count(*) from main.activities a join main.activities b
          on a.athlete_id = b.athlete_id and (a.source, a.activity_id) < (b.source, b.activity_id)
         and abs(epoch(a.start_date_local) - epoch(b.start_date_local)) <= 60""").fetchone()[0]
    con.close()
    assert twins == 0
    assert both["wellness_days"] > 100
