"""A small hand-made warehouse for report tests and previews (no Strava, no dbt needed).

`build_fixture_db(db_path, snapshot_path)` writes the four marts the report reads
(`activities`, `daily_training_load`, `weekly_training_summary`, `training_flags`) plus
`raw.activities` (for the names) and `raw.athlete`, for one athlete over half a year
ending on Sunday 2026-11-22, then publishes the snapshot like every writer does.

The numbers follow METRICS.md closely enough to be coherent (they are computed here from
the hand-made activities), but the dbt models, not this file, are the reference.

Weeks worth knowing:
* REPORT_WEEK (2026-11-16): a mileage jump, a run every day, too much intensity, a long
  run spike and an activity named `<script>alert(1)</script>` -> several flags, overreaching.
* CLEAN_WEEK (2026-11-09): a balanced week that raises no flag.
* EMPTY_WEEK (2026-09-14): a holiday without any activity (rows exist, all zero).
* Weeks before FIRST_DAY have no rows at all.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb

from pipelines.warehouse import publish_snapshot

ATHLETE_ID = 4242
FIRST_DAY = dt.date(2026, 6, 1)          # a Monday
AS_OF = dt.date(2026, 11, 23)            # the Monday the report goes out
REPORT_WEEK = dt.date(2026, 11, 16)
CLEAN_WEEK = dt.date(2026, 11, 9)
EMPTY_WEEK = dt.date(2026, 9, 14)
XSS_NAME = "<script>alert(1)</script>"
HR_MAX, HR_REST = 188, 48
LTHR = round(0.89 * HR_MAX)

# weekday -> (sport_type, name, km, climb m, kind); kind: easy | quality | long | strength | ride
BASE_WEEK = {
    1: ("Run", "Easy run along the lake", 8.0, 40, "easy"),
    2: ("WeightTraining", "Strength: legs & core", 0, 0, "strength"),
    3: ("Run", "Intervals 6 × 800 m", 10.0, 60, "quality"),
    5: ("TrailRun", "Long run — Uetliberg & back", 16.0, 420, "long"),
    6: ("Run", "Recovery jog", 6.0, 20, "easy"),
}
REPORT_WEEK_PLAN = {
    0: ("Run", "Tempo 3 × 10 min", 10.0, 60, "quality"),
    1: ("Run", XSS_NAME, 9.0, 40, "easy"),
    2: ("Run", "Hills & coffee ☕", 9.0, 180, "hard"),
    3: ("Run", "Easy shakeout", 7.0, 20, "easy"),
    4: ("Ride", "Commute ride", 18.0, 90, "ride"),
    5: ("TrailRun", "Zürichberg long trail", 19.0, 520, "long"),
    6: ("Run", "Sunday run with the club", 9.0, 40, "easy"),
}
CLEAN_WEEK_PLAN = {
    0: ("WeightTraining", "Strength: legs & core", 0, 0, "strength"),
    1: ("Run", "Easy run along the lake", 9.0, 40, "easy"),
    3: ("Run", "Fartlek 8 × 1 min", 10.0, 60, "quality"),
    4: ("WeightTraining", "Strength: hips & calves", 0, 0, "strength"),
    5: ("TrailRun", "Long run — Uetliberg & back", 17.0, 450, "long"),
    6: ("Run", "Recovery jog", 7.0, 20, "easy"),
}

CATEGORY = {"Run": "run", "TrailRun": "run", "WeightTraining": "strength", "Ride": "ride"}
# kind -> (min per km, avg HR, share easy / moderate / hard, start hour)
KINDS = {
    "easy": (5.9, 138, (0.92, 0.08, 0.0), 7),
    "long": (6.6, 143, (0.85, 0.15, 0.0), 9),
    "quality": (5.1, 156, (0.45, 0.25, 0.30), 18),
    "hard": (5.0, 160, (0.35, 0.40, 0.25), 18),
    "long_hard": (6.0, 157, (0.45, 0.40, 0.15), 8),
    "strength": (None, None, None, 12),
    "ride": (2.6, 125, (1.0, 0.0, 0.0), 8),
}


def _plan(monday: dt.date, week_index: int) -> dict:
    if monday == REPORT_WEEK:
        return REPORT_WEEK_PLAN
    if monday == CLEAN_WEEK:
        return CLEAN_WEEK_PLAN
    if monday == EMPTY_WEEK:
        return {}
    scale = 1.0 + 0.04 * (week_index % 4) - (0.25 if week_index % 4 == 3 else 0.0)  # 3 up, 1 down
    plan = {}
    for day, (sport, name, km, climb, kind) in BASE_WEEK.items():
        if kind == "strength" and week_index in (10, 11, 19):  # a few weeks without strength
            continue
        plan[day] = (sport, name, round(km * scale, 1), round(climb * scale), kind)
    return plan


def _weight(hr: float) -> float:
    x = min(max((hr - HR_REST) / (HR_MAX - HR_REST), 0.0), 1.0)
    return x * 0.64 * math.exp(1.92 * x)


def make_activities() -> list[dict]:
    out = []
    monday, index, next_id = FIRST_DAY, 0, 9_000_000_001
    last_sunday = AS_OF - dt.timedelta(days=AS_OF.weekday() + 1)
    while monday <= last_sunday:
        for day, (sport, name, km, climb, kind) in sorted(_plan(monday, index).items()):
            pace, hr, shares, hour = KINDS[kind]
            date = monday + dt.timedelta(days=day)
            category = CATEGORY[sport]
            if kind == "strength":
                moving, hr, zones = 40.0, None, (0.0, 0.0, 0.0)
            else:
                moving = round(km * pace, 2)
                zones = tuple(round(moving * s, 2) for s in shares)
            classified = sum(zones)
            trimp = moving * _weight(hr) if hr else moving * 0.5
            moderate, hard = zones[1], zones[2]
            out.append({
                "activity_id": next_id, "athlete_id": ATHLETE_ID, "sport_type": sport, "category": category,
                "start_date_local": dt.datetime.combine(date, dt.time(hour, 5)), "local_date": date,
                "week_start": monday, "distance_km": float(km), "moving_min": moving,
                "elevation_gain_m": float(climb), "average_heartrate": float(hr) if hr else None,
                "easy_min": zones[0] if hr else 0.0, "moderate_min": moderate if hr else 0.0,
                "hard_min": hard if hr else 0.0, "unclassified_min": round(max(0.0, moving - classified), 2) if hr else moving,
                "trimp": round(trimp, 4),
                "is_quality": category == "run" and moderate + hard >= 15,
                "long_run_spike_ratio": None, "source": "api", "name": name,
            })
            next_id += 1
        monday += dt.timedelta(days=7)
        index += 1
    runs = [a for a in out if a["category"] == "run"]
    for a in runs:
        if a["local_date"] < FIRST_DAY + dt.timedelta(days=30):
            continue
        window = [r["distance_km"] for r in runs
                  if a["local_date"] - dt.timedelta(days=30) <= r["local_date"] <= a["local_date"] - dt.timedelta(days=1)]
        if window and max(window) > 0:
            a["long_run_spike_ratio"] = round(a["distance_km"] / max(window), 4)
    return out


def make_daily(activities: list[dict]) -> list[dict]:
    loads: dict[dt.date, float] = {}
    for a in activities:
        loads[a["local_date"]] = loads.get(a["local_date"], 0.0) + a["trimp"]
    rows, ctl, atl, history = [], 0.0, 0.0, []
    day = FIRST_DAY
    while day <= AS_OF:
        load = loads.get(day, 0.0)
        ctl += (load - ctl) / 42
        atl += (load - atl) / 7
        history.append(load)
        acute = sum(history[-7:])
        chronic = sum(history[-28:]) / 4
        acwr = acute / chronic if chronic and (day - FIRST_DAY).days >= 27 else None
        rows.append({"athlete_id": ATHLETE_ID, "date": day, "load": load, "ctl": ctl, "atl": atl, "tsb": ctl - atl,
                     "acute_7d": acute, "chronic_28d": chronic, "acwr": acwr})
        day += dt.timedelta(days=1)
    return rows


def make_weeks(activities: list[dict], daily: list[dict]) -> list[dict]:
    weeks = []
    monday = FIRST_DAY
    while monday <= AS_OF:
        sunday = monday + dt.timedelta(days=6)
        complete = sunday <= AS_OF
        days = [d for d in daily if monday <= d["date"] <= min(sunday, AS_OF)]
        acts = [a for a in activities if a["week_start"] == monday]
        runs = [a for a in acts if a["category"] == "run"]
        km = sum(a["distance_km"] for a in runs)
        climb = sum(a["elevation_gain_m"] for a in runs)
        easy, mod, hard = (sum(a[k] for a in runs) for k in ("easy_min", "moderate_min", "hard_min"))
        loads = [d["load"] for d in days]
        mean = sum(loads) / len(loads)
        sd = math.sqrt(sum((x - mean) ** 2 for x in loads) / len(loads))
        monotony = mean / sd if complete and sd > 0 else None
        settled = [d for d in days if (d["date"] - FIRST_DAY).days >= 90 and d["ctl"] > 0]
        ratios = [d["tsb"] / d["ctl"] for d in settled]
        streak = best = 0
        for r in ratios:
            streak = streak + 1 if r < -0.30 else 0
            best = max(best, streak)
        active = len({a["local_date"] for a in acts})
        row = {
            "athlete_id": ATHLETE_ID, "week_start": monday, "is_complete": complete, "days_elapsed": len(days),
            "run_count": len(runs), "run_distance_km": km, "run_moving_min": sum(a["moving_min"] for a in runs),
            "run_elevation_gain_m": climb, "run_km_effort": km + climb / 100,
            "longest_run_km": max((a["distance_km"] for a in runs), default=None),
            "total_moving_min": sum(a["moving_min"] for a in acts),
            "strength_sessions": sum(a["category"] == "strength" for a in acts),
            "easy_min": easy, "moderate_min": mod, "hard_min": hard,
            "unclassified_min": sum(a["unclassified_min"] for a in runs),
            "easy_share": easy / (easy + mod + hard) if easy + mod + hard else None,
            "quality_sessions": sum(a["is_quality"] for a in runs), "active_days": active,
            "rest_days": len(days) - active, "weekly_load": sum(loads), "monotony": monotony,
            "strain": sum(loads) * monotony if monotony is not None else None,
            "ctl_end": days[-1]["ctl"], "atl_end": days[-1]["atl"], "tsb_end": days[-1]["tsb"],
            "acwr_end": days[-1]["acwr"], "min_tsb_ratio": min(ratios) if ratios else None, "fatigue_days": best,
        }
        prev = weeks[-4:]
        base = sum(w["run_km_effort"] for w in prev) / 4 if len(prev) == 4 else 0
        row["volume_change"] = row["run_km_effort"] / base - 1 if base else None
        row["consistent_week"] = row["run_count"] >= 3
        window = (weeks + [row])[-12:]
        row["consistency_12w"] = sum(w["consistent_week"] for w in window) / len(window)
        weeks.append(row)
        monday += dt.timedelta(days=7)
    return weeks


def make_flags(weeks: list[dict], activities: list[dict]) -> list[dict]:
    flags = []
    for i, w in enumerate(weeks):
        if not w["is_complete"]:
            continue
        raised = []

        def add(flag, severity, value, threshold, message):
            raised.append({"athlete_id": ATHLETE_ID, "week_start": w["week_start"], "flag": flag,
                           "severity": severity, "value": value, "threshold": threshold, "message": message})

        classified = w["easy_min"] + w["moderate_min"] + w["hard_min"]
        if classified >= 60 and w["easy_share"] is not None and w["easy_share"] < 0.75:
            add("easy_share_low", "warning", w["easy_share"], 0.75,
                f"Only {w['easy_share']:.0%} of your running time with heart rate was easy this week (aim for at "
                "least 75%). Slow most runs down to a relaxed, conversational pace.")
        if w["quality_sessions"] > 2:
            add("too_many_quality_sessions", "warning", w["quality_sessions"], 2,
                f"{w['quality_sessions']} of your runs this week were hard sessions. One or two a week are enough: "
                "run the others easy so the hard days count.")
        if w["volume_change"] is not None and w["volume_change"] > 0.30:
            add("volume_spike", "warning", w["volume_change"], 0.30,
                f"Your running volume (km-effort) was {w['volume_change']:.0%} above the average of the four weeks "
                "before. Build up in smaller steps.")
        ratios = [a["long_run_spike_ratio"] for a in activities
                  if a["week_start"] == w["week_start"] and a["long_run_spike_ratio"] is not None]
        if ratios and max(ratios) > 1.10:
            sev, thr = ("warning", 1.30) if max(ratios) > 1.30 else ("info", 1.10)
            add("long_run_spike", sev, max(ratios), thr,
                f"Your longest run this week was {max(ratios):.2f} times your longest run in the 30 days before it.")
        if w["acwr_end"] is not None and w["acwr_end"] >= 1.5:
            add("acwr_high", "warning", w["acwr_end"], 1.5,
                f"Your training load of the last 7 days was {w['acwr_end']:.2f} times your weekly average of the "
                "last 4 weeks. Plan a few easier days.")
        if w["monotony"] is not None and w["monotony"] > 2.0:
            add("high_monotony", "warning", w["monotony"], 2.0,
                f"Your days were very alike in load this week (monotony {w['monotony']:.2f}). Alternate harder "
                "and easier days.")
        if w["rest_days"] == 0:
            add("no_rest_day", "warning", 0, 1,
                "You trained on all 7 days this week. Take at least one full rest day each week.")
        if w["fatigue_days"] >= 3:
            add("deep_fatigue", "warning", w["fatigue_days"], 3,
                f"Your form stayed well below your fitness for {w['fatigue_days']} days in a row. Ease off for a "
                "few days.")
        if i > 0 and w["strength_sessions"] == 0 and weeks[i - 1]["strength_sessions"] == 0:
            add("no_strength", "info", 0, 1,
                "No strength session this week or last week. Add one or two short strength sessions a week.")
        if i >= 3 and w["consistency_12w"] < 0.5:
            add("low_consistency", "info", w["consistency_12w"], 0.5,
                f"You ran at least 3 times in only {w['consistency_12w']:.0%} of the last weeks.")
        load_flags = {"volume_spike", "acwr_high", "high_monotony", "deep_fatigue", "no_rest_day"}
        n = sum(f["flag"] in load_flags for f in raised)
        if n >= 2:
            add("overreaching", "alert", n, 2,
                f"{n} load warnings came together this week. Back off: make the coming week clearly easier, "
                "with less volume and at least one rest day.")
        flags.extend(raised)
    return flags


MART_DDL = {
    "activities": """activity_id bigint, athlete_id bigint, sport_type varchar, category varchar,
        start_date_local timestamp, local_date date, week_start date, distance_km double, moving_min double,
        elevation_gain_m double, average_heartrate double, easy_min double, moderate_min double, hard_min double,
        unclassified_min double, trimp double, is_quality boolean, long_run_spike_ratio double, source varchar""",
    "daily_training_load": """athlete_id bigint, date date, load double, ctl double, atl double, tsb double,
        acute_7d double, chronic_28d double, acwr double""",
    "weekly_training_summary": """athlete_id bigint, week_start date, is_complete boolean, days_elapsed integer,
        run_count integer, run_distance_km double, run_moving_min double, run_elevation_gain_m double,
        run_km_effort double, longest_run_km double, total_moving_min double, strength_sessions integer,
        easy_min double, moderate_min double, hard_min double, unclassified_min double, easy_share double,
        quality_sessions integer, active_days integer, rest_days integer, weekly_load double, monotony double,
        strain double, ctl_end double, atl_end double, tsb_end double, acwr_end double, min_tsb_ratio double,
        fatigue_days integer, volume_change double, consistent_week boolean, consistency_12w double""",
    "training_flags": """athlete_id bigint, week_start date, flag varchar, severity varchar, value double,
        threshold double, message varchar""",
}


def _insert(con, table: str, ddl: str, rows: list[dict]) -> None:
    con.execute(f"create or replace table {table} ({ddl})")
    columns = [c.strip().split()[0] for c in ddl.split(",")]
    if rows:
        con.executemany(f"insert into {table} values ({', '.join('?' for _ in columns)})",
                        [[r.get(c) for c in columns] for r in rows])


def build_fixture_db(db_path: Path, snapshot_path: Path | None = None, *, with_name_column: bool = False,
                     extra_activities: list[dict] | None = None) -> Path:
    """Write the fixture warehouse to `db_path` and publish its snapshot; returns the snapshot path.

    `with_name_column` adds `name` to main.activities (the marts may or may not carry it);
    without it the report reads names from raw.activities JSON.
    """
    db_path = Path(db_path)
    snapshot_path = Path(snapshot_path) if snapshot_path else db_path.with_name(db_path.stem + ".snapshot.duckdb")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    activities = make_activities() + list(extra_activities or [])
    daily = make_daily(activities)
    weeks = make_weeks(activities, daily)
    flags = make_flags(weeks, activities)
    con = duckdb.connect(str(db_path))
    try:
        ddl = dict(MART_DDL)
        if with_name_column:
            ddl["activities"] += ", name varchar"
        _insert(con, "main.activities", ddl["activities"], activities)
        _insert(con, "main.daily_training_load", ddl["daily_training_load"], daily)
        _insert(con, "main.weekly_training_summary", ddl["weekly_training_summary"], weeks)
        _insert(con, "main.training_flags", ddl["training_flags"], flags)
        con.execute("create schema if not exists raw")
        con.execute("create or replace table raw.activities (source varchar, activity_id bigint, athlete_id bigint, "
                    "json json, deleted_at timestamp, first_seen_at timestamp, updated_at timestamp)")
        now = dt.datetime(2026, 11, 23, 3, 0)
        con.executemany("insert into raw.activities values (?, ?, ?, ?, null, ?, ?)", [
            [a["source"], a["activity_id"], ATHLETE_ID,
             json.dumps({"id": a["activity_id"], "name": a["name"], "sport_type": a["sport_type"]}), now, now]
            for a in activities])
        con.execute("create or replace table raw.athlete (athlete_id bigint, json json, fetched_at timestamp)")
        con.execute("insert into raw.athlete values (?, ?, ?)",
                    [ATHLETE_ID, json.dumps({"id": ATHLETE_ID, "firstname": "Alex", "lastname": "Runner"}), now])
    finally:
        con.close()
    return publish_snapshot(db_path, snapshot_path)
