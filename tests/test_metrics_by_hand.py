"""The marts against values worked out BY HAND from /work/shared/METRICS.md.

tests/test_dbt_models.py compares the models with tests/reference_metrics.py, written by
the same hand as the SQL; a misreading of METRICS.md shared by both would pass there.
Here every expected number is derived from the text of METRICS.md for a few tiny
scenarios (the arithmetic is in the comments; nothing from reference_metrics is used).

One module-scoped fixture lands all scenarios (one athlete id each) through
pipelines.landing into a temporary DuckDB and runs a single `dbt build`.

Profile: no hr_max / lthr / sex configured, so hr_max is derived per athlete, lthr =
0.89 x hr_max rounded half up, hr_rest = 60 and (k, b) = (0.64, 1.92):
    weight(x) = x * 0.64 * exp(1.92 x),  x = clamp((hr - 60) / (hr_max - 60), 0, 1)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.landing import mark_deleted, replace_stream, upsert_activity
from pipelines.warehouse import connect_writer
from tests.dbt_build import dbt_build, query_rows

AS_OF = dt.date(2026, 3, 4)  # a Wednesday: the last week (Mon 2026-03-02) is incomplete, 3 days elapsed
D0 = dt.date(2025, 9, 1)  # a Monday: first day of athletes 201, 301, 302, 401, 501, 601
REL = 1e-6  # METRICS.md: relative tolerance 1e-6 on floats

HR = 101  # hr_max window + lthr rounding
STREAMS = 201  # zones and TRIMP: streams, average HR, fallbacks, is_quality
PMC = 301  # CTL / ATL first days, deletion, API beats export
CONST = 302  # constant daily load: acute / chronic / acwr, rest days, consistency
WEEKS = 401  # weekly columns, monotony, volume_change, flags around thresholds
SETTLED = 501  # settled days, min_tsb_ratio, fatigue_days, deep_fatigue
SPIKE = 601  # long_run_spike_ratio and its flag


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def w(x: float) -> float:
    """METRICS.md 3: Banister weight, sex unspecified."""
    return x * 0.64 * math.exp(1.92 * x)


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=REL, abs_tol=1e-9)


# --------------------------------------------------------------------------- landing

_ids = iter(range(7_000_000_000, 7_000_100_000))


def activity(athlete: int, on: dt.date, sport: str | None, moving_s: int, *, km: float = 0.0, elev: float = 0.0,
             avg: float | None = None, max_hr: float | None = None, workout_type: int | None = None,
             manual: bool = False, type_: str | None = None, activity_id: int | None = None) -> dict:  # fmt: skip
    local = dt.datetime.combine(on, dt.time(7, 30))
    act = {
        "id": activity_id or next(_ids),
        "athlete": {"id": athlete, "resource_state": 1},
        "name": f"{sport or type_} by hand",
        "type": type_ or sport,
        "start_date": (local - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "moving_time": moving_s,
        "elapsed_time": moving_s + 60,
        "distance": km * 1000,
        "total_elevation_gain": elev,
        "has_heartrate": avg is not None,
        "manual": manual,
        "trainer": False,
    }
    if sport is not None:
        act["sport_type"] = sport
    if avg is not None:
        act["average_heartrate"] = avg
    if max_hr is not None:
        act["max_heartrate"] = max_hr
    if workout_type is not None:
        act["workout_type"] = workout_type
    return act


class Scenario:
    def __init__(self) -> None:
        self.acts: list[tuple[str, dict]] = []
        self.streams: list[tuple[int, dict]] = []
        self.deleted: list[int] = []
        self.named: dict[str, int] = {}

    def add(self, name: str | None, *args, source: str = "api", stream: dict | None = None, **kwargs) -> dict:
        act = activity(*args, **kwargs)
        self.acts.append((source, act))
        if stream is not None:
            self.streams.append((act["id"], stream))
        if name:
            self.named[name] = act["id"]
        return act


def scenarios() -> Scenario:
    s = Scenario()

    # ---- athlete 101: hr_max window [as-of - 364, as-of], lthr rounded half up
    # as-of - 365 = 2025-03-04 (outside the window): max_heartrate 300 must NOT count
    s.add("hr_outside", HR, AS_OF - dt.timedelta(days=365), "Walk", 3000, max_hr=300.0)
    # as-of - 364 = 2025-03-05 (inside): max_heartrate 250 -> hr_max = 250
    s.add("hr_inside", HR, AS_OF - dt.timedelta(days=364), "Walk", 3000, max_hr=250.0)
    # on the as-of date: an average-HR-only run, 600 s, avg 222.7 bpm
    s.add("hr_run", HR, AS_OF, "Run", 600, km=2.0, avg=222.7, workout_type=0)
    # after the as-of date: left out everywhere (its max 400 does not count either)
    s.add("hr_future", HR, AS_OF + dt.timedelta(days=1), "Run", 600, km=2.0, avg=150.0, max_hr=400.0)

    # ---- athlete 201 (hr_max 160 from a1's max_heartrate -> lthr = 0.89*160 = 142.4 -> 142;
    # easy < 127.8 <= moderate < 142 <= hard; x = (hr - 60) / 100)
    s.add("a1", STREAMS, day(3), "Run", 120, km=0.4, avg=135.0, max_hr=160.0, workout_type=0, stream={
        "time":      [0,   10,  20,  50,  60, 160, 170, 175, 175, 185],
        "heartrate": [100, 120, 130, 145, 0,  150, 200, 140, 140, 127],
    })  # fmt: skip
    s.add("a2", STREAMS, day(4), "Run", 6, km=0.02, avg=150.0, stream={"time": [0, 5, 10], "heartrate": [150, 150, 150]})
    s.add("a3", STREAMS, day(5), "Run", 1800, km=5.0, avg=125.0, stream={"time": [0, 5, 45], "heartrate": [140, 0, 140]})
    s.add("a4", STREAMS, day(6), "Run", 900, km=3.0, avg=135.0, workout_type=0)
    s.add("a5", STREAMS, day(7), "Run", 899, km=3.0, avg=135.0, workout_type=0)
    s.add("a6", STREAMS, day(8), "Walk", 3000, km=4.0, manual=True)
    s.add("a7", STREAMS, day(9), "Yoga", 1200, manual=True)
    s.add("a8", STREAMS, day(10), None, 2400, km=20.0, type_="Ride")
    s.add("a9", STREAMS, day(11), "Run", 1200, km=4.0, workout_type=1)
    s.add("a10", STREAMS, day(12), "Run", 1500, km=5.0)  # no workout_type at all
    s.add("a11", STREAMS, day(13), "Run", 600, km=2.0, avg=0.0, workout_type=3)

    # ---- athlete 301: CTL / ATL of the first days
    s.add("p0", PMC, day(0), "Run", 3600, km=10.0, manual=True)  # load 60
    gone = s.add("p1", PMC, day(1), "Run", 2700, km=8.0, manual=True)  # deleted below
    s.deleted.append(gone["id"])
    both = s.add("p2", PMC, day(2), "Run", 1800, km=5.0, manual=True)  # load 30 (API values)
    export_copy = dict(both, moving_time=3000)  # the export disagrees: 50 min
    s.acts.append(("export", export_copy))

    # ---- athlete 302: 40 min (load 40) and 5 km every day, days 0..27, then nothing
    for n in range(28):
        s.add(None, CONST, day(n), "Run", 2400, km=5.0, manual=True)

    # ---- athlete 401: weekly columns (manual runs, load = moving minutes)
    s.add(None, WEEKS, day(0), "Run", 3600, km=4.0, manual=True)  # week 0: loads 60,0,30,0,0,90,0
    s.add(None, WEEKS, day(2), "Run", 1800, km=3.0, manual=True)
    s.add(None, WEEKS, day(5), "Run", 5400, km=3.0, manual=True)
    for n in range(7, 13):  # week 1: 10 x6, 28
        s.add(None, WEEKS, day(n), "Run", 600, km=1.0, manual=True)
    s.add(None, WEEKS, day(13), "Run", 1680, km=4.0, manual=True)
    for n in range(14, 20):  # week 2: 10 x6, 27.9 (+200 m climbing)
        s.add(None, WEEKS, day(n), "Run", 600, km=1.0, manual=True)
    s.add(None, WEEKS, day(20), "Run", 1674, km=4.0, elev=200.0, manual=True)
    s.add(None, WEEKS, day(21), "Run", 2400, km=8.0, manual=True)  # week 3
    s.add(None, WEEKS, day(28), "Run", 3600, km=13.1, manual=True)  # week 4
    s.add(None, WEEKS, day(35), "Run", 3600, km=14.0, manual=True)  # week 5
    s.add(None, WEEKS, AS_OF - dt.timedelta(days=1), "Run", 1800, km=3.0, manual=True)  # Tue of the last week

    # ---- athlete 501: load 50 on days 0..90, then days 91..100 as below; distance 0 (no volume flags)
    for n in range(91):
        s.add(None, SETTLED, day(n), "Run", 3000, manual=True)
    for n, minutes in zip(range(91, 101), (100, 0, 150, 100, 0, 150, 100, 100, 100, 0)):
        if minutes:
            s.add(None, SETTLED, day(n), "Run", minutes * 60, manual=True)

    # ---- athlete 601: long runs
    for name, n, km in (("s0", 0, 10.0), ("s29", 29, 5.0), ("s30", 30, 11.2), ("s31", 31, 14.6), ("s61", 61, 16.0),
                        ("s92", 92, 5.0), ("s121", 121, 5.6), ("s160", 160, 0.0), ("s161", 161, 3.0)):  # fmt: skip
        s.add(name, SPIKE, day(n), "Run", 1800, km=km, manual=True)
    return s


@dataclass
class Built:
    path: Path
    named: dict[str, int]  # scenario name -> activity id


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Built:
    tmp = tmp_path_factory.mktemp("by_hand")
    db_path = tmp / "training.duckdb"
    s = scenarios()
    con = connect_writer(db_path)
    try:
        for source, act in s.acts:
            upsert_activity(con, source, act)
        for activity_id, stream in s.streams:
            replace_stream(con, "api", activity_id, stream, None)
        mark_deleted(con, "api", s.deleted)
    finally:
        con.close()
    proc = dbt_build(db_path, tmp, AS_OF)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return Built(db_path, s.named)


def rows(db: Built, sql: str, *params) -> list[dict]:
    return query_rows(db.path, sql, *params)


def act_row(db: Built, name: str) -> dict:
    (r,) = rows(db, "select * from main.activities where activity_id = ?", db.named[name])
    return r


def daily(db: Built, athlete: int) -> dict[dt.date, dict]:
    return {r["date"]: r for r in rows(db, "select * from main.daily_training_load where athlete_id = ?", athlete)}


def weekly(db: Built, athlete: int) -> dict[int, dict]:
    """week number (0 = the week of D0) -> row"""
    out = {}
    for r in rows(db, "select * from main.weekly_training_summary where athlete_id = ?", athlete):
        out[(r["week_start"] - D0).days // 7] = r
    return out


def flags(db: Built, athlete: int) -> dict[tuple[int, str], dict]:
    out = {}
    for r in rows(db, "select * from main.training_flags where athlete_id = ?", athlete):
        key = ((r["week_start"] - D0).days // 7, r["flag"])
        assert key not in out, f"flag raised twice: {key}"
        out[key] = r
    return out


def check(row: dict, **expected) -> None:
    def same(got, want) -> bool:
        return got == want if isinstance(want, (bool, str)) else close(got, want)

    bad = {k: (row[k], v) for k, v in expected.items() if not same(row[k], v)}
    assert not bad, f"(got, expected): {bad}"


# --------------------------------------------------------------------------- section 1 and 3


def test_hr_max_window_and_lthr_rounded_half_up(db):
    # hr_max = max(max_heartrate) over local_date in [2025-03-05, 2026-03-04] = 250 (300 is on
    # 2025-03-04, one day too early; 400 is after the as-of date). lthr = 0.89 * 250 = 222.5 ->
    # half up -> 223 (banker's rounding or truncation would give 222).
    # avg 222.7: 0.9 * 223 = 200.7 <= 222.7 < 223 -> moderate (with lthr 222 it would be hard).
    # x = (222.7 - 60) / (250 - 60) = 162.7 / 190 = 0.856316; trimp = 10 min * w(x) = 10 * 2.836932 = 28.369319
    r = act_row(db, "hr_run")
    check(r, moving_min=10.0, easy_min=0.0, moderate_min=10.0, hard_min=0.0, unclassified_min=0.0,
          trimp=10 * w(162.7 / 190), is_quality=False)  # fmt: skip
    assert close(r["trimp"], 28.369319111)


def test_activity_after_as_of_is_left_out(db):
    assert not rows(db, "select 1 from main.activities where activity_id = ?", db.named["hr_future"])
    assert max(daily(db, HR)) == AS_OF


def test_stream_with_pause_zero_hr_and_duplicate_timestamp(db):
    # a1, lthr 142 (easy < 127.8, moderate < 142), moving 120 s = 2 min; intervals (dt, hr[i]):
    #  i1 (10, 120) easy    | i2 (10, 130) moderate | i3 (30, 145) hard (dt = 30 counts)
    #  i4 (10, 0)   no: hr 0 | i5 (100, 150) no: pause | i6 (10, 200) hard, x = 1.4 -> clamp 1
    #  i7 (5, 140) moderate | i8 (0, 140) no: dt 0  | i9 (10, 127) easy (zone of hr[i], not 140)
    # easy 20 s = 1/3 min, moderate 15 s = 0.25, hard 40 s = 2/3; unclassified 2 - 1.25 = 0.75
    # trimp = 10/60 w(.6) + 10/60 w(.7) + 30/60 w(.85) + 10/60 w(1) + 5/60 w(.8) + 10/60 w(.67)
    #       = (1.215174 + 1.717789 + 4.365413 + 1.552141) / 6 + 2.782066 / 2 + 2.378736 / 12 = 3.064347
    # (average_heartrate 135 is ignored: the activity has an HR stream)
    r = act_row(db, "a1")
    expected_trimp = (10 * w(0.6) + 10 * w(0.7) + 30 * w(0.85) + 10 * w(1.0) + 5 * w(0.8) + 10 * w(0.67)) / 60
    check(r, easy_min=1 / 3, moderate_min=0.25, hard_min=2 / 3, unclassified_min=0.75, trimp=expected_trimp,
          is_quality=False)  # fmt: skip
    assert close(r["trimp"], 3.0643474672)


def test_unclassified_is_never_negative(db):
    # a2: moving 6 s = 0.1 min, counted 2 x 5 s at 150 bpm (hard) = 1/6 min -> max(0, 0.1 - 1/6) = 0
    # trimp = 10/60 * w(0.9) = 3.242525 / 6 = 0.540421
    check(act_row(db, "a2"), easy_min=0.0, moderate_min=0.0, hard_min=1 / 6, unclassified_min=0.0, trimp=w(0.9) / 6)


def test_stream_without_counted_interval_is_treated_as_absent(db):
    # a3: stream (0,140) (5,0) (45,140): i1 hr 0, i2 dt 40 > 30 -> no counted interval -> average path:
    # avg 125 < 127.8 -> easy, all 30 min; trimp = 30 * w(0.65) = 30 * 1.449082 = 43.472448
    check(act_row(db, "a3"), easy_min=30.0, moderate_min=0.0, hard_min=0.0, unclassified_min=0.0, trimp=30 * w(0.65))


def test_average_hr_only_and_quality_boundary(db):
    # a4: no stream, avg 135 -> moderate (127.8 <= 135 < 142), 900 s = 15 min -> moderate 15 >= 15: quality
    # trimp = 15 * w(0.75) = 15 * 2.025934 = 30.389010
    check(act_row(db, "a4"), easy_min=0.0, moderate_min=15.0, hard_min=0.0, unclassified_min=0.0,
          trimp=15 * w(0.75), is_quality=True)  # fmt: skip
    # a5: 899 s = 14.983333 min moderate < 15 -> not quality; trimp = 14.983333 * 2.025934 = 30.355244
    check(act_row(db, "a5"), moderate_min=899 / 60, trimp=899 / 60 * w(0.75), is_quality=False)


def test_no_hr_falls_back_to_category_rate(db):
    # a6 manual Walk 50 min -> walk_hike 0.6 -> 30; all 50 min unclassified
    check(act_row(db, "a6"), unclassified_min=50.0, easy_min=0.0, trimp=30.0, is_quality=False)
    # a7 "Yoga" (not in the table) -> other 0.5 -> 20 * 0.5 = 10
    r = act_row(db, "a7")
    assert r["category"] == "other"
    check(r, trimp=10.0, unclassified_min=20.0)
    # a8 no sport_type, type Ride -> ride 0.8 -> 40 * 0.8 = 32
    r = act_row(db, "a8")
    assert (r["sport_type"], r["category"]) == ("Ride", "ride")
    check(r, trimp=32.0, unclassified_min=40.0)
    # a9 Run, workout_type 1 (race), no HR -> run 1.0 -> 20; quality by workout_type
    check(act_row(db, "a9"), trimp=20.0, unclassified_min=20.0, is_quality=True)
    # a10 Run, workout_type absent -> not quality (never null); 25 min -> 25
    check(act_row(db, "a10"), trimp=25.0, is_quality=False)
    # a11 Run, average_heartrate 0 (not > 0) -> fallback 10 min * 1.0; workout_type 3 -> quality
    check(act_row(db, "a11"), trimp=10.0, unclassified_min=10.0, easy_min=0.0, is_quality=True)


def test_weekly_intensity_mix_over_runs(db):
    wk = weekly(db, STREAMS)
    # week 0 runs a1..a4: easy 1/3 + 30 = 30.333333, moderate 0.25 + 15 = 15.25, hard 2/3 + 1/6 = 0.833333,
    # unclassified 0.75; easy_share = 30.333333 / 46.416667 = 0.653501; 1 quality session (a4);
    # classified 46.42 min < 60 -> no easy_share_low although 0.65 < 0.75
    check(wk[0], run_count=4, easy_min=30 + 1 / 3, moderate_min=15.25, hard_min=5 / 6, unclassified_min=0.75,
          easy_share=(30 + 1 / 3) / (46 + 5 / 12), quality_sessions=1, total_moving_min=2 + 0.1 + 30 + 15)  # fmt: skip
    # week 1: runs a5, a9, a10, a11 (moderate 14.983333 only -> easy_share 0), unclassified 20 + 25 + 10 = 55;
    # total over all categories 14.983333 + 50 + 20 + 40 + 20 + 25 + 10 = 179.983333; 2 quality (a9, a11)
    check(wk[1], run_count=4, easy_min=0.0, moderate_min=899 / 60, unclassified_min=55.0, easy_share=0.0,
          total_moving_min=899 / 60 + 165, quality_sessions=2, strength_sessions=0, active_days=7, rest_days=0)  # fmt: skip
    assert wk[2]["easy_share"] is None and wk[2]["longest_run_km"] is None  # empty week
    f = flags(db, STREAMS)
    assert (0, "easy_share_low") not in f and (1, "too_many_quality_sessions") not in f  # 2 is not > 2


# --------------------------------------------------------------------------- section 4


def test_daily_rows_from_the_monday_of_the_first_activity(db):
    d = daily(db, STREAMS)  # first activity Thu 2025-09-04 -> first day Mon 2025-09-01
    assert min(d) == D0 and max(d) == AS_OF and len(d) == (AS_OF - D0).days + 1 == 185
    for n in range(3):  # Mon..Wed: no load, ctl = atl = 0
        check(d[day(n)], load=0.0, ctl=0.0, atl=0.0, tsb=0.0)
    h = daily(db, HR)  # first activity Tue 2025-03-04 -> first day Mon 2025-03-03, 367 rows to 2026-03-04
    assert min(h) == dt.date(2025, 3, 3) and len(h) == 367


def test_ctl_atl_first_three_days(db):
    d = daily(db, PMC)
    # day 0: load 60 -> ctl = 0 + 60/42 = 1.428571, atl = 60/7 = 8.571429, tsb = -7.142857
    check(d[day(0)], load=60.0, ctl=60 / 42, atl=60 / 7, tsb=60 / 42 - 60 / 7)
    # day 1: the deleted activity does not count -> load 0; ctl = 1.428571 * 41/42 = 1.394558,
    # atl = 8.571429 * 6/7 = 7.346939 (= 360/49)
    check(d[day(1)], load=0.0, ctl=2460 / 1764, atl=360 / 49, tsb=2460 / 1764 - 360 / 49)
    # day 2: API value 30 min (the export's 50 is ignored) -> load 30;
    # ctl = 1.394558 * 41/42 + 30/42 = 12815/6174 = 2.075640; atl = 7.346939 * 6/7 + 30/7 = 3630/343 = 10.583090
    # tsb = -8.507451; acute_7d = 90, chronic_28d = 90/4 = 22.5, acwr null (day 2 < 27)
    check(d[day(2)], load=30.0, ctl=12815 / 6174, atl=3630 / 343, tsb=12815 / 6174 - 3630 / 343, acute_7d=90.0,
          chronic_28d=22.5)  # fmt: skip
    assert d[day(2)]["acwr"] is None
    assert not rows(db, "select 1 from main.activities where activity_id = ?", db.named["p1"])  # deleted
    r = act_row(db, "p2")
    assert r["source"] == "api" and close(r["moving_min"], 30.0)


def test_ctl_over_a_year_with_a_gap(db):
    # athlete 101, first day 2025-03-03 (day 0): loads 30 (day 1), 30 (day 2), T = 28.369319 (day 366).
    # ctl(366) = (30 * (41/42)^365 + 30 * (41/42)^364 + T) / 42 = 0.675679 (T/42 alone = 0.675460)
    # atl(366) = (30 * (6/7)^365 + 30 * (6/7)^364 + T) / 7 = 4.052760
    t = 10 * w(162.7 / 190)
    check(daily(db, HR)[AS_OF], load=t, ctl=(30 * (41 / 42) ** 365 + 30 * (41 / 42) ** 364 + t) / 42,
          atl=(30 * (6 / 7) ** 365 + 30 * (6 / 7) ** 364 + t) / 7)  # fmt: skip


def test_acwr_constant_load(db):
    d = daily(db, CONST)  # load 40 on days 0..27, 0 after
    # day 26: acute 7 * 40 = 280, chronic 27 * 40 / 4 = 270, but day 26 < 27 -> acwr null
    check(d[day(26)], acute_7d=280.0, chronic_28d=270.0)
    assert d[day(26)]["acwr"] is None
    # day 27: acute 280, chronic 28 * 40 / 4 = 280 -> acwr 1.0
    check(d[day(27)], acute_7d=280.0, chronic_28d=280.0, acwr=1.0)
    # day 28: acute days 22..28 = 6 * 40 = 240, chronic days 1..28 = 27 * 40 / 4 = 270 -> 0.888889
    check(d[day(28)], acute_7d=240.0, chronic_28d=270.0, acwr=240 / 270)
    # day 54: acute 0, chronic (day 27 only) 40/4 = 10 -> acwr 0; day 55: chronic 0 -> null
    check(d[day(54)], acute_7d=0.0, chronic_28d=10.0, acwr=0.0)
    check(d[day(55)], acute_7d=0.0, chronic_28d=0.0)
    assert d[day(55)]["acwr"] is None
    # ctl after 28 days of 40: 40 * (1 - (41/42)^28) = 40 * (1 - 0.509336) = 19.626548
    check(d[day(27)], ctl=40 * (1 - (41 / 42) ** 28), atl=40 * (1 - (6 / 7) ** 28))


# --------------------------------------------------------------------------- section 5


def test_weekly_rest_days_monotony_strain(db):
    wk = weekly(db, WEEKS)
    # week 0: loads 60,0,30,0,0,90,0: weekly 180, mean 180/7, var = 12600/7 - (180/7)^2 = 55800/49,
    # sd = sqrt(55800)/7 -> monotony = 180 / sqrt(55800) = 0.762001; strain = 180 * 0.762001 = 137.160137
    # 3 runs 4 + 3 + 3 km, no climbing: km-effort 10, longest 4; 3 active days, 4 rest days
    check(wk[0], is_complete=True, days_elapsed=7, run_count=3, run_distance_km=10.0, run_moving_min=180.0,
          run_km_effort=10.0, longest_run_km=4.0, active_days=3, rest_days=4, weekly_load=180.0,
          monotony=180 / math.sqrt(55800), strain=180 * 180 / math.sqrt(55800), unclassified_min=180.0)  # fmt: skip
    assert wk[0]["easy_share"] is None  # no classified minutes
    # week 1: loads 10 x6 and 28: mean 88/7; six deviations of 18/7 and one of 6*18/7 ->
    # sd = 18 * sqrt(6) / 7 -> monotony = 88 / (18 * sqrt 6) = 1.995881 (just below 2.0); no rest day
    check(wk[1], active_days=7, rest_days=0, weekly_load=88.0, monotony=88 / (18 * math.sqrt(6)), run_km_effort=10.0)
    # week 2: 10 x6 and 27.9 -> monotony = 87.9 / (17.9 * sqrt 6) = 2.004750 (just above 2.0);
    # km-effort 6 + 4 + 200/100 = 12
    check(wk[2], rest_days=0, weekly_load=87.9, monotony=87.9 / (17.9 * math.sqrt(6)), run_km_effort=12.0,
          run_elevation_gain_m=200.0)  # fmt: skip
    # week 3: one 40-minute run -> loads 40,0,...: monotony = (40/7) / (sqrt(9600)/7) = 0.408248
    check(wk[3], monotony=40 / math.sqrt(9600), rest_days=6)
    # week 6: empty -> 7 rest days, load 0, sd 0 -> monotony and strain null, no longest run
    check(wk[6], rest_days=7, weekly_load=0.0, run_count=0)
    assert wk[6]["monotony"] is None and wk[6]["strain"] is None and wk[6]["longest_run_km"] is None
    # constant load 40 every day (athlete 302): sd = 0 -> monotony null, no rest day
    c = weekly(db, CONST)[1]
    assert c["monotony"] is None and c["rest_days"] == 0


def test_incomplete_last_week(db):
    wk = weekly(db, WEEKS)
    last = wk[max(wk)]
    assert last["week_start"] == dt.date(2026, 3, 2)
    # Mon..Wed (as-of) elapsed = 3; one run on Tuesday -> 1 active, 2 rest; monotony null
    check(last, is_complete=False, days_elapsed=3, active_days=1, rest_days=2, weekly_load=30.0)
    assert last["monotony"] is None and last["strain"] is None
    # ctl_end etc. are the as-of date's values
    end = daily(db, WEEKS)[AS_OF]
    check(last, ctl_end=end["ctl"], atl_end=end["atl"], tsb_end=end["tsb"])
    # no flag on an incomplete week (no_strength and low_consistency conditions hold here)
    assert not [k for k in flags(db, WEEKS) if k[0] == max(wk)]


def test_volume_change(db):
    wk = weekly(db, WEEKS)
    for n in range(4):  # fewer than 4 previous weeks
        assert wk[n]["volume_change"] is None
    # week 4: 13.1 / mean(10, 10, 12, 8) - 1 = 13.1 / 10 - 1 = 0.31
    check(wk[4], run_km_effort=13.1, volume_change=0.31)
    # week 5: 14 / mean(10, 12, 8, 13.1) - 1 = 14 / 10.775 - 1 = 0.299304
    check(wk[5], volume_change=14 / 10.775 - 1)
    # week 6: 0 / mean(12, 8, 13.1, 14) - 1 = -1
    check(wk[6], volume_change=-1.0)
    # athlete 302: 35 km-effort weeks 0..3, then nothing: week 4 -> 0/35 - 1 = -1; week 8: mean of 4 empty weeks 0 -> null
    c = weekly(db, CONST)
    check(c[4], volume_change=-1.0)
    assert c[8]["volume_change"] is None


def test_acwr_end_on_the_last_day_of_the_week(db):
    wk = weekly(db, WEEKS)
    # week 4 ends on day 34: acute = 60 (day 28); chronic = days 7..34 = (88 + 87.9 + 40 + 60) / 4 = 68.975
    # acwr_end = 60 / 68.975 = 0.869880
    check(wk[4], acwr_end=60 / 68.975)
    assert wk[2]["acwr_end"] is None  # day 20 < 27
    check(weekly(db, CONST)[3], acwr_end=1.0)  # day 27


def test_settled_days_min_tsb_ratio_and_fatigue_days(db):
    wk = weekly(db, SETTLED)
    # load 50 on days 0..90: ctl(90) = 50 (1 - (41/42)^91) = 44.420240, atl(90) = 50 (1 - (6/7)^91) = 49.999960
    c = 50 * (1 - (41 / 42) ** 91)
    a = 50 * (1 - (6 / 7) ** 91)
    # week 11 (days 77..83) has no settled day; week 12 (days 84..90) only day 90:
    # min_tsb_ratio = (44.420240 - 49.999960) / 44.420240 = -0.125612
    assert wk[11]["min_tsb_ratio"] is None and wk[11]["fatigue_days"] == 0
    check(wk[12], min_tsb_ratio=(c - a) / c, fatigue_days=0)
    ratios = {}
    for n, load in zip(range(91, 101), (100, 0, 150, 100, 0, 150, 100, 100, 100, 0)):
        c, a = c + (load - c) / 42, a + (load - a) / 7
        ratios[n] = (c - a) / c
    # ratios days 91..100: -0.249 -0.097 | -0.345 -0.418 | -0.245 | -0.445 -0.490 || -0.523 -0.546 -0.357 | -0.192 ...
    # (< -0.30 marked by the bars): week 13 (days 91..97) runs {93,94} and {96,97} -> 2;
    # week 14 (days 98..104) run {98,99,100} -> 3 (the run 96..100 is cut at the week boundary)
    check(wk[13], min_tsb_ratio=ratios[97], fatigue_days=2)
    assert close(ratios[97], -0.4903822121)
    check(wk[14], min_tsb_ratio=ratios[99], fatigue_days=3)
    f = flags(db, SETTLED)
    assert (13, "deep_fatigue") not in f
    check(f[(14, "deep_fatigue")], severity="warning", value=3.0, threshold=3.0)


def test_consistency_12w(db):
    c = weekly(db, CONST)  # 7 runs in weeks 0..3, none after
    # weeks 0..3: 1.0; week 7: 4/8 = 0.5; week 8: 4/9 = 0.444444; week 12 (weeks 1..12): 3/12 = 0.25
    check(c[3], consistent_week=True, consistency_12w=1.0)
    check(c[7], consistent_week=False, consistency_12w=0.5)
    check(c[8], consistency_12w=4 / 9)
    check(c[12], consistency_12w=0.25)
    check(c[15], consistency_12w=0.0)


# --------------------------------------------------------------------------- section 6


def test_flags_around_their_thresholds(db):
    f = flags(db, WEEKS)
    # week 1: no rest day -> no_rest_day 0 / 1; monotony 1.995881 -> no high_monotony; 1 component -> no overreaching
    check(f[(1, "no_rest_day")], severity="warning", value=0.0, threshold=1.0)
    assert (1, "high_monotony") not in f and (1, "overreaching") not in f
    # week 2: monotony 2.004750 > 2.0 and no rest day -> overreaching 2 / 2 (alert)
    check(f[(2, "high_monotony")], severity="warning", value=87.9 / (17.9 * math.sqrt(6)), threshold=2.0)
    check(f[(2, "overreaching")], severity="alert", value=2.0, threshold=2.0)
    # week 4: volume_change 0.31 > 0.30; week 5: 0.299304 -> nothing
    check(f[(4, "volume_spike")], severity="warning", value=0.31, threshold=0.30)
    assert (4, "overreaching") not in f  # volume_spike alone
    assert (5, "volume_spike") not in f
    assert not [k for k in f if k[1] == "acwr_high"]  # highest acwr_end 0.87
    # athlete 302: no_rest_day in weeks 0..3 (sd 0 -> no high_monotony, acwr_end 1.0 < 1.5 -> no overreaching)
    g = flags(db, CONST)
    for n in range(4):
        check(g[(n, "no_rest_day")], value=0.0, threshold=1.0)
        assert (n, "high_monotony") not in g and (n, "overreaching") not in g


def test_no_strength_and_low_consistency(db):
    f = flags(db, PMC)  # 2 runs in week 0, nothing after; never strength
    # no_strength needs this week and the week before: not in week 0, raised from week 1 (value 0, threshold 1)
    assert (0, "no_strength") not in f
    check(f[(1, "no_strength")], severity="info", value=0.0, threshold=1.0)
    # low_consistency needs 4 weeks: consistency 0 in weeks 0..2 but not raised; week 3: 0 / 0.5
    assert not [k for k in f if k[1] == "low_consistency" and k[0] < 3]
    check(f[(3, "low_consistency")], severity="info", value=0.0, threshold=0.5)
    g = flags(db, CONST)
    # consistency 0.5 in week 7 is not < 0.5; week 8: 4/9 = 0.444444 < 0.5
    assert (7, "low_consistency") not in g
    check(g[(8, "low_consistency")], value=4 / 9, threshold=0.5)


def test_long_run_spike(db):
    r = {name: act_row(db, name)["long_run_spike_ratio"] for name in
         ("s0", "s29", "s30", "s31", "s61", "s92", "s121", "s160", "s161")}  # fmt: skip
    # day 0: warm-up; day 29: 29 < 30 days after the first day -> null although day 0 (10 km) is in its window
    assert r["s0"] is None and r["s29"] is None
    # day 30: window [0, 29] -> longest 10 -> 11.2 / 10 = 1.12
    assert close(r["s30"], 1.12)
    # day 31: window [1, 30] (day 0 out) -> {5, 11.2} -> 14.6 / 11.2 = 1.303571
    assert close(r["s31"], 14.6 / 11.2)
    # day 61: window [31, 60] (day 31 = local_date - 30 included) -> 16 / 14.6 = 1.095890
    assert close(r["s61"], 16 / 14.6)
    # day 92: window [62, 91] (day 61 = local_date - 31 excluded) -> no run -> null
    assert r["s92"] is None
    # day 121: window [91, 120] -> 5 -> 5.6 / 5 = 1.12
    assert close(r["s121"], 1.12)
    # day 160: window [130, 159] empty; day 161: window [131, 160] holds only a 0 km run -> null
    assert r["s160"] is None and r["s161"] is None
    f = flags(db, SPIKE)
    # week 4 (days 28..34) holds 1.12 and 1.303571 -> one flag at its highest severity: warning 1.303571 / 1.30
    check(f[(4, "long_run_spike")], severity="warning", value=14.6 / 11.2, threshold=1.30)
    # week 8 (day 61): 1.095890 is not > 1.10 -> nothing; week 17 (day 121): info 1.12 / 1.10
    assert (8, "long_run_spike") not in f
    check(f[(17, "long_run_spike")], severity="info", value=1.12, threshold=1.10)
    assert sorted(k[0] for k in f if k[1] == "long_run_spike") == [4, 17]
