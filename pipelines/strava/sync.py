"""One athlete's Strava data into the raw tables: incremental, resumable, within rate limits.

The activity listing is keyset-paged in ascending start order: each page asks for
`after` = (last start seen - 1 s) until a page brings no unseen id. Every page is
committed on its own together with the listing's progress, so a run killed at any
point resumes where it stopped, and a re-run only re-upserts (never duplicates).

- incremental: the listing starts at the newest landed start minus the look-back window,
  which refreshes recent edits and notices deletions inside the window;
- reconciliation (`--full`, or every `reconcile_days`): the listing starts at 0, which
  relists everything (~1 request per 200 activities), refreshes edits and marks every
  activity Strava no longer lists as deleted;
- streams: afterwards, oldest first, for each activity with heart rate whose stream was
  not fetched for its current `stream_signature` (so exactly once, again only after an edit).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import duckdb

from pipelines import landing
from pipelines.warehouse import transaction
from pipelines.config import Settings
from pipelines.sync_run import SyncCounts
from pipelines.sync_state import clear_state, get_state, set_state, state_key
from pipelines.roster import Athlete, roster_strava_ids
from pipelines.webhooks.store import EventStore
from pipelines.strava.api import MissingScope, NotFound, RateBudget, StravaApi
from pipelines.strava.errors import StravaError, SyncStopped
from pipelines.strava.tokens import TokenStore

PER_PAGE = 200
STREAM_KEYS = "time,heartrate,moving,distance,altitude,velocity_smooth"
SOURCE = "api"
RELIST_AFTER_S = 3600  # a club run resumed in the next window does not list its athletes again
DEAUTHORIZED = "strava_deauthorized"  # sync_state key: when the athlete withdrew access (webhook event)

Progress = Callable[[str], None]


@dataclass
class SyncResult(SyncCounts):
    events_applied: int = 0
    deauthorized: bool = False
    streams_fetched: int = 0
    stream_samples: int = 0
    streams_left: int = 0
    budget: dict = field(default_factory=dict)


# API activities with heart rate whose stream was never fetched, or fetched for an older version.
STREAMS_TODO = """
    from raw.activities a
    left join raw.stream_fetches f on f.source = a.source and f.activity_id = a.activity_id
    where a.source = 'api' and a.deleted_at is null
      and coalesce(cast(a.json->>'has_heartrate' as boolean), false)
      and (f.activity_id is null or f.stream_signature is distinct from a.stream_signature)
      and ($athlete::bigint is null or a.athlete_id = $athlete)
      and ($since::double is null or epoch(cast(a.json->>'start_date' as timestamptz)) >= $since)
"""


def streams_left(con: duckdb.DuckDBPyConnection, athlete_id: int | None = None) -> int:
    """How many heart-rate streams the next sync still has to fetch (used by the sync and `status`)."""
    return con.execute("select count(*) " + STREAMS_TODO, {"athlete": athlete_id, "since": None}).fetchone()[0]


def history_listed(state: Callable[[str], object], athlete_key: str | None) -> bool:
    """Whether the athlete's whole activity list has been read once and no history listing
    is half done; `state` looks a sync_state key up (the sync's get_state, status's snapshot)."""
    return (state(state_key(athlete_key, "last_full_listing_at")) is not None
            and state(state_key(athlete_key, "history_listing")) is None)


def _epoch(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


class StravaSync:
    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, *, full: bool = False,
                 lookback_days: int = 7, reconcile_days: int = 7, progress: Progress | None = None,
                 api: StravaApi | None = None, athlete: Athlete | None = None, budget: RateBudget | None = None,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self.con = con
        # A roster athlete (club deployment): their own token file, sync state and rows; the
        # rate budget stays the application's. None: the one athlete of the environment.
        self.athlete = athlete
        self.athlete_id = athlete.strava_athlete_id if athlete else None
        self.full = full
        self.lookback_s = lookback_days * 86400
        self.reconcile_days = reconcile_days
        self.progress = progress or (lambda msg: None)
        self.result = SyncResult()
        self.clock = clock
        # a club run passes the one budget all its athletes share
        budget = budget or RateBudget(**(get_state(con, "rate_budget") or {}), clock=clock)
        tokens = (TokenStore(athlete.strava_token_file(settings)) if athlete
                  else TokenStore(settings.token_file, settings.strava_refresh_token))
        self.api = api or StravaApi(settings, tokens, budget=budget, clock=clock)

    def _key(self, name: str) -> str:
        return state_key(self.athlete.key if self.athlete else None, name)

    # -- the run ---------------------------------------------------------------------
    def run(self) -> SyncResult:
        try:
            if self._deauthorized():
                return self.result
            self._athlete()
            if self._apply_events() == DEAUTHORIZED:
                return self.result
            if self._listing_needed():
                self._listing()
            _drain(self._stream_steps())
        except SyncStopped as stop:
            self.result.complete = False
            self.result.message = str(stop)
        finally:
            self.result.requests = self.api.requests_sent
            self.result.budget = self.api.budget.as_dict()
            self.result.streams_left = streams_left(self.con, self.athlete_id)
            set_state(self.con, "rate_budget", {k: getattr(self.api.budget, k) for k in
                                                ("usage_15", "limit_15", "usage_day", "limit_day", "seen_at")})
        if self.result.complete:
            self.result.message = "Strava sync complete" + (f" ({self.result.events_applied} webhook events applied)"
                                                             if self.result.events_applied else "")
        else:
            rest = " and the rest of the activity list" if get_state(self.con, self._key("listing")) else ""
            self.result.message += f"; {self.result.streams_left} heart-rate streams{rest} left for the next run"
        return self.result

    # -- webhooks (pipelines/webhooks/) ----------------------------------------------------
    def _deauthorized(self) -> bool:
        """After the athlete withdrew trainsmart's access on Strava: no request at all, until
        `trainsmart auth` stores a new token (a token file newer than the deauthorization)."""
        state = get_state(self.con, self._key(DEAUTHORIZED))
        if state is None:
            return False
        token_file = self.athlete.strava_token_file(self.settings) if self.athlete else self.settings.token_file
        if token_file.exists() and token_file.stat().st_mtime > state["at"]:
            with transaction(self.con):
                clear_state(self.con, self._key(DEAUTHORIZED))
            return False
        when = dt.datetime.fromtimestamp(state["at"]).astimezone()
        self.result.message = (f"Strava sync skipped: the athlete withdrew trainsmart's access on Strava on "
                               f"{when:%Y-%m-%d %H:%M}; run `trainsmart auth` to connect again")
        self.result.deauthorized = True
        return True

    def _listing_needed(self) -> bool:
        """With a push subscription, new, edited and deleted activities arrive as events: the
        activity list is read only to resume a listing, on --full, and for the weekly relist
        that catches missed events."""
        if EventStore(self.settings.home).subscription() is None:
            return True
        return self.full or get_state(self.con, self._key("listing")) is not None or self._reconcile_due()

    def _apply_events(self) -> str | None:
        """Pending webhook events become targeted work: fetch that one activity (its stream
        follows in the stream step), mark a deletion, or stop on a deauthorization."""
        store = EventStore(self.settings.home)
        events = store.pending()
        if not events:
            return None
        known = {r[0] for r in self.con.execute("select athlete_id from raw.athlete").fetchall()} | roster_strava_ids(
            self.settings)
        ours = {self.athlete_id} if self.athlete else known
        for event in events:
            if event.owner_id not in known:
                store.mark(event.id, "ignored", "not an athlete this deployment syncs")
                continue
            if event.owner_id not in ours:
                continue  # another roster athlete's: their own sync applies it
            if event.deauthorization:
                with transaction(self.con):
                    set_state(self.con, self._key(DEAUTHORIZED), {"at": dt.datetime.now(dt.timezone.utc).timestamp(),
                                                       "athlete_id": event.owner_id})
                store.mark(event.id, "applied")
                self.result.events_applied += 1
                self.progress(f"athlete {event.owner_id} withdrew trainsmart's access on Strava")
                self._deauthorized()
                return DEAUTHORIZED
            if event.object_type != "activity":
                store.mark(event.id, "ignored", "athlete profile update")
                continue
            if event.aspect_type == "delete":
                self._delete([event.object_id])
            else:
                try:
                    activity = self.api.get(f"/activities/{event.object_id}")
                except NotFound:
                    self._delete([event.object_id])
                else:
                    with transaction(self.con):
                        self._land([activity])
            store.mark(event.id, "applied")
            self.result.events_applied += 1
        self.progress(f"{self.result.events_applied} webhook events applied")
        return None

    def _delete(self, activity_ids: list[int]) -> None:
        with transaction(self.con):
            held = [r[0] for r in self.con.execute(
                "select activity_id from raw.activities where source = ? and deleted_at is null "
                "and activity_id in (select unnest(?::bigint[]))", [SOURCE, activity_ids]).fetchall()]
            if held:
                landing.mark_deleted(self.con, SOURCE, held)
        self.result.deleted += len(held)

    def _athlete(self) -> None:
        """Athlete and HR zones: on the first run, on --full, and when older than the reconciliation
        interval (not on every run of an unfinished first sync: a club's budget is shared)."""
        row = self.con.execute("select max(fetched_at) from raw.athlete where ?::bigint is null or athlete_id = ?",
                               [self.athlete_id, self.athlete_id]).fetchone()
        # a roster athlete's id must be known before anything of theirs is listed or marked
        identified = self.athlete is None or self.athlete_id is not None
        now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc).replace(tzinfo=None)
        fresh = row[0] is not None and now - row[0] < dt.timedelta(days=self.reconcile_days)
        if fresh and identified and not self.full:
            return
        athlete = self.api.get("/athlete")
        now = landing.utcnow()
        if self.athlete is not None:
            if self.athlete_id is not None and int(athlete["id"]) != self.athlete_id:
                raise StravaError(f"The Strava token of {self.athlete.key} belongs to athlete {athlete['id']}, not "
                                  f"{self.athlete_id}; run `trainsmart auth --athlete {self.athlete.key}` again.")
            self.athlete_id = int(athlete["id"])
        self.con.execute("insert or replace into raw.athlete values (?, ?, ?)", [athlete["id"], json.dumps(athlete), now])
        try:
            zones = self.api.get("/athlete/zones")
        except MissingScope as e:  # zones are informative only (METRICS.md derives zones from LTHR)
            self.progress(f"HR zones skipped: {e}")
            return
        self.con.execute("insert or replace into raw.athlete_zones values (?, ?, ?)", [athlete["id"], json.dumps(zones), now])
        self.progress(f"athlete {athlete['id']} and HR zones fetched")

    def _reconcile_due(self) -> bool:
        last = get_state(self.con, self._key("last_full_listing_at"))
        if last is None:
            return True
        age = dt.datetime.now(dt.timezone.utc).timestamp() - last
        return age >= self.reconcile_days * 86400

    def _newest_start(self) -> int | None:
        """The start (epoch s) of this athlete's newest landed API activity, None before the first."""
        newest = self.con.execute(
            "select max(epoch(cast(json->>'start_date' as timestamptz)))::bigint "
            "from raw.activities where source = ? and (?::bigint is null or athlete_id = ?)",
            [SOURCE, self.athlete_id, self.athlete_id]).fetchone()[0]
        return int(newest) if newest is not None else None

    # -- the two phases of a club run (pipelines/strava/club_sync.py) ----------------------
    def recent_steps(self, recent_days: int) -> Iterator[None]:
        """What this athlete's week needs, one request or page per step: the profile, webhook
        events, the activity list since the newest landed start minus the look-back (on a first
        night the last `recent_days` days), and those recent activities' streams. Raises
        AthleteStopped when the athlete withdrew access."""
        if self._deauthorized():
            raise AthleteStopped(self.result.message)
        self._athlete()
        yield
        if self._apply_events() == DEAUTHORIZED:
            raise AthleteStopped(self.result.message)
        cutoff = int(self.clock()) - recent_days * 86400
        newest = self._newest_start()
        subscribed = EventStore(self.settings.home).subscription() is not None
        listed_at = get_state(self.con, self._key("recent_listed_at"))
        due = listed_at is None or self.clock() - listed_at >= RELIST_AFTER_S  # not again in the next window
        if get_state(self.con, self._key("listing")) is not None or newest is None or (due and not subscribed):
            start = cutoff if newest is None else max(0, min(newest - self.lookback_s, cutoff))
            yield from self._listing_pages("listing", start)
            set_state(self.con, self._key("recent_listed_at"), self.clock())
        yield from self._stream_steps(since=cutoff)

    def backfill_steps(self) -> Iterator[None]:
        """The rest, after every athlete's recent weeks: the history listing (first sync,
        --full, the weekly reconciliation) and the remaining streams, newest first."""
        if self.full or self._reconcile_due() or get_state(self.con, self._key("history_listing")) is not None:
            yield from self._listing_pages("history_listing", 0)
        yield from self._stream_steps(newest_first=True)

    # -- listing ------------------------------------------------------------------------
    def _listing(self) -> None:
        """The one-athlete listing: from 0 on the first sync, --full and reconciliation, else
        from the newest landed start minus the look-back window."""
        listing = get_state(self.con, self._key("listing"))  # an unfinished listing resumes
        if listing is None or (self.full and listing["start"] != 0):
            newest = None if self.full or self._reconcile_due() else self._newest_start()
            start = max(0, newest - self.lookback_s) if newest is not None else 0
            with transaction(self.con):
                set_state(self.con, self._key("listing"), {"start": start, "after": start})
        _drain(self._listing_pages("listing", None))

    def _listing_pages(self, name: str, start: int | None) -> Iterator[None]:
        """Keyset-page the activity list from `start` (or resume the listing saved under
        `name`), committing and yielding after each page."""
        listing = get_state(self.con, self._key(name))
        if listing is None:
            listing = {"start": start, "after": start}
            set_state(self.con, self._key(name), listing)
        self.result.reconciled = self.result.reconciled or listing["start"] == 0
        previous_ids: set[int] = set(listing.get("last_ids", []))
        while True:
            after = listing["after"]
            page = self.api.get("/athlete/activities", after=after, page=1, per_page=PER_PAGE)
            self.result.pages += 1
            unseen = [a for a in page if int(a["id"]) not in previous_ids]
            starts = [_epoch(a["start_date"]) for a in page]
            if starts != sorted(starts):
                # keyset paging relies on Strava listing oldest first when `after` is given;
                # a different order would silently skip activities, so refuse loudly instead
                raise StravaError("Strava listed activities in an unexpected order (not oldest first); "
                                  "nothing was lost, but the sync cannot go on safely: please report this.")
            # a short page is the end of the list: no request for an empty page after it
            end = not unseen or len(page) < PER_PAGE
            listed = [int(a["id"]) for a in page]
            with transaction(self.con):
                self._land(unseen)
                if end:
                    # whatever we hold after `after` that Strava did not list is gone
                    self._mark_missing(after, None, listed)
                    clear_state(self.con, self._key(name))
                    if listing["start"] == 0:
                        set_state(self.con, self._key("last_full_listing_at"), dt.datetime.now(dt.timezone.utc).timestamp())
                else:
                    last_start = starts[-1]
                    previous_ids = {i for i, start in zip(listed, starts) if start >= last_start - 1}
                    listing = {"start": listing["start"], "after": last_start - 1, "last_ids": sorted(previous_ids)}
                    # everything strictly between `after` and the page's last start was listed on this page
                    self._mark_missing(after, last_start, listed)
                    set_state(self.con, self._key(name), listing)
            if end:
                self.progress(f"{self._who()}activity list complete: {self.result.pages} pages")
                return
            self.progress(f"{self._who()}page {self.result.pages}: {len(unseen)} activities up to "
                          f"{dt.datetime.fromtimestamp(last_start, dt.timezone.utc):%Y-%m-%d}")
            yield

    def _who(self) -> str:
        return f"{self.athlete.key}: " if self.athlete else ""

    def _land(self, activities: list[dict]) -> None:
        """Land a page (or one activity) in one upsert, counting new, updated and unchanged ones."""
        seen = landing.compare_with_landed(self.con, SOURCE, activities, [int(a["id"]) for a in activities])
        self.result.activities_new += seen.new
        self.result.activities_updated += seen.updated
        self.result.activities_unchanged += seen.unchanged
        landing.upsert_activities(self.con, SOURCE, [activities[i] for i in seen.changed])

    def _mark_missing(self, after: int, before: int | None, listed: list[int]) -> None:
        """Activities we hold with after < start < before that Strava did not list are deleted upstream."""
        ids = [r[0] for r in self.con.execute(
            """
            select activity_id from raw.activities
            where source = ? and deleted_at is null
              and epoch(cast(json->>'start_date' as timestamptz)) > ?
              and (? is null or epoch(cast(json->>'start_date' as timestamptz)) < ?)
              and activity_id not in (select unnest(?::bigint[]))
              and (?::bigint is null or athlete_id = ?)
            """, [SOURCE, after, before, before, listed, self.athlete_id, self.athlete_id]).fetchall()]
        if ids:
            landing.mark_deleted(self.con, SOURCE, ids)
            self.result.deleted += len(ids)
            self.progress(f"{len(ids)} activities deleted on Strava")

    # -- streams ------------------------------------------------------------------------
    def _stream_steps(self, since: int | None = None, newest_first: bool = False) -> Iterator[None]:
        """Fetch the streams still to fetch (oldest first, or newest first for a club's backfill),
        of activities started since `since` (epoch s) when given; one step per stream."""
        order = "desc" if newest_first else "asc"
        todo = self.con.execute(
            "select a.activity_id, a.stream_signature " + STREAMS_TODO
            + f" order by cast(a.json->>'start_date' as timestamptz) {order}, a.activity_id {order}",
            {"athlete": self.athlete_id, "since": since}).fetchall()
        for i, (activity_id, signature) in enumerate(todo, 1):
            try:
                data = self.api.get(f"/activities/{activity_id}/streams", keys=STREAM_KEYS, key_by_type="true")
            except NotFound:
                self._stream_not_found(activity_id, signature)
                continue
            streams = {key: (data.get(key) or {}).get("data") for key in landing.STREAM_KEYS} if isinstance(data, dict) else {}
            with transaction(self.con):
                n = landing.replace_stream(self.con, SOURCE, activity_id, streams, signature)
            self.result.streams_fetched += 1
            self.result.stream_samples += n
            if i % 25 == 0 or i == len(todo):
                left = self.api.budget.left()
                self.progress(f"{self._who()}streams {i}/{len(todo)} (budget left: {left[0]} this quarter hour, "
                              f"{left[1]} today)")
            yield

    def _stream_not_found(self, activity_id: int, signature: str) -> None:
        """No stream: either the activity is gone (then mark it deleted) or it has none (remember that)."""
        try:
            self.api.get(f"/activities/{activity_id}")
        except NotFound:
            with transaction(self.con):
                landing.mark_deleted(self.con, SOURCE, [activity_id])
            self.result.deleted += 1
            return
        with transaction(self.con):
            landing.replace_stream(self.con, SOURCE, activity_id, {}, signature)


class AthleteStopped(Exception):
    """This athlete's sync cannot go on (they withdrew access); the club's other athletes can."""


def _drain(steps: Iterator[None]) -> None:
    for _ in steps:
        pass


def run_sync(settings: Settings, *, full: bool = False, progress: Progress | None = None,
             lookback_days: int = 7, reconcile_days: int = 7, athlete: Athlete | None = None) -> SyncResult:
    """Take the writer lock, sync, record the run in raw.sync_runs, publish the read snapshot."""
    from pipelines.sync_run import recorded_sync

    def body(con: duckdb.DuckDBPyConnection) -> SyncResult:
        return StravaSync(settings, con, full=full, lookback_days=lookback_days,
                          reconcile_days=reconcile_days, progress=progress, athlete=athlete).run()

    return recorded_sync(settings, "sync", body, progress)
