"""The Garmin Connect landing assets, beside Strava's: raw landing only, their own group.

Without a roster: the one athlete of the environment (GARMIN_PERSONAL_API_KEY or Garmin's
key file). With a roster (club deployment): every athlete with a `garmin_key_file`, one
after the other (pipelines/garmin/club_sync.py), or the one athlete of `athlete`.
"""

from typing import Optional

import dagster as dg

from pipelines import progress
from pipelines.defs.garmin.resources import GarminResource
from pipelines.garmin.errors import GarminError

# Asset keys match the dbt source `garmin` (schema raw), so dbt models hang below them.
RAW_TABLES = {
    "activities": "Garmin activity JSON as Garmin returned it (raw.activities, source 'garmin'); deletions marked.",
    "streams": "Heart-rate (and distance, altitude) samples parsed from each activity's original FIT file.",
    "wellness": "HRV, sleep and daily summaries, one row per calendar day and kind, as Garmin sent them.",
}
# Imported with the definitions so the runner knows the class name and keeps only its sentence.
USER_ERRORS = (GarminError,)
NOT_CONFIGURED = ("Garmin skipped: no Personal API key (set GARMIN_PERSONAL_API_KEY or write the key to "
                  "~/.config/garmin/connect-personal-api-key)")


class GarminSyncConfig(dg.Config):
    full: bool = False  # relist every activity (reconciliation) instead of the recent window
    skip: bool = False  # leave Garmin out of this run
    athlete: Optional[str] = None  # a roster athlete's key (club deployment); None: the club, or the environment's athlete


@dg.multi_asset(
    specs=[dg.AssetSpec(["garmin", name], description=text, group_name="garmin", kinds={"python", "duckdb"})
           for name, text in RAW_TABLES.items()],
    name="garmin_sync",
    pool="garmin",  # Garmin: one request at a time per key, and one sync at a time
)
def garmin_sync(context: dg.AssetExecutionContext, config: GarminSyncConfig, garmin: GarminResource):
    """Pull new, edited and deleted activities, their FIT files and the wellness days, one request at a time."""
    from pipelines.garmin.club_sync import garmin_source
    from pipelines.roster import load_roster

    settings = garmin.settings()
    roster = load_roster(settings)
    if config.athlete and roster is None:
        from pipelines.config import ConfigError

        raise ConfigError("--athlete needs a roster: add the athlete first with `trainsmart athletes add KEY`.")
    configured, skipped = (garmin.configured, NOT_CONFIGURED) if roster is None else garmin_source(settings, config.athlete)
    if config.skip or not configured:
        context.log.info(skipped if not config.skip else "Garmin skipped for this run")
        for name in RAW_TABLES:
            yield dg.MaterializeResult(asset_key=["garmin", name],
                                       metadata={"complete": True, "configured": False, "message": skipped})
        return
    from pipelines.garmin.sync import run_garmin_sync

    say = lambda m: (context.log.info(m), progress.say(m))  # noqa: E731
    if roster is not None and not config.athlete:
        # a club: every athlete with a Garmin key, one after the other, their failures their own
        from pipelines.garmin.club_sync import run_club_garmin_sync

        result = run_club_garmin_sync(settings, roster, full=config.full, progress=say)
    else:
        result = run_garmin_sync(settings, full=config.full, progress=say, lookback_days=settings.lookback_days,
                                 reconcile_days=settings.reconcile_days,
                                 athlete=roster.get(config.athlete) if config.athlete else None)
    metadata = {
        "configured": True,
        "complete": result.complete,
        "message": result.message,
        "requests": result.requests,
        "pages": result.pages,
        "activities_new": result.activities_new,
        "activities_updated": result.activities_updated,
        "activities_deleted": result.deleted,
        "files_fetched": result.files_fetched,
        "stream_samples": result.stream_samples,
        "files_left": result.files_left,
        "files_unreadable": "; ".join(result.files_unreadable),
        "wellness_requests": result.wellness_requests,
        "wellness_days": sum(result.wellness_days.values()),
        "last_wellness_day": result.last_wellness_day or "",
    }
    if hasattr(result, "athletes"):  # a club run: one line per athlete, the failed ones named
        metadata["athlete_lines"] = [a.line() for a in result.athletes]
        metadata["athletes_failed"] = [a.line() for a in result.failed]
    if not result.complete:
        context.log.warning(result.message)
    for name in RAW_TABLES:
        yield dg.MaterializeResult(asset_key=["garmin", name], metadata=metadata)
