"""The dbt models (staging -> intermediate -> marts) as Dagster assets; dbt tests become asset checks."""

import json
import os
import time
from functools import cached_property
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from packaging.version import Version

from pipelines import landing, profiles, progress, warehouse
from pipelines.config import load_settings
from pipelines.defs.models import build_scope
from pipelines.defs.models.project import dbt_executable, dbt_project, load_manifest


# The import assets (pipelines/defs/imports/) land in raw.activities, raw.streams and
# raw.stream_fetches like the Strava sync; as upstreams of the models reading those tables,
# the import jobs run the import before `dbt build` (without the edge Dagster may start dbt first).
IMPORT_ASSET_KEYS = (dg.AssetKey(["imports", "strava_export"]), dg.AssetKey(["imports", "device_files"]))
IMPORTED_RAW_TABLES = {"activities", "streams", "stream_fetches"}


class TrainsmartTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = self.get_resource_props(manifest, unique_id)
        sources = [n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("source.")]
        if unique_id.startswith("model.") and any(n.rsplit(".", 1)[-1] in IMPORTED_RAW_TABLES for n in sources):
            spec = spec.merge_attributes(deps=IMPORT_ASSET_KEYS)
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else None
        return {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}.get(layer, "models")


class TrainsmartDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without its two per-build start-up costs, which doubled a quiet night.

    Before every `dbt build` it ran `dbt --version` in a subprocess (about 4 s: a whole dbt
    start-up) and loaded a dbt adapter with the project's macros in this process (about 1 s),
    which only serves column metadata we do not ask for. The dbt it runs is this
    environment's own (`dbt_executable()`, or a wrapper of it), so its version is the
    installed dbt-core's.
    """

    @cached_property
    def _cli_version(self) -> Version:
        from dbt.version import __version__

        return Version(__version__)

    def _initialize_dbt_core_adapter(self, args):
        return None


class BuildConfig(dg.Config):
    # auto: the smallest scope that keeps the marts right (build_scope.py); or skip, models, data, full
    scope: str = "auto"


SCOPE_SAYS = {
    "skip": "nothing new since the last build for this day: the models are up to date",
    "models": "building the models for the new day (nothing new landed; data tests run when data changes)",
    "data": "building the models and their data tests (new data landed)",
    "full": "building the models with every data and unit test",
    "full without unit tests": "building the models with every data test (the unit tests passed for this "
                               "project on this machine already)",
}


MANIFEST = load_manifest()
UNIT_TESTS_RECORD_DIR = dbt_project.manifest_path.parent  # build_scope.unit_tests_passed


@dbt_assets(manifest=MANIFEST, project=dbt_project,
            dagster_dbt_translator=TrainsmartTranslator(), name="dbt_models")
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: BuildConfig):
    """`dbt build` of what changed since the last build (build_scope.py), under the writer lock,
    after writing the athlete profiles (roster or ATHLETE_* variables) into
    raw.athlete_profiles; then the read snapshot is published."""
    settings = load_settings()
    os.environ["TRAINSMART_DB"] = str(settings.db_path)  # dbt's profile reads it; must be absolute
    dbt_vars = settings.dbt_vars()  # no profile, no as-of date (TRAINSMART_AS_OF): vars stay fixed, parsing partial
    with warehouse.writer_lock(settings.db_path, on_wait=lambda: progress.say("waiting for another run to finish")):
        con = warehouse.connect_writer(settings.db_path)  # the raw schema exists even before a sync
        try:
            # the athlete profiles are data: written first, so a changed profile is a data change
            con.execute("begin transaction")
            try:
                profiles.write_profiles(con, settings)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
            current = build_scope.BuildState(data=build_scope.data_fingerprint(con), as_of=settings.as_of_date().isoformat(),
                                             project=build_scope.project_fingerprint(dbt_vars))
            scope = build_scope.decide(build_scope.last_build(con), current, config.scope)
        finally:
            con.close()
        if scope == "skip" and not settings.snapshot_path.exists():
            scope = "models"
        unit_key = build_scope.unit_test_key(current.project)
        unit_tests = build_scope.with_unit_tests(scope, config.scope, unit_key, UNIT_TESTS_RECORD_DIR)
        context.log.info(f"dbt build scope: {scope} (as of {current.as_of}; unit tests "
                         f"{'run' if unit_tests else 'not run'})")
        progress.say(SCOPE_SAYS["full without unit tests" if scope == "full" and not unit_tests else scope])
        if scope == "skip":
            return
        # one stable target folder under TRAINSMART_HOME (dagster-dbt would leave a new ~10 MB
        # folder in the checkout per run); stable also lets dbt parse partially
        target = settings.home / "dbt" / "target"
        args = build_scope.dbt_args(scope, MANIFEST, unit_tests=unit_tests)
        invocation = dbt.cli(["build", "--vars", json.dumps(dbt_vars), *args], context=context, target_path=target)
        tests = DbtTestCount()
        yield from _asset_events(invocation, context, tests)
        if tests.results:
            context.log.info(tests.summary())
        if unit_tests:
            build_scope.record_unit_tests_passed(unit_key, UNIT_TESTS_RECORD_DIR)
        con = warehouse.connect_writer(settings.db_path)
        try:
            build_scope.record_build(con, current, landing.utcnow())
        finally:
            con.close()
        started = time.monotonic()
        warehouse.publish_snapshot(settings.db_path, settings.snapshot_path)
        context.log.info(f"published the snapshot in {time.monotonic() - started:.2f} s")


class DbtTestCount:
    """The dbt test results of a build without asset checks, counted instead of recorded."""

    def __init__(self):
        self.results = 0
        self.warned: list[str] = []

    def add(self, raw_event: dict) -> None:
        self.results += 1
        if raw_event["data"].get("status") == "warn":
            self.warned.append(raw_event["data"]["node_info"].get("node_name", "?"))

    def summary(self) -> str:
        warned = f", {len(self.warned)} warned: {', '.join(self.warned)}" if self.warned else ""
        return f"dbt data tests: {self.results} results, none failed{warned} (this job records no asset checks)"


def _asset_events(invocation, context: dg.AssetExecutionContext, tests: DbtTestCount):
    """dagster-dbt's events for the models and seeds. In a job without asset checks (nightly,
    imports) it would record each dbt test as a warning plus an observation of every model
    the test reads: some 440 events per data build, each a write to Dagster's event log, that
    say no more than the build's success. Those are counted instead; a failing test still
    fails the build (the stream raises at its end)."""
    checks = bool(context.selected_asset_check_keys)
    for event in invocation.stream_raw_events():
        unique_id = event.raw_event["data"].get("node_info", {}).get("unique_id") or ""
        if not checks and unique_id.startswith(("test.", "unit_test.")):
            if event.is_result_event:
                tests.add(event.raw_event)
            continue
        yield from event.to_default_asset_events(
            manifest=invocation.manifest, dagster_dbt_translator=invocation.dagster_dbt_translator,
            context=context, target_path=invocation.target_path, project=invocation.project)


defs = dg.Definitions(
    assets=[dbt_models],
    resources={"dbt": TrainsmartDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())},
)
