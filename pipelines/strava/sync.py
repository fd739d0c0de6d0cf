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
from dataclasses import dataclass, field
from typing import Callable

import duckdb

from pipelines import landing
from pipelines.warehouse import transaction
from pipelines.config import Settings
from pipelines.sync_run import SyncCounts
from pipelines.sync_state import clear_state, get_state, set_state
from pipelines.roster import Athlete, roster_strava_ids
from pipelines.webhooks.store import EventStore
from pipelines.strava.api import MissingScope, NotFound, RateBudget, StravaApi
from pipelines.strava.errors import StravaError, SyncStopped
from pipelines.strava.tokens import TokenStore

PER_PAGE = 200
STREAM_KEYS = "time,heartrate,moving,distance,altitude,velocity_smooth"
SOURCE = "api"
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
"""


def streams_left(con: duckdb.DuckDBPyConnection, athlete_id: int | None = None) -> int:
    """How many heart-rate streams the next sync still has to fetch (used by the sync and `status`)."""
    return con.execute("select count(*) " + STREAMS_TODO, {"athlete": athlete_id}).fetchone()[0]


def _epoch(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


class StravaSync:
    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, *, full: bool = False,
                 lookback_days: int = 7, reconcile_days: int = 7, progress: Progress | None = None,
                 api: StravaApi | None = None, athlete: Athlete | None = None):
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
        budget = RateBudget(**(get_state(con, "rate_budget") or {}))
        tokens = (TokenStore(athlete.strava_token_file(settings)) if athlete
                  else TokenStore(settings.token_file, settings.strava_refresh_token))
        self.api = api or StravaApi(settings, tokens, budget=budget)

    def _key(self, name: str) -> str:
        """A sync_state key of this athlete's sync (the plain name for the one athlete of the environment)."""
        return f"athlete/{self.athlete.key}/{name}" if self.athlete else name

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
            self._streams()
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
                        self._land(activity)
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
        """Athlete and HR zones: on the first run, on --full, and with each reconciliation."""
        row = self.con.execute("select max(fetched_at) from raw.athlete where ?::bigint is null or athlete_id = ?",
                               [self.athlete_id, self.athlete_id]).fetchone()
        # a roster athlete's id must be known before anything of theirs is listed or marked
        identified = self.athlete is None or self.athlete_id is not None
        if row[0] is not None and identified and not self.full and not self._reconcile_due():
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

    # -- listing ------------------------------------------------------------------------
    def _listing(self) -> None:
        listing = get_state(self.con, self._key("listing"))  # an unfinished listing resumes
        if listing is None or (self.full and listing["start"] != 0):
            if self.full or self._reconcile_due():
                start = 0
            else:
                newest = self.con.execute(
                    "select max(epoch(cast(json->>'start_date' as timestamptz)))::bigint "
                    "from raw.activities where source = ? and (?::bigint is null or athlete_id = ?)",
                    [SOURCE, self.athlete_id, self.athlete_id]).fetchone()[0]
                start = max(0, int(newest) - self.lookback_s) if newest is not None else 0
            listing = {"start": start, "after": start}
            set_state(self.con, self._key("listing"), listing)
        self.result.reconciled = listing["start"] == 0
        previous_ids: set[int] = set(listing.get("last_ids", []))
        while True:
            after = listing["after"]
            page = self.api.get("/athlete/activities", after=after, page=1, per_page=PER_PAGE)
            self.result.pages += 1
            unseen = [a for a in page if int(a["id"]) not in previous_ids]
            if not unseen:
                with transaction(self.con):
                    # end of the list: whatever we hold after `after` that Strava did not list is gone
                    self._mark_missing(after, None, [int(a["id"]) for a in page])
                    clear_state(self.con, self._key("listing"))
                    if listing["start"] == 0:
                        set_state(self.con, self._key("last_full_listing_at"), dt.datetime.now(dt.timezone.utc).timestamp())
                self.progress(f"activity list complete: {self.result.pages} pages")
                return
            starts = [_epoch(a["start_date"]) for a in page]
            if starts != sorted(starts):
                # keyset paging relies on Strava listing oldest first when `after` is given;
                # a different order would silently skip activities, so refuse loudly instead
                raise StravaError("Strava listed activities in an unexpected order (not oldest first); "
                                  "nothing was lost, but the sync cannot go on safely: please report this.")
            last_start = starts[-1]
            previous_ids = {int(a["id"]) for a, start in zip(page, starts) if start >= last_start - 1}
            listing = {"start": listing["start"], "after": last_start - 1, "last_ids": sorted(previous_ids)}
            with transaction(self.con):
                for activity in unseen:
                    self._land(activity)
                # everything strictly between `after` and the page's last start was listed on this page
                self._mark_missing(after, last_start, [int(a["id"]) for a in page])
                set_state(self.con, self._key("listing"), listing)
            self.progress(f"page {self.result.pages}: {len(unseen)} activities up to "
                          f"{dt.datetime.fromtimestamp(last_start, dt.timezone.utc):%Y-%m-%d}")

    def _land(self, activity: dict) -> None:
        signature = landing.stream_signature(activity)
        row = self.con.execute("select json, deleted_at from raw.activities where source = ? and activity_id = ?",
                               [SOURCE, int(activity["id"])]).fetchone()
        if row is not None and row[1] is None and json.loads(row[0]) == activity:
            self.result.activities_unchanged += 1
            return
        landing.upsert_activity(self.con, SOURCE, activity, signature)
        if row is None:
            self.result.activities_new += 1
        else:
            self.result.activities_updated += 1

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
    def _streams(self) -> None:
        todo = self.con.execute(
            "select a.activity_id, a.stream_signature " + STREAMS_TODO
            + " order by cast(a.json->>'start_date' as timestamptz), a.activity_id", {"athlete": self.athlete_id}).fetchall()
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
                self.progress(f"streams {i}/{len(todo)} (budget left: {left[0]} this quarter hour, {left[1]} today)")

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


def run_sync(settings: Settings, *, full: bool = False, progress: Progress | None = None,
             lookback_days: int = 7, reconcile_days: int = 7, athlete: Athlete | None = None) -> SyncResult:
    """Take the writer lock, sync, record the run in raw.sync_runs, publish the read snapshot."""
    from pipelines.sync_run import recorded_sync

    def body(con: duckdb.DuckDBPyConnection) -> SyncResult:
        return StravaSync(settings, con, full=full, lookback_days=lookback_days,
                          reconcile_days=reconcile_days, progress=progress, athlete=athlete).run()

    return recorded_sync(settings, "sync", body, progress)
