"""The dbt project on Spark (target `spark`, dbt-spark method session) over the raw Parquet export.

What `trainsmart build --engine spark` and `make test-spark` run (docs/scale-out.md):

1. the raw export into TRAINSMART_HOME/raw-parquet (pipelines/exports/raw_parquet.py);
2. the export's tables as views in Spark's schema raw (`dbt run-operation register_raw_parquet`,
   dbt_project/macros/spark_raw_parquet.sql), only when its columns changed since the last
   registration: the views live in the metastore under TRAINSMART_HOME/spark and Spark lists
   the files at every query, so a new export of the same columns needs no new views;
3. `dbt build --target spark`: every mart as Parquet under TRAINSMART_HOME/spark/marts/<mart>/.

Spark's embedded Derby metastore takes one process at a time, so every step holds
TRAINSMART_HOME/spark/metastore.lock (the Dagster side adds a pool of 1).
Needs the `spark` extra (`uv sync --locked --extra spark`) and Java 17.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR, Settings, dbt_executable
from pipelines.errors import UserError
from pipelines.exports.raw_parquet import MANIFEST, default_export_dir, export_raw
from pipelines.locks import LockTimeout, file_lock

REGISTERED = "raw_views.json"  # the export columns the views in schema raw were made for


class SparkUnavailable(UserError):
    """pyspark, dbt-spark or Java is missing."""


@dataclass(frozen=True)
class SparkBuild:
    returncode: int
    output: str          # dbt's stdout and stderr of the last step that ran
    seconds: float
    registered: bool     # the raw views were (re)made in this run
    marts_dir: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def spark_dir(settings: Settings) -> Path:
    return settings.home / "spark"


def check_spark() -> None:
    """Raise SparkUnavailable, one sentence, when this environment cannot run the Spark target."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        raise SparkUnavailable("The Spark target needs the spark extra: run `uv sync --locked --extra spark` "
                               "(or `make test-spark`), then try again.")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkUnavailable("Spark needs Java 17: install it (Debian: apt-get install openjdk-17-jre-headless) "
                               "or set JAVA_HOME, then try again.")


def dbt_env(settings: Settings, extra: dict | None = None) -> dict:
    """The environment of a Spark dbt process: TRAINSMART_HOME absolute (the profile's Spark paths)."""
    env = dict(os.environ)
    env.update(TRAINSMART_HOME=str(settings.home.resolve()), TRAINSMART_DB=str(settings.db_path),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    if settings.as_of:
        env["TRAINSMART_AS_OF"] = settings.as_of.isoformat()
    env.update(extra or {})
    return env


def _dbt(args: list[str], workdir: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [dbt_executable(), *args, "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(workdir / "target"),
         "--log-path", str(workdir / "logs")],
        env=env, cwd=workdir, capture_output=True, text=True)


def _export_columns(export_dir: Path) -> dict:
    manifest = json.loads((export_dir / MANIFEST).read_text())
    return {name: table["columns"] for name, table in manifest["tables"].items()}


def build_on_spark(settings: Settings, *, export: bool = True, build_args: tuple[str, ...] = ("build",),
                   env: dict | None = None, lock_wait_seconds: float = 3600) -> SparkBuild:
    """Export (unless export=False), register the raw views when needed, then `dbt <build_args>` on Spark."""
    check_spark()
    start = time.monotonic()
    home = spark_dir(settings)
    home.mkdir(parents=True, exist_ok=True)
    export_dir = default_export_dir(settings)
    if export:
        export_raw(settings, export_dir)
    elif not (export_dir / MANIFEST).exists():
        raise UserError(f"There is no raw export in {export_dir}; run `trainsmart export-raw {export_dir}` first.")
    env = dbt_env(settings, env)
    try:
        with file_lock(home / "metastore.lock", wait_seconds=lock_wait_seconds):
            columns = _export_columns(export_dir)
            stamp = home / REGISTERED
            registered = False
            if (not stamp.exists() or json.loads(stamp.read_text()) != columns
                    or not (home / "metastore_db").exists()):
                proc = _dbt(["run-operation", "register_raw_parquet"], home, env)
                if proc.returncode != 0:
                    return SparkBuild(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start, False,
                                      home / "marts")
                stamp.write_text(json.dumps(columns))
                registered = True
            proc = _dbt(list(build_args), home, env)
    except LockTimeout:
        raise UserError(f"Another Spark build is using {home}; try again when it has finished.") from None
    return SparkBuild(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start, registered, home / "marts")
