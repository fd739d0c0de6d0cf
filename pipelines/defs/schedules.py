"""What runs unattended: the nightly sync and the Monday report, in the athlete's time zone,
a first backfill continued every quarter hour while the daily budget lasts, Strava's
webhook events applied within a minute, and a short email when a run fails (if SMTP is
configured)."""

import dagster as dg

from pipelines.athlete import athlete_timezone
from pipelines.config import load_settings
from pipelines.defs.jobs import sync_and_build, weekly_report_job

TIMEZONE = athlete_timezone(load_settings())

nightly_sync = dg.ScheduleDefinition(
    name="nightly_sync", job=sync_and_build, cron_schedule="0 3 * * *", execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 03:00: pull from Strava and Garmin and rebuild the models.",
)

weekly_report = dg.build_schedule_from_partitioned_job(
    weekly_report_job, name="weekly_report", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays 07:00: a fresh sync and build, then last week's report, emailed once.",
)


@dg.run_failure_sensor(name="email_on_failure", monitor_all_code_locations=False,
                       default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Emails a short failure notice when SMTP is configured.")
def email_on_failure(context: dg.RunFailureSensorContext):
    from pipelines.report.delivery import send_failure_notice

    settings = load_settings()
    if not (settings.smtp_host and settings.report_to and settings.report_from):
        return dg.SkipReason("SMTP is not configured")
    job = context.dagster_run.job_name
    message = context.failure_event.message or "the run failed"
    send_failure_notice(
        settings, f"trainsmart: {job} failed",
        f"The trainsmart run {context.dagster_run.run_id} of {job} failed:\n\n{message}\n\n"
        "Everything fetched before the failure is saved; the next scheduled run goes on from there. "
        f"Details: `dagster dev` (Runs) or {settings.log_file}.\n")


def _last_sync(settings) -> tuple[str, str, dict] | None:
    """(run id, status, rate budget) of the last sync, from the snapshot; None if there is none."""
    import json

    from pipelines import warehouse

    if not settings.snapshot_path.exists():
        return None
    con = warehouse.connect_reader(settings.snapshot_path)
    try:
        run = con.execute("select run_id, status from raw.sync_runs where kind = 'sync' "
                          "order by started_at desc limit 1").fetchone()
        budget = con.execute("select value from raw.sync_state where key = 'rate_budget'").fetchone()
    finally:
        con.close()
    return (run[0], run[1], json.loads(budget[0]) if budget else {}) if run else None


@dg.sensor(name="continue_backfill", job=sync_and_build, minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="A first backfill stops each time Strava's 15-minute budget is spent; this sensor "
                       "starts the next sync once a new quarter hour has begun, while the daily budget lasts.")
def continue_backfill(context: dg.SensorEvaluationContext):
    from pipelines.strava.api import RateBudget

    last = _last_sync(load_settings())
    if last is None or last[1] != "partial":
        return dg.SkipReason("the last sync finished its work")
    left_15, left_day = RateBudget(**last[2]).left()
    if left_day is not None and left_day <= 0:
        return dg.SkipReason("Strava's daily budget is spent; the nightly sync goes on tomorrow")
    if left_15 is not None and left_15 <= 0:
        return dg.SkipReason("waiting for the next quarter hour")
    return dg.RunRequest(run_key=f"continue-{last[0]}")  # one continuation per stopped run


@dg.sensor(name="strava_events", job=sync_and_build, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Webhook events stored by `trainsmart webhook serve` (a new, edited or deleted "
                       "activity, a deauthorization) start a sync that applies them: one request per "
                       "event instead of a listing.")
def strava_events(context: dg.SensorEvaluationContext):
    from pipelines.webhooks.store import EventStore

    pending = EventStore(load_settings().home).pending()
    if not pending:
        return dg.SkipReason("no pending webhook events")
    if context.instance.get_runs(dg.RunsFilter(job_name=sync_and_build.name, statuses=[
            dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]), limit=1):
        return dg.SkipReason("a sync is running; it or the next one applies the events")
    return dg.RunRequest(run_key=f"events-{pending[-1].id}")  # one run per batch of events


defs = dg.Definitions(schedules=[nightly_sync, weekly_report],
                      sensors=[email_on_failure, continue_backfill, strava_events])
