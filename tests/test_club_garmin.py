"""A club's Garmin sync: every roster athlete with a `garmin_key_file`, each with their own
Garmin account behind the local Garmin-compatible server (one host, an account per key),
real HTTP, real DuckDB.

What a coach relies on (issue 10): each athlete's activities, FIT streams and wellness land
under their own Garmin id; one athlete's listing never marks another's rows deleted, nor
downloads another's files; a rejected key or a long Retry-After stops only that athlete;
and `trainsmart sync` ends the way the Strava club run does (one line per failed athlete,
the last line summarising), with a Garmin-only athlete's marts under their Garmin id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import stat
import time

import duckdb
import pytest

from pipelines.config import load_settings
from pipelines.garmin.club_sync import run_club_garmin_sync
from pipelines.garmin.sync import BASELINE_DAYS
from pipelines.roster import Athlete, Roster, roster_path, save_roster
from pipelines.sandbox.garmin_server import FakeGarmin, cloned_watch
from pipelines.sync_state import get_state, set_state
from tests.cli import trainsmart

ANNA_KEY, BEN_KEY = "anna-garmin-key", "ben-garmin-key"
BEN_OWNER = 7654321


@pytest.fixture(scope="module")
def watches(short_watch):
    """Anna: the short watch (six weeks). Ben: another account, his last three weeks only, so
    his wellness history starts later than Anna's."""
    ben = cloned_watch(short_watch, BEN_OWNER, id_offset=10**9)
    since = (ben.end_date - dt.timedelta(days=21)).isoformat()
    ben = dataclasses.replace(ben, activities=[a for a in ben.activities if a["startTimeLocal"][:10] >= since])
    return short_watch, ben


@pytest.fixture
def club(home, watches, tmp_path, monkeypatch):
    """One Garmin host with Anna's and Ben's accounts; a roster of Anna, Ben and Dee (no Garmin)."""
    anna_watch, ben_watch = watches
    host = FakeGarmin(anna_watch, api_key="nobody-uses-this-key")  # the accounts below are the athletes'
    accounts = {"anna": host.add_account(anna_watch, ANNA_KEY), "ben": host.add_account(ben_watch, BEN_KEY)}
    monkeypatch.setenv("GARMIN_PERSONAL_API_BASE_URL", host.start())
    monkeypatch.setenv("TRAINSMART_AS_OF", anna_watch.end_date.isoformat())
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "anna").write_text(ANNA_KEY + "\n")
    (keys / "ben").write_text(BEN_KEY)
    settings = load_settings()
    roster = Roster(roster_path(settings), [
        Athlete("anna", "Anna", [], "UTC", garmin_key_file=str(keys / "anna")),
        Athlete("ben", "Ben", [], "UTC", garmin_key_file=str(keys / "ben")),
        Athlete("dee", "Dee", [], "UTC"),  # Strava only: not a Garmin user
    ])
    save_roster(roster)
    yield settings, roster, accounts, keys
    host.stop()


def landed(db_path, owner: int) -> dict:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            "live": {r[0] for r in con.execute("select activity_id from raw.activities where source = 'garmin' "
                                               "and athlete_id = ? and deleted_at is null", [owner]).fetchall()},
            "deleted": {r[0] for r in con.execute("select activity_id from raw.activities where source = 'garmin' "
                                                  "and athlete_id = ? and deleted_at is not null", [owner]).fetchall()},
            "fetched": {r[0] for r in con.execute(
                "select f.activity_id from raw.stream_fetches f join raw.activities a using (source, activity_id) "
                "where a.source = 'garmin' and a.athlete_id = ?", [owner]).fetchall()},
            "wellness": {(kind, str(day)) for kind, day in con.execute(
                "select kind, calendar_date from raw.garmin_wellness where owner_id = ?", [owner]).fetchall()},
        }
    finally:
        con.close()


def expected_wellness(watch) -> set[tuple[str, str]]:
    """(kind, day) the account holds from BASELINE_DAYS before its own first activity to its today."""
    start = min(dt.date.fromisoformat(a["startTimeLocal"][:10]) for a in watch.activities)
    start -= dt.timedelta(days=BASELINE_DAYS)
    out = set()
    for kind, days in (("hrv", watch.hrv), ("sleep", watch.sleep), ("daily_summary", watch.daily)):
        for day, obj in days.items():
            if start <= dt.date.fromisoformat(day) <= watch.end_date and not (
                    kind == "sleep" and obj.get("sleepTimeSeconds") is None and obj.get("deepSleepSeconds") is None):
                out.add((kind, day))
    return out


def _ids(watch) -> set[int]:
    return {int(a["activityId"]) for a in watch.activities}


def _with_hr(watch) -> set[int]:
    return {int(a["activityId"]) for a in watch.activities if "averageHR" in a}


def test_each_athlete_lands_their_own_account_and_never_touches_another(club, watches):
    settings, roster, accounts, _ = club
    anna_watch, ben_watch = watches
    assert _ids(anna_watch).isdisjoint(_ids(ben_watch)) and anna_watch.owner_id != BEN_OWNER

    result = run_club_garmin_sync(settings, roster)
    assert result.complete, result.message
    assert [(a.key, a.status) for a in result.athletes] == [("anna", "done"), ("ben", "done")]
    assert result.without_key == ["dee"] and not result.failed
    assert result.message == "Garmin sync complete for 2 of 2 athletes"
    for watch in (anna_watch, ben_watch):
        got = landed(settings.db_path, watch.owner_id)
        assert got["live"] == _ids(watch) and not got["deleted"]
        assert got["fetched"] == _with_hr(watch)
        # each athlete's wellness history starts from their own first activity, not the club's
        assert got["wellness"] == expected_wellness(watch)
    assert result.activities_new == len(_ids(anna_watch)) + len(_ids(ben_watch))

    # each athlete's own token cache (0600), staging folder and sync state
    for key in ("anna", "ben"):
        athlete_home = roster.get(key).home(settings)
        assert stat.S_IMODE(os.stat(athlete_home / "garmin_token.json").st_mode) == 0o600
        assert (athlete_home / "garmin" / "downloads").is_dir()
    assert not settings.garmin_token_file.exists()
    con = duckdb.connect(str(settings.db_path))
    try:
        keys = [k for k, in con.execute("select key from raw.sync_state where key like '%garmin%'").fetchall()]
        assert keys and all(k.startswith(("athlete/anna/", "athlete/ben/")) for k in keys), keys
        assert get_state(con, "athlete/anna/garmin_owner_id") == anna_watch.owner_id
        assert get_state(con, "athlete/ben/garmin_owner_id") == BEN_OWNER
    finally:
        con.close()

    # Anna's FIT files are due again (as after a stop); a run of Ben alone leaves them to her
    con = duckdb.connect(str(settings.db_path))
    con.execute("delete from raw.stream_fetches where activity_id in (select unnest(?::bigint[]))",
                [sorted(_with_hr(anna_watch))])
    con.close()
    accounts["ben"].reset_log()
    ben_alone = run_club_garmin_sync(settings, Roster(roster.path, [roster.get("ben")]))
    assert ben_alone.complete and ben_alone.files_left == 0 and ben_alone.deleted == 0, ben_alone.message
    assert accounts["ben"].count("download") == 0 and accounts["ben"].count("activity") == 0
    assert landed(settings.db_path, anna_watch.owner_id)["live"] == _ids(anna_watch)

    # Ben deletes one activity; a reconciliation of everyone marks exactly that one deleted
    gone = sorted(_ids(ben_watch))[len(_ids(ben_watch)) // 2]
    accounts["ben"].delete_activity(gone)
    again = run_club_garmin_sync(settings, roster, full=True)
    assert again.complete and again.deleted == 1 and again.activities_new == 0, again.message
    assert [a.files for a in again.athletes] == [len(_with_hr(anna_watch)), 0]  # Anna's own files, with her key
    assert landed(settings.db_path, BEN_OWNER)["deleted"] == {gone}
    assert landed(settings.db_path, anna_watch.owner_id)["live"] == _ids(anna_watch)


def test_a_rejected_key_or_a_long_retry_after_stops_only_that_athlete(club, watches):
    settings, roster, accounts, keys = club
    anna_watch, ben_watch = watches
    (keys / "anna").write_text("an-expired-key")  # Anna's key was replaced on Garmin's site
    roster.athletes.insert(1, Athlete("cy", "Cy", [], "UTC", garmin_key_file=str(keys / "cy")))  # no such file

    result = run_club_garmin_sync(settings, roster)
    assert result.complete, result.message  # nothing stopped early: the failures are the athletes' own
    assert [(a.key, a.status) for a in result.athletes] == [("anna", "failed"), ("cy", "failed"), ("ben", "done")]
    anna, cy, _ = result.athletes
    assert anna.line().startswith("anna: Garmin rejected anna's Personal API key") and str(keys / "anna") in anna.line()
    assert cy.line().startswith("cy: The Garmin key file of athlete cy") and str(keys / "cy") in cy.line()
    assert result.message == "Garmin sync complete for 1 of 3 athletes (2 failed)"
    assert landed(settings.db_path, BEN_OWNER)["live"] == _ids(ben_watch)
    assert not landed(settings.db_path, anna_watch.owner_id)["live"]

    # Anna's new key works; Garmin then asks her (only her) to wait an hour
    (keys / "anna").write_text(ANNA_KEY)
    roster.athletes.pop(1)
    accounts["anna"].throttle_next(1, retry_after=3600)
    stopped = run_club_garmin_sync(settings, roster)
    assert not stopped.complete
    assert [(a.key, a.status) for a in stopped.athletes] == [("anna", "stopped"), ("ben", "done")]
    assert stopped.message.startswith("Garmin stopped early for anna (Garmin asked to wait 3600 s")
    assert "1 of 2 athletes have work left" in stopped.message
    con = duckdb.connect(str(settings.db_path))
    try:
        assert get_state(con, "athlete/anna/garmin_not_before") > time.time() + 3000
        assert get_state(con, "athlete/ben/garmin_not_before") is None
        assert con.execute("select status from raw.sync_runs order by started_at desc limit 1").fetchone() == ("partial",)
    finally:
        con.close()

    # within the hour nothing is sent for Anna; later her run goes on to the end
    accounts["anna"].reset_log()
    waiting = run_club_garmin_sync(settings, roster)
    assert waiting.athletes[0].status == "stopped" and accounts["anna"].count() == 0
    con = duckdb.connect(str(settings.db_path))
    set_state(con, "athlete/anna/garmin_not_before", time.time() - 1)
    con.close()
    done = run_club_garmin_sync(settings, roster)
    assert done.complete and [a.status for a in done.athletes] == ["done", "done"], done.message
    got = landed(settings.db_path, anna_watch.owner_id)
    assert got["live"] == _ids(anna_watch) and got["fetched"] == _with_hr(anna_watch)
    assert got["wellness"] == expected_wellness(anna_watch)


def test_trainsmart_sync_of_a_club_with_one_rejected_garmin_key(club, watches):
    """The real CLI: Strava is not configured, Anna's key is rejected, Ben is a Garmin-only
    athlete: exit 1 naming Anna, Ben's marts under his Garmin id."""
    settings, roster, _, keys = club
    _, ben_watch = watches
    (keys / "anna").write_text("an-expired-key")

    run = trainsmart("sync")
    assert run.returncode == 1, run.stderr[-3000:]
    lines = run.stderr.strip().splitlines()
    assert lines[-1] == "1 of 2 athletes failed (above); the others are synced.", run.stderr[-3000:]
    assert any(line.startswith("Failed: anna: Garmin rejected anna's Personal API key") for line in lines)
    assert any(line.strip().startswith("ben: Garmin done, ") for line in lines)
    assert not any("Garmin skipped" in line for line in lines)

    # status: Anna's failure with its message, Ben's landed Garmin data (also for one athlete)
    status = trainsmart("status")
    assert status.returncode == 0, status.stderr
    garmin_lines = {line.split()[0]: line.split(None, 1)[1] for line in status.stdout.splitlines()
                    if line.startswith("  ") and " Garmin" in line}
    assert garmin_lines["anna"].startswith("Garmin: the last sync failed (") \
        and "Garmin rejected anna's Personal API key" in garmin_lines["anna"], status.stdout
    ben_live = len({a["activityId"] for a in ben_watch.activities})
    assert garmin_lines["ben"] == (f"Garmin {BEN_OWNER}: {ben_live} activities, wellness to "
                                   f"{ben_watch.end_date.isoformat()}, 0 FIT files left"), status.stdout
    one = trainsmart("status", "--athlete", "ben")
    assert f"Garmin {BEN_OWNER}: {ben_live} activities" in one.stdout and "anna" not in one.stdout, one.stdout

    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    try:
        assert con.execute("select athlete_id, garmin_owner_id from raw.athlete_profiles").fetchall() == [
            (BEN_OWNER, BEN_OWNER)]  # a Garmin-only athlete: their Garmin id is their athlete id
        in_scope = {int(a["activityId"]) for a in ben_watch.activities
                    if a["startTimeLocal"][:10] <= ben_watch.end_date.isoformat()}
        got = con.execute("select athlete_id, activity_id from main.activities").fetchall()
        assert {r[0] for r in got} == {BEN_OWNER} and {r[1] for r in got} == in_scope
        assert {r[0] for r in con.execute("select distinct athlete_id from main.daily_wellness").fetchall()} == {
            BEN_OWNER}
    finally:
        con.close()


def _materialize_garmin(config: dict) -> dict:
    """The garmin_sync asset in process, as `sync` configures it; its metadata as plain values."""
    import dagster as dg

    from pipelines.defs.garmin.assets import garmin_sync
    from pipelines.defs.garmin.resources import GarminResource

    result = dg.materialize([garmin_sync], resources={"garmin": GarminResource()},
                            run_config={"ops": {"garmin_sync": {"config": config}}},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    events = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    meta = next(m.metadata for m in events if m.asset_key.to_user_string() == "garmin/activities")
    return {k: v.value for k, v in meta.items()}


def test_the_garmin_asset_runs_the_club_or_one_athlete(club, watches):
    """`sync` runs garmin_sync with the club (no athlete) or `--athlete KEY`; an athlete
    without a garmin_key_file is skipped with one line."""
    settings, _, accounts, keys = club
    (keys / "anna").write_text("an-expired-key")
    meta = _materialize_garmin({"full": False})
    assert meta["complete"] is True and meta["configured"] is True
    assert [line.split(",")[0] for line in meta["athlete_lines"]] == [
        "anna: Garmin rejected anna's Personal API key (keys expire after the 30 to 365 days chosen when they "
        "were created", "ben: Garmin done"]
    assert meta["athletes_failed"] == meta["athlete_lines"][:1]

    accounts["ben"].reset_log()
    one = _materialize_garmin({"full": False, "athlete": "ben"})
    assert one["complete"] is True and one["activities_new"] == 0 and "athlete_lines" not in one
    assert accounts["ben"].count("activities") == 1 and accounts["anna"].count() == 0
    skipped = _materialize_garmin({"full": False, "athlete": "dee"})
    assert skipped["configured"] is False and skipped["message"].startswith("Garmin skipped for dee: no garmin_key_file")


def test_an_athlete_partition_syncs_that_athletes_garmin_only(club, watches):
    """The UI's per-athlete Garmin backfill: partition `ben` of club/garmin_athlete lands Ben's
    account and sends nothing to Anna's; Anna's rejected key fails her partition with her line
    and leaves it in `status`; Dee (no Garmin) materializes as not configured."""
    import dagster as dg

    from pipelines.defs.club.assets import athletes, garmin_athlete
    from pipelines.defs.garmin.resources import GarminResource
    from pipelines.status import print_status

    settings, _, accounts, keys = club
    _, ben_watch = watches
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(athletes.name, ["anna", "ben", "dee"])

    def materialize(key: str):
        return dg.materialize([garmin_athlete], partition_key=key, resources={"garmin": GarminResource()},
                              instance=instance, raise_on_error=False)

    ben = materialize("ben")
    assert ben.success
    meta = {k: v.value for k, v in ben.get_asset_materialization_events()[0].event_specific_data
            .materialization.metadata.items()}
    assert meta["complete"] is True and meta["activities_new"] == len(_ids(ben_watch))
    assert landed(settings.db_path, BEN_OWNER)["live"] == _ids(ben_watch) and accounts["anna"].count() == 0

    (keys / "anna").write_text("an-expired-key")
    anna = materialize("anna")
    assert not anna.success
    failure = next(e for e in anna.all_events if e.event_type_value == "STEP_FAILURE")
    assert "anna: Garmin rejected anna's Personal API key" in failure.event_specific_data.error.message
    out = io.StringIO()
    print_status(settings, out=out, athlete_key="anna")
    assert "Garmin: the last sync failed" in out.getvalue(), out.getvalue()

    dee = materialize("dee")
    assert dee.success
    assert dee.get_asset_materialization_events()[0].event_specific_data.materialization.metadata[
        "configured"].value is False
