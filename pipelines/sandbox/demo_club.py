"""`trainsmart demo --club`: a coach's deployment on a generated club of eight athletes.

The athletes (different seeds: their own volume, habits and easy/hard mix; their own heart
rate profiles in the roster) are served through ONE local Strava application, as a real
club's athletes share one API application and its rate budget. One of them has withdrawn
trainsmart's access on Strava, so the run shows how one athlete's failure is reported
while the others sync. Everything lands in data/demo-club/, then every athlete's weekly
report and the coach's digest are written to out/club/.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from pipelines.config import load_settings
from pipelines.roster import Athlete, Roster, roster_path, save_roster

CLUB_HOME = Path("data/demo-club")
CLUB_OUT = Path("out/club")
REVOKED = 5  # the athlete who withdrew trainsmart's access on Strava
# The club's first sync needs about 1,100 requests: on Strava's defaults (100 per 15 min,
# 1,000 a day) that is two nights of windows; the local API grants more so the demo ends.
CLUB_READ_LIMIT_15MIN = 3000
# (hr_max, hr_rest, lthr, sex, min_runs_per_week) per athlete; None: derived from their data
PROFILES = [(190, 48, 172, "F", 3), (None, None, None, None, None), (198, 52, 178, "M", 4), (182, 45, 165, "F", 3),
            (205, 55, 185, "M", 5), (188, 50, 170, "M", 3), (None, 44, None, "F", 2), (194, 47, 176, None, 4)]


def connect_club(settings, fake, club: list, profiles=None, coach: list[str] | None = None) -> Roster:
    """A roster of the local API's athletes (runner-00, runner-01...), each connected with
    their own refresh token, as `trainsmart auth --athlete KEY --refresh-token T` does."""
    from pipelines.strava.auth import store_refresh_token

    members = []
    for i, sample in enumerate(club):
        first = sample.athlete.get("firstname") or f"Runner{i}"
        hr_max, hr_rest, lthr, sex, runs = (profiles or [(None,) * 5] * len(club))[i % len(profiles or [0])]
        member = Athlete(f"runner-{i:02d}", f"{first} {sample.athlete.get('lastname') or ''}".strip(),
                         [f"runner-{i:02d}@club.example"], "Europe/Zurich", hr_max=hr_max, hr_rest=hr_rest,
                         lthr=lthr, sex=sex, min_runs_per_week=runs)
        token = store_refresh_token(settings, fake.refresh_token_of(sample.athlete["id"]),
                                    member.strava_token_file(settings))
        member.strava_athlete_id = token.athlete_id
        members.append(member)
    roster = Roster(roster_path(settings), members, list(coach or []))
    save_roster(roster)
    return roster


def run_club_demo(verbose: bool = False) -> int:
    from pipelines.report.club import run_weekly
    from pipelines.runner import run_job
    from pipelines.sandbox.demo import LAND_ONLY, build_with_checks
    from pipelines.sandbox.strava_server import FakeStrava, club_athletes

    home = CLUB_HOME.absolute()
    home.mkdir(parents=True, exist_ok=True)
    for key in list(os.environ):
        if key.startswith(("STRAVA_", "GARMIN_", "ATHLETE_")):
            del os.environ[key]
    os.environ.update(TRAINSMART_HOME=str(home), TRAINSMART_DB=str(home / "training.duckdb"),
                      TRAINSMART_ATHLETES=str(home / "athletes.toml"))
    end_date = dt.date.today() - dt.timedelta(days=1)
    club = club_athletes(8, end_date, years=0.5)
    print(f"Club: {len(club)} generated athletes, {sum(len(a.activities) for a in club)} activities over half a "
          "year, served through one local Strava application", file=sys.stderr)
    fake = FakeStrava(athletes=club, scope="read,activity:read_all,profile:read_all",
                      read_limit_15min=CLUB_READ_LIMIT_15MIN, read_limit_daily=10 * CLUB_READ_LIMIT_15MIN,
                      overall_limit_15min=2 * CLUB_READ_LIMIT_15MIN, overall_limit_daily=20 * CLUB_READ_LIMIT_15MIN)
    base_url = fake.start()
    try:
        os.environ.update(STRAVA_BASE_URL=base_url, STRAVA_CLIENT_ID=fake.client_id,
                          STRAVA_CLIENT_SECRET=fake.client_secret)
        settings = load_settings()
        for stale in (home / "athletes").glob("*/strava_token.json"):  # this server issues fresh tokens
            stale.unlink()
        roster = connect_club(settings, fake, club, PROFILES, coach=["coach@club.example"])
        fake.deauthorize(athlete_id=club[REVOKED].athlete["id"])
        print(f"Roster: {roster.path} ({len(roster.athletes)} athletes; {roster.athletes[REVOKED].key} has "
              "withdrawn trainsmart's access on Strava)", file=sys.stderr)
        outcome = run_job(settings, "sync_and_build", verbose=verbose, run_config={"ops": {
            "strava_sync": {"config": {"full": False}}, "garmin_sync": {"config": {"full": False, "skip": True}},
            **LAND_ONLY}})
        if not outcome.success:
            print(outcome.error, file=sys.stderr)
            return 1
        sync = outcome.materializations.get("strava/activities", {})
        print(f"{sync.get('message')}: {sync.get('requests')} API requests on the one shared budget", file=sys.stderr)
        for line in sync.get("athlete_lines") or []:
            print(f"  {line}", file=sys.stderr)
    finally:
        fake.stop()
    if build_with_checks(settings, verbose):
        return 1
    run = run_weekly(settings, out_dir=CLUB_OUT.absolute())
    for line in run.lines():
        print(line)
    print(f"\nDatabase: {settings.db_path} (every athlete; `select athlete_id, week_start, run_distance_km "
          "from weekly_training_summary`)")
    print(f"Try: TRAINSMART_HOME={CLUB_HOME} TRAINSMART_DB={CLUB_HOME / 'training.duckdb'} "
          f"TRAINSMART_ATHLETES={CLUB_HOME / 'athletes.toml'} uv run trainsmart athletes list")
    return 0
