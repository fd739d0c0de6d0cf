"""Spark `local[2]` against DuckDB on the same raw data, and a paper estimate for 10,000 athletes.

    uv sync --locked --extra spark        # pyspark and dbt-spark; Java 17 must be installed
    uv run --extra spark python scripts/bench_spark_build.py [--clubs 0x0,20x2] [--keep DIR]

For each size in --clubs ("<athletes>x<years>"; the sample athlete's two years always
come first, so 0x0 is the sample alone): the raw data is landed as the Spark test lands it
(pipelines/sandbox/sample_club.py), then measured, each as a real process:
  1. DuckDB: `dbt build` (target local, every model, seed, data test and unit test);
  2. the raw Parquet export (`trainsmart export-raw`);
  3. Spark: `trainsmart build --engine spark` (the export again, the raw views, `dbt build
     --target spark`), which is what a user runs.
Each gives wall seconds, CPU seconds (user + system of every process in the tree, the JVM
included, sampled from /proc every half second: steadier than wall time on a shared
machine) and the peak resident memory of the whole tree (the JVM is a grandchild of the
dbt process).

From two sizes, the cost per athlete-year is the difference divided by the difference in
athlete-years, the rest a fixed cost (start-up, parse, per-node overhead). The estimate
for 10,000 athletes x 5 years scales the per-athlete-year rows, Parquet bytes and Spark
CPU seconds of the largest size, and says which cluster builds it in an hour.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2026, 11, 22)
SAMPLE_YEARS = 2.0
GIB = 1024 ** 3
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
TARGET_ATHLETES, TARGET_YEARS = 10_000, 5


@dataclass
class Measured:
    wall: float
    cpu: float
    peak_rss: int
    returncode: int


class TreeMeter:
    """Samples a process tree from /proc: the peak of its summed resident memory, and each
    process's own CPU seconds as last seen (the JVM is a grandchild that nobody waits for,
    so the rusage of wait4 would leave it out)."""

    def __init__(self, root: int, every: float = 0.5):
        self.root = root
        self.peak_rss = 0
        self._cpu: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    @property
    def cpu(self) -> float:
        return sum(self._cpu.values())

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self, every: float) -> None:
        while not self._done.wait(every):
            self._sample()

    def _sample(self) -> None:
        children: dict[int, list[int]] = {}
        stats: dict[int, list[str]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss, todo = 0, [self.root]
        while todo:
            pid = todo.pop()
            fields = stats.get(pid)
            if fields:
                rss += int(fields[21]) * PAGE
                self._cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, own
            todo += children.get(pid, [])
        self.peak_rss = max(self.peak_rss, rss)


def measured(cmd: list[str], env: dict, log: Path) -> Measured:
    """Run cmd to the end; its wall seconds, and the CPU seconds and peak RSS of its process tree."""
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        meter = TreeMeter(proc.pid)
        proc.wait()
        meter.stop()
    # (not wait4's rusage: it adds the children a process waited for, which the meter counts already)
    return Measured(time.monotonic() - start, meter.cpu, meter.peak_rss, proc.returncode)


def bench_size(athletes: int, years: float, work: Path) -> dict:
    from pipelines.config import beside_interpreter, load_settings
    from pipelines.exports.raw_parquet import MANIFEST
    from pipelines.sandbox.sample_club import land_sample_club
    from pipelines.warehouse import connect_writer, publish_snapshot, writer_lock

    home = work / f"club-{athletes}x{years:g}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ATHLETE_", "STRAVA_", "GARMIN_")) and k != "TRAINSMART_ATHLETES"}
    env.update(TRAINSMART_HOME=str(home), TRAINSMART_DB=str(home / "training.duckdb"),
               TRAINSMART_AS_OF=AS_OF.isoformat(), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               DAGSTER_DISABLE_TELEMETRY="1")
    os.environ.update(env)
    settings = load_settings()
    con = connect_writer(settings.db_path)
    try:
        land_sample_club(con, settings, AS_OF, athletes, years)
        raw_rows = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                    for t in ("activities", "streams", "stream_fetches", "athlete_profiles")}
    finally:
        con.close()
    with writer_lock(settings.db_path):
        publish_snapshot(settings.db_path, settings.snapshot_path)

    python, dbt = sys.executable, beside_interpreter("dbt")
    project = str(ROOT / "dbt_project")
    duck = measured([dbt, "build", "--target", "local", "--project-dir", project, "--profiles-dir", project,
                     "--target-path", str(home / "duck-target"), "--log-path", str(home / "duck-logs")],
                    env, home / "duckdb-build.log")
    export = measured([python, "-m", "pipelines.cli", "export-raw", str(home / "raw-parquet")], env,
                      home / "export.log")
    manifest = json.loads((home / "raw-parquet" / MANIFEST).read_text())
    parquet_bytes = {t: sum(f.stat().st_size for f in (home / "raw-parquet" / t).rglob("*.parquet"))
                     for t in manifest["tables"]}
    spark = measured([python, "-m", "pipelines.cli", "build", "--engine", "spark"], env, home / "spark-build.log")
    results = json.loads((home / "spark" / "target" / "run_results.json").read_text())
    return {"athletes": athletes + 1, "athlete_years": SAMPLE_YEARS + athletes * years, "raw_rows": raw_rows,
            "parquet_bytes": parquet_bytes, "duck": duck, "export": export, "spark": spark,
            "spark_nodes": len(results["results"]), "spark_dbt_elapsed": results["elapsed_time"]}


def line(name: str, m: Measured) -> str:
    ok = "" if m.returncode == 0 else f"  FAILED (exit {m.returncode})"
    return f"  {name:<34} {m.wall:>7.0f} s wall {m.cpu:>7.0f} s CPU {m.peak_rss / GIB:>6.2f} GiB peak{ok}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clubs", default="0x0,20x2", help="sizes as <athletes>x<years>, comma-separated")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = [tuple(float(x) for x in size.lower().split("x")) for size in args.clubs.split(",")]
    runs = []
    for athletes, years in sizes:
        r = bench_size(int(athletes), years, work)
        runs.append(r)
        print(f"sample + {int(athletes)} athletes x {years:g} years = {r['athletes']} athletes, "
              f"{r['athlete_years']:g} athlete-years: {r['raw_rows']['activities']:,} activities, "
              f"{r['raw_rows']['streams']:,} samples; Parquet {sum(r['parquet_bytes'].values()) / 2**20:,.1f} MiB "
              f"(streams {r['parquet_bytes'].get('streams', 0) / 2**20:,.1f} MiB)")
        print(line("DuckDB dbt build", r["duck"]))
        print(line("raw Parquet export", r["export"]))
        print(line(f"Spark build ({r['spark_nodes']} dbt nodes)", r["spark"]))
        print(f"  Spark dbt elapsed {r['spark_dbt_elapsed']:.0f} s", flush=True)

    big = runs[-1]
    per_ay = {t: n / big["athlete_years"] for t, n in big["raw_rows"].items()}
    bytes_per_ay = sum(big["parquet_bytes"].values()) / big["athlete_years"]
    stream_bytes_per_sample = big["parquet_bytes"].get("streams", 0) / max(big["raw_rows"]["streams"], 1)
    if len(runs) > 1:
        small = runs[0]
        span = big["athlete_years"] - small["athlete_years"]
        spark_cpu_per_ay = (big["spark"].cpu - small["spark"].cpu) / span
        duck_cpu_per_ay = (big["duck"].cpu - small["duck"].cpu) / span
        fixed = small["spark"].cpu - spark_cpu_per_ay * small["athlete_years"]
        print(f"\nPer athlete-year: Spark {spark_cpu_per_ay:.1f} CPU s, DuckDB {duck_cpu_per_ay:.2f} CPU s; "
              f"Spark's fixed cost {fixed:.0f} CPU s ({big['spark_nodes']} nodes)")
    else:
        spark_cpu_per_ay = big["spark"].cpu / big["athlete_years"]  # an upper bound: fixed cost included
        print(f"\nPer athlete-year (fixed cost included): Spark {spark_cpu_per_ay:.1f} CPU s")
    target_ay = TARGET_ATHLETES * TARGET_YEARS
    rows = {t: n * target_ay for t, n in per_ay.items()}
    core_seconds = spark_cpu_per_ay * target_ay
    cores = max(8, -(-int(core_seconds / 3600 / 0.7) // 8) * 8)  # an hour at 70 % efficiency, 8-core steps
    print(f"\n{TARGET_ATHLETES:,} athletes x {TARGET_YEARS} years ({target_ay:,} athlete-years), on paper:")
    print(f"  raw rows: {rows['activities']:,.0f} activities, {rows['streams']:,.0f} samples "
          f"(at this sample's recording; the issue's 100 billion at 1 Hz would be "
          f"{100e9 * stream_bytes_per_sample / 1e12:,.1f} TB of Parquet)")
    print(f"  Parquet: {bytes_per_ay * target_ay / 1e9:,.1f} GB ({stream_bytes_per_sample:.2f} bytes per sample)")
    print(f"  Spark: {core_seconds / 3600:,.0f} core-hours of this machine's cores -> about {cores} cores "
          f"({cores // 8} executors of 8 cores and 32 GiB) for a full rebuild in an hour")


if __name__ == "__main__":
    main()
