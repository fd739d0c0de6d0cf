"""A club's quiet night: Strava requests and wall time for N athletes (default 100), by
polling and by webhooks.

    .venv/bin/python scripts/bench_club_quiet_night.py [--athletes 100]

A generated club (pipelines/sandbox/strava_server.cloned_club: about nine weeks each) is
served through one local Strava application and synced once (first sync, with room in the
limits). Then the clock of the sync and of the local API moves to the next night, with
nothing new on Strava, and the club syncs again:

- polling: each athlete's activity list is read (one page for a quiet athlete);
- webhooks: the deployment has a push subscription, so the night reads no list at all;
  one pushed event (a new activity) costs its two targeted requests.

Printed: requests, of which list requests, and the wall time of the Strava step (in
process, no dbt build: the models' nightly build is measured by scripts/bench_quiet_night.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--athletes", type=int, default=100)
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="trainsmart-club-bench-"))
    for key in list(os.environ):
        if key.startswith(("STRAVA_", "GARMIN_", "ATHLETE_")):
            del os.environ[key]
    os.environ.update(TRAINSMART_HOME=str(home), TRAINSMART_DB=str(home / "training.duckdb"),
                      STRAVA_WEBHOOK_VERIFY_TOKEN="bench-verify")

    from pipelines.config import load_settings
    from pipelines.sandbox.demo_club import connect_club
    from pipelines.sandbox.strava_server import FakeStrava, cloned_club
    from pipelines.strava.club_sync import run_club_sync
    from pipelines.webhooks.receiver import Receiver
    from pipelines.webhooks.store import EventStore
    from pipelines.webhooks.subscription import subscribe

    now = [time.time()]
    clock = lambda: now[0]  # noqa: E731
    club = cloned_club(args.athletes, dt.datetime.fromtimestamp(now[0], dt.timezone.utc).date())
    fake = FakeStrava(athletes=club, scope="read,activity:read_all,profile:read_all", clock=clock,
                      read_limit_15min=100_000, read_limit_daily=1_000_000, overall_limit_15min=200_000,
                      overall_limit_daily=2_000_000)
    os.environ.update(STRAVA_BASE_URL=fake.start(), STRAVA_CLIENT_ID=fake.client_id,
                      STRAVA_CLIENT_SECRET=fake.client_secret)
    settings = load_settings()
    rows = []
    try:
        roster = connect_club(settings, fake, club)
        t = time.perf_counter()
        first = run_club_sync(settings, roster, clock=clock)
        rows.append(("first sync", first, fake.api_request_count(), time.perf_counter() - t, None))
        assert first.complete, first.message

        def night(label: str) -> None:
            now[0] += 86400
            fake.reset_log()
            t = time.perf_counter()
            result = run_club_sync(settings, roster, clock=clock)
            lists = sum(1 for _, path, _ in fake.request_log if path.endswith("/athlete/activities"))
            rows.append((label, result, fake.api_request_count(), time.perf_counter() - t, lists))

        night("quiet night, polling")
        receiver = Receiver(EventStore(settings.home), "bench-verify", port=0)
        subscribe(settings, receiver.start())
        try:
            night("quiet night, webhooks")
            fake.push_create(dict(club[0].activities[-1], id=int(club[0].activities[-1]["id"]) + 7,
                                  start_date=dt.datetime.fromtimestamp(now[0], dt.timezone.utc)
                                  .strftime("%Y-%m-%dT%H:%M:%SZ")), athlete_id=club[0].athlete["id"])
            time.sleep(0.5)  # the receiver stores the event
            night("one new activity, webhooks")
        finally:
            receiver.stop()
    finally:
        fake.stop()
    print(f"\n{args.athletes} athletes, {sum(len(a.activities) for a in club)} activities "
          f"(about nine weeks each); Strava's default budget is 100 reads per 15 min, 1,000 a day")
    print(f"{'':<28}{'requests':>9}{'lists':>7}{'Strava step':>13}")
    for label, result, requests, seconds, lists in rows:
        print(f"{label:<28}{requests:>9}{'' if lists is None else lists:>7}{seconds:>12.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
