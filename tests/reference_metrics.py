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
SummaryActivity...}, "deleted": bool}; a bare Strava dict counts as {"source": "api"}.
`streams`: {(source, activity_id): {"time": [...], "heartrate": [...]}} (a bare
activity_id key means source 'api').
`profile`: optional hr_max, hr_rest, lthr, sex, min_runs_per_week, settled_days and any
flag threshold (names as the dbt vars); missing ones take the METRICS.md defaults.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from typing import Any, Iterable, Mapping

CATEGORIES = {
    "Run": "run", "TrailRun": "run", "VirtualRun": "run",
    "Walk": "walk_hike", "Hike": "walk_hike", "Snowshoe": "walk_hike",
    "WeightTraining": "strength", "Crossfit": "strength",
    "Ride": "ride", "MountainBikeRide": "ride", "GravelRide": "ride", "EBikeRide": "ride",
    "EMountainBikeRide": "ride", "VirtualRide": "ride",
    "Swim": "swim",
}  # fmt: skip
FALLBACK_RATE = {"run": 1.0, "walk_hike": 0.6, "ride": 0.8, "swim": 0.8, "strength": 0.5, "other": 0.5}
SOURCE_PRIORITY = {"api": 0, "export": 1, "files": 2}

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
}

OVERREACHING_COMPONENTS = ("volume_spike", "acwr_high", "high_monotony", "deep_fatigue", "no_rest_day")


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _parse_wall_time(text: str) -> dt.datetime:
    # first 19 characters "YYYY-MM-DDTHH:MM:SS"; the Z of start_date_local is not UTC
    return dt.datetime.strptime(text[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")


def resolve_activities(landed: Iterable[Mapping[str, Any]], fallback_athlete_id: int | None = None) -> list[dict]:
    """One record per activity id: the api row beats export beats files; a deleted winner drops it;
    a device-file activity that starts within 60 s of a Strava one (same athlete) is the same activity."""
    records = []
    for item in landed:
        if "json" in item and "source" in item:
            records.append({"source": item["source"], "json": item["json"], "deleted": bool(item.get("deleted"))})
        else:
            records.append({"source": "api", "json": item, "deleted": False})
    if fallback_athlete_id is None:
        ids = [(r["json"].get("athlete") or {}).get("id") for r in records]
        ids = [i for i in ids if i is not None]
        fallback_athlete_id = min(ids) if ids else 0
    best: dict[int, dict] = {}
    for rec in records:
        aid = int(rec["json"]["id"])
        if aid not in best or SOURCE_PRIORITY[rec["source"]] < SOURCE_PRIORITY[best[aid]["source"]]:
            best[aid] = rec
    out = []
    for aid, rec in sorted(best.items()):
        if rec["deleted"]:
            continue
        j = rec["json"]
        athlete = (j.get("athlete") or {}).get("id")
        workout_type = _num(j.get("workout_type"))
        out.append(
            {
                "activity_id": aid,
                "athlete_id": int(athlete) if athlete is not None else fallback_athlete_id,
                "source": rec["source"],
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
        )
    # a device file of an activity Strava also has: same athlete, start within 60 s -> dropped
    strava = [(a["athlete_id"], a["start_date"]) for a in out if a["source"] != "files"]
    return [a for a in out if a["source"] != "files" or not any(
        athlete == a["athlete_id"] and abs((start - a["start_date"]).total_seconds()) <= 60
        for athlete, start in strava)]


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
) -> dict[str, list[dict]]:
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
    weekly = _weekly(activities, daily, profiles, p, as_of)
    flags = _flags(weekly, p)
    return {
        "activities": activities,
        "daily_training_load": daily,
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
