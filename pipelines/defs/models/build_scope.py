"""What a night's `dbt build` must run, from what changed since the last build.

A quiet night (nothing new upstream) used to cost a full `dbt build`: every model, 140-odd
data tests and the unit tests, about 25 s in all. Yet what can change is known:

| what changed since the last successful build        | scope    | dbt runs                              |
|------------------------------------------------------|----------|---------------------------------------|
| nothing (same raw data, as-of date, project, vars)   | `skip`   | nothing; the marts are already right  |
| only the as-of date (a new day, nothing landed)      | `models` | the models the date reaches (below)   |
| the raw data (landed, edited, deleted; a profile)    | `data`   | the models and every data test        |
| the dbt project or its vars, or no build yet         | `full`   | everything, unit tests included (*)   |

`trainsmart build` and the weekly report job always ask for `full`, so the whole suite
runs at least once a week whatever the nights did.

(*) The unit tests read fixtures, not the warehouse: what they prove depends on the project
files, the vars and the engine (dbt-core, dbt-duckdb, DuckDB), nothing else. So a `full`
scope the build chose itself (a new warehouse, a changed project) leaves them out when they
already passed for exactly that on this machine: `unit_tests_passed` reads a record kept
beside the manifest. Another warehouse, or a fresh TRAINSMART_HOME, then builds
without rerunning them (about 3 s of a build's 8); a requested `full` always runs them.

The raw data's fingerprint hashes the content of every raw table the models read (not
the bookkeeping timestamps a sync bumps without changing anything); it takes well under a
second even for ten years of streams. The athlete profiles are such a table
(raw.athlete_profiles, rewritten from the roster or ATHLETE_* before every build,
pipelines/profiles.py): a changed profile is a data change, an unchanged one changes nothing.

A new date reaches only the models that read the as-of date (the `as_of_date` macro,
directly or through another macro) and everything downstream of them. The rest (staging,
which parses every activity's JSON, and the stream intervals) cannot change when no data
changed, so a quiet night leaves them as the last build made them: `dbt_args("models", ...)`
excludes them, found from the manifest so that a model starting to read the date is
rebuilt without anyone listing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

SCOPES = ("skip", "models", "data", "full")
STATE_KEY = "last_build"
# Bookkeeping tables and columns: they change on every run without changing what the models read.
BOOKKEEPING_TABLES = {"sync_state", "sync_runs"}
BOOKKEEPING_COLUMNS = {"first_seen_at", "updated_at", "fetched_at", "landed_at"}
# What each scope passes to `dbt build` (dbt's own node selection); `models` also leaves out
# the models the date does not reach (dbt_args). Seeds are part of the project: they load
# again only when it changes (scope full).
NOT_MODELS = "resource_type:test resource_type:unit_test resource_type:seed"
DBT_ARGS = {
    # dbt unions repeated --select: the tests join whatever models Dagster selects. Named
    # explicitly, because a job without asset checks (the nightly and import jobs) otherwise
    # runs none of the data tests: Dagster turns dbt's indirect selection off.
    "data": ["--select", "test_type:data", "--exclude", "resource_type:unit_test resource_type:seed"],
    "full": ["--select", "test_type:data test_type:unit"],
}
AS_OF_MACROS = {"macro.trainsmart.as_of_date", "macro.trainsmart.as_of_date_text"}
# beside the manifest (pipelines/defs/models/project.py): the keys whose unit tests passed here
UNIT_TESTS_RECORD = "unit_tests_passed.json"
UNIT_TESTS_KEPT = 50  # keys remembered; older ones run their unit tests again
ENGINE_PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb")


def dbt_args(scope: str, manifest: dict, unit_tests: bool = True) -> list[str]:
    """What `dbt build` gets for a scope (skip never reaches dbt); unit_tests=False leaves a
    full scope's unit tests out (they passed for this project and engine already)."""
    if scope == "models":
        return ["--exclude", " ".join([NOT_MODELS, *date_independent_models(manifest)])]
    if scope == "full" and not unit_tests:
        return ["--select", "test_type:data", "--exclude", "resource_type:unit_test"]  # seeds stay
    return list(DBT_ARGS[scope])


def date_independent_models(manifest: dict) -> list[str]:
    """The models no as-of date can change: they read no as-of macro (directly or through other
    macros) and no model upstream of them does."""
    dated_macros = _reaching(AS_OF_MACROS, {uid: m.get("depends_on", {}).get("macros", [])
                                            for uid, m in manifest["macros"].items()})
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    dated = _reaching(dated_macros, {uid: node["depends_on"]["macros"] + node["depends_on"]["nodes"]
                                     for uid, node in models.items()})
    return sorted(node["name"] for uid, node in models.items() if uid not in dated)


def _reaching(targets: set[str], depends_on: dict[str, list[str]]) -> set[str]:
    """`targets` and every node of `depends_on` that depends on one of them, however indirectly."""
    reached = set(targets)
    while grown := {uid for uid, deps in depends_on.items() if uid not in reached and reached.intersection(deps)}:
        reached |= grown
    return reached


@dataclass(frozen=True)
class BuildState:
    data: str  # fingerprint of the raw tables' content
    as_of: str  # the as-of date the models are built for (YYYY-MM-DD)
    project: str  # fingerprint of the dbt project files and the vars passed


def data_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A hash of the content of every raw table except the bookkeeping (run log, cursor, budget)."""
    tables = [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' order by table_name").fetchall()
        if t not in BOOKKEEPING_TABLES]
    parts = []
    for table in tables:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
            "order by ordinal_position", [table]).fetchall() if c not in BOOKKEEPING_COLUMNS]
        cols = ", ".join(f'"{c}"' for c in columns)
        count, total = con.execute(f'select count(*), coalesce(sum(hash({cols})), 0) from raw."{table}"').fetchone()
        parts.append(f"{table}:{count}:{total}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def project_fingerprint(dbt_vars: dict) -> str:
    """A hash of the dbt project's own files and the vars: a change means the unit tests run again."""
    from pipelines.config import DBT_PROJECT_DIR
    from pipelines.defs.models.project import project_files

    digest = hashlib.sha1(json.dumps(dbt_vars, sort_keys=True).encode())
    for path in project_files():
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def unit_test_key(project: str) -> str:
    """What the unit tests' outcome depends on: the project fingerprint (files and vars) and the
    versions of the engine that runs them."""
    from importlib.metadata import version

    engine = "|".join(f"{name} {version(name)}" for name in ENGINE_PACKAGES)
    return hashlib.sha1(f"{project}|{engine}".encode()).hexdigest()


def with_unit_tests(scope: str, requested: str, key: str, folder: Path) -> bool:
    """Whether a build of `scope` runs the unit tests: a requested `full` always does; a `full`
    the build chose itself only when they have not passed for this key on this machine."""
    return scope == "full" and (requested == "full" or not unit_tests_passed(key, folder))


def unit_tests_passed(key: str, folder: Path) -> bool:
    """Whether the unit tests passed for this key on this machine (the record in `folder`)."""
    return key in _unit_test_record(folder)


def record_unit_tests_passed(key: str, folder: Path) -> None:
    """Add the key to the record: under a lock, so two builds finishing together keep both keys,
    and written whole and renamed into place, so a reader never sees half a file. A folder it
    cannot write (a read-only checkout) keeps no record: the unit tests run each time."""
    from pipelines.locks import LockTimeout, file_lock

    partial = folder / f".{UNIT_TESTS_RECORD}.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with file_lock(folder / f".{UNIT_TESTS_RECORD}.lock", wait_seconds=30):
            keys = [k for k in _unit_test_record(folder) if k != key][-(UNIT_TESTS_KEPT - 1):] + [key]
            partial.write_text(json.dumps(keys))
            os.replace(partial, folder / UNIT_TESTS_RECORD)
    except (OSError, LockTimeout):
        with contextlib.suppress(OSError):
            partial.unlink()


def _unit_test_record(folder: Path) -> list[str]:
    try:
        keys = json.loads((folder / UNIT_TESTS_RECORD).read_text())
    except (OSError, ValueError):
        return []  # no record (or a damaged one): the unit tests run and write a new one
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def last_build(con: duckdb.DuckDBPyConnection) -> BuildState | None:
    row = con.execute("select value from raw.sync_state where key = ?", [STATE_KEY]).fetchone()
    if not row:
        return None
    try:
        return BuildState(**json.loads(row[0]))
    except (TypeError, ValueError):
        return None


def record_build(con: duckdb.DuckDBPyConnection, state: BuildState, when) -> None:
    con.execute("insert or replace into raw.sync_state values (?, ?, ?)", [STATE_KEY, json.dumps(asdict(state)), when])


def decide(previous: BuildState | None, current: BuildState, requested: str = "auto") -> str:
    """The smallest scope that keeps the marts and their checks right (table in the docstring)."""
    if requested in SCOPES:
        return requested
    if requested != "auto":
        from pipelines.config import ConfigError

        raise ConfigError(f"The build scope must be auto, {', '.join(SCOPES)}; got {requested!r}.")
    if previous is None or previous.project != current.project:
        return "full"
    if previous.data != current.data:
        return "data"
    if previous.as_of != current.as_of:
        return "models"
    return "skip"
