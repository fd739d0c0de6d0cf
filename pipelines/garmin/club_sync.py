"""Every roster athlete's Garmin Connect data in one run (club deployments).

Garmin's Personal API keys belong to the athletes, not to the deployment: each athlete's
`garmin_key_file` holds a key of their own Garmin account, and there is no shared budget
to divide. Garmin wants one request at a time, so the athletes are synced one after the
other, each by the one-athlete sync (sync.py, `athlete=`): their own token cache, sync
state and rows, their own resumable progress. The run holds one writer lock and is one
row in raw.sync_runs.

- An athlete's own failure (a rejected or expired key, a revoked token, a missing key
  file) is recorded for that athlete and the others go on.
- A long Retry-After (or faults outlasting the retries) stops that athlete for this run:
  what they fetched is saved, the others go on, and the run counts as stopped early
  (exit 75 from `trainsmart sync`).
- Garmin unreachable stops the run: every athlete would fail the same way.
- Athletes without a `garmin_key_file` are not Garmin users: skipped, named in one line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb

from pipelines.config import Settings
from pipelines.garmin.errors import GarminError, GarminUnreachable
from pipelines.garmin.sync import GarminSync, GarminSyncResult, Progress
from pipelines.roster import Athlete, Roster, load_roster
from pipelines.sync_run import ClubOutcomes
from pipelines.sync_state import clear_state, record_failure, state_key


@dataclass
class GarminAthleteProgress:
    """Where one athlete's Garmin stands after a club run (a line of the CLI's summary)."""

    key: str
    status: str  # done | stopped | failed
    new: int = 0
    updated: int = 0
    deleted: int = 0
    files: int = 0
    files_left: int = 0
    wellness_days: int = 0
    last_wellness_day: str | None = None
    message: str = ""

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.key}: {self.message}"
        line = (f"{self.key}: Garmin {self.status}, {self.new} new, {self.updated} updated, {self.deleted} deleted, "
                f"{self.files} FIT files fetched, {self.files_left} left, {self.wellness_days} wellness days, "
                f"last wellness day {self.last_wellness_day or 'none yet'}")
        return line + (f" ({self.message})" if self.status == "stopped" else "")


@dataclass
class ClubGarminResult(ClubOutcomes, GarminSyncResult):
    athletes: list[GarminAthleteProgress] = field(default_factory=list)
    without_key: list[str] = field(default_factory=list)  # roster athletes with no garmin_key_file

    @property
    def stopped(self) -> list[GarminAthleteProgress]:
        return [a for a in self.athletes if a.status == "stopped"]


def failure_key(athlete: Athlete) -> str:
    """The sync_state key holding an athlete's last Garmin failure (shown by `trainsmart status`)."""
    return state_key(athlete.key, "garmin_failure")


def garmin_source(settings: Settings, athlete_key: str | None = None) -> tuple[bool, str]:
    """Whether `sync` has Garmin work, and else the one line saying why not: with a roster,
    the athletes' key files (the environment's key is not used); without one, the environment."""
    roster = load_roster(settings)
    if roster is None:
        return settings.garmin_configured, (f"Garmin skipped: no GARMIN_PERSONAL_API_KEY and no key file at "
                                            f"{settings.garmin_key_file}.")
    if athlete_key:
        athlete = roster.get(athlete_key)
        return bool(athlete.garmin_key_file), (f"Garmin skipped for {athlete.key}: no garmin_key_file in the "
                                               f"roster {roster.path}.")
    return any(a.garmin_key_file for a in roster.athletes), (
        f"Garmin skipped: no athlete in the roster {roster.path} has a garmin_key_file.")


class ClubGarminSync:
    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, roster: Roster, *, full: bool = False,
                 progress: Progress | None = None):
        self.settings = settings
        self.con = con
        self.roster = roster
        self.full = full
        self.progress = progress or (lambda msg: None)
        self.result = ClubGarminResult()

    def run(self) -> ClubGarminResult:
        total = self.result
        athletes = [a for a in self.roster.athletes if a.garmin_key_file]
        total.without_key = [a.key for a in self.roster.athletes if not a.garmin_key_file]
        if total.without_key:
            self.progress(f"Garmin: no garmin_key_file for {', '.join(total.without_key)} (skipped)")
        for athlete in athletes:
            say = (lambda key: lambda msg: self.progress(f"{key}: {msg}"))(athlete.key)
            sync = None
            try:
                sync = GarminSync(self.settings, self.con, full=self.full, lookback_days=self.settings.lookback_days,
                                  reconcile_days=self.settings.reconcile_days, progress=say, athlete=athlete)
                r = sync.run()
            except GarminUnreachable:
                raise  # the host, not the athlete: every other athlete would fail the same way
            except GarminError as e:
                total.athletes.append(GarminAthleteProgress(athlete.key, "failed", message=str(e)))
                record_failure(self.con, failure_key(athlete), str(e), at=time.time())
                self.progress(f"{athlete.key}: {e}")
                if sync is not None:  # what was landed before the refusal is kept and counted
                    self._add(sync.result, sync.api.requests_sent)
                continue
            self._add(r, r.requests)
            clear_state(self.con, failure_key(athlete))
            total.athletes.append(GarminAthleteProgress(
                athlete.key, "done" if r.complete else "stopped", r.activities_new, r.activities_updated, r.deleted,
                r.files_fetched, r.files_left, sum(r.wellness_days.values()), r.last_wellness_day,
                "" if r.complete else r.message))
        total.complete = not total.stopped
        total.files_left = sum(a.files_left for a in total.athletes)
        days = [a.last_wellness_day for a in total.athletes if a.last_wellness_day]
        total.last_wellness_day = min(days) if days else None  # the athlete furthest behind
        n, failed = len(total.athletes), len(total.failed)
        if total.complete:
            total.message = (f"Garmin sync complete for {n - failed} of {n} athletes"
                             + (f" ({failed} failed)" if failed else ""))
        else:
            stopped = total.stopped
            total.message = (f"Garmin stopped early for {', '.join(a.key for a in stopped)} ({stopped[0].message}); "
                             f"{len(stopped)} of {n} athletes have work left, saved for the next run")
        return total

    def _add(self, r: GarminSyncResult, requests: int) -> None:
        total = self.result
        total.requests += requests
        total.add(r)
        total.files_fetched += r.files_fetched
        total.files_unreadable += r.files_unreadable
        total.wellness_requests += r.wellness_requests
        for kind, days in r.wellness_days.items():
            total.wellness_days[kind] = total.wellness_days.get(kind, 0) + days


def run_club_garmin_sync(settings: Settings, roster: Roster, *, full: bool = False,
                         progress: Progress | None = None) -> ClubGarminResult:
    """Take the writer lock, sync every roster athlete's Garmin, record the run, publish the snapshot."""
    from pipelines.sync_run import recorded_sync

    return recorded_sync(settings, "garmin-sync",
                         lambda con: ClubGarminSync(settings, con, roster, full=full, progress=progress).run(), progress)
