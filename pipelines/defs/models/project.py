"""The dbt project as Dagster sees it, with its manifest kept fresh.

`dagster dev` re-parses on start (prepare_if_dev); the CLI and tests parse only when a
model, macro, seed or the project file is newer than the manifest (a few seconds, once).
"""

import os

from dagster_dbt import DbtProject

from pipelines.config import DBT_PROJECT_DIR

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


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
        dbt_project.preparer.prepare(dbt_project)


if dbt_project.preparer.using_dagster_dev():
    dbt_project.prepare_if_dev()
else:
    ensure_manifest()
