"""The athlete profiles as data: `raw.athlete_profiles`, written right before every `dbt build`.

One `dbt build` serves every athlete with their own thresholds (METRICS.md section 1):
the model `int_athlete_profile` takes the athlete's own row, else the default row
(athlete_id null), else the METRICS.md defaults, and a null value in the row chosen is the
METRICS.md default or derivation too.

- With a roster (`athletes.toml`): one row per roster athlete whose `strava_athlete_id` or
  Garmin account is known, with their `hr_max`, `hr_rest`, `lthr`, `sex`,
  `min_runs_per_week` (unset = null). `athlete_id` is their Strava id, else their Garmin
  owner id (METRICS.md section 1), and `garmin_owner_id` their Garmin account once their
  Garmin sync has learned it (raw.sync_state): int_garmin_owner_athletes maps that
  account's rows to the athlete with it. No default row: an athlete not (yet) in the
  roster gets the METRICS.md defaults.
- Without a roster: only the default row, from ATHLETE_HR_MAX, ATHLETE_HR_REST,
  ATHLETE_LTHR and ATHLETE_SEX (`Settings`); min_runs_per_week stays null (3).

A profile change is therefore a change of the raw data (build scope `data`), not of the
dbt project; `updated_at` is bookkeeping and does not count (build_scope.py).
"""

from __future__ import annotations

import duckdb

from pipelines import landing
from pipelines.config import Settings
from pipelines.roster import load_roster

COLUMNS = ("athlete_id", "hr_max", "hr_rest", "lthr", "sex", "min_runs_per_week", "garmin_owner_id")


def profile_rows(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> list[tuple]:
    """The rows of raw.athlete_profiles (without updated_at), as COLUMNS; the roster athletes'
    Garmin accounts come from `con` (none without it)."""
    from pipelines.garmin.sync import roster_owner_id

    roster = load_roster(settings)
    if roster is None:
        return [(None, settings.hr_max, settings.hr_rest, settings.lthr, settings.sex, None, None)]
    rows: dict[int, tuple] = {}
    owners: set[int] = set()
    for a in roster.athletes:  # the first roster entry of a Strava or Garmin account wins
        owner = roster_owner_id(con, a) if con is not None else None
        owner = owner if owner not in owners else None
        athlete_id = a.strava_athlete_id if a.strava_athlete_id is not None else owner
        if athlete_id is not None and athlete_id not in rows:
            rows[athlete_id] = (athlete_id, a.hr_max, a.hr_rest, a.lthr, a.sex, a.min_runs_per_week, owner)
            owners.add(owner)
    return list(rows.values())


def write_profiles(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Replace the content of raw.athlete_profiles (inside the caller's transaction, if any);
    returns the number of rows written."""
    rows = profile_rows(settings, con)
    now = landing.utcnow()
    con.execute("delete from raw.athlete_profiles")
    if rows:
        con.executemany(
            f"insert into raw.athlete_profiles ({', '.join(COLUMNS)}, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [list(r) + [now] for r in rows],
        )
    return len(rows)
