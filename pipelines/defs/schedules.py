"""What runs unattended: the nightly sync and the Monday report, in the athlete's time zone,
and a short email when a run fails (if SMTP is configured)."""

import dagster as dg

from pipelines.athlete import athlete_timezone
from pipelines.config import load_settings
from pipelines.defs.jobs import sync_and_build, weekly_report_job

TIMEZONE = athlete_timezone(load_settings())

nightly_sync = dg.ScheduleDefinition(
    name="nightly_sync", job=sync_and_build, cron_schedule="0 3 * * *", execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 03:00: pull new activities from Strava and rebuild the models.",
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


defs = dg.Definitions(schedules=[nightly_sync, weekly_report], sensors=[email_on_failure])
