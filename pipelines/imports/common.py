"""What both importers share: sport names, local time, the activity JSON, and the run itself.

Both importers land through `pipelines.landing` (the same upsert and stream replace the
API sync uses), inside `warehouse.writer_lock`, in transactions of a bounded size, and
record themselves in raw.sync_runs. `ImportRun` holds that machinery.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from pipelines import landing, warehouse
from pipelines.config import Settings
from pipelines.errors import UserError

UTC = dt.timezone.utc
Progress = Callable[[int, int, str], None]

# Bump when parsing or the built JSON changes, so that a re-import re-reads every file.
IMPORTER_VERSION = "1"


class ImportInputError(UserError, ValueError):
    """The path given cannot be imported; the message is one plain sentence a user can act on."""


# --------------------------------------------------------------------------- summary


@dataclass
class ImportSummary:
    """What one import did. `lines()` is the short human summary the CLI prints."""

    kind: str  # 'import-export' | 'import-files'
    path: str
    total: int = 0  # activities (export: rows of activities.csv; files: activity files seen)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0  # export only: gone from the export, marked deleted
    without_stream: int = 0  # landed from activities.csv without a stream (file broken/missing)
    manual: int = 0  # export rows without a file (manual entries): no stream expected
    streams: int = 0  # streams landed (replaced) in this run
    samples: int = 0  # stream samples landed in this run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file or row, reason)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (zip entry or path, reason)
    notes: list[str] = field(default_factory=list)
    athlete_id: int | None = None
    seconds: float = 0.0

    @property
    def landed(self) -> int:
        return self.new + self.updated + self.unchanged

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))

    def refuse(self, name: str, reason: str) -> None:
        self.refused.append((name, reason))

    def lines(self) -> list[str]:
        what = "Strava export" if self.kind == "import-export" else "activity files from"
        out = [
            f"Imported {what} {self.path} in {self.seconds:.1f} s: "
            f"{self.landed:,} activities ({self.new:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged), "
            f"{self.streams:,} streams with {self.samples:,} samples landed."
        ]
        extra = []
        if self.manual:
            extra.append(f"{self.manual:,} manual entries without a file")
        if self.without_stream:
            extra.append(f"{self.without_stream:,} imported from activities.csv without a stream (see below)")
        if self.deleted:
            extra.append(f"{self.deleted:,} no longer in the export, marked deleted")
        if extra:
            out.append("Also: " + "; ".join(extra) + ".")
        if self.skipped:
            out.append(f"Skipped {len(self.skipped):,} file{'s' if len(self.skipped) != 1 else ''}:")
            out += [f"  {name}: {reason}" for name, reason in sorted(self.skipped)]
        if self.refused:
            out.append(f"Refused {len(self.refused):,} entr{'ies' if len(self.refused) != 1 else 'y'}:")
            out += [f"  {name}: {reason}" for name, reason in sorted(self.refused)]
        out += [f"Note: {n}" for n in self.notes]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "total": self.total,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "without_stream": self.without_stream,
            "manual": self.manual,
            "streams": self.streams,
            "samples": self.samples,
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
            "refused": [{"name": n, "reason": r} for n, r in self.refused],
            "notes": self.notes,
            "athlete_id": self.athlete_id,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------- sports

# Strava's legacy `type` for each sport_type that is not itself a legacy type.
LEGACY_TYPES = {
    "AlpineSki", "BackcountrySki", "Canoeing", "Crossfit", "EBikeRide", "Elliptical", "Golf",
    "Handcycle", "Hike", "IceSkate", "InlineSkate", "Kayaking", "Kitesurf", "NordicSki", "Ride",
    "RockClimbing", "RollerSki", "Rowing", "Run", "Sail", "Skateboard", "Snowboard", "Snowshoe",
    "Soccer", "StairStepper", "StandUpPaddling", "Surfing", "Swim", "Velomobile", "VirtualRide",
    "VirtualRun", "Walk", "WeightTraining", "Wheelchair", "Windsurf", "Workout", "Yoga",
}
SPORT_TO_TYPE = {
    "TrailRun": "Run",
    "MountainBikeRide": "Ride",
    "GravelRide": "Ride",
    "EMountainBikeRide": "EBikeRide",
    "VirtualRow": "Rowing",
}
SPORT_TYPES = sorted(LEGACY_TYPES | set(SPORT_TO_TYPE) | {
    "Badminton", "HighIntensityIntervalTraining", "Padel", "Pickleball", "Pilates", "Racquetball",
    "Squash", "TableTennis", "Tennis", "VirtualRow",
})
# Display labels (activities.csv `Activity Type`) that are not just the sport_type with spaces.
LABEL_ALIASES = {
    "canoe": "Canoeing",
    "rockclimb": "RockClimbing",
    "hiit": "HighIntensityIntervalTraining",
    "standuppaddle": "StandUpPaddling",
    "football": "Soccer",
    "footballsoccer": "Soccer",
    "crosscountryski": "NordicSki",
    "kayak": "Kayaking",
    "row": "Rowing",
    "weighttrain": "WeightTraining",
    "ebike": "EBikeRide",
    "emountainbike": "EMountainBikeRide",
    "stairstepper": "StairStepper",
}
# Strava's display label for each sport_type (what the export writes in `Activity Type`).
SPORT_LABELS = {
    "AlpineSki": "Alpine Ski", "BackcountrySki": "Backcountry Ski", "Canoeing": "Canoe",
    "EBikeRide": "E-Bike Ride", "EMountainBikeRide": "E-Mountain Bike Ride", "GravelRide": "Gravel Ride",
    "HighIntensityIntervalTraining": "HIIT", "IceSkate": "Ice Skate", "InlineSkate": "Inline Skate",
    "MountainBikeRide": "Mountain Bike Ride", "NordicSki": "Nordic Ski", "RockClimbing": "Rock Climb",
    "RollerSki": "Roller Ski", "StairStepper": "Stair-Stepper", "StandUpPaddling": "Stand Up Paddling",
    "TableTennis": "Table Tennis", "TrailRun": "Trail Run", "VirtualRide": "Virtual Ride",
    "VirtualRow": "Virtual Row", "VirtualRun": "Virtual Run", "WeightTraining": "Weight Training",
}

# FIT sport / sub_sport (fitdecode names) -> sport_type; (sport, None) is the default of a sport.
FIT_SPORTS = {
    ("running", "trail"): "TrailRun",
    ("running", "virtual_activity"): "VirtualRun",
    ("running", None): "Run",
    ("cycling", "mountain"): "MountainBikeRide",
    ("cycling", "downhill"): "MountainBikeRide",
    ("cycling", "gravel_cycling"): "GravelRide",
    ("cycling", "cyclocross"): "GravelRide",
    ("cycling", "virtual_activity"): "VirtualRide",
    ("cycling", "e_bike_mountain"): "EMountainBikeRide",
    ("cycling", "hand_cycling"): "Handcycle",
    ("cycling", None): "Ride",
    ("e_biking", "e_bike_mountain"): "EMountainBikeRide",
    ("e_biking", None): "EBikeRide",
    ("walking", None): "Walk",
    ("hiking", None): "Hike",
    ("mountaineering", None): "Hike",
    ("swimming", None): "Swim",
    ("training", "strength_training"): "WeightTraining",
    ("training", "yoga"): "Yoga",
    ("training", "pilates"): "Pilates",
    ("training", "hiit"): "HighIntensityIntervalTraining",
    ("training", None): "Workout",
    ("hiit", None): "HighIntensityIntervalTraining",
    ("fitness_equipment", "elliptical"): "Elliptical",
    ("fitness_equipment", "stair_climbing"): "StairStepper",
    ("fitness_equipment", "indoor_rowing"): "Rowing",
    ("fitness_equipment", "treadmill"): "Run",
    ("fitness_equipment", "indoor_running"): "Run",
    ("fitness_equipment", "indoor_cycling"): "Ride",
    ("fitness_equipment", None): "Workout",
    ("cross_country_skiing", "backcountry"): "BackcountrySki",
    ("cross_country_skiing", None): "NordicSki",
    ("alpine_skiing", "backcountry"): "BackcountrySki",
    ("alpine_skiing", None): "AlpineSki",
    ("snowboarding", None): "Snowboard",
    ("rowing", None): "Rowing",
    ("paddling", None): "Canoeing",
    ("kayaking", None): "Kayaking",
    ("stand_up_paddleboarding", None): "StandUpPaddling",
    ("surfing", None): "Surfing",
    ("kitesurfing", None): "Kitesurf",
    ("windsurfing", None): "Windsurf",
    ("rock_climbing", None): "RockClimbing",
    ("inline_skating", None): "InlineSkate",
    ("ice_skating", None): "IceSkate",
    ("snowshoeing", None): "Snowshoe",
    ("golf", None): "Golf",
    ("soccer", None): "Soccer",
    ("tennis", None): "Tennis",
    ("sailing", None): "Sail",
    ("wheelchair_push_walk", None): "Wheelchair",
    ("wheelchair_push_run", None): "Wheelchair",
    ("racket", "pickleball"): "Pickleball",
    ("racket", "padel"): "Padel",
    ("racket", "squash"): "Squash",
    ("racket", "badminton"): "Badminton",
    ("racket", "racquetball"): "Racquetball",
    ("racket", "table_tennis"): "TableTennis",
}
INDOOR_SUB_SPORTS = {"treadmill", "indoor_cycling", "virtual_activity", "indoor_rowing", "indoor_running",
                     "indoor_walking", "spin", "indoor_skiing", "indoor_hand_cycling"}
# Free-text sport labels of TCX (`Sport="Running"`) and GPX (`<type>running</type>`, or
# Strava's numeric codes in its own GPX files) that neither table above knows.
TEXT_SPORTS = {
    "biking": "Ride", "bike": "Ride", "cycling": "Ride", "roadbiking": "Ride", "mountainbiking": "MountainBikeRide",
    "running": "Run", "trailrunning": "TrailRun", "walking": "Walk", "hiking": "Hike", "swimming": "Swim",
    "other": "Workout", "strength": "WeightTraining", "strengthtraining": "WeightTraining",
    "1": "Ride", "4": "Hike", "9": "Run", "10": "Walk", "16": "Swim", "17": "VirtualRide", "53": "VirtualRun",
}


def _norm(label: str) -> str:
    return re.sub(r"[^0-9a-z]", "", label.lower())


_BY_NORM = {_norm(s): s for s in SPORT_TYPES} | {_norm(v): k for k, v in SPORT_LABELS.items()} | LABEL_ALIASES


def sport_type_from_label(label: str | None) -> str:
    """activities.csv `Activity Type` display label -> Strava sport_type ('Trail Run' -> 'TrailRun').

    A label trainsmart does not know becomes the label without spaces ('Padel' -> 'Padel'),
    which is what Strava's sport_type names look like; the category seed files it as 'other'.
    """
    if not label or not label.strip():
        return "Workout"
    key = _norm(label)
    if key in _BY_NORM:
        return _BY_NORM[key]
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^0-9A-Za-z]+", label.strip()) if w) or "Workout"


def sport_type_from_file(sport: str | None, sub_sport: str | None = None) -> tuple[str, bool]:
    """(sport_type, trainer) from a file's sport field (FIT names, TCX/GPX text); 'Workout' when unknown."""
    trainer = bool(sub_sport and sub_sport in INDOOR_SUB_SPORTS)
    if sport:
        s = sport.strip().lower()
        if (s, sub_sport) in FIT_SPORTS:
            return FIT_SPORTS[(s, sub_sport)], trainer
        if (s, None) in FIT_SPORTS:
            return FIT_SPORTS[(s, None)], trainer
        key = _norm(sport)
        if key in TEXT_SPORTS:
            return TEXT_SPORTS[key], trainer
        if key in _BY_NORM:
            return _BY_NORM[key], trainer
    return "Workout", trainer


def legacy_type(sport_type: str) -> str:
    if sport_type in LEGACY_TYPES:
        return sport_type
    return SPORT_TO_TYPE.get(sport_type, "Workout")


# --------------------------------------------------------------------------- local time


@functools.lru_cache(maxsize=1)
def _tz_finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


@functools.lru_cache(maxsize=4096)
def zone_at(lat: float, lon: float) -> str | None:
    """The IANA zone at a point, offline (timezonefinder); None over open sea or on failure."""
    try:
        return _tz_finder().timezone_at(lat=lat, lng=lon)
    except Exception:
        return None


@dataclass(frozen=True)
class LocalTime:
    start_local: dt.datetime  # naive local wall time
    timezone: str  # Strava's form: "(GMT+01:00) Europe/Ljubljana"
    utc_offset: int  # seconds
    how: str  # 'fit' | 'fit+athlete' | 'gps' | 'athlete' | 'utc'


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _label(offset: int, name: str) -> str:
    sign = "+" if offset >= 0 else "-"
    hh, rem = divmod(abs(offset), 3600)
    return f"(GMT{sign}{hh:02d}:{rem // 60:02d}) {name}"


def zone_label(zone: ZoneInfo, when: dt.datetime) -> str:
    """Strava's timezone label: the zone's standard offset (no DST), e.g. '(GMT+01:00) Europe/Zurich'
    in July too; the offset actually in force goes to utc_offset."""
    local = when.astimezone(zone)
    standard = (local.utcoffset() or dt.timedelta(0)) - (local.dst() or dt.timedelta(0))
    return _label(int(standard.total_seconds()), zone.key)


def _fixed_zone_name(offset: int) -> str:
    if offset % 3600 == 0 and abs(offset) <= 12 * 3600:
        hours = offset // 3600
        # POSIX-style Etc names have the sign inverted: UTC-7 is Etc/GMT+7.
        return "Etc/UTC" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    sign = "+" if offset >= 0 else "-"
    hh, rem = divmod(abs(offset), 3600)
    return f"UTC{sign}{hh:02d}:{rem // 60:02d}"


def resolve_local_time(
    start_utc: dt.datetime,
    *,
    fit_offset_s: int | None,
    lat: float | None,
    lon: float | None,
    fallback_zone: str | None,
) -> LocalTime | None:
    """Local start time: FIT local timestamp, else the zone at the first GPS point, else the
    athlete's zone (`fallback_zone`: ATHLETE_TIMEZONE or the athlete's most frequent zone),
    else UTC.

    Returns None when the athlete's zone is needed but `fallback_zone` is None (not known
    yet): the importers then come back to the activity at the end of the run. The
    athlete's zone is also used to *name* the zone of a FIT offset without GPS when it has
    that offset at that time ("(GMT+01:00) Europe/Ljubljana" rather than "Etc/GMT-1").

    One exception to the order: a FIT local timestamp equal to its UTC timestamp (offset 0)
    while the first GPS point lies in a zone that was not at UTC+0 then is taken as unset
    (some devices, e.g. Coros, write UTC there), and the GPS zone is used.
    """
    start_utc = start_utc.astimezone(UTC)
    gps_zone = _zone(zone_at(lat, lon)) if lat is not None and lon is not None else None
    if fit_offset_s is not None:
        gps_offset = int(start_utc.astimezone(gps_zone).utcoffset().total_seconds()) if gps_zone else None
        if not (fit_offset_s == 0 and gps_offset not in (None, 0)):
            local = (start_utc + dt.timedelta(seconds=fit_offset_s)).replace(tzinfo=None)
            if gps_zone is not None and gps_offset == fit_offset_s:
                return LocalTime(local, zone_label(gps_zone, start_utc), fit_offset_s, "fit")
            if gps_zone is None:
                if fallback_zone is None:
                    return None
                athlete = _zone(fallback_zone)
                if athlete is not None and start_utc.astimezone(athlete).utcoffset().total_seconds() == fit_offset_s:
                    return LocalTime(local, zone_label(athlete, start_utc), fit_offset_s, "fit+athlete")
                return LocalTime(local, _label(fit_offset_s, _fixed_zone_name(fit_offset_s)), fit_offset_s,
                                 "fit+athlete")
            return LocalTime(local, _label(fit_offset_s, _fixed_zone_name(fit_offset_s)), fit_offset_s, "fit")
    if gps_zone is not None:
        local = start_utc.astimezone(gps_zone)
        offset = int(local.utcoffset().total_seconds())
        return LocalTime(local.replace(tzinfo=None), zone_label(gps_zone, start_utc), offset, "gps")
    if fallback_zone is None:
        return None
    zone = _zone(fallback_zone)
    if zone is not None:
        local = start_utc.astimezone(zone)
        offset = int(local.utcoffset().total_seconds())
        return LocalTime(local.replace(tzinfo=None), zone_label(zone, start_utc), offset, "athlete")
    return LocalTime(start_utc.replace(tzinfo=None), _label(0, "UTC"), 0, "utc")


def uses_athlete_zone(local: LocalTime) -> bool:
    """Whether the result depends on the athlete's zone (then it is part of the re-import signature)."""
    return local.how in ("fit+athlete", "athlete", "utc")


def iso_z(value: dt.datetime) -> str:
    """Strava's timestamp form: '2020-10-07T14:43:11Z' (for start_date_local too, which is not UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def day_part(local: dt.datetime) -> str:
    """Strava's default-name prefix for a local start hour."""
    h = local.hour
    if 4 <= h < 11:
        return "Morning"
    if 11 <= h < 13:
        return "Lunch"
    if 13 <= h < 17:
        return "Afternoon"
    if 17 <= h < 21:
        return "Evening"
    return "Night"


# --------------------------------------------------------------------------- the activity JSON


def activity_json(
    *,
    activity_id: int,
    athlete_id: int,
    name: str,
    sport_type: str,
    start_utc: dt.datetime,
    local: LocalTime,
    distance: float,
    moving_time: int,
    elapsed_time: int,
    total_elevation_gain: float,
    average_heartrate: float | None,
    max_heartrate: float | None,
    has_heartrate: bool,
    manual: bool,
    trainer: bool,
    commute: bool,
    start_latlng: tuple[float, float] | None,
    external_id: str | None,
    device_name: str | None = None,
) -> dict[str, Any]:
    """A Strava SummaryActivity-shaped dict (the fields METRICS.md section 1 reads, and a few more).

    Nothing in it depends on when or how often it was imported, so a re-import builds the
    same JSON byte for byte.
    """
    out: dict[str, Any] = {
        "resource_state": 2,
        "id": int(activity_id),
        "athlete": {"id": int(athlete_id)},
        "name": name,
        "sport_type": sport_type,
        "type": legacy_type(sport_type),
        "start_date": iso_z(start_utc),
        "start_date_local": iso_z(local.start_local),
        "timezone": local.timezone,
        "utc_offset": float(local.utc_offset),
        "distance": round(float(distance), 1),
        "moving_time": int(moving_time),
        "elapsed_time": int(elapsed_time),
        "total_elevation_gain": round(float(total_elevation_gain), 1),
        "average_heartrate": None if average_heartrate is None else round(float(average_heartrate), 1),
        "max_heartrate": None if max_heartrate is None else float(max_heartrate),
        "has_heartrate": bool(has_heartrate),
        "workout_type": None,
        "manual": bool(manual),
        "trainer": bool(trainer),
        "commute": bool(commute),
        "start_latlng": [round(start_latlng[0], 6), round(start_latlng[1], 6)] if start_latlng else [],
        "external_id": external_id,
    }
    if device_name:
        out["device_name"] = device_name
    return out


def streams_dict(parsed, moving: list[bool] | None = None) -> dict[str, list]:
    """ParsedActivity samples as Strava stream keys for landing.replace_stream."""
    out: dict[str, list] = {"time": parsed.time_s, "heartrate": parsed.heartrate}
    if parsed.distance_m is not None:
        out["distance"] = parsed.distance_m
    if parsed.altitude_m is not None:
        out["altitude"] = parsed.altitude_m
    if moving is not None:
        out["moving"] = moving
    return out


# --------------------------------------------------------------------------- signatures


def crc_of_stream(stream, size_hint: int | None = None) -> str:
    """'crc32-size' of a byte stream: the same value a zip directory holds for the member."""
    crc = 0
    size = 0
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
    return f"{crc & 0xFFFFFFFF:08x}-{size}"


def signature(*parts: Any) -> str:
    blob = json.dumps([IMPORTER_VERSION, *parts], sort_keys=True, default=str, separators=(",", ":"))
    import hashlib

    return hashlib.sha1(blob.encode()).hexdigest()[:20]


# --------------------------------------------------------------------------- the run


@dataclass
class Existing:
    signature: str | None
    deleted: bool


def waiting_notice(progress: Progress | None, total: int) -> Callable[[], None] | None:
    """Tell the progress callback (done = 0) that the import waits for another writer."""
    if progress is None:
        return None
    return lambda: progress(0, total, "waiting for another trainsmart run (sync, import or build) to finish")


class ImportRun:
    """Writer side of one import: the lock, the connection, batched transactions, sync_runs.

    Use as a context manager; `land()` writes one activity (and its stream) through
    pipelines.landing and commits every `batch_activities` activities or
    `batch_samples` samples, so that a killed import loses at most one batch and a re-run
    (idempotent upserts) completes it without duplicates.
    """

    def __init__(self, settings: Settings, kind: str, source: str, summary: ImportSummary,
                 batch_activities: int = 100, batch_samples: int = 500_000,
                 on_wait: Callable[[], None] | None = None):
        self.settings = settings
        self.kind = kind
        self.source = source
        self.summary = summary
        self.batch_activities = batch_activities
        self.batch_samples = batch_samples
        self.run_id = uuid.uuid4().hex
        self.con: duckdb.DuckDBPyConnection | None = None
        self._lock = None
        self._pending = 0
        self._pending_samples = 0
        self._in_tx = False
        self._t0 = time.monotonic()
        self.existing: dict[int, Existing] = {}
        self.on_wait = on_wait  # called once if another writer holds the lock

    def __enter__(self) -> "ImportRun":
        self._lock = warehouse.writer_lock(self.settings.db_path, on_wait=self.on_wait)
        self._lock.__enter__()
        try:
            self.con = warehouse.connect_writer(self.settings.db_path)
            con = self.con
            # A run of this kind still 'running' was killed: we hold the lock, so it is not alive.
            con.execute(
                "update raw.sync_runs set status = 'failed', finished_at = ?, "
                "message = 'interrupted (the process stopped before it finished)' "
                "where kind = ? and status = 'running'",
                [landing.utcnow(), self.kind],
            )
            con.execute(
                "insert into raw.sync_runs (run_id, kind, started_at, status) values (?, ?, ?, 'running')",
                [self.run_id, self.kind, landing.utcnow()],
            )
            for aid, sig, deleted in con.execute(
                "select activity_id, stream_signature, deleted_at is not null from raw.activities where source = ?",
                [self.source],
            ).fetchall():
                self.existing[int(aid)] = Existing(sig, bool(deleted))
        except BaseException:
            self._close(publish=False)
            raise
        return self

    def athlete_id(self) -> int | None:
        """The synced athlete's id from raw.athlete (the most recently fetched), if any."""
        row = self.con.execute("select athlete_id from raw.athlete order by fetched_at desc limit 1").fetchone()
        return int(row[0]) if row else None

    def landed_athlete_id(self) -> int | None:
        """The athlete most activities already landed belong to (any source), if any."""
        row = self.con.execute(
            "select athlete_id from raw.activities where athlete_id is not null and athlete_id <> 0 "
            "group by athlete_id order by count(*) desc, athlete_id limit 1"
        ).fetchone()
        return int(row[0]) if row else None

    def most_common_zone(self) -> str | None:
        """The athlete's most frequent IANA zone among landed activities (CONTRACT's ATHLETE_TIMEZONE default)."""
        row = self.con.execute(
            """
            select regexp_extract(json->>'timezone', '\\) (.+)$', 1) as zone, count(*) as n
            from raw.activities
            where deleted_at is null and json->>'timezone' is not null
            group by zone having zone <> '' and zone not like 'Etc/%' and zone not like 'UTC%'
            order by n desc, zone limit 1
            """
        ).fetchone()
        return row[0] if row else None

    def _begin(self) -> None:
        if not self._in_tx:
            self.con.begin()
            self._in_tx = True

    def commit(self) -> None:
        if self._in_tx:
            self.con.commit()
            self._in_tx = False
        self._pending = 0
        self._pending_samples = 0

    def stored_json(self, activity_id: int) -> str | None:
        row = self.con.execute(
            "select json::varchar from raw.activities where source = ? and activity_id = ?",
            [self.source, activity_id],
        ).fetchone()
        return row[0] if row else None

    def land(self, activity: Mapping[str, Any], streams: Mapping[str, list] | None, sig: str,
             keep_stream: bool = False) -> str:
        """Upsert the activity and replace its stream; returns 'new' or 'updated'.

        streams None with keep_stream: the stream already landed (if any) is left alone.
        streams None otherwise: recorded as fetched with no samples (a manual entry).
        """
        aid = int(activity["id"])
        self._begin()
        landing.upsert_activity(self.con, self.source, activity, sig)
        if streams is not None or not keep_stream:
            n = landing.replace_stream(self.con, self.source, aid, streams or {}, sig)
            if n:
                self.summary.streams += 1
                self.summary.samples += n
            self._pending_samples += n
        status = "updated" if aid in self.existing else "new"
        self.existing[aid] = Existing(sig, False)
        self._pending += 1
        if self._pending >= self.batch_activities or self._pending_samples >= self.batch_samples:
            self.commit()
        return status

    def mark_deleted(self, ids: Iterable[int]) -> int:
        ids = list(ids)
        if not ids:
            return 0
        self._begin()
        n = landing.mark_deleted(self.con, self.source, ids)
        for i in ids:
            if i in self.existing:
                self.existing[i].deleted = True
        self.commit()
        return n

    def __exit__(self, exc_type, exc, tb) -> None:
        con = self.con
        try:
            if exc_type is None:
                self.commit()
                status, message = "complete", None
            else:
                if self._in_tx:
                    con.rollback()
                    self._in_tx = False
                status, message = "failed", (str(exc) or exc_type.__name__)[:500]
            self.summary.seconds = time.monotonic() - self._t0
            con.execute(
                "update raw.sync_runs set finished_at = ?, status = ?, summary = ?, message = ? where run_id = ?",
                [landing.utcnow(), status, json.dumps(self.summary.to_json()), message, self.run_id],
            )
        finally:
            self._close(publish=True)

    def _close(self, publish: bool) -> None:
        try:
            if self.con is not None:
                self.con.close()
                self.con = None
                if publish:
                    warehouse.publish_snapshot(self.settings.db_path, self.settings.snapshot_path)
        finally:
            if self._lock is not None:
                self._lock.__exit__(None, None, None)
                self._lock = None
