"""Import a folder of FIT / GPX / TCX files (also .gz) from a watch or another platform.

Source 'files'. There is no CSV to trust here, so the summary values are computed from the
recording itself (see `summarize`). The activity id is derived from the content (a 63-bit
positive integer from a hash of the first samples' absolute times and heart rates), so
the same recording imported again - from the same file or a re-exported copy - is the same
activity.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import Settings
from pipelines.imports.common import (
    SPORT_LABELS,
    ImportInputError,
    ImportRun,
    ImportSummary,
    Progress,
    activity_json,
    crc_of_stream,
    day_part,
    resolve_local_time,
    signature,
    sport_type_from_file,
    streams_dict,
    uses_athlete_zone,
    waiting_notice,
)
from pipelines.imports.parsers import ParsedActivity, file_format
from pipelines.imports.pool import default_jobs, parse_in_order, parse_one

SOURCE = "files"
KIND = "import-files"
MOVING_SPEED = 0.5  # m/s: slower than this between two samples is standing still
MAX_GAP_WITHOUT_DISTANCE = 30  # s: without distance data, a longer gap between samples is a pause
ELEVATION_HYSTERESIS = 1.0  # m: climbs and descents smaller than this are altimeter noise


@dataclass
class FileSummary:
    distance: float
    moving_time: int
    elapsed_time: int
    elevation_gain: float
    average_heartrate: float | None
    max_heartrate: float | None
    moving: list[bool]


def summarize(parsed: ParsedActivity) -> FileSummary:
    """Summary values from the samples.

    - elapsed time: seconds from the start to the last sample.
    - moving time: the sum of the intervals between consecutive samples that count as
      moving: with distance data, those covered at >= 0.5 m/s (so stops, auto-pauses and
      a watch left recording on a bench do not count, and a GPS gap while running does);
      without distance data (indoor, strength), those of at most 30 s (longer gaps are
      pauses in the recording).
    - distance: the largest cumulative distance in the file (device distance for FIT and
      TCX, haversine length of the track for GPX).
    - elevation gain: sum of climbs, ignoring wiggles under 1 m (hysteresis).
    - average / max heart rate: over the samples with a reading (> 0).
    """
    t = parsed.time_s
    d = parsed.distance_m
    n = len(t)
    moving = [False] * n
    moving_time = 0
    for i in range(1, n):
        dt_i = t[i] - t[i - 1]
        if dt_i <= 0:
            moving[i] = moving[i - 1]
            continue
        if d is not None and d[i] is not None and d[i - 1] is not None:
            is_moving = (d[i] - d[i - 1]) / dt_i >= MOVING_SPEED
        else:
            is_moving = dt_i <= MAX_GAP_WITHOUT_DISTANCE
        moving[i] = is_moving
        if is_moving:
            moving_time += dt_i
    if n > 1:
        moving[0] = moving[1]
    distances = [x for x in (d or []) if x is not None]
    hrs = [h for h in parsed.heartrate if h]
    return FileSummary(
        distance=max(distances) if distances else 0.0,
        moving_time=moving_time,
        elapsed_time=t[-1] if t else 0,
        elevation_gain=elevation_gain(parsed.altitude_m or []),
        average_heartrate=sum(hrs) / len(hrs) if hrs else None,
        max_heartrate=float(max(hrs)) if hrs else None,
        moving=moving,
    )


def elevation_gain(altitudes, threshold: float = ELEVATION_HYSTERESIS) -> float:
    gain = 0.0
    ref = None
    for a in altitudes:
        if a is None:
            continue
        if ref is None:
            ref = a
        elif a - ref >= threshold:
            gain += a - ref
            ref = a
        elif ref - a >= threshold:
            ref = a
    return gain


def content_id(parsed: ParsedActivity) -> int:
    """A stable 63-bit positive id: hash of the first samples' absolute times and heart rates."""
    start = int(parsed.start_utc.timestamp())
    head = [(start + t, h or 0) for t, h in zip(parsed.time_s[:10], parsed.heartrate[:10])]
    digest = hashlib.sha256(repr(head).encode()).digest()
    return (int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)) or 1


def _list_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".")]
    return out


def import_files(settings: Settings, folder: Path | str, progress: Progress | None = None, *,
                 jobs: int | None = None, batch_activities: int = 100) -> ImportSummary:
    """Import every FIT / GPX / TCX file (also .gz) under a folder (or one such file), source 'files'.

    Files already imported (same content) are not read again. `progress(done, total, name)`
    is called after each file. `jobs`: parsing processes (default: one per CPU when there
    are many files). Raises ImportInputError (a ValueError) with one plain sentence when
    the path is not usable.
    """
    root = Path(folder).expanduser()
    if not root.exists():
        raise ImportInputError(f"{root} does not exist; give a folder of FIT, GPX or TCX files.")
    if not (root.is_dir() or root.is_file()):
        raise ImportInputError(f"{root} is neither a folder nor a file; give a folder of FIT, GPX or TCX files.")
    files = _list_files(root)
    base_dir = (root if root.is_dir() else root.parent).resolve()
    summary = ImportSummary(KIND, root.name or str(root), total=len(files))
    with ImportRun(settings, KIND, SOURCE, summary, batch_activities=batch_activities,
                   on_wait=waiting_notice(progress, summary.total)) as run:
        _FilesImporter(settings, run, summary, progress, base_dir, jobs).run(files)
    return summary


class _FilesImporter:
    def __init__(self, settings: Settings, run: ImportRun, summary: ImportSummary, progress: Progress | None,
                 base_dir: Path, jobs: int | None):
        self.settings = settings
        self.run_ = run
        self.summary = summary
        self.progress = progress
        self.base_dir = base_dir
        self.jobs = jobs
        self.done = 0
        self.ids_seen: dict[int, str] = {}
        # content signature -> (stored signature, activity id), for files landed before
        self.by_base: dict[str, tuple[str, int]] = {}
        for aid, e in run.existing.items():
            if e.signature and not e.deleted:
                self.by_base[e.signature.split("|", 1)[0]] = (e.signature, aid)

    def _tick(self, name: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, self.summary.total, name)

    def run(self, files: list[Path]) -> None:
        summary = self.summary
        # The synced athlete (raw.athlete), else the athlete of the activities already
        # landed (an export's), else 0: the files carry no athlete.
        self.athlete_id = self.run_.athlete_id() or self.run_.landed_athlete_id() or 0
        summary.athlete_id = self.athlete_id
        todo: list[tuple[str, str]] = []  # (name, content signature)
        later: list[tuple[str, str]] = []
        for path in files:
            name = self._name(path)
            if file_format(path.name) is None:
                summary.skip(name, "not a FIT, GPX or TCX file (by its name); left alone")
                self._tick(name)
                continue
            try:
                with open(path, "rb") as f:
                    base = signature(SOURCE, crc_of_stream(f), self.athlete_id)
            except OSError as e:
                summary.skip(name, f"cannot be read ({e.strerror or e})")
                self._tick(name)
                continue
            stored, stored_id = self.by_base.get(base, (None, None))
            if stored == base:
                self._unchanged(name, stored_id)
            elif stored is not None:
                later.append((name, base))  # landed with the athlete's zone
            else:
                todo.append((name, base))
        jobs = self.jobs if self.jobs is not None else default_jobs(len(todo))
        results = parse_in_order(("dir", str(self.base_dir)), [n for n, _ in todo], jobs)
        try:
            for name, base in todo:
                _, result = next(results)
                if self.process(name, base, result, None) == "defer":
                    later.append((name, base))
                else:
                    self._tick(name)
        finally:
            results.close()  # stops the workers if something went wrong
        if later:
            zone = self.settings.timezone or self.run_.most_common_zone() or "UTC"
            for name, base in later:
                stored, stored_id = self.by_base.get(base, (None, None))
                if stored == f"{base}|tz={zone}":
                    self._unchanged(name, stored_id)
                    continue
                self.process(name, base, parse_one(("dir", str(self.base_dir)), name), zone)
                self._tick(name)

    def _unchanged(self, name: str, activity_id: int | None) -> None:
        self.summary.unchanged += 1
        if activity_id is not None:
            self.ids_seen.setdefault(activity_id, name)
        self._tick(name)

    def _name(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.base_dir).as_posix()
        except ValueError:
            return str(path)

    def process(self, name: str, base: str, result, fallback_zone: str | None) -> str:
        summary, run = self.summary, self.run_
        if not isinstance(result, ParsedActivity):
            summary.skip(name, str(result))
            return "skipped"
        parsed = result
        local = resolve_local_time(parsed.start_utc, fit_offset_s=parsed.local_offset_s,
                                   lat=parsed.first_lat, lon=parsed.first_lon, fallback_zone=fallback_zone)
        if local is None:
            return "defer"  # needs the athlete's zone, known at the end of the run
        aid = content_id(parsed)
        if aid in self.ids_seen:
            summary.skip(name, f"the same recording as {self.ids_seen[aid]}; imported once")
            return "skipped"
        self.ids_seen[aid] = name
        sig = base + (f"|tz={fallback_zone}" if uses_athlete_zone(local) else "")
        facts = summarize(parsed)
        sport_type, trainer = sport_type_from_file(parsed.sport, parsed.sub_sport)
        label = SPORT_LABELS.get(sport_type, sport_type)
        activity = activity_json(
            activity_id=aid,
            athlete_id=self.athlete_id,
            name=parsed.name or f"{day_part(local.start_local)} {label}",
            sport_type=sport_type,
            start_utc=parsed.start_utc,
            local=local,
            distance=facts.distance,
            moving_time=facts.moving_time,
            elapsed_time=facts.elapsed_time,
            total_elevation_gain=facts.elevation_gain,
            average_heartrate=facts.average_heartrate,
            max_heartrate=facts.max_heartrate,
            has_heartrate=facts.average_heartrate is not None,
            manual=False,
            trainer=trainer or sport_type in ("VirtualRide", "VirtualRun", "VirtualRow"),
            commute=False,
            start_latlng=(parsed.first_lat, parsed.first_lon) if parsed.first_lat is not None else None,
            external_id=Path(name).name,
            device_name=parsed.device,
        )
        status = run.land(activity, streams_dict(parsed, facts.moving), sig)
        self.by_base[base] = (sig, aid)
        setattr(summary, status, getattr(summary, status) + 1)
        for note in parsed.notes:
            summary.notes.append(f"{name}: {note}")
        return status
