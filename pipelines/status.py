"""`trainsmart status`: what is landed, the last runs and the Strava budget, read from the
snapshot (so it answers even while a sync holds the database)."""

from __future__ import annotations

import datetime as dt
import json
import sys

from pipelines import warehouse
from pipelines.config import ConfigError, Settings
from pipelines.strava.sync import DEAUTHORIZED, history_listed, streams_left
from pipelines.sync_state import state_key


def print_status(settings: Settings, out=sys.stdout, athlete_key: str | None = None) -> int:
    from pipelines.roster import load_roster

    roster = load_roster(settings)
    if athlete_key is not None:
        if roster is None:
            raise ConfigError("--athlete needs a roster: add the athlete first with `trainsmart athletes add KEY`.")
        roster.get(athlete_key)  # an unknown key is one plain line
    if not settings.snapshot_path.exists():
        print("Nothing synced yet: run `trainsmart sync` (Strava API) or `trainsmart import-export PATH`.", file=sys.stderr)
        return 1
    con = warehouse.connect_reader(settings.snapshot_path)
    if athlete_key is not None:
        try:
            _print_athletes(settings, con, roster, out, only=athlete_key)
        finally:
            con.close()
        return 0
    try:
        print(f"Database: {settings.db_path}", file=out)
        print(f"Snapshot for queries: {settings.snapshot_path} "
              f"(published {dt.datetime.fromtimestamp(settings.snapshot_path.stat().st_mtime):%Y-%m-%d %H:%M})", file=out)
        rows = con.execute("""
            select source, count(*) filter (where deleted_at is null), count(*) filter (where deleted_at is not null),
                   min(coalesce(json->>'start_date_local', json->>'startTimeLocal')),
                   max(coalesce(json->>'start_date_local', json->>'startTimeLocal'))
            from raw.activities group by source order by source""").fetchall()
        if not rows:
            print("Activities: none yet", file=out)
        for source, live, deleted, first, last in rows:
            print(f"Activities from {source}: {live} ({deleted} deleted upstream), {first[:10]} to {last[:10]}", file=out)
        streams = con.execute("select count(*), coalesce(sum(sample_count), 0) from raw.stream_fetches").fetchone()
        print(f"Streams: {streams[0]} activities, {streams[1]} samples", file=out)
        todo = streams_left(con)
        if todo:
            print(f"Heart-rate streams still to fetch: {todo}", file=out)
        deauthorized = con.execute("select value from raw.sync_state where key = 'strava_deauthorized'").fetchone()
        if deauthorized:
            at = dt.datetime.fromtimestamp(json.loads(deauthorized[0])["at"])
            print(f"Strava: the athlete withdrew trainsmart's access on {at:%Y-%m-%d %H:%M}; syncing from Strava "
                  "has stopped (run `trainsmart auth` to connect again)", file=out)
        _print_webhooks(settings, out)
        _print_garmin(settings, con, out)
        if roster is not None:
            _print_athletes(settings, con, roster, out)
        print("Last runs:", file=out)
        for kind, started, finished, status, requests, message in con.execute("""
                select kind, started_at, finished_at, status, requests, message from raw.sync_runs
                order by started_at desc limit 5""").fetchall():
            took = f"{(finished - started).total_seconds():.0f}s" if finished else "running or killed"
            print(f"  {started:%Y-%m-%d %H:%M} {kind:<13} {status:<9} {took:>8}  "
                  f"{'' if requests is None else str(requests) + ' requests  '}{message or ''}", file=out)
        budget = con.execute("select value from raw.sync_state where key = 'rate_budget'").fetchone()
        if budget:
            from pipelines.strava.api import RateBudget

            b = RateBudget(**json.loads(budget[0]))
            left_15, left_day = b.left()
            if left_15 is not None:
                print(f"Strava budget left (reserve kept): {left_15} requests this quarter hour, {left_day} today "
                      f"(limits {b.limit_15} per 15 min, {b.limit_day} per day)", file=out)
    finally:
        con.close()
    _print_reports(settings, out)
    return 0


def _print_athletes(settings: Settings, con, roster, out, only: str | None = None) -> None:
    """A club's roster: where each athlete's Strava sync stands (connected, withdrawn, failed,
    landed, streams left, history listed, last listed), and their Garmin's (failed, landed)."""
    state = {k: json.loads(v) for k, v in con.execute(
        "select key, value from raw.sync_state where key like 'athlete/%'").fetchall()}
    print(f"Athletes ({roster.path}):", file=out)
    for a in roster.athletes:
        if only is not None and a.key != only:
            continue
        for line in (_strava_athlete_line(settings, con, state, a), _garmin_athlete_line(con, state, a)):
            if line:
                print(f"  {a.key:<16} {line}", file=out)


def _strava_athlete_line(settings: Settings, con, state: dict, a) -> str:
    from pipelines.strava.club_sync import failure_key

    if not a.strava_token_file(settings).exists() or a.strava_athlete_id is None:
        return f"not connected to Strava (run `trainsmart auth --athlete {a.key}`)"
    failure = state.get(failure_key(a.key))
    if failure:
        return f"Strava {a.strava_athlete_id}: {_last_failure(failure)}"
    withdrawn = state.get(state_key(a.key, DEAUTHORIZED))
    if withdrawn:
        at = dt.datetime.fromtimestamp(withdrawn["at"])
        return (f"Strava {a.strava_athlete_id}: withdrew trainsmart's access on {at:%Y-%m-%d %H:%M}; not synced "
                f"until `trainsmart auth --athlete {a.key}`")
    live, last = con.execute(
        "select count(*), max(json->>'start_date_local') from raw.activities where source = 'api' "
        "and deleted_at is null and athlete_id = ?", [a.strava_athlete_id]).fetchone()
    history = "history listed" if history_listed(state.get, a.key) else "history listing not finished"
    listed = state.get(state_key(a.key, "recent_listed_at"))
    when = f", last listed {dt.datetime.fromtimestamp(listed):%Y-%m-%d %H:%M}" if listed else ""
    return (f"Strava {a.strava_athlete_id}: {live} activities{' to ' + last[:10] if last else ''}, "
            f"{streams_left(con, a.strava_athlete_id)} heart-rate streams left, {history}{when}")


def _garmin_athlete_line(con, state: dict, a) -> str | None:
    """Where a roster athlete's Garmin stands; None for athletes without a garmin_key_file."""
    from pipelines.garmin.club_sync import failure_key
    from pipelines.garmin.sync import files_left, roster_owner_id

    if not a.garmin_key_file:
        return None
    failure = state.get(failure_key(a))
    if failure:
        return f"Garmin: {_last_failure(failure)}"
    owner = roster_owner_id(con, a)
    if owner is None:
        return "Garmin: not synced yet"
    live = con.execute("select count(*) from raw.activities where source = 'garmin' and deleted_at is null "
                       "and athlete_id = ?", [owner]).fetchone()[0]
    last_day = con.execute("select max(calendar_date) from raw.garmin_wellness where owner_id = ?", [owner]).fetchone()[0]
    return (f"Garmin {owner}: {live} activities, wellness to {last_day or 'none yet'}, "
            f"{files_left(con, owner)} FIT files left")


def _last_failure(failure: dict) -> str:
    """A club run's recorded failure of one athlete (sync_state.record_failure), as status says it."""
    return f"the last sync failed ({dt.datetime.fromtimestamp(failure['at']):%Y-%m-%d %H:%M}): {failure['message']}"


def _print_webhooks(settings: Settings, out) -> None:
    from pipelines.webhooks.store import EventStore

    store = EventStore(settings.home)
    subscription = store.subscription()
    if subscription is None:
        return
    counts = store.counts()
    print(f"Strava webhooks: subscription {subscription['id']} -> {subscription['callback_url']}; events "
          f"{counts.get('pending', 0)} pending, {counts.get('applied', 0)} applied, {counts.get('ignored', 0)} ignored",
          file=out)


def _print_garmin(settings: Settings, con, out) -> None:
    """The Garmin side: the wellness landed, the last day, the key's and the token's state."""
    from pipelines.garmin.errors import KEY_REJECTED, TOKEN_REVOKED
    from pipelines.garmin.sync import files_left
    from pipelines.garmin.tokens import TokenCache

    if settings.garmin_api_key:
        key = "set (GARMIN_PERSONAL_API_KEY)"
    elif settings.garmin_configured:
        key = f"set (key file {settings.garmin_key_file})"
    else:
        key = "not set (GARMIN_PERSONAL_API_KEY or ~/.config/garmin/connect-personal-api-key)"
    last = con.execute("select status, message, finished_at from raw.sync_runs where kind = 'garmin-sync' "
                       "order by started_at desc limit 1").fetchone()
    if last and last[1] in (KEY_REJECTED, TOKEN_REVOKED):
        key += f"; REJECTED by Garmin at the last sync ({last[2]:%Y-%m-%d %H:%M}): create a new key"
    token = TokenCache(settings.garmin_token_file).load()
    if token is not None:
        key += f"; access token valid until {dt.datetime.fromtimestamp(token.expires_at):%Y-%m-%d %H:%M}"
    kinds = con.execute("""
        select kind, count(*), min(calendar_date), max(calendar_date) from raw.garmin_wellness
        group by kind order by kind""").fetchall()
    if not kinds and not settings.garmin_configured:
        return
    print(f"Garmin key: {key}", file=out)
    names = {"hrv": "HRV nights", "sleep": "sleep nights", "daily_summary": "daily summaries (resting HR)"}
    for kind, days, first, last_day in kinds:
        print(f"Garmin wellness {names.get(kind, kind)}: {days} days, {first} to {last_day}", file=out)
    if kinds:
        print(f"Last wellness day: {max(k[3] for k in kinds)}", file=out)
    todo = files_left(con)
    if todo:
        print(f"Garmin FIT files still to download: {todo}", file=out)


def _print_reports(settings: Settings, out) -> None:
    from pipelines.report.delivery import delivery_history

    rows = delivery_history(settings, limit=3)
    if rows:
        print("Last report deliveries:", file=out)
    for row in rows:
        print(f"  week of {row['week_start']}: {row['status']} to {row['recipients']} at {row['at'][:16]}"
              + (f" ({row['error']})" if row.get("error") else ""), file=out)
