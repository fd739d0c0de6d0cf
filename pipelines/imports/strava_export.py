"""Import a Strava bulk export (the zip from Settings > My Account > Download your data).

Summary values come from `activities.csv` (Strava's own computed values), the streams
(time, heart rate, distance, altitude) from each activity's original file under
`activities/`. Everything lands in the same raw tables as the API sync, with source
'export'; dbt staging prefers an 'api' row of the same activity id.

    summary = import_export(settings, Path("export_12345.zip"), progress=print_progress)
    print("\n".join(summary.lines()))
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import Settings
from pipelines.imports.common import (
    UTC,
    ImportInputError,
    ImportRun,
    ImportSummary,
    Progress,
    activity_json,
    resolve_local_time,
    signature,
    sport_type_from_file,
    sport_type_from_label,
    streams_dict,
    uses_athlete_zone,
    waiting_notice,
)
from pipelines.imports.parsers import ParsedActivity
from pipelines.imports.pool import default_jobs, parse_in_order, parse_one, release
from pipelines.imports.sources import ExportSource, Member

SOURCE = "export"
KIND = "import-export"
VIRTUAL = {"VirtualRide", "VirtualRun", "VirtualRow"}
DATE_FORMATS = (
    "%b %d, %Y, %I:%M:%S %p",  # Oct 7, 2020, 2:43:11 PM (the usual English export)
    "%b %d, %Y %I:%M:%S %p",
    "%d %b %Y, %H:%M:%S",  # 7 Oct 2020, 14:43:11 (English, UK date order)
    "%d %b %Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
)
REQUIRED = ("Activity ID", "Activity Date")
csv.field_size_limit(16 * 1024 * 1024)  # activity descriptions can be long


@dataclass
class CsvActivity:
    """One row of activities.csv, reduced to what trainsmart lands."""

    line: int
    activity_id: int
    start_utc: dt.datetime
    name: str
    label: str  # Activity Type, as displayed
    elapsed_time: int
    moving_time: int
    distance: float  # metres
    elevation_gain: float
    average_heartrate: float | None
    max_heartrate: float | None
    commute: bool
    filename: str

    def key(self) -> list[Any]:
        """What, from the row, ends up in the landed JSON (for the re-import signature)."""
        return [self.activity_id, self.start_utc.isoformat(), self.name, self.label, self.elapsed_time,
                self.moving_time, self.distance, self.elevation_gain, self.average_heartrate,
                self.max_heartrate, self.commute, self.filename]


# --------------------------------------------------------------------------- activities.csv


def parse_date(text: str) -> dt.datetime:
    text = " ".join(text.split())
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text!r}")


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


class Columns:
    """Header name -> positions; several names repeat, so every occurrence is kept."""

    def __init__(self, header: list[str]):
        self.header = [h.strip() for h in header]
        self.pos: dict[str, list[int]] = {}
        for i, name in enumerate(self.header):
            self.pos.setdefault(name, []).append(i)

    def has(self, name: str) -> bool:
        return name in self.pos

    def cells(self, row: list[str], name: str) -> list[str]:
        return [row[i].strip() if i < len(row) else "" for i in self.pos.get(name, [])]

    def first(self, row: list[str], name: str) -> str:
        cells = self.cells(row, name)
        return cells[0] if cells else ""

    def last_number(self, row: list[str], name: str) -> float | None:
        """The last occurrence that holds a number (the metric/raw one where a name repeats)."""
        for cell in reversed(self.cells(row, name)):
            value = _number(cell)
            if value is not None:
                return value
        return None


def read_activities_csv(raw: io.BufferedIOBase, summary: ImportSummary) -> tuple[list[CsvActivity], set[int]]:
    """Rows of activities.csv, and every activity id it names (unreadable rows included: they
    are listed in the summary and left out, but not taken for deleted)."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportInputError("activities.csv is empty; download the export again.") from None
    cols = Columns(header)
    if not cols.has("Activity ID"):
        found = next((h for h in cols.header if h), "")
        raise ImportInputError(
            f"activities.csv is in a language trainsmart does not support yet (found header {found!r}); "
            "set your Strava display language to English, request a new export and import that one."
        )
    for name in REQUIRED:
        if not cols.has(name):
            raise ImportInputError(f"activities.csv has no {name!r} column; is it a Strava export?")
    distances = len(cols.pos.get("Distance", []))
    rows: list[CsvActivity] = []
    named: set[int] = set()
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        ident = cols.first(row, "Activity ID")
        try:
            activity_id = int(ident)
            if activity_id <= 0:
                raise ValueError
        except ValueError:
            summary.skip(f"activities.csv line {line}", f"no usable Activity ID ({ident!r}); row left out")
            continue
        named.add(activity_id)
        try:
            start = parse_date(cols.first(row, "Activity Date"))
        except ValueError as e:
            summary.skip(f"activities.csv line {line}", f"activity {activity_id}: {e}; row left out")
            continue
        elapsed = cols.last_number(row, "Elapsed Time")
        moving = _number(cols.first(row, "Moving Time"))
        # The first Distance is in the account's display units (km or miles), the second in metres.
        if distances >= 2 and _number(cols.cells(row, "Distance")[-1]) is not None:
            distance = _number(cols.cells(row, "Distance")[-1])
        else:
            km = _number(cols.first(row, "Distance"))
            distance = km * 1000.0 if km is not None else 0.0
        elapsed_i = int(round(elapsed)) if elapsed is not None else int(round(moving or 0))
        moving_i = int(round(moving)) if moving is not None else elapsed_i
        avg_hr = _number(cols.first(row, "Average Heart Rate"))
        max_hr = cols.last_number(row, "Max Heart Rate")
        rows.append(
            CsvActivity(
                line=line,
                activity_id=activity_id,
                start_utc=start,
                name=cols.first(row, "Activity Name"),
                label=cols.first(row, "Activity Type"),
                elapsed_time=elapsed_i,
                moving_time=moving_i,
                distance=float(distance or 0.0),
                elevation_gain=float(_number(cols.first(row, "Elevation Gain")) or 0.0),
                average_heartrate=avg_hr if avg_hr else None,
                max_heartrate=max_hr if max_hr else None,
                commute=any(c.lower() in ("true", "1", "yes") for c in cols.cells(row, "Commute")),
                filename=cols.first(row, "Filename"),
            )
        )
    return rows, named


def _profile_athlete_id(source: ExportSource) -> int | None:
    member = source.member("profile.csv")
    if not isinstance(member, Member):
        return None
    try:
        with source.open("profile.csv") as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=""))
            header = [h.strip() for h in next(reader)]
            row = next(reader)
        return int(row[header.index("Athlete ID")])
    except (StopIteration, ValueError, IndexError, OSError):
        return None


# --------------------------------------------------------------------------- the import


def import_export(settings: Settings, path: Path | str, progress: Progress | None = None, *,
                  jobs: int | None = None, batch_activities: int = 100) -> ImportSummary:
    """Import a Strava bulk export (zip or unpacked folder) into the raw tables, source 'export'.

    Idempotent: an activity whose row and file are unchanged since the last import is not
    read again. `progress(done, total, name)` is called after each activity. `jobs` is the
    number of parsing processes (default: one per CPU when there are many files).
    Raises ImportInputError (a ValueError) with one plain sentence when the path is not a
    usable export.
    """
    path = Path(path).expanduser()
    with ExportSource(path) as source:
        summary = ImportSummary(KIND, source.label)
        summary.refused.extend(source.refused)
        with source.open("activities.csv") as raw:
            rows, named = read_activities_csv(raw, summary)
        summary.total = len(rows)
        try:
            with ImportRun(settings, KIND, SOURCE, summary, batch_activities=batch_activities,
                           on_wait=waiting_notice(progress, summary.total)) as run:
                _Importer(settings, source, run, summary, progress, jobs).run(rows, named)
        finally:
            release()
        return summary


@dataclass
class _Item:
    row: CsvActivity
    member: Member | str | None  # the file, a refusal reason, or None (no file / missing)
    base: str  # signature of the row and file
    prev: str | None  # signature stored by the last import (None: new or deleted since)

    @property
    def has_file(self) -> bool:
        return isinstance(self.member, Member)


class _Importer:
    def __init__(self, settings: Settings, source: ExportSource, run: ImportRun, summary: ImportSummary,
                 progress: Progress | None, jobs: int | None):
        self.settings = settings
        self.source = source
        self.run_ = run
        self.summary = summary
        self.progress = progress
        self.jobs = jobs
        self.done = 0

    def _tick(self, name: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, self.summary.total, name)

    def run(self, rows: list[CsvActivity], named: set[int]) -> None:
        run, summary = self.run_, self.summary
        self.athlete_id = self._athlete_id()
        summary.athlete_id = self.athlete_id

        # 1. What has to be done: unchanged rows are settled here without reading their file.
        seen: set[int] = set()
        todo: list[_Item] = []
        later: list[_Item] = []  # landed with the athlete's zone: settled once that zone is known
        for row in rows:
            if row.activity_id in seen:
                summary.skip(f"activities.csv line {row.line}",
                             f"activity {row.activity_id} appears twice; the first row was used")
                self._tick(row.name)
                continue
            seen.add(row.activity_id)
            member = self.source.member(row.filename) if row.filename else None
            file_part = member.signature if isinstance(member, Member) else (None if member is None else "refused")
            base = signature(SOURCE, row.key(), file_part, self.athlete_id)
            prev = run.existing.get(row.activity_id)
            prev_sig = prev.signature if prev is not None and not prev.deleted else None
            item = _Item(row, member, base, prev_sig)
            if prev_sig == base:
                self._unchanged(item)
            elif prev_sig and prev_sig.startswith(base + "|tz="):
                later.append(item)
            else:
                todo.append(item)

        # 2. Parse (in worker processes when there are many files) and land, in order.
        names = [it.row.filename for it in todo if it.has_file]
        jobs = self.jobs if self.jobs is not None else default_jobs(len(names))
        results = parse_in_order(self._spec(), names, jobs)
        try:
            for item in todo:
                result = next(results)[1] if item.has_file else None
                if self.process(item, result, fallback_zone=None) == "defer":
                    later.append(item)
                else:
                    self._tick(item.row.filename or item.row.name)
        finally:
            results.close()  # stops the workers if something went wrong

        # 3. Activities whose file names no zone get the athlete's: ATHLETE_TIMEZONE, else the
        #    most frequent zone of the landed activities (now including this export's).
        if later:
            zone = self.settings.timezone or run.most_common_zone() or "UTC"
            for item in later:
                if item.prev == f"{item.base}|tz={zone}":
                    self._unchanged(item)
                    continue
                result = parse_one(self._spec(), item.row.filename) if item.has_file else None
                self.process(item, result, fallback_zone=zone)
                self._tick(item.row.filename or item.row.name)
        run.commit()
        self._mark_deleted(rows, named)

    def _spec(self) -> tuple:
        if self.source.zip is not None:
            return ("zip", str(self.source.path), self.source.prefix)
        return ("dir", str(self.source.root))

    def _unchanged(self, item: _Item) -> None:
        self.summary.unchanged += 1
        if not item.row.filename:
            self.summary.manual += 1
        self._tick(item.row.filename or item.row.name)

    def _athlete_id(self) -> int:
        db_id = self.run_.athlete_id()
        profile_id = _profile_athlete_id(self.source)
        name_id = self.source.athlete_id_from_name()
        file_id = profile_id or name_id
        if db_id is not None:
            if file_id is not None and file_id != db_id:
                self.summary.notes.append(
                    f"this export looks like athlete {file_id}'s but the database holds athlete {db_id}; "
                    f"the activities were filed under {db_id}"
                )
            return db_id
        return file_id or self.run_.landed_athlete_id() or 0

    def process(self, item: _Item, result, fallback_zone: str | None) -> str:
        """Land one activity from its row and its parsed file (or the parse failure)."""
        run, summary, row, member = self.run_, self.summary, item.row, item.member
        parsed: ParsedActivity | None = result if isinstance(result, ParsedActivity) else None
        problem: tuple[str, str] | None = None  # (list, reason): reported once the row is landed
        if row.filename:
            if isinstance(member, str):
                problem = ("refused", member + "; activity imported from activities.csv without a stream")
            elif member is None:
                problem = ("skipped", "listed in activities.csv but missing from the export; "
                                      "activity imported without a stream")
            elif parsed is None:
                problem = ("skipped", f"{result}; activity imported from activities.csv without a stream")
        failed = problem is not None
        local = resolve_local_time(
            row.start_utc,
            fit_offset_s=parsed.local_offset_s if parsed else None,
            lat=parsed.first_lat if parsed else None,
            lon=parsed.first_lon if parsed else None,
            fallback_zone=fallback_zone,
        )
        if local is None:
            return "defer"  # needs the athlete's zone, known at the end of the run
        if problem is not None:
            entries = getattr(summary, problem[0])
            entries[:] = [e for e in entries if e[0] != row.filename]  # a refused zip entry is named once
            entries.append((row.filename, problem[1]))
        sig = item.base
        if uses_athlete_zone(local):
            sig += f"|tz={fallback_zone}"
        if failed:
            sig += "|nostream"
        sport_type = sport_type_from_label(row.label)
        file_trainer = sport_type_from_file(parsed.sport, parsed.sub_sport)[1] if parsed else False
        hr_in_stream = bool(parsed) and any(h for h in parsed.heartrate)
        activity = activity_json(
            activity_id=row.activity_id,
            athlete_id=self.athlete_id,
            name=row.name,
            sport_type=sport_type,
            start_utc=row.start_utc,
            local=local,
            distance=row.distance,
            moving_time=row.moving_time,
            elapsed_time=row.elapsed_time,
            total_elevation_gain=row.elevation_gain,
            average_heartrate=row.average_heartrate,
            max_heartrate=row.max_heartrate,
            has_heartrate=bool(row.average_heartrate) or hr_in_stream,
            manual=not row.filename,
            trainer=sport_type in VIRTUAL or file_trainer,
            commute=row.commute,
            start_latlng=(parsed.first_lat, parsed.first_lon) if parsed and parsed.first_lat is not None else None,
            external_id=Path(row.filename).name if row.filename else None,
            device_name=parsed.device if parsed else None,
        )
        if not row.filename:
            summary.manual += 1
        elif failed:
            summary.without_stream += 1
        if item.prev == sig and failed:
            # Same row, same broken file as last time: reported again, nothing written.
            stored = run.stored_json(row.activity_id)
            if stored is not None and json.loads(stored) == activity:
                summary.unchanged += 1
                return "unchanged"
        # manual: recorded as "no stream"; broken file: a stream landed earlier is kept
        streams = streams_dict(parsed) if parsed is not None else None
        status = run.land(activity, streams, sig, keep_stream=failed)
        setattr(summary, status, getattr(summary, status) + 1)
        return status

    def _mark_deleted(self, rows: list[CsvActivity], seen: set[int]) -> None:
        """Export activities landed before but absent now were deleted on Strava.

        Only those that started before the newest activity of this export: an older export
        simply does not know later activities.
        """
        if not rows:
            return
        newest = max(r.start_utc for r in rows)
        gone = [aid for aid, e in self.run_.existing.items() if not e.deleted and aid not in seen]
        if not gone:
            return
        starts = dict(
            self.run_.con.execute(
                "select activity_id, json->>'start_date' from raw.activities "
                "where source = ? and activity_id in (select unnest(?::bigint[]))",
                [SOURCE, gone],
            ).fetchall()
        )
        cutoff = newest.strftime("%Y-%m-%dT%H:%M:%SZ")
        stale = [aid for aid in gone if (starts.get(aid) or "") <= cutoff]
        self.summary.deleted = self.run_.mark_deleted(stale)
