"""The weekly report: read the week from the snapshot, draw charts, render the email, deliver it once.

Entry points (see docs/report.md):
    run_report(settings, week=None, out_dir=None, send=False, force=False) -> ReportRun
    render_report(settings, week_start, athlete_id=None) -> RenderedReport
    write_report(rendered, out_dir) -> list[Path]
    send_report(settings, week_start, force=False, athlete_id=None) -> DeliveryOutcome
    send_failure_notice(settings, subject, text) -> DeliveryOutcome
    week_of(day) -> Monday;  last_complete_week(as_of) -> Monday;  resolve_week(settings, week) -> Monday

A club (a roster, pipelines/roster.py): pipelines/report/club.py sends every athlete their own
report, then pipelines/report/digest.py the coach digest:
    run_weekly(settings, week=None, out_dir=None, send=False, force=False, athlete_key=None)
        -> ReportRun (no roster: run_report) | ClubRun
    render_digest(settings, roster, week_start) -> (Digest, RenderedReport)
"""

from pipelines.report.data import ReportError, WeekData, load_week
from pipelines.report.delivery import DeliveryOutcome, delivery_history, ledger_path, send_failure_notice, send_report
from pipelines.report.render import RenderedReport, render_report, write_report
from pipelines.report.run import ReportRun, resolve_week, run_report
from pipelines.report.weeks import is_complete, last_complete_week, week_end, week_of

__all__ = [
    "ReportError", "WeekData", "load_week", "RenderedReport", "render_report", "write_report",
    "DeliveryOutcome", "delivery_history", "ledger_path", "send_failure_notice", "send_report",
    "ReportRun", "resolve_week", "run_report", "is_complete", "last_complete_week", "week_end", "week_of",
]
