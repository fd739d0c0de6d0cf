"""An independent plain-Python implementation of METRICS.md (no SQL), used to check the dbt models.

It starts from the same raw inputs the warehouse lands (Strava activity JSON per source,
HR streams, the athlete profile, the as-of date) and returns the four mart tables as
lists of dicts with the METRICS.md / CONTRACT.md column names. It is written straight
from the text of METRICS.md, row by row and day by day (CTL/ATL as the plain recursion),
so it shares no code or technique with the SQL.

    tables = compute(landed, streams, profile, as_of)
    tables["activities"], tables["daily_training_load"],
    tables["weekly_training_summary"], tables["training_flags"]

`landed`: a list of records {"source": "api"|"export"|"files", "json": {...Strava
SummaryActivity...}, "deleted": bool} or {"source": "garmin", "json": {...Garmin
activity-list object...}, "deleted": bool}; a bare Strava dict counts as {"source": "api"}.
`streams`: {(source, activity_id): {"time": [...], "heartrate": [...]}} (a bare
activity_id key means source 'api').
`profile`: optional hr_max, hr_rest, lthr, sex, min_runs_per_week, settled_days and any
flag threshold (names as the dbt vars); missing ones take the METRICS.md defaults.
`wellness` (optional, METRICS.md 7): the rows of raw.garmin_wellness as records
{"owner_id", "kind": "hrv"|"sleep"|"daily_summary", "calendar_date", "json": {...Garmin
object...}, "landed_at"}; with it compute() also returns tables["daily_wellness"] values
and the weekly wellness columns (without it: every wellness value null, counts 0).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
from typing import Any, Iterable, Mapping

CATEGORIES = {
    "Run": "run", "TrailRun": "run", "VirtualRun": "run",
    "Walk": "walk_hike", "Hike": "walk_hike", "Snowshoe": "walk_hike",
    "WeightTraining": "strength", "Crossfit": "strength",
    "Ride": "ride", "MountainBikeRide": "ride", "GravelRide": "ride", "EBikeRide": "ride",
    "EMountainBikeRide": "ride", "VirtualRide": "ride",
    "Swim": "swim",
    # Garmin Connect activityType.typeKey values (METRICS.md 2)
    "running": "run", "trail_running": "run", "treadmill_running": "run", "track_running": "run",
    "virtual_run": "run", "ultra_run": "run",
    "walking": "walk_hike", "casual_walking": "walk_hike", "speed_walking": "walk_hike", "hiking": "walk_hike",
    "strength_training": "strength",
    "cycling": "ride", "road_biking": "ride", "mountain_biking": "ride", "gravel_cycling": "ride",
    "indoor_cycling": "ride", "virtual_ride": "ride", "e_bike_fitness": "ride", "e_bike_mountain": "ride",
    "lap_swimming": "swim", "open_water_swimming": "swim",
}  # fmt: skip
FALLBACK_RATE = {"run": 1.0, "walk_hike": 0.6, "ride": 0.8, "swim": 0.8, "strength": 0.5, "other": 0.5}
SOURCE_PRIORITY = {"api": 0, "export": 1, "garmin": 2, "files": 3}  # METRICS.md 1: which copy of a workout is kept

DEFAULTS: dict[str, Any] = {
    "hr_max": None,
    "hr_rest": 60,
    "lthr": None,
    "sex": None,
    "min_runs_per_week": 3,
    "settled_days": 90,
    "easy_share_min": 0.75,
    "easy_share_min_minutes": 60,
    "max_quality_sessions": 2,
    "volume_spike": 0.30,
    "long_run_spike_info": 1.10,
    "long_run_spike_warning": 1.30,
    "acwr_high": 1.5,
    "monotony_high": 2.0,
    "fatigue_ratio": -0.30,
    "fatigue_days": 3,
    "consistency_low": 0.5,
    "overreaching_min_components": 2,
    # wellness flags (METRICS.md 6)
    "hrv_suppressed_days": 3,
    "rhr_elevated_days": 2,
    "short_sleep_nights": 4,
    "short_sleep_min": 420,
    "low_readiness_quality_sessions": 1,
}

OVERREACHING_COMPONENTS = (
    "volume_spike", "acwr_high", "high_monotony", "deep_fatigue", "no_rest_day", "hrv_suppressed",
    "resting_hr_elevated",
)  # fmt: skip


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _parse_wall_time(text: str) -> dt.datetime:
    # first 19 characters "YYYY-MM-DDTHH:MM:SS"; the Z of start_date_local is not UTC
    return dt.datetime.strptime(text[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")


def _strava_athlete(j: Mapping[str, Any]) -> int | None:
    """json.athlete.id; 0 is what the file importer writes when it knew no athlete, so it counts as none."""
    athlete = (j.get("athlete") or {}).get("id")
    return int(athlete) if athlete not in (None, 0) else None


def _strava_values(j: Mapping[str, Any]) -> dict:
    workout_type = _num(j.get("workout_type"))
    return {
        "activity_id": int(j["id"]),
        "start_date": _parse_wall_time(j["start_date"]),
        "sport_type": j.get("sport_type") or j.get("type"),
        "start_date_local": _parse_wall_time(j["start_date_local"]),
        "moving_time": _num(j.get("moving_time")) or 0.0,
        "distance": _num(j.get("distance")) or 0.0,
        "total_elevation_gain": _num(j.get("total_elevation_gain")) or 0.0,
        "average_heartrate": _num(j.get("average_heartrate")),
        "max_heartrate": _num(j.get("max_heartrate")),
        "workout_type": int(workout_type) if workout_type is not None else None,
    }


def _garmin_values(j: Mapping[str, Any]) -> dict:
    """METRICS.md 1 for Garmin Connect's activity-list object (absent values are left out of it)."""
    moving = j.get("movingDuration") if j.get("movingDuration") is not None else j.get("duration")
    return {
        "activity_id": int(j["activityId"]),
        "start_date": _parse_wall_time(j["startTimeGMT"]),  # UTC
        "sport_type": (j.get("activityType") or {}).get("typeKey"),
        "start_date_local": _parse_wall_time(j["startTimeLocal"]),
        "moving_time": _num(moving) or 0.0,
        "distance": _num(j.get("distance")) or 0.0,
        "total_elevation_gain": _num(j.get("elevationGain")) or 0.0,
        "average_heartrate": _num(j.get("averageHR")),
        "max_heartrate": _num(j.get("maxHR")),
        "workout_type": 1 if (j.get("eventType") or {}).get("typeKey") == "race" else None,
    }


def resolve_activities(landed: Iterable[Mapping[str, Any]], fallback_athlete_id: int | None = None) -> list[dict]:
    """One record per workout (METRICS.md 1).

    Strava: for one activity id the api row beats export beats files; a deleted winner drops it.
    Garmin records ({"source": "garmin", "json": <Garmin activity-list object>}) count for the
    Strava athlete when any Strava data is landed (`fallback_athlete_id`, the synced athlete,
    else the lowest api/export athlete id), else for their ownerId; so does a device file
    landed under an ownerId. A device file without an athlete takes `fallback_athlete_id`,
    else the lowest athlete id of the Strava-shaped records, else the Garmin athlete, else 0.
    Then the same workout from two sources (same athlete, UTC starts at most 60 s apart)
    counts once: a record goes when a record of a better source (api, export, garmin, files)
    starts within 60 s of it. Deleted records are gone before that and hide nothing."""
    records = []
    for item in landed:
        if "json" in item and "source" in item:
            records.append({"source": item["source"], "json": item["json"], "deleted": bool(item.get("deleted"))})
        else:
            records.append({"source": "api", "json": item, "deleted": False})
    strava_ids = [_strava_athlete(r["json"]) for r in records if r["source"] in ("api", "export")]
    strava_ids = [i for i in strava_ids if i is not None]
    strava_athlete = fallback_athlete_id if fallback_athlete_id is not None else min(strava_ids, default=None)
    owner_athlete = {
        int(r["json"]["ownerId"]): strava_athlete if strava_athlete is not None else int(r["json"]["ownerId"])
        for r in records if r["source"] == "garmin" and r["json"].get("ownerId") is not None
    }  # fmt: skip
    if fallback_athlete_id is None:
        ids = [_strava_athlete(r["json"]) for r in records if r["source"] != "garmin"]
        ids = [i for i in ids if i is not None]
        fallback_athlete_id = min(ids) if ids else min(owner_athlete.values(), default=0)
    best: dict[tuple[str, int], dict] = {}  # per platform and id: Strava's landings share ids
    for rec in records:
        if rec["source"] == "garmin":
            key = ("garmin", int(rec["json"]["activityId"]))
        else:
            key = ("strava", int(rec["json"]["id"]))
        if key not in best or SOURCE_PRIORITY[rec["source"]] < SOURCE_PRIORITY[best[key]["source"]]:
            best[key] = rec
    out = []
    for rec in best.values():
        if rec["deleted"]:
            continue
        j = rec["json"]
        if rec["source"] == "garmin":
            values = _garmin_values(j)
            owner = int(j["ownerId"])
            athlete_id = owner_athlete[owner]
        else:
            values = _strava_values(j)
            athlete_id = _strava_athlete(j) or fallback_athlete_id
            if rec["source"] == "files":
                athlete_id = owner_athlete.get(athlete_id, athlete_id)
        out.append({**values, "athlete_id": athlete_id, "source": rec["source"]})
    # the same workout from two sources: a record with a better source within 60 s -> dropped
    by_athlete: dict[int, list[dict]] = {}
    for a in out:
        by_athlete.setdefault(a["athlete_id"], []).append(a)
    kept = []
    for mine in by_athlete.values():
        mine.sort(key=lambda a: a["start_date"])
        starts = [a["start_date"] for a in mine]
        for a in mine:
            lo = bisect.bisect_left(starts, a["start_date"] - dt.timedelta(seconds=60))
            hi = bisect.bisect_right(starts, a["start_date"] + dt.timedelta(seconds=60))
            if not any(SOURCE_PRIORITY[b["source"]] < SOURCE_PRIORITY[a["source"]] for b in mine[lo:hi]):
                kept.append(a)
    return sorted(kept, key=lambda a: (a["activity_id"], a["source"]))


def zone_of(hr: float, lthr: float) -> str:
    if hr < 0.9 * lthr:
        return "easy"
    if hr < lthr:
        return "moderate"
    return "hard"


def trimp_weight(hr: float, prof: Mapping[str, Any]) -> float:
    x = (hr - prof["hr_rest"]) / (prof["hr_max"] - prof["hr_rest"])
    x = min(1.0, max(0.0, x))
    return x * prof["k"] * math.exp(prof["b"] * x)


def counted_intervals(stream: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """(dt_i, heartrate_i) for every counted interval: 0 < dt_i <= 30 and heartrate_i > 0."""
    if not stream:
        return []
    times = stream.get("time") or []
    hrs = stream.get("heartrate") or []
    out = []
    for i in range(1, min(len(times), len(hrs))):
        if times[i] is None or times[i - 1] is None or hrs[i] is None:
            continue
        d = times[i] - times[i - 1]
        if 0 < d <= 30 and hrs[i] > 0:
            out.append((d, hrs[i]))
    return out


def athlete_profiles(acts: list[dict], profile: Mapping[str, Any], as_of: dt.date) -> dict[int, dict]:
    out = {}
    for athlete_id in sorted({a["athlete_id"] for a in acts}):
        mine = [a for a in acts if a["athlete_id"] == athlete_id]
        first = min(a["local_date"] for a in mine)
        if profile.get("hr_max") is not None:
            hr_max = float(profile["hr_max"])
        else:
            window = [
                a["max_heartrate"]
                for a in mine
                if as_of - dt.timedelta(days=364) <= a["local_date"] <= as_of
                and a["max_heartrate"] is not None
                and a["max_heartrate"] > 0
            ]
            hr_max = max(window) if window else 190.0
        lthr = float(profile["lthr"]) if profile.get("lthr") is not None else float(math.floor(0.89 * hr_max + 0.5))
        female = str(profile.get("sex") or "").strip().lower() in ("f", "female")
        out[athlete_id] = {
            "first_day": _monday(first),
            "hr_max": hr_max,
            "hr_rest": float(profile["hr_rest"]),
            "lthr": lthr,
            "k": 0.86 if female else 0.64,
            "b": 1.67 if female else 1.92,
        }
    return out


def compute(
    landed: Iterable[Mapping[str, Any]],
    streams: Mapping[Any, Mapping[str, Any]],
    profile: Mapping[str, Any] | None,
    as_of: dt.date,
    fallback_athlete_id: int | None = None,
    wellness: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, list[dict]]:
    landed = list(landed)  # read twice: activities, and whose wellness it is
    p = dict(DEFAULTS)
    p.update({k: v for k, v in (profile or {}).items() if v is not None or k in ("hr_max", "lthr", "sex")})
    streams_by_key = {}
    for key, value in (streams or {}).items():
        streams_by_key[key if isinstance(key, tuple) else ("api", key)] = value

    acts = resolve_activities(landed, fallback_athlete_id)
    for a in acts:
        a["local_date"] = a["start_date_local"].date()
    acts = [a for a in acts if a["local_date"] <= as_of]
    profiles = athlete_profiles(acts, p, as_of)

    activities = [_activity_row(a, profiles[a["athlete_id"]], streams_by_key) for a in acts]
    _add_long_run_spike(activities, profiles)
    daily = _daily(activities, profiles, as_of)
    wellness_values = resolve_wellness(wellness, _wellness_athlete(landed, fallback_athlete_id), as_of)
    daily_wellness = _daily_wellness(wellness_values, profiles, as_of)
    weekly = _weekly(activities, daily, profiles, p, as_of)
    _add_weekly_wellness(weekly, daily_wellness, activities)
    flags = _flags(weekly, p)
    return {
        "activities": activities,
        "daily_training_load": daily,
        "daily_wellness": daily_wellness,
        "weekly_training_summary": weekly,
        "training_flags": flags,
    }


def _activity_row(a: dict, prof: dict, streams_by_key: Mapping) -> dict:
    category = CATEGORIES.get(a["sport_type"], "other")
    moving_min = a["moving_time"] / 60
    intervals = counted_intervals(streams_by_key.get((a["source"], a["activity_id"])))
    avg = a["average_heartrate"]
    if intervals:
        secs = {"easy": 0, "moderate": 0, "hard": 0}
        trimp = 0.0
        for d, hr in intervals:
            secs[zone_of(float(hr), prof["lthr"])] += d
            trimp += (d / 60) * trimp_weight(float(hr), prof)
        easy, moderate, hard = secs["easy"] / 60, secs["moderate"] / 60, secs["hard"] / 60
        unclassified = max(0.0, moving_min - easy - moderate - hard)
        method = "stream"
    elif avg is not None and avg > 0:
        zone = zone_of(avg, prof["lthr"])
        easy = moving_min if zone == "easy" else 0.0
        moderate = moving_min if zone == "moderate" else 0.0
        hard = moving_min if zone == "hard" else 0.0
        unclassified = 0.0
        trimp = moving_min * trimp_weight(avg, prof)
        method = "average_hr"
    else:
        easy = moderate = hard = 0.0
        unclassified = moving_min
        trimp = moving_min * FALLBACK_RATE[category]
        method = "category_rate"
    is_quality = category == "run" and (moderate + hard >= 15 or a["workout_type"] in (1, 3))
    return {
        "activity_id": a["activity_id"],
        "athlete_id": a["athlete_id"],
        "sport_type": a["sport_type"],
        "category": category,
        "start_date_local": a["start_date_local"],
        "local_date": a["local_date"],
        "week_start": _monday(a["local_date"]),
        "distance_km": a["distance"] / 1000,
        "moving_min": moving_min,
        "elevation_gain_m": a["total_elevation_gain"],
        "average_heartrate": avg,
        "easy_min": easy,
        "moderate_min": moderate,
        "hard_min": hard,
        "unclassified_min": unclassified,
        "trimp": trimp,
        "is_quality": is_quality,
        "long_run_spike_ratio": None,
        "source": a["source"],
        "load_method": method,
    }


def _add_long_run_spike(activities: list[dict], profiles: dict) -> None:
    for athlete_id, prof in profiles.items():
        runs = sorted(
            (r for r in activities if r["athlete_id"] == athlete_id and r["category"] == "run"),
            key=lambda r: r["local_date"],
        )
        dates = [r["local_date"] for r in runs]
        for r in runs:
            if (r["local_date"] - prof["first_day"]).days < 30:
                continue
            lo, hi = r["local_date"] - dt.timedelta(days=30), r["local_date"] - dt.timedelta(days=1)
            window = runs[bisect.bisect_left(dates, lo) : bisect.bisect_right(dates, hi)]
            prior = [o["distance_km"] for o in window if o["distance_km"] > 0]
            if prior:
                r["long_run_spike_ratio"] = r["distance_km"] / max(prior)


def _daily(activities: list[dict], profiles: dict, as_of: dt.date) -> list[dict]:
    rows = []
    for athlete_id, prof in profiles.items():
        load_by_day: dict[dt.date, float] = {}
        for a in activities:
            if a["athlete_id"] == athlete_id:
                load_by_day[a["local_date"]] = load_by_day.get(a["local_date"], 0.0) + a["trimp"]
        ctl = atl = 0.0
        loads: list[float] = []
        day = prof["first_day"]
        n = 0
        while day <= as_of:
            load = load_by_day.get(day, 0.0)
            loads.append(load)
            ctl = ctl + (load - ctl) / 42
            atl = atl + (load - atl) / 7
            acute = sum(loads[-7:])
            chronic = sum(loads[-28:]) / 4
            acwr = acute / chronic if n >= 27 and chronic != 0 else None
            rows.append(
                {
                    "athlete_id": athlete_id,
                    "date": day,
                    "load": load,
                    "ctl": ctl,
                    "atl": atl,
                    "tsb": ctl - atl,
                    "acute_7d": acute,
                    "chronic_28d": chronic,
                    "acwr": acwr,
                    "day_index": n,
                }
            )
            day += dt.timedelta(days=1)
            n += 1
    return rows


def _weekly(activities: list[dict], daily: list[dict], profiles: dict, p: Mapping, as_of: dt.date) -> list[dict]:
    out = []
    for athlete_id, prof in profiles.items():
        days_by_week: dict[dt.date, list[dict]] = {}
        for d in daily:
            if d["athlete_id"] == athlete_id:
                days_by_week.setdefault(_monday(d["date"]), []).append(d)
        acts_by_week: dict[dt.date, list[dict]] = {}
        for a in activities:
            if a["athlete_id"] == athlete_id:
                acts_by_week.setdefault(a["week_start"], []).append(a)
        active_dates = {a["local_date"] for week in acts_by_week.values() for a in week}
        weeks: list[dict] = []
        week_start = prof["first_day"]
        while week_start <= as_of:
            wdays = sorted(days_by_week[week_start], key=lambda d: d["date"])
            wacts = acts_by_week.get(week_start, [])
            runs = [a for a in wacts if a["category"] == "run"]
            complete = week_start + dt.timedelta(days=6) <= as_of
            days_elapsed = 7 if complete else (as_of - week_start).days + 1
            run_distance = sum(r["distance_km"] for r in runs)
            run_elev = sum(r["elevation_gain_m"] for r in runs)
            easy = sum(r["easy_min"] for r in runs)
            moderate = sum(r["moderate_min"] for r in runs)
            hard = sum(r["hard_min"] for r in runs)
            classified = easy + moderate + hard
            active = sum(1 for d in wdays if d["date"] in active_dates)
            loads = [d["load"] for d in wdays]
            monotony = None
            if complete and len(set(loads)) > 1:
                mean = sum(loads) / 7
                sd = math.sqrt(sum((x - mean) ** 2 for x in loads) / 7)
                monotony = mean / sd
            weekly_load = sum(loads)
            end = wdays[-1]
            ratios = []  # (day_index, ratio) of settled days
            for d in wdays:
                if d["day_index"] >= p["settled_days"] and d["ctl"] > 0:
                    ratios.append((d["day_index"], d["tsb"] / d["ctl"]))
            longest = current = 0
            previous_index = None
            for index, ratio in ratios:
                if ratio < p["fatigue_ratio"]:
                    current = current + 1 if previous_index == index - 1 and current > 0 else 1
                    longest = max(longest, current)
                else:
                    current = 0
                previous_index = index
            spike_ratios = [r["long_run_spike_ratio"] for r in runs if r["long_run_spike_ratio"] is not None]
            weeks.append(
                {
                    "athlete_id": athlete_id,
                    "week_start": week_start,
                    "is_complete": complete,
                    "days_elapsed": days_elapsed,
                    "run_count": len(runs),
                    "run_distance_km": run_distance,
                    "run_moving_min": sum(r["moving_min"] for r in runs),
                    "run_elevation_gain_m": run_elev,
                    "run_km_effort": run_distance + run_elev / 100,
                    "longest_run_km": max((r["distance_km"] for r in runs), default=None),
                    "total_moving_min": sum(a["moving_min"] for a in wacts),
                    "strength_sessions": sum(1 for a in wacts if a["category"] == "strength"),
                    "easy_min": easy,
                    "moderate_min": moderate,
                    "hard_min": hard,
                    "unclassified_min": sum(r["unclassified_min"] for r in runs),
                    "easy_share": easy / classified if classified != 0 else None,
                    "quality_sessions": sum(1 for a in wacts if a["is_quality"]),
                    "active_days": active,
                    "rest_days": days_elapsed - active,
                    "weekly_load": weekly_load,
                    "monotony": monotony,
                    "strain": weekly_load * monotony if monotony is not None else None,
                    "ctl_end": end["ctl"],
                    "atl_end": end["atl"],
                    "tsb_end": end["tsb"],
                    "acwr_end": end["acwr"],
                    "min_tsb_ratio": min((r for _, r in ratios), default=None),
                    "fatigue_days": longest,
                    "volume_change": None,
                    "consistent_week": len(runs) >= p["min_runs_per_week"],
                    "consistency_12w": None,
                    # helpers for the flags (also extra columns of the model)
                    "max_long_run_spike_ratio": max(spike_ratios, default=None),
                }
            )
            week_start += dt.timedelta(days=7)
        for i, w in enumerate(weeks):
            if i >= 4:
                mean = sum(x["run_km_effort"] for x in weeks[i - 4 : i]) / 4
                if mean != 0:
                    w["volume_change"] = w["run_km_effort"] / mean - 1
            window = weeks[max(0, i - 11) : i + 1]
            w["consistency_12w"] = sum(1 for x in window if x["consistent_week"]) / len(window)
            w["consistency_weeks"] = len(window)
            w["previous_strength_sessions"] = weeks[i - 1]["strength_sessions"] if i >= 1 else None
        out.extend(weeks)
    return out


def _flags(weekly: list[dict], p: Mapping) -> list[dict]:
    flags = []
    for w in weekly:
        if not w["is_complete"]:
            continue
        raised: list[tuple[str, str, float, float]] = []
        if w["easy_min"] + w["moderate_min"] + w["hard_min"] >= p["easy_share_min_minutes"] and (
            w["easy_share"] is not None and w["easy_share"] < p["easy_share_min"]
        ):
            raised.append(("easy_share_low", "warning", w["easy_share"], p["easy_share_min"]))
        if w["quality_sessions"] > p["max_quality_sessions"]:
            raised.append(("too_many_quality_sessions", "warning", w["quality_sessions"], p["max_quality_sessions"]))
        if w["volume_change"] is not None and w["volume_change"] > p["volume_spike"]:
            raised.append(("volume_spike", "warning", w["volume_change"], p["volume_spike"]))
        ratio = w["max_long_run_spike_ratio"]
        if ratio is not None and ratio > p["long_run_spike_warning"]:
            raised.append(("long_run_spike", "warning", ratio, p["long_run_spike_warning"]))
        elif ratio is not None and ratio > p["long_run_spike_info"]:
            raised.append(("long_run_spike", "info", ratio, p["long_run_spike_info"]))
        if w["acwr_end"] is not None and w["acwr_end"] >= p["acwr_high"]:
            raised.append(("acwr_high", "warning", w["acwr_end"], p["acwr_high"]))
        if w["monotony"] is not None and w["monotony"] > p["monotony_high"]:
            raised.append(("high_monotony", "warning", w["monotony"], p["monotony_high"]))
        if w["rest_days"] == 0:
            raised.append(("no_rest_day", "warning", 0, 1))
        if w["fatigue_days"] >= p["fatigue_days"]:
            raised.append(("deep_fatigue", "warning", w["fatigue_days"], p["fatigue_days"]))
        if w["strength_sessions"] == 0 and w["previous_strength_sessions"] == 0:
            raised.append(("no_strength", "info", 0, 1))
        if w["consistency_12w"] < p["consistency_low"] and w["consistency_weeks"] >= 4:
            raised.append(("low_consistency", "info", w["consistency_12w"], p["consistency_low"]))
        if w["hrv_suppressed_days"] >= p["hrv_suppressed_days"]:
            raised.append(("hrv_suppressed", "warning", w["hrv_suppressed_days"], p["hrv_suppressed_days"]))
        if w["rhr_elevated_days"] >= p["rhr_elevated_days"]:
            raised.append(("resting_hr_elevated", "warning", w["rhr_elevated_days"], p["rhr_elevated_days"]))
        if w["sleep_nights"] >= p["short_sleep_nights"] and w["avg_sleep_min"] < p["short_sleep_min"]:
            raised.append(("short_sleep", "info", w["avg_sleep_min"], p["short_sleep_min"]))
        if w["quality_on_low_readiness"] >= p["low_readiness_quality_sessions"]:
            raised.append(("trained_on_low_readiness", "warning", w["quality_on_low_readiness"],
                           p["low_readiness_quality_sessions"]))  # fmt: skip
        components = sum(1 for f in raised if f[0] in OVERREACHING_COMPONENTS)
        if components >= p["overreaching_min_components"]:
            raised.append(("overreaching", "alert", components, p["overreaching_min_components"]))
        for flag, severity, value, threshold in raised:
            flags.append(
                {
                    "athlete_id": w["athlete_id"],
                    "week_start": w["week_start"],
                    "flag": flag,
                    "severity": severity,
                    "value": float(value),
                    "threshold": float(threshold),
                }
            )
    return flags


# --------------------------------------------------------------------------- wellness (METRICS.md 7)

# kind -> (column, path in the Garmin object, factor to the column's unit)
WELLNESS_INPUTS = {
    "daily_summary": ("resting_hr", ("heartRate", "restingValue"), 1.0),  # bpm
    "hrv": ("hrv_rmssd", ("lastNightAvg",), 1.0),  # ms
    "sleep": ("sleep_min", ("sleepTimeSeconds",), 1 / 60),  # seconds -> minutes
}


def _wellness_athlete(landed: list[Mapping[str, Any]], fallback_athlete_id: int | None) -> int | None:
    """Whose wellness it is (METRICS.md 1): the Strava athlete when any Strava data is landed
    (`fallback_athlete_id`, the synced athlete, else the lowest api/export athlete id); None
    means each Garmin owner is its own athlete."""
    if fallback_athlete_id is not None:
        return fallback_athlete_id
    ids = []
    for item in landed:
        source, j = (item["source"], item["json"]) if "json" in item and "source" in item else ("api", item)
        athlete = (j.get("athlete") or {}).get("id") if source in ("api", "export") else None
        if athlete:
            ids.append(int(athlete))
    return min(ids, default=None)


def resolve_wellness(
    wellness: Iterable[Mapping[str, Any]] | None, athlete_id: int | None, as_of: dt.date
) -> dict[int, dict[dt.date, dict]]:
    """athlete -> calendar date -> {"resting_hr", "hrv_rmssd", "sleep_min"} (None = missing).

    Per athlete, kind and date the record landed last wins (ties: the higher owner id); a value
    that is null, absent or <= 0 is missing; dates after the as-of date are left out."""
    latest: dict[tuple[int, str, dt.date], Mapping[str, Any]] = {}
    for rec in wellness or ():
        day = rec["calendar_date"]
        day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        if day > as_of or rec["kind"] not in WELLNESS_INPUTS:
            continue
        owner = int(rec["owner_id"])
        key = (athlete_id if athlete_id is not None else owner, rec["kind"], day)
        if key not in latest or (rec["landed_at"], owner) > (latest[key]["landed_at"], int(latest[key]["owner_id"])):
            latest[key] = {**rec, "calendar_date": day}
    out: dict[int, dict[dt.date, dict]] = {}
    for (athlete, kind, day), rec in latest.items():
        column, path, factor = WELLNESS_INPUTS[kind]
        value: Any = rec["json"]
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        number = _num(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        values = out.setdefault(athlete, {}).setdefault(day, {"resting_hr": None, "hrv_rmssd": None, "sleep_min": None})
        values[column] = number * factor if number is not None and number > 0 else None
    return out


def _daily_wellness(values: dict[int, dict[dt.date, dict]], profiles: dict, as_of: dt.date) -> list[dict]:
    """One row per athlete and day of the day spine; windows over calendar dates (any landed date)."""
    rows = []
    for athlete_id, prof in profiles.items():
        mine = values.get(athlete_id, {})
        day, n = prof["first_day"], 0
        while day <= as_of:
            today = mine.get(day, {})

            def window(column: str, first: int, last: int, transform=lambda x: x) -> list[float]:
                """the column's known values on the dates day+first .. day+last"""
                out: list[float] = []
                if not mine:  # no wellness at all (most test athletes): skip the date lookups
                    return out
                for offset in range(first, last + 1):
                    v = mine.get(day + dt.timedelta(days=offset), {}).get(column)
                    if v is not None:
                        out.append(transform(v))
                return out

            resting, rmssd, sleep = today.get("resting_hr"), today.get("hrv_rmssd"), today.get("sleep_min")
            ln_7d = window("hrv_rmssd", -6, 0, math.log)
            ln_base = window("hrv_rmssd", -60, -1, math.log)
            rhr_base_values = window("resting_hr", -60, -1)
            sleep_7d_values = window("sleep_min", -6, 0)
            hrv_7d = math.fsum(ln_7d) / len(ln_7d) if len(ln_7d) >= 4 else None
            base_mean = math.fsum(ln_base) / len(ln_base) if len(ln_base) >= 30 else None
            base_sd = statistics.stdev(ln_base) if len(ln_base) >= 30 else None  # sample SD
            rhr_base = math.fsum(rhr_base_values) / len(rhr_base_values) if len(rhr_base_values) >= 30 else None
            hrv_suppressed = (
                hrv_7d is not None and base_mean is not None and base_sd is not None
                and hrv_7d < base_mean - 0.5 * base_sd
            )  # fmt: skip
            rhr_elevated = resting is not None and rhr_base is not None and resting >= rhr_base + 5
            sleep_7d = math.fsum(sleep_7d_values) / len(sleep_7d_values) if len(sleep_7d_values) >= 4 else None
            if hrv_suppressed or rhr_elevated:
                readiness = "low"
            elif (hrv_7d is not None and base_mean is not None) or (resting is not None and rhr_base is not None):
                readiness = "normal"
            else:
                readiness = None
            rows.append(
                {
                    "athlete_id": athlete_id,
                    "date": day,
                    "resting_hr": resting,
                    "hrv_rmssd": rmssd,
                    "sleep_min": sleep,
                    "ln_rmssd": math.log(rmssd) if rmssd is not None else None,
                    "hrv_7d": hrv_7d,
                    "hrv_base_mean": base_mean,
                    "hrv_base_sd": base_sd,
                    "hrv_suppressed": hrv_suppressed,
                    "rhr_base": rhr_base,
                    "rhr_elevated": rhr_elevated,
                    "sleep_7d": sleep_7d,
                    "readiness": readiness,
                    "week_start": _monday(day),
                    "day_index": n,
                }
            )
            day += dt.timedelta(days=1)
            n += 1
    return rows


def _add_weekly_wellness(weekly: list[dict], daily_wellness: list[dict], activities: list[dict]) -> None:
    """The six weekly wellness columns, over the week's counted days (the day rows up to as-of)."""
    by_week: dict[tuple[int, dt.date], list[dict]] = {}
    readiness: dict[tuple[int, dt.date], str | None] = {}
    for r in daily_wellness:
        by_week.setdefault((r["athlete_id"], r["week_start"]), []).append(r)
        readiness[(r["athlete_id"], r["date"])] = r["readiness"]
    low_quality: dict[tuple[int, dt.date], int] = {}  # quality runs on a 'low' day, per week
    for a in activities:
        if a["is_quality"] and readiness.get((a["athlete_id"], a["local_date"])) == "low":
            key = (a["athlete_id"], a["week_start"])
            low_quality[key] = low_quality.get(key, 0) + 1
    for w in weekly:
        wdays = by_week.get((w["athlete_id"], w["week_start"]), [])
        sleeps = [r["sleep_min"] for r in wdays if r["sleep_min"] is not None]
        w["wellness_days"] = sum(
            1 for r in wdays if any(r[c] is not None for c in ("resting_hr", "hrv_rmssd", "sleep_min"))
        )
        w["hrv_suppressed_days"] = sum(1 for r in wdays if r["hrv_suppressed"])
        w["rhr_elevated_days"] = sum(1 for r in wdays if r["rhr_elevated"])
        w["sleep_nights"] = len(sleeps)
        w["avg_sleep_min"] = math.fsum(sleeps) / len(sleeps) if sleeps else None
        w["quality_on_low_readiness"] = low_quality.get((w["athlete_id"], w["week_start"]), 0)
