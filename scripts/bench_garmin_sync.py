"""The Garmin sync's cost on the two-year sample watch: wall time and requests.

    uv run python scripts/bench_garmin_sync.py [--years 2] [--nights 2]

It serves the sample athlete's Garmin watch (activities, FIT files, wellness) from the
local Garmin-compatible API and measures, each as the real CLI in a subprocess
(`trainsmart sync` with only Garmin configured: the Garmin landing, then the dbt build):
  * the first sync: requests by kind (token, profile, activity pages, FIT downloads,
    HRV / sleep / daily-summary chunks) and wall time, with the Garmin step alone;
  * quiet nights: the as-of date moved one day on (TRAINSMART_AS_OF), nothing new upstream;
    the cached token expired first, so the exchange is included.
Not a test: figures for the README and the issue note.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.sandbox.garmin_server import FakeGarmin  # noqa: E402
from pipelines.sandbox.garmin_watch import generate_sample_garmin_watch  # noqa: E402

END = dt.date(2026, 11, 22)
KEY = "bench-garmin-key"


def run_cli(env: dict, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def garmin_step_seconds(home: Path) -> float | None:
    """The last garmin-sync run's own duration, from raw.sync_runs in the snapshot."""
    import duckdb

    con = duckdb.connect(str(home / "training.snapshot.duckdb"), read_only=True)
    try:
        row = con.execute("select epoch(finished_at) - epoch(started_at) from raw.sync_runs "
                          "where kind = 'garmin-sync' order by started_at desc limit 1").fetchone()
        return row[0] if row else None
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--nights", type=int, default=2)
    args = parser.parse_args()

    t = time.perf_counter()
    watch = generate_sample_garmin_watch(END, years=args.years)
    with_hr = sum(1 for a in watch.activities if "averageHR" in a)
    print(f"sample watch: {len(watch.activities)} activities ({with_hr} with heart rate), "
          f"{len(watch.hrv)} HRV nights, {len(watch.sleep)} sleep days, {len(watch.daily)} daily summaries "
          f"(generated in {time.perf_counter() - t:.1f} s)")
    fake = FakeGarmin(watch, api_key=KEY)
    base = fake.start()
    home = Path(tempfile.mkdtemp(prefix="bench-garmin-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRAVA_", "GARMIN_", "ATHLETE_"))}
    env.update(TRAINSMART_HOME=str(home), TRAINSMART_DB=str(home / "training.duckdb"), HOME=str(home),
               GARMIN_PERSONAL_API_BASE_URL=base, GARMIN_PERSONAL_API_KEY=KEY, TRAINSMART_AS_OF=END.isoformat(),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false", DAGSTER_DISABLE_TELEMETRY="true")
    try:
        wall, proc = run_cli(env, "sync")
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            return 1
        kinds = collections.Counter(r.kind for r in fake.requests)
        print(f"first sync: {wall:.1f} s wall (Garmin step {garmin_step_seconds(home):.1f} s), "
              f"{len(fake.requests)} requests: {json.dumps(dict(sorted(kinds.items())))}")
        day = END
        for night in range(1, args.nights + 1):
            day += dt.timedelta(days=1)
            fake.set_today(day)
            env["TRAINSMART_AS_OF"] = day.isoformat()
            (home / "garmin_token.json").unlink(missing_ok=True)  # a day later the token has expired
            fake.reset_log()
            wall, proc = run_cli(env, "sync")
            if proc.returncode != 0:
                print(proc.stderr[-3000:])
                return 1
            kinds = collections.Counter(r.kind for r in fake.requests)
            print(f"quiet night {night}: {wall:.1f} s wall (Garmin step {garmin_step_seconds(home):.1f} s), "
                  f"{len(fake.requests)} requests: {json.dumps(dict(sorted(kinds.items())))}")
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
