"""`trainsmart demo` / `make demo`: the whole pipeline on the bundled sample athlete.

It serves the generated athlete from the package's Strava-compatible API and their Garmin
watch (activities, FIT files, two years of HRV, resting HR and sleep) from its
Garmin-compatible API, both on 127.0.0.1; syncs both with the real clients into data/demo/
(never your own database), builds the models and prints where everything is.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from pathlib import Path

from pipelines import warehouse
from pipelines.config import beside_interpreter, load_settings

DEMO_HOME = Path("data/demo")
# Strava's real default is 100 reads per 15 minutes and 1,000 a day; the demo's first sync
# needs about 450, so the local API grants more (a real first backfill spans several nights).
DEMO_READ_LIMIT_15MIN = 1000
DEMO_READ_LIMIT_DAILY = 10000
DEMO_GARMIN_KEY = "sandbox-garmin-key"  # the local Garmin API's key, not a real one


def run_demo(export: bool = False, verbose: bool = False, club: bool = False) -> int:
    if club:  # `demo --club`: a coach's deployment (pipelines/sandbox/demo_club.py)
        from pipelines.sandbox.demo_club import run_club_demo

        return run_club_demo(verbose=verbose)
    from pipelines.runner import run_job
    from pipelines.sandbox.garmin_server import FakeGarmin
    from pipelines.sandbox.garmin_watch import garmin_watch_for
    from pipelines.sandbox.strava_server import FakeStrava
    from pipelines.sandbox.sample_athlete import generate_sample_athlete

    home = DEMO_HOME.absolute()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["TRAINSMART_HOME"] = str(home)
    os.environ["TRAINSMART_DB"] = str(home / "training.duckdb")
    end_date = dt.date.today() - dt.timedelta(days=1)
    athlete = generate_sample_athlete(end_date)
    print(f"Sample athlete: {len(athlete.activities)} activities from "
          f"{athlete.activities[0]['start_date_local'][:10]} to {end_date}", file=sys.stderr)

    if export:
        return _demo_export(athlete, home, verbose)

    fake = FakeStrava(athlete, scope="read,activity:read_all,profile:read_all", read_limit_15min=DEMO_READ_LIMIT_15MIN, read_limit_daily=DEMO_READ_LIMIT_DAILY,
                      overall_limit_15min=2 * DEMO_READ_LIMIT_15MIN, overall_limit_daily=2 * DEMO_READ_LIMIT_DAILY)
    garmin = FakeGarmin(garmin_watch_for(athlete), api_key=DEMO_GARMIN_KEY)
    base_url, garmin_url = fake.start(), garmin.start()
    try:
        for stale in ("strava_token.json", "garmin_token.json"):  # these servers issue fresh tokens
            (home / stale).unlink(missing_ok=True)
        os.environ.update(STRAVA_BASE_URL=base_url, STRAVA_CLIENT_ID=fake.client_id,
                          STRAVA_CLIENT_SECRET=fake.client_secret, STRAVA_REFRESH_TOKEN=fake.current_refresh_token,
                          GARMIN_PERSONAL_API_BASE_URL=garmin_url, GARMIN_PERSONAL_API_KEY=DEMO_GARMIN_KEY)
        settings = load_settings()
        print(f"Local Strava-compatible API at {base_url} and Garmin-compatible API at {garmin_url}; "
              f"syncing into {settings.db_path}", file=sys.stderr)
        full = {"config": {"full": False}}
        outcome = run_job(settings, "sync_and_build", verbose=verbose,
                          run_config={"ops": {"strava_sync": full, "garmin_sync": full, **LAND_ONLY}})
        if not outcome.success:
            print(outcome.error, file=sys.stderr)
            return 1
        sync = outcome.materializations.get("strava/activities", {})
        print(f"{sync.get('message')}: {sync.get('requests')} API requests, {fake.api_request_count()} seen by the server.",
              file=sys.stderr)
        sync = outcome.materializations.get("garmin/activities", {})
        print(f"{sync.get('message')}: {sync.get('requests')} requests ({sync.get('files_fetched')} FIT files, "
              f"{sync.get('wellness_days')} wellness days).", file=sys.stderr)
    finally:
        fake.stop()
        garmin.stop()
    return build_with_checks(settings, verbose) or _print_summary(settings)


# The demo lands with the nightly job, then builds once with `trainsmart build`'s job, so the
# Dagster UI shows every dbt test as a passed asset check (the nightly job records none).
LAND_ONLY = {"dbt_models": {"config": {"scope": "skip"}}}


def build_with_checks(settings, verbose: bool) -> int:
    from pipelines.runner import run_job

    outcome = run_job(settings, "build_models", verbose=verbose)  # the job's own config: scope full
    if not outcome.success:
        print(outcome.error, file=sys.stderr)
        return 1
    return 0


def _demo_export(athlete, home: Path, verbose: bool) -> int:
    from pipelines.sandbox.sample_export import write_sample_export
    from pipelines.runner import run_job

    for key in ("STRAVA_CLIENT_ID", "STRAVA_CLIENT_SECRET", "STRAVA_REFRESH_TOKEN", "STRAVA_BASE_URL",
                "GARMIN_PERSONAL_API_KEY", "GARMIN_PERSONAL_API_BASE_URL"):
        os.environ.pop(key, None)
    settings = load_settings()
    archive = write_sample_export(athlete, home / "sample_export.zip")
    print(f"Sample bulk export written to {archive}; importing without any API access", file=sys.stderr)
    # the same job as `trainsmart import-export`: the import asset, then the dbt models
    outcome = run_job(settings, "import_export_and_build", verbose=verbose,
                      run_config={"ops": {"imports__strava_export": {"config": {"path": str(Path(archive).absolute())}},
                                          **LAND_ONLY}})
    for line in outcome.materializations.get("imports/strava_export", {}).get("lines") or []:
        print(line, file=sys.stderr)
    if not outcome.success:
        print(outcome.error, file=sys.stderr)
        return 1
    return build_with_checks(settings, verbose) or _print_summary(settings)


def _print_summary(settings) -> int:
    from pipelines.report import run_report

    report = run_report(settings, out_dir=Path("out").absolute())
    con = warehouse.connect_reader(settings.snapshot_path)
    try:
        rows = con.execute("""
            select category, count(*) as activities, count(*) filter (where source = 'garmin') as from_garmin,
                   round(sum(distance_km), 1) as km
            from main.activities group by category order by activities desc""").fetchall()
        recovery = con.execute("""
            select week_start, flag, message from main.training_flags
            where flag in ('hrv_suppressed', 'resting_hr_elevated', 'short_sleep', 'trained_on_low_readiness')
            order by week_start desc, flag limit 6""").fetchall()
    finally:
        con.close()
    print(f"\nDatabase: {settings.db_path}")
    print(f"Snapshot for ad hoc SQL: {settings.snapshot_path}")
    html = next((f for f in report.files if f.suffix == ".html"), None)
    print(f"Weekly report for the week of {report.week_start}: {html} (and its .eml beside it)")
    print("Activities per category (of which only on the Garmin watch, not on Strava):")
    for category, n, garmin, km in rows:
        print(f"  {category:<10} {n:>5} ({garmin:>2})  {km or 0:>8} km")
    if recovery:
        print("Recovery flags from the Garmin watch (HRV, resting HR, sleep), latest first:")
        for week, flag, message in recovery:
            print(f"  week of {week}: {flag}: {message}")
    env = f"TRAINSMART_HOME={DEMO_HOME} TRAINSMART_DB={DEMO_HOME / 'training.duckdb'}"
    print("\nTry a query:")
    print(f'  {env} uv run trainsmart sql "select week_start, run_distance_km, easy_share, weekly_load '
          f'from weekly_training_summary order by week_start desc limit 12"')
    ui_env, ui_argv = dagster_ui_command(settings)
    print("\nSee these runs in the Dagster UI (then open http://127.0.0.1:3000):")
    print("  " + " ".join([f"{k}={shlex.quote(v)}" for k, v in ui_env.items()] + [shlex.join(ui_argv)]))
    return 0


def dagster_ui_command(settings) -> tuple[dict[str, str], list[str]]:
    """`dagster dev` on this run's own Dagster home and database: the variables to set and the
    argv. Absolute paths, and dagster from this interpreter's bin/, so it works from the
    checkout with or without an activated venv."""
    workspace = Path(__file__).resolve().parents[2] / "workspace.yaml"
    env = {"DAGSTER_HOME": str(settings.dagster_home), "TRAINSMART_HOME": str(settings.home),
           "TRAINSMART_DB": str(settings.db_path)}
    return env, [beside_interpreter("dagster"), "dev", "-w", str(workspace)]
