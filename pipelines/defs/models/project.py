"""The dbt project as Dagster sees it, with its manifest kept fresh.

`dagster dev` re-parses on start (prepare_if_dev); the CLI and tests parse only when a
model, macro, seed or the project file is newer than the manifest (a few seconds, once).
"""

import contextlib
import json
import os
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.config import DBT_PROJECT_DIR, dbt_executable
from pipelines.locks import file_lock

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# dbt's own dbt.log at info, not debug: every node's result and every error, without the
# text of each SQL statement, whose logging took a tenth of a build's CPU (0.8 of 7.9 s for
# the sample athlete). DBT_LOG_LEVEL_FILE=debug brings the statements back.
os.environ.setdefault("DBT_LOG_LEVEL_FILE", "info")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


@contextlib.contextmanager
def _dbt_on_path():
    """dagster-dbt's preparer runs `dbt` by name: the folder of dbt_executable() comes first on PATH meanwhile."""
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


def project_files() -> list[Path]:
    """Every file dbt reads from the project: what a changed manifest (and build scope) follows."""
    files = [path for sub in ("models", "macros", "seeds", "tests", "snapshots")
             for path in sorted((DBT_PROJECT_DIR / sub).rglob("*")) if path.is_file()]
    return files + [DBT_PROJECT_DIR / name for name in ("dbt_project.yml", "profiles.yml")
                    if (DBT_PROJECT_DIR / name).exists()]


def load_manifest() -> dict:
    """The manifest, parsed again first when `dagster dev` starts or a project file is newer.

    Under a lock: processes starting together (test workers, the daemon and the webserver)
    never parse at the same time nor read a manifest another one is still writing."""
    manifest = dbt_project.manifest_path
    with file_lock(manifest.with_name(".manifest.lock"), wait_seconds=600):
        with _dbt_on_path():
            if dbt_project.preparer.using_dagster_dev():
                dbt_project.prepare_if_dev()
            elif not manifest.exists() or manifest.stat().st_mtime < max(p.stat().st_mtime for p in project_files()):
                dbt_project.preparer.prepare(dbt_project)
        return json.loads(manifest.read_text())
