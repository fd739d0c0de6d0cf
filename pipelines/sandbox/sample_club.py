"""The sample athlete plus a club of generated sample athletes, landed in bulk into raw tables.

What the Spark comparison (tests/spark/) and its benchmark (scripts/bench_spark_build.py)
build on both engines: the two-year sample athlete (seed 7), and `athletes` more sample
athletes of `years` each, every one with its own seed, athlete id and activity-id range.
The rows are those pipelines.landing writes, inserted a table at a time per athlete
instead of a round trip per activity (a 20 x 2-year club is some 10 million samples).
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from pipelines import profiles
from pipelines.config import Settings
from pipelines.landing import STREAM_COLUMNS as STRAVA_TO_RAW
from pipelines.sandbox.sample_athlete import SampleAthlete, generate_sample_athlete

FIRST_CLUB_ATHLETE_ID = 9_300_000
ID_RANGE = 1_000_000_000_000  # club athlete i's activity ids are the sample's + (i + 1) * ID_RANGE


def land_athlete(con: duckdb.DuckDBPyConnection, athlete_id: int, sample: SampleAthlete, id_offset: int,
                 landed_at: dt.datetime) -> None:
    """One athlete's profile, activities, streams and stream fetches (source 'api')."""
    con.execute("insert into raw.athlete values (?, ?, ?)",
                [athlete_id, json.dumps(dict(sample.athlete, id=athlete_id)), landed_at])
    acts = [dict(a, id=int(a["id"]) + id_offset, athlete={"id": athlete_id}) for a in sample.activities]
    con.execute(
        "insert into raw.activities (source, activity_id, athlete_id, json, first_seen_at, updated_at) "
        "select 'api', unnest(?::bigint[]), ?, unnest(?::varchar[])::json, ?, ?",
        [[a["id"] for a in acts], athlete_id, [json.dumps(a) for a in acts], landed_at, landed_at])
    raw_columns = list(STRAVA_TO_RAW.values())  # time_s, heartrate, moving, distance_m, altitude_m, velocity_smooth
    cols: dict[str, list] = {"activity_id": [], "seq": [], **{c: [] for c in raw_columns}}
    for activity_id, stream in sample.streams.items():
        n = len(stream["time"])
        cols["activity_id"] += [int(activity_id) + id_offset] * n
        cols["seq"] += range(n)
        for strava_name, raw_name in STRAVA_TO_RAW.items():
            cols[raw_name] += stream.get(strava_name) or [None] * n
    con.execute(
        "insert into raw.streams (source, activity_id, seq, time_s, heartrate, moving, distance_m, altitude_m, "
        "velocity_smooth) select 'api', unnest(?::bigint[]), unnest(?::integer[]), unnest(?::integer[]), "
        "unnest(?::integer[]), unnest(?::boolean[]), unnest(?::double[]), unnest(?::double[]), unnest(?::double[])",
        [cols["activity_id"], cols["seq"], *(cols[c] for c in raw_columns)])
    con.execute(
        "insert into raw.stream_fetches select 'api', unnest(?::bigint[]), null, unnest(?::integer[]), ?",
        [[int(a) + id_offset for a in sample.streams], [len(s["time"]) for s in sample.streams.values()], landed_at])


def land_sample_club(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date,
                     athletes: int, years: float) -> int:
    """The sample athlete and `athletes` club athletes, then the profiles; the number of athletes landed."""
    landed_at = dt.datetime.combine(as_of, dt.time(12))
    sample = generate_sample_athlete(as_of, seed=7, years=2.0)
    land_athlete(con, int(sample.athlete["id"]), sample, 0, landed_at)
    for i in range(athletes):
        land_athlete(con, FIRST_CLUB_ATHLETE_ID + i, generate_sample_athlete(as_of, seed=100 + i, years=years),
                     (i + 1) * ID_RANGE, landed_at)
    con.execute("begin transaction")
    profiles.write_profiles(con, settings)
    con.execute("commit")
    return athletes + 1
