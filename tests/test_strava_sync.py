"""The Strava sync against the package's Strava-compatible server, over real HTTP, through stravalib."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.config import load_settings
from pipelines.strava.errors import StravaError
from pipelines.strava.sync import run_sync
from pipelines.sync_state import get_state, set_state
from tests import warm_python


def landed(db_path) -> tuple[dict, dict]:
    """(activity id -> JSON of live API rows, activity id -> (time, heartrate) of their streams)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        acts = {aid: json.loads(js) for aid, js in con.execute(
            "select activity_id, json from raw.activities where source = 'api' and deleted_at is null").fetchall()}
        streams = {}
        for aid, t, hr in con.execute("""
                select activity_id, list(time_s order by seq), list(heartrate order by seq)
                from raw.streams where source = 'api' group by activity_id""").fetchall():
            streams[aid] = (t, hr)
        return acts, streams
    finally:
        con.close()


def upstream(fake) -> tuple[dict, dict]:
    acts = {int(a["id"]): a for a in fake.activities()}
    streams = {}
    for aid, a in acts.items():
        if a.get("has_heartrate"):
            s = fake.streams_of(aid)
            if s:
                streams[aid] = (list(s["time"]), list(s.get("heartrate") or [None] * len(s["time"])))
    return acts, streams


def assert_matches_upstream(settings, fake):
    got_acts, got_streams = landed(settings.db_path)
    want_acts, want_streams = upstream(fake)
    assert set(got_acts) == set(want_acts)
    for aid, activity in want_acts.items():
        assert got_acts[aid] == activity, f"activity {aid} differs"
    assert set(got_streams) == set(want_streams)
    for aid in want_streams:
        assert got_streams[aid] == want_streams[aid], f"stream {aid} differs"


def test_first_sync_lands_exactly_the_athletes_data(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    settings = load_settings()
    result = run_sync(settings)
    assert result.complete, result.message
    assert_matches_upstream(settings, fake)
    n_with_hr = sum(1 for a in small_athlete.activities if a.get("has_heartrate"))
    assert result.streams_fetched == n_with_hr > 0
    # athlete + zones + listing pages + one request per stream, nothing more
    pages = len(small_athlete.activities) // 200 + 2
    assert result.requests == fake.api_request_count() <= 2 + pages + n_with_hr
    con = duckdb.connect(str(settings.db_path), read_only=True)
    assert con.execute("select count(*) from raw.athlete").fetchone()[0] == 1
    assert con.execute("select count(*) from raw.athlete_zones").fetchone()[0] == 1
    assert con.execute("select count(*) from raw.activities").fetchone()[0] == len(small_athlete.activities)
    con.close()
    assert settings.snapshot_path.exists()


def test_second_sync_without_changes_makes_at_most_two_requests(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    settings = load_settings()
    assert run_sync(settings).complete
    fake.reset_log()
    second = run_sync(settings)
    assert second.complete
    assert fake.api_request_count() <= 2
    assert second.activities_new == second.activities_updated == second.streams_fetched == 0


def test_adds_edits_and_deletes_are_reconciled(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    settings = load_settings()
    assert run_sync(settings).complete
    acts = fake.activities()
    recent, old = acts[-1], acts[len(acts) // 3]
    hr_recent = next(a for a in reversed(acts) if a.get("has_heartrate"))
    new = dict(recent, id=int(recent["id"]) + 7, name="Added after the first sync")
    fake.add_activity(new, fake.streams_of(int(recent["id"])) if recent.get("has_heartrate") else None)
    fake.edit_activity(int(hr_recent["id"]), name="Renamed", elapsed_time=hr_recent["elapsed_time"] + 60)
    fake.delete_activity(int(acts[-2]["id"]))  # inside the look-back window
    fake.delete_activity(int(old["id"]))  # months ago: only a reconciliation sees it

    first = run_sync(settings)  # incremental: the window's changes
    assert first.complete and not first.reconciled
    got, _ = landed(settings.db_path)
    assert int(acts[-2]["id"]) not in got and int(new["id"]) in got
    assert got[int(hr_recent["id"])]["name"] == "Renamed"
    assert int(old["id"]) in got  # not yet seen

    con = duckdb.connect(str(settings.db_path))
    set_state(con, "last_full_listing_at", time.time() - 8 * 86400)  # reconciliation is due
    con.close()
    fake.reset_log()
    second = run_sync(settings)
    assert second.complete and second.reconciled
    assert second.streams_fetched == 0  # nothing changed since the incremental run
    assert_matches_upstream(settings, fake)


def test_edit_that_changes_the_recording_refetches_its_stream_once(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    settings = load_settings()
    assert run_sync(settings).complete
    target = next(a for a in reversed(fake.activities()) if a.get("has_heartrate"))
    fake.edit_activity(int(target["id"]), elapsed_time=target["elapsed_time"] - 30)
    fake.reset_log()
    result = run_sync(settings)
    assert result.streams_fetched == 1
    streams_requested = [p for m, p, q in fake.request_log if p.endswith("/streams")]
    assert streams_requested == [f"/api/v3/activities/{target['id']}/streams"]


SYNC_SCRIPT = """
import sys
from pipelines.config import load_settings
from pipelines.strava.sync import run_sync
r = run_sync(load_settings())
sys.exit(0 if r.complete else 75)
"""


def _db_state(db_path) -> dict:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            "activities": con.execute("select source, activity_id, json, stream_signature, deleted_at is null "
                                      "from raw.activities order by all").fetchall(),
            "streams": con.execute("select * from raw.streams order by all").fetchall(),
            "fetches": con.execute("select source, activity_id, stream_signature, sample_count "
                                   "from raw.stream_fetches order by all").fetchall(),
            "athlete": con.execute("select athlete_id, json from raw.athlete").fetchall(),
        }
    finally:
        con.close()


def test_sync_killed_at_any_point_resumes_to_the_same_result(make_fake, small_athlete, tmp_path, monkeypatch):
    fake = make_fake(small_athlete)
    reference = load_settings()
    assert run_sync(reference).complete
    want = _db_state(reference.db_path)
    total_requests = fake.api_request_count()

    for kill_after in (1, 3, total_requests // 3, total_requests - 5):
        db = tmp_path / f"killed-{kill_after}" / "training.duckdb"
        monkeypatch.setenv("TRAINSMART_DB", str(db))
        monkeypatch.setenv("TRAINSMART_HOME", str(db.parent))
        monkeypatch.setenv("STRAVA_REFRESH_TOKEN", fake.current_refresh_token)
        fake.reset_log()
        proc = warm_python.start(["-c", SYNC_SCRIPT], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while fake.api_request_count() < kill_after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
        # the re-run uses the refresh token the killed run stored (or the env one, if it died first)
        rerun = warm_python.run(["-c", SYNC_SCRIPT], timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert _db_state(db) == want, f"killed after {kill_after} requests"


def _quarter_hour_passes(settings, fake):
    """15 minutes later: Strava's window resets, and so does what the last run saw of it."""
    fake.advance_window()
    con = duckdb.connect(str(settings.db_path))
    budget = get_state(con, "rate_budget")
    budget["seen_at"] -= 900
    set_state(con, "rate_budget", budget)
    con.close()


def test_low_rate_limit_stops_before_429_and_a_later_run_finishes(make_fake, small_athlete):
    fake = make_fake(small_athlete, read_limit_15min=40, overall_limit_15min=60)
    settings = load_settings()
    runs = []
    for _ in range(30):
        result = run_sync(settings)
        runs.append(result)
        if result.complete:
            break
        assert "budget" in result.message and "left for the next run" in result.message
        usage = fake.rate_usage()
        assert usage["read_15min"] <= 40 and usage["overall_15min"] <= 60, "the sync must never provoke a 429"
        _quarter_hour_passes(settings, fake)
    assert len(runs) > 2 and runs[-1].complete
    assert_matches_upstream(settings, fake)


def test_5xx_bursts_are_survived_and_long_outages_stop_cleanly(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    settings = load_settings()
    fake.fail_next(3, status=503)
    result = run_sync(settings)
    assert result.complete
    assert_matches_upstream(settings, fake)

    fake.add_activity(dict(fake.activities()[-1], id=int(fake.activities()[-1]["id"]) + 11), None)
    fake.fail_next(50, status=502)
    stopped = run_sync(settings)
    assert not stopped.complete and "502" in stopped.message
    fake.fail_next(0)
    assert run_sync(settings).complete
    assert_matches_upstream(settings, fake)


def test_inactive_subscription_gives_the_plain_message(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    fake.set_inactive(True)
    with pytest.raises(StravaError) as err:
        run_sync(load_settings())
    assert "paid Strava subscription" in str(err.value)
    assert "\n" not in str(err.value)


def test_refresh_token_rotates_and_the_rotated_one_is_used_next_run(make_fake, small_athlete, home):
    fake = make_fake(small_athlete)
    settings = load_settings()
    initial = fake.current_refresh_token
    assert run_sync(settings).complete
    stored = json.loads(settings.token_file.read_text())
    assert stored["refresh_token"] == fake.current_refresh_token != initial
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
    fake.expire_access_tokens()
    assert run_sync(settings).complete  # the env still holds the dead initial token: the stored one wins
    stored_again = json.loads(settings.token_file.read_text())
    assert stored_again["refresh_token"] == fake.current_refresh_token != stored["refresh_token"]
    # secrets never reach the database
    con = duckdb.connect(str(settings.db_path), read_only=True)
    dump = json.dumps(con.execute("select * from raw.sync_state").fetchall(), default=str) + json.dumps(
        con.execute("select * from raw.sync_runs").fetchall(), default=str)
    con.close()
    for secret in (initial, stored["refresh_token"], stored_again["refresh_token"], stored_again["access_token"],
                   fake.client_secret):
        assert secret not in dump


def test_revoked_token_and_missing_credentials_are_plain_errors(make_fake, small_athlete, monkeypatch):
    fake = make_fake(small_athlete)
    monkeypatch.setenv("STRAVA_REFRESH_TOKEN", "not-a-valid-token")
    with pytest.raises(StravaError, match="trainsmart auth"):
        run_sync(load_settings())
    monkeypatch.delenv("STRAVA_CLIENT_SECRET")
    with pytest.raises(StravaError, match="STRAVA_CLIENT_SECRET"):
        run_sync(load_settings())


def test_unreachable_host_is_a_plain_error(home, monkeypatch):
    monkeypatch.setenv("STRAVA_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("STRAVA_CLIENT_ID", "1")
    monkeypatch.setenv("STRAVA_CLIENT_SECRET", "x")
    monkeypatch.setenv("STRAVA_REFRESH_TOKEN", "y")
    with pytest.raises(StravaError, match="Cannot reach Strava"):
        run_sync(load_settings())


def test_missing_scope_is_a_plain_error(make_fake, small_athlete, home):
    from pipelines.sandbox.strava_server import FakeStrava  # noqa: F401 - the fixture starts it

    fake = make_fake(small_athlete, scope="read")
    with pytest.raises(StravaError, match="activity:read_all"):
        run_sync(load_settings())


def test_damaged_token_file_and_a_foreign_lock_are_plain_errors(make_fake, small_athlete):
    from pipelines.warehouse import WarehouseBusy

    make_fake(small_athlete)
    settings = load_settings()
    settings.token_file.parent.mkdir(parents=True, exist_ok=True)
    settings.token_file.write_text("{not json")
    with pytest.raises(StravaError, match="damaged"):
        run_sync(settings)
    settings.token_file.unlink()

    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(settings.db_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseBusy, match="open in another program"):
            run_sync(settings)
    finally:
        holder.kill()
        holder.wait()
    assert run_sync(settings).complete
