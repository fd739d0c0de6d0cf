"""`dbt build` of a test database as the pipeline runs it: this environment's dbt (started
from the worker's warm interpreter, tests/warm_python.py), the as-of date as TRAINSMART_AS_OF
(not a var), none of the athlete's own settings.

Every build parses partially from one seed (PARSE_SEED): dbt keeps a parse only for the same
profile, and the database path is part of it, so each build runs in its database's folder
with the path relative (`training.duckdb` for all of them). A full parse in each new folder
cost about 2 s of a 6-s build; dbt still re-parses any file that changed since the seed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR
from tests.warm_python import run_module


# set per session by conftest (shared by the xdist workers); None: every build parses on its own
PARSE_SEED: Path | None = None


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
    target = (workdir / "target").absolute()
    parse = target / "partial_parse.msgpack"
    if PARSE_SEED is not None and PARSE_SEED.exists() and not parse.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PARSE_SEED, parse)
    # dbt.cli.main is the module behind this environment's `dbt` executable (dbt_executable())
    proc = run_module(
        "dbt.cli.main",
        ["build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str((workdir / "logs").absolute()),
         *(["--exclude", " ".join(excluded)] if excluded else [])],
        timeout=600, env=dbt_env(Path(db_path.name), as_of), cwd=db_path.parent,
    )
    if PARSE_SEED is not None and proc.returncode == 0 and parse.exists():
        _share(parse, PARSE_SEED)
    return proc


def _share(parse: Path, seed: Path) -> None:
    """The newest parse becomes the seed: copied beside it, then renamed into place (atomic, so
    a build starting meanwhile copies a whole file)."""
    seed.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=seed.parent, prefix=".seed-")
    os.close(fd)
    shutil.copyfile(parse, partial)
    os.replace(partial, seed)


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
