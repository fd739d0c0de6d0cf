"""A generated, deterministic sample athlete in Strava v3 JSON.

About two years (``years`` is adjustable) of a trail runner living in Zurich: runs, trail
runs, hikes, strength sessions and rides, with heart-rate streams recorded the way a
watch with smart recording writes them (irregular 1-10 s intervals, auto-pauses, strap
dropouts).  The plan contains weeks designed to test the metrics of METRICS.md:

* ``empty_weeks``: no activity at all (illness, holiday);
* ``overreaching_weeks``: a 3-week block with a big mileage jump, training every day and
  a monotonous high load (volume_spike, no_rest_day, high_monotony -> overreaching);
* ``easy_weeks``: weeks in which no flag of METRICS.md section 6 fires.

Everything is derived from ``random.Random`` seeded with (seed, end_date) so the same
arguments always give the same athlete.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

ATHLETE_ID = 4242
HR_MAX = 188
HR_REST = 48
LTHR = round(0.89 * HR_MAX)  # 167: the default METRICS.md derivation
EASY_CEILING = 0.90 * LTHR  # ~150 bpm

HOME_TZ = "Europe/Zurich"
TRIP_TZ = "America/Denver"
UTC = dt.timezone.utc

# name, lat, lng, altitude (m), city, country
HOME_PLACES = [
    ("Seefeld", 47.354612, 8.556021, 408.0),
    ("Uetliberg", 47.361245, 8.505118, 470.0),
    ("Adliswil", 47.309912, 8.524633, 452.0),
    ("Zürichberg", 47.378310, 8.566611, 520.0),
    ("Irchelpark", 47.396204, 8.548170, 445.0),
]
TRIP_PLACES = [
    ("Chautauqua", 39.998712, -105.281712, 1740.0),
    ("Golden", 39.755541, -105.221123, 1730.0),
    ("Wash Park", 39.700623, -104.970712, 1600.0),
]
GYM = ("Gym", 47.376887, 8.541694, 410.0)

SHOES_TRAIL = ["g10001", "g10003", "g10005"]
SHOES_ROAD = ["g10002", "g10004", "g10006"]
BIKE = "b20001"
SHOE_NAMES = {
    "g10001": "HOKA Speedgoat 5",
    "g10002": "Saucony Endorphin Speed 3",
    "g10003": "HOKA Speedgoat 6",
    "g10004": "Saucony Endorphin Speed 4",
    "g10005": "La Sportiva Prodigio",
    "g10006": "ASICS Superblast 2",
}

# (month, day, key): races the athlete enters every year (week of that date)
RACE_CALENDAR = [
    (4, 26, "half"),
    (6, 14, "trail30"),
    (7, 19, "ultra"),
    (9, 20, "greifensee"),
    (12, 13, "silvester"),
]
RACES = {
    # name, sport_type, km, climb m, speed m/s, target hr, cap range, start hour
    "half": ("Zürich Halbmarathon 🏃", "Run", 21.1, 60, 3.72, 171, (186, 188), 9.5),
    "trail30": ("Zürichsee Trail 30K", "TrailRun", 30.2, 1350, 2.55, 161, (184, 187), 8.0),
    "ultra": ("Eiger Ultra Trail E35", "TrailRun", 35.0, 2500, 1.95, 153, (180, 184), 7.5),
    "greifensee": ("Greifenseelauf – Halbmarathon", "Run", 21.1, 40, 3.78, 172, (186, 189), 10.0),
    "silvester": ("Zürcher Silvesterlauf", "Run", 8.7, 70, 4.05, 177, (187, 189), 17.0),
}


@dataclass
class SampleAthlete:
    athlete: dict
    zones: dict
    activities: list[dict]
    streams: dict[int, dict[str, list]]
    labels: dict
    # Extra facts for tests: ids of the edge-case activities, race ids, trip weeks.
    specials: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- plan


@dataclass
class _Session:
    day: dt.date
    kind: str  # easy long intervals tempo hills progression race strength ride vride hike walk recovery
    minutes: float
    hour: float  # local start, decimal hours
    tz: str = HOME_TZ
    opts: dict = field(default_factory=dict)


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def _base_minutes(d: dt.date, years_in: float) -> float:
    """Weekly run minutes of a normal week: seasonal, slowly growing over the years."""
    doy = d.timetuple().tm_yday
    return 285.0 + 45.0 * math.cos(2 * math.pi * (doy - 200) / 365.25) + min(30.0, 8.0 * years_in)


def _plan_weeks(first_monday: dt.date, n_weeks: int, end_date: dt.date):
    """Week types: normal, recovery, race, empty, overreach, post, trip, easy."""
    types = ["normal"] * n_weeks
    factors = [1.0] * n_weeks
    info: list[dict] = [{} for _ in range(n_weeks)]
    cycle = [1.0, 1.05, 1.1, 0.85]
    for w in range(n_weeks):
        factors[w] = cycle[w % 4]
        info[w]["long_factor"] = [1.0, 1.08, 1.16, 0.8][w % 4]
        if w % 4 == 3:
            types[w] = "recovery"

    def ok(w: int) -> bool:
        return 0 <= w < n_weeks

    fixed: set[int] = set()

    def put(w: int, t: str, f: float | None = None) -> None:
        if ok(w):
            types[w] = t
            if f is not None:
                factors[w] = f
            fixed.add(w)

    empty = [round(0.27 * n_weeks), round(0.74 * n_weeks), round(0.74 * n_weeks) + 1]
    ob = round(0.50 * n_weeks)
    trip = round(0.38 * n_weeks)
    for w in empty:
        put(w, "empty", 0.0)
    for i in range(4):  # steady weeks before the block
        put(ob - 4 + i, "normal", 1.0)
        if ok(ob - 4 + i):
            info[ob - 4 + i]["long_factor"] = 1.0
    for i, f in enumerate((1.5, 1.6, 1.65)):
        put(ob + i, "overreach", f)
    put(ob + 3, "post", 0.5)
    put(ob + 4, "recovery", 0.85)
    put(trip, "trip")
    put(trip + 1, "trip")
    if ok(trip + 2):
        put(trip + 2, "recovery", 0.85)

    # races: the week holding the calendar date, when that week is free
    races: dict[int, str] = {}
    for year in range(first_monday.year, end_date.year + 1):
        for month, day, key in RACE_CALENDAR:
            w = (_monday(dt.date(year, month, day)) - first_monday).days // 7
            if not ok(w) or w < 2 or w in fixed or (w + 1) in fixed:
                continue
            if any(types[x] == "empty" for x in range(max(0, w - 3), w)):
                continue  # no race right after a holiday
            if any(ob - 5 <= x <= ob + 4 for x in (w, w + 1)):
                continue
            types[w] = "race"
            factors[w] = 0.7
            races[w] = key
            fixed.add(w)
            if ok(w + 1) and w + 1 not in fixed:
                put(w + 1, "recovery", 0.85)

    # designed easy weeks
    complete_weeks = [w for w in range(n_weeks) if first_monday + dt.timedelta(days=7 * w + 6) <= end_date]
    easy: list[int] = []
    for w in complete_weeks:
        if w < 24 or w % 4 not in (0, 1) or types[w] != "normal":
            continue
        if ob - 1 <= w <= ob + 2 + 7:
            continue
        window = range(w - 6, w)
        if any(types[x] not in ("normal", "recovery") for x in window):
            continue
        if any(types[x] in ("empty",) for x in range(max(0, w - 12), w)):
            continue
        if easy and w - easy[-1] < 7:
            continue
        easy.append(w)
    for w in easy:
        types[w] = "easy"
        factors[w] = 1.0
        info[w]["long_factor"] = 0.95
        info[w - 1]["force_strength"] = True
    return types, factors, info, races, sorted(set(w for w in empty if ok(w))), ob, trip, easy


# --------------------------------------------------------------------------- streams

_DT_VALUES = list(range(1, 11))


def _dt_table(mean: float) -> list[float]:
    """Cumulative weights for dt in 1..10 s centred on ``mean`` (smart recording)."""
    w = [math.exp(-((v - mean) ** 2) / 8.0) + 0.02 for v in _DT_VALUES]
    s = 0.0
    out = []
    for x in w:
        s += x
        out.append(s)
    return out


_DT_CUM = {m: _dt_table(m) for m in (4.0, 5.0, 6.0, 7.0)}


def _segments_for(kind: str, minutes: float, rng: random.Random, opts: dict):
    """Segments (seconds, speed m/s, target hr, grade). Targets already include terrain."""
    segs: list[tuple[float, float, float, float]] = []
    trail = opts.get("trail", False)
    sec = minutes * 60.0

    def hilly(total: float, speed: float, target: float, cap: float, climb: float = 0.09) -> None:
        t = 0.0
        up = rng.random() < 0.5
        while t < total - 1:
            d = min(total - t, rng.uniform(240, 720))
            if not trail:
                g = rng.uniform(-0.015, 0.015)
                segs.append((d, speed * rng.uniform(0.97, 1.03), min(cap, target + rng.uniform(-2, 2)), g))
            elif up:
                g = rng.uniform(0.6, 1.2) * climb
                segs.append((d, speed * (1 - 2.6 * g), min(cap, target + 5), g))
            else:
                g = -rng.uniform(0.6, 1.2) * climb
                segs.append((d, speed * (1 + 0.8 * -g), min(cap, target - 4), g))
            up = not up
            t += d

    if kind in ("easy", "recovery"):
        base = rng.uniform(133, 139) if kind == "easy" else rng.uniform(127, 132)
        speed = rng.uniform(2.45, 2.7) if trail else rng.uniform(2.8, 3.05)
        if kind == "recovery":
            speed *= 0.94
        hilly(sec, speed, base, 143.0)
    elif kind == "long":
        base = rng.uniform(134, 139)
        speed = rng.uniform(2.35, 2.6) if trail else rng.uniform(2.75, 2.95)
        hilly(sec, speed, base, 145.0, climb=0.11)
    elif kind in ("intervals", "tempo", "hills", "progression"):
        wu, cd = 15 * 60.0, 10 * 60.0
        segs.append((wu, rng.uniform(2.8, 3.0), rng.uniform(134, 138), 0.0))
        main = max(10 * 60.0, sec - wu - cd)
        if kind == "intervals":
            rep = opts.get("rep", 300.0)
            rec = rep * 0.5
            n = max(3, int(main // (rep + rec)))
            for _ in range(n):
                segs.append((rep, rng.uniform(4.0, 4.25), rng.uniform(173, 177), 0.0))
                segs.append((rec, rng.uniform(2.4, 2.6), 138.0, 0.0))
        elif kind == "tempo":
            segs.append((main * 0.8, rng.uniform(3.55, 3.75), rng.uniform(167, 170), 0.0))
            segs.append((main * 0.2, 2.8, 140.0, 0.0))
        elif kind == "hills":
            n = max(4, int(main // 210))
            for _ in range(n):
                segs.append((90.0, 2.7, rng.uniform(175, 179), 0.12))
                segs.append((120.0, 3.1, 142.0, -0.12))
        else:  # progression: easy -> moderate -> threshold, recorded as a default run
            segs.append((main / 3, 3.0, 140.0, 0.0))
            segs.append((main / 3, 3.3, 155.0, 0.0))
            segs.append((main / 3, 3.55, 163.0, 0.0))
        segs.append((cd, rng.uniform(2.7, 2.9), 136.0, 0.0))
    elif kind == "race":
        name, sport, km, climb, speed, target, cap, _ = RACES[opts["race"]]
        segs.append((60.0, speed * 0.9, 150.0, 0.0))  # the start: HR still climbing
        race_s = km * 1000.0 / speed - 60.0
        final = 150.0
        body = race_s - final
        if climb > 200:
            n = 8
            g = climb / (km * 1000.0 / 2)  # half the course climbs
            for i in range(n):
                d = body / n
                if i % 2 == 0:
                    segs.append((d * 1.3, speed * 0.72, target + 6, g))
                else:
                    segs.append((d * 0.7, speed * 1.5, target - 5, -g))
        else:
            segs.append((body * 0.5, speed, target, 0.002))
            segs.append((body * 0.5, speed * 1.01, target + 4, -0.002))
        segs.append((final, speed * 1.12, 199.0, 0.0))
    elif kind == "ride":
        hilly(sec, rng.uniform(6.8, 7.8), rng.uniform(124, 132), 150.0, climb=0.04)
    elif kind == "vride":
        t = 0.0
        while t < sec - 1:
            d = min(sec - t, rng.uniform(300, 600))
            hard = rng.random() < 0.25
            segs.append((d, 9.5 if hard else 8.3, 152.0 if hard else 133.0, 0.01 if hard else 0.0))
            t += d
    elif kind == "hike":
        t = 0.0
        up = True
        while t < sec - 1:
            d = min(sec - t, rng.uniform(1800, 3600))
            if up:
                segs.append((d, rng.uniform(0.65, 0.8), rng.uniform(122, 130), rng.uniform(0.14, 0.2)))
            else:
                segs.append((d, rng.uniform(1.0, 1.2), rng.uniform(104, 112), -rng.uniform(0.14, 0.2)))
            up = not up
            t += d
    elif kind == "walk":
        segs.append((sec, rng.uniform(1.3, 1.5), 100.0, 0.0))
    return segs


def _record(segs, rng: random.Random, *, alt0: float, mean_dt: float, cap: float,
            pauses: int, stops: int, dropouts: int, drift_per_h: float, tau: float = 28.0):
    """Samples the segments like a watch with smart recording."""
    cum = _DT_CUM[mean_dt]
    ceiling = cap - 3.0 if cap < 160 else 250.0  # easy sessions stay easy, races may hit the cap
    top = cum[-1]
    lag = [0.0] + [1 - math.exp(-k / tau) for k in range(1, 11)]
    total = sum(s[0] for s in segs)
    # pause (gap > 30 s, auto-pause) and stop (standing, recording on) moments
    pause_at = sorted(rng.uniform(0.1, 0.9) * total for _ in range(pauses))
    stop_at = sorted(rng.uniform(0.1, 0.9) * total for _ in range(stops))
    time_s = [0]
    hr_l = [int(rng.uniform(92, 104))]
    mov = [False]
    dist = [0.0]
    alt = [round(alt0, 1)]
    vel = [0.0]
    t = 0
    clock = 0.0  # activity (moving) clock to walk through segments
    hr = float(hr_l[0])
    d = 0.0
    a = alt0
    v_s = 0.0
    rand = rng.random
    for seg_s, speed, target, grade in segs:
        seg_end = clock + seg_s
        while clock < seg_end:
            step = bisect_left(cum, rand() * top) + 1
            moving = True
            if pause_at and clock >= pause_at[0]:
                pause_at.pop(0)
                step = int(rng.uniform(35, 240))
                moving = False
                v = 0.0
                hr = hr - (hr - 95.0) * (1 - math.exp(-step / 60.0))
            elif stop_at and clock >= stop_at[0]:
                stop_at.pop(0)
                # a standing stop of a few samples with recording on
                for _ in range(int(rng.uniform(4, 12))):
                    st = int(rng.uniform(3, 8))
                    t += st
                    hr = hr - (hr - 100.0) * (1 - math.exp(-st / 50.0))
                    v_s *= 0.5
                    time_s.append(t)
                    hr_l.append(min(int(cap), int(round(hr))))
                    mov.append(False)
                    dist.append(round(d, 1))
                    alt.append(round(a, 1))
                    vel.append(round(v_s, 3))
                continue
            else:
                v = speed * (0.94 + 0.12 * rand())
                eff = min(target + drift_per_h * clock / 3600.0, ceiling)
                hr += (eff - hr) * lag[step] + (rand() + rand() - 1.0) * 2.2
                clock += step
            t += step
            d += v * step
            a += v * step * grade
            if a < 200.0:
                a = 200.0
            v_s = 0.6 * v_s + 0.4 * v
            if hr > cap:
                hr = cap - rand()
            time_s.append(t)
            hr_l.append(int(round(hr)))
            mov.append(moving)
            dist.append(round(d, 1))
            alt.append(round(a, 1))
            vel.append(round(v_s, 3))
    n = len(time_s)
    for _ in range(dropouts):
        if n < 60:
            break
        i0 = int(rng.uniform(5, n - 30))
        for i in range(i0, min(n, i0 + int(rng.uniform(3, 20)))):
            hr_l[i] = 0
    return {
        "time": time_s,
        "heartrate": hr_l,
        "moving": mov,
        "distance": dist,
        "altitude": alt,
        "velocity_smooth": vel,
    }


def _summary_from_stream(s: dict) -> dict:
    time_s, hr, mov, alt = s["time"], s["heartrate"], s["moving"], s["altitude"]
    moving_time = 0
    w_sum = 0.0
    w = 0
    gain = 0.0
    for i in range(1, len(time_s)):
        dti = time_s[i] - time_s[i - 1]
        if mov[i]:
            moving_time += dti
        if 0 < dti <= 30 and hr[i] > 0:
            w_sum += hr[i] * dti
            w += dti
        da = alt[i] - alt[i - 1]
        if da > 0:
            gain += da
    distance = s["distance"][-1]
    out = {
        "distance": round(distance, 1),
        "moving_time": moving_time,
        "elapsed_time": time_s[-1],
        "total_elevation_gain": round(gain, 1),
        "average_speed": round(distance / moving_time, 3) if moving_time else 0.0,
        "max_speed": round(max(s["velocity_smooth"]), 3),
        "elev_high": round(max(alt), 1),
        "elev_low": round(min(alt), 1),
    }
    if w:
        out["average_heartrate"] = round(w_sum / w, 1)
        out["max_heartrate"] = float(max(hr))
    return out


# --------------------------------------------------------------------------- JSON helpers


def _encode_polyline(points: list[tuple[float, float]]) -> str:
    out = []
    plat = plng = 0
    for lat, lng in points:
        ilat, ilng = int(round(lat * 1e5)), int(round(lng * 1e5))
        for v in (ilat - plat, ilng - plng):
            v = ~(v << 1) if v < 0 else v << 1
            while v >= 0x20:
                out.append(chr((0x20 | (v & 0x1F)) + 63))
                v >>= 5
            out.append(chr(v + 63))
        plat, plng = ilat, ilng
    return "".join(out)


def _loop(lat: float, lng: float, meters: float, rng: random.Random) -> list[tuple[float, float]]:
    r = max(150.0, meters / (2 * math.pi)) / 111_000.0
    phase = rng.uniform(0, 2 * math.pi)
    pts = []
    for k in range(13):
        ang = phase + 2 * math.pi * k / 12
        pts.append((lat + r * math.sin(ang) - r * math.sin(phase),
                    lng + r * math.cos(ang) / math.cos(math.radians(lat)) - r * math.cos(phase) / math.cos(math.radians(lat))))
    return pts


def _tz_label(tzname: str, year: int) -> str:
    off = ZoneInfo(tzname).utcoffset(dt.datetime(year, 1, 15))
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"(GMT{sign}{minutes // 60:02d}:{minutes % 60:02d}) {tzname}"


def _auto_name(sport: str, hour: float) -> str:
    if hour < 5 or hour >= 21:
        part = "Night"
    elif hour < 11:
        part = "Morning"
    elif hour < 13.5:
        part = "Lunch"
    elif hour < 17:
        part = "Afternoon"
    else:
        part = "Evening"
    label = {
        "Run": "Run", "TrailRun": "Trail Run", "Hike": "Hike", "Walk": "Walk",
        "WeightTraining": "Weight Training", "Ride": "Ride", "VirtualRide": "Virtual Ride",
    }[sport]
    return f"{part} {label}"


_LEGACY_TYPE = {"TrailRun": "Run"}

# --------------------------------------------------------------------------- sessions


def _week_sessions(w: int, monday: dt.date, wtype: str, factor: float, info: dict,
                   race_key: str | None, years_in: float, rng: random.Random,
                   trip_idx: int) -> list[_Session]:
    if wtype == "empty":
        return []
    B = _base_minutes(monday, years_in)
    R = B * factor
    day = [monday + dt.timedelta(days=i) for i in range(7)]
    summer = monday.month in (5, 6, 7, 8, 9, 10)
    out: list[_Session] = []
    workouts = ["intervals", "tempo", "hills"]
    wk = workouts[w % 3]
    wk_opts = {"trail": wk == "hills", "rep": rng.choice([240.0, 300.0, 360.0])}

    def early() -> float:
        return rng.uniform(6.2, 7.2)

    def evening() -> float:
        return rng.uniform(17.75, 19.25)

    def wkend() -> float:
        return rng.uniform(8.0, 9.75)

    def S(i: int, kind: str, minutes: float, hour: float, **opts) -> None:
        out.append(_Session(day[i], kind, minutes, hour, opts=opts))

    long_min = 0.32 * B * info.get("long_factor", 1.0)
    if wtype in ("normal", "easy", "trip"):
        workout_min = min(80.0, max(55.0, 0.2 * R))
        rest = R - long_min - workout_min
        n_easy = 3 if rest > 150 else 2
        if wtype == "easy":
            n_easy = 3
        each = max(35.0, rest / n_easy)
        strength_mon = wtype == "easy" or info.get("force_strength") or rng.random() < 0.75
        if wtype == "trip" and trip_idx == 0:
            strength_mon = False  # travel day
        if strength_mon:
            S(0, "strength", rng.uniform(40, 60), rng.choice([12.1, 12.25, 18.5, 18.75]))
        S(1, wk, workout_min, early() if rng.random() < 0.5 else evening(), **wk_opts)
        S(2, "easy", each * rng.uniform(0.9, 1.1), early(), trail=rng.random() < 0.3)
        if wtype != "easy" and not strength_mon and rng.random() < 0.6:
            S(2, "strength", rng.uniform(40, 55), 18.6)
        elif wtype != "easy" and rng.random() < 0.2:
            S(2, "strength", rng.uniform(40, 55), 18.6)
        if wtype == "easy":
            S(3, "easy", each * rng.uniform(0.9, 1.05), early(), trail=False)
        elif rng.random() < 0.3:
            S(3, "progression", min(70.0, max(50.0, each)), evening())
        else:
            S(3, "easy", each * rng.uniform(0.9, 1.1), early(), trail=rng.random() < 0.3)
            if rng.random() < 0.15:
                S(3, "vride" if not summer else "ride", rng.uniform(45, 70), 18.9, hr=True)
        if wtype != "easy" and not strength_mon and rng.random() < 0.25:
            r = rng.random()
            if r < 0.5:
                S(4, "walk", rng.uniform(30, 60), 12.2)
            elif r < 0.75:
                S(4, "ride", rng.uniform(25, 35), 7.6, commute=True, hr=False)
            else:
                S(4, "strength", rng.uniform(40, 55), 18.5)
        S(5, "long", long_min * rng.uniform(0.95, 1.05), wkend(), trail=rng.random() < 0.75,
          cap_long=wtype == "easy")
        if wtype != "easy" and summer and rng.random() < 0.3:
            S(6, "hike", rng.uniform(150, 300), rng.uniform(7.5, 9.0))
            if n_easy == 3:
                S(6, "easy", 30.0, 17.4)
        elif n_easy == 3:
            S(6, "easy", each * rng.uniform(0.9, 1.1), wkend(), trail=rng.random() < 0.4)
            if wtype != "easy" and summer and rng.random() < 0.15:
                S(6, "ride", rng.uniform(60, 120), 14.5, hr=rng.random() < 0.8)
        else:
            S(6, "ride" if summer else "vride", rng.uniform(60, 150) if summer else rng.uniform(45, 60),
              wkend(), hr=rng.random() < 0.8)
            S(6, "easy", 35.0, 17.5)
        if wtype == "trip":
            # Denver evenings: local date differs from the UTC date
            for s in out:
                s.tz = TRIP_TZ
                if s.kind not in ("long", "hike") and s.hour < 17:
                    s.hour = rng.uniform(18.2, 19.7)
                elif s.kind not in ("long", "hike"):
                    s.hour = max(s.hour, 18.2)
            if trip_idx == 0:
                out = [s for s in out if s.day != day[0]]
            if trip_idx == 1:
                out = [s for s in out if s.day != day[6]]
                out.append(_Session(day[6], "hike", rng.uniform(330, 390), 5.5, TRIP_TZ,
                                    {"name": "Mount Bierstadt 14er ⛰️", "alt0": 3450.0}))
                out.append(_Session(day[6], "easy", 28.0, 23.0 + 50 / 60, TRIP_TZ,
                                    {"name": "Sunday midnight shakeout", "special": "sunday_2350"}))
    elif wtype == "recovery":
        if info.get("force_strength") or rng.random() < 0.8:
            S(2, "strength", rng.uniform(40, 55), 18.5)
        S(1, "easy", 0.24 * R, early())
        S(3, "easy", 0.24 * R, early(), trail=rng.random() < 0.3)
        S(5, "long", long_min * rng.uniform(0.95, 1.05), wkend(), trail=rng.random() < 0.6)
        if summer and rng.random() < 0.4:
            S(6, "hike", rng.uniform(120, 240), 9.0)
            S(6, "recovery", 0.16 * R, 17.2)
        else:
            S(6, "recovery", 0.22 * R, rng.uniform(8.5, 10.0))
    elif wtype == "race":
        key = race_key or "half"
        race_day = 6 if key in ("half", "greifensee", "trail30") else 5
        if key == "silvester":
            race_day = 5
        S(1, "tempo", 45.0, evening(), trail=False)
        S(2, "easy", 40.0, early())
        if rng.random() < 0.7:
            S(3, "strength", 35.0, 18.5)
        S(3, "easy", 35.0, early())
        S(race_day, "race", 0.0, RACES[key][7], race=key)
        if race_day == 6:
            S(5, "recovery", 22.0, 9.0)
        else:
            S(6, "walk", rng.uniform(40, 70), 14.0)
    elif wtype == "overreach":
        S(0, "easy", 0.15 * R, early())
        S(0, "strength", 45.0, 18.5)
        S(1, "intervals", 80.0, early(), rep=300.0)
        S(1, "easy", 35.0, 18.2)
        S(2, "easy", 0.14 * R, early(), trail=True)
        S(2, "ride", 60.0, 18.0, hr=True)
        S(3, "tempo", 80.0, early())
        S(3, "strength", 40.0, 18.6)
        S(4, "easy", 0.14 * R, early())
        S(4, "vride", 50.0, 18.3, hr=True)
        S(5, "long", 0.30 * R, 8.0, trail=True)
        S(6, "hills", 85.0, 9.0, trail=True)
        S(6, "easy", 30.0, 17.5)
    elif wtype == "post":
        S(2, "easy", 40.0, early())
        S(3, "strength", 40.0, 18.5)
        S(5, "easy", 60.0, wkend(), trail=True)
        S(6, "easy", 45.0, wkend())
    return out


# --------------------------------------------------------------------------- main


def generate_sample_athlete(end_date: dt.date, seed: int = 7, years: float = 2.0) -> SampleAthlete:
    """Deterministic for (end_date, seed, years). Activities end on ``end_date`` (local)."""
    if isinstance(end_date, dt.datetime):
        end_date = end_date.date()
    rng = random.Random(seed * 1_000_003 + end_date.toordinal() * 7 + int(years * 1000))
    start = end_date - dt.timedelta(days=int(round(years * 365.25)))
    first_monday = _monday(start)
    n_weeks = (_monday(end_date) - first_monday).days // 7 + 1
    types, factors, info, races, empty, ob, trip, easy = _plan_weeks(first_monday, n_weeks, end_date)

    sessions: list[_Session] = []
    trip_i = 0
    for w in range(n_weeks):
        monday = first_monday + dt.timedelta(days=7 * w)
        years_in = w / 52.0
        ws = _week_sessions(w, monday, types[w], factors[w], info[w], races.get(w), years_in, rng,
                            trip_i if types[w] == "trip" else -1)
        if types[w] == "trip":
            trip_i += 1
        sessions.extend(ws)

    # New Year's midnight runs (local date Jan 1, UTC date Dec 31)
    for year in range(first_monday.year + 1, end_date.year + 1):
        d = dt.date(year, 1, 1)
        w = (_monday(d) - first_monday).days // 7
        if 0 <= w < n_weeks and types[w] in ("normal", "recovery"):
            sessions.append(_Session(d, "easy", 32.0, 10 / 60, HOME_TZ,
                                     {"name": "Neujahrslauf 🎆", "special": "new_year"}))
    # A Sunday 23:50 walk at home, in a normal week
    for w in range(round(0.6 * n_weeks), n_weeks):
        if types[w] == "normal" and (w + 1 >= n_weeks or types[w + 1] != "easy"):
            d = first_monday + dt.timedelta(days=7 * w + 6)
            sessions.append(_Session(d, "walk", 40.0, 23 + 50 / 60, HOME_TZ,
                                     {"name": "Vollmond-Spaziergang", "special": "sunday_2350"}))
            break
    # a few manual entries and runs recorded without HR
    for w in range(3, n_weeks, 9):
        if types[w] in ("normal", "recovery"):
            kind = ["strength", "run_manual", "hike"][(w // 9) % 3]
            # on a day that already has an activity, so no rest day is lost
            day_i, hour = {"strength": (2, 12.5), "run_manual": (3, 12.5), "hike": (6, 14.0)}[kind]
            d = first_monday + dt.timedelta(days=7 * w + day_i)
            sessions.append(_Session(d, kind, rng.uniform(35, 70) if kind != "hike" else 150.0,
                                     hour, HOME_TZ, {"manual": True}))
    sessions = [s for s in sessions if s.day <= end_date]
    sessions.sort(key=lambda s: (s.day, s.hour))

    activities: list[dict] = []
    streams: dict[int, dict[str, list]] = {}
    specials: dict[str, list] = {"sunday_2350": [], "utc_date_differs": [], "manual": [],
                                 "races": [], "new_year": []}
    pending: list[tuple[dict, dict | None, str | None]] = []
    recent_runs: list[tuple[dt.date, float]] = []
    gear_era = 0
    for s in sessions:
        years_in = (s.day - first_monday).days / 365.25
        gear_era = min(2, int(years_in / 0.9))
        act, stream = _make_activity(s, rng, gear_era, recent_runs)
        if act["sport_type"] in ("Run", "TrailRun"):
            recent_runs.append((s.day, act["distance"]))
        pending.append((act, stream, s.opts.get("special")))

    # ids increase with the start time, like Strava's
    pending.sort(key=lambda p: p[0]["start_date"])
    next_id = 10_000_000_000 + rng.randint(0, 50_000_000)
    next_upload = 10_700_000_000 + rng.randint(0, 50_000_000)
    prev_epoch = None
    for act, stream, special in pending:
        epoch = dt.datetime.strptime(act["start_date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        gap = 3600 if prev_epoch is None else max(60, epoch - prev_epoch)
        prev_epoch = epoch
        next_id += int(gap * 19) + rng.randint(1_000, 90_000)
        next_upload += int(gap * 20) + rng.randint(1_000, 90_000)
        aid = next_id
        act["id"] = aid
        act["map"]["id"] = f"a{aid}"
        if not act["manual"]:
            act["upload_id"] = next_upload
            act["upload_id_str"] = str(next_upload)
            if act["sport_type"] == "VirtualRide":
                act["external_id"] = f"zwift-activity-{aid * 3 + 17}.fit"
            else:
                act["external_id"] = f"garmin_ping_{next_upload // 37}"
        else:
            specials["manual"].append(aid)
        activities.append(act)
        if stream is not None:
            streams[aid] = stream
        if special == "sunday_2350":
            specials["sunday_2350"].append(aid)
        if special == "new_year":
            specials["new_year"].append(aid)
        if act["start_date"][:10] != act["start_date_local"][:10]:
            specials["utc_date_differs"].append(aid)
        if act.get("workout_type") == 1:
            specials["races"].append(aid)

    week_iso = lambda w: (first_monday + dt.timedelta(days=7 * w)).isoformat()  # noqa: E731
    labels = {
        "overreaching_weeks": [week_iso(w) for w in range(ob, ob + 3) if 0 <= w < n_weeks and types[w] == "overreach"],
        "easy_weeks": [week_iso(w) for w in easy],
        "empty_weeks": [week_iso(w) for w in empty],
    }
    specials["trip_weeks"] = [week_iso(w) for w in range(n_weeks) if types[w] == "trip"]
    return SampleAthlete(
        athlete=_athlete_json(activities, first_monday),
        zones=_zones_json(),
        activities=activities,
        streams=streams,
        labels=labels,
        specials=specials,
    )


def _make_activity(s: _Session, rng: random.Random, gear_era: int, recent_runs) -> tuple[dict, dict | None]:
    o = s.opts
    kind = s.kind
    manual = bool(o.get("manual"))
    trail = bool(o.get("trail"))
    workout_type = None
    if kind == "run_manual":
        sport = "Run"
    elif kind in ("easy", "recovery", "long", "intervals", "tempo", "hills", "progression"):
        sport = "TrailRun" if trail else "Run"
        workout_type = {"long": 2, "intervals": 3, "tempo": 3, "hills": 3}.get(kind, 0)
    elif kind == "race":
        sport = RACES[o["race"]][1]
        trail = sport == "TrailRun"
        workout_type = 1
    else:
        sport = {"strength": "WeightTraining", "ride": "Ride", "vride": "VirtualRide",
                 "hike": "Hike", "walk": "Walk"}[kind]
    if workout_type == 0 and rng.random() < 0.03:
        workout_type = None  # some runs come back without a workout_type
    is_run = sport in ("Run", "TrailRun")

    # long runs in designed easy weeks stay below the 30-day longest run
    minutes = s.minutes
    if o.get("cap_long") and recent_runs:
        window = [d for day, d in recent_runs if 1 <= (s.day - day).days <= 30]
        if window:
            speed = 2.45 if trail else 2.85
            limit_min = 0.97 * max(window) / speed / 60.0
            minutes = min(minutes, limit_min)

    places = TRIP_PLACES if s.tz == TRIP_TZ else HOME_PLACES
    place = rng.choice(places)
    if kind == "strength":
        place = GYM
    alt0 = o.get("alt0", place[3])

    # start time: local wall clock -> UTC with the zone's DST-aware offset
    hh = int(s.hour)
    mm = int((s.hour - hh) * 60)
    ss = rng.randint(0, 59)
    if o.get("special") == "sunday_2350":
        hh, mm = 23, 50
    if o.get("special") == "new_year":
        hh, mm = 0, 10
    local = dt.datetime(s.day.year, s.day.month, s.day.day, hh, mm, ss)
    tz = ZoneInfo(s.tz)
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    offset = aware.utcoffset().total_seconds()

    has_hr = False
    stream = None
    stats: dict
    indoor = kind in ("strength", "vride") or manual
    if manual:
        mt = int(minutes * 60) // 60 * 60
        if kind == "strength":
            dist = 0.0
        elif kind == "hike":
            dist = float(round(mt * 1.0 / 100) * 100)
        else:
            dist = float(round(mt * 2.9 / 100) * 100)
        stats = {"distance": dist, "moving_time": mt, "elapsed_time": mt, "total_elevation_gain": 0.0,
                 "average_speed": round(dist / mt, 3) if mt else 0.0, "max_speed": 0.0}
    elif kind == "strength":
        mt = int(minutes * 60) + rng.randint(0, 59)
        stats = {"distance": 0.0, "moving_time": mt, "elapsed_time": mt + rng.randint(60, 600),
                 "total_elevation_gain": 0.0, "average_speed": 0.0, "max_speed": 0.0}
    else:
        has_hr = True
        if kind == "walk" or (kind in ("ride", "vride") and not o.get("hr", True)):
            has_hr = False
        if is_run and kind != "race" and rng.random() < 0.025:
            has_hr = False  # optical HR switched off
        segs = _segments_for(kind, minutes, rng, {**o, "trail": trail})
        if kind == "race":
            cap = float(rng.randint(*RACES[o["race"]][6]))
        elif kind in ("intervals", "tempo", "hills", "progression"):
            cap = float(rng.randint(178, 183))
        elif kind in ("easy", "recovery", "long"):
            cap = 149.0
        else:
            cap = 165.0
        mean_dt = {"hike": 7.0, "walk": 7.0, "ride": 4.0, "vride": 4.0}.get(kind, 5.0)
        if kind in ("ride", "vride") or minutes > 150:
            mean_dt = 6.0 if kind not in ("ride", "vride") else 4.0
        pauses = 0
        if kind in ("easy", "long", "recovery") and not trail and rng.random() < 0.45:
            pauses = rng.randint(1, 3)
        elif kind in ("long", "hike", "ride") and rng.random() < 0.5:
            pauses = rng.randint(1, 2)
        stops = 1 if rng.random() < 0.3 else 0
        if kind == "race" and RACES[o["race"]][3] > 200:
            stops = 3  # aid stations, watch running
        dropouts = 0
        r = rng.random()
        if r < 0.25:
            dropouts = 1
        elif r < 0.32:
            dropouts = 2
        drift = 4.0 if kind in ("long", "easy") else 2.0
        stream = _record(segs, rng, alt0=alt0, mean_dt=mean_dt, cap=cap, pauses=pauses, stops=stops,
                         dropouts=dropouts, drift_per_h=drift)
        if rng.random() < 0.1 and has_hr:
            for i in range(1, min(4, len(stream["heartrate"]))):
                stream["heartrate"][i] = 0  # strap not yet in contact at the start
        stats = _summary_from_stream(stream)
        if not has_hr:
            stats.pop("average_heartrate", None)
            stats.pop("max_heartrate", None)
            stream = None  # only HR activities carry a stream in the sample

    name = o.get("name")
    if kind == "race":
        name = RACES[o["race"]][0]
    elif name is None:
        if kind == "intervals":
            reps = sum(1 for seg in segs if seg[2] > 170)
            name = f"{reps}x{int(o.get('rep', 300) // 60)}' @ Schwelle"
        elif kind == "tempo":
            name = "Tempo run"
        elif kind == "hills":
            name = "Hill repeats Uetliberg"
        elif kind == "progression":
            name = _auto_name(sport, s.hour)
        elif kind == "long":
            name = "Long run" if rng.random() < 0.5 else _auto_name(sport, s.hour)
        elif kind == "run_manual":
            name = "Laufband im Hotel"
        elif o.get("commute"):
            name = "Commute"
        else:
            name = _auto_name(sport, s.hour)

    lat, lng = place[1] + rng.uniform(-0.004, 0.004), place[2] + rng.uniform(-0.004, 0.004)
    if indoor or kind == "run_manual":
        start_ll: list = []
        end_ll: list = []
        poly = ""
    else:
        start_ll = [round(lat, 6), round(lng, 6)]
        end_ll = [round(lat + rng.uniform(-0.0005, 0.0005), 6), round(lng + rng.uniform(-0.0005, 0.0005), 6)]
        poly = _encode_polyline(_loop(lat, lng, stats["distance"], rng))

    gear_id = None
    if is_run:
        gear_id = (SHOES_TRAIL if trail else SHOES_ROAD)[gear_era]
    elif sport in ("Ride", "VirtualRide"):
        gear_id = BIKE

    visibility = "everyone"
    r = rng.random()
    if r < 0.05:
        visibility = "only_me"
    elif r < 0.15:
        visibility = "followers_only"

    act: dict = {
        "resource_state": 2,
        "athlete": {"id": ATHLETE_ID, "resource_state": 1},
        "name": name,
        "distance": stats["distance"],
        "moving_time": stats["moving_time"],
        "elapsed_time": stats["elapsed_time"],
        "total_elevation_gain": stats["total_elevation_gain"],
        "type": _LEGACY_TYPE.get(sport, sport),
        "sport_type": sport,
        "workout_type": workout_type if is_run else None,
        "id": 0,
        "start_date": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": _tz_label(s.tz, s.day.year),
        "utc_offset": float(offset),
        "location_city": None,
        "location_state": None,
        "location_country": "United States" if s.tz == TRIP_TZ else "Switzerland",
        "achievement_count": rng.randint(0, 6) if is_run and not manual else 0,
        "kudos_count": rng.randint(0, 25) if visibility != "only_me" else 0,
        "comment_count": rng.randint(0, 3) if visibility != "only_me" else 0,
        "athlete_count": rng.randint(150, 2500) if kind == "race" else 1,
        "photo_count": 0,
        "map": {"id": "", "summary_polyline": poly, "resource_state": 2},
        "trainer": kind == "vride",
        "commute": bool(o.get("commute")),
        "manual": manual,
        "private": visibility == "only_me",
        "visibility": visibility,
        "flagged": False,
        "gear_id": gear_id,
        "start_latlng": start_ll,
        "end_latlng": end_ll,
        "average_speed": stats["average_speed"],
        "max_speed": stats["max_speed"],
        "has_heartrate": has_hr,
        "heartrate_opt_out": False,
        "display_hide_heartrate_option": has_hr,
        "upload_id": None,
        "upload_id_str": None,
        "external_id": None,
        "from_accepted_tag": False,
        "pr_count": rng.randint(0, 3) if kind == "race" else 0,
        "total_photo_count": 0,
        "has_kudoed": False,
    }
    if "elev_high" in stats:
        act["elev_high"] = stats["elev_high"]
        act["elev_low"] = stats["elev_low"]
    if is_run and stats["moving_time"] and not manual:
        act["average_cadence"] = round(rng.uniform(84, 90), 1)
    if sport in ("Ride", "VirtualRide"):
        watts = round(rng.uniform(150, 190), 1)
        act["average_watts"] = watts
        act["kilojoules"] = round(watts * stats["moving_time"] / 1000.0, 1)
        act["device_watts"] = sport == "VirtualRide"
    if has_hr:
        act["average_heartrate"] = stats["average_heartrate"]
        act["max_heartrate"] = stats["max_heartrate"]
    return act, stream


def _zones_json() -> dict:
    edges = [round(p * HR_MAX) for p in (0.65, 0.81, 0.89, 0.97)]
    zones = [{"min": 0, "max": edges[0]}]
    for lo, hi in zip(edges, edges[1:]):
        zones.append({"min": lo, "max": hi})
    zones.append({"min": edges[-1], "max": -1})
    return {"heart_rate": {"custom_zones": False, "zones": zones}}


def _athlete_json(activities: list[dict], first_monday: dt.date) -> dict:
    totals: dict[str, float] = {}
    for a in activities:
        if a.get("gear_id"):
            totals[a["gear_id"]] = totals.get(a["gear_id"], 0.0) + a["distance"]
    shoes = [
        {"id": g, "primary": g == max((x for x in totals if x.startswith("g")), key=lambda x: x, default=None),
         "name": SHOE_NAMES[g], "nickname": SHOE_NAMES[g], "resource_state": 2, "retired": False,
         "distance": round(totals[g], 1), "converted_distance": round(totals[g] / 1000.0, 1)}
        for g in sorted(totals) if g.startswith("g")
    ]
    bikes = [
        {"id": BIKE, "primary": True, "name": "Canyon Grizl", "nickname": "Canyon Grizl", "resource_state": 2,
         "retired": False, "distance": round(totals.get(BIKE, 0.0), 1),
         "converted_distance": round(totals.get(BIKE, 0.0) / 1000.0, 1)}
    ]
    created = dt.datetime.combine(first_monday - dt.timedelta(days=900), dt.time(19, 4, 12))
    updated = dt.datetime.combine(first_monday + dt.timedelta(days=400), dt.time(7, 31, 5))
    return {
        "id": ATHLETE_ID,
        "username": "lea_trails",
        "resource_state": 3,
        "firstname": "Lea",
        "lastname": "Brunner",
        "bio": "Trail runner from Zürich. Berge > Asphalt.",
        "city": "Zürich",
        "state": "Zürich",
        "country": "Switzerland",
        "sex": "F",
        "premium": True,
        "summit": True,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "badge_type_id": 1,
        "weight": 58.0,
        "profile_medium": "https://example.invalid/pictures/athletes/4242/medium.jpg",
        "profile": "https://example.invalid/pictures/athletes/4242/large.jpg",
        "friend": None,
        "follower": None,
        "blocked": False,
        "can_follow": True,
        "follower_count": 87,
        "friend_count": 112,
        "mutual_friend_count": 0,
        "athlete_type": 1,
        "date_preference": "%d/%m/%Y",
        "measurement_preference": "meters",
        "clubs": [],
        "ftp": None,
        "bikes": bikes,
        "shoes": shoes,
    }
