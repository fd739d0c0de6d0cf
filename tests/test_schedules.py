"""The unattended side: schedules evaluate to the right runs at the right times, and the
weekly job runs end to end (local Strava API -> DuckDB -> dbt -> report -> loopback SMTP)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import dagster as dg
import duckdb

from pipelines.athlete import athlete_timezone
from pipelines.config import load_settings
from tests.test_build_scope import logged_builds
from tests.test_report_delivery import smtp_server  # noqa: F401 - the loopback SMTP fixture


def test_nightly_sync_runs_sync_and_build_every_day_at_three():
    from pipelines.defs.schedules import TIMEZONE, nightly_sync

    assert nightly_sync.cron_schedule == "0 3 * * *" and nightly_sync.execution_timezone == TIMEZONE
    tick = dt.datetime(2026, 11, 24, 3, 0, tzinfo=zoneinfo.ZoneInfo(TIMEZONE))
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        requests = nightly_sync.evaluate_tick(context).run_requests
    assert len(requests) == 1 and requests[0].job_name in (None, "sync_and_build")
    assert nightly_sync.job_name == "sync_and_build"


def test_weekly_report_runs_on_monday_seven_for_the_week_just_ended():
    from pipelines.defs.schedules import weekly_report

    zone = zoneinfo.ZoneInfo(weekly_report.execution_timezone or "UTC")
    assert weekly_report.cron_schedule == "0 7 * * 1"
    tick = dt.datetime(2026, 11, 23, 7, 0, tzinfo=zone)  # a Monday
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        requests = weekly_report.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-11-16"]
    assert weekly_report.job_name == "weekly_report_job"


def test_time_zone_comes_from_the_athlete_unless_configured(make_fake, small_athlete, monkeypatch):
    from pipelines.strava.sync import run_sync

    make_fake(small_athlete)
    settings = load_settings()
    assert athlete_timezone(settings) == "UTC"  # nothing landed yet
    run_sync(settings)
    assert athlete_timezone(settings) == "Europe/Zurich"  # the sample athlete's most frequent zone
    monkeypatch.setenv("ATHLETE_TIMEZONE", "America/Denver")
    assert athlete_timezone(load_settings()) == "America/Denver"


def test_weekly_job_end_to_end_sends_once(make_fake, small_athlete, smtp_server, monkeypatch):  # noqa: F811
    from pipelines.runner import run_job

    make_fake(small_athlete)
    inbox, port = smtp_server()
    monkeypatch.setenv("TRAINSMART_AS_OF", "2026-11-22")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    monkeypatch.setenv("REPORT_FROM", "trainsmart@example.org")
    monkeypatch.setenv("REPORT_TO", "runner@example.org")
    settings = load_settings()

    outcome = run_job(settings, "weekly_report_job", partition_key="2026-11-16")
    assert outcome.success, outcome.error
    assert len(inbox.received) == 1
    message = inbox.messages[0]
    assert "2026-11-16" in message["Subject"]
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    km = con.execute("select run_distance_km from weekly_training_summary where week_start = date '2026-11-16'").fetchone()[0]
    con.close()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"{km:.1f} km" in text

    again = run_job(settings, "weekly_report_job", partition_key="2026-11-16")
    assert again.success, again.error
    assert len(inbox.received) == 1, "a re-run of the schedule must not send the week again"
    # each run builds as the schedule launches it: every model and every test, unit tests included
    assert logged_builds(settings) == [("full", "run"), ("full", "run")]

    import io

    from pipelines.status import print_status

    status = io.StringIO()
    assert print_status(settings, out=status) == 0
    assert "week of 2026-11-16: sent to runner@example.org" in status.getvalue()


def test_a_failed_run_emails_a_short_notice(home, smtp_server, monkeypatch):  # noqa: F811
    from pipelines.defs.schedules import email_on_failure

    @dg.op
    def fetch_activities():
        raise RuntimeError("Strava answered 502 five times")

    @dg.job
    def nightly_like():
        fetch_activities()

    inbox, port = smtp_server()
    for key, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(port)), ("SMTP_SECURITY", "none"),
                       ("REPORT_FROM", "trainsmart@example.org"), ("REPORT_TO", "runner@example.org")):
        monkeypatch.setenv(key, value)
    with dg.DagsterInstance.ephemeral() as instance:
        result = nightly_like.execute_in_process(instance=instance, raise_on_error=False)
        context = dg.build_run_status_sensor_context(
            sensor_name="email_on_failure", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event()).for_run_failure()
        email_on_failure(context)
    assert len(inbox.received) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "trainsmart: nightly_like failed"
    assert result.dagster_run.run_id in message.get_body(preferencelist=("plain",)).get_content()


def test_a_stopped_backfill_continues_in_the_next_quarter_hour(make_fake, small_athlete):
    from pipelines.defs.schedules import continue_backfill
    from pipelines.strava.sync import run_sync
    from pipelines.warehouse import publish_snapshot
    from tests.test_strava_sync import _quarter_hour_passes

    fake = make_fake(small_athlete, read_limit_15min=40, overall_limit_15min=60)
    settings = load_settings()
    assert not run_sync(settings).complete

    def evaluate():
        with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral()) as context:
            return continue_backfill(context)

    assert isinstance(evaluate(), dg.SkipReason)  # still the same quarter hour: nothing left in it
    _quarter_hour_passes(settings, fake)
    publish_snapshot(settings.db_path, settings.snapshot_path)
    request = evaluate()
    assert isinstance(request, dg.RunRequest) and request.run_key.startswith("continue-")

    while not run_sync(settings).complete:
        _quarter_hour_passes(settings, fake)
    assert isinstance(evaluate(), dg.SkipReason)  # the backfill is complete
