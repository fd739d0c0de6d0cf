"""The weekly report: read the week from the snapshot, draw charts, render the email, deliver it once.

Entry points (see docs/report.md):
    render_report(settings, week_start, athlete_id=None) -> RenderedReport
    write_report(rendered, out_dir) -> list[Path]
    send_report(settings, week_start, force=False, athlete_id=None) -> DeliveryOutcome
    send_failure_notice(settings, subject, text) -> DeliveryOutcome
    week_of(day) -> Monday;  last_complete_week(as_of) -> Monday
"""

from pipelines.report.data import ReportError, WeekData, load_week
from pipelines.report.render import RenderedReport, render_report, write_report
from pipelines.report.weeks import is_complete, last_complete_week, week_end, week_of

__all__ = [
    "ReportError", "WeekData", "load_week", "RenderedReport", "render_report", "write_report",
    "is_complete", "last_complete_week", "week_end", "week_of",
]
