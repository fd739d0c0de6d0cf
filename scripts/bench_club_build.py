"""Measure `dbt build` on a generated club: wall time, dbt's model time and peak memory.

    uv run python scripts/bench_club_build.py [--athletes 1000] [--years 5] [--stream-weeks 12]
        [--sample-seconds 5] [--keep DIR [--reuse]] [--timeout 900]

The club (pipelines/sandbox/club_generator.py) is written by SQL straight into a fresh DuckDB
file's raw tables, with the pipeline's own DDL: 1,000 athletes x 5 years is about 1.3
million activities (Strava JSON, about 1.6 KB each), profiles of every kind in
raw.athlete_profiles, a bulk export's second copy of older activities for a tenth of the
athletes, and for the athletes with a Garmin account (`--garmin-share`, default 0.3) daily
wellness (HRV, sleep, resting heart rate) and a Garmin copy of each of their activities.

Heart-rate streams: one row per sample in raw.streams. Every activity with heart rate at
1 Hz would be some 4 billion rows (about 700 million at a watch's 5 s smart recording), and
no club deployment gets there: the sync fetches one stream per request, and Strava's
default budget of 1,000 requests a day, shared by the whole club, covers not even a day of
a 1,000-athlete club's activities. So the streams are those of the last `--stream-weeks`
weeks (default 12: what a deployment keeps up with; `all` for every activity), sampled
every `--sample-seconds` seconds on average (default 5, like the sample athlete's watch;
1 = every-second recording). Older activities fall back to their average heart rate
(METRICS.md section 3), which is what a deployment would have.

Then, each as a real dbt process (this environment's dbt, the project's profiles.yml and
its DuckDB settings, the as-of date as TRAINSMART_AS_OF as the pipeline passes it):
  1. `dbt build`: every model, seed, data test and unit test (the pipeline's full build,
     as `trainsmart build` and the weekly report run it), with a cold parse;
  2. `dbt run`: every model (what a night with nothing new ran before the scope `models`
     left out the models no date can change), then a quiet night as the pipeline runs it
     now: the as-of date a day on, the models the date reaches (build_scope.dbt_args);
  3. a night: one more day of activities and streams landed, the as-of date one day on,
     then `dbt build` of the models and data tests (the scope of a night with new data;
     the models are all tables rebuilt in full, there are no incremental models), and the
     pipeline's own work around it: the raw data's fingerprint and the read snapshot.
For each: wall seconds, dbt's elapsed time (run_results.json, without start-up and parse),
the sum of the models' and of the tests' execution times (2 dbt threads, so a sum can
exceed the elapsed time), the CPU seconds of the dbt process (user + system: on a machine
shared with other jobs a steadier figure than wall time), and its peak resident memory,
DuckDB included (VmHWM of the dbt process, read from /proc while it runs). The 10 slowest models and 5 slowest
tests of the full build are listed. Any dbt step that outlasts --timeout is stopped and
reported as such.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from pipelines import warehouse  # noqa: E402
from pipelines.config import DBT_PROJECT_DIR  # noqa: E402
from pipelines.defs.models import build_scope  # noqa: E402
from pipelines.defs.models.project import dbt_executable  # noqa: E402
from pipelines.sandbox.club_generator import ClubSpec, add_day, generate_club  # noqa: E402

END = dt.date(2026, 11, 22)  # a Sunday
RAW_TABLES = ("activities", "streams", "stream_fetches", "athlete", "athlete_zones", "athlete_profiles", "garmin_wellness")
MARTS = ("activities", "daily_training_load", "daily_wellness", "weekly_training_summary", "training_flags")
GIB = 1024 ** 3


class PeakRss:
    """The peak resident memory (VmHWM) of a running process, read from /proc until it ends."""

    def __init__(self, pid: int, every: float = 0.2):
        self.bytes = 0
        self._path = Path(f"/proc/{pid}/status")
        self._done = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                for line in self._path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.bytes = max(self.bytes, int(line.split()[1]) * 1024)
            except (OSError, ValueError, IndexError):
                pass  # not started yet, or already gone (a zombie has no VmHWM)
            self._done.wait(self._every)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def dbt(args: list[str], db: Path, workdir: Path, as_of: dt.date, name: str, timeout: float,
        project: Path = DBT_PROJECT_DIR) -> dict:
    """One dbt command as the pipeline runs it; wall, run_results figures and peak RSS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATHLETE_") and k != "TRAINSMART_AS_OF"}
    env.update(TRAINSMART_DB=str(db), TRAINSMART_AS_OF=as_of.isoformat(), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    target = workdir / "target"
    (target / "run_results.json").unlink(missing_ok=True)
    slug = re.sub(r"\W+", "_", name).strip("_")
    log = workdir / f"{slug}.log"
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project),
             "--target-path", str(target), "--log-path", str(workdir / "logs")],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        peak = PeakRss(proc.pid)
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage: its CPU time
        finally:
            timer.cancel()
            peak.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    # ru_maxrss is no use here: Linux starts a child's maxrss at the parent's RSS when it
    # forks (this script's, several GiB after generating a club); VmHWM is the dbt process's own
    rss = peak.bytes or usage.ru_maxrss * 1024
    result = {"name": name, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": rss,
              "rc": proc.returncode,
              "timed_out": wall >= timeout, "log": str(log)}
    results_path = target / "run_results.json"
    if results_path.exists():
        shutil.copy(results_path, workdir / f"run_results_{slug}.json")
        results = json.loads(results_path.read_text())
        nodes = results["results"]
        result.update(
            elapsed=results["elapsed_time"],
            models=sum(r["execution_time"] for r in nodes if r["unique_id"].startswith("model.")),
            tests=sum(r["execution_time"] for r in nodes if r["unique_id"].startswith(("test.", "unit_test."))),
            n_models=sum(1 for r in nodes if r["unique_id"].startswith("model.")),
            n_tests=sum(1 for r in nodes if r["unique_id"].startswith(("test.", "unit_test."))),
            failed=[r["unique_id"] for r in nodes if r["status"] not in ("success", "pass")],
            slowest_models=sorted(((r["execution_time"], r["unique_id"].split(".")[-1]) for r in nodes
                                   if r["unique_id"].startswith("model.")), reverse=True)[:10],
            slowest_tests=sorted(((r["execution_time"], r["unique_id"].split(".")[-2]) for r in nodes
                                  if r["unique_id"].startswith("test.")), reverse=True)[:5],
        )
    return result


def counts(db: Path, schema: str, tables: tuple[str, ...]) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from {schema}.{t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


def db_size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(str(db) + ".wal")) if p.exists())


def fmt_rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{t} {n:,}" for t, n in rows.items())


def step_line(r: dict) -> str:
    if "elapsed" not in r:
        return f"{r['name']:<40} {r['wall']:>7.1f} {r['cpu']:>6.0f} {'-':>9} {'-':>9} {'-':>8} {r['rss'] / GIB:>9.2f}  " \
               f"{'TIMED OUT' if r['timed_out'] else 'failed'} (rc {r['rc']}, {r['log']})"
    note = ""
    if r["timed_out"]:
        note = "  TIMED OUT"
    elif r["rc"] or r["failed"]:
        note = f"  FAILED: {', '.join(r['failed'][:3]) or r['log']}"
    return (f"{r['name']:<40} {r['wall']:>7.1f} {r['cpu']:>6.0f} {r['elapsed']:>9.1f} {r['models']:>9.1f} {r['tests']:>8.1f} "
            f"{r['rss'] / GIB:>9.2f}  {r['n_models']} models, {r['n_tests']} tests{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athletes", type=int, default=1000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--stream-weeks", default="12",
                        help="streams for the HR activities of the last N weeks (0: none, 'all': every one); default 12")
    parser.add_argument("--sample-seconds", type=int, default=5, help="mean seconds between stream samples (default 5)")
    parser.add_argument("--garmin-share", type=float, default=0.3,
                        help="share of athletes with a Garmin account: daily wellness and Garmin copies of their "
                             "activities (default 0.3)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the database, logs and run results in DIR")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: reuse the club already generated there (same arguments) instead of a new one")
    parser.add_argument("--timeout", type=float, default=900, help="seconds after which a dbt step is stopped (900)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["run", "quiet", "night"], help="steps to leave out")
    parser.add_argument("--project-dir", type=Path, default=DBT_PROJECT_DIR,
                        help="the dbt project (and its profiles.yml) to build, e.g. another revision's copy; "
                             "default this checkout's")
    args = parser.parse_args()

    stream_weeks = None if args.stream_weeks == "all" else int(args.stream_weeks)
    spec = ClubSpec(athletes=args.athletes, years=args.years, end_date=END, stream_weeks=stream_weeks,
                    sample_seconds=args.sample_seconds, garmin_share=args.garmin_share, seed=args.seed)
    tmp = None
    if args.keep:
        workdir = args.keep.absolute()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_club_")
        workdir = Path(tmp.name)
    db = workdir / "training.duckdb"
    spec_file = workdir / "club.json"
    spec_json = json.dumps({k: str(v) for k, v in vars(spec).items()}, sort_keys=True)
    streams_said = ("no streams" if stream_weeks == 0 else
                    f"streams: {'all HR activities' if stream_weeks is None else f'HR activities of the last {stream_weeks} weeks'}"
                    f" at ~{spec.sample_seconds} s")
    print(f"club: {spec.athletes:,} athletes x {spec.years:g} years ({spec.first_date} to {END}), {streams_said}, "
          f"{spec.garmin_share:.0%} with Garmin; "
          f"in {workdir}", flush=True)

    night = END + dt.timedelta(days=1)
    load_before = os.getloadavg()[1]
    try:
        reused = args.reuse and db.exists() and spec_file.exists() and json.loads(spec_file.read_text()).get("spec") == spec_json
        if reused:
            state = json.loads(spec_file.read_text())
            generate_s = state["generate_s"]
            warehouse.connect_writer(db).close()  # the raw schema of this checkout (as the pipeline's build)
            print("reusing the club generated before", flush=True)
        else:
            for p in (db, Path(str(db) + ".wal"), spec_file):
                p.unlink(missing_ok=True)
            started = time.monotonic()
            con = warehouse.connect_writer(db)
            try:
                for note in generate_club(con, spec):
                    print(note, flush=True)
                con.execute("checkpoint")
            finally:
                con.close()
            generate_s = time.monotonic() - started
            state = {"spec": spec_json, "generate_s": generate_s, "night_added": False}
            spec_file.write_text(json.dumps(state))
        raw_rows = counts(db, "raw", RAW_TABLES)
        raw_size = db_size(db)
        print(f"generated in {generate_s:.0f} s; raw rows: {fmt_rows(raw_rows)}; database {raw_size / GIB:.2f} GiB",
              flush=True)

        steps = []
        project = args.project_dir.absolute()
        full = dbt(["build"], db, workdir, END, "dbt build (full, cold parse)", args.timeout, project)
        steps.append(full)
        print(step_line(full), flush=True)
        built_size = db_size(db)
        mart_rows = counts(db, "main", MARTS) if not full["rc"] else {}
        if "run" not in args.skip:
            steps.append(dbt(["run"], db, workdir, END, "dbt run (models only)", args.timeout, project))
            print(step_line(steps[-1]), flush=True)
        manifest = json.loads((workdir / "target" / "manifest.json").read_text())  # the full build parsed it
        if "quiet" not in args.skip:
            # the pipeline's scope `models` (build_scope.dbt_args): nothing new, the as-of date a day on
            steps.append(dbt(["build", *build_scope.dbt_args("models", manifest)], db, workdir, night,
                             "quiet night: dbt build (models the date reaches)", args.timeout, project))
            print(step_line(steps[-1]), flush=True)

        extras = []
        if "night" not in args.skip:
            con = warehouse.connect_writer(db)
            try:
                added = None
                if not state.get("night_added"):
                    started = time.monotonic()
                    added = add_day(con, spec, night)
                    con.execute("checkpoint")
                    extras.append(("night: land one day (generator)", time.monotonic() - started,
                                   f"{added:,} activities"))
                    state["night_added"] = True
                    spec_file.write_text(json.dumps(state))
                started = time.monotonic()
                build_scope.data_fingerprint(con)
                extras.append(("night: raw data fingerprint", time.monotonic() - started, "decides the build scope"))
            finally:
                con.close()
            # the pipeline's scope `data` (build_scope.dbt_args) with every model selected, as Dagster does
            steps.append(dbt(["build", "--select", "resource_type:model", *build_scope.dbt_args("data", manifest)],
                             db, workdir, night, "night: dbt build (models + data tests)", args.timeout, project))
            print(step_line(steps[-1]), flush=True)
            started = time.monotonic()
            snapshot = workdir / "training.snapshot.duckdb"
            warehouse.publish_snapshot(db, snapshot)
            extras.append(("night: publish the read snapshot", time.monotonic() - started,
                           f"{snapshot.stat().st_size / GIB:.2f} GiB copy"))
            snapshot.unlink()

        print()
        print(f"== club {spec.athletes:,} athletes x {spec.years:g} years, {streams_said}, "
              f"{spec.garmin_share:.0%} with Garmin (wellness, activity copies)")
        print(f"raw rows: {fmt_rows(raw_rows)}")
        if mart_rows:
            print(f"mart rows: {fmt_rows(mart_rows)}")
        print(f"database: {raw_size / GIB:.2f} GiB raw, {built_size / GIB:.2f} GiB after the build; "
              f"generated in {generate_s:.0f} s")
        print(f"machine: {os.cpu_count()} CPUs, load average (5 min) {load_before:.1f} at the start and "
              f"{os.getloadavg()[1]:.1f} at the end: wall times stretch with the load, CPU seconds much less")
        print()
        print(f"{'step':<40} {'wall s':>7} {'cpu s':>6} {'elapsed s':>9} {'models s':>9} {'tests s':>8} {'peak GiB':>9}")
        for r in steps:
            print(step_line(r))
        for name, seconds, note in extras:
            print(f"{name:<40} {seconds:>7.1f}  {note}")
        if full.get("slowest_models"):
            print("\nslowest models (full build): " + ", ".join(f"{n} {s:.1f} s" for s, n in full["slowest_models"]))
            print("slowest tests (full build): " + ", ".join(f"{n} {s:.1f} s" for s, n in full["slowest_tests"]))
        run = next((r for r in steps if r["name"].startswith("dbt run") and "elapsed" in r), full)
        if "elapsed" in run:
            ok_time = run["elapsed"] < 60
            ok_mem = max(r["rss"] for r in steps) < 4 * GIB
            print(f"\ngoal (models under 60 s, under 4 GiB): {run['name']} took {run['elapsed']:.1f} s of dbt's own "
                  f"time ({run['cpu']:.0f} CPU s) {'met' if ok_time else 'MISSED'}, peak "
                  f"{max(r['rss'] for r in steps) / GIB:.2f} GiB {'met' if ok_mem else 'MISSED'}")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
