"""`dbt build` of a test database as the pipeline runs it: the same executable, the as-of date
as TRAINSMART_AS_OF (not a var), none of the athlete's own settings."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR
from pipelines.defs.models.project import dbt_executable


def dbt_env(db_path: Path, as_of: dt.date) -> dict:
    """The environment without the athlete's own settings, pointed at the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATHLETE_") and k != "TRAINSMART_AS_OF"}
    env.update(TRAINSMART_DB=str(db_path), TRAINSMART_AS_OF=as_of.isoformat(), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    return env


def dbt_build(db_path: Path, workdir: Path, as_of: dt.date, unit_tests: bool = False,
              data_tests: bool = True) -> subprocess.CompletedProcess:
    """Every model and seed, and the data tests unless data_tests=False (a build that is only
    compared with another). The unit tests read fixtures, not the database, so they run once,
    in test_dbt_models.py (unit_tests=True): in every fixture build they cost a third of its
    time (about 4 s) and assert nothing new."""
    excluded = ([] if unit_tests else ["resource_type:unit_test"]) + ([] if data_tests else ["resource_type:test"])
    return subprocess.run(
        [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
         *(["--exclude", " ".join(excluded)] if excluded else [])],
        env=dbt_env(db_path, as_of), capture_output=True, text=True, cwd=workdir,
    )


def query_rows(db_path: Path, sql: str, *params) -> list[dict]:
    """The rows of a query on a built database, as dicts by column name (read-only)."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
