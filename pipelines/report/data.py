"""Everything the weekly report shows, read from the read-only snapshot of the marts.

The report never opens the live database (a sync may be writing it) and never takes the
writer lock: it reads `settings.snapshot_path` with `connect_reader`, which every writer
republishes when it is done (pipelines/warehouse.py).

`load_week(settings, week_start, athlete_id=None)` returns a `WeekData` with:
the week's `weekly_training_summary` row; the same numbers averaged over the 4 weeks
before it; the intensity mix; 12 weeks of volume; 12 weeks of daily fitness / fatigue /
form; consistency; the week's flags and activities; and, when `daily_wellness` exists, the
wellness days (HRV, resting HR, sleep, readiness) of the 8 weeks ending on the week's
Sunday. A week without training (or before the athlete's first activity) still loads:
`has_training` is False and the report says so; a week without wellness data (or an older
database without `daily_wellness`) has `has_wellness` False.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import ConfigError, Settings
from pipelines.warehouse import connect_reader
from pipelines.report.weeks import ONE_WEEK, week_end, week_of

HISTORY_WEEKS = 12
BASELINE_WEEKS = 4
WELLNESS_WEEKS = 8  # the HRV trend: 8 weeks ending on the week's Sunday
SEVERITY_ORDER = {"alert": 0, "warning": 1, "info": 2}
# within a severity: load, fatigue and the body's signals first, then how the running was done, then habits
FLAG_ORDER = ["overreaching", "hrv_suppressed", "resting_hr_elevated", "trained_on_low_readiness", "deep_fatigue",
              "acwr_high", "volume_spike", "long_run_spike", "no_rest_day", "high_monotony", "easy_share_low",
              "too_many_quality_sessions", "short_sleep", "no_strength", "low_consistency"]
# flags about recovery (METRICS.md section 6): shown in the report's recovery section
WELLNESS_FLAGS = ("hrv_suppressed", "resting_hr_elevated", "short_sleep", "trained_on_low_readiness")
WELLNESS_COLUMNS = ["date", "resting_hr", "hrv_rmssd", "sleep_min", "ln_rmssd", "hrv_7d", "hrv_base_mean",
                    "hrv_base_sd", "hrv_suppressed", "rhr_base", "rhr_elevated", "sleep_7d", "readiness"]

# (column of weekly_training_summary, label, unit kind) for "this week vs the 4 weeks before"
COMPARED = [
    ("run_distance_km", "Running distance", "km"),
    ("run_moving_min", "Running time", "duration"),
    ("run_elevation_gain_m", "Elevation gain", "m"),
    ("run_km_effort", "Km-effort (km + climb/100)", "km"),
    ("run_count", "Runs", "count"),
    ("total_moving_min", "All training time", "duration"),
    ("weekly_load", "Training load (TRIMP)", "load"),
]


class ReportError(ConfigError):
    """The report cannot be made; the message is one sentence a user can act on."""


@dataclass(frozen=True)
class Comparison:
    key: str
    label: str
    unit: str
    value: float | None
    baseline: float | None  # mean of the weeks before (None without any)

    @property
    def change(self) -> float | None:
        """Relative change vs the baseline (0.12 = +12%), None when the baseline is 0 or missing."""
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline - 1


@dataclass(frozen=True)
class Flag:
    flag: str
    severity: str
    value: float | None
    threshold: float | None
    message: str


@dataclass(frozen=True)
class Activity:
    activity_id: int
    name: str | None
    sport_type: str | None
    category: str | None
    start: dt.datetime | None
    local_date: dt.date
    distance_km: float | None
    moving_min: float | None
    elevation_gain_m: float | None
    average_heartrate: float | None
    easy_min: float | None
    moderate_min: float | None
    hard_min: float | None
    unclassified_min: float | None
    trimp: float | None
    is_quality: bool
    long_run_spike_ratio: float | None


@dataclass(frozen=True)
class Intensity:
    easy_min: float
    moderate_min: float
    hard_min: float
    unclassified_min: float

    @property
    def classified_min(self) -> float:
        return self.easy_min + self.moderate_min + self.hard_min

    def share(self, zone: str) -> float | None:
        total = self.classified_min
        return getattr(self, f"{zone}_min") / total if total > 0 else None

    @property
    def easy_share(self) -> float | None:
        return self.share("easy")


@dataclass
class WeekData:
    week_start: dt.date
    as_of: dt.date
    athlete_id: int | None
    athlete_name: str | None
    summary: dict[str, Any] | None            # the week's weekly_training_summary row
    baseline_weeks: int                       # weeks (0..4) in the baseline mean
    comparisons: list[Comparison]
    intensity: Intensity
    baseline_intensity: Intensity | None      # summed over the baseline weeks
    history: list[dict[str, Any]]             # 12 weeks ending with this one; {"week_start", "row"|None}
    daily: list[dict[str, Any]]               # date, load, ctl, atl, tsb, acwr over the 12 weeks
    flags: list[Flag]
    activities: list[Activity]
    first_week: dt.date | None = None         # the athlete's first week with data
    notes: list[str] = field(default_factory=list)
    wellness: list[dict[str, Any]] = field(default_factory=list)  # daily_wellness rows, 8 weeks to Sunday
    has_wellness_table: bool = False          # False on an older database without daily_wellness

    @property
    def week_end(self) -> dt.date:
        return week_end(self.week_start)

    @property
    def is_complete(self) -> bool:
        return self.week_end <= self.as_of

    @property
    def has_training(self) -> bool:
        if self.activities:
            return True
        s = self.summary or {}
        return bool((s.get("total_moving_min") or 0) > 0 or (s.get("run_count") or 0) > 0)

    def get(self, column: str, default=None):
        """A column of the week's summary row (default when absent or null)."""
        value = (self.summary or {}).get(column)
        return default if value is None else value

    @property
    def wellness_week(self) -> list[dict[str, Any]]:
        """The week's daily_wellness rows (Monday..Sunday, up to the as-of date)."""
        return [w for w in self.wellness if self.week_start <= w["date"] <= self.week_end]

    @property
    def has_wellness(self) -> bool:
        """Any HRV, resting HR or sleep value on a day of this week."""
        return any(w.get("resting_hr") is not None or w.get("hrv_rmssd") is not None or w.get("sleep_min") is not None
                   for w in self.wellness_week)

    @property
    def wellness_flags(self) -> list[Flag]:
        return [f for f in self.flags if f.flag in WELLNESS_FLAGS]

    @property
    def training_flags(self) -> list[Flag]:
        """The flags other than the recovery ones (overreaching stays here: it is about load too)."""
        return [f for f in self.flags if f.flag not in WELLNESS_FLAGS]

    @property
    def runs(self) -> list[Activity]:
        return [a for a in self.activities if a.category == "run"]

    @property
    def previous_week(self) -> dict[str, Any] | None:
        return self.history[-2]["row"] if len(self.history) >= 2 else None


# -- reading ----------------------------------------------------------------------------------
def open_snapshot(settings: Settings) -> duckdb.DuckDBPyConnection:
    path: Path = settings.snapshot_path
    if not path.exists():
        raise ReportError(
            f"There is no data to report on yet ({path} does not exist); run `trainsmart sync`, "
            "`trainsmart import-export` or `trainsmart build` first.")
    try:
        return connect_reader(path)
    except duckdb.Error as e:
        raise ReportError(f"Could not open the database snapshot {path} ({e}); run `trainsmart build` again.") from None


def _tables(con) -> dict[str, set[str]]:
    """{"schema.table": {columns}} for the tables the report may read."""
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('main', 'raw')").fetchall()
    out: dict[str, set[str]] = {}
    for schema, table, column in rows:
        out.setdefault(f"{schema}.{table}", set()).add(column.lower())
    return out


def _dicts(cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def resolve_athlete(con, tables: dict[str, set[str]], athlete_id: int | None) -> int | None:
    """The athlete to report on: the one asked for, else the only (or most recently active) one."""
    if athlete_id is not None:
        return int(athlete_id)
    if "main.weekly_training_summary" not in tables:
        return None
    ids = [r[0] for r in con.execute(
        "select distinct athlete_id from main.weekly_training_summary where athlete_id is not null").fetchall()]
    if len(ids) <= 1:
        return ids[0] if ids else None
    if "raw.athlete" in tables:  # the athlete who authorized trainsmart
        row = con.execute("select athlete_id from raw.athlete order by fetched_at desc limit 1").fetchone()
        if row and row[0] in ids:
            return int(row[0])
    row = con.execute(
        "select athlete_id from main.weekly_training_summary where athlete_id is not null "
        "group by athlete_id order by max(week_start) desc, count(*) desc, athlete_id limit 1").fetchone()
    return int(row[0]) if row else None


def _athlete_name(con, tables, athlete_id) -> str | None:
    if athlete_id is None or "raw.athlete" not in tables:
        return None
    try:
        row = con.execute("select json->>'firstname' from raw.athlete where athlete_id = ?", [athlete_id]).fetchone()
    except duckdb.Error:
        return None
    name = (row[0] or "").strip() if row else ""
    return name or None


def _require_models(settings: Settings, tables: dict[str, set[str]]) -> None:
    if "main.weekly_training_summary" not in tables:
        raise ReportError(
            "The training models have not been built yet (no weekly_training_summary table in "
            f"{settings.snapshot_path}); run `trainsmart build` first.")


def check_snapshot(settings: Settings) -> None:
    """Raise the one ReportError load_week would raise for every athlete (no snapshot, no models), once."""
    con = open_snapshot(settings)
    try:
        _require_models(settings, _tables(con))
    finally:
        con.close()


def load_week(settings: Settings, week_start: dt.date, athlete_id: int | None = None,
              as_of: dt.date | None = None) -> WeekData:
    """Read one week (Monday start) for one athlete from the snapshot."""
    week_start = week_of(week_start)
    as_of = as_of or settings.as_of or dt.date.today()
    con = open_snapshot(settings)
    try:
        tables = _tables(con)
        _require_models(settings, tables)
        athlete_id = resolve_athlete(con, tables, athlete_id)
        return _load(con, tables, week_start, as_of, athlete_id)
    finally:
        con.close()


def _load(con, tables, week_start: dt.date, as_of: dt.date, athlete_id: int | None) -> WeekData:
    first = week_start - (HISTORY_WEEKS - 1) * ONE_WEEK
    rows = _dicts(con.execute(
        "select * from main.weekly_training_summary where athlete_id is not distinct from ? "
        "and week_start between ? and ? order by week_start", [athlete_id, first, week_start]))
    by_week = {_as_date(r["week_start"]): r for r in rows}
    first_week_row = con.execute(
        "select min(week_start) from main.weekly_training_summary where athlete_id is not distinct from ?",
        [athlete_id]).fetchone()
    first_week = _as_date(first_week_row[0]) if first_week_row else None

    summary = by_week.get(week_start)
    history = [{"week_start": first + i * ONE_WEEK, "row": by_week.get(first + i * ONE_WEEK)}
               for i in range(HISTORY_WEEKS)]
    baseline_rows = [h["row"] for h in history[-1 - BASELINE_WEEKS:-1] if h["row"] is not None]

    comparisons = []
    for key, label, unit in COMPARED:
        value = _num((summary or {}).get(key), 0.0)
        base = None
        if baseline_rows:
            base = sum(_num(r.get(key), 0.0) for r in baseline_rows) / len(baseline_rows)
        comparisons.append(Comparison(key, label, unit, value, base))

    intensity = _intensity([summary] if summary else [])
    baseline_intensity = _intensity(baseline_rows) if baseline_rows else None

    daily = []
    if "main.daily_training_load" in tables:
        daily = _dicts(con.execute(
            "select date, load, ctl, atl, tsb, acwr from main.daily_training_load "
            "where athlete_id is not distinct from ? and date between ? and ? order by date",
            [athlete_id, first, week_end(week_start)]))
        for d in daily:
            d["date"] = _as_date(d["date"])

    flags = []
    if "main.training_flags" in tables:
        flag_rows = _dicts(con.execute(
            "select flag, severity, value, threshold, message from main.training_flags "
            "where athlete_id is not distinct from ? and week_start = ?", [athlete_id, week_start]))
        flags = [Flag(str(r["flag"]), str(r["severity"] or "info").lower(), _num(r["value"]), _num(r["threshold"]),
                      str(r["message"] or "")) for r in flag_rows]
        flags.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9),
                                  FLAG_ORDER.index(f.flag) if f.flag in FLAG_ORDER else len(FLAG_ORDER), f.flag))

    activities = _activities(con, tables, athlete_id, week_start) if "main.activities" in tables else []
    wellness = _wellness(con, tables, athlete_id, week_start) if "main.daily_wellness" in tables else []

    return WeekData(
        week_start=week_start, as_of=as_of, athlete_id=athlete_id,
        athlete_name=_athlete_name(con, tables, athlete_id), summary=summary,
        baseline_weeks=len(baseline_rows), comparisons=comparisons, intensity=intensity,
        baseline_intensity=baseline_intensity, history=history, daily=daily, flags=flags,
        activities=activities, first_week=first_week, wellness=wellness,
        has_wellness_table="main.daily_wellness" in tables)


def _wellness(con, tables, athlete_id, week_start) -> list[dict[str, Any]]:
    """daily_wellness over the WELLNESS_WEEKS weeks ending on the week's Sunday (columns the
    table lacks read as null / false), numbers as floats, booleans never null."""
    cols = tables["main.daily_wellness"]
    if "date" not in cols:
        return []
    select = [c if c in cols else f"null as {c}" for c in WELLNESS_COLUMNS]
    first = week_start - (WELLNESS_WEEKS - 1) * ONE_WEEK
    rows = _dicts(con.execute(
        f"select {', '.join(select)} from main.daily_wellness where athlete_id is not distinct from ? "
        "and date between ? and ? order by date", [athlete_id, first, week_end(week_start)]))
    for r in rows:
        r["date"] = _as_date(r["date"])
        for key in ("resting_hr", "hrv_rmssd", "sleep_min", "ln_rmssd", "hrv_7d", "hrv_base_mean", "hrv_base_sd",
                    "rhr_base", "sleep_7d"):
            r[key] = _num(r[key])
        r["hrv_suppressed"] = bool(r["hrv_suppressed"])
        r["rhr_elevated"] = bool(r["rhr_elevated"])
        r["readiness"] = str(r["readiness"]).lower() if r["readiness"] is not None else None
    return rows


def _num(value, default=None) -> float | None:
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _intensity(rows: list[dict]) -> Intensity:
    return Intensity(*(sum(_num(r.get(f"{z}_min"), 0.0) for r in rows)
                       for z in ("easy", "moderate", "hard", "unclassified")))


ACTIVITY_COLUMNS = ["activity_id", "sport_type", "category", "start_date_local", "local_date", "distance_km",
                    "moving_min", "elevation_gain_m", "average_heartrate", "easy_min", "moderate_min", "hard_min",
                    "unclassified_min", "trimp", "is_quality", "long_run_spike_ratio"]


def _activities(con, tables, athlete_id, week_start) -> list[Activity]:
    cols = tables["main.activities"]
    select = [f"a.{c}" if c in cols else f"null as {c}" for c in ACTIVITY_COLUMNS]
    join = ""
    if "name" in cols:
        select.append("a.name")
    elif "raw.activities" in tables:
        # the name lives in the raw JSON; the API row wins over an export row of the same activity
        if "source" in cols:
            join = (" left join (select source, activity_id, json->>'name' as name from raw.activities) r "
                    "on r.source = a.source and r.activity_id = a.activity_id")
        else:
            join = (" left join (select activity_id, arg_min(json->>'name', case source when 'api' then 0 else 1 end)"
                    " as name from raw.activities group by activity_id) r on r.activity_id = a.activity_id")
        select.append("r.name")
    else:
        select.append("null as name")
    sql = (f"select {', '.join(select)} from main.activities a{join} "
           "where a.athlete_id is not distinct from ? and a.week_start = ? "
           "order by a.start_date_local, a.activity_id")
    out = []
    for r in _dicts(con.execute(sql, [athlete_id, week_start])):
        start = r["start_date_local"]
        if start is not None and not isinstance(start, dt.datetime):
            try:
                start = dt.datetime.fromisoformat(str(start).replace("Z", ""))
            except ValueError:
                start = None
        local_date = _as_date(r["local_date"]) or (start.date() if start else week_start)
        out.append(Activity(
            activity_id=int(r["activity_id"]), name=r["name"], sport_type=r["sport_type"], category=r["category"],
            start=start, local_date=local_date, distance_km=_num(r["distance_km"]), moving_min=_num(r["moving_min"]),
            elevation_gain_m=_num(r["elevation_gain_m"]), average_heartrate=_num(r["average_heartrate"]),
            easy_min=_num(r["easy_min"]), moderate_min=_num(r["moderate_min"]), hard_min=_num(r["hard_min"]),
            unclassified_min=_num(r["unclassified_min"]), trimp=_num(r["trimp"]), is_quality=bool(r["is_quality"]),
            long_run_spike_ratio=_num(r["long_run_spike_ratio"])))
    return out
