"""What `trainsmart report` and the weekly Dagster asset do, in one call.

    run = run_report(settings, week=None, out_dir=Path("out"), send=True)
    for line in run.lines(): print(line, file=sys.stderr)
    return run.exit_code

It picks the week (default: the last complete week before TRAINSMART_AS_OF / today),
renders it, writes the files when `out_dir` is given and sends it once when `send`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import Settings
from pipelines.report.data import ReportError
from pipelines.report.delivery import DeliveryOutcome, send_report
from pipelines.report.render import RenderedReport, render_report, write_report
from pipelines.report.weeks import last_complete_week, week_end, week_of


def resolve_week(settings: Settings, week: dt.date | None = None, as_of: dt.date | None = None) -> dt.date:
    """The Monday of the complete week holding `week` (default: the last complete week).

    Raises ReportError for a week that has not ended yet by the as-of date.
    """
    as_of = as_of or settings.as_of or dt.date.today()
    if week is None:
        return last_complete_week(as_of)
    monday = week_of(week)
    if week_end(monday) > as_of:
        raise ReportError(
            f"The week of {monday} is not complete yet (it ends on Sunday {week_end(monday)}, after {as_of}); "
            f"the last complete week is the week of {last_complete_week(as_of)}.")
    return monday


@dataclass
class ReportRun:
    week_start: dt.date
    rendered: RenderedReport
    files: list[Path] = field(default_factory=list)
    delivery: DeliveryOutcome | None = None

    @property
    def exit_code(self) -> int:
        return self.delivery.exit_code if self.delivery is not None else 0

    def lines(self) -> list[str]:
        """What to print, the last line being the one that matters (the delivery outcome)."""
        out = []
        data = self.rendered.data
        if data is not None:
            flags = len(data.flags)
            what = "no training logged" if not data.has_training else f"{flags} flag{'s' if flags != 1 else ''}"
            out.append(f"Report for the week of {self.week_start} ({what}).")
        if self.files:
            html = next((f for f in self.files if f.suffix == ".html"), self.files[0])
            out.append(f"Written to {html.parent}/ ({html.name}, {self.week_start}.eml and "
                       f"{len(self.rendered.images)} charts); open {html} in a browser.")
        if self.delivery is not None:
            out.append(self.delivery.message)
        return out


def run_report(settings: Settings, week: dt.date | None = None, out_dir: Path | None = None, send: bool = False,
               force: bool = False, athlete_id: int | None = None, **send_kwargs) -> ReportRun:
    """Render (and write, and send) the weekly report; raises ReportError when it cannot be made."""
    monday = resolve_week(settings, week)
    rendered = render_report(settings, monday, athlete_id)
    run = ReportRun(monday, rendered)
    if out_dir is not None:
        run.files = write_report(rendered, out_dir)
    if send:
        run.delivery = send_report(settings, monday, force=force, athlete_id=rendered.athlete_id, rendered=rendered,
                                   **send_kwargs)
    return run
