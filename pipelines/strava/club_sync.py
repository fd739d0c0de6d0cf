"""Every roster athlete's Strava data in one run, sharing the application's rate budget fairly.

Strava's limits belong to the API application, so a club's athletes draw on one budget
(100 reads per 15 minutes, 1,000 a day by default). One run serves them all in two phases,
each round-robin over the athletes, one request or page per athlete per turn:

1. recent: each athlete's profile, their pending webhook events, the activity list since
   their newest landed start minus the look-back (on a first night: the last RECENT_DAYS
   days) and the heart-rate streams of those recent activities;
2. backfill: the history listing (first sync, --full, the weekly reconciliation) and the
   remaining streams, newest first.

So every athlete's week is in before anyone's history is fetched. A spent budget (or faults
outlasting the retries) stops the whole run; every page and stream is committed as it
lands, so the next run resumes each athlete where they stopped. An athlete's own failure
(a revoked or broken token, a withdrawn authorization) drops that athlete and the others
go on; an application-wide refusal (inactive app, wrong client secret, Strava unreachable)
stops the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import duckdb

from pipelines.config import Settings
from pipelines.roster import Athlete, Roster
from pipelines.strava.api import RateBudget
from pipelines.strava.errors import ApplicationError, StravaError, SyncStopped
from pipelines.strava.sync import AthleteStopped, Progress, StravaSync, SyncResult, history_listed, streams_left
from pipelines.sync_run import ClubOutcomes
from pipelines.sync_state import clear_state, get_state, record_failure, set_state, state_key

RECENT_DAYS = 42  # a first night's "recent weeks": the six weeks the weekly report and its flags look at


@dataclass
class AthleteProgress:
    """Where one athlete stands after a club run (a line of the CLI's summary)."""

    key: str
    status: str  # done | stopped | failed | not connected
    new: int = 0
    updated: int = 0
    deleted: int = 0
    streams: int = 0
    streams_left: int = 0
    history_listed: bool = False
    message: str = ""

    def line(self) -> str:
        if self.status in ("failed", "not connected"):
            return f"{self.key}: {self.message}"
        history = "history listed" if self.history_listed else "history listing not finished"
        return (f"{self.key}: {self.status}, {self.new} new, {self.updated} updated, {self.deleted} deleted, "
                f"{self.streams} streams fetched, {self.streams_left} left, {history}")


@dataclass
class ClubSyncResult(ClubOutcomes, SyncResult):
    athletes: list[AthleteProgress] = field(default_factory=list)


def failure_key(athlete_key: str) -> str:
    """The sync_state key holding an athlete's last failure (shown by `trainsmart status`)."""
    return state_key(athlete_key, "strava_failure")


class ClubSync:
    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, roster: Roster, *, full: bool = False,
                 progress: Progress | None = None, clock: Callable[[], float] = time.time,
                 recent_days: int = RECENT_DAYS):
        self.settings = settings
        self.con = con
        self.roster = roster
        self.full = full
        self.progress = progress or (lambda msg: None)
        self.clock = clock
        self.recent_days = recent_days
        self.budget = RateBudget(**(get_state(con, "rate_budget") or {}), clock=clock)
        self.result = ClubSyncResult()
        self.syncs: dict[str, StravaSync] = {}
        self.outcomes: dict[str, AthleteProgress] = {}

    def run(self) -> ClubSyncResult:
        for athlete in self.roster.athletes:
            self._start(athlete)
        try:
            self._round_robin(lambda s: s.recent_steps(self.recent_days), "recent weeks")
            self._round_robin(lambda s: s.backfill_steps(), "history")
        except SyncStopped as stop:
            self.result.complete = False
            self.result.message = str(stop)
        finally:
            self._finish()
        return self.result

    def _start(self, athlete: Athlete) -> None:
        if not athlete.strava_token_file(self.settings).exists():
            self.outcomes[athlete.key] = AthleteProgress(
                athlete.key, "not connected",
                message=f"not connected to Strava yet: run `trainsmart auth --athlete {athlete.key}`")
            return
        try:
            self.syncs[athlete.key] = StravaSync(
                self.settings, self.con, full=self.full, lookback_days=self.settings.lookback_days,
                reconcile_days=self.settings.reconcile_days, progress=self.progress, athlete=athlete,
                budget=self.budget, clock=self.clock)
        except ApplicationError:
            raise
        except StravaError as e:  # a damaged token file: this athlete only
            self._fail(athlete.key, str(e))
            return
        self.outcomes[athlete.key] = AthleteProgress(athlete.key, "stopped")

    def _round_robin(self, steps_of: Callable[[StravaSync], Iterator[None]], phase: str) -> None:
        """One step per athlete per turn until every athlete's steps of this phase are done."""
        active = {key: steps_of(sync) for key, sync in self.syncs.items() if key not in self._failed()}
        self.progress(f"{phase}: {len(active)} athletes")
        while active:
            for key in list(active):
                try:
                    next(active[key])
                except StopIteration:
                    del active[key]
                except ApplicationError:
                    raise
                except (StravaError, AthleteStopped) as e:
                    del active[key]
                    self._fail(key, str(e))

    def _failed(self) -> set[str]:
        return {key for key, o in self.outcomes.items() if o.status == "failed"}

    def _fail(self, key: str, message: str) -> None:
        # the one-athlete messages say `trainsmart auth`; in a club it is that athlete's auth
        message = message.replace("`trainsmart auth`", f"`trainsmart auth --athlete {key}`")
        self.outcomes[key] = AthleteProgress(key, "failed", message=message)
        record_failure(self.con, failure_key(key), message, at=self.clock())
        self.progress(f"{key}: {message}")

    def _finish(self) -> None:
        total = self.result
        for key, sync in self.syncs.items():
            r = sync.result
            total.requests += sync.api.requests_sent
            total.add(r)
            total.events_applied += r.events_applied
            total.streams_fetched += r.streams_fetched
            outcome = self.outcomes[key]
            if outcome.status == "failed":
                continue
            clear_state(self.con, failure_key(key))
            left = streams_left(self.con, sync.athlete_id) if sync.athlete_id else 0
            history = history_listed(lambda key: get_state(self.con, key), key)
            done = total.complete and left == 0 and history
            self.outcomes[key] = AthleteProgress(
                key, "done" if done else "stopped", r.activities_new, r.activities_updated, r.deleted,
                r.streams_fetched, left, history)
        total.athletes = [self.outcomes[a.key] for a in self.roster.athletes]
        total.streams_left = sum(a.streams_left for a in total.athletes)
        total.budget = self.budget.as_dict()
        set_state(self.con, "rate_budget", {k: getattr(self.budget, k) for k in
                                            ("usage_15", "limit_15", "usage_day", "limit_day", "seen_at")})
        failed = len(total.failed)
        if total.complete:
            total.message = (f"Strava sync complete for {len(total.athletes) - failed} of {len(total.athletes)} "
                             f"athletes" + (f" ({failed} failed)" if failed else ""))
        else:
            waiting = sum(1 for a in total.athletes if a.status == "stopped")
            total.message += (f"; {waiting} athletes have work left ({total.streams_left} heart-rate streams), "
                              "saved for the next run")


def run_club_sync(settings: Settings, roster: Roster, *, full: bool = False, progress: Progress | None = None,
                  clock: Callable[[], float] = time.time) -> ClubSyncResult:
    """Take the writer lock, sync every roster athlete, record the run, publish the snapshot."""
    from pipelines.sync_run import recorded_sync

    return recorded_sync(settings, "sync", lambda con: ClubSync(settings, con, roster, full=full, progress=progress,
                                                                 clock=clock).run(), progress)
