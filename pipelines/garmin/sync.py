"""One athlete's Garmin Connect data into the raw tables: incremental, resumable, paced.

- **Activities** land in raw.activities (source 'garmin', Garmin's JSON as sent). The
  list is offset-paged newest first within a date window (GARMIN.md), `PAGE_LIMIT` a page:
  - incremental: from the newest landed start minus the look-back window (as Strava's);
  - reconciliation (first sync, `--full`, or every `reconcile_days`): the whole history.
  Every page is committed together with the listing's progress (offset and the ids listed
  so far), so a killed run resumes at that page. When the listing is complete, a landed
  activity inside the window that Garmin no longer lists is marked deleted.
- **Streams**: the original FIT file of each activity with heart rate, downloaded once per
  version of the activity, parsed by the importers' FIT parser into raw.streams.
- **Wellness** (HRV, sleep, daily summaries) lands per calendar day in raw.garmin_wellness.
  The history goes back to `BASELINE_DAYS` before the athlete's first activity (the
  readiness baselines look 60 days back), fetched in chunks of each endpoint's longest
  range; after that each night re-reads only the last `REREAD_DAYS` days, which Garmin
  revises. Each chunk replaces its days and is committed with the progress.

"Today" is the as-of date (TRAINSMART_AS_OF, else the local date), so a test or a
back-dated run moves the sync's clock with the models'.

A roster athlete (club deployment, `athlete=`) has a Garmin account of their own: the key
from their `garmin_key_file`, the token cache and the FIT staging folder under
TRAINSMART_HOME/athletes/KEY/, every sync_state key prefixed `athlete/KEY/`, and every
query that decides work or deletions restricted to their Garmin owner id (raw.activities
.athlete_id of source 'garmin', raw.garmin_wellness.owner_id), so one athlete's run never
lists, deletes or downloads another's. Without `athlete`: the one athlete of the
environment, as always.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from pipelines import landing
from pipelines.config import Settings
from pipelines.errors import SyncStopped
from pipelines.garmin.api import BadDownload, GarminApi, NotFound
from pipelines.garmin.errors import KEY_PAGE, GarminError
from pipelines.garmin.tokens import TokenCache
from pipelines.roster import Athlete
from pipelines.sync_run import SyncCounts
from pipelines.sync_state import clear_state, get_state, set_state, state_key
from pipelines.warehouse import transaction

SOURCE = "garmin"
PAGE_LIMIT = 40  # Garmin answers 500 above about 45
ACTIVITIES_PATH = "/activitylist-service/activities/search/activities"
PROFILE_PATH = "/userprofile-service/userprofile/settings"
BASELINE_DAYS = 60  # METRICS.md section 7: the baselines use d-60..d-1
REREAD_DAYS = 7  # Garmin revises recent days
# kind -> (longest range in days, GARMIN.md)
WELLNESS_CHUNK_DAYS = {"hrv": 365, "sleep": 31, "daily_summary": 31}
FILES_PER_BATCH = 100  # downloaded, then parsed on every core, then landed
SIGNATURE_FIELDS = ("startTimeGMT", "duration", "elapsedDuration", "distance", "averageHR")

Progress = Callable[[str], None]


@dataclass
class GarminSyncResult(SyncCounts):
    files_fetched: int = 0
    stream_samples: int = 0
    files_left: int = 0
    files_unreadable: list[str] = field(default_factory=list)
    wellness_requests: int = 0
    wellness_days: dict = field(default_factory=dict)  # kind -> days landed this run
    last_wellness_day: str | None = None


# Garmin activities with heart rate whose FIT file was never parsed, or parsed for an older version.
FILES_TODO = """
    from raw.activities a
    left join raw.stream_fetches f on f.source = a.source and f.activity_id = a.activity_id
    where a.source = 'garmin' and a.deleted_at is null
      and a.json->>'averageHR' is not null
      and (f.activity_id is null or f.stream_signature is distinct from a.stream_signature)
      and ($owner::bigint is null or a.athlete_id = $owner)
"""


def files_left(con: duckdb.DuckDBPyConnection, owner_id: int | None = None) -> int:
    """How many FIT files the next Garmin sync still has to download (the sync and `status`);
    with `owner_id`, of that Garmin account only."""
    return con.execute("select count(*) " + FILES_TODO, {"owner": owner_id}).fetchone()[0]


def roster_owner_id(con: duckdb.DuckDBPyConnection, athlete: Athlete) -> int | None:
    """The Garmin owner id a roster athlete's sync has learned (None before their first sync)."""
    owner = get_state(con, state_key(athlete.key, "garmin_owner_id"))
    return int(owner) if owner is not None else None


def athlete_key(settings: Settings, athlete: Athlete) -> str:
    """A roster athlete's Personal API key, read from their garmin_key_file (one plain sentence if not)."""
    if not athlete.garmin_key_file:
        raise GarminError(f"Athlete {athlete.key} has no garmin_key_file in the roster: add the path of a file "
                          "holding their Garmin Personal API key.")
    path = Path(athlete.garmin_key_file).expanduser()
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        raise GarminError(f"The Garmin key file of athlete {athlete.key}, {path}, does not exist: create a key at "
                          f"{KEY_PAGE} and write it to that file.") from None
    except OSError as e:
        raise GarminError(f"The Garmin key file of athlete {athlete.key}, {path}, cannot be read "
                          f"({e.strerror or e}).") from None
    if not key:
        raise GarminError(f"The Garmin key file of athlete {athlete.key}, {path}, is empty: create a key at "
                          f"{KEY_PAGE} and write it to that file.")
    return key


def signature(activity: dict) -> str:
    return landing.stream_signature(activity, SIGNATURE_FIELDS)


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(str(text)[:10])


def _chunks(start: dt.date, end: dt.date, days: int) -> list[tuple[dt.date, dt.date]]:
    out = []
    while start <= end:
        stop = min(end, start + dt.timedelta(days=days - 1))
        out.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return out


class GarminSync:
    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, *, full: bool = False,
                 lookback_days: int = 7, reconcile_days: int = 7, progress: Progress | None = None,
                 api: GarminApi | None = None, today: dt.date | None = None, athlete: Athlete | None = None):
        self.con = con
        # A roster athlete (club deployment): their own key, token, staging, sync state and
        # rows. None: the one athlete of the environment.
        self.athlete = athlete
        self.full = full
        self.lookback_days = lookback_days
        self.reconcile_days = reconcile_days
        self.progress = progress or (lambda msg: None)
        self.today = today or settings.as_of_date()
        home = athlete.home(settings) if athlete else settings.home
        self.staging = home / "garmin" / "downloads"  # FIT files downloaded, not yet landed
        self.result = GarminSyncResult()
        owner = get_state(con, self._key("garmin_owner_id"))  # known from an earlier run; _owner() asks otherwise
        self.owner_id: int | None = int(owner) if owner is not None else None
        if api is None:
            if athlete is not None:
                api = GarminApi(settings.garmin_base_url, athlete_key(settings, athlete),
                                TokenCache(home / "garmin_token.json"), key_owner=f"{athlete.key}'s",
                                key_place=str(Path(athlete.garmin_key_file).expanduser()))
            else:
                key = settings.garmin_key()
                if key is None:
                    raise GarminError("No Garmin Personal API key: set GARMIN_PERSONAL_API_KEY or write the key "
                                      f"to {settings.garmin_key_file}.")
                api = GarminApi(settings.garmin_base_url, key, TokenCache(settings.garmin_token_file))
        self.api = api

    def _key(self, name: str) -> str:
        return state_key(self.athlete.key if self.athlete else None, name)

    def _scope(self) -> int | None | bool:
        """The owner id the queries are restricted to: None = every row (the environment's
        athlete); False = nothing (a roster athlete whose Garmin account is not known yet)."""
        if self.athlete is None:
            return None
        return self.owner_id if self.owner_id is not None else False

    def _files_left(self) -> int:
        scope = self._scope()
        return 0 if scope is False else files_left(self.con, scope)

    # -- the run ---------------------------------------------------------------------
    def run(self) -> GarminSyncResult:
        try:
            self._respect_earlier_retry_after()
            self._owner()
            self._listing()
            self._files()
            self._wellness()
        except SyncStopped as stop:
            self.result.complete = False
            self.result.message = str(stop)
            if self.api.not_before_wall is not None:  # the next run waits too, even in another process
                with transaction(self.con):
                    set_state(self.con, self._key("garmin_not_before"), self.api.not_before_wall)
        finally:
            self.result.requests = self.api.requests_sent
            self.result.files_left = self._files_left()
            self.result.last_wellness_day = self._last_wellness_day()
        if self.result.complete:
            self.result.message = "Garmin sync complete"
        else:
            left = [f"{self.result.files_left} FIT files"]
            if get_state(self.con, self._key("garmin_listing")):
                left.append("the rest of the activity list")
            if self._wellness_todo():
                left.append("wellness days")
            self.result.message += f"; {' and '.join(left)} left for the next run"
        return self.result

    def _last_wellness_day(self) -> str | None:
        scope = self._scope()
        if scope is False:
            return None
        return self.con.execute("select cast(max(calendar_date) as varchar) from raw.garmin_wellness "
                                "where ?::bigint is null or owner_id = ?", [scope, scope]).fetchone()[0]

    def _respect_earlier_retry_after(self) -> None:
        not_before = get_state(self.con, self._key("garmin_not_before"))
        if not_before is not None and time.time() < not_before:
            until = dt.datetime.fromtimestamp(not_before).astimezone()
            raise SyncStopped(f"Garmin asked to wait until {until:%H:%M} before the next request; nothing was sent")

    def _owner(self) -> None:
        """The Garmin account's id (userProfilePk), asked once and remembered. A profile without
        an id leaves it to the data: the activities' ownerId, the wellness userProfilePk."""
        owner = get_state(self.con, self._key("garmin_owner_id"))
        if owner is None:
            try:
                profile = self.api.get_json(PROFILE_PATH, what="the user profile") or {}
            except NotFound:
                profile = {}
            owner = profile.get("id") or profile.get("userProfilePk") or profile.get("profileId")
            if owner is not None:
                with transaction(self.con):
                    set_state(self.con, self._key("garmin_owner_id"), int(owner))
        self.owner_id = int(owner) if owner is not None else None

    def _learn_owner(self, value: Any) -> None:
        if self.owner_id is None and value is not None:
            self.owner_id = int(value)
            set_state(self.con, self._key("garmin_owner_id"), self.owner_id)

    def _known_owner(self) -> int:
        if self.owner_id is None:
            raise GarminError("Garmin did not say whose data this is (no id in the user profile, no owner in the "
                              "activities or the HRV); check GARMIN_PERSONAL_API_BASE_URL.")
        return self.owner_id

    # -- activities -----------------------------------------------------------------------
    def _reconcile_due(self) -> bool:
        last = get_state(self.con, self._key("garmin_last_full_listing_at"))
        return last is None or (self.today - _day(last)).days >= self.reconcile_days

    def _listing(self) -> None:
        listing = get_state(self.con, self._key("garmin_listing"))  # an unfinished listing resumes
        if listing is None or (self.full and listing.get("start_date") is not None):
            start_date = None  # the whole history
            scope = self._scope()
            if not (self.full or self._reconcile_due()) and scope is not False:
                newest = self.con.execute(
                    "select max(json->>'startTimeLocal') from raw.activities where source = ? and deleted_at is null "
                    "and (?::bigint is null or athlete_id = ?)", [SOURCE, scope, scope]).fetchone()[0]
                if newest is not None:
                    start_date = (_day(newest) - dt.timedelta(days=self.lookback_days)).isoformat()
            listing = {"start_date": start_date, "end_date": self.today.isoformat(), "offset": 0, "listed": []}
            with transaction(self.con):
                set_state(self.con, self._key("garmin_listing"), listing)
        self.result.reconciled = listing["start_date"] is None
        listed = set(listing["listed"])
        while True:
            params = {"start": listing["offset"], "limit": PAGE_LIMIT, "endDate": listing["end_date"]}
            if listing["start_date"] is not None:
                params["startDate"] = listing["start_date"]
            page = self.api.get_json(ACTIVITIES_PATH, params, what="the activity list") or []
            self.result.pages += 1
            with transaction(self.con):
                self._land(page)
                listed.update(int(a["activityId"]) for a in page)
                if len(page) < PAGE_LIMIT:
                    self._mark_missing(listing, listed)
                    clear_state(self.con, self._key("garmin_listing"))
                    if listing["start_date"] is None:
                        set_state(self.con, self._key("garmin_last_full_listing_at"), self.today.isoformat())
                else:
                    listing = {**listing, "offset": listing["offset"] + len(page), "listed": sorted(listed)}
                    set_state(self.con, self._key("garmin_listing"), listing)
            if len(page) < PAGE_LIMIT:
                self.progress(f"Garmin activity list complete: {self.result.pages} pages")
                return
            self.progress(f"Garmin page {self.result.pages}: {len(page)} activities back to "
                          f"{str(page[-1].get('startTimeLocal', ''))[:10]}")

    def _land(self, page: list[dict]) -> None:
        """Land a page in one upsert, counting new, updated and unchanged activities."""
        ids = [int(a["activityId"]) for a in page]
        seen = landing.compare_with_landed(self.con, SOURCE, page, ids)
        self.result.activities_new += seen.new
        self.result.activities_updated += seen.updated
        self.result.activities_unchanged += seen.unchanged
        changed, owners = [page[i] for i in seen.changed], []
        for activity in changed:
            self._learn_owner(activity.get("ownerId"))
            owner = activity.get("ownerId", self.owner_id)
            if owner is None and self.athlete is not None:
                owner = self._known_owner()  # a roster athlete's rows always say whose they are
            owners.append(int(owner) if owner is not None else None)
        landing.upsert_activities(self.con, SOURCE, changed, [signature(a) for a in changed],
                                  activity_ids=[ids[i] for i in seen.changed], athlete_ids=owners)

    def _mark_missing(self, listing: dict, listed: set[int]) -> None:
        """Landed activities inside the listed window that Garmin no longer lists are deleted upstream
        (a roster athlete: only their own account's activities)."""
        scope = self._scope()
        if scope is False:
            return  # nothing landed is known to be this athlete's
        ids = [r[0] for r in self.con.execute(
            """
            select activity_id from raw.activities
            where source = ? and deleted_at is null
              and (? is null or left(json->>'startTimeLocal', 10) >= ?)
              and left(json->>'startTimeLocal', 10) <= ?
              and activity_id not in (select unnest(?::bigint[]))
              and (?::bigint is null or athlete_id = ?)
            """, [SOURCE, listing["start_date"], listing["start_date"], listing["end_date"], sorted(listed),
                  scope, scope]).fetchall()]
        if ids:
            landing.mark_deleted(self.con, SOURCE, ids)
            self.result.deleted += len(ids)
            self.progress(f"{len(ids)} activities deleted on Garmin")

    # -- FIT files ------------------------------------------------------------------------
    def _files(self) -> None:
        """Download (one at a time) into a staging folder, parse in worker processes, land.

        fitdecode, not the network, bounds this step (about 0.1 s a file on one core), so
        each batch of downloads is parsed by the importers' pool on every core. A file stays
        in the staging folder until its samples are committed: a killed run never downloads
        it again."""
        from pipelines.imports.pool import default_jobs, parse_in_order

        scope = self._scope()
        todo = [] if scope is False else self.con.execute(
            "select a.activity_id, a.stream_signature " + FILES_TODO + " order by a.json->>'startTimeGMT', a.activity_id",
            {"owner": scope}).fetchall()
        self.staging.mkdir(parents=True, exist_ok=True)
        done = 0
        for first in range(0, len(todo), FILES_PER_BATCH):
            batch, stopped = [], None
            for activity_id, sig in todo[first:first + FILES_PER_BATCH]:
                path = self.staging / f"{activity_id}-{sig}.fit"
                if not path.exists():
                    try:
                        data = self.api.get_fit_file(activity_id)
                    except NotFound:
                        self._file_not_found(activity_id, sig)
                        continue
                    except BadDownload as e:
                        with transaction(self.con):
                            self._land_stream(activity_id, sig, None, f"the download is not a FIT file ({e})")
                        continue
                    except SyncStopped as stop:
                        stopped = stop  # land what is downloaded, then stop
                        break
                    tmp = path.with_suffix(".part")
                    tmp.write_bytes(data)
                    tmp.replace(path)
                    self.result.files_fetched += 1
                batch.append((activity_id, sig, path))
            names = [path.name for _, _, path in batch]
            results = parse_in_order(("dir", str(self.staging)), names, jobs=default_jobs(len(names)))
            with transaction(self.con):  # one commit per batch; the files go once it is committed
                for (activity_id, sig, path), (_, parsed) in zip(batch, results):
                    if isinstance(parsed, Exception):
                        self._land_stream(activity_id, sig, None, str(parsed))
                    else:
                        self._land_stream(activity_id, sig, _fit_streams(parsed))
            for _, _, path in batch:
                path.unlink(missing_ok=True)
            done += len(batch)
            self.progress(f"Garmin FIT files {done}/{len(todo)}")
            if stopped is not None:
                raise stopped

    def _land_stream(self, activity_id: int, sig: str, streams: dict | None, problem: str | None = None) -> None:
        if problem is not None:
            # a broken file is skipped and named; the activity keeps its summary values
            self.result.files_unreadable.append(f"activity {activity_id}: {problem}")
            self.progress(f"the FIT file of Garmin activity {activity_id} is unreadable ({problem}); "
                          "landed without a stream")
        self.result.stream_samples += landing.replace_stream(self.con, SOURCE, activity_id, streams or {}, sig)

    def _file_not_found(self, activity_id: int, sig: str) -> None:
        """No file: either the activity is gone (mark it deleted) or it has none (remember that)."""
        try:
            self.api.get_json(f"/activity-service/activity/{activity_id}", what=f"activity {activity_id}")
        except NotFound:
            with transaction(self.con):
                landing.mark_deleted(self.con, SOURCE, [activity_id])
            self.result.deleted += 1
            return
        with transaction(self.con):
            landing.replace_stream(self.con, SOURCE, activity_id, {}, sig)

    # -- wellness -------------------------------------------------------------------------
    def _history_start(self) -> dt.date:
        """BASELINE_DAYS before the athlete's first activity from any source (a roster athlete:
        their Garmin account's and their Strava athlete's activities)."""
        scope = self._scope()
        strava = self.athlete.strava_athlete_id if self.athlete else None
        first = self.con.execute(
            "select min(left(coalesce(json->>'start_date_local', json->>'startTimeLocal'), 10)) "
            "from raw.activities where deleted_at is null and ($all or (source = 'garmin' and athlete_id = $owner) "
            "or (source <> 'garmin' and athlete_id = $strava))",
            {"all": self.athlete is None, "owner": scope if scope is not False else None,
             "strava": strava}).fetchone()[0]
        first_day = _day(first) if first else self.today
        return min(first_day, self.today) - dt.timedelta(days=BASELINE_DAYS)

    def _wellness_ranges(self, kind: str) -> list[tuple[dt.date, dt.date]]:
        days = WELLNESS_CHUNK_DAYS[kind]
        start = self._history_start()
        state = (get_state(self.con, self._key("garmin_wellness")) or {}).get(kind)
        if state is None:
            return _chunks(start, self.today, days)
        done_from, done_through = _day(state["from"]), _day(state["through"])
        ranges = _chunks(start, done_from - dt.timedelta(days=1), days) if start < done_from else []
        reread = max(done_from, min(done_through + dt.timedelta(days=1), self.today - dt.timedelta(days=REREAD_DAYS - 1)))
        return ranges + _chunks(reread, self.today, days)

    def _wellness_todo(self) -> bool:
        state = get_state(self.con, self._key("garmin_wellness")) or {}
        return any(kind not in state or _day(state[kind]["through"]) < self.today for kind in WELLNESS_CHUNK_DAYS)

    def _wellness(self) -> None:
        for kind in WELLNESS_CHUNK_DAYS:
            for start, end in self._wellness_ranges(kind):
                records = self._fetch_wellness(kind, start, end)
                self.result.wellness_requests += 1
                with transaction(self.con):
                    self.con.execute(
                        "delete from raw.garmin_wellness where owner_id = ? and kind = ? and calendar_date between ? and ?",
                        [self.owner_id, kind, start, end])
                    rows = [(owner, day, json.dumps(obj, separators=(",", ":"))) for day, owner, obj in records
                            if start <= day <= end]
                    if rows:
                        owners, days, bodies = (list(col) for col in zip(*rows))
                        self.con.execute(
                            "insert or replace into raw.garmin_wellness "
                            "select unnest(?::bigint[]), ?, unnest(?::date[]), unnest(?::json[]), ?",
                            [owners, kind, days, bodies, landing.utcnow()])
                    progress = get_state(self.con, self._key("garmin_wellness")) or {}
                    done = progress.get(kind)
                    if done is None:
                        done = {"from": start.isoformat(), "through": end.isoformat()}
                    else:
                        done = {"from": min(done["from"], start.isoformat()), "through": max(done["through"], end.isoformat())}
                    progress[kind] = done
                    set_state(self.con, self._key("garmin_wellness"), progress)
                self.result.wellness_days[kind] = self.result.wellness_days.get(kind, 0) + len(records)
            self.progress(f"Garmin {kind.replace('_', ' ')} landed through {self.today}")

    def _fetch_wellness(self, kind: str, start: dt.date, end: dt.date) -> list[tuple[dt.date, int, dict]]:
        """(calendar day, owner id, the day's object) for the days of the range that hold data."""
        what = f"the {kind.replace('_', ' ')} of {start}..{end}"
        if kind == "hrv":
            body = self.api.get_json(f"/hrv-service/hrv/daily/{start}/{end}", what=what) or {}
            self._learn_owner(body.get("userProfilePk"))
            owner = int(body.get("userProfilePk") or self._known_owner())
            return [(_day(o["calendarDate"]), owner, o) for o in body.get("hrvSummaries") or [] if o.get("calendarDate")]
        if kind == "sleep":
            body = self.api.get_json("/sleep-service/sleep/dailySleepSummariesByDate",
                                     {"startDate": start.isoformat(), "endDate": end.isoformat()}, what=what) or []
            return [(_day(o["calendarDate"]), self._known_owner(), o) for o in body
                    if o.get("calendarDate") and _has_numbers(o, ("sleepTimeSeconds", "deepSleepSeconds",
                                                                   "lightSleepSeconds", "remSleepSeconds"))]
        body = self.api.get_json("/usersummary-service/v2/dailysummaries",
                                 {"startDate": start.isoformat(), "endDate": end.isoformat()}, what=what) or {}
        for o in body.get("data") or []:
            self._learn_owner(o.get("userProfilePk"))
        return [(_day(o["calendarDate"]), int(o.get("userProfilePk") or self._known_owner()), o)
                for o in body.get("data") or [] if o.get("calendarDate")]


def _has_numbers(obj: dict, keys: tuple[str, ...]) -> bool:
    """Garmin sends a day without sleep data as an object with null numbers: not landed."""
    return any(obj.get(k) is not None for k in keys)


def _fit_streams(parsed: Any) -> dict[str, list]:
    """METRICS.md section 1: time = whole seconds since the file's first record with a timestamp."""
    from pipelines.imports.common import streams_dict

    streams = streams_dict(parsed)
    t0 = parsed.time_s[0] if parsed.time_s else 0
    streams["time"] = [t - t0 for t in parsed.time_s]
    return streams


def run_garmin_sync(settings: Settings, *, full: bool = False, progress: Progress | None = None,
                    lookback_days: int = 7, reconcile_days: int = 7, athlete: Athlete | None = None) -> GarminSyncResult:
    """Take the writer lock, sync Garmin (the environment's athlete, or one roster athlete),
    record the run in raw.sync_runs, publish the read snapshot."""
    from pipelines.sync_run import recorded_sync

    def body(con: duckdb.DuckDBPyConnection) -> GarminSyncResult:
        return GarminSync(settings, con, full=full, lookback_days=lookback_days,
                          reconcile_days=reconcile_days, progress=progress, athlete=athlete).run()

    return recorded_sync(settings, "garmin-sync", body, progress)
