"""Weekly emails in a club: each roster athlete's own report to their own address, then the coach digest.

Why a module of its own: with a roster (athletes.toml, pipelines/roster.py) `trainsmart
report` and the weekly Dagster asset go over every athlete instead of one. Each athlete's
email is the ordinary weekly report (render.py) of their own `athlete_id` (their
`strava_athlete_id`, METRICS.md section 1), sent through the ordinary ledger (delivery.py),
which is keyed by athlete and week, so each athlete gets each week exactly once; it goes
to the athlete's `report_to` (not REPORT_TO). After the athletes, the coach digest
(digest.py) goes to `[coach] report_to`, exactly once a week too (ledger key -1).

- An athlete not connected to Strava yet, or (with --send) without `report_to`, is one line
  and no email; an athlete without data that week gets the usual "no training logged" email.
- One athlete's failure is their line; the others go on. The exit code is 1 when any
  failed, and the last line sums the run up.
- Files (`out_dir`): each athlete's report in `out_dir/<key>/`, the digest as
  `out_dir/digest-<monday>.html` (and `.eml`).
- Without a roster `run_weekly` is exactly `run_report` (one athlete from the environment).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import ConfigError, Settings
from pipelines.errors import UserError, one_line
from pipelines.report.data import ReportError, WeekData, check_snapshot, load_week
from pipelines.report.delivery import DIGEST_KEY, DeliveryOutcome, send_report, unsent_weeks
from pipelines.report.digest import Digest, render_digest
from pipelines.report.render import RenderedReport, build_report, write_report
from pipelines.report.run import ReportRun, resolve_week, run_report
from pipelines.roster import Athlete, Roster, load_roster

log = logging.getLogger(__name__)


@dataclass
class AthleteResult:
    key: str
    status: str  # sent | already_sent | written | no_report_to | not_connected | failed
    line: str
    run: ReportRun | None = None

    @property
    def week(self) -> WeekData | None:
        return self.run.rendered.data if self.run is not None else None


@dataclass
class DigestResult:
    status: str  # sent | already_sent | written | no_report_to | failed
    line: str
    digest: Digest | None = None
    rendered: RenderedReport | None = None
    files: list[Path] = field(default_factory=list)
    delivery: DeliveryOutcome | None = None


@dataclass
class ClubRun:
    """What a club's weekly run did; `lines()` to print (the last sums up), `exit_code`."""

    week_start: dt.date
    send: bool
    out_dir: Path | None
    athletes: list[AthleteResult]
    digest: DigestResult | None = None

    @property
    def failed(self) -> list[str]:
        names = [a.key for a in self.athletes if a.status == "failed"]
        return names + (["the coach digest"] if self.digest is not None and self.digest.status == "failed" else [])

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def count(self, status: str) -> int:
        return sum(1 for a in self.athletes if a.status == status)

    def lines(self) -> list[str]:
        return [a.line for a in self.athletes] + ([self.digest.line] if self.digest else []) + [self.summary()]

    def summary(self) -> str:
        week = f"the week of {self.week_start}"
        if not self.athletes:
            return f"The roster has no athletes yet, so there is nothing to report for {week}."
        parts = []
        for status, words in (("sent", "sent"), ("already_sent", "already sent"), ("written", "written"),
                              ("no_report_to", "without report_to"), ("not_connected", "not connected to Strava"),
                              ("failed", "failed")):
            n = self.count(status)
            if n:
                parts.append(f"{n} {words}")
        text = f"Athletes' reports for {week}: {', '.join(parts)}"
        if self.digest is not None:
            digest = {"sent": "sent", "already_sent": "already sent", "written": "written",
                      "no_report_to": "not emailed (no [coach] report_to)", "failed": "failed"}[self.digest.status]
            text += f"; coach digest {digest}"
        if self.failed:
            return text + f". Failed: {', '.join(self.failed)}; the next run sends what is still owed."
        if not self.send and self.out_dir is not None:
            return text + f"; files in {self.out_dir}/ (one folder per athlete)."
        return text + "."


def athlete_settings(settings: Settings, report_to) -> Settings:
    """The settings with REPORT_TO replaced by a roster address list (an athlete's, or the coach's)."""
    return dataclasses.replace(settings, report_to=tuple(report_to))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return one_line(str(exc)).rstrip(".")
    log.exception("weekly report failed")
    return f"unexpected {type(exc).__name__}: {one_line(str(exc))}"


def athlete_week(settings: Settings, athlete: Athlete, monday: dt.date, out_dir: Path | None = None,
                 send: bool = False, force: bool = False, week: WeekData | None = None,
                 **send_kwargs) -> AthleteResult:
    """One roster athlete's report of the week: rendered, written to `out_dir/<key>/`, sent to their report_to."""
    key = athlete.key
    if athlete.strava_athlete_id is None:
        return AthleteResult(key, "not_connected", f"{key}: skipped, not connected to Strava yet "
                                                   f"(`trainsmart auth --athlete {key}`).")
    mine = athlete_settings(settings, athlete.report_to)
    try:
        week = week or load_week(mine, monday, athlete.strava_athlete_id)
        week.athlete_name = week.athlete_name or athlete.name
        rendered = build_report(week, default_from=mine.report_from, default_to=mine.report_to)
        run = ReportRun(monday, rendered)
        if out_dir is not None:
            run.files = write_report(rendered, Path(out_dir) / key)
        if send and athlete.report_to:
            run.delivery = send_report(mine, monday, force=force, athlete_id=athlete.strava_athlete_id,
                                       rendered=rendered, **send_kwargs)
    except Exception as exc:  # one athlete's failure is their line; the others go on
        return AthleteResult(key, "failed", f"{key}: the report for the week of {monday} failed: {_describe(exc)}.")
    flags = len(week.flags)
    line = f"{key}: " + ("no training logged" if not week.has_training else plural_flags(flags))
    html = next((f for f in run.files if f.suffix == ".html"), None)
    if html is not None:
        line += f", {html}"
    if run.delivery is not None:
        status = {"sent": "sent", "already_sent": "already_sent"}.get(run.delivery.status, "failed")
        return AthleteResult(key, status, f"{line}; {_roster_hint(run.delivery.message, f'the report_to of {key}')}",
                             run)
    if send:
        return AthleteResult(key, "no_report_to", f"{line}; not emailed: no report_to for {key} in the roster.", run)
    return AthleteResult(key, "written", line + ".", run)


def _roster_hint(message: str, where: str) -> str:
    """A refused address comes from the roster here, not from REPORT_TO."""
    return message.replace("check REPORT_TO", f"check {where} in the roster")


def plural_flags(n: int) -> str:
    return f"{n} flag{'s' if n != 1 else ''}"


def digest_week(settings: Settings, roster: Roster, monday: dt.date, out_dir: Path | None = None,
                send: bool = False, force: bool = False, weeks: dict[str, WeekData] | None = None,
                **send_kwargs) -> DigestResult:
    """The coach digest of the week: rendered, written to `out_dir/digest-<monday>.*`, sent to [coach] report_to."""
    result = DigestResult("written", "")
    try:
        result.digest, result.rendered = render_digest(settings, roster, monday, weeks)
        if out_dir is not None:
            result.files = write_report(result.rendered, Path(out_dir))
        if send and roster.coach_report_to:
            result.delivery = send_report(athlete_settings(settings, roster.coach_report_to), monday, force=force,
                                          rendered=result.rendered, **send_kwargs)
    except Exception as exc:
        result.status = "failed"
        result.line = f"Coach digest: the digest for the week of {monday} failed: {_describe(exc)}."
        return result
    digest = result.digest
    line = (f"Coach digest: {len(digest.table)} of {len(digest.rows)} athletes trained, "
            f"{len(digest.attention)} need{'s' if len(digest.attention) == 1 else ''} a look")
    html = next((f for f in result.files if f.suffix == ".html"), None)
    if html is not None:
        line += f", {html}"
    if result.delivery is not None:
        result.status = {"sent": "sent", "already_sent": "already_sent"}.get(result.delivery.status, "failed")
        result.line = f"{line}; {_roster_hint(result.delivery.message, '[coach] report_to')}"
    elif send:
        result.status = "no_report_to"
        result.line = f"{line}; not emailed: the roster has no [coach] report_to."
    else:
        result.line = line + "."
    return result


def _check_mail(settings: Settings) -> None:
    missing = [name for name, value in (("SMTP_HOST", settings.smtp_host), ("REPORT_FROM", settings.report_from))
               if not value]
    if missing:
        raise ReportError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set, so the reports "
                          "cannot be emailed; set them in .env (see .env.example), or write the reports to files "
                          "without --send.")


def run_club(settings: Settings, roster: Roster, week: dt.date | None = None, out_dir: Path | None = None,
             send: bool = False, force: bool = False, athlete_key: str | None = None, **send_kwargs) -> ClubRun:
    """Every roster athlete's report (or only `athlete_key`'s), then the coach digest (not with `athlete_key`).

    Raises ReportError / ConfigError for what stops every athlete alike (no snapshot, no mail
    settings, an unknown or unusable `athlete_key`); anything else is one athlete's line.
    """
    monday = resolve_week(settings, week)
    athletes = roster.athletes
    if athlete_key is not None:
        athlete = roster.get(athlete_key)
        if athlete.strava_athlete_id is None:
            raise ConfigError(f"{athlete_key} is not connected to Strava yet; run `trainsmart auth --athlete "
                              f"{athlete_key}` first.")
        if send and not athlete.report_to:
            raise ConfigError(f"{athlete_key} has no report_to in the roster {roster.path}; add their address "
                              "(report_to = [\"...\"]) or leave out --send.")
        athletes = [athlete]
    if send:
        _check_mail(settings)
    check_snapshot(settings)
    results = [athlete_week(settings, a, monday, out_dir, send, force, **send_kwargs) for a in athletes]
    run = ClubRun(monday, send, Path(out_dir) if out_dir is not None else None, results)
    if athlete_key is None:
        weeks = {r.key: r.week for r in results if r.week is not None}
        run.digest = digest_week(settings, roster, monday, out_dir, send, force, weeks, **send_kwargs)
    return run


def run_weekly(settings: Settings, week: dt.date | None = None, out_dir: Path | None = None, send: bool = False,
               force: bool = False, athlete_key: str | None = None, **send_kwargs) -> ReportRun | ClubRun:
    """`trainsmart report`: the club's run with a roster, else exactly the one-athlete `run_report`.
    Both results have `lines()` and `exit_code`."""
    roster = load_roster(settings)
    if roster is None:
        if athlete_key is not None:
            raise ConfigError("--athlete needs a roster: add the athlete first with `trainsmart athletes add KEY`.")
        return run_report(settings, week=week, out_dir=out_dir, send=send, force=force, **send_kwargs)
    return run_club(settings, roster, week, out_dir, send, force, athlete_key, **send_kwargs)


def send_owed(settings: Settings, roster: Roster, since: dt.date, skip_week: dt.date | None = None,
              **send_kwargs) -> list[str]:
    """Send the club's weeks whose sending failed and never succeeded since `since` (athletes and
    digest); one line each. Athletes no longer in the roster are left out."""
    by_id = {a.strava_athlete_id: a for a in roster.athletes if a.strava_athlete_id is not None}
    lines = []
    for key, owed in unsent_weeks(settings, since):
        if owed == skip_week:
            continue
        if key == DIGEST_KEY:
            line = digest_week(settings, roster, owed, send=True, **send_kwargs).line
        elif key in by_id:
            line = athlete_week(settings, by_id[key], owed, send=True, **send_kwargs).line
        else:
            continue
        lines.append(f"week of {owed}, owed since an earlier failure: {line}")
    return lines
