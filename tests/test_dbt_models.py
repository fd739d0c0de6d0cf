"""The dbt models against an independent Python implementation of METRICS.md.

One module-scoped fixture lands three athletes into a temporary DuckDB through the shared
landing functions and runs a single `dbt build` (seeds, models, data tests, unit tests):

* athlete 1001, hand-made (~7 months): pauses and zero-HR samples in streams, a stream
  with no counted interval, an average-HR-only run, a manual run, races and workouts,
  late-evening and Sunday 23:50 activities, strength weeks and weeks without, unknown and
  missing sport_type, a deleted activity, an activity from both the API and a bulk
  export with different values (the API wins), an export-only and a device-file activity
  (no athlete id), an activity after the as-of date, and weeks built to raise every flag;
* athlete 2002, 40 years of synthetic history without streams (with a 3-year break):
  CTL/ATL must stay exact over ~14,800 daily rows;
* athlete 4242, two years of the bundled sample athlete (pipelines/sandbox/sample_athlete).

Athlete 1001 also has Garmin wellness (HRV, sleep, daily summaries) from two Garmin
accounts, from 75 days before the first day to 3 days after the as-of date, with missing,
zero and negative values, days landed by both accounts, and weeks built to raise the
wellness flags (hrv_suppressed, resting_hr_elevated, short_sleep, trained_on_low_readiness).

Every value of the five marts is compared with tests/reference_metrics.py (relative
tolerance 1e-6, nulls equal).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from pipelines.landing import mark_deleted, replace_stream, upsert_activity
from pipelines.warehouse import connect_writer
from tests import reference_metrics
from tests.dbt_build import dbt_build, query_rows

AS_OF = dt.date(2026, 11, 25)  # a Wednesday: the last week is incomplete
HAND_ID = 1001
LONG_ID = 2002
SAMPLE_END = dt.date(2026, 11, 22)
M0 = dt.date(2026, 5, 4)  # Monday of athlete 1001's first week
LOCAL_UTC_OFFSET = dt.timedelta(hours=-5)  # athlete 1001 lives at UTC-5
REL_TOL = 1e-6

CONTRACT_COLUMNS = {
    "activities": [
        "activity_id", "athlete_id", "sport_type", "category", "start_date_local", "local_date",
        "week_start", "distance_km", "moving_min", "elevation_gain_m", "average_heartrate", "easy_min",
        "moderate_min", "hard_min", "unclassified_min", "trimp", "is_quality", "long_run_spike_ratio",
        "source",
    ],
    "daily_training_load": [
        "athlete_id", "date", "load", "ctl", "atl", "tsb", "acute_7d", "chronic_28d", "acwr",
    ],
    "daily_wellness": [
        "athlete_id", "date", "resting_hr", "hrv_rmssd", "sleep_min", "ln_rmssd", "hrv_7d", "hrv_base_mean",
        "hrv_base_sd", "hrv_suppressed", "rhr_base", "rhr_elevated", "sleep_7d", "readiness",
    ],
    "weekly_training_summary": [
        "athlete_id", "week_start", "is_complete", "days_elapsed", "run_count", "run_distance_km",
        "run_moving_min", "run_elevation_gain_m", "run_km_effort", "longest_run_km", "total_moving_min",
        "strength_sessions", "easy_min", "moderate_min", "hard_min", "unclassified_min", "easy_share",
        "quality_sessions", "active_days", "rest_days", "weekly_load", "monotony", "strain", "ctl_end",
        "atl_end", "tsb_end", "acwr_end", "min_tsb_ratio", "fatigue_days", "volume_change",
        "consistent_week", "consistency_12w", "wellness_days", "hrv_suppressed_days", "rhr_elevated_days",
        "sleep_nights", "avg_sleep_min", "quality_on_low_readiness",
    ],
    "training_flags": ["athlete_id", "week_start", "flag", "severity", "value", "threshold", "message"],
}  # fmt: skip
KEYS = {
    "activities": ("activity_id",),
    "daily_training_load": ("athlete_id", "date"),
    "daily_wellness": ("athlete_id", "date"),
    "weekly_training_summary": ("athlete_id", "week_start"),
    "training_flags": ("athlete_id", "week_start", "flag"),
}
# extra model columns the reference computes too
EXTRA_COLUMNS = {
    "activities": ["load_method"],
    "daily_training_load": ["day_index"],
    "daily_wellness": ["week_start", "day_index"],
    "weekly_training_summary": ["max_long_run_spike_ratio", "consistency_weeks", "previous_strength_sessions"],
    "training_flags": [],
}


# --------------------------------------------------------------------------- test data


@dataclass
class Dataset:
    landed: list[dict] = field(default_factory=list)  # {"source", "json", "deleted"}
    streams: dict[tuple[str, int], dict] = field(default_factory=dict)
    specials: dict[str, int] = field(default_factory=dict)


PACE_MIN_PER_KM = {"easy": 6.0, "long": 6.2, "tempo": 4.9, "hard": 4.4, "race": 4.2, "recovery": 6.6}
HR_LEVEL = {"easy": 140, "long": 143, "tempo": 163, "hard": 177, "race": 180, "recovery": 128}


class HandMade:
    """Builder for athlete 1001's activities and streams."""

    def __init__(self) -> None:
        self.rng = random.Random(1001)
        self.data = Dataset()
        self.next_id = 9_100_000_000

    @staticmethod
    def day(week: int, weekday: int) -> dt.date:
        return M0 + dt.timedelta(days=7 * week + weekday)

    def stream(self, minutes: float, level: int, *, pause: bool = True, dropouts: bool = True) -> dict:
        """Irregular 3-7 s samples around `level` bpm, a 95 s pause, a strap dropout (0 bpm),
        a missing reading (None), a duplicated timestamp and one gap of exactly 30 s."""
        t, times, hrs = 0, [], []
        total = int(minutes * 60)
        i = 0
        while t <= total:
            times.append(t)
            hr = level + 6 * math.sin(i / 40) + self.rng.uniform(-3, 3)
            hrs.append(int(round(hr)))
            i += 1
            step = self.rng.choice((3, 4, 5, 6, 7))
            if pause and i == 200:
                step = 95  # a pause: counts nowhere
            if i == 150:
                step = 30  # exactly 30 s: still counted
            if i == 100:
                step = 0  # duplicated timestamp: dt = 0, not counted
            t += step
        if dropouts:
            for k in range(300, min(len(hrs), 320)):
                hrs[k] = 0  # strap dropout
            if len(hrs) > 330:
                hrs[330] = None
        return {"time": times, "heartrate": hrs}

    def add(
        self,
        day: dt.date,
        hour: float,
        sport: str | None,
        minutes: float,
        *,
        kind: str = "easy",
        km: float | None = None,
        elev: float | None = None,
        hr: str = "stream",  # stream | average | none | zero_stream
        workout_type: int | None = 0,
        manual: bool = False,
        source: str = "api",
        athlete: int | None = HAND_ID,
        type_: str | None = None,
        activity_id: int | None = None,
        overrides: dict | None = None,
        deleted: bool = False,
        stream_level: int | None = None,
    ) -> int:
        activity_id = activity_id or self.next_id
        self.next_id += 1
        local = dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hour)
        utc = local - LOCAL_UTC_OFFSET
        if km is None:
            km = round(minutes / PACE_MIN_PER_KM.get(kind, 6.0), 2) if sport in ("Run", "TrailRun", "VirtualRun") else 0.0
        if elev is None:
            elev = round(self.rng.uniform(10, 160), 1) if km else 0.0
        act = {
            "id": activity_id,
            "resource_state": 2,
            "name": f"{sport or type_} {kind}",
            "distance": km * 1000,
            "moving_time": int(minutes * 60),
            "elapsed_time": int(minutes * 60) + 120,
            "total_elevation_gain": elev,
            "type": type_ or sport,
            "start_date": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": "(GMT-05:00) America/New_York",
            "manual": manual,
            "trainer": sport == "VirtualRun",
            "has_heartrate": hr != "none",
        }
        if athlete is not None:
            act["athlete"] = {"id": athlete, "resource_state": 1}
        if sport is not None:
            act["sport_type"] = sport
        if workout_type is not None:
            act["workout_type"] = workout_type
        level = stream_level or HR_LEVEL.get(kind, 140)
        if hr in ("stream", "zero_stream"):
            s = self.stream(minutes, level)
            if hr == "zero_stream":
                s["heartrate"] = [0] * len(s["heartrate"])
                act["average_heartrate"] = float(level) + 0.4
                act["max_heartrate"] = float(level + 9)
            else:
                valid = [h for h in s["heartrate"] if h]
                act["average_heartrate"] = round(sum(valid) / len(valid), 1)
                act["max_heartrate"] = float(max(valid))
            self.data.streams[(source, activity_id)] = s
        elif hr == "average":
            act["average_heartrate"] = float(level) + 0.5
            act["max_heartrate"] = float(level + 12)
        act.update(overrides or {})
        self.data.landed.append({"source": source, "json": act, "deleted": deleted})
        return activity_id

    def run(self, week: int, weekday: int, minutes: float, kind: str = "easy", hour: float = 7.0, **kw) -> int:
        kw.setdefault("workout_type", {"race": 1, "hard": 3, "tempo": 3 if kw.get("workout") else 0}.get(kind, 0))
        kw.pop("workout", None)
        return self.add(self.day(week, weekday), hour, "Run", minutes, kind=kind, **kw)

    def strength(self, week: int, weekday: int, minutes: float = 35, **kw) -> int:
        return self.add(self.day(week, weekday), 18.5, "WeightTraining", minutes, kind="strength", hr="none",
                        workout_type=None, **kw)  # fmt: skip


def hand_made_athlete() -> Dataset:
    h = HandMade()
    sp = h.data.specials
    normal = [(0, 45), (2, 50), (4, 40), (6, 80)]  # weekday, minutes
    # w0: first activity on a Wednesday -> first day is Monday M0
    sp["first"] = h.run(0, 2, 40)
    h.run(0, 4, 45, hour=18)
    h.strength(0, 5)
    h.run(0, 6, 60)
    # w1: tempo (quality by minutes), no strength
    h.run(1, 1, 45)
    h.run(1, 3, 50, "tempo")
    h.run(1, 5, 70)
    # w2: two runs only, no strength (no_strength with w1)
    h.run(2, 1, 30)
    h.run(2, 6, 60)
    # w3-w5: normal weeks with strength, plus edge cases
    for w in (3, 4, 5):
        for wd, m in normal:
            h.run(w, wd, m)
        h.strength(w, 3)
    sp["average_hr_only"] = h.add(h.day(4, 1), 12.0, "Run", 35, kind="tempo", hr="average")
    sp["manual_no_hr"] = h.add(h.day(4, 5), 10.0, "Run", 30, hr="none", manual=True, workout_type=None)
    sp["zero_hr_stream"] = h.add(h.day(4, 3), 7.0, "Run", 25, hr="zero_stream")
    sp["deleted"] = h.add(h.day(4, 2), 17.0, "Run", 60, kind="hard", deleted=True)
    # deleted upstream (API) but still in an older bulk export: stays out
    sp["deleted_with_export"] = h.add(h.day(5, 1), 17.0, "Run", 45, deleted=True)
    h.add(h.day(5, 1), 17.0, "Run", 45, source="export", activity_id=sp["deleted_with_export"], workout_type=None)
    # the same activity from the API and a bulk export with other values: the API wins
    sp["api_and_export"] = h.add(h.day(5, 5), 9.0, "Run", 55, kind="easy")
    h.add(h.day(5, 5), 9.0, "TrailRun", 61, kind="hard", km=12.5, elev=400.0, source="export",
          activity_id=sp["api_and_export"], workout_type=None)  # fmt: skip
    sp["export_only"] = h.add(h.day(5, 2), 18.0, "TrailRun", 50, kind="easy", source="export", workout_type=None)
    sp["files_no_athlete"] = h.add(h.day(5, 6), 15.0, "Walk", 60, kind="recovery", source="files", athlete=None,
                                   workout_type=None, activity_id=7_777_000_123)  # fmt: skip
    # the same run recorded by the watch and imported as a file (another id, 40 s apart): Strava's row counts
    sp["watch_duplicate"] = h.add(h.day(5, 5), 9.0 + 40 / 3600, "Run", 56, kind="easy", source="files",
                                  workout_type=None, activity_id=7_777_000_456)  # fmt: skip
    sp["unknown_sport"] = h.add(h.day(3, 5), 16.0, "Pickleball", 50, hr="average", stream_level=120,
                                workout_type=None)  # fmt: skip
    sp["type_fallback"] = h.add(h.day(3, 6), 14.0, None, 90, type_="Hike", hr="none", workout_type=None)
    sp["ride_no_hr"] = h.add(h.day(5, 4), 17.0, "Ride", 75, hr="none", workout_type=None)
    sp["swim_average"] = h.add(h.day(5, 3), 6.5, "Swim", 40, hr="average", stream_level=130, workout_type=None)
    # w6: volume spike with a much longer long run (long_run_spike warning)
    for wd, m, k in [(0, 50, "easy"), (1, 60, "easy"), (2, 55, "tempo"), (3, 60, "easy"), (4, 45, "easy"),
                     (6, 150, "long")]:  # fmt: skip
        h.run(6, wd, m, k)
    h.strength(6, 5)
    # w7: three workouts and a race: too many quality sessions, too little easy running
    h.run(7, 1, 55, "hard")
    h.run(7, 2, 45, "tempo", workout=True)
    h.run(7, 4, 50, "hard")
    sp["race"] = h.run(7, 6, 90, "race", overrides={"max_heartrate": 192.0})
    h.strength(7, 3)
    # w8: easy
    for wd, m in normal:
        h.run(8, wd, m)
    h.strength(8, 3)
    # w9: a run every day, nearly the same each day: no rest day + high monotony -> overreaching
    for wd in range(7):
        h.run(9, wd, 44 + wd)
    h.strength(9, 2)
    # w10-w12: lighter
    h.run(10, 1, 40, "recovery")
    h.run(10, 4, 45)
    h.strength(10, 3)
    for w in (11, 12):
        for wd, m in normal:
            h.run(w, wd, m)
        h.strength(w, 3)
    # late evening: local Saturday 22:30 is Sunday 03:30 UTC
    sp["late_evening"] = h.add(h.day(12, 5), 22.5, "Run", 30, kind="easy")
    # Sunday 23:50 local (Monday 04:50 UTC) belongs to this week
    sp["sunday_2350"] = h.add(h.day(12, 6), 23 + 50 / 60, "VirtualRun", 20, kind="easy")
    # w13 (settled days): a big hard block every day -> volume spike, acwr, deep fatigue, no rest
    for wd in range(7):
        h.run(13, wd, 80 + 7 * wd, "hard" if wd % 2 else "tempo")
    # w14: recovery
    h.run(14, 2, 30, "recovery")
    h.run(14, 5, 40, "recovery")
    h.strength(14, 3)
    # w15-w20: one run a week, no strength: low consistency, no_strength
    for w in range(15, 21):
        h.run(w, 5, 60)
    # w21: long run 1.15x the longest of the 30 days before (long_run_spike info)
    h.run(21, 1, 40)
    h.run(21, 3, 40)
    sp["long_run_info"] = h.run(21, 6, 69)
    h.strength(21, 4)
    # w22-w28: normal weeks
    for w in range(22, 29):
        for wd, m in normal:
            h.run(w, wd, m)
        h.strength(w, 3)
    # w29 (current, incomplete): Monday and Wednesday (the as-of date)
    h.run(29, 0, 40)
    h.run(29, 2, 45)
    sp["after_as_of"] = h.run(29, 3, 50)
    return h.data


GARMIN_OWNER, GARMIN_SECOND_OWNER = 3456789, 3456790  # two Garmin accounts, both athlete 1001


def hand_made_wellness() -> list[dict]:
    """raw.garmin_wellness rows of athlete 1001 (Strava data is landed, so both Garmin accounts
    count for the Strava athlete), from M0 - 75 days to AS_OF + 3 days.

    Most nights: ln rMSSD ~ 4.0 +- 0.12, resting HR ~ 48, about 450 min of sleep. In week 13
    (the daily hard block) Wednesday to Saturday: ln rMSSD ~ 3.4 and resting HR + 9 (hrv_suppressed,
    resting_hr_elevated, hard runs on low-readiness days); in week 20 about 375 min of sleep
    a night (short_sleep). Some nights are not recorded, some values are 0, negative, null or
    absent, and some days are landed by the second account too, earlier or later."""
    rng = random.Random(7001)
    out: list[dict] = []

    def add(kind: str, day: dt.date, obj: dict, owner: int = GARMIN_OWNER, landed: dt.datetime | None = None) -> None:
        landed = landed or dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6, rng.randint(0, 59)))
        obj = {"calendarDate": day.isoformat(), **obj}
        out.append({"owner_id": owner, "kind": kind, "calendar_date": day, "json": obj, "landed_at": landed})

    day = M0 - dt.timedelta(days=75)
    while day <= AS_OF + dt.timedelta(days=3):
        week = (day - M0).days // 7
        stressed = week == 13 and 2 <= day.weekday() <= 5
        r = rng.random()
        if r < 0.08:
            pass  # the watch was not worn
        elif r < 0.11:
            add("hrv", day, {"lastNightAvg": rng.choice([0, None, -2]), "status": "NONE"})
        elif r < 0.12:
            add("hrv", day, {"status": "NONE"})
        else:
            rmssd = round(math.exp(rng.gauss(3.4 if stressed else 4.0, 0.12)))
            add("hrv", day, {"weeklyAvg": 55, "lastNightAvg": rmssd, "status": "BALANCED"})
        r = rng.random()
        if r < 0.06:
            pass
        elif r < 0.08:
            add("daily_summary", day, {"heartRate": {"restingValue": rng.choice([0, None])}})
        elif r < 0.09:
            add("daily_summary", day, {"stress": {"avgLevel": 30}})
        else:
            resting = round(rng.gauss(48, 1.5)) + (9 if stressed else 0)
            add("daily_summary", day, {"heartRate": {"minValue": resting - 4, "maxValue": 160,
                                                     "restingValue": resting}})  # fmt: skip
        r = rng.random()
        if r < 0.08:
            pass
        elif r < 0.10:
            add("sleep", day, {"sleepTimeSeconds": None, "deepSleepSeconds": None})  # a day without data
        else:
            minutes = rng.gauss(375 if week == 20 else 450, 20 if week == 20 else 35)
            add("sleep", day, {"sleepTimeSeconds": int(minutes * 60), "deepSleepSeconds": 5400})
        # the second account lands the same day too, before or after the first one
        for kind in ("hrv", "daily_summary", "sleep"):
            if rng.random() < 0.05:
                shift = dt.timedelta(hours=rng.choice([-5, 5]))
                obj = {"hrv": {"lastNightAvg": rng.randint(30, 90)},
                       "daily_summary": {"heartRate": {"restingValue": rng.randint(44, 60)}},
                       "sleep": {"sleepTimeSeconds": rng.randint(300, 540) * 60}}[kind]  # fmt: skip
                add(kind, day, obj, owner=GARMIN_SECOND_OWNER,
                    landed=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6, 30)) + shift)
        day += dt.timedelta(days=1)
    return out


def land_wellness(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """As the Garmin sync lands them: one row per account, kind and calendar day."""
    con.executemany(
        "insert into raw.garmin_wellness values (?, ?, ?, ?, ?)",
        [(r["owner_id"], r["kind"], r["calendar_date"], json.dumps(r["json"]), r["landed_at"]) for r in rows],
    )


def long_history_athlete() -> Dataset:
    """40 years of activities without streams, with a 3-year break (CTL/ATL decay)."""
    rng = random.Random(2002)
    data = Dataset()
    day = dt.date(1986, 1, 8)  # a Wednesday
    next_id = 5_000_000_000
    while day <= AS_OF + dt.timedelta(days=3):
        if dt.date(1995, 3, 1) <= day < dt.date(1998, 3, 1) or rng.random() < 0.45:
            day += dt.timedelta(days=1)
            continue
        sport = rng.choices(["Run", "Ride", "WeightTraining", "Swim"], [6, 2, 1, 1])[0]
        minutes = rng.randint(20, 120)
        act = {
            "id": next_id,
            "athlete": {"id": LONG_ID},
            "sport_type": sport,
            "type": sport,
            "start_date": f"{day.isoformat()}T06:00:00Z",
            "start_date_local": f"{day.isoformat()}T07:00:00Z",
            "moving_time": minutes * 60,
            "elapsed_time": minutes * 60 + 60,
            "distance": minutes * 160.0 if sport == "Run" else minutes * 400.0 if sport == "Ride" else 0.0,
            "total_elevation_gain": float(rng.randint(0, 300)) if sport in ("Run", "Ride") else 0.0,
            "workout_type": rng.choice([0, 0, 0, 2, 3]) if sport == "Run" else None,
            "manual": False,
            "trainer": False,
        }
        if sport in ("Run", "Swim") and rng.random() < 0.8:
            avg = rng.uniform(118, 178)
            act["average_heartrate"] = round(avg, 1)
            act["max_heartrate"] = 215.0 if day.year == 1990 and day.month == 6 else round(avg + rng.uniform(5, 14))
            act["has_heartrate"] = True
        data.landed.append({"source": "api", "json": act, "deleted": False})
        next_id += 1
        day += dt.timedelta(days=1)
    return data


def sample_athlete() -> Dataset:
    from pipelines.sandbox.sample_athlete import generate_sample_athlete

    sample = generate_sample_athlete(SAMPLE_END, seed=7, years=2.0)
    data = Dataset()
    for act in sample.activities:
        data.landed.append({"source": "api", "json": act, "deleted": False})
    for activity_id, s in sample.streams.items():
        data.streams[("api", int(activity_id))] = s
    data.specials = {k: v for k, v in sample.specials.items() if k in ("sunday_2350", "utc_date_differs")}
    data.athlete = sample.athlete  # type: ignore[attr-defined]
    return data


def land(con: duckdb.DuckDBPyConnection, data: Dataset, bulk: bool = False) -> None:
    """Land through pipelines.landing (as sync and import do), or in bulk for big test data."""
    if not bulk:
        for rec in data.landed:
            upsert_activity(con, rec["source"], rec["json"])
            if rec["deleted"]:
                mark_deleted(con, rec["source"], [int(rec["json"]["id"])])
        for (source, activity_id), s in data.streams.items():
            replace_stream(con, source, activity_id, s, signature=None)
        return
    now = dt.datetime(2026, 11, 25, 12, 0)
    recs = data.landed
    con.execute(
        """
        insert into raw.activities (source, activity_id, athlete_id, json, first_seen_at, updated_at)
        select unnest(?::varchar[]), unnest(?::bigint[]), unnest(?::bigint[]), unnest(?::varchar[])::json, ?, ?
        """,
        [
            [r["source"] for r in recs],
            [int(r["json"]["id"]) for r in recs],
            [(r["json"].get("athlete") or {}).get("id") for r in recs],
            [json.dumps(r["json"]) for r in recs],
            now,
            now,
        ],
    )
    if data.streams:
        cols: dict[str, list] = {"source": [], "activity_id": [], "seq": [], "time_s": [], "heartrate": []}
        for (source, activity_id), s in data.streams.items():
            n = len(s["time"])
            cols["source"] += [source] * n
            cols["activity_id"] += [activity_id] * n
            cols["seq"] += range(n)
            cols["time_s"] += s["time"]
            cols["heartrate"] += s.get("heartrate") or [None] * n
        con.execute(
            """
            insert into raw.streams (source, activity_id, seq, time_s, heartrate)
            select unnest(?::varchar[]), unnest(?::bigint[]), unnest(?::integer[]), unnest(?::integer[]),
                   unnest(?::integer[])
            """,
            [cols["source"], cols["activity_id"], cols["seq"], cols["time_s"], cols["heartrate"]],
        )


# --------------------------------------------------------------------------- the build


@dataclass
class Build:
    db_path: Path
    target: Path
    returncode: int
    output: str
    wall_seconds: float
    results: dict
    expected: dict
    specials: dict


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Build:
    tmp = tmp_path_factory.mktemp("dbt_build")
    db_path = tmp / "training.duckdb"
    hand, long_history, sample = hand_made_athlete(), long_history_athlete(), sample_athlete()
    wellness = hand_made_wellness()
    con = connect_writer(db_path)
    try:
        con.execute(
            "insert into raw.athlete values (?, ?, ?)",
            [HAND_ID, json.dumps({"id": HAND_ID, "firstname": "Hand", "lastname": "Made", "sex": "F"}), dt.datetime(2026, 11, 25)],
        )
        land(con, hand)
        land_wellness(con, wellness)
        land(con, long_history, bulk=True)
        land(con, sample, bulk=True)  # the hand-made athlete went through pipelines.landing
    finally:
        con.close()

    start = time.monotonic()
    proc = dbt_build(db_path, tmp, AS_OF, unit_tests=True)
    wall = time.monotonic() - start
    results_path = tmp / "target" / "run_results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}

    landed = hand.landed + long_history.landed + sample.landed
    streams = {**hand.streams, **sample.streams}
    expected = reference_metrics.compute(landed, streams, {}, AS_OF, fallback_athlete_id=HAND_ID, wellness=wellness)
    return Build(db_path, tmp / "target", proc.returncode, proc.stdout + proc.stderr, wall, results, expected,
                 {**hand.specials, **{f"sample_{k}": v for k, v in sample.specials.items()}})  # fmt: skip


def fetch(build: Build, table: str) -> list[dict]:
    return query_rows(build.db_path, f"select * from main.{table}")


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=1e-12)
    return a == b


def compare(build: Build, table: str) -> None:
    actual = fetch(build, table)
    expected = build.expected[table]
    key = KEYS[table]
    columns = CONTRACT_COLUMNS[table]
    if actual:
        assert list(actual[0])[: len(columns)] == columns, f"{table}: contract columns first, in order"
    by_key = {tuple(r[k] for k in key): r for r in actual}
    assert len(by_key) == len(actual), f"{table}: duplicate keys"
    exp_by_key = {tuple(r[k] for k in key): r for r in expected}
    missing = sorted(set(exp_by_key) - set(by_key), key=str)[:5]
    extra = sorted(set(by_key) - set(exp_by_key), key=str)[:5]
    assert not missing and not extra, f"{table}: rows only in reference {missing}, only in model {extra}"
    mismatches = []
    for k, exp in exp_by_key.items():
        got = by_key[k]
        for col in columns + EXTRA_COLUMNS[table]:
            if col == "message":
                continue
            if not same(got[col], exp[col]):
                mismatches.append((k, col, got[col], exp[col]))
    assert not mismatches, f"{table}: {len(mismatches)} values differ, e.g. {mismatches[:8]}"


# --------------------------------------------------------------------------- tests


def test_build_passes_all_models_data_tests_and_unit_tests(build: Build):
    assert build.returncode == 0, build.output[-6000:]
    statuses = {r["unique_id"]: r["status"] for r in build.results["results"]}
    bad = {k: v for k, v in statuses.items() if v not in ("success", "pass")}
    assert not bad, bad
    kinds = {}
    for uid in statuses:
        kinds[uid.split(".")[0]] = kinds.get(uid.split(".")[0], 0) + 1
    assert kinds.get("model", 0) >= 15 and kinds.get("seed") == 2
    assert kinds.get("test", 0) >= 60, kinds
    assert kinds.get("unit_test", 0) >= 12, kinds
    timing = {
        "wall_seconds": round(build.wall_seconds, 2),
        "dbt_elapsed_seconds": round(build.results.get("elapsed_time", 0), 2),
        "model_seconds": round(sum(r["execution_time"] for r in build.results["results"] if r["unique_id"].startswith("model.")), 2),
        "counts": kinds,
    }
    print("dbt build timing:", json.dumps(timing))


@pytest.mark.parametrize("table", list(CONTRACT_COLUMNS))
def test_marts_match_reference(build: Build, table: str):
    assert build.returncode == 0, build.output[-3000:]
    compare(build, table)


def test_every_flag_is_raised_for_the_hand_made_athlete(build: Build):
    flags = {(r["flag"], r["severity"]) for r in fetch(build, "training_flags") if r["athlete_id"] == HAND_ID}
    wanted = {
        ("easy_share_low", "warning"), ("too_many_quality_sessions", "warning"), ("volume_spike", "warning"),
        ("long_run_spike", "info"), ("long_run_spike", "warning"), ("acwr_high", "warning"),
        ("high_monotony", "warning"), ("no_rest_day", "warning"), ("deep_fatigue", "warning"),
        ("no_strength", "info"), ("low_consistency", "info"), ("overreaching", "alert"),
        ("hrv_suppressed", "warning"), ("resting_hr_elevated", "warning"), ("short_sleep", "info"),
        ("trained_on_low_readiness", "warning"),
    }  # fmt: skip
    assert wanted <= flags, wanted - flags


def test_sample_athletes_designed_weeks_raise_the_right_flags(build: Build):
    """The generator's overreaching block raises `overreaching` and its components; its easy weeks raise nothing."""
    from pipelines.sandbox.sample_athlete import ATHLETE_ID, generate_sample_athlete

    labels = generate_sample_athlete(SAMPLE_END, seed=7, years=2.0).labels
    flags: dict[str, set[str]] = {}
    for r in fetch(build, "training_flags"):
        if r["athlete_id"] == ATHLETE_ID:
            flags.setdefault(r["week_start"].isoformat(), set()).add(r["flag"])
    components = {"volume_spike", "acwr_high", "high_monotony", "deep_fatigue", "no_rest_day"}
    assert labels["overreaching_weeks"] and labels["easy_weeks"]
    for week in labels["overreaching_weeks"]:
        raised = flags.get(week, set())
        assert "overreaching" in raised and len(raised & components) >= 2, (week, raised)
    for week in labels["easy_weeks"]:
        assert not flags.get(week), (week, flags.get(week))


def test_flag_messages_are_plain_advice(build: Build):
    rows = fetch(build, "training_flags")
    assert rows
    for r in rows:
        text = r["message"].lower()
        assert len(text) > 30 and text[0].isascii()
        for word in ("injur", "overtrain", "diagnos", "acwr", "tsb", "ctl", "none", "null"):
            assert word not in text, (word, r["message"])


def test_landing_edge_cases(build: Build):
    acts = {r["activity_id"]: r for r in fetch(build, "activities")}
    sp = build.specials
    assert sp["deleted"] not in acts
    assert sp["deleted_with_export"] not in acts  # a deletion seen by the API beats an older export
    assert sp["after_as_of"] not in acts
    both = acts[sp["api_and_export"]]
    assert (both["source"], both["sport_type"], both["moving_min"]) == ("api", "Run", 55.0)
    assert acts[sp["export_only"]]["source"] == "export"
    assert sp["watch_duplicate"] not in acts  # the API's copy of that run is already counted
    files = acts[sp["files_no_athlete"]]
    assert (files["source"], files["athlete_id"], files["category"]) == ("files", HAND_ID, "walk_hike")
    assert acts[sp["unknown_sport"]]["category"] == "other"
    assert (acts[sp["type_fallback"]]["sport_type"], acts[sp["type_fallback"]]["category"]) == ("Hike", "walk_hike")
    assert acts[sp["zero_hr_stream"]]["load_method"] == "average_hr"
    assert acts[sp["manual_no_hr"]]["load_method"] == "category_rate"
    late = acts[sp["late_evening"]]
    assert late["local_date"] == HandMade.day(12, 5) and late["start_date_utc"].date() == HandMade.day(12, 6)
    sunday = acts[sp["sunday_2350"]]
    assert sunday["local_date"] == HandMade.day(12, 6) and sunday["week_start"] == HandMade.day(12, 0)
    assert sunday["category"] == "run"


def test_ctl_atl_exact_over_40_years(build: Build):
    """The block decomposition of CTL/ATL against the plain recursion, 1e-9 relative."""
    rows = [r for r in fetch(build, "daily_training_load") if r["athlete_id"] == LONG_ID]
    rows.sort(key=lambda r: r["date"])
    assert len(rows) > 14_000
    ctl = atl = 0.0
    worst = 0.0
    for r in rows:
        ctl += (r["load"] - ctl) / 42
        atl += (r["load"] - atl) / 7
        for got, want in ((r["ctl"], ctl), (r["atl"], atl)):
            if want > 1e-250:
                worst = max(worst, abs(got - want) / want)
            else:
                assert abs(got) < 1e-240
    assert worst < 1e-9, worst


def _doc_queries(document: str = "docs/dbt.md") -> list[str]:
    """The SQL statements in the 'Query your training' section of a document."""
    text = (Path(__file__).resolve().parent.parent / document).read_text()
    section = text.split("## Query your training", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```sql")[1:]]
    return [statement.strip() for block in blocks for statement in block.split(";") if statement.strip()]


def test_snapshot_serves_marts_views_and_the_documented_queries(build: Build, tmp_path, monkeypatch):
    """Readers query the published snapshot; staging views still resolve there (no catalog
    name in their SQL), and every example query of docs/dbt.md runs."""
    from pipelines import adhoc_sql
    from pipelines.config import load_settings
    from pipelines.warehouse import publish_snapshot

    live = tmp_path / "training.duckdb"
    live.write_bytes(build.db_path.read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAINSMART_DB", str(live))
    monkeypatch.setenv("TRAINSMART_HOME", str(tmp_path / "home"))
    settings = load_settings()
    publish_snapshot(live, settings.snapshot_path)
    import io

    for query in [
        "select count(*) as n from staging.stg_strava__activities",
        "select count(*) as n from intermediate.int_activity_stream_intervals",
        "select * from weekly_training_summary order by week_start desc limit 3",
        *_doc_queries(),
        *_doc_queries("README.md"),
    ]:
        out, err = io.StringIO(), io.StringIO()
        assert adhoc_sql.run_query(settings, query, out=out, err=err) == 0, (query, err.getvalue())
        assert "rows)" in out.getvalue() or "(1 row)" in out.getvalue()
    assert len(_doc_queries()) == len(_doc_queries("README.md")) == 6
