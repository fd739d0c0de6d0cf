"""The weekly email: subject, plain text, HTML with inline charts, and the MIME message.

Structure of the message (what most mail clients expect):

    multipart/alternative
    ├── text/plain                      the same facts, readable in any client
    └── multipart/related
        ├── text/html                   table layout, inline CSS, no scripts, no external URLs
        └── image/png (one per chart)   Content-ID <name-YYYY-MM-DD@trainsmart>, src="cid:..."

Every piece of user-provided text (activity names, athlete name, flag messages) goes
through html.escape before it reaches the HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import textwrap
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from pipelines.config import Settings
from pipelines.report import charts as ch
from pipelines.report.data import Activity, Flag, WeekData, load_week
from pipelines.report.weeks import week_of

DEFAULT_FROM = "trainsmart <trainsmart@localhost>"
MIN_RUNS_PER_WEEK = 3
EASY_TARGET = 0.75
FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"

SEVERITY_STYLE = {  # label, accent, background
    "alert": ("Back off", "#c92a2a", "#fff5f5"),
    "warning": ("Watch", "#d9480f", "#fff4e6"),
    "info": ("Tip", "#1864ab", "#e7f5ff"),
}
CHART_ALT = {
    "volume": "Bar chart: running distance per week for the last 12 weeks, this week highlighted",
    "intensity": "Stacked bars: share of easy, moderate and hard running this week and the 4 weeks before",
    "fitness": "Lines: fitness, fatigue and form over the last 12 weeks",
    "hrv": "Line: 7-day average heart rate variability over the last 8 weeks against your normal range, "
           "with each night as a dot",
}
NO_WELLNESS = ("No wellness data this week (HRV, resting HR, sleep come from a Garmin watch: "
               "`trainsmart sync` with GARMIN_PERSONAL_API_KEY).")
SLEEP_TARGET_MIN = 420  # 7 hours, the short_sleep threshold
RHR_MARGIN = 5          # bpm above the 60-day average: rhr_elevated


# -- formatting ---------------------------------------------------------------------------------
def fmt_km(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} km"


def fmt_duration(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    total = int(round(minutes))
    h, m = divmod(total, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def fmt_duration_short(minutes: float | None) -> str:
    """Compact, for tiles and table cells: 6h 09m / 51 min."""
    if minutes is None:
        return "–"
    h, m = divmod(int(round(minutes)), 60)
    return f"{h}h {m:02d}m" if h else f"{m} min"


def fmt_hm(minutes: float | None) -> str:
    """Sleep as h:mm (7:05), whole minutes cut off like the marts' messages do."""
    if minutes is None:
        return "–"
    h, m = divmod(int(math.floor(minutes)), 60)
    return f"{h}:{m:02d}"


def fmt_sleep(minutes: float | None) -> str:
    """Sleep in words (6 h 23 min, 7 h), whole minutes cut off: the same text as the short_sleep message."""
    if minutes is None:
        return "–"
    h, m = divmod(int(math.floor(minutes)), 60)
    return f"{h} h {m} min" if m else f"{h} h"


def fmt_m(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f} m"


def fmt_pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0%}"


def fmt_change(v: float | None) -> str:
    if v is None:
        return "–"
    if round(v * 100) == 0:
        return "±0%"
    return f"{v:+.0%}".replace("-", "−")


def fmt_day(d: dt.date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def fmt_long_date(d: dt.date) -> str:
    return f"{d:%a} {d.day} {d:%B %Y}"


def fmt_value(unit: str, v: float | None, short: bool = False) -> str:
    if unit == "km":
        return fmt_km(v)
    if unit == "duration":
        return fmt_duration_short(v) if short else fmt_duration(v)
    if unit == "m":
        return fmt_m(v)
    if unit == "count":
        return "–" if v is None else (f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}")
    return "–" if v is None else f"{v:.0f}"


def plural(n: float, word: str, words: str | None = None) -> str:
    n_int = int(round(n))
    return f"{n_int} {word if n_int == 1 else (words or word + 's')}"


# -- what each flag means and what to do ----------------------------------------------------------
def _ratio(v) -> str:
    return "–" if v is None else f"{v:.2f}×"


def explain_flag(flag: Flag) -> tuple[str, str | None, str]:
    """(title, what the numbers say, a concrete plan for next week) in plain words for one flag.

    The mart's own message describes the pattern and is always shown; the numbers sentence is
    shown only when the mart gave no message. Never a diagnosis: patterns and actions only.
    """
    v, t = flag.value, flag.threshold
    name = flag.flag
    if name == "easy_share_low":
        return ("Most of your running was not easy",
                f"{fmt_pct(v)} of your run time with heart rate was easy; aim for {fmt_pct(t or EASY_TARGET)} or more.",
                "keep every run that is not a planned session truly easy: if you cannot talk in full sentences, "
                "slow down, and walk the steep hills.")
    if name == "too_many_quality_sessions":
        return ("More hard sessions than you need",
                f"{plural(v or 0, 'run')} had 15+ minutes at moderate or hard effort (or were races / workouts); "
                f"{int(t or 2)} a week are plenty.",
                "choose one or two key sessions (say, intervals midweek and a tempo or long run at the weekend) "
                "and run everything else easy.")
    if name == "volume_spike":
        return ("A big jump in running volume",
                f"Your km-effort was {fmt_change(v)} compared with your 4-week average "
                f"(the flag starts at {fmt_change(t if t is not None else 0.3)}).",
                "do not add more. Stay at or below this week's volume, and after that grow by about 10% a week.")
    if name == "long_run_spike":
        return ("One run was much longer than usual",
                f"Your longest run was {_ratio(v)} the longest run of the 30 days before it "
                f"(flag above {_ratio(t)}).",
                "keep the long run at or below this one, at an easy pace, and make the day after it easy or a rest day.")
    if name == "acwr_high":
        return ("Your load jumped compared with the last month",
                f"The last 7 days carried {_ratio(v)} your average weekly load of the last 4 weeks "
                f"(flag at {_ratio(t)}).",
                "put two or three easy days (or a rest day) before your next hard session.")
    if name == "high_monotony":
        return ("Every day looked the same",
                f"Your daily load barely varied (monotony {v:.1f}; the flag is above {t:.1f})."
                if v is not None and t is not None else "Your daily load barely varied.",
                "make one or two days clearly hard, the others clearly easy, and one a full rest day.")
    if name == "no_rest_day":
        return ("No rest day",
                "You trained on all seven days.",
                "pick a rest day now, for example the day after your long run, and keep it free of training.")
    if name == "deep_fatigue":
        return ("Fatigue piled up for several days",
                f"Your fatigue stayed far above your fitness (form below −30% of fitness) for "
                f"{plural(v or 0, 'day')} in a row.",
                "start with two or three easy or rest days, and go hard again only when your legs feel fresh.")
    if name == "no_strength":
        return ("No strength training for two weeks",
                "There was no strength session this week or the week before.",
                "add two 20–30 minute sessions: squats, lunges, calf raises, hip and core work.")
    if name == "low_consistency":
        return ("Running has been irregular",
                f"Only {fmt_pct(v)} of your recent weeks had {MIN_RUNS_PER_WEEK} or more runs "
                f"(the flag is below {fmt_pct(t)}).",
                f"put {MIN_RUNS_PER_WEEK} short runs on fixed days in your calendar: short and regular beats long "
                "and rare.")
    if name == "hrv_suppressed":
        return ("Your HRV stayed below your normal range",
                f"On {plural(v or 0, 'day')} your 7-day heart rate variability (HRV) was below your normal range "
                "(your average of the two months before, minus half its usual spread); the flag starts at "
                f"{plural(t if t is not None else 3, 'day')}.",
                "keep the next days easy or rest, and save the next hard session for when your 7-day HRV is back "
                "in its range. Sleep, regular meals and a calmer schedule help it come back.")
    if name == "resting_hr_elevated":
        return ("Your resting heart rate was up",
                f"On {plural(v or 0, 'day')} your morning resting heart rate was {RHR_MARGIN} or more beats per "
                "minute above your average of the two months before.",
                "take easy days until it settles back to your usual level; if you feel run down or unwell, rest "
                "rather than train.")
    if name == "short_sleep":
        return ("Short nights",
                f"You slept {fmt_sleep(v)} a night on average, less than {fmt_sleep(t or SLEEP_TARGET_MIN)}.",
                "aim for 7 to 9 hours: go to bed 30 minutes earlier, above all before hard sessions and the long run.")
    if name == "trained_on_low_readiness":
        return ("A hard session on a day your body asked for recovery",
                f"{plural(v or 0, 'quality session')} fell on a day when your HRV was below or your resting heart "
                "rate above your normal range.",
                "look at your numbers in the morning: on a low-readiness day swap the hard session for an easy run "
                "or rest, and do it a day or two later once they are back to normal.")
    if name == "overreaching":
        return ("Several load and recovery warnings at once: time to back off",
                f"{plural(v or 0, 'warning')} (volume jump, load jump, same-every-day, fatigue, no rest day, HRV "
                "below or resting heart rate above your normal range) showed up together this week.",
                "make it a lighter week: about a third less running, all of it easy, with at least two rest days. "
                "Your body's signals count too: build up again only once your HRV and resting heart rate are back "
                "in their normal range.")
    return (name.replace("_", " ").capitalize(), None,
            "look at the pattern behind this flag and adjust your plan.")


def what_went_well(week: WeekData) -> list[str]:
    """Concrete good things about the week (empty for a week without training)."""
    if not week.has_training:
        return []
    raised = {f.flag for f in week.flags}
    good: list[str] = []
    easy_share = week.get("easy_share")
    if easy_share is not None and easy_share >= EASY_TARGET and "easy_share_low" not in raised:
        good.append(f"{fmt_pct(easy_share)} of your run time was easy: right on target ({fmt_pct(EASY_TARGET)} or more).")
    quality = int(week.get("quality_sessions", 0))
    if 1 <= quality <= 2:
        good.append(f"{plural(quality, 'quality session')}: intensity used on purpose, not on every run.")
    runs = int(week.get("run_count", 0))
    if runs >= MIN_RUNS_PER_WEEK:
        good.append(f"{plural(runs, 'run')}: a consistent week.")
    consistency = week.get("consistency_12w")
    weeks_seen = sum(1 for h in week.history if h["row"] is not None)
    if consistency is not None and consistency >= 0.75 and weeks_seen >= 4 and "low_consistency" not in raised:
        good.append(f"{fmt_pct(consistency)} of your last {min(weeks_seen, 12)} weeks had {MIN_RUNS_PER_WEEK}+ runs.")
    rest = int(week.get("rest_days", 0))
    if rest >= 1:
        good.append(f"{plural(rest, 'rest day')} to recover.")
    strength = int(week.get("strength_sessions", 0))
    if strength >= 1:
        good.append(f"{plural(strength, 'strength session')}: good for your legs and your running economy.")
    change = week.get("volume_change")
    if change is not None and -0.2 <= change <= 0.3 and "volume_spike" not in raised:
        good.append(f"Steady volume: {fmt_change(change)} against your 4-week average.")
    ratios = [a.long_run_spike_ratio for a in week.runs if a.long_run_spike_ratio is not None]
    longest = week.get("longest_run_km")
    if ratios and max(ratios) <= 1.10 and longest and "long_run_spike" not in raised:
        good.append(f"Long run of {fmt_km(longest)}, within 10% of your recent longest.")
    acwr = week.get("acwr_end")
    if acwr is not None and 0.8 <= acwr <= 1.3 and "acwr_high" not in raised:
        good.append(f"This week's load is in line with your last month ({acwr:.2f}× your average).")
    r = recovery_numbers(week)
    if r["hrv_ranged_days"] >= 4 and not r["hrv_suppressed_days"] and "hrv_suppressed" not in raised:
        good.append("Your HRV stayed within (or above) your normal range all week.")
    if r["sleep_nights"] >= 4 and r["avg_sleep_min"] >= SLEEP_TARGET_MIN and "short_sleep" not in raised:
        good.append(f"{fmt_sleep(r['avg_sleep_min'])} of sleep a night on average.")
    return good


def headline(week: WeekData) -> str:
    if not week.has_training:
        return "No training logged this week."
    n = len(week.flags)
    if any(f.severity == "alert" for f in week.flags):
        return f"A heavy week: {plural(n, 'thing')} to look at, and it is time to back off a little."
    if n:
        return f"{plural(n, 'thing').capitalize()} to look at this week."
    return "A well-balanced week: no warnings."


def facts_line(week: WeekData) -> str:
    parts = [plural(week.get("run_count", 0), "run"), fmt_km(week.get("run_distance_km", 0.0)),
             fmt_duration(week.get("run_moving_min", 0.0)) + " running"]
    total = week.get("total_moving_min", 0.0)
    if total and total - week.get("run_moving_min", 0.0) >= 1:
        parts.append(fmt_duration(total) + " of training in all")
    return " · ".join(parts)


def activity_details(a: Activity) -> list[str]:
    bits = [a.sport_type or (a.category or "activity")]
    if a.distance_km:
        bits.append(fmt_km(a.distance_km))
    if a.moving_min:
        bits.append(fmt_duration(a.moving_min))
    if a.elevation_gain_m:
        bits.append(f"↑{fmt_m(a.elevation_gain_m)}")
    if a.average_heartrate:
        bits.append(f"avg HR {a.average_heartrate:.0f}")
    return bits


def activity_title(a: Activity) -> str:
    return (a.name or "").strip() or (a.sport_type or "Activity")


# -- the report -----------------------------------------------------------------------------------
@dataclass
class RenderedReport:
    week_start: dt.date
    athlete_id: int | None
    subject: str
    text: str
    html: str
    images: dict[str, bytes]                                  # Content-ID (without <>) -> PNG
    image_names: dict[str, str] = field(default_factory=dict)  # Content-ID -> file name
    data: WeekData | None = None
    default_from: str | None = None
    default_to: tuple[str, ...] = ()
    kind: str = "report"            # what the delivery lines call it ("coach digest" for pipelines/report/digest.py)
    file_stem: str | None = None    # write_report's file names (default: the Monday, YYYY-MM-DD)

    def message(self, from_addr: str | None = None, to_addrs=None, message_id: str | None = None,
                date: str | None = None) -> EmailMessage:
        """The MIME message: multipart/alternative(text/plain, multipart/related(text/html, PNGs))."""
        from_addr = from_addr or self.default_from or DEFAULT_FROM
        if to_addrs is None:
            to_addrs = self.default_to or (from_addr,)
        if isinstance(to_addrs, str):
            to_addrs = [a.strip() for a in to_addrs.split(",") if a.strip()]
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = from_addr
        msg["To"] = ", ".join(to_addrs)
        msg["Date"] = date or formatdate(localtime=True)
        msg["Message-ID"] = message_id or new_message_id(from_addr)
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Trainsmart-Week"] = self.week_start.isoformat()
        msg.set_content(self.text, subtype="plain", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(self.html, subtype="html", charset="utf-8", cte="quoted-printable")
        html_part = msg.get_payload()[1]
        for cid, png in self.images.items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>",
                                  filename=self.image_names.get(cid, f"{cid.split('@')[0]}.png"),
                                  disposition="inline")
        return msg

    def file_html(self) -> str:
        """The HTML with `cid:` references replaced by the PNG file names (for a browser)."""
        out = self.html
        for cid, name in self.image_names.items():
            out = out.replace(f'src="cid:{cid}"', f'src="{html.escape(name)}"')
        return out


def new_message_id(from_addr: str | None) -> str:
    domain = parseaddr(from_addr or "")[1].rpartition("@")[2] or "trainsmart.local"
    return make_msgid("trainsmart", domain=domain)


def render_report(settings: Settings, week_start: dt.date, athlete_id: int | None = None) -> RenderedReport:
    """Render the report of the week holding `week_start` (any day of it) for one athlete."""
    week = load_week(settings, week_of(week_start), athlete_id)
    return build_report(week, default_from=settings.report_from, default_to=settings.report_to)


def build_report(week: WeekData, default_from: str | None = None, default_to: tuple[str, ...] = ()) -> RenderedReport:
    monday = week.week_start
    pngs = ch.render_charts(week)
    images = {f"{name}-{monday.isoformat()}@trainsmart": png for name, png in pngs.items()}
    names = {cid: f"{monday.isoformat()}-{cid.split('-')[0]}.png" for cid in images}
    cids = {cid.split("-")[0]: cid for cid in images}
    subject = f"trainsmart: your week of {monday.isoformat()}"
    return RenderedReport(week_start=monday, athlete_id=week.athlete_id, subject=subject,
                          text=render_text(week), html=render_html(week, subject, cids), images=images,
                          image_names=names, data=week, default_from=default_from, default_to=tuple(default_to))


def write_report(rendered: RenderedReport, out_dir) -> list[Path]:
    """Write `<monday>.eml`, `<monday>.html` (images by file name) and the PNGs; returns the paths.
    (`rendered.file_stem` replaces `<monday>` when set: `digest-<monday>` for the coach digest.)"""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    monday = rendered.file_stem or rendered.week_start.isoformat()
    written = []
    for cid, png in rendered.images.items():
        path = out / rendered.image_names[cid]
        path.write_bytes(png)
        written.append(path)
    html_path = out / f"{monday}.html"
    html_path.write_text(rendered.file_html(), encoding="utf-8")
    eml_path = out / f"{monday}.eml"
    eml_path.write_bytes(bytes(rendered.message()))
    return [eml_path, html_path, *written]


# -- plain text -----------------------------------------------------------------------------------
def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(text, width=74, initial_indent=first if first is not None else indent,
                         subsequent_indent=indent, break_long_words=False, break_on_hyphens=False) or [indent]


def render_text(week: WeekData) -> str:
    monday, sunday = week.week_start, week.week_end
    L: list[str] = []
    hello = f"Hi {week.athlete_name}, here" if week.athlete_name else "Here"
    L.append(f"trainsmart - your week of {fmt_long_date(monday)}")
    L.append(f"{hello} is how {fmt_day(monday)} to {fmt_day(sunday)} {sunday.year} went.")
    L.append("")
    L.append(headline(week))
    if week.has_training:
        L.append(facts_line(week))
    else:
        L.extend(_wrap(no_training_sentence(week)))
    if not week.is_complete:
        L.append(f"(This week is still running: data up to {fmt_day(week.as_of)}.)")

    if week.flags:
        L += ["", _heading(f"What to change ({len(week.flags)})")]
        for f in week.training_flags:
            L += ["", *_flag_text(f)]
        if week.wellness_flags:
            L += ["", *_wrap(recovery_pointer(week), indent="    ", first="  > ")]
    good = what_went_well(week)
    if good:
        L += ["", _heading("What went well" if week.flags else "No warnings this week - what went well")]
        for g in good:
            L.extend(_wrap(g, indent="    ", first="  + "))
    elif not week.flags and week.has_training:
        L += ["", "No warnings this week."]

    L += ["", _heading(_compare_title(week))]
    L.append(f"{'':26}{'this week':>14}{'4-wk avg':>14}{'change':>9}")
    for c in week.comparisons:
        L.append(f"{c.label[:26]:26}{fmt_value(c.unit, c.value):>14}"
                 f"{fmt_value(c.unit, c.baseline) if c.baseline is not None else '–':>14}{fmt_change(c.change):>9}")

    L += ["", _heading("Intensity of your runs")]
    for line in _intensity_lines(week):
        L.extend(_wrap(line.strip(), indent="    ", first="  "))

    L += ["", _heading("12 weeks of running (km)")]
    values = [(h["week_start"], h["row"]) for h in week.history]
    top = max([float(r.get("run_distance_km") or 0) for _, r in values if r] + [1.0])
    for start, row in values:
        marker = "  <- this week" if start == monday else ""
        if row is None:
            L.append(f"  {fmt_day(start):>10}   no data yet")
            continue
        km = float(row.get("run_distance_km") or 0)
        bar = "#" * int(round(km / top * 30))
        L.append(f"  {fmt_day(start):>10} {km:6.1f}  {bar}{marker}")

    L += ["", _heading("Fitness, fatigue and form")]
    L.extend(_fitness_lines(week))

    L += ["", _heading(RECOVERY_TITLE)]
    L.extend(_recovery_lines(week))

    L += ["", _heading("Consistency, rest and strength")]
    habits = _habit_rows(week)
    width = max(len(label) for label, _ in habits) + 3
    for label, value in habits:
        L.append(f"  {label + ':':{width}}{value}")

    L += ["", _heading("Your activities")]
    if not week.activities:
        L.append("  No activities this week.")
    for day, a in _days_and_activities(week):
        if a is None:
            L.append(f"  {fmt_day(day)}  rest day")
            continue
        quality = " [quality]" if a.is_quality else ""
        L.append(f"  {fmt_day(a.local_date)}  {activity_title(a)}{quality}")
        L.extend(_wrap(" · ".join(activity_details(a)), indent="              "))

    L += ["", "-- ", *_wrap(footer_sentence(week))]
    return "\n".join(L) + "\n"


def _flag_text(f: Flag) -> list[str]:
    title, detail, action = explain_flag(f)
    label = SEVERITY_STYLE.get(f.severity, SEVERITY_STYLE["info"])[0]
    out = _wrap(f"{title}", indent="    ", first=f"[{label}] ")
    described = f.message.strip() or detail
    if described:
        out.extend(_wrap(described, indent="    "))
    out.extend(_wrap(f"Next week: {action}", indent="    "))
    return out


def recovery_pointer(week: WeekData) -> str:
    """One line in "What to change" for the recovery flags, which are explained in the recovery section."""
    titles = "; ".join(explain_flag(f)[0] for f in week.wellness_flags)
    n = len(week.wellness_flags)
    more = "Plus " if week.training_flags else ""
    return (f"{more}{plural(n, 'recovery signal')} ({titles}): explained with what to do under "
            f"“{RECOVERY_TITLE}” below.")


def _recovery_lines(week: WeekData) -> list[str]:
    if not week.has_wellness:
        return [f"  {NO_WELLNESS}"]  # one line, not wrapped
    L: list[str] = []
    for sentence in recovery_sentences(week):
        L.extend(_wrap(sentence, indent="    ", first="  "))
    trend = hrv_trend(week)
    if any(row is not None for _, row in trend):
        L += ["", "  7-day HRV at the end of each week (ms) and your normal range:"]
        for sunday, row in trend:
            marker = "  <- this week" if sunday == week.week_end else ""
            if row is None:
                L.append(f"  {fmt_day(sunday):>10}      –{marker}")
                continue
            band = hrv_range_ms(row)
            normal = f"normal {band[0]:.0f}–{band[1]:.0f}" if band else "no normal range yet"
            below = "  below" if row.get("hrv_suppressed") else ""
            L.append(f"  {fmt_day(sunday):>10} {_exp(row['hrv_7d']):6.0f}  {normal}{below}{marker}")
    L += ["", f"  {'':10}  {'rest HR':>7} {'(usual)':>7} {'HRV ms':>6} {'sleep':>6}  readiness"]
    for day, row in recovery_days(week):
        row = row or {}
        rhr = row.get("resting_hr")
        rhr_text = ("–" if rhr is None else f"{rhr:.0f}") + (" ▲" if row.get("rhr_elevated") else "  ")
        base = row.get("rhr_base")
        hrv = row.get("hrv_rmssd")
        readiness = {"low": "LOW", "normal": "normal"}.get(row.get("readiness"), "–")
        L.append(f"  {fmt_day(day):10}  {rhr_text:>7} {'(' + format(base, '.0f') + ')' if base is not None else '':>7} "
                 f"{'–' if hrv is None else format(hrv, '.0f'):>6} {fmt_hm(row.get('sleep_min')):>6}  {readiness}")
    L.extend(_wrap(READINESS_NOTE, indent="  "))
    for f in week.wellness_flags:
        L += ["", *_flag_text(f)]
    return L


def _days_and_activities(week: WeekData) -> list[tuple[dt.date, Activity | None]]:
    """Every activity in order, with (day, None) for the days without one (up to the as-of date)."""
    if not week.activities:
        return []
    out: list[tuple[dt.date, Activity | None]] = []
    for i in range(7):
        day = week.week_start + dt.timedelta(days=i)
        if day > week.as_of:
            break
        todays = [a for a in week.activities if a.local_date == day]
        out.extend((day, a) for a in todays) if todays else out.append((day, None))
    return out


def _heading(text: str) -> str:
    return f"{text.upper()}\n{'=' * len(text)}"


def _compare_title(week: WeekData) -> str:
    if week.baseline_weeks == 0:
        return "This week (no earlier weeks to compare with yet)"
    if week.baseline_weeks < 4:
        return f"This week vs the {plural(week.baseline_weeks, 'week')} before"
    return "This week vs the 4 weeks before"


def no_training_sentence(week: WeekData) -> str:
    if week.first_week is None or week.week_start < week.first_week:
        return (f"There is no training logged for {fmt_day(week.week_start)} to {fmt_day(week.week_end)}: "
                "your data starts later.")
    return (f"Nothing was recorded from {fmt_day(week.week_start)} to {fmt_day(week.week_end)}. If that was "
            "planned rest, enjoy it; when you start again, begin with a few short, easy runs.")


def _intensity_lines(week: WeekData) -> list[str]:
    mix = week.intensity
    out = []
    if mix.classified_min > 0:
        out.append(f"  Easy {fmt_pct(mix.share('easy'))} · moderate {fmt_pct(mix.share('moderate'))} · "
                   f"hard {fmt_pct(mix.share('hard'))} of {fmt_duration(mix.classified_min)} with heart rate "
                   f"(aim for {fmt_pct(EASY_TARGET)}+ easy).")
        before = week.baseline_intensity
        if before is not None and before.classified_min > 0:
            out.append(f"  The 4 weeks before: easy {fmt_pct(before.share('easy'))} · moderate "
                       f"{fmt_pct(before.share('moderate'))} · hard {fmt_pct(before.share('hard'))}.")
    else:
        out.append("  No run with heart rate this week.")
    if mix.unclassified_min >= 1:
        out.append(f"  {fmt_duration(mix.unclassified_min)} of running without heart rate is not counted here.")
    if week.has_training:
        out.append(f"  Quality sessions (15+ min moderate/hard, races, workouts): "
                   f"{int(week.get('quality_sessions', 0))} (1-2 a week is the sweet spot).")
    return out


def _fitness_numbers(week: WeekData) -> dict:
    if not week.daily:
        return {}
    last = week.daily[-1]
    prev = next((d for d in reversed(week.daily) if d["date"] < week.week_start), None)
    delta = (lambda k: (last[k] or 0) - (prev[k] or 0) if prev else None)
    return {"ctl": last["ctl"], "atl": last["atl"], "tsb": last["tsb"], "acwr": last.get("acwr"),
            "d_ctl": delta("ctl"), "d_atl": delta("atl"), "d_tsb": delta("tsb")}


def _signed(v: float | None, digits: int = 0) -> str:
    if v is None:
        return ""
    return f"{v:+.{digits}f}".replace("-", "−")


def _fitness_lines(week: WeekData) -> list[str]:
    n = _fitness_numbers(week)
    if not n:
        return ["  No load data yet."]
    out = [f"  Fitness (CTL) {n['ctl']:.0f}" + (f" ({_signed(n['d_ctl'])} this week)" if n["d_ctl"] is not None else ""),
           f"  Fatigue (ATL) {n['atl']:.0f}" + (f" ({_signed(n['d_atl'])} this week)" if n["d_atl"] is not None else ""),
           f"  Form (TSB)    {_signed(n['tsb'])}"]
    if n["acwr"] is not None:
        out.append(f"  Load of the last 7 days vs the last 4 weeks (ACWR): {n['acwr']:.2f}")
    out.extend(_wrap(form_sentence(week), indent="  "))
    return out


def form_sentence(week: WeekData) -> str:
    base = ("Fitness is your training load averaged over about six weeks, fatigue over one week; "
            "form is the difference. ")
    days = int(week.get("fatigue_days", 0))
    if days >= 3:
        return base + f"This week form stayed deep below zero for {plural(days, 'day')} in a row: fatigue is piling up."
    if days >= 1:
        return base + (f"Form was far below fitness on {plural(days, 'day')} in a row this week; a day or two like "
                       "that after hard sessions is normal, a longer stretch means fatigue is piling up.")
    tsb = _fitness_numbers(week).get("tsb")
    if tsb is not None and tsb > 5:
        return base + "Form is positive: you are fresh, a good moment for a key session or a race."
    return base + "A little below zero is the normal state of steady training."


def _habit_rows(week: WeekData) -> list[tuple[str, str]]:
    rows = []
    seen = [h for h in week.history if h["row"] is not None]
    consistent = sum(1 for h in seen if h["row"].get("consistent_week"))
    c12 = week.get("consistency_12w")
    if seen:
        rows.append((f"Weeks with {MIN_RUNS_PER_WEEK}+ runs (last {len(seen)})",
                     f"{consistent} of {len(seen)}" + (f" ({fmt_pct(c12)})" if c12 is not None else "")))
    days = int(week.get("days_elapsed", 7) or 7)
    rows.append(("Rest days", f"{int(week.get('rest_days', days))} of {days}"))
    prev = week.previous_week
    strength = int(week.get("strength_sessions", 0))
    rows.append(("Strength sessions", f"{strength}" + (
        f" (week before: {int(prev.get('strength_sessions') or 0)})" if prev is not None else "")))
    if week.get("longest_run_km") is not None:
        rows.append(("Longest run", fmt_km(week.get("longest_run_km"))))
    monotony = week.get("monotony")
    if monotony is not None:
        rows.append(("Monotony (above 2.0: every day alike)", f"{monotony:.2f}"))
    return rows


# -- recovery: HRV, resting heart rate, sleep -------------------------------------------------------
RECOVERY_TITLE = "Recovery: HRV, resting heart rate, sleep"
RECOVERY_NOTE = ("From your Garmin watch. HRV is the 7-day average of ln rMSSD, shown in ms; the green band is "
                 "your normal range (60-day average ± half its standard deviation, the smallest worthwhile change).")
READINESS_NOTE = (f"▲ resting heart rate {RHR_MARGIN}+ bpm above your usual (its 60-day average) · LOW readiness: "
                  "HRV below or resting heart rate above your normal range.")


def _exp(v: float | None) -> float | None:
    return math.exp(v) if v is not None else None


def hrv_range_ms(day: dict) -> tuple[float, float] | None:
    """The day's normal HRV range in ms: exp(baseline mean ± 0.5 × SD of ln rMSSD)."""
    m, sd = day.get("hrv_base_mean"), day.get("hrv_base_sd")
    if m is None or sd is None:
        return None
    return math.exp(m - 0.5 * sd), math.exp(m + 0.5 * sd)


def recovery_numbers(week: WeekData) -> dict:
    """The week's wellness in a few numbers (from its daily_wellness rows)."""
    days = week.wellness_week
    hrv = [d for d in days if d.get("hrv_7d") is not None]
    last = hrv[-1] if hrv else None
    rhr = [d["resting_hr"] for d in days if d.get("resting_hr") is not None]
    sleep = [d["sleep_min"] for d in days if d.get("sleep_min") is not None]
    return {
        "hrv_7d_ms": _exp(last["hrv_7d"]) if last else None,
        "hrv_last": last,
        "hrv_range": hrv_range_ms(last) if last else None,
        "hrv_nights": sum(1 for d in days if d.get("hrv_rmssd") is not None),
        "hrv_ranged_days": sum(1 for d in hrv if hrv_range_ms(d) is not None),
        "hrv_suppressed_days": sum(1 for d in days if d.get("hrv_suppressed")),
        "avg_rhr": sum(rhr) / len(rhr) if rhr else None,
        "rhr_base": next((d["rhr_base"] for d in reversed(days) if d.get("rhr_base") is not None), None),
        "rhr_elevated_days": sum(1 for d in days if d.get("rhr_elevated")),
        "sleep_nights": len(sleep),
        "avg_sleep_min": sum(sleep) / len(sleep) if sleep else None,
        "low_days": [d["date"] for d in days if d.get("readiness") == "low"],
        "rated_days": sum(1 for d in days if d.get("readiness") is not None),
    }


def _day_list(days: list[dt.date]) -> str:
    names = [f"{d:%a}" for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def recovery_sentences(week: WeekData) -> list[str]:
    """What the week's HRV, resting heart rate, sleep and readiness were, in plain words."""
    r = recovery_numbers(week)
    out = []
    if r["hrv_7d_ms"] is not None and r["hrv_range"] is not None:
        lo, hi = r["hrv_range"]
        where = ("below" if r["hrv_last"].get("hrv_suppressed") else "above" if r["hrv_7d_ms"] > hi else "within")
        if where != "within" and round(lo) <= round(r["hrv_7d_ms"]) <= round(hi):
            where = "just " + where  # 53.4 against 50–53.3: not "53, above 50–53"
        sentence = (f"HRV: your 7-day average ended the week at {r['hrv_7d_ms']:.0f} ms, {where} your normal range "
                    f"of {lo:.0f}–{hi:.0f} ms")
        if r["hrv_suppressed_days"]:
            sentence += f"; it was below the range on {plural(r['hrv_suppressed_days'], 'day')} this week"
        out.append(sentence + ".")
    elif r["hrv_7d_ms"] is not None:
        out.append(f"HRV: your 7-day average ended the week at {r['hrv_7d_ms']:.0f} ms. Your normal range needs 30 "
                   "nights with HRV in the 60 days before; until then there is nothing to compare it with.")
    elif r["hrv_nights"]:
        out.append(f"HRV on {plural(r['hrv_nights'], 'night')}; the 7-day average needs 4 nights out of 7.")
    else:
        out.append("No HRV recorded this week.")
    if r["avg_rhr"] is not None:
        sentence = f"Resting heart rate: {r['avg_rhr']:.0f} bpm on average"
        if r["rhr_base"] is not None:
            sentence += f" (your usual: {r['rhr_base']:.0f} bpm)"
        if r["rhr_elevated_days"]:
            sentence += f"; {RHR_MARGIN}+ bpm above your usual on {plural(r['rhr_elevated_days'], 'day')}"
        out.append(sentence + ".")
    else:
        out.append("No resting heart rate recorded this week.")
    if r["avg_sleep_min"] is not None:
        short = " (under 7 hours)" if r["avg_sleep_min"] < SLEEP_TARGET_MIN else ""
        out.append(f"Sleep: {fmt_sleep(r['avg_sleep_min'])} a night on average{short}, "
                   f"{plural(r['sleep_nights'], 'night')} recorded.")
    else:
        out.append("No sleep recorded this week.")
    if r["low_days"]:
        when = "every day" if len(r["low_days"]) == len(week.wellness_week) == 7 else f"on {_day_list(r['low_days'])}"
        out.append(f"Readiness was low {when}: HRV below or resting heart rate above your normal range.")
    elif r["rated_days"]:
        out.append("Readiness was normal on every day with enough data.")
    return out


def recovery_days(week: WeekData) -> list[tuple[dt.date, dict | None]]:
    """(day, its daily_wellness row or None) for Monday..Sunday up to the as-of date."""
    by_day = {d["date"]: d for d in week.wellness_week}
    out = []
    for i in range(7):
        day = week.week_start + dt.timedelta(days=i)
        if day > week.as_of:
            break
        out.append((day, by_day.get(day)))
    return out


def hrv_trend(week: WeekData) -> list[tuple[dt.date, dict | None]]:
    """(Sunday, the last row with a 7-day HRV in that week) for the weeks of the HRV chart."""
    out = []
    mondays = sorted({w["date"] - dt.timedelta(days=w["date"].weekday()) for w in week.wellness})
    for monday in mondays:
        rows = [w for w in week.wellness if monday <= w["date"] <= monday + dt.timedelta(days=6)
                and w.get("hrv_7d") is not None]
        out.append((monday + dt.timedelta(days=6), rows[-1] if rows else None))
    return out


def footer_sentence(week: WeekData) -> str:
    sources = "Strava and Garmin data" if week.has_wellness else "Strava data"
    return (f"Made by trainsmart from your {sources} up to {fmt_day(week.as_of)} {week.as_of.year}. "
            "These numbers describe training-load patterns; they are not medical advice. "
            "If something hurts, rest and ask a professional.")


# -- HTML -----------------------------------------------------------------------------------------
E = html.escape
INK, MUTED, LINE, PAGE = "#1f2933", "#5f6b7a", "#e4e8ee", "#f1f3f5"


def _p(text: str, style: str = "") -> str:
    return f'<p style="margin:0 0 10px;font-size:15px;line-height:22px;color:{INK};{style}">{text}</p>'


def _section(title: str, body: str, subtitle: str | None = None) -> str:
    sub = (f'<p style="margin:2px 0 0;font-size:13px;line-height:18px;color:{MUTED};">{E(subtitle)}</p>'
           if subtitle else "")
    return (f'<tr><td style="padding:22px 24px 4px;font-family:{FONT};">'
            f'<h2 style="margin:0;font-size:18px;line-height:24px;color:{INK};font-weight:700;">{E(title)}</h2>{sub}'
            f'<div style="height:12px;line-height:12px;font-size:1px;">&nbsp;</div>{body}</td></tr>')


def _img(cids: dict[str, str], name: str) -> str:
    if name not in cids:
        return ""
    return (f'<img src="cid:{cids[name]}" width="552" alt="{E(CHART_ALT[name])}" '
            f'style="display:block;width:100%;max-width:552px;height:auto;border:0;outline:none;">')


def _tile(label: str, value: str, note: str = "", color: str = INK) -> str:
    return (f'<td width="33%" valign="top" style="padding:10px 8px;background:#f8f9fa;border-radius:6px;'
            f'font-family:{FONT};" bgcolor="#f8f9fa">'
            f'<div style="font-size:12px;line-height:16px;color:{MUTED};text-transform:uppercase;letter-spacing:.04em;">'
            f'{E(label)}</div>'
            f'<div style="font-size:22px;line-height:30px;font-weight:700;color:{color};white-space:nowrap;">{E(value)}</div>'
            f'<div style="font-size:12px;line-height:16px;color:{MUTED};">{E(note) or "&nbsp;"}</div></td>')


def _tiles(tiles: list[str]) -> str:
    gap = '<td width="8" style="width:8px;font-size:1px;">&nbsp;</td>'
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>'
            + gap.join(tiles) + "</tr></table>")


def _change_note(week: WeekData, key: str) -> str:
    c = next((c for c in week.comparisons if c.key == key), None)
    if c is None or c.change is None:
        return ""
    return f"{fmt_change(c.change)} vs 4-wk avg" if week.baseline_weeks >= 4 else f"{fmt_change(c.change)} vs before"


def _flag_card(f: Flag) -> str:
    title, detail, action = explain_flag(f)
    label, accent, bg = SEVERITY_STYLE.get(f.severity, SEVERITY_STYLE["info"])
    parts = [
        f'<span style="display:inline-block;padding:1px 8px;border-radius:10px;background:{accent};color:#ffffff;'
        f'font-size:11px;line-height:18px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;">{E(label)}</span>',
        f'<div style="margin:6px 0 4px;font-size:16px;line-height:22px;font-weight:700;color:{INK};">{E(title)}</div>',
    ]
    described = f.message.strip() or detail  # the mart's message; our own sentence only when it has none
    if described:
        parts.append(f'<div style="font-size:14px;line-height:20px;color:{INK};margin-bottom:6px;">{E(described)}</div>')
    parts.append(f'<div style="font-size:14px;line-height:20px;color:{INK};"><strong>Next week:</strong> {E(action)}</div>')
    return ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            'style="margin:0 0 10px;border-collapse:separate;">'
            f'<tr><td width="4" bgcolor="{accent}" style="width:4px;background:{accent};border-radius:3px 0 0 3px;'
            f'font-size:1px;">&nbsp;</td>'
            f'<td bgcolor="{bg}" style="padding:12px 14px;background:{bg};border-radius:0 6px 6px 0;font-family:{FONT};">'
            + "".join(parts) + "</td></tr></table>")


def _rows_table(rows: list[list[str]], header: list[str] | None = None, align: list[str] | None = None) -> str:
    """rows of already-escaped cell HTML."""
    align = align or ["left"] + ["right"] * (len(rows[0]) - 1 if rows else 0)
    out = ['<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
           'style="border-collapse:collapse;">']
    if header:
        out.append("<tr>" + "".join(
            f'<td align="{a}" style="padding:6px 4px;border-bottom:2px solid {LINE};font-family:{FONT};font-size:12px;'
            f'line-height:16px;color:{MUTED};text-transform:uppercase;letter-spacing:.04em;">{h}</td>'
            for h, a in zip(header, align)) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td align="{a}" style="padding:7px 4px;border-bottom:1px solid {LINE};font-family:{FONT};font-size:14px;'
            f'line-height:20px;color:{INK};{"white-space:nowrap;" if a == "right" else ""}">{cell}</td>'
            for cell, a in zip(row, align)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _badge(text: str, color: str, background: str) -> str:
    return (f'<span style="display:inline-block;padding:0 6px;border-radius:8px;background:{background};'
            f'color:{color};font-size:11px;line-height:16px;font-weight:700;">{E(text)}</span>')


def _nowrap_ranges(escaped: str) -> str:
    """Keep "50–53 ms" on one line (browsers break after an en dash)."""
    return re.sub(r"(\d+–\d+ ms)", r'<span style="white-space:nowrap;">\1</span>', escaped)


def _recovery_html(week: WeekData, cids: dict[str, str]) -> str:
    if not week.has_wellness:
        code = ('<code style="font-family:Menlo,Consolas,monospace;font-size:13px;background:#f1f3f5;'
                'padding:1px 4px;border-radius:3px;">')
        line = E(NO_WELLNESS).replace("`trainsmart sync`", f"{code}trainsmart sync</code>")
        return _section(RECOVERY_TITLE, _p(line, f"font-size:14px;line-height:20px;color:{MUTED};"))
    parts = [_img(cids, "hrv")]
    if "hrv" in cids:
        parts.append('<div style="height:8px;line-height:8px;font-size:1px;">&nbsp;</div>')
    parts.extend(_p(_nowrap_ranges(E(sentence)), "font-size:14px;line-height:20px;margin:0 0 6px;")
                 for sentence in recovery_sentences(week))
    rows = []
    for day, row in recovery_days(week):
        row = row or {}
        rhr, base = row.get("resting_hr"), row.get("rhr_base")
        if rhr is None:
            rhr_cell = f'<span style="color:{MUTED};">–</span>'
        elif row.get("rhr_elevated"):
            rhr_cell = f'<strong style="color:{ch.HRV_LOW};">{rhr:.0f}&nbsp;▲</strong>'
        else:
            rhr_cell = f"{rhr:.0f}"
        if base is not None:
            rhr_cell += f' <span style="color:{MUTED};font-size:13px;">({base:.0f})</span>'
        hrv = row.get("hrv_rmssd")
        readiness = row.get("readiness")
        if readiness == "low":
            ready_cell = _badge("LOW", "#c92a2a", "#fff5f5")
        elif readiness == "normal":
            ready_cell = f'<span style="color:{MUTED};">normal</span>'
        else:
            ready_cell = f'<span style="color:{MUTED};">–</span>'
        rows.append([f'<span style="color:{MUTED};white-space:nowrap;">{E(fmt_day(day))}</span>', rhr_cell,
                     "–" if hrv is None else f"{hrv:.0f}", E(fmt_hm(row.get("sleep_min"))), ready_cell])
    parts.append('<div style="height:6px;line-height:6px;font-size:1px;">&nbsp;</div>')
    parts.append(_rows_table(rows, ["Day", "Resting HR (usual)", "HRV ms", "Sleep h:mm", "Readiness"],
                             ["left", "right", "right", "right", "right"]))
    parts.append(_p(E(READINESS_NOTE), f"font-size:12px;line-height:17px;color:{MUTED};margin:8px 0 12px;"))
    parts.extend(_flag_card(f) for f in week.wellness_flags)
    return _section(RECOVERY_TITLE, "".join(parts), RECOVERY_NOTE)


def render_html(week: WeekData, subject: str, cids: dict[str, str]) -> str:
    monday, sunday = week.week_start, week.week_end
    body: list[str] = []

    # header
    hello = f"Hi {E(week.athlete_name)}, here" if week.athlete_name else "Here"
    verdict_color = "#c92a2a" if any(f.severity == "alert" for f in week.flags) else INK
    header = [
        f'<div style="font-size:12px;line-height:16px;color:{MUTED};letter-spacing:.08em;text-transform:uppercase;'
        f'font-weight:700;">trainsmart · weekly report</div>',
        f'<h1 style="margin:6px 0 4px;font-size:26px;line-height:32px;color:{INK};font-weight:800;">'
        f'Your week of {E(f"{monday.day} {monday:%B %Y}")}</h1>',
        f'<div style="font-size:14px;line-height:20px;color:{MUTED};margin-bottom:14px;">{hello} is how '
        f'{E(fmt_day(monday))} to {E(fmt_day(sunday))} went.</div>',
        _p(f"<strong>{E(headline(week))}</strong>", f"font-size:17px;line-height:24px;color:{verdict_color};"),
    ]
    if not week.is_complete:
        header.append(_p(E(f"This week is still running: data up to {fmt_day(week.as_of)}."), f"color:{MUTED};"))
    if week.has_training:
        header.append(_tiles([
            _tile("Distance", fmt_km(week.get("run_distance_km", 0.0)), _change_note(week, "run_distance_km"), ch.ACCENT),
            _tile("Time", fmt_duration_short(week.get("run_moving_min", 0.0)), _change_note(week, "run_moving_min")),
            _tile("Runs", f"{int(week.get('run_count', 0))}", _change_note(week, "run_count")),
        ]))
    else:
        header.append(_p(E(no_training_sentence(week))))
    body.append(f'<tr><td style="padding:26px 24px 4px;font-family:{FONT};">{"".join(header)}</td></tr>')

    # flags, what went well
    if week.flags:
        cards = "".join(_flag_card(f) for f in week.training_flags)
        if week.wellness_flags:
            cards += _p(E(recovery_pointer(week)), f"font-size:14px;line-height:20px;color:{MUTED};")
        body.append(_section(f"What to change ({len(week.flags)})", cards,
                             "Most important first. Patterns in your training log, with a suggestion for each."))
    good = what_went_well(week)
    if good:
        items = "".join(
            f'<tr><td width="24" valign="top" style="padding:3px 0;font-family:{FONT};font-size:15px;line-height:21px;'
            f'color:#2f9e44;font-weight:700;">✓</td><td style="padding:3px 0;font-family:{FONT};font-size:15px;'
            f'line-height:21px;color:{INK};">{E(g)}</td></tr>' for g in good)
        body.append(_section("What went well" if week.flags else "No warnings this week: what went well",
                             f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">{items}</table>'))

    # this week vs before
    rows = []
    for c in week.comparisons:
        change = fmt_change(c.change)
        rows.append([E(c.label), f"<strong>{E(fmt_value(c.unit, c.value, short=True))}</strong>",
                     E(fmt_value(c.unit, c.baseline, short=True)) if c.baseline is not None else "–",
                     f'<span style="color:{MUTED};">{E(change)}</span>'])
    body.append(_section(_compare_title(week), _rows_table(rows, ["", "This week", "4-wk avg", "Change"])))

    # volume
    if "volume" in cids:
        vol_note = "This week in orange; the dashed line is your average of the 4 weeks before."
        body.append(_section("12 weeks of running", _img(cids, "volume"), vol_note))

    # intensity
    intensity_body = _img(cids, "intensity") + "".join(
        _p(E(line.strip()), "font-size:14px;line-height:20px;margin:8px 0 0;") for line in _intensity_lines(week))
    body.append(_section("Intensity of your runs", intensity_body,
                         "Easy, moderate and hard from your heart rate (hard = at or above your threshold)."))

    # fitness
    n = _fitness_numbers(week)
    if n:
        fit = _tiles([
            _tile("Fitness (CTL)", f"{n['ctl']:.0f}", f"{_signed(n['d_ctl'])} this week" if n["d_ctl"] is not None else "",
                  ch.FITNESS),
            _tile("Fatigue (ATL)", f"{n['atl']:.0f}", f"{_signed(n['d_atl'])} this week" if n["d_atl"] is not None else "",
                  ch.FATIGUE),
            _tile("Form (TSB)", _signed(n["tsb"]), f"ACWR {n['acwr']:.2f}" if n["acwr"] is not None else "",
                  ch.FORM_POS if n["tsb"] >= 0 else ch.FORM_NEG),
        ])
        body.append(_section("Fitness, fatigue and form", _img(cids, "fitness")
                             + '<div style="height:10px;line-height:10px;font-size:1px;">&nbsp;</div>' + fit
                             + _p(E(form_sentence(week)), f"font-size:13px;line-height:19px;color:{MUTED};margin:10px 0 0;"),
                             "ACWR: load of the last 7 days against your weekly average of the last 4 weeks."))

    # recovery
    body.append(_recovery_html(week, cids))

    # habits
    habit_rows = [[E(label), f"<strong>{E(value)}</strong>"] for label, value in _habit_rows(week)]
    body.append(_section("Consistency, rest and strength", _rows_table(habit_rows)))

    # activities
    if week.activities:
        act_rows = []
        for day, a in _days_and_activities(week):
            if a is None:
                act_rows.append([f'<span style="color:{MUTED};white-space:nowrap;">{E(fmt_day(day))}</span>',
                                 f'<span style="color:{MUTED};">Rest day</span>'])
                continue
            badge = (' <span style="display:inline-block;padding:0 6px;border-radius:8px;background:#fff4e6;'
                     'color:#d9480f;font-size:11px;line-height:16px;font-weight:700;">QUALITY</span>'
                     if a.is_quality else "")
            act_rows.append([
                f'<span style="color:{MUTED};white-space:nowrap;">{E(fmt_day(a.local_date))}</span>',
                f'<strong>{E(activity_title(a))}</strong>{badge}<br>'
                f'<span style="font-size:13px;color:{MUTED};">{E(" · ".join(activity_details(a)))}</span>',
            ])
        acts = _rows_table(act_rows, align=["left", "left"]).replace(
            '<td align="left" style="padding:7px 4px;', '<td align="left" valign="top" style="padding:7px 4px;')
    else:
        acts = _p("No activities this week.", f"color:{MUTED};")
    body.append(_section("Your activities", acts))

    footer = (f'<tr><td style="padding:22px 24px 26px;font-family:{FONT};font-size:12px;line-height:18px;color:{MUTED};">'
              f'{E(footer_sentence(week))}</td></tr>')
    preheader = headline(week) + (" " + facts_line(week) if week.has_training else "")
    return page_html(subject, preheader, body + [footer])


def page_html(subject: str, preheader: str, rows: list[str]) -> str:
    """The email page around `rows` (each a `<tr>` of the 600 px card): doctype, the hidden
    preheader, the grey background. Shared by the weekly report and the coach digest."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light"><meta name="supported-color-schemes" content="light">'
        f'<title>{E(subject)}</title></head>\n'
        f'<body style="margin:0;padding:0;background:{PAGE};-webkit-text-size-adjust:100%;" bgcolor="{PAGE}">\n'
        f'<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">{E(preheader)}</div>\n'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="{PAGE}" '
        f'style="background:{PAGE};"><tr><td align="center" style="padding:16px 8px;">\n'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" bgcolor="#ffffff" '
        'style="width:100%;max-width:600px;background:#ffffff;border-radius:10px;">\n'
        + "\n".join(rows) +
        "\n</table>\n</td></tr></table>\n</body></html>\n")
