"""The weekly report as a Dagster asset, one partition per week (Monday start)."""

import datetime as dt

import dagster as dg

from pipelines.athlete import athlete_timezone
from pipelines.config import load_settings

REPORT_HOUR = 7  # Mondays 07:00 in the athlete's zone

weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date="2015-01-05", day_offset=1, hour_offset=REPORT_HOUR,
    timezone=athlete_timezone(load_settings()),
)

MARTS = [dg.AssetKey(["main", name]) for name in
         ("activities", "daily_training_load", "weekly_training_summary", "training_flags")]


@dg.asset(
    key=["report", "weekly_report"], partitions_def=weekly_partitions, deps=MARTS, group_name="report",
    kinds={"python", "email"},
    retry_policy=dg.RetryPolicy(max_retries=3, delay=600, backoff=dg.Backoff.EXPONENTIAL),
)
def weekly_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Render the week's report into TRAINSMART_HOME/reports/ and email it once (when SMTP is set).

    A failed send is recorded in the delivery ledger and fails the step, so Dagster retries it
    (10, 20, 40 minutes later); the ledger makes sure a week is never sent twice.
    """
    from pipelines.report import run_report

    settings = load_settings()
    week = dt.date.fromisoformat(context.partition_key)
    send = bool(settings.smtp_host and settings.report_to and settings.report_from)
    run = run_report(settings, week=week, out_dir=settings.home / "reports", send=send)
    for line in run.lines():
        context.log.info(line)
    if run.delivery is not None and not run.delivery.ok:
        raise dg.Failure(description=run.delivery.message)
    return dg.MaterializeResult(metadata={
        "week_start": str(run.week_start),
        "flags": len(run.rendered.data.flags) if run.rendered.data else 0,
        "files": [str(p) for p in run.files],
        "delivery": run.delivery.status if run.delivery else "not sent (SMTP not configured)",
        "message_id": (run.delivery.message_id or "") if run.delivery else "",
    })
