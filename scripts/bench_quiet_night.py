"""Where a night's `trainsmart sync` spends its time, on a half-year athlete (about 160 activities).

    uv run python scripts/bench_quiet_night.py [--years 0.5] [--nights 2]

It serves the sample athlete from the local Strava-compatible API, runs a first sync
(not timed), then, each with the as-of date moved one day on (TRAINSMART_AS_OF, the
injectable clock of the models):
  * quiet nights: nothing new upstream (2 list requests, the marts must still move a day);
  * a night with three changes: one activity added, one edited, one deleted;
  * the same night again: nothing new and the same as-of date;
  * `trainsmart build` on that day.
Each is the real CLI in a subprocess. The breakdown comes from the run's own records:
Dagster's event log (TRAINSMART_HOME/logs/trainsmart.log), dbt's dbt.log and
run_results.json (TRAINSMART_HOME/dbt/target/), and the snapshot publish line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.sandbox.sample_athlete import generate_sample_athlete  # noqa: E402
from pipelines.sandbox.strava_server import FakeStrava  # noqa: E402

END = dt.date(2026, 11, 22)
DAGSTER_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ (\S+) - \S+ - \d+ - (?:(\S+) - )?([A-Z_]+) - ")
PUBLISH = re.compile(r"published the snapshot in ([\d.]+) s")
DBT_SCOPE = re.compile(r"dbt build scope: (\w+)")


def _ts(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def run_cli(env: dict, *args: str) -> tuple[float, float, subprocess.CompletedProcess]:
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env, capture_output=True, text=True)
    return start, time.time(), proc


def breakdown(home: Path, log_offset: int, dbt_offset: int, start: float, end: float) -> dict:
    """Seconds per phase of the one run appended to the logs since the offsets."""
    text = (home / "logs" / "trainsmart.log").read_text()[log_offset:]
    events: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        m = DAGSTER_LINE.match(line)
        if m:
            events.setdefault((m.group(3) or "", m.group(4)), _ts(m.group(1)))
    out = {"wall": end - start}
    run_start = events.get(("", "RUN_START"))
    run_end = events.get(("", "RUN_SUCCESS")) or events.get(("", "RUN_FAILURE"))
    if run_start:
        out["python + dagster start-up"] = run_start - start
    if run_end:
        out["after the run (exit)"] = end - run_end
    for step in ("strava_sync", "dbt_models"):
        a, b = events.get((step, "STEP_START")), events.get((step, "STEP_SUCCESS"))
        if a and b:
            out[f"step {step}"] = b - a
    publish = PUBLISH.search(text)
    out["snapshot publish"] = float(publish.group(1)) if publish else 0.0
    scope = DBT_SCOPE.search(text)
    out["scope"] = scope.group(1) if scope else "?"
    dbt_log = home / "dbt" / "target" / "dbt.log"
    if "step dbt_models" in out and out["scope"] != "skip" and dbt_log.exists():  # a skip leaves the last results
        events = {}
        dbt_text = dbt_log.read_text(errors="replace")
        rotated = dbt_log.with_name("dbt.log.1")  # dbt rotates dbt.log at 10 MB, maybe during the run
        if len(dbt_text) < dbt_offset and rotated.exists():
            dbt_text = rotated.read_text(errors="replace")[dbt_offset:] + dbt_text
        else:
            dbt_text = dbt_text[dbt_offset:]
        for line in dbt_text.splitlines():
            if line.startswith("{"):
                info = json.loads(line)["info"]
                events.setdefault(info["name"], dt.datetime.fromisoformat(info["ts"].replace("Z", "+00:00")).timestamp())
        dbt_started = events.get("MainReportVersion")
        # CommandCompleted is a debug event; at dbt.log's info level the summary line is the last
        dbt_ended = events.get("CommandCompleted") or events.get("StatsLine")
        if dbt_started and dbt_ended:
            out["dbt process start-up"] = dbt_started - (run_step_start(text) or dbt_started)
            out["dbt parse"] = events.get("FoundStats", dbt_started) - dbt_started
            out["dbt execution"] = dbt_ended - events.get("FoundStats", dbt_started)
            out["partial parse"] = "no" if "UnableToPartialParse" in events else "yes"
            out["after dbt (events, publish)"] = events_after(text, dbt_ended)
        results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
        out["dbt models (sum)"] = sum(r["execution_time"] for r in results["results"] if r["unique_id"].startswith("model."))
        out["dbt tests (sum)"] = sum(r["execution_time"] for r in results["results"]
                                     if r["unique_id"].startswith(("test.", "unit_test.")))
        out["dbt tests run"] = sum(1 for r in results["results"] if r["unique_id"].startswith(("test.", "unit_test.")))
    return out


def run_step_start(text: str) -> float | None:
    """When the dbt step decided its scope (just before it starts dbt)."""
    for line in text.splitlines():
        if "dbt build scope:" in line:
            return _ts(line[:23])
    return None


def events_after(text: str, dbt_end: float) -> float:
    """From dbt's end to the dbt step's success: Dagster's events, the build record, the snapshot."""
    for line in text.splitlines():
        m = DAGSTER_LINE.match(line)
        if m and m.group(3) == "dbt_models" and m.group(4) == "STEP_SUCCESS":
            return _ts(m.group(1)) - dbt_end
    return 0.0


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=0.5)
    parser.add_argument("--nights", type=int, default=2, help="quiet nights to time")
    args = parser.parse_args()
    athlete = generate_sample_athlete(END, seed=7, years=args.years)
    with tempfile.TemporaryDirectory(prefix="trainsmart-bench-") as tmp, \
            FakeStrava(athlete, scope="read,activity:read_all,profile:read_all", read_limit_15min=1000,
                       read_limit_daily=10000, overall_limit_15min=2000, overall_limit_daily=20000) as fake:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STRAVA_", "ATHLETE_", "SMTP_", "REPORT_"))}
        env.update(TRAINSMART_HOME=str(home), TRAINSMART_DB=str(home / "training.duckdb"),
                   STRAVA_BASE_URL=fake.base_url, STRAVA_CLIENT_ID=fake.client_id,
                   STRAVA_CLIENT_SECRET=fake.client_secret, STRAVA_REFRESH_TOKEN=fake.current_refresh_token,
                   DBT_SEND_ANONYMOUS_USAGE_STATS="false", DAGSTER_DISABLE_TELEMETRY="true")
        day = END + dt.timedelta(days=1)
        env["TRAINSMART_AS_OF"] = day.isoformat()
        _, _, first = run_cli(env, "sync")
        if first.returncode:
            sys.exit(first.stderr[-3000:])
        print(f"athlete: {len(athlete.activities)} activities; first sync done", flush=True)

        def timed(label: str, *cli_args: str) -> dict:
            log, dbt_log = home / "logs" / "trainsmart.log", home / "dbt" / "target" / "dbt.log"
            offsets = size(log), size(dbt_log)
            fake.reset_log()
            start, end, proc = run_cli(env, *cli_args)
            if proc.returncode:
                sys.exit(f"{label}: exit {proc.returncode}: {proc.stderr[-2000:]}")
            row = breakdown(home, *offsets, start, end)
            row["label"], row["requests"] = label, fake.api_request_count()
            return row

        rows = []
        for _ in range(args.nights):
            day += dt.timedelta(days=1)
            env["TRAINSMART_AS_OF"] = day.isoformat()
            rows.append(timed(f"quiet night {day}", "sync"))
        day += dt.timedelta(days=1)
        env["TRAINSMART_AS_OF"] = day.isoformat()
        acts = fake.activities()
        recent = acts[-1]
        fake.add_activity(dict(recent, id=None, name="Added overnight"),
                          fake.streams_of(int(recent["id"])) if recent.get("has_heartrate") else None)
        fake.edit_activity(int(acts[-3]["id"]), name="Renamed overnight")
        fake.delete_activity(int(acts[-2]["id"]))
        rows.append(timed(f"3 changes {day}", "sync"))
        rows.append(timed(f"same day again {day}", "sync"))
        rows.append(timed(f"trainsmart build {day}", "build"))

    keys = ["wall", "python + dagster start-up", "step strava_sync", "step dbt_models", "dbt process start-up",
            "dbt parse", "dbt execution", "dbt models (sum)", "dbt tests (sum)", "after dbt (events, publish)",
            "snapshot publish", "after the run (exit)"]
    print(f"\n{'seconds':<28}" + "".join(f"{r['label'][:26]:>28}" for r in rows))
    for key in keys:
        print(f"{key:<28}" + "".join(f"{r[key]:>28.1f}" if isinstance(r.get(key), float) else f"{'-':>28}"
                                      for r in rows))
    for key in ("requests", "scope", "dbt tests run", "partial parse"):
        print(f"{key:<28}" + "".join(f"{str(r.get(key, '-')):>28}" for r in rows))
    print(f"\nmachine yardstick: a fresh `python -c 'import dagster, dagster_dbt'` takes {import_yardstick():.2f} s")


def import_yardstick() -> float:
    """The best of three cold starts of Python with Dagster and dagster-dbt: how fast this machine
    is, so figures from different machines can be compared."""
    times = []
    for _ in range(3):
        start = time.time()
        subprocess.run([sys.executable, "-c", "import dagster, dagster_dbt"], check=True)
        times.append(time.time() - start)
    return min(times)


if __name__ == "__main__":
    main()
