"""Read FIT, GPX and TCX activity files (also gzipped) into one shape: `ParsedActivity`.

Every parser streams: FIT through fitdecode, which decodes message by message; GPX and
TCX through ElementTree's `XMLPullParser`, fed in 64 KiB chunks, with every track point
dropped from the tree as soon as it is read; `.gz` through `gzip.GzipFile`. A file of any
size therefore costs memory for its samples only, never for its bytes or its XML tree.
GPX is read with the pull parser rather than `gpxpy.parse` (which needs the whole
document in memory); gpxpy still does the geometry (its haversine distance) and is the
fallback for time formats `datetime.fromisoformat` does not know.

A parser raises `ParseError` with a short plain reason ("truncated FIT file ...") when a
file cannot be used; callers list it and go on.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import math
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import BinaryIO, Callable, Iterator
from xml.etree.ElementTree import ParseError as XMLParseError
from xml.etree.ElementTree import XMLPullParser

import fitdecode
from gpxpy.geo import haversine_distance
from gpxpy.gpxfield import parse_time as gpxpy_parse_time

UTC = dt.timezone.utc
FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z as a Unix time
FIT_DATETIME_MIN = 0x10000000  # smaller FIT date_time values are "seconds since power-up"
SEMICIRCLE = 180.0 / 2**31
CHUNK = 1 << 16
# A single activity file larger than this (uncompressed) is refused: no real recording
# comes near it (24 h at 1 Hz is ~3 MB of FIT), a decompression bomb does.
MAX_FILE_BYTES = 512 * 1024 * 1024
# The oldest start accepted: before it, a timestamp is a placeholder, not a clock reading.
EARLIEST_START = dt.datetime(1990, 1, 1, tzinfo=UTC)

# name suffix -> (format, gzipped)
SUFFIXES = {
    ".fit": ("fit", False),
    ".fit.gz": ("fit", True),
    ".gpx": ("gpx", False),
    ".gpx.gz": ("gpx", True),
    ".tcx": ("tcx", False),
    ".tcx.gz": ("tcx", True),
}


class ParseError(Exception):
    """The file cannot be used; the message is a short reason for the import summary."""


@dataclass
class ParsedActivity:
    """One recording, whatever the format. Times are whole seconds since `start_utc`."""

    format: str  # 'fit' | 'gpx' | 'tcx'
    start_utc: dt.datetime  # aware, UTC, whole seconds
    time_s: list[int]
    heartrate: list[int | None]
    distance_m: list[float | None] | None  # cumulative metres; None when the file has none
    altitude_m: list[float | None] | None  # None when the file has no elevation at all
    sport: str | None = None  # the file's own label: FIT sport, TCX Sport, GPX <type>
    sub_sport: str | None = None  # FIT only
    local_offset_s: int | None = None  # FIT: local_timestamp - timestamp (activity message)
    first_lat: float | None = None
    first_lon: float | None = None
    name: str | None = None  # GPX track name
    device: str | None = None  # FIT manufacturer, GPX/TCX creator
    points_total: int = 0  # points in the file, timed or not
    points_untimed: int = 0  # points without a time, left out of the samples
    notes: list[str] = field(default_factory=list)  # worth telling the user, not fatal

    @property
    def samples(self) -> int:
        return len(self.time_s)

    @property
    def end_utc(self) -> dt.datetime:
        return self.start_utc + dt.timedelta(seconds=self.time_s[-1] if self.time_s else 0)


# --------------------------------------------------------------------------- opening


def file_format(name: str) -> tuple[str, bool] | None:
    """('fit'|'gpx'|'tcx', gzipped) from a file name, or None for anything else."""
    lower = name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return SUFFIXES[suffix]
    return None


class _Limited(io.RawIOBase):
    """A read-only stream that refuses to deliver more than `limit` bytes."""

    def __init__(self, raw: BinaryIO, limit: int):
        self._raw = raw
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        if len(data) > self._left:
            raise ParseError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB uncompressed")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def open_payload(raw: BinaryIO, gzipped: bool, limit: int = MAX_FILE_BYTES) -> BinaryIO:
    """The decompressed, size-limited byte stream of an activity file."""
    stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    return io.BufferedReader(_Limited(stream, limit), CHUNK)


def parse_stream(raw: BinaryIO, name: str) -> ParsedActivity:
    """Parse an activity file given as a byte stream; `name` tells the format (.fit.gz ...)."""
    kind = file_format(name)
    if kind is None:
        suffix = "".join(PurePosixPath(name).suffixes[-2:]) or "no extension"
        raise ParseError(f"unknown file type ({suffix}); trainsmart reads FIT, GPX and TCX files (also .gz)")
    fmt, gzipped = kind
    stream = open_payload(raw, gzipped)
    try:
        parsed = PARSERS[fmt](stream)
    except ParseError:
        raise
    except (gzip.BadGzipFile, zlib.error) as e:
        raise ParseError(f"corrupt gzip data ({e})") from None
    except EOFError:
        raise ParseError("truncated gzip file (it ends before the end of the compressed data)") from None
    validate(parsed)
    return parsed


def parse_path(path, name: str | None = None) -> ParsedActivity:
    """Parse an activity file on disk."""
    with open(path, "rb") as f:
        return parse_stream(f, name or str(path))


# --------------------------------------------------------------------------- FIT


def parse_fit(stream: BinaryIO) -> ParsedActivity:
    """A FIT activity file via fitdecode (raw values: timestamps as FIT seconds, no datetime objects)."""
    times: list[int] = []
    hr: list[int | None] = []
    dist: list[float | None] = []
    alt: list[float | None] = []
    first_lat = first_lon = None
    lats: list[float | None] = []
    lons: list[float | None] = []
    session_start = None
    sport = sub_sport = None
    local_offset = None
    file_type = None
    manufacturer = None
    any_dist = any_alt = False
    untimed = 0
    reader = fitdecode.FitReader(
        stream,
        processor=fitdecode.DataProcessorBase(),  # keeps timestamps as ints: much faster
        # The CRC is not checked: computing it costs ~10% of the parse, and a damaged file
        # still fails on its structure; a mere checksum slip keeps its (usable) samples.
        check_crc=fitdecode.CrcCheck.DISABLED,
        error_handling=fitdecode.ErrorHandling.IGNORE,  # odd field sizes (Coros) are skipped, not fatal
    )
    try:
        for frame in reader:
            ftype = frame.frame_type
            if ftype != fitdecode.FIT_FRAME_DATA:
                continue
            num = frame.global_mesg_num
            if num == 20:  # record
                ts = lat = lon = h = d = a = ea = None
                for fd in frame.fields:
                    n = fd.name
                    if n == "timestamp":
                        ts = fd.value
                    elif n == "heart_rate":
                        h = fd.value
                    elif n == "distance":
                        d = fd.value
                    elif n == "enhanced_altitude":
                        ea = fd.value
                    elif n == "altitude":
                        a = fd.value
                    elif n == "position_lat":
                        lat = fd.value
                    elif n == "position_long":
                        lon = fd.value
                if ts is None or ts < FIT_DATETIME_MIN:
                    untimed += 1
                    continue
                times.append(ts)
                hr.append(h if h else None)  # 0 is "no reading" on most straps
                if d is not None:
                    any_dist = True
                dist.append(d)
                if ea is None:
                    ea = a
                if ea is not None:
                    any_alt = True
                alt.append(ea)
                if lat is not None and lon is not None:
                    la, lo = lat * SEMICIRCLE, lon * SEMICIRCLE
                    if -90 <= la <= 90 and -180 <= lo <= 180:
                        if first_lat is None:
                            first_lat, first_lon = la, lo
                        lats.append(la)
                        lons.append(lo)
                    else:
                        lats.append(None)
                        lons.append(None)
                else:
                    lats.append(None)
                    lons.append(None)
            elif num == 0:  # file_id
                file_type = frame.get_value("type", fallback=None)
                manufacturer = frame.get_value("manufacturer", fallback=None)
            elif num == 18:  # session
                st = frame.get_value("start_time", fallback=None)
                if isinstance(st, int) and st >= FIT_DATETIME_MIN:
                    session_start = st if session_start is None else min(session_start, st)
                if sport is None:
                    sport = frame.get_value("sport", fallback=None)
                    sub_sport = frame.get_value("sub_sport", fallback=None)
            elif num == 12 and sport is None:  # sport
                sport = frame.get_value("sport", fallback=None)
                sub_sport = frame.get_value("sub_sport", fallback=None)
            elif num == 34:  # activity
                ts = frame.get_value("timestamp", fallback=None)
                local = frame.get_value("local_timestamp", fallback=None)
                if isinstance(ts, int) and isinstance(local, int) and ts >= FIT_DATETIME_MIN:
                    local_offset = local - ts
    except fitdecode.FitHeaderError as e:
        raise ParseError("not a FIT file (corrupt or missing FIT header)") from None
    except fitdecode.FitEOFError:
        raise ParseError("truncated FIT file (it ends in the middle of a message)") from None
    except fitdecode.FitCRCError:
        raise ParseError("corrupt FIT file (checksum mismatch)") from None
    except fitdecode.FitParseError as e:
        raise ParseError(f"corrupt FIT file ({_fit_reason(e)})") from None
    finally:
        reader.close()

    if file_type is not None and _enum_name(file_type, "file") not in ("activity", None):
        raise ParseError(f"a FIT {_enum_name(file_type, 'file')} file, not an activity")
    if not times:
        raise ParseError("no records with a time: nothing to import")
    notes = []
    if untimed:
        notes.append(f"{untimed} records without a valid time left out")
    start = times[0]
    if session_start is not None and times[0] - 3600 <= session_start <= times[0]:
        start = session_start
    if local_offset is not None:
        local_offset = int(round(local_offset / 900.0)) * 900  # devices round to 15 min zones
        if abs(local_offset) > 14 * 3600:
            local_offset = None
    distance = dist if any_dist else (_track_distance(lats, lons) if first_lat is not None else None)
    return ParsedActivity(
        format="fit",
        start_utc=dt.datetime.fromtimestamp(FIT_EPOCH + start, UTC),
        time_s=[t - start for t in times],
        heartrate=hr,
        distance_m=distance,
        altitude_m=alt if any_alt else None,
        sport=_enum_name(sport, "sport"),
        sub_sport=_enum_name(sub_sport, "sub_sport"),
        local_offset_s=local_offset,
        first_lat=first_lat,
        first_lon=first_lon,
        device=_enum_name(manufacturer, "manufacturer"),
        points_total=len(times) + untimed,
        points_untimed=untimed,
        notes=notes,
    )


def _fit_reason(e: Exception) -> str:
    """fitdecode says 'FIT parsing error @ 7471: local message 11 not defined': keep the cause."""
    text = str(e)
    if ": " in text:
        return text.split(": ", 1)[1]
    return text.split(" @ ")[0]


def _enum_name(value, type_name: str) -> str | None:
    """Enum values arrive as ints with DataProcessorBase: name them from the FIT profile."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    enum = fitdecode.profile.FIELD_TYPES[type_name].enum or {}
    return enum.get(value, str(value))


# --------------------------------------------------------------------------- XML (GPX, TCX)


def _xml_events(stream: BinaryIO) -> Iterator[tuple[str, object]]:
    """Stream ('start'|'end', element) events; leading whitespace and BOMs are skipped first.

    Strava's own TCX files start with spaces before `<?xml ...?>`, which any conforming
    parser rejects ("XML declaration not at start"), so they are stripped here.
    """
    parser = XMLPullParser(events=("start", "end"))
    head = True
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if head:
            chunk = chunk.lstrip(b" \t\r\n")
            while chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:].lstrip(b" \t\r\n")
            if not chunk:
                continue
            head = False
        try:
            parser.feed(chunk)
            yield from parser.read_events()
        except XMLParseError as e:
            raise ParseError(f"not valid XML ({e})") from None
    try:
        parser.close()
        yield from parser.read_events()
    except XMLParseError as e:
        raise ParseError(f"not valid XML ({e})") from None
    if head:
        raise ParseError("empty file")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if "}" in tag else tag


def _parse_time(text: str | None) -> float | None:
    """An XML time as a Unix timestamp (float), UTC assumed when no zone is given."""
    if not text:
        return None
    text = text.strip()
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            value = gpxpy_parse_time(text)
        except Exception:
            value = None
        if value is None:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _PointCollector:
    """Accumulates timed points column by column; builds the samples (in time order) at the end."""

    def __init__(self) -> None:
        self.t: list[float] = []
        self.hr: list[int | None] = []
        self.dist: list[float | None] = []
        self.alt: list[float | None] = []
        self.lat: list[float | None] = []
        self.lon: list[float | None] = []
        self.total = 0
        self.untimed = 0
        self.first_lat: float | None = None
        self.first_lon: float | None = None

    def add(self, t, hr, dist, alt, lat, lon) -> None:
        self.total += 1
        if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            lat = lon = None
        if t is None:
            self.untimed += 1
            return
        if lat is not None and self.first_lat is None:
            self.first_lat, self.first_lon = lat, lon
        self.t.append(t)
        self.hr.append(hr)
        self.dist.append(dist)
        self.alt.append(alt)
        self.lat.append(lat if lon is not None else None)
        self.lon.append(lon if lat is not None else None)

    def build(self, fmt: str, start_hint: float | None = None, **extra) -> ParsedActivity:
        t = self.t
        n = len(t)
        if not n:
            if self.total:
                raise ParseError(f"none of its {self.total} track points has a time")
            raise ParseError("no track points (a route or waypoints only?)")
        if self.total >= 20 and n < 0.1 * self.total:
            raise ParseError(
                f"only {n} of its {self.total} track points have a time; the track cannot be placed in time"
            )
        columns = [t, self.hr, self.dist, self.alt, self.lat, self.lon]
        if any(t[i] < t[i - 1] for i in range(1, n)):
            order = sorted(range(n), key=t.__getitem__)
            columns = [[c[i] for i in order] for c in columns]
        t, hr, file_dist, alts, lats, lons = columns
        self.t = self.hr = self.dist = self.alt = self.lat = self.lon = []
        first = t[0]
        start = math.floor(first)
        if start_hint is not None and first - 3600 <= start_hint <= first:
            start = math.floor(start_hint)
        times = [int(round(x - start)) for x in t]
        del t
        if any(d is not None for d in file_dist):
            distance: list[float | None] | None = file_dist
        elif self.first_lat is not None:
            distance = _track_distance(lats, lons)
        else:
            distance = None
        del lats, lons
        notes = list(extra.pop("notes", []))
        if self.untimed:
            notes.append(f"{self.untimed} of {self.total} track points have no time and were left out")
        return ParsedActivity(
            format=fmt,
            start_utc=dt.datetime.fromtimestamp(start, UTC),
            time_s=times,
            heartrate=hr,
            distance_m=distance,
            altitude_m=alts if any(a is not None for a in alts) else None,
            first_lat=self.first_lat,
            first_lon=self.first_lon,
            points_total=self.total,
            points_untimed=self.untimed,
            notes=notes,
            **extra,
        )


def _track_distance(lats: list[float | None], lons: list[float | None]) -> list[float | None]:
    """Cumulative haversine distance along the points that have a position (gpxpy's geometry)."""
    out: list[float | None] = []
    total = 0.0
    prev = None
    for la, lo in zip(lats, lons):
        if la is None or lo is None:
            out.append(total if prev is not None else None)
            continue
        if prev is not None:
            total += haversine_distance(prev[0], prev[1], la, lo)
        prev = (la, lo)
        out.append(total)
    return out


def parse_gpx(stream: BinaryIO) -> ParsedActivity:
    """A GPX 1.0/1.1 track: every <trkpt> of every <trk>/<trkseg>, in time order.

    Heart rate comes from the Garmin TrackPointExtension (`gpxtpx:hr`) or any extension
    element named `hr`/`heartrate`. Distance is the haversine length along the points.
    """
    col = _PointCollector()
    stack: list = []
    root_seen = False
    name = sport = creator = None
    meta_time = None
    for event, elem in _xml_events(stream):
        if event == "start":
            if not root_seen:
                root_seen = True
                if _local(elem.tag) != "gpx":
                    raise ParseError(f"not a GPX file (its root element is <{_local(elem.tag)}>)")
                creator = elem.get("creator")
            stack.append(elem)
            continue
        stack.pop()
        tag = _local(elem.tag)
        parent = _local(stack[-1].tag) if stack else None
        if tag == "trkpt":
            t = hr = ele = None
            for child in elem.iter():
                ctag = _local(child.tag)
                if ctag == "time":
                    t = _parse_time(child.text)
                elif ctag == "ele":
                    ele = _float(child.text)
                elif ctag in ("hr", "heartrate") and child.text:
                    value = _float(child.text)
                    hr = int(round(value)) if value else None
            col.add(t, hr, None, ele, _float(elem.get("lat")), _float(elem.get("lon")))
            stack[-1].remove(elem)
        elif tag in ("wpt", "rte"):
            stack[-1].remove(elem)
        elif tag == "name" and parent == "trk" and name is None:
            name = (elem.text or "").strip() or None
        elif tag == "type" and parent == "trk" and sport is None:
            sport = (elem.text or "").strip() or None
        elif tag == "time" and parent in ("metadata", "gpx"):
            meta_time = _parse_time(elem.text)
    if not root_seen:
        raise ParseError("not valid XML (no root element)")
    return col.build("gpx", start_hint=meta_time, name=name, sport=sport, device=creator)


def parse_tcx(stream: BinaryIO) -> ParsedActivity:
    """A TCX (Garmin Training Center) file: the trackpoints of its first <Activity>."""
    col = _PointCollector()
    stack: list = []
    root_seen = False
    sport = start_id = creator = None
    activities = 0
    for event, elem in _xml_events(stream):
        if event == "start":
            if not root_seen:
                root_seen = True
                if _local(elem.tag) != "TrainingCenterDatabase":
                    raise ParseError(f"not a TCX file (its root element is <{_local(elem.tag)}>)")
            if _local(elem.tag) == "Activity":
                activities += 1
                if activities == 1:
                    sport = elem.get("Sport")
            stack.append(elem)
            continue
        stack.pop()
        tag = _local(elem.tag)
        if tag == "Trackpoint":
            if activities == 1:
                t = hr = ele = dist = lat = lon = None
                for child in elem.iter():
                    ctag = _local(child.tag)
                    if ctag == "Time":
                        t = _parse_time(child.text)
                    elif ctag == "AltitudeMeters":
                        ele = _float(child.text)
                    elif ctag == "DistanceMeters":
                        dist = _float(child.text)
                    elif ctag == "LatitudeDegrees":
                        lat = _float(child.text)
                    elif ctag == "LongitudeDegrees":
                        lon = _float(child.text)
                    elif ctag == "Value" and hr is None:  # HeartRateBpm/Value
                        value = _float(child.text)
                        hr = int(round(value)) if value else None
                col.add(t, hr, dist, ele, lat, lon)
            if stack:
                stack[-1].remove(elem)
        elif tag == "Id" and stack and _local(stack[-1].tag) == "Activity" and activities == 1:
            start_id = _parse_time(elem.text)
        elif tag == "Name" and stack and _local(stack[-1].tag) == "Creator" and creator is None:
            creator = (elem.text or "").strip() or None
        elif tag == "Activity" and stack:
            stack[-1].remove(elem)
    if not root_seen:
        raise ParseError("not valid XML (no root element)")
    notes = [f"the file holds {activities} activities; only the first was read"] if activities > 1 else []
    return col.build("tcx", start_hint=start_id, sport=sport, device=creator, notes=notes)


PARSERS: dict[str, Callable[[BinaryIO], ParsedActivity]] = {"fit": parse_fit, "gpx": parse_gpx, "tcx": parse_tcx}


# --------------------------------------------------------------------------- checks


def validate(parsed: ParsedActivity) -> None:
    """Refuse recordings whose clock cannot be trusted (they would land on a wrong date)."""
    start = parsed.start_utc
    if start < EARLIEST_START:
        raise ParseError(
            f"its timestamps say {start:%Y-%m-%d %H:%M:%S} UTC, before GPS watches existed: "
            "the device had no valid clock"
        )
    if start > dt.datetime.now(UTC) + dt.timedelta(days=2):
        raise ParseError(f"its timestamps are in the future ({start:%Y-%m-%d %H:%M} UTC)")
    if parsed.time_s[-1] > 7 * 86400:
        raise ParseError(f"it spans {parsed.time_s[-1] / 86400:.0f} days: not one activity")
