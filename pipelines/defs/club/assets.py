"""Athletes as a dynamic partition (club deployments): one partition per roster athlete.

The nightly job syncs the whole club in one run (`strava_sync`, round-robin on the
application's budget, pipelines/strava/club_sync.py) and then builds the models once.
These partitioned assets are the per-athlete handles beside it, one for Strava and one for
Garmin: the UI shows which athletes synced when, and a backfill of chosen partitions
re-syncs just those athletes (with `full: true`, their whole history). Every Strava step
runs in the pool `strava`, whose limit of 1 (TRAINSMART_HOME/dagster/dagster.yaml) keeps
two runs from spending the one budget at the same time; Garmin's run in the pool `garmin`
(Garmin wants one request at a time).
"""

import dagster as dg

from pipelines import progress
from pipelines.defs.garmin.resources import GarminResource
from pipelines.defs.strava.resources import StravaResource

athletes = dg.DynamicPartitionsDefinition(name="athletes")
STRAVA_POOL = "strava"
GARMIN_POOL = "garmin"


class AthleteSyncConfig(dg.Config):
    full: bool = False  # relist the athlete's whole history instead of the recent window


def _partition_athlete(context: dg.AssetExecutionContext, settings):
    """The roster and the athlete of this partition (a failure without a roster)."""
    from pipelines.roster import load_roster

    roster = load_roster(settings)
    if roster is None:
        raise dg.Failure("No roster: athlete partitions belong to a club deployment (athletes.toml).")
    return roster, roster.get(context.partition_key)


def _progress(context: dg.AssetExecutionContext):
    return lambda message: (context.log.info(message), progress.say(message))


@dg.asset(key=["club", "strava_athlete"], partitions_def=athletes, pool=STRAVA_POOL, group_name="club",
          kinds={"python", "duckdb"},
          description="One roster athlete's Strava sync (partition = the athlete's key in athletes.toml).")
def strava_athlete(context: dg.AssetExecutionContext, config: AthleteSyncConfig,
                   strava: StravaResource) -> dg.MaterializeResult:
    from pipelines.strava.sync import run_sync

    settings = strava.settings()
    _, athlete = _partition_athlete(context, settings)
    result = run_sync(settings, full=config.full, athlete=athlete, lookback_days=settings.lookback_days,
                      reconcile_days=settings.reconcile_days, progress=_progress(context))
    return dg.MaterializeResult(metadata={
        "complete": result.complete, "message": result.message, "requests": result.requests,
        "activities_new": result.activities_new, "streams_fetched": result.streams_fetched,
        "streams_left": result.streams_left})


@dg.asset(key=["club", "garmin_athlete"], partitions_def=athletes, pool=GARMIN_POOL, group_name="club",
          kinds={"python", "duckdb"},
          description="One roster athlete's Garmin sync with their own key (partition = the athlete's key).")
def garmin_athlete(context: dg.AssetExecutionContext, config: AthleteSyncConfig,
                   garmin: GarminResource) -> dg.MaterializeResult:
    from pipelines.garmin.club_sync import run_club_garmin_sync
    from pipelines.roster import Roster

    settings = garmin.settings()
    roster, athlete = _partition_athlete(context, settings)
    if not athlete.garmin_key_file:
        context.log.info(f"{athlete.key} has no garmin_key_file: nothing to sync from Garmin")
        return dg.MaterializeResult(metadata={"configured": False})
    # the club run of just this athlete: their failure is recorded for `trainsmart status` as in the nightly run
    result = run_club_garmin_sync(settings, Roster(roster.path, [athlete], roster.coach_report_to), full=config.full,
                                  progress=_progress(context))
    if result.failed:
        raise dg.Failure(description=result.failed[0].line())
    return dg.MaterializeResult(metadata={
        "complete": result.complete, "message": result.message, "requests": result.requests,
        "activities_new": result.activities_new, "files_fetched": result.files_fetched,
        "files_left": result.files_left, "last_wellness_day": result.last_wellness_day or ""})


athlete_sync_job = dg.define_asset_job(
    "athlete_sync", selection=dg.AssetSelection.assets(strava_athlete), partitions_def=athletes,
    description="Sync chosen roster athletes from Strava (a backfill of the `athletes` partitions); "
                "`trainsmart build` or the next nightly run builds the models.")

athlete_garmin_sync_job = dg.define_asset_job(
    "athlete_garmin_sync", selection=dg.AssetSelection.assets(garmin_athlete), partitions_def=athletes,
    description="Sync chosen roster athletes from Garmin, each with their own key (a backfill of the "
                "`athletes` partitions, one at a time in the pool `garmin`).")


@dg.sensor(name="roster_partitions", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Keeps the `athletes` partitions equal to the roster's keys (athletes.toml).")
def roster_partitions(context: dg.SensorEvaluationContext):
    from pipelines.config import load_settings

    added, gone = roster_partition_changes(context.instance, load_settings())
    if not (added or gone):
        return dg.SkipReason("the athlete partitions match the roster")
    return dg.SensorResult(dynamic_partitions_requests=(
        [athletes.build_add_request(added)] if added else []) + ([athletes.build_delete_request(gone)] if gone else []))


def roster_partition_changes(instance, settings) -> tuple[list[str], list[str]]:
    """The keys to add to and delete from the `athletes` partitions so they equal the roster."""
    from pipelines.roster import load_roster

    roster = load_roster(settings)
    want = [a.key for a in roster.athletes] if roster else []
    have = set(instance.get_dynamic_partitions(athletes.name))
    return [k for k in want if k not in have], sorted(have - set(want))


def follow_roster(instance, settings) -> None:
    """Apply the roster to the `athletes` partitions now (the club sync does, without the daemon)."""
    added, gone = roster_partition_changes(instance, settings)
    if added:
        instance.add_dynamic_partitions(athletes.name, added)
    for key in gone:
        instance.delete_dynamic_partition(athletes.name, key)


defs = dg.Definitions(assets=[strava_athlete, garmin_athlete], jobs=[athlete_sync_job, athlete_garmin_sync_job],
                      sensors=[roster_partitions])
