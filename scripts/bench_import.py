"""Benchmark the bulk-export import against the parsing libraries alone.

    uv run python scripts/bench_import.py [--activities 1000] [--keep DIR]

1. generates the sample athlete and writes a Strava-like export of N activities
   (FIT/GPX/TCX files, mostly gzipped, as in real exports);
2. parses every file of it with the parsing library alone (fitdecode, gpxpy,
   ElementTree), in this process: the floor any importer written in Python pays;
3. imports it with `import_export` into a fresh database, with one parsing process and
   with one per CPU, then imports it again (nothing to do);
4. prints activities/s and stream samples/s for each, and the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gzip
import io
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402
import fitdecode  # noqa: E402
import gpxpy  # noqa: E402

from pipelines.config import load_settings  # noqa: E402
from pipelines.imports.pool import cpu_count, default_jobs, parse_in_order, release  # noqa: E402
from pipelines.sandbox.sample_export import write_sample_export  # noqa: E402
from pipelines.imports.strava_export import import_export  # noqa: E402
from pipelines.sandbox.sample_athlete import generate_sample_athlete  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return (f"{cpu}, {cpus} CPUs available{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, fitdecode {fitdecode.__version__}, gpxpy {gpxpy.__version__}, "
            f"duckdb {duckdb.__version__}")


def sample_athlete(n: int):
    """The generated sample athlete, cut to its n most recent activities."""
    years = 2.0
    while True:
        athlete = generate_sample_athlete(dt.date(2026, 3, 1), seed=7, years=years)
        if len(athlete.activities) >= n:
            break
        years *= 1.5
    athlete.activities = sorted(athlete.activities, key=lambda a: a["start_date"])[-n:]
    keep = {a["id"] for a in athlete.activities}
    athlete.streams = {k: v for k, v in athlete.streams.items() if k in keep}
    return athlete


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the parsing workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def raw_parse(zip_path: Path) -> tuple[float, int, int]:
    """Seconds, files and samples to read every activity file with its library alone."""
    files = samples = 0
    elapsed = 0.0
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            if not name.startswith("activities/"):
                continue
            data = zf.read(name)
            if name.endswith(".gz"):
                data = gzip.decompress(data)
            t0 = time.perf_counter()
            if ".fit" in name:
                with fitdecode.FitReader(io.BytesIO(data)) as fit:
                    samples += sum(1 for frame in fit
                                   if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name == "record")
            elif ".gpx" in name:
                gpx = gpxpy.parse(data.decode("utf-8"))
                samples += sum(len(s.points) for t in gpx.tracks for s in t.segments)
            else:
                root = ET.fromstring(data.lstrip())  # Strava's TCX: whitespace before the declaration
                samples += len(root.findall(".//{*}Trackpoint"))
            elapsed += time.perf_counter() - t0
            files += 1
    return elapsed, files, samples


def timed_import(settings, zip_path: Path, jobs: int | None):
    t0, c0 = time.perf_counter(), cpu_seconds()
    summary = import_export(settings, zip_path, jobs=jobs)
    return time.perf_counter() - t0, cpu_seconds() - c0, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--activities", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="keep the export and databases in this folder")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="trainsmart-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"Machine: {machine()}")
        t0 = time.perf_counter()
        athlete = sample_athlete(args.activities)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        zip_path = write_sample_export(athlete, work / "export_bench.zip")
        write_s = time.perf_counter() - t0
        with zipfile.ZipFile(zip_path) as zf:
            kinds: dict[str, int] = {}
            for n in zf.namelist():
                if n.startswith("activities/"):
                    kinds[n.split(".", 1)[1]] = kinds.get(n.split(".", 1)[1], 0) + 1
        n_acts = len(athlete.activities)
        print(f"Export: {n_acts} activities, files {dict(sorted(kinds.items()))}, "
              f"{zip_path.stat().st_size / 1e6:.1f} MB (generated in {gen_s:.1f} s, written in {write_s:.1f} s)")

        c0 = cpu_seconds()
        parse_s, files, samples = raw_parse(zip_path)
        parse_cpu = cpu_seconds() - c0
        print(f"Libraries alone (fitdecode / gpxpy / ElementTree, 1 process): {files} files, {samples:,} samples "
              f"in {parse_s:.1f} s = {files / parse_s:.1f} files/s, {samples / parse_s:,.0f} samples/s "
              f"(CPU {parse_cpu:.1f} s incl. unzipping)")

        names = [n for n in zipfile.ZipFile(zip_path).namelist() if n.startswith("activities/")]
        t0, c0 = time.perf_counter(), cpu_seconds()
        ours = sum(r.samples for _, r in parse_in_order(("zip", str(zip_path), ""), names, 1) if hasattr(r, "samples"))
        ours_s, ours_cpu = time.perf_counter() - t0, cpu_seconds() - c0
        release()
        print(f"trainsmart's parsers alone (pipelines.imports.parsers, 1 process): {ours:,} samples in {ours_s:.1f} s "
              f"= {ours / ours_s:,.0f} samples/s (CPU {ours_cpu:.1f} s)")

        base = load_settings()
        rows = []
        cpus = cpu_count()
        print(f"load average {os.getloadavg()[0]:.1f} on {cpus} CPUs (other work on the machine); "
              f"the default uses {default_jobs(files)} parsing process(es)")
        for label, jobs in (("1 process", 1), (f"{cpus} parsing processes", cpus)):
            folder = work / f"db-{jobs or 'default'}"
            shutil.rmtree(folder, ignore_errors=True)
            settings = dataclasses.replace(base, db_path=folder / "training.duckdb", home=folder, timezone=None)
            secs, cpu, summary = timed_import(settings, zip_path, jobs)
            rows.append((label, secs, summary))
            print(f"import_export, {label}: {summary.landed} activities, {summary.samples:,} samples in {secs:.1f} s "
                  f"= {summary.landed / secs:.1f} activities/s, {summary.samples / secs:,.0f} samples/s "
                  f"({summary.samples / secs / (samples / parse_s):.2f}x the libraries' sample rate; "
                  f"CPU {cpu:.1f} s in all processes)")
            if jobs != 1:
                secs2, _, again = timed_import(settings, zip_path, None)
                print(f"re-import (nothing changed): {again.unchanged} unchanged in {secs2:.1f} s")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
