"""The roster of a club deployment (athletes.toml) through the real CLI: add, list, remove,
the checks on a hand-edited file, and connecting an athlete's Strava account headless."""

from __future__ import annotations

import json
import stat

import pytest

from pipelines.config import load_settings
from pipelines.roster import load_roster, roster_path
from tests.cli import trainsmart


def last_line(done) -> str:
    return done.stderr.strip().splitlines()[-1]


def test_without_a_roster_there_is_one_athlete_from_the_environment(home):
    done = trainsmart("athletes", "list")
    assert done.returncode == 0 and "No roster" in done.stderr
    assert load_roster(load_settings()) is None


def test_add_list_remove(home):
    added = trainsmart("athletes", "add", "anna-m", "--name", "Anna M", "--timezone", "Europe/Zurich",
                       "--report-to", "anna@example.org, coach@example.org")
    assert added.returncode == 0, added.stderr
    assert trainsmart("athletes", "add", "ben", "--name", "Ben").returncode == 0
    roster = load_roster(load_settings())
    assert [a.key for a in roster.athletes] == ["anna-m", "ben"]
    anna = roster.get("anna-m")
    assert (anna.name, anna.timezone, anna.report_to) == ("Anna M", "Europe/Zurich",
                                                           ["anna@example.org", "coach@example.org"])
    listed = trainsmart("athletes", "list")
    assert listed.returncode == 0
    assert "anna-m" in listed.stdout and "Strava not authorized" in listed.stdout and "ben" in listed.stdout

    again = trainsmart("athletes", "add", "ben")
    assert again.returncode == 2 and "already in the roster" in last_line(again)
    assert trainsmart("athletes", "remove", "ben").returncode == 0
    assert [a.key for a in load_roster(load_settings()).athletes] == ["anna-m"]
    missing = trainsmart("athletes", "remove", "ben")
    assert missing.returncode == 2 and "No athlete 'ben'" in last_line(missing)


@pytest.mark.parametrize("body, complaint", [
    ('[[athlete]]\nkey = "Anna M"\nname = "A"\ntimezone = "UTC"\n', "must be a slug"),
    ('[[athlete]]\nkey = "a"\nname = "A"\ntimezone = "Mars/Olympus"\n', "not an IANA zone"),
    ('[[athlete]]\nkey = "a"\nname = "A"\ntimezone = "UTC"\nreport_to = ["not-an-address"]\n', "email addresses"),
    ('[[athlete]]\nkey = "a"\nname = "A"\ntimezone = "UTC"\nhr_max = "high"\n', "positive whole number"),
    ('[[athlete]]\nkey = "a"\nname = "A"\ntimezone = "UTC"\nfavourite = 1\n', "unknown fields: favourite"),
    ('[[athlete]]\nkey = "a"\nname = "A"\ntimezone = "UTC"\n[[athlete]]\nkey = "a"\nname = "B"\ntimezone = "UTC"\n',
     "twice"),
    ('[[athlete]\n', "not valid TOML"),
])
def test_a_hand_edited_roster_with_a_mistake_is_one_plain_line(home, body, complaint):
    path = roster_path(load_settings())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    done = trainsmart("athletes", "list")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert complaint in last_line(done) and str(path) in last_line(done)


def test_the_roster_file_can_live_elsewhere(home, tmp_path, monkeypatch):
    elsewhere = tmp_path / "club" / "athletes.toml"
    monkeypatch.setenv("TRAINSMART_ATHLETES", str(elsewhere))
    assert trainsmart("athletes", "add", "cara", "--name", "Cara").returncode == 0
    assert elsewhere.exists() and "cara" in elsewhere.read_text()


def test_connect_an_athletes_strava_account_without_a_browser(make_fake, small_athlete, monkeypatch):
    fake = make_fake(small_athlete)
    monkeypatch.delenv("STRAVA_REFRESH_TOKEN")
    assert trainsmart("athletes", "add", "lea", "--name", "Lea").returncode == 0
    assert trainsmart("athletes", "add", "max", "--name", "Max").returncode == 0
    unknown = trainsmart("auth", "--athlete", "zoe", "--refresh-token", "x")
    assert unknown.returncode == 2 and "No athlete 'zoe'" in last_line(unknown)

    done = trainsmart("auth", "--athlete", "lea", "--refresh-token", fake.current_refresh_token)
    assert done.returncode == 0, done.stderr
    settings = load_settings()
    lea = load_roster(settings).get("lea")
    assert lea.strava_athlete_id == small_athlete.athlete["id"]
    token_file = lea.strava_token_file(settings)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert json.loads(token_file.read_text())["athlete_id"] == small_athlete.athlete["id"]
    assert fake.current_refresh_token not in done.stderr + done.stdout

    # the same Strava account cannot be two athletes
    clash = trainsmart("auth", "--athlete", "max", "--refresh-token", fake.current_refresh_token)
    assert clash.returncode == 2 and "already connected as 'lea'" in last_line(clash)
    assert not load_roster(settings).get("max").strava_token_file(settings).exists()

    refused = trainsmart("auth", "--athlete", "max", "--refresh-token", "revoked-or-made-up")
    assert refused.returncode == 1 and "refused that refresh token" in last_line(refused)


def test_an_unreviewed_application_cannot_connect_one_more_athlete(make_fake, small_athlete, monkeypatch):
    """Strava connects only the owner's athlete until it has reviewed the application: the
    code exchange for one more gets 403 'Limit of connected athletes exceeded'."""
    import os
    import subprocess
    import sys
    import time

    import requests

    make_fake(small_athlete, athlete_capacity=1, other_athletes_connected=1, connected=False)
    monkeypatch.delenv("STRAVA_REFRESH_TOKEN")
    assert trainsmart("athletes", "add", "lea", "--name", "Lea").returncode == 0
    port = 19000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "auth", "--athlete", "lea", "--no-browser",
                             "--port", str(port)], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    for _ in range(50):  # the athlete clicks "Authorize"; Strava redirects to the local one-shot server
        try:
            requests.get(url, timeout=10)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    assert proc.wait(timeout=30) == 1
    last = proc.stderr.read().strip().splitlines()[-1]
    assert "only its own athlete until Strava has reviewed it" in last and "Traceback" not in last
    assert not load_roster(load_settings()).get("lea").strava_token_file(load_settings()).exists()


def test_sync_one_roster_athlete(make_fake, small_athlete, monkeypatch):
    """`sync --athlete KEY` syncs that athlete with their own token into the shared database."""
    fake = make_fake(small_athlete)
    monkeypatch.delenv("STRAVA_REFRESH_TOKEN")
    assert trainsmart("athletes", "add", "lea", "--name", "Lea").returncode == 0
    assert trainsmart("auth", "--athlete", "lea", "--refresh-token", fake.current_refresh_token).returncode == 0
    unknown = trainsmart("sync", "--athlete", "zoe")
    assert unknown.returncode == 2 and "No athlete 'zoe'" in last_line(unknown)

    done = trainsmart("sync", "--athlete", "lea")
    assert done.returncode == 0, done.stderr[-3000:]
    settings = load_settings()
    assert not settings.token_file.exists()  # the environment's athlete was not touched
    import duckdb

    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    try:
        ids = con.execute("select distinct athlete_id from main.activities").fetchall()
        n = con.execute("select count(*) from main.activities").fetchone()[0]
        keys = {k for (k,) in con.execute("select key from raw.sync_state").fetchall()}
    finally:
        con.close()
    assert ids == [(small_athlete.athlete["id"],)] and n == len(fake.activities())
    assert "athlete/lea/last_full_listing_at" in keys and "last_full_listing_at" not in keys


def test_two_roster_athletes_of_one_application_never_touch_each_other(home, tmp_path, monkeypatch):
    """Per-athlete syncs share the application's budget but list, delete and stream only their own."""
    import datetime as dt

    import duckdb

    from pipelines.roster import Athlete, Roster, roster_path, save_roster
    from pipelines.sandbox.strava_server import FakeStrava, club_athletes
    from pipelines.strava.auth import store_refresh_token
    from pipelines.strava.sync import run_sync

    lea, nico = club_athletes(2, dt.date(2026, 11, 22), years=0.25)
    fake = FakeStrava(athletes=[lea, nico], scope="read,activity:read_all,profile:read_all",
                      read_limit_15min=5000, read_limit_daily=50000, overall_limit_15min=10000,
                      overall_limit_daily=100000)
    monkeypatch.setenv("STRAVA_BASE_URL", fake.start())
    monkeypatch.setenv("STRAVA_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("STRAVA_CLIENT_SECRET", fake.client_secret)
    try:
        settings = load_settings()
        roster = Roster(roster_path(settings), [Athlete("lea", "Lea", [], "UTC"), Athlete("nico", "Nico", [], "UTC")])
        for member, sample in zip(roster.athletes, (lea, nico)):
            token = store_refresh_token(settings, fake.refresh_token_of(sample.athlete["id"]),
                                        member.strava_token_file(settings))
            member.strava_athlete_id = token.athlete_id
        save_roster(roster)

        def landed(athlete_id: int) -> set[int]:
            con = duckdb.connect(str(settings.db_path), read_only=True)
            try:
                return {r[0] for r in con.execute("select activity_id from raw.activities where athlete_id = ? "
                                                  "and deleted_at is null", [athlete_id]).fetchall()}
            finally:
                con.close()

        for member in roster.athletes:
            assert run_sync(settings, athlete=member).complete
        for sample in (lea, nico):
            aid = sample.athlete["id"]
            assert landed(aid) == {int(a["id"]) for a in fake.activities(athlete_id=aid)}
            assert fake.api_request_count(athlete_id=aid) > 0

        # one of Lea's activities goes; Nico's full relist must not mark it, Lea's does
        gone = int(fake.activities(athlete_id=lea.athlete["id"])[0]["id"])
        fake.delete_activity(gone, athlete_id=lea.athlete["id"])
        assert run_sync(settings, athlete=roster.get("nico"), full=True).complete
        assert gone in landed(lea.athlete["id"])
        assert run_sync(settings, athlete=roster.get("lea"), full=True).complete
        assert gone not in landed(lea.athlete["id"])
        assert landed(nico.athlete["id"]) == {int(a["id"]) for a in fake.activities(athlete_id=nico.athlete["id"])}
    finally:
        fake.stop()
