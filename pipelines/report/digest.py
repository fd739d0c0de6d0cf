"""The coach digest: one email a week to a club's coach, saying who needs attention.

Why: a coach with 5-50 athletes does not read 50 weekly reports. The digest puts every
roster athlete's week in one table (running volume against their own 4-week average,
training load, form, readiness, flags), the athletes with a warning or an alert first,
and names in one line the athletes without any data that week and those not connected yet.

It is built from the same `WeekData` as each athlete's own report (pipelines/report/data.py;
a caller that has just rendered the athletes' reports passes their WeekData, so nothing is
read twice), rendered with the report's own formatting and page (render.py), and returned
as a `RenderedReport` (kind "coach digest", files `digest-<monday>.html` / `.eml`, no
images), so `write_report` writes it and `send_report` sends it through the same ledger,
exactly once a week, under the ledger key `DIGEST_KEY` (-1).

    digest = load_digest(settings, roster, monday)
    rendered = build_digest(digest, default_from=settings.report_from, default_to=roster.coach_report_to)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipelines.config import Settings
from pipelines.report.data import Flag, WeekData, load_week
from pipelines.report.delivery import DIGEST_KEY
from pipelines.report.render import (E, FONT, INK, LINE, MUTED, SEVERITY_STYLE, RenderedReport, _badge, _p,
                                     _section, _signed, _wrap, fmt_change, fmt_day, fmt_hm, fmt_long_date, fmt_pct,
                                     page_html, plural)
from pipelines.roster import Athlete, Roster

ATTENTION = ("alert", "warning")  # METRICS.md section 6 severities that put an athlete at the top
NOTE = ("Volume: running km this week against the mean of the 4 weeks before. Load: the week's training load "
        "(TRIMP). Form: TSB on Sunday, fitness minus fatigue (below −20 or so: tired). Readiness from a Garmin "
        "watch: low on days with HRV below or resting heart rate above the athlete's normal range.")


@dataclass
class DigestRow:
    """One roster athlete's week; `week` is None for an athlete not connected to Strava yet."""

    athlete: Athlete
    week: WeekData | None

    @property
    def name(self) -> str:
        return self.athlete.name

    @property
    def has_data(self) -> bool:
        return self.week is not None and (self.week.has_training or self.week.has_wellness)

    @property
    def km(self) -> float:
        return float(self.week.get("run_distance_km", 0.0))

    @property
    def km_avg(self) -> float | None:
        """Mean running km of the 4 weeks before (of those that exist), as the athlete's report shows it."""
        return next((c.baseline for c in self.week.comparisons if c.key == "run_distance_km"), None)

    @property
    def km_change(self) -> float | None:
        avg = self.km_avg
        return self.km / avg - 1 if avg else None

    @property
    def load(self) -> float | None:
        return self.week.get("weekly_load")

    @property
    def form(self) -> float | None:
        return self.week.get("tsb_end")

    @property
    def flags(self) -> list[Flag]:
        return self.week.flags if self.week is not None else []

    @property
    def level(self) -> int:
        """0 an alert, 1 a warning, 2 neither: the order of the table."""
        severities = {f.severity for f in self.flags}
        return 0 if "alert" in severities else 1 if "warning" in severities else 2

    @property
    def needs_attention(self) -> bool:
        return self.level < 2

    @property
    def readiness(self) -> tuple[int, int]:
        """(days with low readiness, days with any readiness) of the week, from daily_wellness."""
        days = self.week.wellness_week if self.week is not None else []
        return (sum(1 for d in days if d.get("readiness") == "low"),
                sum(1 for d in days if d.get("readiness") is not None))


@dataclass
class Digest:
    week_start: dt.date
    as_of: dt.date
    rows: list[DigestRow]

    @property
    def week_end(self) -> dt.date:
        return self.week_start + dt.timedelta(days=6)

    @property
    def table(self) -> list[DigestRow]:
        """The athletes with data this week: alerts first, then warnings, then the rest; by name within."""
        return sorted((r for r in self.rows if r.has_data), key=lambda r: (r.level, r.name.lower(), r.athlete.key))

    @property
    def no_data(self) -> list[DigestRow]:
        return [r for r in self.rows if r.week is not None and not r.has_data]

    @property
    def not_connected(self) -> list[DigestRow]:
        return [r for r in self.rows if r.week is None]

    @property
    def attention(self) -> list[DigestRow]:
        return [r for r in self.table if r.needs_attention]


def load_digest(settings: Settings, roster: Roster, week_start: dt.date,
                weeks: dict[str, WeekData] | None = None) -> Digest:
    """Every roster athlete's week (Monday `week_start`); `weeks` (by athlete key) are reused when given."""
    weeks = weeks or {}
    rows = []
    for athlete in roster.athletes:
        week = None
        if athlete.strava_athlete_id is not None:
            week = weeks.get(athlete.key) or load_week(settings, week_start, athlete.strava_athlete_id)
        rows.append(DigestRow(athlete, week))
    return Digest(week_start, settings.as_of or dt.date.today(), rows)


# -- words and numbers ------------------------------------------------------------------------------
def flag_label(f: Flag) -> str:
    """A flag in a few words with its number, for a coach scanning a table (the athlete's own report
    explains each one)."""
    v = f.value
    if v is None:
        return f.flag.replace("_", " ")
    labels = {
        "overreaching": "overreaching",
        "easy_share_low": f"easy share {fmt_pct(v)}",
        "too_many_quality_sessions": f"{plural(v, 'quality session')}",
        "volume_spike": f"km-effort {fmt_change(v)}",  # volume_change is over km-effort (METRICS.md section 5)
        "long_run_spike": f"long run {v:.2f}×",
        "acwr_high": f"ACWR {v:.2f}",
        "high_monotony": f"monotony {v:.1f}",
        "no_rest_day": "no rest day",
        "deep_fatigue": f"fatigue {plural(v, 'day')} in a row",
        "no_strength": "no strength for 2 weeks",
        "low_consistency": f"consistency {fmt_pct(v)}",
        "hrv_suppressed": f"HRV low {plural(v, 'day')}",
        "resting_hr_elevated": f"resting HR up {plural(v, 'day')}",
        "short_sleep": f"sleep {fmt_hm(v)} a night",
        "trained_on_low_readiness": f"{plural(v, 'hard session')} on low readiness",
    }
    return labels.get(f.flag, f.flag.replace("_", " "))


def readiness_text(row: DigestRow) -> str:
    low, rated = row.readiness
    if low:
        return f"low {low} d"
    return "normal" if rated else "–"


def _num(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _form(v: float | None) -> str:
    return "–" if v is None else (_signed(v) if round(v) != 0 else "0")


def _names(rows: list[DigestRow]) -> str:
    return ", ".join(r.name for r in rows)


def summary_sentence(digest: Digest) -> str:
    table, attention = digest.table, digest.attention
    if not table:
        return "Nobody logged any training this week."
    if not attention:
        return f"No warnings for any of the {plural(len(table), 'athlete')} who trained this week."
    who = ", ".join(f"{r.name} ({SEVERITY_STYLE[('alert', 'warning')[r.level]][0].lower()})" for r in attention)
    verb = "needs" if len(attention) == 1 else "need"
    return f"{len(attention)} of {plural(len(table), 'athlete')} {verb} a look: {who}."


def missing_lines(digest: Digest) -> list[str]:
    out = []
    if digest.no_data:
        out.append(f"No data this week: {_names(digest.no_data)}.")
    if digest.not_connected:
        key = digest.not_connected[0].athlete.key if len(digest.not_connected) == 1 else "KEY"
        out.append(f"Not connected to Strava yet: {_names(digest.not_connected)}; connect with "
                   f"`trainsmart auth --athlete {key}`.")
    return out


def subject_of(week_start: dt.date) -> str:
    return f"trainsmart: coach digest for the week of {week_start.isoformat()}"


# -- plain text -------------------------------------------------------------------------------------
def render_digest_text(digest: Digest) -> str:
    monday, sunday = digest.week_start, digest.week_end
    L = [f"trainsmart - coach digest, week of {fmt_long_date(monday)}",
         f"{fmt_day(monday)} to {fmt_day(sunday)} {sunday.year}, every athlete in the roster.", ""]
    L.extend(_wrap(summary_sentence(digest)))
    table = digest.table
    if table:
        width = min(24, max(len(r.name) for r in table) + 2)
        heading = "Every athlete's week"
        L += ["", f"{heading.upper()}\n{'=' * len(heading)}",
              f"{'athlete':{width}}{'km':>7}{'4-wk avg':>10}{'change':>8}{'load':>7}{'form':>6}  readiness"]
        for r in table:
            L.append(f"{r.name[:width - 1]:{width}}{r.km:>7.1f}{_num(r.km_avg):>10}{fmt_change(r.km_change):>8}"
                     f"{_num(r.load, 0):>7}{_form(r.form):>6}  {readiness_text(r)}")
            for f in r.flags:
                label = SEVERITY_STYLE.get(f.severity, SEVERITY_STYLE["info"])[0]
                L.extend(_wrap(f"{flag_label(f)} [{label}]", indent="      ", first="    - "))
    lines = missing_lines(digest)
    if lines:
        L.append("")
        for line in lines:
            L.extend(_wrap(line))
    L += ["", *_wrap(NOTE), "", "-- ", *_wrap(footer_sentence(digest))]
    return "\n".join(L) + "\n"


def footer_sentence(digest: Digest) -> str:
    return (f"Made by trainsmart from your athletes' data up to {fmt_day(digest.as_of)} {digest.as_of.year}; each "
            "athlete got their own report. These numbers describe training-load patterns; they are not medical "
            "advice.")


# -- HTML -------------------------------------------------------------------------------------------
COLUMNS = [("Athlete", "left"), ("Km", "right"), ("4-wk avg", "right"), ("Load", "right"), ("Form", "right"),
           ("Readiness", "right")]


def _cell(content: str, align: str, style: str = "", colspan: int = 1) -> str:
    span = f' colspan="{colspan}"' if colspan > 1 else ""
    return (f'<td align="{align}"{span} style="padding:7px 4px;font-family:{FONT};font-size:14px;line-height:20px;'
            f'color:{INK};{"white-space:nowrap;" if align == "right" else ""}{style}">{content}</td>')


def _athlete_rows(r: DigestRow) -> str:
    label, accent, bg = SEVERITY_STYLE[("alert", "warning", "info")[r.level]]
    status = " " + _badge(label.upper(), "#ffffff", accent) if r.needs_attention else ""
    change = fmt_change(r.km_change)
    low, _ = r.readiness
    ready = readiness_text(r)
    ready_html = (_badge(ready.upper(), "#c92a2a", "#fff5f5") if low
                  else f'<span style="color:{MUTED};">{E(ready)}</span>')
    form_color = "#c92a2a" if r.form is not None and r.form < -20 else INK
    has_flags = bool(r.flags)
    border = "" if has_flags else f"border-bottom:1px solid {LINE};"
    cells = [
        _cell(f"<strong>{E(r.name)}</strong>{status}", "left", border),
        _cell(f"<strong>{E(f'{r.km:.1f}')}</strong>"
              + (f'<br><span style="font-size:12px;color:{MUTED};">{E(change)}</span>' if change != "–" else ""),
              "right", border),
        _cell(f'<span style="color:{MUTED};">{E(_num(r.km_avg))}</span>', "right", border),
        _cell(E(_num(r.load, 0)), "right", border),
        _cell(f'<span style="color:{form_color};">{E(_form(r.form))}</span>', "right", border),
        _cell(ready_html, "right", border),
    ]
    out = "<tr>" + "".join(cells) + "</tr>"
    if has_flags:
        chips = " ".join(
            _badge(flag_label(f), SEVERITY_STYLE.get(f.severity, SEVERITY_STYLE["info"])[1],
                   SEVERITY_STYLE.get(f.severity, SEVERITY_STYLE["info"])[2]) for f in r.flags)
        out += "<tr>" + _cell(chips, "left", f"padding-top:0;border-bottom:1px solid {LINE};line-height:22px;",
                              colspan=len(COLUMNS)) + "</tr>"
    return out


def _table_html(rows: list[DigestRow]) -> str:
    header = "".join(
        f'<td align="{a}" style="padding:6px 4px;border-bottom:2px solid {LINE};font-family:{FONT};font-size:12px;'
        f'line-height:16px;color:{MUTED};text-transform:uppercase;letter-spacing:.04em;">{E(h)}</td>'
        for h, a in COLUMNS)
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            f'style="border-collapse:collapse;"><tr>{header}</tr>' + "".join(_athlete_rows(r) for r in rows)
            + "</table>")


def _code(escaped: str) -> str:
    """`a command` in monospace, as the weekly report shows commands."""
    return re.sub(r"`([^`]+)`", r'<code style="font-family:Menlo,Consolas,monospace;font-size:13px;'
                                r'background:#f1f3f5;padding:1px 4px;border-radius:3px;white-space:nowrap;">\1</code>',
                  escaped)


def render_digest_html(digest: Digest, subject: str) -> str:
    monday, sunday = digest.week_start, digest.week_end
    attention_color = "#c92a2a" if any(r.level == 0 for r in digest.table) else INK
    header = [
        f'<div style="font-size:12px;line-height:16px;color:{MUTED};letter-spacing:.08em;text-transform:uppercase;'
        f'font-weight:700;">trainsmart · coach digest</div>',
        f'<h1 style="margin:6px 0 4px;font-size:26px;line-height:32px;color:{INK};font-weight:800;">'
        f'Your athletes\' week of {E(f"{monday.day} {monday:%B %Y}")}</h1>',
        f'<div style="font-size:14px;line-height:20px;color:{MUTED};margin-bottom:14px;">'
        f'{E(fmt_day(monday))} to {E(fmt_day(sunday))}, every athlete in the roster.</div>',
        _p(f"<strong>{E(summary_sentence(digest))}</strong>",
           f"font-size:17px;line-height:24px;color:{attention_color};"),
    ]
    body = [f'<tr><td style="padding:26px 24px 4px;font-family:{FONT};">{"".join(header)}</td></tr>']
    table = digest.table
    if table:
        body.append(_section("Every athlete's week", _table_html(table),
                             "Athletes with an alert or a warning first. Each one got their own report with the "
                             "details."))
    missing = "".join(_p(_code(E(line)), f"font-size:14px;line-height:20px;color:{MUTED};")
                      for line in missing_lines(digest))
    if missing:
        body.append(f'<tr><td style="padding:14px 24px 0;font-family:{FONT};">{missing}</td></tr>')
    body.append(f'<tr><td style="padding:14px 24px 0;font-family:{FONT};">'
                f'{_p(E(NOTE), f"font-size:12px;line-height:17px;color:{MUTED};")}</td></tr>')
    body.append(f'<tr><td style="padding:8px 24px 26px;font-family:{FONT};font-size:12px;line-height:18px;'
                f'color:{MUTED};">{E(footer_sentence(digest))}</td></tr>')
    return page_html(subject, summary_sentence(digest), body)


def build_digest(digest: Digest, default_from: str | None = None, default_to=()) -> RenderedReport:
    """The digest as a RenderedReport: text + HTML (no images), ledger key DIGEST_KEY."""
    subject = subject_of(digest.week_start)
    return RenderedReport(week_start=digest.week_start, athlete_id=DIGEST_KEY, subject=subject,
                          text=render_digest_text(digest), html=render_digest_html(digest, subject), images={},
                          default_from=default_from, default_to=tuple(default_to), kind="coach digest",
                          file_stem=f"digest-{digest.week_start.isoformat()}")


def render_digest(settings: Settings, roster: Roster, week_start: dt.date,
                  weeks: dict[str, WeekData] | None = None) -> tuple[Digest, RenderedReport]:
    digest = load_digest(settings, roster, week_start, weeks)
    return digest, build_digest(digest, default_from=settings.report_from, default_to=roster.coach_report_to)
