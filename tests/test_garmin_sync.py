"""The Garmin sync against the local Garmin-compatible server over real HTTP, real DuckDB.

What a Garmin user relies on (issue 9): the first sync lands exactly what Garmin holds
(activities, one FIT file per activity with heart rate, wellness days), a quiet night costs
a handful of requests, a killed run resumes without loss or duplicates, Retry-After is
obeyed, injected faults converge, and the token stays secret.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import signal
import stat
import subprocess
import time

import duckdb
import pytest

from pipelines.config import load_settings
from pipelines.garmin.errors import KEY_REJECTED, TOKEN_REVOKED, GarminError
from pipelines.garmin.sync import BASELINE_DAYS, PAGE_LIMIT, WELLNESS_CHUNK_DAYS, run_garmin_sync
from pipelines.sync_state import set_state
from tests.conftest import GARMIN_KEY as KEY
from tests import warm_python



def db_state(db_path) -> dict:
    """Everything the Garmin sync lands, without the bookkeeping timestamps."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            "activities": con.execute("select source, activity_id, athlete_id, json, stream_signature, "
                                      "deleted_at is null from raw.activities order by all").fetchall(),
            "streams": con.execute("select * from raw.streams order by all").fetchall(),
            "fetches": con.execute("select source, activity_id, stream_signature, sample_count "
                                   "from raw.stream_fetches order by all").fetchall(),
            "wellness": con.execute("select owner_id, kind, calendar_date, json from raw.garmin_wellness "
                                    "order by all").fetchall(),
        }
    finally:
        con.close()


def expected_wellness(watch, first_day: dt.date) -> set[tuple[str, str]]:
    """(kind, day) the server holds from BASELINE_DAYS before the first activity to the watch's today."""
    start = first_day - dt.timedelta(days=BASELINE_DAYS)
    out = set()
    for kind, days in (("hrv", watch.hrv), ("sleep", watch.sleep), ("daily_summary", watch.daily)):
        for day, obj in days.items():
            if not (start <= dt.date.fromisoformat(day) <= watch.end_date):
                continue
            if kind == "sleep" and obj.get("sleepTimeSeconds") is None and obj.get("deepSleepSeconds") is None:
                continue  # a day without sleep data (null numbers) is not a day of data
            out.add((kind, day))
    return out


def _first_day(watch) -> dt.date:
    return min(dt.date.fromisoformat(a["startTimeLocal"][:10]) for a in watch.activities)


def _ranges(first: dt.date, last: dt.date, days: int) -> int:
    return math.ceil(((last - first).days + 1) / days)


def test_first_sync_lands_exactly_the_servers_data(make_garmin, small_watch):
    fake = make_garmin(small_watch)
    settings = load_settings()
    result = run_garmin_sync(settings)
    assert result.complete, result.message

    state = db_state(settings.db_path)
    landed = {row[1]: json.loads(row[3]) for row in state["activities"] if row[0] == "garmin"}
    assert landed == {int(a["activityId"]): a for a in small_watch.activities}
    assert all(row[2] == small_watch.owner_id for row in state["activities"])

    with_hr = {int(a["activityId"]) for a in small_watch.activities if "averageHR" in a}
    assert {row[1] for row in state["fetches"]} == with_hr
    con = duckdb.connect(str(settings.db_path), read_only=True)
    for activity_id in sorted(with_hr)[:: max(1, len(with_hr) // 12)]:
        time_s, heartrate = small_watch.hr_stream(activity_id)
        got = con.execute("select time_s, heartrate from raw.streams where source = 'garmin' and activity_id = ? "
                          "order by seq", [activity_id]).fetchall()
        assert [t for t, _ in got] == time_s and [h for _, h in got] == heartrate
    con.close()

    first_day = _first_day(small_watch)
    assert {(kind, str(day)) for _, kind, day, _ in state["wellness"]} == expected_wellness(small_watch, first_day)
    for _, kind, day, body in state["wellness"]:
        source = {"hrv": small_watch.hrv, "sleep": small_watch.sleep, "daily_summary": small_watch.daily}[kind]
        assert json.loads(body) == source[str(day)]

    # the request count, from the shape of the data: token, profile, pages, files, wellness chunks
    pages = len(small_watch.activities) // PAGE_LIMIT + 1
    start = first_day - dt.timedelta(days=BASELINE_DAYS)
    chunks = sum(_ranges(start, small_watch.end_date, days) for days in WELLNESS_CHUNK_DAYS.values())
    assert fake.count("token") == 1 and fake.count("profile") == 1
    assert fake.count("activities") == pages == result.pages
    assert fake.count("download") == len(with_hr) == result.files_fetched
    assert fake.count("hrv") + fake.count("sleep") + fake.count("daily") == chunks == result.wellness_requests
    assert result.requests == len(fake.requests) == 2 + pages + len(with_hr) + chunks
    assert not fake.overlap_violations and not fake.retry_after_violations


def test_a_quiet_second_night_costs_at_most_six_requests(make_garmin, small_watch, monkeypatch):
    fake = make_garmin(small_watch)
    assert run_garmin_sync(load_settings()).complete
    before = db_state(load_settings().db_path)
    next_day = small_watch.end_date + dt.timedelta(days=1)
    fake.set_today(next_day)
    monkeypatch.setenv("TRAINSMART_AS_OF", next_day.isoformat())
    settings = load_settings()
    settings.garmin_token_file.unlink()  # a day later the 24-hour token has run out: the exchange counts too
    fake.reset_log()
    result = run_garmin_sync(settings)
    assert result.complete, result.message
    assert len(fake.requests) <= 6, [(r.kind, r.path) for r in fake.requests]
    assert fake.count("token") == 1 and fake.count("download") == 0
    assert db_state(settings.db_path)["activities"] == before["activities"]
    # the re-read covers the last 7 days of each kind
    reread = [r for r in fake.requests if r.kind in ("sleep", "daily")]
    assert all(r.query["startDate"] == (next_day - dt.timedelta(days=6)).isoformat() for r in reread)


def test_new_edited_and_deleted_activities_on_the_next_night(make_garmin, short_watch, monkeypatch):
    fake = make_garmin(short_watch)
    settings = load_settings()
    assert run_garmin_sync(settings).complete
    by_start = sorted(short_watch.activities, key=lambda a: a["startTimeGMT"])
    recent_hr = next(a for a in reversed(by_start) if "averageHR" in a)
    gone = by_start[-2] if by_start[-2] is not recent_hr else by_start[-3]
    old = next(a for a in by_start if a is not recent_hr and a is not gone)
    fake.edit_activity(int(recent_hr["activityId"]), duration=recent_hr["duration"] - 30, activityName="Renamed")
    fake.delete_activity(int(gone["activityId"]))
    fake.delete_activity(int(old["activityId"]))  # months ago: only a reconciliation sees it
    fake.reset_log()
    result = run_garmin_sync(settings)
    assert result.complete and not result.reconciled
    assert result.activities_updated == 1 and result.deleted == 1 and result.files_fetched == 1
    assert [r.path for r in fake.requests if r.kind == "download"] == [
        f"/download-service/files/activity/{recent_hr['activityId']}"]
    live = {row[1] for row in db_state(settings.db_path)["activities"] if row[5]}
    assert int(gone["activityId"]) not in live and int(old["activityId"]) in live

    con = duckdb.connect(str(settings.db_path))
    set_state(con, "garmin_last_full_listing_at", (short_watch.end_date - dt.timedelta(days=8)).isoformat())
    con.close()
    result = run_garmin_sync(settings)
    assert result.complete and result.reconciled and result.deleted == 1
    live = {row[1] for row in db_state(settings.db_path)["activities"] if row[5]}
    assert live == {int(a["activityId"]) for a in short_watch.activities} - {int(gone["activityId"]), int(old["activityId"])}


SYNC_SCRIPT = """
import sys
from pipelines.config import load_settings
from pipelines.garmin.sync import run_garmin_sync
r = run_garmin_sync(load_settings())
sys.exit(0 if r.complete else 75)
"""


def test_sync_killed_at_three_points_resumes_to_the_same_result(make_garmin, short_watch, tmp_path, monkeypatch):
    fake = make_garmin(short_watch)
    reference = load_settings()
    assert run_garmin_sync(reference).complete
    want = db_state(reference.db_path)
    kinds = [r.kind for r in fake.requests]
    # in the activity list, among the FIT downloads, among the wellness chunks
    points = {"listing": kinds.index("activities") + 2,
              "files": kinds.index("download") + len([k for k in kinds if k == "download"]) // 2,
              "wellness": len(kinds) - 3}
    for where, kill_after in points.items():
        db = tmp_path / f"killed-{where}" / "training.duckdb"
        monkeypatch.setenv("TRAINSMART_DB", str(db))
        monkeypatch.setenv("TRAINSMART_HOME", str(db.parent))
        fake.reset_log()
        proc = warm_python.start(["-c", SYNC_SCRIPT], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(fake.requests) < kill_after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, f"the run finished before it could be killed ({where})"
        assert fake.requests[-1].kind == fake.requests[kill_after - 1].kind or where != "listing"
        rerun = warm_python.run(["-c", SYNC_SCRIPT], timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert db_state(db) == want, f"killed in the {where} after {kill_after} requests"
        assert not fake.overlap_violations


def test_429_with_retry_after_is_obeyed(make_garmin, short_watch):
    fake = make_garmin(short_watch)
    fake.throttle_next(2, retry_after=1)
    settings = load_settings()
    result = run_garmin_sync(settings)
    assert result.complete, result.message
    assert [(r.kind, r.status) for r in fake.requests[:4]] == [
        ("token", 200), ("profile", 429), ("profile", 429), ("profile", 200)]
    assert not fake.retry_after_violations and not fake.overlap_violations
    for earlier, later in ((1, 2), (2, 3)):
        assert fake.requests[later].received_at - fake.requests[earlier].answered_at >= 1.0
    fake.throttle_next(1, retry_after="date")  # the HTTP-date form
    assert run_garmin_sync(settings).complete
    assert not fake.retry_after_violations


def test_a_long_retry_after_stops_cleanly_and_the_next_run_goes_on(make_garmin, short_watch, monkeypatch):
    fake = make_garmin(short_watch)
    settings = load_settings()
    assert run_garmin_sync(settings).complete
    want = db_state(settings.db_path)
    con = duckdb.connect(str(settings.db_path))
    set_state(con, "garmin_last_full_listing_at", "2000-01-01")
    con.close()
    fake.reset_log()
    fake.throttle_next(1, retry_after=3600)
    result = run_garmin_sync(settings)
    assert not result.complete and "3600" in result.message and len(fake.requests) == 1
    assert db_state(settings.db_path) == want  # nothing lost
    # a run inside the hour sends nothing at all
    again = run_garmin_sync(settings)
    assert not again.complete and "wait" in again.message and len(fake.requests) == 1
    assert not fake.retry_after_violations
    # an hour later: the run goes on
    con = duckdb.connect(str(settings.db_path))
    set_state(con, "garmin_not_before", time.time() - 1)
    con.close()
    fake.stop()
    make_garmin(short_watch)
    assert run_garmin_sync(load_settings()).complete
    assert db_state(settings.db_path) == want


def test_injected_faults_converge_to_the_exact_data(make_garmin, short_watch, tmp_path, monkeypatch):
    clean = make_garmin(short_watch)
    assert run_garmin_sync(load_settings()).complete
    want = db_state(load_settings().db_path)
    clean.stop()

    monkeypatch.setenv("TRAINSMART_DB", str(tmp_path / "faulty" / "training.duckdb"))
    monkeypatch.setenv("TRAINSMART_HOME", str(tmp_path / "faulty"))
    fake = make_garmin(short_watch)
    fake.fail_rate(0.2, seed=3)
    settings = load_settings()
    runs = []
    for _ in range(20):
        result = run_garmin_sync(settings)
        runs.append(result)
        if result.complete:
            break
    assert runs[-1].complete, [r.message for r in runs]
    assert any(r.status >= 500 for r in fake.requests)
    assert db_state(settings.db_path) == want


def test_token_is_cached_0600_and_never_stored_or_printed(make_garmin, short_watch, capsys):
    fake = make_garmin(short_watch)
    settings = load_settings()
    assert run_garmin_sync(settings, progress=print).complete
    mode = stat.S_IMODE(os.stat(settings.garmin_token_file).st_mode)
    assert mode == 0o600
    token = json.loads(settings.garmin_token_file.read_text())["token"]
    assert KEY not in settings.garmin_token_file.read_text()
    out = capsys.readouterr()
    assert token not in out.out + out.err and KEY not in out.out + out.err
    con = duckdb.connect(str(settings.db_path), read_only=True)
    for table, in con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall():
        dump = str(con.execute(f"select * from {table}").fetchall())
        assert token not in dump and KEY not in dump, table
    con.close()
    # the next run reuses the cached token: no exchange
    fake.reset_log()
    assert run_garmin_sync(settings).complete
    assert fake.count("token") == 0


def test_a_token_near_its_expiry_is_renewed_before_use(make_garmin, short_watch):
    fake = make_garmin(short_watch, token_ttl_s=1800)  # shorter than the one-hour renewal margin
    settings = load_settings()
    assert run_garmin_sync(settings).complete
    assert fake.count("token") == 1  # half-way through its life, not on every request
    cached = json.loads(settings.garmin_token_file.read_text())
    assert cached["renew_at"] == pytest.approx(cached["expires_at"] - 900, abs=5)
    cached["renew_at"] = time.time() - 1  # time passes: the token is due for renewal
    settings.garmin_token_file.write_text(json.dumps(cached))
    fake.reset_log()
    assert run_garmin_sync(settings).complete
    assert fake.count("token") == 1
    assert all(r.status != 401 for r in fake.requests)


def test_rejected_key_and_revoked_token_are_plain_errors(make_garmin, short_watch):
    fake = make_garmin(short_watch)
    settings = load_settings()
    assert run_garmin_sync(settings).complete
    fake.expire_tokens()
    fake.set_key("a-new-key-the-user-has-not-set")  # the old key was replaced on Garmin's site
    with pytest.raises(GarminError) as rejected:
        run_garmin_sync(settings)
    assert str(rejected.value) == KEY_REJECTED and "\n" not in KEY_REJECTED

    fake.set_key(KEY)
    assert run_garmin_sync(settings).complete
    fake.revoke_key()
    settings.garmin_token_file.unlink()
    with pytest.raises(GarminError) as refused:
        run_garmin_sync(settings)
    assert str(refused.value) in (KEY_REJECTED, TOKEN_REVOKED)
    con = duckdb.connect(str(settings.db_path), read_only=True)
    assert con.execute("select status from raw.sync_runs order by started_at desc limit 1").fetchone()[0] == "failed"
    con.close()


def test_the_key_file_is_read_when_the_variable_is_unset(make_garmin, short_watch, home, monkeypatch):
    make_garmin(short_watch)
    monkeypatch.delenv("GARMIN_PERSONAL_API_KEY")
    key_file = load_settings().garmin_key_file
    key_file.parent.mkdir(parents=True)
    key_file.write_text(KEY + "\n")
    assert run_garmin_sync(load_settings()).complete


def test_a_profile_without_an_id_leaves_the_owner_to_the_data(make_garmin, short_watch):
    """GARMIN.md gives no shape for the profile: without an id there, the activities' ownerId
    (and the wellness userProfilePk) say whose data it is."""
    import dataclasses

    watch = dataclasses.replace(short_watch, profile={"userData": {"gender": "FEMALE"}})
    make_garmin(watch)
    settings = load_settings()
    assert run_garmin_sync(settings).complete
    state = db_state(settings.db_path)
    assert {row[2] for row in state["activities"]} == {watch.owner_id}
    assert {row[0] for row in state["wellness"]} == {watch.owner_id}
