"""The dbt models (staging -> intermediate -> marts) as Dagster assets; dbt tests become asset checks."""

import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines import progress, warehouse
from pipelines.config import load_settings
from pipelines.defs.models.project import dbt_project


class TrainsmartTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else None
        return {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}.get(layer, "models")


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project,
            dagster_dbt_translator=TrainsmartTranslator(), name="dbt_models")
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` with the athlete profile and as-of date as vars, under the writer lock."""
    settings = load_settings()
    os.environ["TRAINSMART_DB"] = str(settings.db_path)  # dbt's profile reads it; must be absolute
    progress.say("building the models (dbt build: models and their tests)")
    with warehouse.writer_lock(settings.db_path, on_wait=lambda: progress.say("waiting for another run to finish")):
        warehouse.connect_writer(settings.db_path).close()  # the raw schema exists even before a sync
        # one stable target folder under TRAINSMART_HOME (dagster-dbt would leave a new ~10 MB
        # folder in the checkout per run); stable also lets dbt parse partially
        target = settings.home / "dbt" / "target"
        yield from dbt.cli(["build", "--vars", json.dumps(settings.dbt_vars())], context=context,
                           target_path=target).stream()
        warehouse.publish_snapshot(settings.db_path, settings.snapshot_path)


def _dbt_executable() -> str:
    """dbt from this environment even when its bin/ is not on PATH (systemd, a direct .venv/bin call)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


defs = dg.Definitions(
    assets=[dbt_models],
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=_dbt_executable())},
)
