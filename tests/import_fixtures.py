"""Generated athletes and helpers for the import tests.

`make_athlete()` builds an object shaped like `pipelines.sandbox.sample_athlete`'s
SampleAthlete (`.athlete`, `.activities`, `.streams`) whose summary values are computed
from its own streams, so that what lands can be checked against the generating data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from pipelines.config import load_settings

def _shared_samples() -> Path:
    """The real device files: $TRAINSMART_DEVICE_SAMPLES, else ../shared beside the checkout,
    else the team's shared folder (CI clones into a temporary directory)."""
    candidates = [os.environ.get("TRAINSMART_DEVICE_SAMPLES"),
                  Path(__file__).resolve().parents[2] / "shared/samples/device-files",
                  "/work/shared/samples/device-files"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(candidates[1])


SHARED_SAMPLES = _shared_samples()
UTC = dt.timezone.utc

# (zone, a point inside it): timezonefinder must name that zone at that point.
PLACES = [
    ("Europe/Ljubljana", (46.0511, 14.5051)),
    ("America/Denver", (40.0150, -105.2705)),
    ("Asia/Kolkata", (19.0760, 72.8777)),
    ("Australia/Sydney", (-33.8688, 151.2093)),
]


@dataclass
class Athlete:
    athlete: dict[str, Any]
    activities: list[dict[str, Any]] = field(default_factory=list)
    streams: dict[int, dict[str, list]] = field(default_factory=dict)


def settings_for(tmp_path: Path, timezone: str | None = None):
    """Settings pointing at a fresh database under tmp_path."""
    return dataclasses.replace(
        load_settings(), db_path=tmp_path / "db" / "training.duckdb", home=tmp_path / "home", timezone=timezone
    )


def gain(altitudes) -> float:
    """Plain sum of climbs (the generator's own elevation gain)."""
    alts = [a for a in altitudes if a is not None]
    return sum(max(0.0, b - a) for a, b in zip(alts, alts[1:]))


def make_stream(rng: random.Random, minutes: float, speed: float, with_hr: bool, stops: int = 1,
                step_choices=(2, 3, 5)) -> tuple[dict[str, list], int]:
    """Samples at irregular steps, with `stops` standing pauses (distance constant, 60-240 s).

    Returns (stream, moving_time) where moving_time is the time spent between samples
    while moving (the generator's definition: speed > 0 in that interval).
    """
    total = int(minutes * 60)
    stop_at = sorted(rng.uniform(0.2, 0.8) * total for _ in range(stops))
    stop_len = [rng.randint(60, 240) for _ in range(stops)]
    t = 0
    d = 0.0
    times, dists, alts, hrs = [0], [0.0], [300.0], [rng.randint(95, 110) if with_hr else None]
    moving_time = 0
    phase = rng.uniform(0, 6.28)
    hr_level = rng.choice([135, 150, 160, 168, 175])
    while t < total:
        step = rng.choice(step_choices)
        in_stop = any(s <= t < s + length for s, length in zip(stop_at, stop_len))
        t += step
        if not in_stop:
            d += speed * step * rng.uniform(0.8, 1.2)
            moving_time += step
        times.append(t)
        dists.append(round(d, 2))
        alts.append(round(300.0 + 25.0 * math.sin(phase + d / 900.0) + 0.004 * d, 2))
        if with_hr:
            base = hr_level + 12.0 * math.sin(t / 400.0) - (20 if in_stop else 0)
            hrs.append(None if rng.random() < 0.02 else int(round(base + rng.uniform(-4, 4))))
        else:
            hrs.append(None)
    stream = {"time": times, "distance": dists, "altitude": alts, "heartrate": hrs}
    return stream, moving_time


SPORTS = [
    # sport_type, share, speed m/s (None: no stream), minutes
    ("Run", 8, 3.0, (25, 60)),
    ("TrailRun", 2, 2.4, (40, 80)),
    ("Ride", 3, 7.5, (45, 90)),
    ("VirtualRide", 1, 8.0, (30, 60)),
    ("Hike", 1, 1.3, (60, 120)),
    ("Walk", 1, 1.4, (20, 40)),
    ("WeightTraining", 2, None, (30, 50)),
]


def make_athlete(n: int = 30, seed: int = 7, start: dt.date = dt.date(2025, 3, 3),
                 athlete_id: int = 4242, places=PLACES, step_choices=(2, 3, 5)) -> Athlete:
    rng = random.Random(seed)
    athlete = Athlete({"id": athlete_id, "firstname": "Sample", "lastname": "Athlete", "sex": "F",
                       "city": "Ljubljana", "country": "Slovenia"})
    kinds = [s for s in SPORTS for _ in range(s[1])]
    day = start
    for i in range(n):
        sport_type, _, speed, (lo, hi) = SPORTS[i] if i < len(SPORTS) else kinds[rng.randrange(len(kinds))]
        # Trips now and then; manual entries and indoor rides (no position, so no zone name
        # to read) only at home.
        at_home = i % 5 or speed is None or sport_type == "VirtualRide"
        zone, (lat, lon) = places[0] if at_home else places[(i // 5) % len(places)]
        tz = ZoneInfo(zone)
        local_start = dt.datetime.combine(day, dt.time(rng.randint(5, 19), rng.randint(0, 59), rng.randint(0, 59)))
        start_utc = local_start.replace(tzinfo=tz).astimezone(UTC)
        aid = 9_000_000_000 + i * 104_729 + rng.randint(0, 1000)
        minutes = rng.uniform(lo, hi)
        activity: dict[str, Any] = {
            "id": aid,
            "athlete": {"id": athlete_id},
            "name": f"{sport_type} {i}",
            "sport_type": sport_type,
            "type": {"TrailRun": "Run"}.get(sport_type, sport_type),
            "start_date": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_date_local": local_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": f"(GMT{_offset_label(start_utc, tz)}) {zone}",
            "workout_type": None,
            "trainer": sport_type == "VirtualRide",
            "commute": sport_type == "Ride" and i % 3 == 0,
            "manual": speed is None,
            "start_latlng": [] if sport_type == "VirtualRide" or speed is None else
            [round(lat + rng.uniform(-0.01, 0.01), 6), round(lon + rng.uniform(-0.01, 0.01), 6)],
        }
        if speed is None:
            activity.update(distance=0.0, moving_time=int(minutes * 60), elapsed_time=int(minutes * 60),
                            total_elevation_gain=0.0, has_heartrate=i % 2 == 0,
                            average_heartrate=118.5 if i % 2 == 0 else None,
                            max_heartrate=141.0 if i % 2 == 0 else None)
        else:
            with_hr = rng.random() > 0.1
            stream, moving = make_stream(rng, minutes, speed, with_hr, stops=rng.randint(0, 2),
                                         step_choices=step_choices)
            hrs = [h for h in stream["heartrate"] if h]
            activity.update(
                distance=stream["distance"][-1],
                moving_time=moving,
                elapsed_time=stream["time"][-1],
                total_elevation_gain=round(gain(stream["altitude"]), 1),
                has_heartrate=bool(hrs),
                average_heartrate=round(sum(hrs) / len(hrs), 1) if hrs else None,
                max_heartrate=float(max(hrs)) if hrs else None,
            )
            athlete.streams[aid] = stream
        athlete.activities.append(activity)
        day += dt.timedelta(days=rng.choice([0, 1, 1, 2]))
    return athlete


def _offset_label(when: dt.datetime, tz: ZoneInfo) -> str:
    """The zone's standard offset (Strava labels zones without DST)."""
    local = when.astimezone(tz)
    off = int((local.utcoffset() - local.dst()).total_seconds())
    sign = "+" if off >= 0 else "-"
    h, rem = divmod(abs(off), 3600)
    return f"{sign}{h:02d}:{rem // 60:02d}"


# --------------------------------------------------------------------------- METRICS.md zones


def zone_minutes(time_s, heartrate, lthr: float) -> tuple[float, float, float]:
    """(easy, moderate, hard) minutes per METRICS.md section 3 from one stream."""
    easy = moderate = hard = 0.0
    for i in range(1, len(time_s)):
        dt_i = time_s[i] - time_s[i - 1]
        hr = heartrate[i]
        if not (0 < dt_i <= 30) or hr is None or hr <= 0:
            continue
        if hr < 0.9 * lthr:
            easy += dt_i
        elif hr < lthr:
            moderate += dt_i
        else:
            hard += dt_i
    return easy / 60, moderate / 60, hard / 60


def landed_streams(db: Path, source: str) -> dict[int, dict[str, list]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select activity_id, list(time_s order by seq), list(heartrate order by seq), "
            "list(distance_m order by seq), list(altitude_m order by seq) "
            "from raw.streams where source = ? group by activity_id",
            [source],
        ).fetchall()
    finally:
        con.close()
    return {r[0]: {"time": r[1], "heartrate": r[2], "distance": r[3], "altitude": r[4]} for r in rows}


def raw_state(db: Path) -> dict[str, list]:
    """Everything an import writes, minus its wall-clock columns: for before/after comparisons."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "activities": con.execute(
                "select source, activity_id, athlete_id, json::varchar, stream_signature, deleted_at is null "
                "from raw.activities order by all").fetchall(),
            "streams": con.execute(
                "select source, activity_id, seq, time_s, heartrate, moving, distance_m, altitude_m, velocity_smooth "
                "from raw.streams order by all").fetchall(),
            "fetches": con.execute(
                "select source, activity_id, stream_signature, sample_count from raw.stream_fetches order by all"
            ).fetchall(),
        }
    finally:
        con.close()
