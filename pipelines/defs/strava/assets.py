"""The Strava landing assets: one sync fills the raw tables the dbt sources read."""


from typing import Optional

import dagster as dg

from pipelines import progress
from pipelines.defs.strava.resources import StravaResource

# Asset keys match the dbt source `strava` (schema raw), so dbt models hang below them.
RAW_TABLES = {
    "activities": "Activity JSON as Strava returned it, one row per source and activity; deletions marked.",
    "streams": "Heart-rate, time, distance, altitude, moving and velocity streams, one row per sample.",
    "stream_fetches": "Which activity streams were fetched, for which version of the activity.",
    "athlete": "The athlete's Strava profile JSON.",
    "athlete_zones": "The athlete's heart-rate zones JSON.",
}


class SyncConfig(dg.Config):
    full: bool = False  # relist every activity (reconciliation) instead of the recent window
    athlete: Optional[str] = None  # a roster athlete's key (club deployment); None: the environment's athlete


@dg.multi_asset(
    specs=[dg.AssetSpec(["strava", name], description=text, group_name="strava", kinds={"python", "duckdb"})
           for name, text in RAW_TABLES.items()],
    name="strava_sync",
    pool="strava",  # one Strava step at a time across runs: the budget is the application's
)
def strava_sync(context: dg.AssetExecutionContext, config: SyncConfig, strava: StravaResource):
    """Pull new, edited and deleted activities and their HR streams within Strava's rate limits."""
    if not strava.configured:
        context.log.warning("STRAVA_CLIENT_ID / STRAVA_CLIENT_SECRET are not set: no API sync "
                            "(export-only athletes import with `trainsmart import-export`).")
        for name in RAW_TABLES:  # nothing new landed; the models downstream still rebuild
            yield dg.MaterializeResult(asset_key=["strava", name],
                                       metadata={"complete": True, "message": "Strava API not configured; nothing synced"})
        return
    from pipelines.strava.sync import run_sync  # stravalib loads in about 1 s: only when a sync runs

    settings = strava.settings()
    say = lambda m: (context.log.info(m), progress.say(m))  # noqa: E731
    from pipelines.roster import load_roster

    roster = load_roster(settings)
    athlete = None
    if config.athlete:
        if roster is None:
            from pipelines.config import ConfigError

            raise ConfigError("--athlete needs a roster: add the athlete first with `trainsmart athletes add KEY`.")
        athlete = roster.get(config.athlete)
    if roster is not None and athlete is None:
        # a club: every roster athlete in one run, round-robin on the application's budget
        from pipelines.strava.club_sync import run_club_sync

        result = run_club_sync(settings, roster, full=config.full, progress=say)
    else:
        result = run_sync(settings, full=config.full, progress=say, lookback_days=settings.lookback_days,
                          reconcile_days=settings.reconcile_days, athlete=athlete)
    metadata = {
        "complete": result.complete,
        "message": result.message,
        "requests": result.requests,
        "pages": result.pages,
        "activities_new": result.activities_new,
        "activities_updated": result.activities_updated,
        "activities_deleted": result.deleted,
        "streams_fetched": result.streams_fetched,
        "stream_samples": result.stream_samples,
        "streams_left": result.streams_left,
        "budget_left_15min": result.budget.get("left_15min"),
        "budget_left_daily": result.budget.get("left_daily"),
    }
    if hasattr(result, "athletes"):  # a club run: one line per athlete, the failed ones named
        metadata["athlete_lines"] = [a.line() for a in result.athletes]
        metadata["athletes_failed"] = [a.line() for a in result.failed]
        _athlete_partitions(context, settings, result.athletes)
    if not result.complete:
        context.log.warning(result.message)
    for name in RAW_TABLES:
        yield dg.MaterializeResult(asset_key=["strava", name], metadata=metadata)


def _athlete_partitions(context: dg.AssetExecutionContext, settings, outcomes: list) -> None:
    """The club run shows in the per-athlete partitions (pipelines/defs/club/): the roster's
    keys become partitions, and each synced athlete's partition a materialization."""
    from pipelines.defs.club.assets import follow_roster

    follow_roster(context.instance, settings)
    for o in outcomes:
        if o.status in ("done", "stopped"):
            context.log_event(dg.AssetMaterialization(
                asset_key=["club", "strava_athlete"], partition=o.key,
                metadata={"complete": o.status == "done", "message": o.line(), "activities_new": o.new,
                          "streams_fetched": o.streams, "streams_left": o.streams_left}))
