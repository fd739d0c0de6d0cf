"""A club's Strava sync: every roster athlete in one run, on the one rate budget of the
application (Strava's defaults: 100 reads per 15 minutes, 1,000 a day).

The local Strava API and the sync's budget share a clock the test moves from window to
window, so "the following windows" take no real time."""

from __future__ import annotations

import datetime as dt
import time

import duckdb

from pipelines.config import load_settings
from pipelines.sandbox.demo_club import connect_club
from pipelines.sandbox.strava_server import FakeStrava, cloned_club
from pipelines.strava.club_sync import RECENT_DAYS, run_club_sync

SCOPE = "read,activity:read_all,profile:read_all"


def small_club(n: int, end_date: dt.date) -> list:
    return cloned_club(n, end_date)


def connect(fake: FakeStrava, club: list, monkeypatch) -> tuple:
    """Point STRAVA_* at the local API and connect every athlete (runner-00, runner-01...)."""
    monkeypatch.setenv("STRAVA_BASE_URL", fake.start())
    monkeypatch.setenv("STRAVA_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("STRAVA_CLIENT_SECRET", fake.client_secret)
    settings = load_settings()
    return settings, connect_club(settings, fake, club)


def _start(activity: dict) -> float:
    return dt.datetime.fromisoformat(activity["start_date"].replace("Z", "+00:00")).timestamp()


def test_fifty_athletes_share_strava_default_budget(home, monkeypatch):
    now = [time.time()]
    club = small_club(50, dt.datetime.fromtimestamp(now[0], dt.timezone.utc).date())
    fake = FakeStrava(athletes=club, scope=SCOPE, clock=lambda: now[0])  # Strava's default limits
    try:
        settings, roster = connect(fake, club, monkeypatch)
        start_of = {int(a["id"]): _start(a) for sample in club for a in sample.activities}
        keys = [a.key for a in roster.athletes]
        runs = []
        while True:
            first, cutoff = len(fake.request_log), now[0] - RECENT_DAYS * 86400
            result = run_club_sync(settings, roster, clock=lambda: now[0])
            runs.append(result)
            log = fake.request_log[first:]
            # in every run, each athlete's recent streams come before any history work
            recent = [i for i, (_, path, _) in enumerate(log)
                      if path.endswith("/streams") and start_of[int(path.split("/")[-2])] >= cutoff]
            history = [i for i, (_, path, query) in enumerate(log)
                       if (path.endswith("/streams") and start_of[int(path.split("/")[-2])] < cutoff)
                       or (path.endswith("/athlete/activities") and query.get("after") == "0")]
            if recent and history:
                assert max(recent) < min(history), f"run {len(runs)}: history fetched before every recent week"
            assert [a.key for a in result.athletes] == keys
            if result.complete:
                break
            # stopped early: every athlete's progress is saved and named
            assert "budget is spent" in result.message and all(a.status in ("stopped", "done")
                                                               for a in result.athletes)
            assert len(runs) < 60, "the club never finished"
            if "daily" in result.message:
                now[0] = (now[0] // 86400 + 1) * 86400 + 60
            else:
                now[0] = (now[0] // 900 + 1) * 900 + 5
        assert fake.rate_limited == 0
        assert len(runs) > 10  # the defaults really were the limit: many windows, more than one day
        assert all(a.status == "done" for a in runs[-1].athletes)
        con = duckdb.connect(str(settings.db_path), read_only=True)
        try:
            for sample in club:
                aid = int(sample.athlete["id"])
                landed = con.execute("select activity_id from raw.activities where athlete_id = ? "
                                     "and deleted_at is null", [aid]).fetchall()
                assert sorted(r[0] for r in landed) == sorted(int(a["id"]) for a in sample.activities)
                with_hr = {int(a["id"]) for a in sample.activities if a.get("has_heartrate")}
                fetched = con.execute("select activity_id, count(*) from raw.stream_fetches f where activity_id in "
                                      "(select unnest(?::bigint[])) group by all", [sorted(with_hr)]).fetchall()
                assert {r[0] for r in fetched} == with_hr and all(r[1] == 1 for r in fetched)
                samples = con.execute("select count(*) from raw.streams where activity_id in "
                                      "(select unnest(?::bigint[]))", [sorted(with_hr)]).fetchone()[0]
                assert samples == sum(len(sample.streams[i]["time"]) for i in with_hr if i in sample.streams)
        finally:
            con.close()
    finally:
        fake.stop()


def test_one_revoked_athlete_does_not_stop_the_others(home, monkeypatch):
    """Through the real CLI: a spent budget stops with exit 75 and each athlete's progress;
    the next window finishes the others, and the revoked athlete fails alone (exit 1)."""
    from pipelines.sync_state import get_state, set_state
    from pipelines.warehouse import connect_writer
    from tests.cli import trainsmart

    club = small_club(3, dt.date.today())
    fake = FakeStrava(athletes=club, scope=SCOPE, read_limit_15min=30)
    try:
        settings, roster = connect(fake, club, monkeypatch)
        fake.deauthorize(athlete_id=club[1].athlete["id"])  # runner-01 revokes trainsmart on Strava

        stopped = trainsmart("sync")
        assert stopped.returncode == 75, stopped.stderr[-3000:]
        lines = stopped.stderr.strip().splitlines()
        assert "budget is spent" in lines[-1] and "left" in lines[-1]
        for key in ("runner-00", "runner-02"):
            assert any(line.strip().startswith(f"{key}: stopped") for line in lines), stopped.stderr[-3000:]
        assert any(line.strip().startswith("runner-01: Strava refused") for line in lines)
        assert fake.rate_limited == 0

        fake.advance_window()  # the next quarter hour, for the local API and for the stored budget
        con = connect_writer(settings.db_path)
        budget = get_state(con, "rate_budget")
        budget["seen_at"] -= 900
        set_state(con, "rate_budget", budget)
        con.close()

        done = trainsmart("sync")
        assert done.returncode == 1, done.stderr[-3000:]
        lines = done.stderr.strip().splitlines()
        assert lines[-1] == "1 of 3 athletes failed (above); the others are synced."
        assert any(line.startswith("Failed: runner-01: ") and "trainsmart auth --athlete runner-01" in line
                   for line in lines)
        con = duckdb.connect(str(settings.db_path), read_only=True)
        try:
            for n, sample in enumerate(club):
                aid = int(sample.athlete["id"])
                landed = {r[0] for r in con.execute("select activity_id from main.activities where athlete_id = ?",
                                                    [aid]).fetchall()}
                assert landed == ({int(a["id"]) for a in sample.activities} if n != 1 else set())
        finally:
            con.close()
        status = trainsmart("status", "--athlete", "runner-01")
        assert status.returncode == 0, status.stderr
        assert "runner-01" in status.stdout and "the last sync failed" in status.stdout
        assert "runner-00" not in status.stdout
        everyone = trainsmart("status").stdout
        assert "runner-00" in everyone and "history listed" in everyone and "the last sync failed" in everyone
    finally:
        fake.stop()
