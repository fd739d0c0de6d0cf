"""A club of 3 generated athletes gives marts equal, athlete by athlete, to 3 single-athlete builds.

Three sample athletes (pipelines.sandbox.sample_athlete, half a year each, different seeds)
get distinct Strava athlete ids and different profiles in one roster (athletes.toml):

| athlete | hr_max  | sex  | min_runs_per_week |
|---------|---------|------|-------------------|
| 1       | 182     | F    | 2                 |
| 2       | 195     | M    | 3                 |
| 3       | derived | none | 4                 |

Each lands through pipelines.landing (source 'api', a raw.athlete row, its streams) into its
own DuckDB and all three into one club DuckDB; `pipelines.profiles.write_profiles` writes the
roster's rows into each (as the Dagster dbt asset does before `dbt build`). One real
`dbt build` per database (the data tests only in the club's: the single builds are only
compared); then every mart of each single build must equal that athlete's
rows of the club build (floats to 1e-9 relative, nulls equal): nothing in the models may
let one athlete's data or thresholds leak into another's.

Strava activity ids are unique across athletes, so each athlete's generated ids are moved
into a range of their own (the generator numbers every athlete alike).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines import profiles
from pipelines.config import load_settings
from pipelines.landing import replace_stream, upsert_activities
from pipelines.sandbox.sample_athlete import generate_sample_athlete
from pipelines.warehouse import connect_writer
from tests.dbt_build import dbt_build, query_rows
from tests.mart_compare import MART_KEYS, differences

END = dt.date(2026, 11, 22)  # a Sunday
AS_OF = END

# athlete id -> (seed, roster profile)
ATHLETES = {
    9_100_001: (11, {"hr_max": 182, "sex": "F", "min_runs_per_week": 2}),
    9_100_002: (23, {"hr_max": 195, "sex": "M", "min_runs_per_week": 3}),
    9_100_003: (37, {"min_runs_per_week": 4}),
}


@dataclass
class Athlete:
    athlete_id: int
    athlete_json: dict
    activities: list[dict]
    streams: dict[int, dict]


def make_athlete(index: int, athlete_id: int, seed: int) -> Athlete:
    sample = generate_sample_athlete(END, seed=seed, years=0.5)
    offset = (index + 1) * 1_000_000_000_000  # each athlete's activity ids in a range of their own
    activities = []
    for act in sample.activities:
        act = copy.deepcopy(act)
        act["id"] = int(act["id"]) + offset
        act["athlete"] = dict(act.get("athlete") or {}, id=athlete_id)
        activities.append(act)
    streams = {int(aid) + offset: s for aid, s in sample.streams.items()}
    athlete_json = dict(sample.athlete, id=athlete_id)
    return Athlete(athlete_id, athlete_json, activities, streams)


def land(db_path: Path, athletes: list[Athlete], settings) -> None:
    con = connect_writer(db_path)
    try:
        for a in athletes:
            con.execute("insert into raw.athlete values (?, ?, ?)",
                        [a.athlete_id, json.dumps(a.athlete_json), dt.datetime(2026, 11, 22, 12)])
            upsert_activities(con, "api", a.activities)
            for activity_id, s in a.streams.items():
                replace_stream(con, "api", activity_id, s, signature=None)
        con.execute("begin transaction")
        profiles.write_profiles(con, settings)
        con.execute("commit")
    finally:
        con.close()


def write_roster(path: Path) -> None:
    lines = []
    for i, (athlete_id, (_, profile)) in enumerate(ATHLETES.items(), 1):
        lines += ["[[athlete]]", f'key = "runner-{i}"', f'name = "Runner {i}"', 'timezone = "Europe/Zurich"',
                  f"strava_athlete_id = {athlete_id}"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in profile.items()]
        lines.append("")
    path.write_text("\n".join(lines))


@dataclass
class Club:
    singles: dict[int, Path]
    club: Path


@pytest.fixture(scope="module")
def club(tmp_path_factory) -> Club:
    tmp = tmp_path_factory.mktemp("club")
    roster = tmp / "athletes.toml"
    write_roster(roster)
    with pytest.MonkeyPatch.context() as mp:
        for key in ("ATHLETE_HR_MAX", "ATHLETE_HR_REST", "ATHLETE_LTHR", "ATHLETE_SEX"):
            mp.delenv(key, raising=False)
        mp.setenv("TRAINSMART_HOME", str(tmp / "home"))
        mp.setenv("TRAINSMART_ATHLETES", str(roster))
        settings = load_settings()
        athletes = [make_athlete(i, athlete_id, seed) for i, (athlete_id, (seed, _)) in enumerate(ATHLETES.items())]
        singles = {}
        for a in athletes:  # every database gets the whole roster's profiles, as a deployment would
            singles[a.athlete_id] = tmp / f"single_{a.athlete_id}" / "training.duckdb"
            singles[a.athlete_id].parent.mkdir()
            land(singles[a.athlete_id], [a], settings)
        club_db = tmp / "club" / "training.duckdb"
        club_db.parent.mkdir()
        land(club_db, athletes, settings)

    # one after another: the suite's other worker keeps the second core busy, and builds side
    # by side would each need a warm interpreter of their own (tests/warm_python.py)
    for db_path in (club_db, *singles.values()):
        proc = dbt_build(db_path, db_path.parent, AS_OF, data_tests=db_path == club_db)
        assert proc.returncode == 0, f"{db_path}: {(proc.stdout + proc.stderr)[-4000:]}"
    return Club(singles, club_db)


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_club_marts_equal_single_athlete_builds(club: Club, mart: str):
    key = MART_KEYS[mart]
    for athlete_id, single_db in club.singles.items():
        single = query_rows(single_db, f"select * from main.{mart}")
        in_club = query_rows(club.club, f"select * from main.{mart} where athlete_id = ?", athlete_id)
        assert {r["athlete_id"] for r in single} <= {athlete_id}, f"{mart}: a single build holds another athlete"
        if mart != "training_flags":
            assert single, f"{mart}: no rows for {athlete_id}"
        diffs = differences(single, in_club, key)
        assert not diffs, f"{mart}, athlete {athlete_id}: {len(diffs)} differences, e.g. {diffs[:5]}"
    total = query_rows(club.club, f"select count(*) as n from main.{mart}")[0]["n"]
    singles = sum(query_rows(db, f"select count(*) as n from main.{mart}")[0]["n"] for db in club.singles.values())
    assert total == singles, f"{mart}: the club build holds rows no single build has"


def test_each_athlete_gets_their_own_profile(club: Club):
    prof = {r["athlete_id"]: r for r in query_rows(club.club, "select * from intermediate.int_athlete_profile")}
    a1, a2, a3 = ATHLETES
    assert (prof[a1]["hr_max"], prof[a1]["hr_max_source"], prof[a1]["sex"], prof[a1]["trimp_k"]) == (182, "config", "F", 0.86)
    assert prof[a1]["lthr"] == math.floor(0.89 * 182 + 0.5) == 162
    assert (prof[a2]["hr_max"], prof[a2]["hr_max_source"], prof[a2]["sex"], prof[a2]["trimp_k"]) == (195, "config", "M", 0.64)
    assert prof[a2]["lthr"] == math.floor(0.89 * 195 + 0.5) == 174
    assert prof[a3]["hr_max_source"] == "derived" and prof[a3]["sex"] is None and prof[a3]["trimp_k"] == 0.64
    assert {a: prof[a]["min_runs_per_week"] for a in prof} == {a1: 2, a2: 3, a3: 4}
    assert all(p["hr_rest"] == 60 for p in prof.values())
    weekly = query_rows(club.club, "select athlete_id, run_count, consistent_week, min_runs_per_week "
                                   "from main.weekly_training_summary")
    for r in weekly:
        assert r["consistent_week"] == (r["run_count"] >= ATHLETES[r["athlete_id"]][1]["min_runs_per_week"]), r
