"""Athletes as Dagster partitions (club deployments): the `athletes` partitions follow the
roster, a per-athlete run (what a backfill from the UI launches) syncs only that athlete,
a club sync marks each athlete's partition, and Strava steps share one pool of limit 1."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.roster import Athlete, load_roster, save_roster
from pipelines.runner import cli_instance, prepare_environment, run_job
from pipelines.sandbox.demo import LAND_ONLY
from pipelines.sandbox.strava_server import FakeStrava
from tests.test_club_sync import SCOPE, connect, small_club


def landed_athletes(settings) -> dict[int, int]:
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        return dict(con.execute("select athlete_id, count(*) from raw.activities group by all").fetchall())
    finally:
        con.close()


@pytest.fixture
def two_athletes(home, monkeypatch):
    """Two connected roster athletes on a local Strava application with room in its limits."""
    club = small_club(2, dt.date.today())
    fake = FakeStrava(athletes=club, scope=SCOPE, read_limit_15min=5000, read_limit_daily=50000,
                      overall_limit_15min=10000, overall_limit_daily=100000)
    try:
        settings, _ = connect(fake, club, monkeypatch)
        yield club, settings
    finally:
        fake.stop()


def test_athlete_partitions_follow_the_roster_and_sync_one_athlete(two_athletes):
    from pipelines.defs.club.assets import athletes, follow_roster, roster_partition_changes
    from pipelines.definitions import defs

    club, settings = two_athletes
    prepare_environment(settings)
    with cli_instance(settings) as instance:
        follow_roster(instance, settings)
        assert instance.get_dynamic_partitions(athletes.name) == ["runner-00", "runner-01"]
        # one pool for every Strava step, of limit 1 (dagster.yaml under TRAINSMART_HOME)
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    graph = defs.resolve_asset_graph()
    pools = {key.to_user_string(): graph.get(key).assets_def.op.pool for key in graph.get_all_asset_keys()
             if key.path[0] in ("strava", "garmin", "club")}
    assert {pools[k] for k in pools if k.startswith("strava/")} | {pools["club/strava_athlete"]} == {"strava"}
    assert {pools[k] for k in pools if k.startswith("garmin/")} | {pools["club/garmin_athlete"]} == {"garmin"}

    # a per-athlete run (one partition of a UI backfill) syncs that athlete only
    outcome = run_job(settings, "athlete_sync", partition_key="runner-01")
    assert outcome.success, outcome.error
    assert landed_athletes(settings) == {int(club[1].athlete["id"]): len(club[1].activities)}

    # a removed athlete's partition goes; a new one comes
    roster = load_roster(settings)
    roster.athletes = [roster.athletes[1], Athlete("newcomer", "Newcomer", [], "UTC")]
    save_roster(roster)
    with cli_instance(settings) as instance:
        assert roster_partition_changes(instance, settings) == (["newcomer"], ["runner-00"])
        follow_roster(instance, settings)
        assert sorted(instance.get_dynamic_partitions(athletes.name)) == ["newcomer", "runner-01"]


def test_a_club_sync_marks_each_athletes_partition(two_athletes):
    from dagster import AssetKey

    club, settings = two_athletes
    outcome = run_job(settings, "sync_and_build", run_config={"ops": {  # landing only: no dbt build
        "strava_sync": {"config": {"full": False}}, "garmin_sync": {"config": {"full": False, "skip": True}},
        **LAND_ONLY}})
    assert outcome.success, outcome.error
    assert landed_athletes(settings) == {int(s.athlete["id"]): len(s.activities) for s in club}
    with cli_instance(settings) as instance:
        assert sorted(instance.get_dynamic_partitions("athletes")) == ["runner-00", "runner-01"]
        marked = instance.get_materialized_partitions(AssetKey(["club", "strava_athlete"]))
        assert marked == {"runner-00", "runner-01"}

