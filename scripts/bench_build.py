"""Measure the full dbt build of a generated athlete: wall seconds, split into dbt start-up
and execution (models and tests), for the 2-year sample athlete and a 10-year athlete.

    uv run python scripts/bench_build.py [--years 2 10]

Each athlete is landed through pipelines.landing into a fresh DuckDB file, then `dbt build`
runs twice (a cold start, which parses the project, and a warm one with partial parsing,
as the nightly job runs). Start-up = wall - dbt's own elapsed time in run_results.json.
"""

from __future__ import annotations

import argparse
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

from pipelines import landing, warehouse  # noqa: E402
from pipelines.config import DBT_PROJECT_DIR  # noqa: E402
from pipelines.sandbox.sample_athlete import generate_sample_athlete  # noqa: E402

END = dt.date(2026, 11, 22)


def land(db: Path, years: float) -> tuple[int, int]:
    athlete = generate_sample_athlete(END, seed=7, years=years)
    con = warehouse.connect_writer(db)
    samples = 0
    with warehouse.transaction(con):
        for activity in athlete.activities:
            landing.upsert_activity(con, "api", activity)
        for activity_id, stream in athlete.streams.items():
            samples += landing.replace_stream(con, "api", int(activity_id), stream, "bench")
    con.close()
    return len(athlete.activities), samples


def dbt_build(db: Path, target: Path) -> dict:
    env = dict(os.environ, TRAINSMART_DB=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "build", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target / "logs"),
         "--vars", json.dumps({"as_of_date": END.isoformat()})],
        env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode:
        sys.exit(proc.stdout[-3000:])
    results = json.loads((target / "run_results.json").read_text())
    elapsed = results["elapsed_time"]
    models = sum(r["execution_time"] for r in results["results"] if r["unique_id"].startswith("model."))
    tests = sum(r["execution_time"] for r in results["results"] if r["unique_id"].startswith(("test.", "unit_test.")))
    return {"wall": wall, "startup": wall - elapsed, "execution": elapsed, "models_sum": models, "tests_sum": tests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, nargs="+", default=[2, 10])
    args = parser.parse_args()
    print(f"{'athlete':<10} {'activities':>10} {'samples':>10} {'run':<5} {'wall s':>7} {'start-up s':>10} "
          f"{'execution s':>11} {'models s':>9} {'tests s':>8}")
    for years in args.years:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "training.duckdb"
            n, samples = land(db, years)
            for run in ("cold", "warm"):
                r = dbt_build(db, Path(tmp) / "target")
                print(f"{years:>4g} years {n:>10,} {samples:>10,} {run:<5} {r['wall']:>7.1f} {r['startup']:>10.1f} "
                      f"{r['execution']:>11.1f} {r['models_sum']:>9.1f} {r['tests_sum']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
