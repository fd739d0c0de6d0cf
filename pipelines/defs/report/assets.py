"""The weekly report as a Dagster asset, one partition per week (Monday start)."""

import datetime as dt

import dagster as dg

from pipelines.athlete import athlete_timezone
from pipelines.config import load_settings

REPORT_HOUR = 7  # Mondays 07:00 in the athlete's zone
OWED_WEEKS = 8  # how far back a week whose sending failed is still sent late

weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date="2015-01-05", day_offset=1, hour_offset=REPORT_HOUR,
    timezone=athlete_timezone(load_settings()),
)

MARTS = [dg.AssetKey(["main", name]) for name in
         ("activities", "daily_training_load", "weekly_training_summary", "training_flags")]


class ReportConfig(dg.Config):
    send_retries: int = 3  # a failed send is tried again this many times in the same run ...
    retry_delay_seconds: int = 600  # ... after 10, 20, 40 minutes (doubling)


@dg.asset(
    key=["report", "weekly_report"], partitions_def=weekly_partitions, deps=MARTS, group_name="report",
    kinds={"python", "email"},
)
def weekly_report(context: dg.AssetExecutionContext, config: ReportConfig) -> dg.MaterializeResult:
    """Render the week's report into TRAINSMART_HOME/reports/ and email it once (when SMTP is set).

    A failed send is recorded in the delivery ledger and retried (10, 20, 40 minutes later);
    if it still fails, the run fails and the next scheduled run sends the owed week. The
    ledger makes sure a week is never sent twice. With a roster (a club), every athlete
    gets their own report at their own address, then the coach gets the digest
    (pipelines/report/club.py), each exactly once.
    """
    from pipelines.report import run_report
    from pipelines.report.delivery import DIGEST_KEY, unsent_weeks
    from pipelines.roster import load_roster

    settings = load_settings()
    week = dt.date.fromisoformat(context.partition_key)
    roster = load_roster(settings)
    if roster is not None:
        return _club_week(context, config, settings, roster, week)
    send = bool(settings.smtp_host and settings.report_to and settings.report_from)
    run = run_report(settings, week=week, out_dir=settings.home / "reports", send=send)
    for line in run.lines():
        context.log.info(line)
    if send:  # earlier weeks whose sending failed through all retries are still owed: send them now
        for athlete_id, owed in unsent_weeks(settings, since=week - dt.timedelta(weeks=OWED_WEEKS)):
            if owed != week and athlete_id != DIGEST_KEY:  # a digest is owed only while there is a roster
                late = run_report(settings, week=owed, send=True, athlete_id=athlete_id)
                context.log.info(f"week of {owed}, owed since an earlier failure: {late.delivery.message}")
    if run.delivery is not None and not run.delivery.ok:
        if context.retry_number < config.send_retries:
            raise dg.RetryRequested(max_retries=config.send_retries,
                                    seconds_to_wait=config.retry_delay_seconds * 2 ** context.retry_number)
        raise dg.Failure(description=run.delivery.message)
    return dg.MaterializeResult(metadata={
        "week_start": str(run.week_start),
        "flags": len(run.rendered.data.flags) if run.rendered.data else 0,
        "files": [str(p) for p in run.files],
        "delivery": run.delivery.status if run.delivery else "not sent (SMTP not configured)",
        "message_id": (run.delivery.message_id or "") if run.delivery else "",
    })


def _club_week(context: dg.AssetExecutionContext, config: ReportConfig, settings, roster, week: dt.date):
    """A club's week: each athlete's report to their own report_to, then the coach digest; weeks
    still owed after an earlier failure are sent too. Retried like the one-athlete report."""
    from pipelines.report.club import run_club, send_owed

    send = bool(settings.smtp_host and settings.report_from)
    run = run_club(settings, roster, week=week, out_dir=settings.home / "reports", send=send)
    for line in run.lines():
        context.log.info(line)
    if send:
        for line in send_owed(settings, roster, since=week - dt.timedelta(weeks=OWED_WEEKS), skip_week=week):
            context.log.info(line)
    if run.exit_code != 0:
        if context.retry_number < config.send_retries:
            raise dg.RetryRequested(max_retries=config.send_retries,
                                    seconds_to_wait=config.retry_delay_seconds * 2 ** context.retry_number)
        raise dg.Failure(description=run.summary())
    return dg.MaterializeResult(metadata={
        "week_start": str(run.week_start),
        "athletes": {a.key: a.status for a in run.athletes},
        "digest": run.digest.status if run.digest else "none",
        "summary": run.summary() if send else run.summary() + " (not sent: SMTP_HOST or REPORT_FROM not set)",
    })
