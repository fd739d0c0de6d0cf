"""The dbt project as Dagster sees it, with its manifest kept fresh.

`dagster dev` re-parses on start (prepare_if_dev); the CLI and tests parse only when a
model, macro, seed or the project file is newer than the manifest (a few seconds, once).
"""

import contextlib
import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.config import DBT_PROJECT_DIR

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """dbt from this environment even when its bin/ is not on PATH (systemd, `.venv/bin/dagster dev`)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@contextlib.contextmanager
def _dbt_on_path():
    """dagster-dbt's preparer runs `dbt` by name: this environment's dbt comes first on PATH meanwhile."""
    exe, old = Path(dbt_executable()), os.environ.get("PATH")
    if exe.is_absolute():
        os.environ["PATH"] = os.pathsep.join(p for p in (str(exe.parent), old) if p)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def _newest_source_mtime() -> float:
    newest = 0.0
    for sub in ("models", "macros", "seeds", "tests", "snapshots"):
        for path in (DBT_PROJECT_DIR / sub).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        if (DBT_PROJECT_DIR / name).exists():
            newest = max(newest, (DBT_PROJECT_DIR / name).stat().st_mtime)
    return newest


def ensure_manifest() -> None:
    manifest = dbt_project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        with _dbt_on_path():
            dbt_project.preparer.prepare(dbt_project)


if dbt_project.preparer.using_dagster_dev():
    with _dbt_on_path():
        dbt_project.prepare_if_dev()
else:
    ensure_manifest()
