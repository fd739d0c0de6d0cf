"""Write a Strava-like bulk export zip from a generated sample athlete (`trainsmart demo --export`).

The zip looks like the real thing: `activities.csv` with Strava's real header layout
(94, 99 or 103 columns, five names repeated, the first `Distance` in km, the second in
metres, dates like "Oct 7, 2020, 2:43:11 PM" in UTC, display labels such as "Trail Run"),
`profile.csv`, and one original file per recorded activity under `activities/`: FIT
(written with `fit_writer`, mostly gzipped, as Strava stores uploads), GPX with the Garmin
heart-rate extension, and TCX starting with whitespace before the XML declaration like
Strava's own. Manual entries have no file.

The athlete object is anything with `.athlete` (Strava athlete JSON), `.activities`
(SummaryActivity dicts) and `.streams` (id -> {"time", "heartrate", "distance",
"altitude", optional "latlng"} lists), as `pipelines.sandbox.sample_athlete` generates.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from pipelines.imports.common import FIT_SPORTS, SPORT_LABELS
from pipelines.sandbox.fit_writer import encode_activity

UTC = dt.timezone.utc
EARTH_RADIUS = 6378137.0  # gpxpy's haversine radius, so GPX distances read back exactly
ZIP_TIME = (2024, 1, 1, 0, 0, 0)  # fixed member dates: the same athlete gives the same zip

_BASE = (
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,Distance,"
    "Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,Filename,Athlete Weight,"
    "Bike Weight,Elapsed Time,Moving Time,Distance,Max Speed,Average Speed,Elevation Gain,Elevation Loss,"
    "Elevation Low,Elevation High,Max Grade,Average Grade,Average Positive Grade,Average Negative Grade,"
    "Max Cadence,Average Cadence,Max Heart Rate,Average Heart Rate,Max Watts,Average Watts,Calories,"
    "Max Temperature,Average Temperature,Relative Effort,Total Work,Number of Runs,Uphill Time,"
    "Downhill Time,Other Time,Perceived Exertion,Type,Start Time,Weighted Average Power,Power Count,"
    "Prefer Perceived Exertion,Perceived Relative Effort,Commute,Total Weight Lifted,From Upload,"
    "Grade Adjusted Distance,Weather Observation Time,Weather Condition,Weather Temperature,"
    "Apparent Temperature,Dewpoint,Humidity,Weather Pressure,Wind Speed,Wind Gust,Wind Bearing,"
    "Precipitation Intensity,Sunrise Time,Sunset Time,Moon Phase,Bike,Gear,Precipitation Probability,"
    "Precipitation Type,Cloud Cover,Weather Visibility,UV Index,Weather Ozone,Jump Count,Total Grit,"
    "Average Flow,Flagged,Average Elapsed Speed,Dirt Distance,Newly Explored Distance,"
    "Newly Explored Dirt Distance,Activity Count,Total Steps,Carbon Saved,Pool Length,Training Load,"
    "Intensity,Average Grade Adjusted Pace,Timer Time,Total Cycles"
).split(",")
# Strava's activities.csv layouts over the years (the column set only grows, at the end).
HEADERS: dict[int, list[str]] = {
    94: _BASE + ["Media"],
    99: _BASE + ["Recovery", "With Pet", "Competition", "Long Run", "For a Cause", "Media"],
    103: _BASE + ["Recovery", "With Pet", "Competition", "Long Run", "For a Cause", "With Kid",
                  "Downhill Distance", "Total Sets", "Total Reps", "Media"],
}
FORMATS = ("fit.gz", "fit", "gpx", "gpx.gz", "tcx.gz", "tcx")
PROFILE_HEADER = ["Athlete ID", "Email Address", "First Name", "Last Name", "Sex", "Description", "Weight",
                  "City", "State", "Country"]


def strava_date(value: dt.datetime) -> str:
    """Oct 7, 2020, 2:43:11 PM (UTC), as activities.csv writes Activity Date."""
    value = value.astimezone(UTC)
    hour = value.hour % 12 or 12
    return f"{value:%b} {value.day}, {value.year}, {hour}:{value:%M:%S} {'AM' if value.hour < 12 else 'PM'}"


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def default_format(activity: Mapping[str, Any], has_position: bool) -> str:
    """Mostly gzipped FIT, as in real exports, some GPX and TCX.

    Without positions only FIT is used: GPX cannot hold such a recording, and a TCX
    without positions carries no hint of its time zone (the importer would fall back to
    the athlete's zone, which is right for real files but loses a trip's zone here).
    """
    k = int(activity["id"]) % 20
    if k < 11 or not has_position:
        return "fit" if k == 11 else "fit.gz"
    if k < 12:
        return "fit"
    if k < 14:
        return "gpx"
    if k < 17:
        return "gpx.gz"
    if k < 19:
        return "tcx.gz"
    return "tcx"


# --------------------------------------------------------------------------- positions


def synthetic_track(start: Sequence[float], distance: Sequence[float | None]) -> list[tuple[float, float]]:
    """Positions along a meridian (northward, southward near the pole) matching the distances.

    Along a meridian the haversine distance between two points is exactly R * dlat, so the
    track's length read back from a GPX equals the distance stream.
    """
    lat0, lon0 = float(start[0]), float(start[1])
    sign = -1.0 if lat0 > 60 else 1.0
    out = []
    last = 0.0
    for d in distance:
        if d is not None:
            last = d
        out.append((lat0 + sign * math.degrees(last / EARTH_RADIUS), lon0))
    return out


def _positions(activity: Mapping[str, Any], stream: Mapping[str, Any]) -> list | None:
    if stream.get("latlng"):
        return [tuple(p) if p else None for p in stream["latlng"]]
    start = activity.get("start_latlng")
    if start and len(start) == 2 and stream.get("distance") and not activity.get("trainer"):
        return synthetic_track(start, stream["distance"])
    return None


# --------------------------------------------------------------------------- files


def _fit_sport(sport_type: str) -> tuple[str, str]:
    for (sport, sub), st in FIT_SPORTS.items():
        if st == sport_type:
            return sport, sub or "generic"
    return "generic", "generic"


def _utc_offset(activity: Mapping[str, Any]) -> int:
    local = dt.datetime.fromisoformat(activity["start_date_local"].replace("Z", ""))
    utc = parse_iso(activity["start_date"]).replace(tzinfo=None)
    return int(round((local - utc).total_seconds()))


def fit_file(activity: Mapping[str, Any], stream: Mapping[str, Any], positions) -> bytes:
    sport, sub = _fit_sport(activity.get("sport_type") or activity.get("type") or "Workout")
    return encode_activity(
        start_utc=parse_iso(activity["start_date"]),
        time_s=stream["time"],
        heartrate=stream.get("heartrate"),
        distance_m=stream.get("distance"),
        altitude_m=stream.get("altitude"),
        latlng=positions,
        sport=sport,
        sub_sport=sub,
        local_offset_s=_utc_offset(activity),
        moving_time=activity.get("moving_time"),
        total_ascent=activity.get("total_elevation_gain"),
        manufacturer=1,  # garmin
        product=3113,
        serial_number=3_900_000_000 + int(activity["athlete"]["id"]) % 1_000_000 if activity.get("athlete") else 1,
    )


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


GPX_TYPES = {"Ride": "1", "Hike": "4", "Run": "9", "Walk": "10"}


def gpx_file(activity: Mapping[str, Any], stream: Mapping[str, Any], positions) -> bytes:
    start = parse_iso(activity["start_date"]).timestamp()
    sport_type = activity.get("sport_type") or activity.get("type") or "Workout"
    hr = stream.get("heartrate")
    alt = stream.get("altitude")
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<gpx creator="StravaGPX" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
              'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd '
              'http://www.garmin.com/xmlschemas/GpxExtensions/v3 http://www.garmin.com/xmlschemas/GpxExtensionsv3.xsd '
              'http://www.garmin.com/xmlschemas/TrackPointExtension/v1 '
              'http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd" version="1.1" '
              'xmlns="http://www.topografix.com/GPX/1/1" '
              'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" '
              'xmlns:gpxx="http://www.garmin.com/xmlschemas/GpxExtensions/v3">\n')
    out.write(f" <metadata>\n  <time>{_iso(start)}</time>\n </metadata>\n <trk>\n")
    out.write(f"  <name>{_xml(activity.get('name') or '')}</name>\n")
    out.write(f"  <type>{GPX_TYPES.get(sport_type, sport_type.lower())}</type>\n  <trkseg>\n")
    for i, t in enumerate(stream["time"]):
        p = positions[i] if positions else None
        if p is None:
            continue
        out.write(f'   <trkpt lat="{p[0]:.7f}" lon="{p[1]:.7f}">\n')
        if alt is not None and alt[i] is not None:
            out.write(f"    <ele>{alt[i]:.1f}</ele>\n")
        out.write(f"    <time>{_iso(start + t)}</time>\n")
        if hr is not None and hr[i]:
            out.write("    <extensions>\n     <gpxtpx:TrackPointExtension>\n"
                      f"      <gpxtpx:hr>{int(hr[i])}</gpxtpx:hr>\n"
                      "     </gpxtpx:TrackPointExtension>\n    </extensions>\n")
        out.write("   </trkpt>\n")
    out.write("  </trkseg>\n </trk>\n</gpx>\n")
    return out.getvalue().encode("utf-8")


def tcx_file(activity: Mapping[str, Any], stream: Mapping[str, Any], positions) -> bytes:
    """TCX as Strava writes it: note the whitespace before the XML declaration."""
    start = parse_iso(activity["start_date"]).timestamp()
    sport_type = activity.get("sport_type") or activity.get("type") or "Workout"
    sport = "Running" if sport_type in ("Run", "TrailRun", "VirtualRun") else (
        "Biking" if "Ride" in sport_type else "Other")
    hr = stream.get("heartrate")
    alt = stream.get("altitude")
    dist = stream.get("distance")
    times = stream["time"]
    out = io.StringIO()
    out.write('          <?xml version="1.0" encoding="UTF-8"?>\n'
              '<TrainingCenterDatabase xsi:schemaLocation="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2 '
              'http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd" '
              'xmlns:ns5="http://www.garmin.com/xmlschemas/ActivityGoals/v1" '
              'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2" '
              'xmlns:ns2="http://www.garmin.com/xmlschemas/UserProfile/v2" '
              'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n')
    out.write(f' <Activities>\n  <Activity Sport="{sport}">\n   <Id>{_iso(start)}</Id>\n'
              f'   <Lap StartTime="{_iso(start)}">\n'
              f"    <TotalTimeSeconds>{float(times[-1]):.1f}</TotalTimeSeconds>\n"
              f"    <DistanceMeters>{float(activity.get('distance') or 0):.1f}</DistanceMeters>\n"
              "    <Intensity>Active</Intensity>\n    <TriggerMethod>Manual</TriggerMethod>\n    <Track>\n")
    for i, t in enumerate(times):
        out.write(f"     <Trackpoint>\n      <Time>{_iso(start + t)}</Time>\n")
        p = positions[i] if positions else None
        if p is not None:
            out.write(f"      <Position>\n       <LatitudeDegrees>{p[0]:.7f}</LatitudeDegrees>\n"
                      f"       <LongitudeDegrees>{p[1]:.7f}</LongitudeDegrees>\n      </Position>\n")
        if alt is not None and alt[i] is not None:
            out.write(f"      <AltitudeMeters>{alt[i]:.1f}</AltitudeMeters>\n")
        if dist is not None and dist[i] is not None:
            out.write(f"      <DistanceMeters>{dist[i]:.1f}</DistanceMeters>\n")
        if hr is not None and hr[i]:
            out.write(f"      <HeartRateBpm>\n       <Value>{int(hr[i])}</Value>\n      </HeartRateBpm>\n")
        out.write("     </Trackpoint>\n")
    out.write("    </Track>\n   </Lap>\n   <Creator xsi:type=\"Device_t\">\n    <Name>Strava</Name>\n"
              "   </Creator>\n  </Activity>\n </Activities>\n</TrainingCenterDatabase>\n")
    return out.getvalue().encode("utf-8")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


WRITERS: dict[str, Callable[..., bytes]] = {"fit": fit_file, "gpx": gpx_file, "tcx": tcx_file}


def activity_file(activity: Mapping[str, Any], stream: Mapping[str, Any], fmt: str) -> bytes:
    """The bytes of one activity file in format 'fit', 'fit.gz', 'gpx', 'gpx.gz', 'tcx' or 'tcx.gz'."""
    base = fmt.split(".")[0]
    positions = _positions(activity, stream)
    if base == "gpx" and not positions:
        raise ValueError(f"activity {activity['id']} has no positions: it cannot be written as GPX")
    data = WRITERS[base](activity, stream, positions)
    return gzip.compress(data, compresslevel=6, mtime=0) if fmt.endswith(".gz") else data


# --------------------------------------------------------------------------- activities.csv


def _fmt(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if digits is not None else repr(float(value))


def csv_row(header: Sequence[str], activity: Mapping[str, Any], stream: Mapping[str, Any] | None,
            filename: str) -> list[str]:
    """One activities.csv row in `header`'s layout (repeated names filled by occurrence)."""
    moving = activity.get("moving_time") or 0
    elapsed = activity.get("elapsed_time") or moving
    distance = float(activity.get("distance") or 0.0)
    max_hr = activity.get("max_heartrate")
    avg_hr = activity.get("average_heartrate")
    alts = [a for a in (stream or {}).get("altitude") or [] if a is not None]
    sport_type = activity.get("sport_type") or activity.get("type") or "Workout"
    commute = bool(activity.get("commute"))
    values: dict[tuple[str, int], str] = {
        ("Activity ID", 1): str(activity["id"]),
        ("Activity Date", 1): strava_date(parse_iso(activity["start_date"])),
        ("Activity Name", 1): activity.get("name") or "",
        ("Activity Type", 1): SPORT_LABELS.get(sport_type, sport_type),
        ("Elapsed Time", 1): str(int(elapsed)),
        ("Distance", 1): f"{distance / 1000.0:.2f}",  # display units: km
        ("Max Heart Rate", 1): "" if max_hr is None else str(int(round(max_hr))),
        ("Commute", 1): "true" if commute else "false",
        ("Filename", 1): filename,
        ("Elapsed Time", 2): _fmt(float(elapsed), 1),
        ("Moving Time", 1): _fmt(float(moving), 1),
        ("Distance", 2): _fmt(distance),  # metres
        ("Average Speed", 1): _fmt(distance / moving if moving else 0.0),
        ("Elevation Gain", 1): _fmt(activity.get("total_elevation_gain")),
        ("Elevation Low", 1): _fmt(min(alts), 1) if alts else "",
        ("Elevation High", 1): _fmt(max(alts), 1) if alts else "",
        ("Max Heart Rate", 2): _fmt(max_hr, 1) if max_hr is not None else "",
        ("Average Heart Rate", 1): _fmt(avg_hr) if avg_hr is not None else "",
        ("Commute", 2): "1" if commute else "0",
        ("From Upload", 1): "1.0" if filename else "0.0",
        ("Timer Time", 1): _fmt(float(moving), 1) if len(header) > 87 else "",
    }
    seen: dict[str, int] = {}
    row = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        row.append(values.get((name, seen[name]), ""))
    return row


def timer_only_stream(activity: Mapping[str, Any]) -> dict[str, list] | None:
    """A recorded activity without streams (a watch strength session without a strap) still
    has a file in a real export: records every 10 s carrying only their timestamp."""
    elapsed = int(activity.get("elapsed_time") or activity.get("moving_time") or 0)
    if elapsed <= 0:
        return None
    times = list(range(0, elapsed, 10)) + [elapsed]
    return {"time": times}


# --------------------------------------------------------------------------- the zip


def write_sample_export(
    athlete: Any,
    path: Path | str,
    *,
    columns: int = 99,
    formats: Mapping[int, str | None] | None = None,
) -> Path:
    """Write a Strava-like export zip for a sample athlete and return its path.

    `path` is the zip file, or a folder to write `export_<athlete id>.zip` into.
    `columns` picks the activities.csv layout (94, 99 or 103). `formats` overrides the
    file format per activity id ('fit', 'fit.gz', 'gpx', 'gpx.gz', 'tcx', 'tcx.gz', or None
    for no file).
    """
    header = HEADERS[columns]
    info = athlete.athlete or {}
    athlete_id = int(info.get("id") or 0)
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        path = path / f"export_{athlete_id}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    streams = athlete.streams or {}
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        text = io.StringIO(newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        files = []
        for activity in sorted(athlete.activities, key=lambda a: a["start_date"]):
            aid = int(activity["id"])
            stream = streams.get(aid) or streams.get(str(aid))
            if not (stream and stream.get("time")) and not activity.get("manual"):
                stream = timer_only_stream(activity)
            fmt: str | None
            if not stream or not stream.get("time") or activity.get("manual"):
                fmt = None
            elif formats is not None and aid in formats:
                fmt = formats[aid]
            else:
                fmt = default_format(activity, _positions(activity, stream) is not None)
            # Strava names the file after the upload id, not the activity id.
            upload_id = activity.get("upload_id") or aid + 1_234_567_890
            filename = f"activities/{upload_id}.{fmt}" if fmt else ""
            writer.writerow(csv_row(header, activity, stream, filename))
            if fmt:
                files.append((filename, activity, stream, fmt))
        _write(zf, "activities.csv", text.getvalue().encode("utf-8"))
        profile = io.StringIO(newline="")
        pw = csv.writer(profile, lineterminator="\n")
        pw.writerow(PROFILE_HEADER)
        pw.writerow([athlete_id, "", info.get("firstname", ""), info.get("lastname", ""),
                     {"F": "Female", "M": "Male"}.get(info.get("sex") or "", ""), "", info.get("weight") or "",
                     info.get("city") or "", info.get("state") or "", info.get("country") or ""])
        _write(zf, "profile.csv", profile.getvalue().encode("utf-8"))
        for filename, activity, stream, fmt in files:
            _write(zf, filename, activity_file(activity, stream, fmt), stored=fmt.endswith(".gz"))
    tmp.replace(path)
    return path


def _write(zf: zipfile.ZipFile, name: str, data: bytes, stored: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)
