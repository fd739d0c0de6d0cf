"""Garmin activities through the dbt models, against values worked out BY HAND from
/work/shared/METRICS.md sections 1-3 (the arithmetic is in the comments).

Two real DuckDB files, each landed through pipelines.landing exactly as the Garmin and
Strava landings write raw.activities / raw.streams, and built with one real `dbt build`:

* `mixed`: the synced Strava athlete S (raw.athlete) with Strava API, export, device-file
  and Garmin rows (Garmin owner O counts for S), plus one API activity of another athlete T.
* `garmin_only`: Garmin rows of owner O and device files landed before any athlete was
  known (athlete 0): everything counts for O.

Section 1 rules checked here: every Garmin field mapping (absent values, movingDuration
missing -> duration, race -> workout_type 1 -> is_quality), the 60 s rule at 60 s (one
workout) and 61 s (two), each source priority pair and the whole chain, only the kept
row's own stream, different athletes never merge, deletion, the Garmin-only athlete, and
the Garmin typeKeys of section 2. At the end both databases are compared with
tests/reference_metrics.py as well.

Profile: nothing configured, so hr_max is derived (max of the kept rows' max_heartrate),
lthr = 0.89 x hr_max rounded half up, hr_rest 60, (k, b) = (0.64, 1.92):
    weight(x) = x * 0.64 * exp(1.92 x),  x = clamp((hr - 60) / (hr_max - 60), 0, 1)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipelines.landing import mark_deleted, replace_stream, upsert_activity
from pipelines.warehouse import connect_writer
from tests import reference_metrics
from tests.dbt_build import dbt_build, query_rows

AS_OF = dt.date(2026, 3, 4)
REL = 1e-6  # METRICS.md: relative tolerance 1e-6 on floats
S = 1001  # the synced Strava athlete of `mixed`
T = 2002  # another Strava athlete (API rows only) in `mixed`
O = 3456789  # the Garmin owner id (GARMIN.md's example account)
LOCAL = dt.timedelta(hours=1)  # every activity here starts at UTC + 1 h local time


def w(x: float) -> float:
    """METRICS.md 3: Banister weight, sex unspecified."""
    return x * 0.64 * math.exp(1.92 * x)


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=REL, abs_tol=1e-9)


def utc(day: int, hh: int = 6, mm: int = 0, ss: int = 0) -> dt.datetime:
    """A UTC start time on February `day`, 2026."""
    return dt.datetime(2026, 2, day, hh, mm, ss)


# --------------------------------------------------------------------------- raw rows


def strava(activity_id: int, athlete: int, start: dt.datetime, sport: str, moving_s: int, *, km: float = 0.0,
           avg: float | None = None, max_hr: float | None = None, manual: bool = True) -> dict:  # fmt: skip
    """A Strava SummaryActivity as the API sync (and, with the same names, the importers) land it."""
    act = {
        "id": activity_id,
        "athlete": {"id": athlete, "resource_state": 1},
        "name": f"{sport} by hand",
        "sport_type": sport,
        "type": sport,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_date_local": (start + LOCAL).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "moving_time": moving_s,
        "elapsed_time": moving_s + 60,
        "distance": km * 1000,
        "total_elevation_gain": 0.0,
        "has_heartrate": avg is not None,
        "manual": manual,
        "trainer": False,
    }
    if avg is not None:
        act["average_heartrate"] = avg
    if max_hr is not None:
        act["max_heartrate"] = max_hr
    return act


def garmin(activity_id: int, start: dt.datetime, type_key: str, **fields) -> dict:
    """Garmin's activity-list object (GARMIN.md): absent values are left out, not null."""
    act = {
        "activityId": activity_id,
        "activityName": f"{type_key} by hand",
        "startTimeLocal": (start + LOCAL).strftime("%Y-%m-%d %H:%M:%S"),
        "startTimeGMT": start.strftime("%Y-%m-%d %H:%M:%S"),
        "activityType": {"typeId": 1, "typeKey": type_key, "parentTypeId": 17},
        "ownerId": O,
        "beginTimestamp": int(start.replace(tzinfo=dt.timezone.utc).timestamp() * 1000),
        "manufacturer": "GARMIN",
    }
    act.update(fields)
    return act


@dataclass
class Landing:
    """Raw rows in landing order, and what the reference needs to recompute them."""

    acts: list[tuple[str, dict]] = field(default_factory=list)  # (source, json)
    streams: dict[tuple[str, int], dict] = field(default_factory=dict)  # (source, id) -> time/heartrate
    deleted: list[tuple[str, int]] = field(default_factory=list)

    def add(self, source: str, act: dict, stream: dict | None = None) -> int:
        self.acts.append((source, act))
        activity_id = act["activityId"] if source == "garmin" else act["id"]
        if stream is not None:
            self.streams[(source, activity_id)] = stream
        return activity_id

    def land(self, db_path: Path, synced_athlete: int | None) -> None:
        con = connect_writer(db_path)
        try:
            if synced_athlete is not None:
                con.execute("insert into raw.athlete values (?, ?, ?)",
                            [synced_athlete, json.dumps({"id": synced_athlete}), dt.datetime(2026, 3, 1)])
            for source, act in self.acts:
                if source == "garmin":  # as the Garmin landing writes it: activityId, ownerId
                    upsert_activity(con, "garmin", act, activity_id=act["activityId"], athlete_id=act["ownerId"])
                else:
                    upsert_activity(con, source, act)
            for (source, activity_id), stream in self.streams.items():
                replace_stream(con, source, activity_id, stream, None)
            for source, activity_id in self.deleted:
                mark_deleted(con, source, [activity_id])
        finally:
            con.close()

    def reference_records(self) -> list[dict]:
        gone = set(self.deleted)
        return [{"source": source, "json": act,
                 "deleted": (source, act["activityId"] if source == "garmin" else act["id"]) in gone}
                for source, act in self.acts]  # fmt: skip


# Garmin stream of g_stream (whole seconds since the FIT file's first record), lthr 169:
# t 0 hr 100 (first sample, no interval); t 10..300 hr 150 (30 intervals of 10 s, easy: 150 < 152.1);
# t 310..900 hr 160 (60 x 10 s, moderate: 152.1 <= 160 < 169); t 910..1200 hr 175 (30 x 10 s, hard);
# t 1260 hr 175: dt 60 > 30, a pause, not counted.
G_STREAM = {
    "time": [0] + list(range(10, 1201, 10)) + [1260],
    "heartrate": [100] + [150] * 30 + [160] * 60 + [175] * 30 + [175],
}
HARD_200 = {"time": [0, 5, 10, 15, 20], "heartrate": [200, 200, 200, 200, 200]}  # 20 s hard, for copies never read


def mixed_landing() -> tuple[Landing, dict[str, int]]:
    m, ids = Landing(), {}

    # ---- Garmin field mapping (Garmin-only workouts of owner O -> athlete S)
    ids["g_full"] = m.add("garmin", garmin(
        21000000001, utc(2, 6, 10, 21), "trail_running", activityName="Morning Trail Run",
        eventType={"typeId": 9, "typeKey": "uncategorized"}, distance=12034.5, duration=4210.3,
        elapsedDuration=4388.0, movingDuration=4102.0, elevationGain=412.0, elevationLoss=405.0,
        averageSpeed=2.86, averageHR=141.0, maxHR=168.0, calories=810.0, manualActivity=False))
    ids["g_sparse"] = m.add("garmin", garmin(  # a race with only duration: nothing else present
        21000000002, utc(2, 17), "running", eventType={"typeId": 1, "typeKey": "race"}, duration=1500.0))
    ids["g_strength"] = m.add("garmin", garmin(
        21000000003, utc(3, 17), "strength_training", eventType={"typeId": 3, "typeKey": "training"},
        duration=1800.0, manualActivity=True))
    ids["g_stream"] = m.add("garmin", garmin(
        21000000004, utc(4), "running", distance=4000.0, duration=1400.0, movingDuration=1320.0,
        averageHR=120.0, maxHR=185.0), stream=G_STREAM)
    # a Strava stream that happens to carry the Garmin activity's number (no such Strava activity)
    m.streams[("api", 21000000004)] = HARD_200

    # ---- 60 s: Garmin starts exactly 60 s after the API's start -> one workout, the API row
    ids["api_60"] = m.add("api", strava(8100000001, S, utc(5), "Run", 3000, km=10.0, avg=140.0, max_hr=190.0))
    ids["garmin_60"] = m.add("garmin", garmin(
        21000000005, utc(5, 6, 1, 0), "running", distance=10100.0, duration=3150.0, movingDuration=3100.0,
        averageHR=150.0, maxHR=250.0), stream=HARD_200)
    # ---- 61 s: two workouts
    ids["api_61"] = m.add("api", strava(8100000002, S, utc(6), "Run", 1800, km=5.0))
    ids["garmin_61"] = m.add("garmin", garmin(
        21000000006, utc(6, 6, 1, 1), "running", distance=5000.0, duration=1800.0, movingDuration=1800.0))
    # ---- export > garmin (30 s apart)
    ids["export_vs_garmin"] = m.add("export", strava(8100000003, S, utc(7), "Run", 2400, km=6.0))
    ids["garmin_vs_export"] = m.add("garmin", garmin(
        21000000007, utc(7, 6, 0, 30), "running", duration=2500.0, movingDuration=2500.0))
    # ---- garmin > files (the file starts 40 s earlier and has a stream; the Garmin row has none)
    ids["garmin_vs_files"] = m.add("garmin", garmin(
        21000000008, utc(8), "running", duration=2000.0, movingDuration=2000.0, averageHR=130.0))
    ids["files_vs_garmin"] = m.add("files", strava(7700000001, S, utc(8, 5, 59, 20), "Run", 2100), stream=HARD_200)
    # ---- the chain api > export > garmin > files: all within 60 s of the API row
    ids["chain_api"] = m.add("api", strava(8100000004, S, utc(9), "Ride", 3600, km=30.0))
    ids["chain_export"] = m.add("export", strava(8100000005, S, utc(9, 6, 0, 30), "Ride", 3500, km=29.0))
    ids["chain_garmin"] = m.add("garmin", garmin(21000000009, utc(9, 5, 59, 30), "cycling", duration=3400.0))
    ids["chain_files"] = m.add("files", strava(7700000002, S, utc(9, 6, 0, 59), "Ride", 3300, km=28.0))
    # ... and export > garmin > files without an API row
    ids["chain2_export"] = m.add("export", strava(8100000006, S, utc(10), "Walk", 3000, km=5.0))
    ids["chain2_garmin"] = m.add("garmin", garmin(21000000010, utc(10, 6, 0, 40), "walking", duration=2900.0))
    ids["chain2_files"] = m.add("files", strava(7700000003, S, utc(10, 5, 59, 10), "Walk", 2800, km=4.8))
    # ---- different athletes never merge: T's API run and O's (= S's) Garmin run 10 s apart
    ids["other_athlete"] = m.add("api", strava(8100000007, T, utc(11), "Run", 1200, km=3.0))
    ids["garmin_near_other"] = m.add("garmin", garmin(
        21000000011, utc(11, 6, 0, 10), "running", duration=1200.0, movingDuration=1200.0))
    # ---- deleted Garmin activities: gone, and a deleted copy hides nothing
    ids["garmin_deleted_copy"] = m.add("garmin", garmin(21000000012, utc(12), "running", duration=1500.0,
                                                        maxHR=230.0))  # fmt: skip
    ids["files_beside_deleted"] = m.add("files", strava(7700000004, S, utc(12, 6, 0, 20), "Run", 1500, km=4.0))
    ids["garmin_deleted"] = m.add("garmin", garmin(21000000013, utc(13), "running", duration=600.0))
    m.deleted += [("garmin", ids["garmin_deleted_copy"]), ("garmin", ids["garmin_deleted"])]
    # ---- Garmin typeKeys (METRICS.md 2), 600 s each, no heart rate
    for n, key in enumerate(("cycling", "hiking", "lap_swimming", "treadmill_running", "yoga")):
        ids[key] = m.add("garmin", garmin(21000000014 + n, utc(14 + n), key, duration=600.0))
    # ---- a device file landed before any athlete was known (athlete 0) -> the synced athlete S
    ids["files_athlete_0"] = m.add("files", strava(7700000005, 0, utc(19), "Walk", 1200, km=1.5))
    return m, ids


def garmin_only_landing() -> tuple[Landing, dict[str, int]]:
    g, ids = Landing(), {}
    # device files first, nothing known yet: the importer writes athlete 0
    ids["files_copy"] = g.add("files", strava(7700000101, 0, utc(2, 6, 0, 30), "Run", 1800, km=5.1),
                              stream=HARD_200)  # fmt: skip
    ids["files_alone"] = g.add("files", strava(7700000102, 0, utc(3), "Walk", 1200, km=1.5))
    # then the Garmin account: 30 s before the first file
    ids["garmin_run"] = g.add("garmin", garmin(
        21000000101, utc(2), "running", distance=5000.0, duration=1750.0, movingDuration=1700.0,
        averageHR=150.0, maxHR=180.0))
    ids["garmin_deleted"] = g.add("garmin", garmin(21000000102, utc(4), "running", duration=900.0, maxHR=250.0))
    g.deleted.append(("garmin", ids["garmin_deleted"]))
    # stream with lthr 160 (0.9 x 160 = 144): t 0 hr 100 | t 10 hr 140 easy | t 20 hr 150 moderate | t 30 hr 165 hard
    ids["garmin_stream"] = g.add("garmin", garmin(
        21000000103, utc(5), "running", duration=60.0, movingDuration=60.0, averageHR=140.0, maxHR=170.0),
        stream={"time": [0, 10, 20, 30], "heartrate": [100, 140, 150, 165]})
    return g, ids


# --------------------------------------------------------------------------- the builds


@dataclass
class Built:
    path: Path
    ids: dict[str, int]
    landing: Landing
    synced_athlete: int | None


def _build(tmp: Path, landing: Landing, ids: dict[str, int], synced_athlete: int | None) -> Built:
    db_path = tmp / "training.duckdb"
    landing.land(db_path, synced_athlete)
    proc = dbt_build(db_path, tmp, AS_OF)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return Built(db_path, ids, landing, synced_athlete)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Built:
    landing, ids = mixed_landing()
    return _build(tmp_path_factory.mktemp("garmin_mixed"), landing, ids, S)


@pytest.fixture(scope="module")
def garmin_only(tmp_path_factory) -> Built:
    landing, ids = garmin_only_landing()
    return _build(tmp_path_factory.mktemp("garmin_only"), landing, ids, None)


def rows(db: Built, sql: str, *params) -> list[dict]:
    return query_rows(db.path, sql, *params)


def act(db: Built, name: str) -> dict:
    found = rows(db, "select * from main.activities where activity_id = ?", db.ids[name])
    assert len(found) == 1, (name, found)
    return found[0]


def absent(db: Built, *names: str) -> None:
    for name in names:
        assert not rows(db, "select 1 from main.activities where activity_id = ?", db.ids[name]), name


def check(row: dict, **expected) -> None:
    def same(got, want) -> bool:
        if want is None or isinstance(want, (bool, str, dt.date)):
            return got == want and (not isinstance(want, bool) or isinstance(got, bool))
        return close(got, want)

    bad = {k: (row[k], v) for k, v in expected.items() if not same(row[k], v)}
    assert not bad, f"(got, expected): {bad}"


def load_on(db: Built, athlete: int, day: dt.date) -> float:
    (r,) = rows(db, "select load from main.daily_training_load where athlete_id = ? and date = ?", athlete, day)
    return r["load"]


# --------------------------------------------------------------------------- profile


def test_profile_counts_only_kept_rows(mixed):
    # S's kept rows' max_heartrate: 168 (g_full), 185 (g_stream), 190 (api_60). The Garmin copy of
    # api_60 (maxHR 250) is dropped and the deleted Garmin copy (230) is gone -> hr_max 190;
    # lthr = 0.89 x 190 = 169.1 -> +0.5 = 169.6 -> floor 169; zones: easy < 152.1 <= moderate < 169.
    # T has no heart rate at all -> 190, lthr 169.
    prof = {r["athlete_id"]: r for r in rows(mixed, "select * from intermediate.int_athlete_profile")}
    assert set(prof) == {S, T}
    check(prof[S], hr_max=190.0, lthr=169.0, hr_max_source="derived")
    check(prof[T], hr_max=190.0, lthr=169.0, hr_max_source="default")


# --------------------------------------------------------------------------- Garmin field mapping


def test_garmin_fields_all_present(mixed):
    # sport_type = typeKey trail_running -> run; start_date_local = startTimeLocal 07:10:21 (UTC+1),
    # start_date_utc = startTimeGMT 06:10:21; moving = movingDuration 4102 s = 68.366667 min
    # (not duration 4210.3); elapsed = elapsedDuration 4388 s = 73.133333 min; 12034.5 m = 12.0345 km;
    # elevationGain 412 m. No stream, averageHR 141 > 0 -> all moving minutes in the zone of 141:
    # 141 < 152.1 -> easy. x = (141 - 60) / 130 = 0.623077, w = 1.319081 -> trimp = 68.366667 x 1.319081
    # = 90.181172. eventType uncategorized -> workout_type null, 0 moderate+hard minutes -> not quality.
    check(act(mixed, "g_full"), athlete_id=S, source="garmin", sport_type="trail_running", category="run",
          start_date_local=dt.datetime(2026, 2, 2, 7, 10, 21), start_date_utc=dt.datetime(2026, 2, 2, 6, 10, 21),
          local_date=dt.date(2026, 2, 2), week_start=dt.date(2026, 2, 2), distance_km=12.0345,
          moving_min=4102 / 60, elapsed_min=4388 / 60, elevation_gain_m=412.0, average_heartrate=141.0,
          max_heartrate=168.0, easy_min=4102 / 60, moderate_min=0.0, hard_min=0.0, unclassified_min=0.0,
          trimp=4102 / 60 * w(81 / 130), is_quality=False, workout_type=None, is_manual=False, is_trainer=False,
          load_method="average_hr", activity_name="Morning Trail Run")  # fmt: skip
    assert close(act(mixed, "g_full")["trimp"], 90.181172105)


def test_garmin_fields_absent_and_race(mixed):
    # only duration 1500 s: moving = elapsed = 25 min; distance and elevation absent -> 0; no averageHR
    # -> no heart rate: category rate run 1.0 -> trimp 25, all 25 min unclassified.
    # eventType race -> workout_type 1 -> a quality session although no minute is moderate or hard.
    check(act(mixed, "g_sparse"), sport_type="running", category="run", moving_min=25.0, elapsed_min=25.0,
          distance_km=0.0, elevation_gain_m=0.0, average_heartrate=None, max_heartrate=None, easy_min=0.0,
          unclassified_min=25.0, trimp=25.0, workout_type=1, is_quality=True, is_manual=False,
          load_method="category_rate")  # fmt: skip
    # strength_training -> strength; manualActivity true; 1800 s = 30 min x 0.5 = 15; eventType training
    # -> workout_type null; never a quality session (runs only)
    check(act(mixed, "g_strength"), category="strength", moving_min=30.0, trimp=15.0, is_manual=True,
          workout_type=None, is_quality=False)  # fmt: skip


def test_garmin_only_activity_stream_drives_zones_and_trimp(mixed):
    # G_STREAM, lthr 169: easy 30 x 10 s = 5 min, moderate 60 x 10 s = 10 min, hard 30 x 10 s = 5 min
    # (the 60 s gap to t 1260 is a pause). moving 1320 s = 22 min -> unclassified 22 - 20 = 2.
    # trimp = 5 w(90/130) + 10 w(100/130) + 5 w(115/130) = 5 x 1.674005 + 10 x 2.156037 + 5 x 3.094332
    #       = 8.370024 + 21.560368 + 15.471661 = 45.402053. averageHR 120 is ignored (the stream wins).
    # moderate + hard = 15 >= 15 -> quality. The 'api' stream under the same number is never read.
    r = act(mixed, "g_stream")
    check(r, source="garmin", easy_min=5.0, moderate_min=10.0, hard_min=5.0, unclassified_min=2.0,
          trimp=5 * w(90 / 130) + 10 * w(100 / 130) + 5 * w(115 / 130), is_quality=True, load_method="stream",
          counted_hr_intervals=120, distance_km=4.0, average_heartrate=120.0)  # fmt: skip
    assert close(r["trimp"], 45.402053114)


def test_garmin_type_keys_are_categorized(mixed):
    # 600 s = 10 min each, no heart rate -> category rate: ride 0.8, walk_hike 0.6, swim 0.8, run 1.0,
    # other 0.5 (yoga is not in the seed)
    for key, category, trimp in (("cycling", "ride", 8.0), ("hiking", "walk_hike", 6.0), ("lap_swimming", "swim", 8.0),
                                 ("treadmill_running", "run", 10.0), ("yoga", "other", 5.0)):  # fmt: skip
        check(act(mixed, key), sport_type=key, category=category, trimp=trimp, moving_min=10.0)
    seeded = {r["sport_type"]: r["category"] for r in rows(mixed, "select * from seeds.sport_type_categories")}
    garmin_keys = {
        "run": "running trail_running treadmill_running track_running virtual_run ultra_run",
        "walk_hike": "walking casual_walking speed_walking hiking",
        "strength": "strength_training",
        "ride": "cycling road_biking mountain_biking gravel_cycling indoor_cycling virtual_ride e_bike_fitness "
                "e_bike_mountain",
        "swim": "lap_swimming open_water_swimming",
    }  # METRICS.md 2, copied from its table
    for category, keys in garmin_keys.items():
        for key in keys.split():
            assert seeded.get(key) == category, key


# --------------------------------------------------------------------------- one workout counted once


def test_60_seconds_apart_is_one_workout_and_only_its_own_stream_counts(mixed):
    # Garmin 06:01:00 vs API 06:00:00: 60 s <= 60 -> the same workout; the API row is kept with its
    # values: 3000 s = 50 min, avg 140 < 152.1 -> easy, trimp = 50 x w(80/130) = 50 x 1.283696 = 64.184808.
    # The Garmin copy's stream (20 s at 200 bpm) is not the kept row's -> not used (average_hr method).
    check(act(mixed, "api_60"), source="api", athlete_id=S, moving_min=50.0, easy_min=50.0, hard_min=0.0,
          trimp=50 * w(80 / 130), load_method="average_hr", counted_hr_intervals=0)  # fmt: skip
    absent(mixed, "garmin_60")
    assert close(load_on(mixed, S, dt.date(2026, 2, 5)), 64.184808088)  # counted once, not 64.18 + the copy


def test_61_seconds_apart_are_two_workouts(mixed):
    # 06:01:01 vs 06:00:00: 61 s > 60 -> both count: API 1800 s manual run = 30 min x 1.0 = 30, Garmin
    # movingDuration 1800 s = 30 -> 30; the day's load 30 + 30 = 60
    check(act(mixed, "api_61"), source="api", trimp=30.0)
    check(act(mixed, "garmin_61"), source="garmin", athlete_id=S, trimp=30.0)
    assert close(load_on(mixed, S, dt.date(2026, 2, 6)), 60.0)


def test_export_beats_garmin(mixed):
    # 30 s apart: the export row (2400 s = 40 min, no HR -> 40) is kept, Garmin's 2500 s is not used
    check(act(mixed, "export_vs_garmin"), source="export", moving_min=40.0, trimp=40.0)
    absent(mixed, "garmin_vs_export")
    assert close(load_on(mixed, S, dt.date(2026, 2, 7)), 40.0)


def test_garmin_beats_device_files_and_not_the_files_stream(mixed):
    # the file starts 40 s before the Garmin row: the Garmin row is kept. Its values: 2000 s = 33.333333
    # min, averageHR 130 < 152.1 -> easy; trimp = 33.333333 x w(70/130) = 33.333333 x 0.969010 = 32.300339.
    # The file's stream (hard, 200 bpm) belongs to the dropped row -> unused.
    r = act(mixed, "garmin_vs_files")
    check(r, source="garmin", moving_min=2000 / 60, easy_min=2000 / 60, hard_min=0.0, trimp=2000 / 60 * w(70 / 130),
          load_method="average_hr")  # fmt: skip
    assert close(r["trimp"], 32.300339472)
    absent(mixed, "files_vs_garmin")


def test_priority_chain(mixed):
    # export +30 s, Garmin -30 s, file +59 s of the API start: all the same workout -> only the API's ride,
    # 3600 s = 60 min x 0.8 = 48 (the other three would have added 46.67 + 45.33 + 44)
    check(act(mixed, "chain_api"), source="api", category="ride", distance_km=30.0, trimp=48.0)
    absent(mixed, "chain_export", "chain_garmin", "chain_files")
    assert close(load_on(mixed, S, dt.date(2026, 2, 9)), 48.0)
    # without an API row: export kept over Garmin (+40 s) and the file (-50 s): 3000 s = 50 min x 0.6 = 30
    check(act(mixed, "chain2_export"), source="export", category="walk_hike", trimp=30.0)
    absent(mixed, "chain2_garmin", "chain2_files")


def test_different_athletes_never_merge(mixed):
    # T's API run and the Garmin run of S, 10 s apart: two athletes -> both count, 20 min x 1.0 each
    check(act(mixed, "other_athlete"), athlete_id=T, source="api", trimp=20.0)
    check(act(mixed, "garmin_near_other"), athlete_id=S, source="garmin", trimp=20.0)
    assert close(load_on(mixed, T, dt.date(2026, 2, 11)), 20.0)
    assert close(load_on(mixed, S, dt.date(2026, 2, 11)), 20.0)


def test_deleted_garmin_activities_are_excluded(mixed):
    absent(mixed, "garmin_deleted", "garmin_deleted_copy")
    # the deleted Garmin copy hides nothing: the device file 20 s after it counts (1500 s = 25 min x 1.0)
    check(act(mixed, "files_beside_deleted"), source="files", athlete_id=S, trimp=25.0)
    assert close(load_on(mixed, S, dt.date(2026, 2, 13)), 0.0)


def test_device_file_without_athlete_joins_the_synced_athlete(mixed):
    # landed with athlete 0 (the importer knew none) -> the synced athlete S; Walk 20 min x 0.6 = 12
    check(act(mixed, "files_athlete_0"), athlete_id=S, source="files", category="walk_hike", trimp=12.0)


def test_mixed_database_rows_and_sources(mixed):
    got = {(r["source"], r["activity_id"]) for r in rows(mixed, "select source, activity_id from main.activities")}
    kept = ["g_full", "g_sparse", "g_strength", "g_stream", "api_60", "api_61", "garmin_61", "export_vs_garmin",
            "garmin_vs_files", "chain_api", "chain2_export", "other_athlete", "garmin_near_other",
            "files_beside_deleted", "cycling", "hiking", "lap_swimming", "treadmill_running", "yoga",
            "files_athlete_0"]  # fmt: skip
    assert {i for _, i in got} == {mixed.ids[n] for n in kept}
    assert {s for s, _ in got} == {"api", "export", "garmin", "files"}
    athletes = {r["athlete_id"] for r in rows(mixed, "select distinct athlete_id from main.daily_training_load")}
    assert athletes == {S, T}  # O's Garmin rows count for S: no third athlete


# --------------------------------------------------------------------------- Garmin-only database


def test_garmin_only_database_is_the_owners(garmin_only):
    # no Strava data: the Garmin owner id is the athlete, also for the device files landed as athlete 0
    for table in ("activities", "daily_training_load"):
        assert {r["athlete_id"] for r in rows(garmin_only, f"select distinct athlete_id from main.{table}")} == {O}
    # hr_max = 180 (kept rows: 180, 170; the deleted one's 250 is gone); lthr = 0.89 x 180 = 160.2 -> 160
    (prof,) = rows(garmin_only, "select * from intermediate.int_athlete_profile")
    check(prof, athlete_id=O, hr_max=180.0, lthr=160.0, first_day=dt.date(2026, 2, 2))


def test_garmin_only_duplicate_file_and_deletion(garmin_only):
    # the file landed as athlete 0 starts 30 s after the Garmin run: same athlete O -> the same workout,
    # Garmin kept. 1700 s = 28.333333 min, averageHR 150: 144 <= 150 < 160 -> moderate; 28.3 >= 15 ->
    # quality. x = 90/120 = 0.75, w = 2.025934 -> trimp = 28.333333 x 2.025934 = 57.401463.
    check(act(garmin_only, "garmin_run"), athlete_id=O, source="garmin", moderate_min=1700 / 60, easy_min=0.0,
          trimp=1700 / 60 * w(0.75), is_quality=True, load_method="average_hr")  # fmt: skip
    absent(garmin_only, "files_copy", "garmin_deleted")
    # the other file counts for O: Walk 1200 s = 20 min x 0.6 = 12
    check(act(garmin_only, "files_alone"), athlete_id=O, source="files", trimp=12.0)


def test_garmin_only_stream(garmin_only):
    # lthr 160: hr 140 easy (< 144), 150 moderate, 165 hard, 10 s each = 1/6 min; moving 60 s = 1 min ->
    # unclassified 1 - 0.5 = 0.5; trimp = (10/60) (w(80/120) + w(90/120) + w(105/120))
    #  = (1.534566 + 2.025934 + 3.004711) / 6 = 1.094202
    r = act(garmin_only, "garmin_stream")
    check(r, easy_min=1 / 6, moderate_min=1 / 6, hard_min=1 / 6, unclassified_min=0.5, load_method="stream",
          trimp=(w(80 / 120) + w(90 / 120) + w(105 / 120)) / 6, is_quality=False)  # fmt: skip
    assert close(r["trimp"], 1.094201936)


# --------------------------------------------------------------------------- the reference agrees


@pytest.mark.parametrize("which", ["mixed", "garmin_only"])
def test_reference_metrics_agree_on_every_activity(which, request):
    db: Built = request.getfixturevalue(which)
    expected = reference_metrics.compute(db.landing.reference_records(), db.landing.streams, {}, AS_OF,
                                         fallback_athlete_id=db.synced_athlete)["activities"]  # fmt: skip
    got = {r["activity_id"]: r for r in rows(db, "select * from main.activities")}
    assert set(got) == {r["activity_id"] for r in expected}
    columns = ["athlete_id", "sport_type", "category", "start_date_local", "local_date", "week_start", "distance_km",
               "moving_min", "elevation_gain_m", "average_heartrate", "easy_min", "moderate_min", "hard_min",
               "unclassified_min", "trimp", "is_quality", "long_run_spike_ratio", "source", "load_method"]  # fmt: skip
    bad = []
    for exp in expected:
        row = got[exp["activity_id"]]
        for col in columns:
            a, b = row[col], exp[col]
            same = close(a, b) if isinstance(b, float) and not isinstance(b, bool) else a == b
            if not same:
                bad.append((exp["activity_id"], col, a, b))
    assert not bad, bad[:8]
