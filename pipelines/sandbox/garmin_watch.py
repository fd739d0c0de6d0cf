"""The sample athlete's Garmin watch: activities, original FIT files and daily wellness.

Built from a :class:`~pipelines.sandbox.sample_athlete.SampleAthlete` (the Strava side of
the same person), the way one athlete's two platforms really relate:

* most Strava activities were recorded on the watch: the same workout with its own Garmin
  id (21_000_000_000 and up), a start 0-5 s away from Strava's and summary values that
  differ a little, as two devices' do.  Manual entries and activities without a stream
  are not on the watch, and a few were recorded without it (the watch was forgotten);
* some watch activities never reached Strava (gym sessions, short easy runs, walks).
  They sit on days that already have a Strava activity, more than 10 minutes from any of
  them, and their maxHR stays below the Strava max_heartrate of every 365-day window that
  holds them, so they never change the athlete's derived hr_max;
* wellness for every day from 90 days before the first activity: overnight HRV (rMSSD),
  resting heart rate and sleep, with days the watch was not worn.  The physiology follows
  the training load (HRV drops and resting HR rises after hard days and blocks).

Four patterns of METRICS.md section 7 are designed into the last 20 weeks (their dates are
in :attr:`GarminWatch.designed`): an HRV dip week, a week with elevated resting HR, a
short-sleep week and a quality run on a low-readiness day.  The other weeks are held
normal (no hrv_suppressed or rhr_elevated day, >= 430 min of sleep on average) except the
overreaching block and the two weeks after it, where the body answers the load, and the
first days after the dip, where the 7-day HRV mean may still lag.  ``designed`` also lists
what came out: the weeks that raise hrv_suppressed / resting_hr_elevated / short_sleep
and every low-readiness day from the athlete's first day on.

Deterministic for (sample, seed, end_date).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from pipelines.sandbox import sample_athlete as sa
from pipelines.sandbox.fit_writer import encode_activity
from pipelines.sandbox.sample_athlete import SampleAthlete, generate_sample_athlete

OWNER_ID = 3456789
DEVICE_ID = 3618350000  # the Forerunner's unit id (also its FIT serial number)
FIT_MANUFACTURER_GARMIN = 1
FIT_MANUFACTURER_ZWIFT = 260
FIT_PRODUCT_FR965 = 4315
FIRST_ACTIVITY_ID = 21_000_000_000
UTC = dt.timezone.utc

# Strava sport_type -> Garmin activityType (typeKey, typeId, parentTypeId)
ACTIVITY_TYPES: dict[str, tuple[str, int, int]] = {
    "Run": ("running", 1, 17),
    "TrailRun": ("trail_running", 6, 1),
    "VirtualRun": ("virtual_run", 153, 1),
    "Walk": ("walking", 9, 17),
    "Hike": ("hiking", 3, 17),
    "WeightTraining": ("strength_training", 13, 29),
    "Crossfit": ("hiit", 164, 29),
    "Ride": ("cycling", 2, 17),
    "MountainBikeRide": ("mountain_biking", 5, 2),
    "GravelRide": ("gravel_cycling", 143, 2),
    "VirtualRide": ("virtual_ride", 152, 2),
    "EBikeRide": ("e_bike_fitness", 176, 2),
    "Swim": ("lap_swimming", 27, 26),
}
OTHER_TYPE = ("other", 4, 17)
TYPE_BY_KEY = {v[0]: v for v in ACTIVITY_TYPES.values()}
EVENT_TYPES = {"race": 1, "recreation": 2, "special_event": 3, "training": 4, "transportation": 5,
               "touring": 6, "geocaching": 7, "fitness": 8, "uncategorized": 9}
# Garmin typeKey -> FIT (sport, sub_sport)
FIT_SPORTS = {
    "running": ("running", "generic"),
    "trail_running": ("running", "trail"),
    "virtual_run": ("running", "virtual_activity"),
    "walking": ("walking", "generic"),
    "hiking": ("hiking", "generic"),
    "strength_training": ("training", "strength_training"),
    "cycling": ("cycling", "road"),
    "mountain_biking": ("cycling", "mountain"),
    "gravel_cycling": ("cycling", "gravel_cycling"),
    "virtual_ride": ("cycling", "virtual_activity"),
    "indoor_cycling": ("cycling", "indoor_cycling"),
}
TYPE_LABELS = {"running": "Running", "trail_running": "Trail Running", "walking": "Walking",
               "hiking": "Hiking", "cycling": "Cycling", "mountain_biking": "Mountain Biking",
               "gravel_cycling": "Gravel Cycling", "virtual_ride": "Virtual Cycling"}
KCAL_PER_MIN = {"running": 11.5, "trail_running": 12.0, "walking": 4.5, "hiking": 6.5,
                "strength_training": 5.5, "cycling": 9.0, "virtual_ride": 10.0}
CITY_OF_PLACE = {"Seefeld": "Zürich", "Uetliberg": "Stallikon", "Adliswil": "Adliswil",
                 "Zürichberg": "Zürich", "Irchelpark": "Zürich", "Chautauqua": "Boulder",
                 "Golden": "Golden", "Wash Park": "Denver"}

# physiology of the athlete (ms, bpm, minutes)
HRV_MEAN_MS = 52.0
RHR_MEAN = 46.5
SLEEP_MEAN_MIN = 455.0
HR_REST, HR_MAX = sa.HR_REST, sa.HR_MAX

# the HRV dip, in base standard deviations of ln rMSSD, Monday to Sunday ("clamp" = held normal)
DIP_PROFILE = (-1.0, -1.5, -3.0, -2.5, -1.2, 0.5, 1.0)
DIP_HELD_NORMAL = (0, 1)  # Monday and Tuesday stay unsuppressed (the dip starts Wednesday)
CLAMP_RAISE_CAP_SD = 2.5  # a held-normal day's ln rMSSD is raised at most this far above base


@dataclass
class _Recording:
    """What the watch recorded for one activity: the samples behind its FIT file."""

    start_utc: dt.datetime
    local_offset_s: int
    type_key: str
    stream: dict  # time, heartrate (and distance, altitude); Strava-derived streams still hold HR 0
    moving_time: float
    total_ascent: float | None
    anchor: tuple[float, float, float] | None  # start lat, lng, loop phase (outdoor only)
    manufacturer: int = FIT_MANUFACTURER_GARMIN


@dataclass
class GarminWatch:
    """One athlete's Garmin Connect data, as the Personal API serves it."""

    owner_id: int
    activities: list[dict]  # activity-list objects, oldest first (absent values left out)
    hrv: dict[str, dict]  # 'YYYY-MM-DD' -> one hrvSummaries element
    sleep: dict[str, dict]  # 'YYYY-MM-DD' -> daily sleep object (null numbers on days not worn)
    daily: dict[str, dict]  # 'YYYY-MM-DD' -> v2 daily summary
    end_date: dt.date  # "today" for the watch: nothing after it
    designed: dict = field(default_factory=dict)  # dates of the designed wellness patterns
    profile: dict = field(default_factory=dict)  # /userprofile-service/userprofile/settings
    strava_ids: dict[int, int] = field(default_factory=dict)  # Garmin activityId -> Strava id
    watch_only_ids: list[int] = field(default_factory=list)  # Garmin ids that never reached Strava
    forgotten_strava_ids: list[int] = field(default_factory=list)  # Strava ids recorded without the watch
    wellness_start: dt.date | None = None  # first day with wellness
    _recordings: dict[int, _Recording] = field(default_factory=dict, repr=False)
    _fit_cache: dict[int, bytes] = field(default_factory=dict, repr=False)
    _hr_cache: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict, repr=False)

    def activity(self, activity_id: int) -> dict | None:
        for a in self.activities:
            if a["activityId"] == activity_id:
                return a
        return None

    def hr_stream(self, activity_id: int) -> tuple[list[int], list[int]] | None:
        """(time_s, heartrate) as the FIT file holds them: whole seconds since its first record."""
        rec = self._recordings.get(int(activity_id))
        if rec is None:
            return None
        cached = self._hr_cache.get(int(activity_id))
        if cached is None:
            idx = _recorded_indices(rec.stream)
            t0 = rec.stream["time"][idx[0]]
            cached = ([int(rec.stream["time"][i]) - t0 for i in idx], [int(rec.stream["heartrate"][i]) for i in idx])
            self._hr_cache[int(activity_id)] = cached
        return list(cached[0]), list(cached[1])

    def fit_file(self, activity_id: int) -> bytes | None:
        """The activity's original FIT file (None: no file, e.g. a manual entry). Built once, then cached."""
        aid = int(activity_id)
        if aid in self._fit_cache:
            return self._fit_cache[aid]
        rec = self._recordings.get(aid)
        if rec is None:
            return None
        data = _encode_fit(rec)
        self._fit_cache[aid] = data
        return data


def _recorded_indices(stream: dict) -> list[int]:
    """The samples the watch kept: wrist HR has no strap dropouts (Strava's HR 0 samples)."""
    hr = stream["heartrate"]
    return [i for i in range(len(hr)) if hr[i] and hr[i] > 0]


def _encode_fit(rec: _Recording) -> bytes:
    s = rec.stream
    idx = _recorded_indices(s)
    t0 = s["time"][idx[0]]
    time_s = [int(s["time"][i]) - t0 for i in idx]
    hr = [int(s["heartrate"][i]) for i in idx]
    dist = [s["distance"][i] for i in idx] if s.get("distance") else None
    alt = [s["altitude"][i] for i in idx] if s.get("altitude") else None
    latlng = None
    if rec.anchor is not None and dist:
        lat0, lng0, phase = rec.anchor
        total = max(dist[-1], 1.0)
        r = max(150.0, total / (2 * math.pi)) / 111_000.0
        coslat = math.cos(math.radians(lat0))
        latlng = []
        for d in dist:
            ang = phase + 2 * math.pi * d / total
            latlng.append((lat0 + r * (math.sin(ang) - math.sin(phase)),
                           lng0 + r * (math.cos(ang) - math.cos(phase)) / coslat))
    sport, sub_sport = FIT_SPORTS.get(rec.type_key, ("generic", "generic"))
    return encode_activity(
        start_utc=rec.start_utc + dt.timedelta(seconds=t0),
        time_s=time_s, heartrate=hr, distance_m=dist, altitude_m=alt, latlng=latlng,
        sport=sport, sub_sport=sub_sport, local_offset_s=rec.local_offset_s,
        moving_time=rec.moving_time, total_ascent=rec.total_ascent,
        manufacturer=rec.manufacturer,
        product=FIT_PRODUCT_FR965 if rec.manufacturer == FIT_MANUFACTURER_GARMIN else 0,
        serial_number=DEVICE_ID if rec.manufacturer == FIT_MANUFACTURER_GARMIN else 1,
    )


# --------------------------------------------------------------------------- helpers


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def _parse_utc(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _gtime(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _trimp(minutes: float, avg_hr: float | None, sport: str) -> float:
    """Banister TRIMP (METRICS.md section 3, sex F) from the average HR, else the fallback rate."""
    if avg_hr and avg_hr > 0:
        x = min(1.0, max(0.0, (avg_hr - HR_REST) / (HR_MAX - HR_REST)))
        return minutes * x * 0.86 * math.exp(1.67 * x)
    rate = {"Run": 1.0, "TrailRun": 1.0, "Walk": 0.6, "Hike": 0.6, "Ride": 0.8, "VirtualRide": 0.8,
            "WeightTraining": 0.5}.get(sport, 0.5)
    return minutes * rate


def _hard_minutes(stream: dict | None, lthr: int) -> float:
    """Moderate + hard minutes of a stream (counted intervals at >= 0.90 x lthr)."""
    if not stream:
        return 0.0
    t, hr = stream["time"], stream["heartrate"]
    limit = 0.90 * lthr
    s = 0
    for i in range(1, len(t)):
        d = t[i] - t[i - 1]
        if 0 < d <= 30 and hr[i] > 0 and hr[i] >= limit:
            s += d
    return s / 60.0


def _stdev(values: list[float]) -> float:
    """Sample standard deviation (two-pass, in double precision like SQL's stddev_samp)."""
    m = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((x - m) ** 2 for x in values) / (len(values) - 1))


def _nearest_city(latlng: list) -> str:
    if not latlng:
        return ""
    best = min(sa.HOME_PLACES + sa.TRIP_PLACES,
               key=lambda p: (p[1] - latlng[0]) ** 2 + (p[2] - latlng[1]) ** 2)
    return CITY_OF_PLACE.get(best[0], "Zürich")


# --------------------------------------------------------------------------- the readiness arithmetic


class _Readiness:
    """METRICS.md section 7 over day-indexed value lists (None = missing); used while designing."""

    def __init__(self, hrv: list, rhr: list):
        self.hrv = hrv  # ms (int) or None
        self.rhr = rhr  # bpm (int) or None

    def ln(self, i: int) -> float | None:
        v = self.hrv[i] if 0 <= i < len(self.hrv) else None
        return math.log(v) if v else None

    def hrv_base(self, i: int) -> tuple[float, float] | None:
        vals = [x for x in (self.ln(j) for j in range(i - 60, i)) if x is not None]
        if len(vals) < 30:
            return None
        return statistics.fmean(vals), _stdev(vals)

    def hrv_7d_parts(self, i: int, skip_today: bool = False) -> tuple[float, int]:
        s, n = 0.0, 0
        for j in range(i - 6, i + 1):
            if skip_today and j == i:
                continue
            x = self.ln(j)
            if x is not None:
                s += x
                n += 1
        return s, n

    def hrv_7d(self, i: int) -> float | None:
        s, n = self.hrv_7d_parts(i)
        return s / n if n >= 4 else None

    def suppressed(self, i: int) -> bool:
        base, h7 = self.hrv_base(i), self.hrv_7d(i)
        return base is not None and h7 is not None and h7 < base[0] - 0.5 * base[1]

    def rhr_base(self, i: int) -> float | None:
        vals = [self.rhr[j] for j in range(max(0, i - 60), i) if self.rhr[j]]
        return statistics.fmean(vals) if len(vals) >= 30 else None

    def rhr_elevated(self, i: int) -> bool:
        base = self.rhr_base(i)
        return base is not None and bool(self.rhr[i]) and self.rhr[i] >= base + 5


# --------------------------------------------------------------------------- generation


def generate_sample_garmin_watch(end_date: dt.date, years: float = 2.0, seed: int = 7) -> GarminWatch:
    """The Garmin watch of ``generate_sample_athlete(end_date, seed=seed, years=years)``."""
    if isinstance(end_date, dt.datetime):
        end_date = end_date.date()
    return garmin_watch_for(generate_sample_athlete(end_date, seed=seed, years=years), end_date=end_date)


def garmin_watch_for(sample: SampleAthlete, seed: int = 11, *, end_date: dt.date | None = None) -> GarminWatch:
    """The watch of a sample athlete. ``end_date`` ("today"; default: the day of its last activity)."""
    return _Builder(sample, seed, end_date).build()


class _Builder:
    def __init__(self, sample: SampleAthlete, seed: int, end_date: dt.date | None):
        self.sample = sample
        acts = sorted(sample.activities, key=lambda a: (a["start_date"], a["id"]))
        if not acts:
            raise ValueError("the sample athlete has no activities")
        self.acts = acts
        self.local_date = {a["id"]: dt.date.fromisoformat(a["start_date_local"][:10]) for a in acts}
        last = max(self.local_date.values())
        self.end = end_date or last
        self.rng = random.Random(seed * 1_000_003 + self.end.toordinal() * 17 + len(acts))
        self.first_activity = min(self.local_date.values())
        self.first_day = _monday(self.first_activity)
        self.start = self.first_activity - dt.timedelta(days=90)
        self.n_days = (self.end - self.start).days + 1
        lab = sample.labels
        self.easy_weeks = [dt.date.fromisoformat(x) for x in lab.get("easy_weeks", [])]
        self.empty_weeks = [dt.date.fromisoformat(x) for x in lab.get("empty_weeks", [])]
        self.over_weeks = [dt.date.fromisoformat(x) for x in lab.get("overreaching_weeks", [])]
        self.trip_weeks = [dt.date.fromisoformat(x) for x in sample.specials.get("trip_weeks", [])]
        self.trip_days = {w + dt.timedelta(days=k) for w in self.trip_weeks for k in range(7)}
        # the 365-day hr_max as of the end date, and the LTHR it implies
        window = [a.get("max_heartrate") or 0 for a in acts
                  if (self.end - self.local_date[a["id"]]).days <= 364]
        hr_max = max(window) if any(window) else 190
        self.lthr = int(math.floor(0.89 * hr_max + 0.5))

    # ------------------------------------------------------------------ days and weeks
    def idx(self, d: dt.date) -> int:
        return (d - self.start).days

    def day(self, i: int) -> dt.date:
        return self.start + dt.timedelta(days=i)

    def _is_run(self, a: dict) -> bool:
        return a["sport_type"] in ("Run", "TrailRun", "VirtualRun")

    def _quality(self, a: dict, strict: bool) -> bool:
        if not self._is_run(a):
            return False
        if a.get("workout_type") in (1, 3):
            return True
        if strict:
            return False
        return _hard_minutes(self.sample.streams.get(a["id"]), self.lthr) >= 10.0

    def build(self) -> GarminWatch:
        self._loads()
        self._choose_designed()
        self._choose_forgotten()
        self._plan_watch_only()
        self._loads()  # watch-only sessions load the body too
        acts, recs, strava_ids, watch_only = self._activities()
        self._wellness()
        watch = GarminWatch(
            owner_id=OWNER_ID, activities=acts, hrv=self.hrv_objs, sleep=self.sleep_objs,
            daily=self.daily_objs, end_date=self.end, designed=self.designed, profile=self._profile(),
            strava_ids=strava_ids, watch_only_ids=watch_only,
            forgotten_strava_ids=sorted(self.forgotten), wellness_start=self.start,
        )
        watch._recordings = recs
        q_id = self.designed.get("low_readiness_quality_strava_id")
        self.designed["low_readiness_quality_garmin_id"] = next(
            (g for g, s in strava_ids.items() if s == q_id), None)
        self._summarise()
        return watch

    # ------------------------------------------------------------------ load
    def _loads(self) -> None:
        load = [0.0] * (self.n_days + 1)
        self.day_max_hr: dict[dt.date, float] = {}
        for a in self.acts:
            d = self.local_date[a["id"]]
            i = self.idx(d)
            if 0 <= i < self.n_days:
                load[i] += _trimp(a["moving_time"] / 60.0, a.get("average_heartrate"), a["sport_type"])
            if a.get("max_heartrate"):
                self.day_max_hr[d] = max(self.day_max_hr.get(d, 0.0), float(a["max_heartrate"]))
        for w in getattr(self, "watch_only", []):
            i = self.idx(w["day"])
            load[i] += _trimp(w["moving_time"] / 60.0, w["avg_hr"], w["strava_like_sport"])
        self.load = load
        active = [x for x in load if x > 0]
        self.mean_load = statistics.fmean(load[self.idx(self.first_activity):self.n_days]) if active else 1.0
        self.mean_load = max(self.mean_load, 1.0)

    def _week_load(self, monday: dt.date) -> float:
        i = self.idx(monday)
        return sum(self.load[max(0, j)] for j in range(i, i + 7) if 0 <= j < self.n_days)

    # ------------------------------------------------------------------ designed weeks
    def _choose_designed(self) -> None:
        end_monday = _monday(self.end)
        last_complete = end_monday if self.end.weekday() == 6 else end_monday - dt.timedelta(days=7)
        earliest = _monday(self.end - dt.timedelta(days=139))  # Mondays in the last 20 weeks
        if self.end - earliest >= dt.timedelta(days=140):
            earliest += dt.timedelta(days=7)
        excluded: set[dt.date] = set()
        for e in self.easy_weeks:
            excluded |= {e - dt.timedelta(days=7), e, e + dt.timedelta(days=7)}
        excluded |= set(self.empty_weeks) | set(self.trip_weeks)
        if self.over_weeks:
            o0, o1 = min(self.over_weeks), max(self.over_weeks)
            w = o0 - dt.timedelta(days=7)
            while w <= o1 + dt.timedelta(days=14):
                excluded.add(w)
                w += dt.timedelta(days=7)
        self.free_block = set()
        if self.over_weeks:
            w = min(self.over_weeks)
            while w <= max(self.over_weeks) + dt.timedelta(days=14):
                self.free_block.add(w)
                w += dt.timedelta(days=7)
        runs_by_day: dict[dt.date, list[dict]] = {}
        for a in self.acts:
            runs_by_day.setdefault(self.local_date[a["id"]], []).append(a)
        self.acts_by_day = runs_by_day

        def quality_day(d: dt.date, strict: bool = False) -> bool:
            return any(self._quality(a, strict) for a in runs_by_day.get(d, []))

        cands = []
        w = earliest
        while w < last_complete:  # the last complete week stays unremarkable
            if (w not in excluded and w >= self.first_day + dt.timedelta(days=28)
                    and self.idx(w) >= 60 and any(runs_by_day.get(w + dt.timedelta(days=k)) for k in range(7))):
                cands.append(w)
            w += dt.timedelta(days=7)

        designed: dict = {"hrv_dip_week": None, "rhr_elevated_week": None, "short_sleep_week": None,
                          "low_readiness_quality_day": None, "low_readiness_quality_strava_id": None}
        chosen: list[dt.date] = []

        def spaced(w: dt.date, gap: int) -> bool:
            return all(abs((w - c).days) >= 7 * gap for c in chosen)

        def pick(order: list[dt.date], ok) -> dt.date | None:
            for gap in (2, 1):
                for w in order:
                    if spaced(w, gap) and ok(w):
                        return w
            return None

        # 1. HRV dip: the week after the hardest load, without quality runs on its dip days
        by_load = sorted(cands, key=lambda w: (-(self._week_load(w - dt.timedelta(days=7))
                                                 + 0.5 * self._week_load(w)), -w.toordinal()))
        dip = pick(by_load, lambda w: not any(quality_day(w + dt.timedelta(days=k)) for k in range(2, 7)))
        if dip is None:
            dip = pick(by_load, lambda w: True)
        if dip is not None:
            chosen += [dip, dip + dt.timedelta(days=7)]  # the week after recovers
            designed["hrv_dip_week"] = dip
            designed["hrv_dip_days"] = [dip + dt.timedelta(days=k) for k in range(7)
                                        if k not in DIP_HELD_NORMAL and DIP_PROFILE[k] < 0]

        # 2. elevated resting HR: 2-3 days of a hard week without quality runs
        def rhr_days(w: dt.date) -> list[dt.date] | None:
            free = [not quality_day(w + dt.timedelta(days=k)) for k in range(7)]
            for ks in ((2, 3, 4), (3, 4, 5), (4, 5, 6), (0, 1, 2), (1, 2, 3), (5, 6), (3, 4), (0, 1)):
                if all(free[k] for k in ks):
                    return [w + dt.timedelta(days=k) for k in ks]
            return None

        by_own_load = sorted(cands, key=lambda w: (-self._week_load(w), -w.toordinal()))
        rw = pick(by_own_load, lambda w: rhr_days(w) is not None)
        if rw is not None:
            chosen.append(rw)
            designed["rhr_elevated_week"] = rw
            designed["rhr_elevated_days"] = rhr_days(rw)

        # 3. a quality run (race or workout) on a low-readiness day: the latest one with a stream
        latest_first = sorted(cands, reverse=True)

        def q_run(w: dt.date) -> dict | None:
            for k in range(7):
                for a in runs_by_day.get(w + dt.timedelta(days=k), []):
                    if (self._quality(a, strict=True) and a["id"] in self.sample.streams
                            and not a.get("manual")):
                        return a
            return None

        qw = pick(latest_first, lambda w: q_run(w) is not None)
        if qw is not None:
            chosen.append(qw)
            qa = q_run(qw)
            designed["low_readiness_quality_day"] = self.local_date[qa["id"]]
            designed["low_readiness_quality_strava_id"] = qa["id"]

        # 4. a short-sleep week
        sw = pick(latest_first, lambda w: True)
        if sw is not None:
            chosen.append(sw)
            designed["short_sleep_week"] = sw
        designed["normal_weeks"] = list(self.easy_weeks)
        self.designed = designed

    # ------------------------------------------------------------------ activities
    def _choose_forgotten(self) -> None:
        q_id = self.designed.get("low_readiness_quality_strava_id")
        eligible = [a["id"] for a in self.acts
                    if a["id"] in self.sample.streams and not a.get("manual")
                    and a.get("workout_type") != 1 and a["id"] != q_id]
        n = max(2, round(0.01 * len(eligible)))
        self.forgotten = set(self.rng.sample(eligible, min(n, len(eligible))))

    def _plan_watch_only(self) -> None:
        """Sessions recorded on the watch only, on days that already have a Strava activity."""
        rng = self.rng
        years = (self.end - self.first_activity).days / 365.25
        n = min(20, max(4, round(7 * years)))
        kinds = ["strength", "run", "strength", "walk", "strength", "run", "strength", "strength",
                 "walk", "strength", "run", "strength", "strength", "strength", "run", "strength",
                 "walk", "strength", "strength", "run"][:n]
        banned_weeks = set(self.easy_weeks) | set(self.empty_weeks) | set(self.trip_weeks) | self.free_block
        for key in ("hrv_dip_week", "rhr_elevated_week", "short_sleep_week"):
            if self.designed.get(key):
                banned_weeks.add(self.designed[key])
        if self.designed.get("low_readiness_quality_day"):
            banned_weeks.add(_monday(self.designed["low_readiness_quality_day"]))
        last_complete = _monday(self.end) - dt.timedelta(days=7)
        busy: list[tuple[float, float]] = []
        for a in self.acts:
            s = _parse_utc(a["start_date"]).timestamp()
            busy.append((s, s + max(a["elapsed_time"], a["moving_time"])))
        # weekly run km-effort (for the volume check of added runs)
        effort: dict[dt.date, float] = {}
        for a in self.acts:
            if self._is_run(a):
                w = _monday(self.local_date[a["id"]])
                effort[w] = effort.get(w, 0.0) + a["distance"] / 1000 + a["total_elevation_gain"] / 100
        # hr_max windows: the max of every 365-day window ending on each day (data up to the end)
        n_ext = self.n_days + 366
        daymax = [0.0] * n_ext
        for d, v in self.day_max_hr.items():
            i = self.idx(d)
            if 0 <= i < n_ext:
                daymax[i] = max(daymax[i], v)
        wmax = [0.0] * n_ext
        from collections import deque
        dq: deque = deque()
        for i in range(n_ext):
            while dq and daymax[dq[-1]] <= daymax[i]:
                dq.pop()
            dq.append(i)
            while dq[0] <= i - 365:
                dq.popleft()
            wmax[i] = daymax[dq[0]]
        self.wmax = wmax

        days = sorted({self.local_date[a["id"]] for a in self.acts
                       if self.first_day + dt.timedelta(days=28) <= self.local_date[a["id"]]
                       and _monday(self.local_date[a["id"]]) not in banned_weeks
                       and _monday(self.local_date[a["id"]]) <= last_complete
                       and self.local_date[a["id"]] not in self.trip_days})
        plan: list[dict] = []
        if not days:
            self.watch_only = plan
            return
        tz = ZoneInfo(sa.HOME_TZ)
        seg = len(days) / n
        used_weeks: set[dt.date] = set()
        for k, planned in enumerate(kinds):
            lo, hi = int(k * seg), max(int(k * seg) + 1, int((k + 1) * seg))
            order = days[lo:hi]
            rng.shuffle(order)
            tries = [(kind, d) for kind in dict.fromkeys((planned, "strength")) for d in order]
            for kind, d in tries:
                w = _monday(d)
                if w in used_weeks:
                    continue
                if kind == "run":
                    prev = [effort.get(w - dt.timedelta(days=7 * j), 0.0) for j in range(1, 5)]
                    mean_prev = statistics.fmean(prev)
                    if mean_prev <= 0 or effort.get(w, 0.0) + 6.0 > mean_prev * 1.05:
                        continue
                slot = self._free_slot(d, kind, busy, tz)
                if slot is None:
                    continue
                item = self._watch_only_session(kind, d, slot, tz)
                limit = min(self.wmax[self.idx(d): self.idx(d) + 365])
                if item["max_hr"] >= limit:
                    continue
                s = item["start_utc"].timestamp()
                busy.append((s, s + item["elapsed"]))
                used_weeks.add(w)
                if kind == "run":
                    effort[w] = effort.get(w, 0.0) + item["distance"] / 1000
                plan.append(item)
                break
        self.watch_only = plan

    def _free_slot(self, d: dt.date, kind: str, busy, tz) -> dt.datetime | None:
        minutes = {"strength": 60, "run": 40, "walk": 60}[kind]
        hours = list({"strength": (12.25, 20.0, 15.5), "run": (12.3, 16.0, 20.1),
                      "walk": (12.5, 15.0, 20.25)}[kind])
        self.rng.shuffle(hours)
        for h in hours:
            local = dt.datetime(d.year, d.month, d.day, int(h), int((h % 1) * 60), self.rng.randint(0, 59))
            start = local.replace(tzinfo=tz).astimezone(UTC)
            s, e = start.timestamp(), start.timestamp() + minutes * 60
            if all(e + 600 < b0 or s - 600 > b1 for b0, b1 in busy):
                return start
        return None

    def _watch_only_session(self, kind: str, d: dt.date, start: dt.datetime, tz) -> dict:
        rng = self.rng
        offset = int(start.astimezone(tz).utcoffset().total_seconds())
        place = sa.HOME_PLACES[rng.randrange(len(sa.HOME_PLACES))]
        anchor = None
        if kind == "strength":
            stream = _strength_stream(rng, rng.uniform(38, 52))
            type_key, sport = "strength_training", "WeightTraining"
            distance = None
        else:
            if kind == "run":
                segs = sa._segments_for("easy", rng.uniform(24, 32), rng, {"trail": False})
                cap, mean_dt = 149.0, 5.0
                type_key, sport = "running", "Run"
            else:
                segs = sa._segments_for("walk", rng.uniform(35, 50), rng, {})
                cap, mean_dt = 118.0, 7.0
                type_key, sport = "walking", "Walk"
            stream = sa._record(segs, rng, alt0=place[3], mean_dt=mean_dt, cap=cap, pauses=0, stops=0,
                                dropouts=0, drift_per_h=3.0)
            distance = stream["distance"][-1]
            lat = place[1] + rng.uniform(-0.004, 0.004)
            lng = place[2] + rng.uniform(-0.004, 0.004)
            anchor = (round(lat, 6), round(lng, 6), rng.uniform(0, 2 * math.pi))
        t, hr = stream["time"], stream["heartrate"]
        w_sum = w = 0
        for i in range(1, len(t)):
            dti = t[i] - t[i - 1]
            if 0 < dti <= 30 and hr[i] > 0:
                w_sum += hr[i] * dti
                w += dti
        moving = t[-1]
        if "moving" in stream:
            moving = sum(t[i] - t[i - 1] for i in range(1, len(t)) if stream["moving"][i])
        gain = None
        if stream.get("altitude"):
            alt = stream["altitude"]
            gain = sum(max(0.0, alt[i] - alt[i - 1]) for i in range(1, len(alt)))
        return {"kind": kind, "day": d, "start_utc": start, "offset": offset, "stream": stream,
                "type_key": type_key, "strava_like_sport": sport, "distance": distance,
                "elapsed": t[-1], "moving_time": moving, "avg_hr": round(w_sum / w, 1) if w else None,
                "max_hr": max(hr), "gain": gain, "anchor": anchor,
                "city": CITY_OF_PLACE.get(place[0], "Zürich") if kind != "strength" else ""}

    def _activities(self):
        rng = self.rng
        rows: list[tuple[dt.datetime, dict, _Recording, int | None]] = []
        for a in self.acts:
            if a.get("manual") or a["id"] not in self.sample.streams or a["id"] in self.forgotten:
                continue
            act, rec = self._from_strava(a)
            rows.append((rec.start_utc, act, rec, a["id"]))
        for w in self.watch_only:
            act, rec = self._from_plan(w)
            rows.append((rec.start_utc, act, rec, None))
        rows.sort(key=lambda r: r[0])
        next_id = FIRST_ACTIVITY_ID + rng.randint(1_000, 40_000_000)
        prev = None
        out, recs, strava_ids, watch_only = [], {}, {}, []
        for start, act, rec, sid in rows:
            gap = 3600 if prev is None else max(60, (start - prev).total_seconds())
            prev = start
            next_id += int(gap * 3) + rng.randint(500, 60_000)
            act["activityId"] = next_id
            out.append(_ordered(act))
            recs[next_id] = rec
            if sid is None:
                watch_only.append(next_id)
            else:
                strava_ids[next_id] = sid
        return out, recs, strava_ids, watch_only

    def _from_strava(self, a: dict) -> tuple[dict, _Recording]:
        rng = self.rng
        type_key, type_id, parent = ACTIVITY_TYPES.get(a["sport_type"], OTHER_TYPE)
        start = _parse_utc(a["start_date"]) + dt.timedelta(seconds=rng.randint(0, 5))
        offset = int(a.get("utc_offset") or 0)
        stream = self.sample.streams[a["id"]]
        virtual = type_key == "virtual_ride"
        indoor = virtual or not a.get("start_latlng")
        wt = a.get("workout_type")
        event = "race" if wt == 1 else "training" if wt == 3 else (
            "transportation" if a.get("commute") else "uncategorized")
        moving = float(a["moving_time"]) + rng.choice((0.0, 0.0, 1.0, 2.0))
        elapsed = float(a["elapsed_time"])
        moving = min(moving, elapsed)
        duration = round(min(elapsed, moving + 0.4 * (elapsed - moving)) + rng.randint(0, 9) / 10, 1)
        duration = max(duration, moving)
        act: dict = {
            "activityName": self._name(a, type_key),
            "startTimeLocal": _gtime(start + dt.timedelta(seconds=offset)),
            "startTimeGMT": _gtime(start),
            "activityType": {"typeId": type_id, "typeKey": type_key, "parentTypeId": parent},
            "eventType": {"typeId": EVENT_TYPES[event], "typeKey": event},
        }
        dist = float(a.get("distance") or 0.0)
        if dist > 0:
            act["distance"] = round(dist * rng.uniform(0.996, 1.004), 1)
        act["duration"] = duration
        act["elapsedDuration"] = elapsed
        act["movingDuration"] = moving
        if a.get("total_elevation_gain") and (not indoor or virtual):
            gain = round(a["total_elevation_gain"] * rng.uniform(0.95, 1.03))
            act["elevationGain"] = float(gain)
            act["elevationLoss"] = float(round(gain * rng.uniform(0.95, 1.05)))
        if dist > 0 and moving > 0:
            act["averageSpeed"] = round(act["distance"] / moving, 3)
            if a.get("max_speed"):
                act["maxSpeed"] = round(a["max_speed"] * rng.uniform(0.97, 1.03), 3)
        if a.get("average_heartrate"):
            act["averageHR"] = float(round(a["average_heartrate"]))
            act["maxHR"] = float(a["max_heartrate"])
        act["calories"] = float(round(KCAL_PER_MIN.get(type_key, 7.0) * moving / 60.0 * rng.uniform(0.95, 1.05)))
        act["ownerId"] = OWNER_ID
        act["beginTimestamp"] = int(start.timestamp() * 1000)
        act["manualActivity"] = False
        act["hasPolyline"] = not indoor
        if virtual:
            act["manufacturer"] = "ZWIFT"
        else:
            act["deviceId"] = DEVICE_ID
            act["manufacturer"] = "GARMIN"
        act["lapCount"] = max(1, int(dist // 1000) + (1 if dist % 1000 > 100 else 0)) if type_key in (
            "running", "trail_running") else 1
        anchor = None
        if not indoor and a.get("start_latlng"):
            anchor = (a["start_latlng"][0], a["start_latlng"][1], (a["id"] % 628) / 100.0)
        gain = a.get("total_elevation_gain") if not indoor or virtual else None
        rec = _Recording(start_utc=start, local_offset_s=offset, type_key=type_key, stream=stream,
                         moving_time=moving, total_ascent=gain, anchor=anchor,
                         manufacturer=FIT_MANUFACTURER_ZWIFT if virtual else FIT_MANUFACTURER_GARMIN)
        return act, rec

    def _name(self, a: dict, type_key: str) -> str:
        if a.get("workout_type") == 1 or type_key == "virtual_ride":
            return a["name"]  # races renamed on both platforms; Zwift names its rides
        label = TYPE_LABELS.get(type_key, "Activity")
        city = _nearest_city(a.get("start_latlng") or [])
        return f"{city} {label}" if city else label

    def _from_plan(self, w: dict) -> tuple[dict, _Recording]:
        rng = self.rng
        type_key = w["type_key"]
        type_id, parent = TYPE_BY_KEY[type_key][1:]
        start = w["start_utc"]
        elapsed = float(w["elapsed"])
        moving = float(w["moving_time"])
        label = {"strength_training": "Strength"}.get(type_key) or f"{w['city']} {TYPE_LABELS[type_key]}"
        act: dict = {
            "activityName": label,
            "startTimeLocal": _gtime(start + dt.timedelta(seconds=w["offset"])),
            "startTimeGMT": _gtime(start),
            "activityType": {"typeId": type_id, "typeKey": type_key, "parentTypeId": parent},
            "eventType": {"typeId": EVENT_TYPES["uncategorized"], "typeKey": "uncategorized"},
        }
        if w["distance"]:
            act["distance"] = round(w["distance"], 1)
        act["duration"] = round(elapsed, 1)
        act["elapsedDuration"] = elapsed
        act["movingDuration"] = moving
        if w["gain"] is not None and w["distance"]:
            act["elevationGain"] = float(round(w["gain"]))
            act["elevationLoss"] = float(round(w["gain"] * rng.uniform(0.95, 1.05)))
        if w["distance"] and moving > 0:
            act["averageSpeed"] = round(w["distance"] / moving, 3)
            act["maxSpeed"] = round(max(w["stream"].get("velocity_smooth") or [0.0]), 3)
        act["averageHR"] = float(round(w["avg_hr"]))
        act["maxHR"] = float(w["max_hr"])
        act["calories"] = float(round(KCAL_PER_MIN.get(type_key, 7.0) * moving / 60.0))
        act["ownerId"] = OWNER_ID
        act["beginTimestamp"] = int(start.timestamp() * 1000)
        act["manualActivity"] = False
        act["hasPolyline"] = w["anchor"] is not None
        act["deviceId"] = DEVICE_ID
        act["manufacturer"] = "GARMIN"
        act["lapCount"] = max(1, int((w["distance"] or 0) // 1000)) if type_key == "running" else 1
        rec = _Recording(start_utc=start, local_offset_s=w["offset"], type_key=type_key, stream=w["stream"],
                         moving_time=moving, total_ascent=w["gain"], anchor=w["anchor"])
        return act, rec

    # ------------------------------------------------------------------ wellness
    def _wellness(self) -> None:
        rng = self.rng
        n = self.n_days
        load = self.load
        # acute / chronic load -> strain
        atl = ctl = 0.0
        strain = [0.0] * n
        floor = 0.8 * self.mean_load
        for i in range(n):
            ratio = atl / max(ctl, floor)
            strain[i] = max(0.0, ratio - 1.15)
            atl += (load[i] - atl) / 7
            ctl += (load[i] - ctl) / 42
        hrv_ln = [0.0] * n
        rhr_f = [0.0] * n
        sleep_min = [0.0] * n
        ar_h = ar_r = 0.0
        mu = math.log(HRV_MEAN_MS)
        for i in range(n):
            d = self.day(i)
            yday = load[i - 1] / self.mean_load if i > 0 else 0.0
            hit = min(2.0, max(0.0, yday - 1.5))
            ar_h = 0.65 * ar_h + rng.gauss(0, 0.055)
            ar_r = 0.7 * ar_r + rng.gauss(0, 0.7)
            season = 0.025 * math.cos(2 * math.pi * (d.timetuple().tm_yday - 30) / 365.25)
            hrv_ln[i] = mu + season + ar_h + rng.gauss(0, 0.03) - 0.55 * strain[i] - 0.03 * hit
            rhr_f[i] = RHR_MEAN + ar_r + rng.gauss(0, 0.5) + 9.0 * strain[i] + 0.8 * hit
            weekend = 22.0 if d.weekday() >= 5 else 0.0
            sleep_min[i] = min(530.0, max(345.0, SLEEP_MEAN_MIN + weekend + rng.gauss(0, 26)
                                          + 10.0 * min(1.0, yday / 3.0)))
        hrv = [min(80, max(32, round(math.exp(x)))) for x in hrv_ln]
        rhr = [min(60, max(41, round(x))) for x in rhr_f]

        # the days the watch was not worn (never in designed weeks)
        protected: set[int] = set()
        des = self.designed
        for key in ("hrv_dip_week", "rhr_elevated_week", "short_sleep_week"):
            if des.get(key):
                i0 = self.idx(des[key])
                protected |= set(range(i0 - 7, i0 + 14))
        if des.get("low_readiness_quality_day"):
            i0 = self.idx(des["low_readiness_quality_day"])
            protected |= set(range(i0 - 7, i0 + 7))
        for e in self.easy_weeks:
            protected |= set(range(self.idx(e) - 7, self.idx(e) + 7))
        not_worn = [False] * n
        no_hrv = [False] * n
        no_rhr = [False] * n
        for i in range(n):
            if i in protected:
                continue
            r = rng.random()
            if r < 0.025:
                not_worn[i] = True
            elif r < 0.045:
                no_hrv[i] = True
            elif r < 0.055:
                no_rhr[i] = True
        # a few days in a row without the watch (charging forgotten on a holiday)
        for w in self.empty_weeks[:2]:
            i0 = self.idx(w) + 2
            if all(0 <= i < n and i not in protected for i in range(i0, i0 + 3)):
                for i in range(i0, i0 + 3):
                    not_worn[i] = True
        hrv_v: list = [None if (not_worn[i] or no_hrv[i]) else hrv[i] for i in range(n)]
        rhr_v: list = [None if (not_worn[i] or no_rhr[i]) else rhr[i] for i in range(n)]
        sleep_v: list = [None if not_worn[i] else sleep_min[i] for i in range(n)]

        # designed roles of days
        dip_sd: dict[int, float] = {}
        hold_hrv: set[int] = set(range(n))  # days held unsuppressed
        hold_rhr: set[int] = set(range(n))
        for w in self.free_block:
            block = set(range(self.idx(w), self.idx(w) + 7))
            hold_hrv -= block
            hold_rhr -= block
        dip_ref = None
        if des.get("hrv_dip_week"):
            i0 = self.idx(des["hrv_dip_week"])
            for k, sd in enumerate(DIP_PROFILE):
                dip_sd[i0 + k] = sd
                if k not in DIP_HELD_NORMAL:
                    hold_hrv.discard(i0 + k)
            dip_ref = i0
        rhr_up: set[int] = set()
        for d in des.get("rhr_elevated_days") or []:
            rhr_up.add(self.idx(d))
        if des.get("low_readiness_quality_day"):
            rhr_up.add(self.idx(des["low_readiness_quality_day"]))
        hold_rhr -= rhr_up

        calc = _Readiness(hrv_v, rhr_v)
        margin = 0.1
        dip_base = None
        for i in range(n):
            if i in dip_sd:
                if i == dip_ref:
                    dip_base = calc.hrv_base(i)
                if dip_base is not None:
                    m, s = dip_base
                    hrv_v[i] = max(30, round(math.exp(m + dip_sd[i] * s)))
                    if rhr_v[i] is not None:
                        rhr_v[i] = rhr_v[i] + 2  # a dip night is a restless night
            if i in hold_hrv:
                base = calc.hrv_base(i)
                h7 = calc.hrv_7d(i)
                if base is not None and h7 is not None and h7 < base[0] - (0.5 - margin) * base[1]:
                    if hrv_v[i] is None:  # the watch was worn after all
                        hrv_v[i] = hrv[i]
                        not_worn[i] = no_hrv[i] = False
                        if sleep_v[i] is None:
                            sleep_v[i] = sleep_min[i]
                    s_others, k = calc.hrv_7d_parts(i, skip_today=True)
                    need = (k + 1) * (base[0] - (0.5 - margin) * base[1]) - s_others
                    need = min(need, base[0] + CLAMP_RAISE_CAP_SD * base[1])
                    hrv_v[i] = max(hrv_v[i], math.ceil(math.exp(need)))
            if i in rhr_up:
                base = calc.rhr_base(i)
                if base is not None:
                    rhr_v[i] = math.ceil(base + 5) + rng.randint(1, 3)
                    not_worn[i] = False
            elif i in hold_rhr and rhr_v[i] is not None:
                base = calc.rhr_base(i)
                if base is not None and rhr_v[i] >= base + 4:
                    rhr_v[i] = math.floor(base + 2) + rng.randint(0, 1)

        # sleep: the designed short week; every other week keeps >= 430 min on average
        short = des.get("short_sleep_week")
        short_days = set()
        if short:
            i0 = self.idx(short)
            for k, minutes in enumerate((392, 366, 371, 384, 352, 415, 398)):
                sleep_v[i0 + k] = float(minutes + rng.randint(-8, 8))
                short_days.add(i0 + k)
        wk0 = self.idx(_monday(self.start))
        for i0 in range(wk0, n, 7):
            if short and i0 == self.idx(short):
                continue
            days = [i for i in range(i0, i0 + 7) if 0 <= i < n]
            nights = [i for i in days if sleep_v[i] is not None]
            if len(nights) >= 4:
                avg = statistics.fmean(sleep_v[i] for i in nights)
                if avg < 430:
                    lift = (440 - avg) * len(nights)
                    for i in sorted(nights, key=lambda j: sleep_v[j]):
                        add = min(lift, 480 - sleep_v[i])
                        if add > 0:
                            sleep_v[i] += add
                            lift -= add
                        if lift <= 0:
                            break

        self.hrv_values, self.rhr_values, self.sleep_values = hrv_v, rhr_v, sleep_v
        self._wellness_objects(hrv_v, rhr_v, sleep_v, not_worn)

    def _wellness_objects(self, hrv_v, rhr_v, sleep_v, not_worn) -> None:
        rng = self.rng
        n = self.n_days
        self.hrv_objs: dict[str, dict] = {}
        self.sleep_objs: dict[str, dict] = {}
        self.daily_objs: dict[str, dict] = {}
        home, trip = ZoneInfo(sa.HOME_TZ), ZoneInfo(sa.TRIP_TZ)
        week_ms: list[int] = []
        for i in range(n):
            d = self.day(i)
            ds = d.isoformat()
            tz = trip if d in self.trip_days else home
            # sleep: in bed the evening before, awake in the morning of d
            bed_h = 22.5 + rng.uniform(-0.6, 0.7) + (0.5 if d.weekday() >= 5 else 0.0)
            awake_s = rng.randint(300, 2100)
            if sleep_v[i] is not None:
                sleep_s = int(round(sleep_v[i])) * 60
                prev = d - dt.timedelta(days=1)
                bed = dt.datetime(prev.year, prev.month, prev.day, tzinfo=tz) + dt.timedelta(hours=bed_h)
                start_ms = int(bed.timestamp()) * 1000
                end_ms = start_ms + (sleep_s + awake_s) * 1000
                deep = int(sleep_s * rng.uniform(0.15, 0.22)) // 60 * 60
                rem = int(sleep_s * rng.uniform(0.18, 0.25)) // 60 * 60
                light = sleep_s - deep - rem
                score = int(round(min(97, max(35, 52 + (sleep_s / 60 - 390) * 0.28 + (deep / sleep_s - 0.15) * 120
                                               - awake_s / 300 + rng.uniform(-4, 4)))))
                qual = "EXCELLENT" if score >= 90 else "GOOD" if score >= 80 else "FAIR" if score >= 60 else "POOR"
                self.sleep_objs[ds] = {
                    "id": start_ms, "calendarDate": ds, "sleepTimeSeconds": sleep_s,
                    "deepSleepSeconds": deep, "lightSleepSeconds": light, "remSleepSeconds": rem,
                    "awakeSleepSeconds": awake_s, "sleepStartTimestampGMT": start_ms,
                    "sleepEndTimestampGMT": end_ms,
                    "sleepScores": {"overall": {"value": score, "qualifierKey": qual}},
                }
                wake = dt.datetime.fromtimestamp(end_ms / 1000, UTC)
            else:
                self.sleep_objs[ds] = empty_sleep(ds)
                wake = dt.datetime(d.year, d.month, d.day, 7, 0, tzinfo=tz).astimezone(UTC)
            # HRV
            if hrv_v[i] is not None:
                week_ms.append(hrv_v[i])
                self.hrv_objs[ds] = self._hrv_obj(i, ds, hrv_v, wake)
            # daily summary
            if not_worn[i] and rng.random() < 0.5:
                continue
            acts_max = self.day_max_hr.get(d)
            for w in self.watch_only:
                if w["day"] == d:
                    acts_max = max(acts_max or 0, w["max_hr"])
            rest = None if not_worn[i] else rhr_v[i]
            run_min = sum(a["moving_time"] / 60 for a in self.acts_by_day.get(d, []) if self._is_run(a))
            steps = int(6500 + rng.uniform(0, 5500) + 165 * run_min) if not not_worn[i] else rng.randint(800, 3000)
            hv = hrv_v[i] or HRV_MEAN_MS
            sl = sleep_v[i] or SLEEP_MEAN_MIN
            bb_max = int(min(100, max(30, 62 + (sl - 420) / 4 + (hv - HRV_MEAN_MS) * 0.8 + rng.uniform(-5, 5))))
            bb_min = int(max(5, min(bb_max - 10, bb_max - 45 - self.load[i] / 6 + rng.uniform(-6, 6))))
            self.daily_objs[ds] = {
                "calendarDate": ds, "userProfilePk": OWNER_ID, "source": "garmin",
                "heartRate": {
                    "minValue": None if rest is None else rest - rng.randint(2, 5),
                    "maxValue": None if not_worn[i] else int(max(acts_max or 0, rng.randint(104, 134))),
                    "restingValue": rest,
                },
                "stress": {"avgLevel": None if not_worn[i] else int(min(60, max(10, 26 + (HRV_MEAN_MS - hv) * 0.6
                                                                                   + rng.uniform(-6, 6))))},
                "bodyBattery": {"minValue": None if not_worn[i] else bb_min,
                                "maxValue": None if not_worn[i] else bb_max},
                "movement": {"steps": {"value": steps, "goal": 10000}},
            }

    def _hrv_obj(self, i: int, ds: str, hrv_v: list, wake: dt.datetime) -> dict:
        rng = self.rng
        week = [hrv_v[j] for j in range(max(0, i - 6), i + 1) if hrv_v[j]]
        weekly = round(statistics.fmean(week))
        hist = [math.log(hrv_v[j]) for j in range(max(0, i - 21), i) if hrv_v[j]]
        obj: dict = {"calendarDate": ds, "weeklyAvg": weekly, "lastNightAvg": hrv_v[i],
                     "lastNight5MinHigh": int(round(hrv_v[i] * rng.uniform(1.2, 1.42)))}
        if len(hist) < 14:
            n_prior = len(hist)
            obj["baseline"] = None
            obj["status"] = "NONE"
            obj["feedbackPhrase"] = f"HRV_ONBOARDING_{min(3, n_prior // 5 + 1)}"
        else:
            m = statistics.fmean(hist)
            s = max(0.06, _stdev(hist))
            low, high, low_upper = round(math.exp(m - s)), round(math.exp(m + s)), round(math.exp(m - 1.8 * s))
            lo_axis, hi_axis = low_upper * 0.85, high * 1.15
            marker = round(min(1.0, max(0.0, (weekly - lo_axis) / (hi_axis - lo_axis))), 2)
            obj["baseline"] = {"lowUpper": low_upper, "balancedLow": low, "balancedUpper": high,
                               "markerValue": marker}
            if low <= weekly <= high:
                status, phrase = "BALANCED", f"HRV_BALANCED_{rng.randint(1, 8)}"
            elif weekly < low_upper * 0.9:
                status, phrase = "POOR", f"HRV_POOR_{rng.randint(1, 3)}"
            elif weekly < low_upper:
                status, phrase = "LOW", f"HRV_LOW_{rng.randint(1, 4)}"
            else:
                status, phrase = "UNBALANCED", f"HRV_UNBALANCED_{rng.randint(1, 6)}"
            obj["status"] = status
            obj["feedbackPhrase"] = phrase
        obj["createTimeStamp"] = (wake + dt.timedelta(minutes=rng.randint(2, 25))).strftime("%Y-%m-%dT%H:%M:%S.0")
        return obj

    def _profile(self) -> dict:
        ath = self.sample.athlete
        gender = {"F": "FEMALE", "M": "MALE"}.get(ath.get("sex") or "", None)
        return {
            "id": OWNER_ID,
            "userData": {
                "gender": gender, "weight": float(ath.get("weight") or 0) * 1000.0 or None,
                "height": 168.0, "timeFormat": "time_twenty_four_hr", "birthDate": "1993-04-17",
                "measurementSystem": "metric", "activityLevel": None,
                "handedness": "RIGHT", "firstDayOfWeek": {"dayId": 2, "dayName": "monday", "sortOrder": 2},
                "lactateThresholdHeartRate": None, "vo2MaxRunning": 53.0,
            },
            "userSleep": {"sleepTime": 81000, "defaultSleepTime": False, "wakeTime": 23400,
                          "defaultWakeTime": False},
            "connectDate": None, "sourceType": None,
        }

    # ------------------------------------------------------------------ check what was designed
    def _summarise(self) -> None:
        """Recomputes section 7 over the final values; raises when a designed pattern did not come out."""
        calc = _Readiness(self.hrv_values, self.rhr_values)
        sup: dict[dt.date, int] = {}
        ele: dict[dt.date, int] = {}
        low_days: list[dt.date] = []
        for i in range(self.idx(self.first_day), self.n_days):
            d = self.day(i)
            w = _monday(d)
            s, e = calc.suppressed(i), calc.rhr_elevated(i)
            if s:
                sup[w] = sup.get(w, 0) + 1
            if e:
                ele[w] = ele.get(w, 0) + 1
            if s or e:
                low_days.append(d)
        short_weeks = []
        w = self.first_day
        while w + dt.timedelta(days=6) <= self.end:
            vals = [self.sleep_values[self.idx(w) + k] for k in range(7)
                    if self.sleep_values[self.idx(w) + k] is not None]
            if len(vals) >= 4 and statistics.fmean(int(round(v)) for v in vals) < 420:
                short_weeks.append(w)
            w += dt.timedelta(days=7)
        des = self.designed
        des["hrv_suppressed_weeks"] = sorted(w for w, c in sup.items() if c >= 3)
        des["rhr_elevated_weeks"] = sorted(w for w, c in ele.items() if c >= 2)
        des["short_sleep_weeks"] = short_weeks
        des["low_readiness_days"] = low_days
        if des.get("hrv_dip_week"):
            dip = des["hrv_dip_week"]
            des["hrv_dip_days"] = [d for d in low_days if _monday(d) == dip]
        problems = []
        if des.get("hrv_dip_week") and sup.get(des["hrv_dip_week"], 0) < 3:
            problems.append("hrv dip")
        if des.get("rhr_elevated_week") and ele.get(des["rhr_elevated_week"], 0) < 2:
            problems.append("rhr week")
        if des.get("short_sleep_week") and des["short_sleep_week"] not in short_weeks:
            problems.append("short sleep")
        if des.get("low_readiness_quality_day") and des["low_readiness_quality_day"] not in low_days:
            problems.append("low readiness day")
        for e in self.easy_weeks:
            if sup.get(e) or ele.get(e) or e in short_weeks:
                problems.append(f"easy week {e}")
        if problems:
            raise RuntimeError(f"garmin watch: designed wellness patterns did not come out: {problems}")


def _strength_stream(rng: random.Random, minutes: float) -> dict:
    """A gym session on the wrist: sets lift the heart rate, rests let it fall."""
    t, hr = [0], [int(rng.uniform(88, 98))]
    total = minutes * 60
    h = float(hr[0])
    cur = 0
    while cur < total:
        in_set = (cur // 75) % 2 == 0
        target = rng.uniform(118, 136) if in_set else rng.uniform(96, 106)
        step = rng.randint(2, 6)
        cur += step
        h += (target - h) * (1 - math.exp(-step / 20.0)) + rng.uniform(-1.5, 1.5)
        t.append(cur)
        hr.append(int(round(min(139.0, h))))
    return {"time": t, "heartrate": hr}


def empty_sleep(day: str) -> dict:
    """The daily sleep object of a night without data: same keys, numbers null."""
    return {"id": None, "calendarDate": day, "sleepTimeSeconds": None, "deepSleepSeconds": None,
            "lightSleepSeconds": None, "remSleepSeconds": None, "awakeSleepSeconds": None,
            "sleepStartTimestampGMT": None, "sleepEndTimestampGMT": None, "sleepScores": None}


_KEY_ORDER = ("activityId", "activityName", "startTimeLocal", "startTimeGMT", "activityType", "eventType",
              "distance", "duration", "elapsedDuration", "movingDuration", "elevationGain", "elevationLoss",
              "averageSpeed", "maxSpeed", "averageHR", "maxHR", "calories", "ownerId", "beginTimestamp",
              "manualActivity", "hasPolyline", "deviceId", "manufacturer", "lapCount")


def _ordered(act: dict) -> dict:
    out = {k: act[k] for k in _KEY_ORDER if k in act}
    out.update({k: v for k, v in act.items() if k not in out})
    return out
