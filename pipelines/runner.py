"""Runs the Dagster jobs in process for the CLI, with Dagster's state under TRAINSMART_HOME,
and turns a failed run into the one plain sentence the CLI prints."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from pipelines.config import Settings
from pipelines.errors import one_line, strip_class_prefix, unexpected, user_error_names


@dataclass
class JobOutcome:
    success: bool
    error: str | None = None
    materializations: dict[str, dict[str, Any]] = field(default_factory=dict)


# No telemetry; every pool (`strava`, `garmin`) runs one step at a time across runs, so a
# club's partition backfill and the nightly job never spend the one Strava budget at once.
DAGSTER_YAML = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"


def prepare_environment(settings: Settings) -> None:
    """Point Dagster and dbt at TRAINSMART_HOME; no telemetry; absolute DB path for dbt."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    (settings.home / "logs").mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists() or "concurrency:" not in config.read_text():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    os.environ["TRAINSMART_DB"] = str(settings.db_path)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DBT_LOG_PATH", str(settings.home / "logs"))


# The CLI writes its own log file, so its runs need no compute-log capture: Dagster's local
# capture mirrors stdout/stderr through `tail -F` child processes, which can outlive a failed
# run and keep the caller's pipes open (cron or a script waiting for our output would hang).
NO_COMPUTE_LOG_CAPTURE = {"compute_logs": {"module": "dagster._core.storage.noop_compute_log_manager",
                                           "class": "NoOpComputeLogManager"}}


def cli_instance(settings: Settings):
    """The Dagster instance under TRAINSMART_HOME/dagster (the one `dagster dev` shows), without
    compute-log capture for the CLI's in-process runs."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    ref = InstanceRef.from_dir(str(settings.dagster_home), overrides=NO_COMPUTE_LOG_CAPTURE)
    return DagsterInstance.from_ref(ref)


def run_job(settings: Settings, job_name: str, run_config: dict | None = None, verbose: bool = False,
            tags: dict | None = None, partition_key: str | None = None) -> JobOutcome:
    prepare_environment(settings)
    from pipelines.definitions import defs

    job = defs.resolve_job_def(job_name)
    config = merged(own_run_config(job, partition_key), run_config or {})
    config.setdefault("loggers", {"console": {"config": {"log_level": "DEBUG" if verbose else "CRITICAL"}},
                                  "file": {}})
    # dagster-dbt echoes dbt's log lines on stdout: into the log file unless --verbose
    with cli_instance(settings) as instance, open(settings.log_file, "a") as log, \
            contextlib.redirect_stdout(sys.stdout if verbose else log):
        result = job.execute_in_process(run_config=config, instance=instance, raise_on_error=False,
                                        tags=tags, partition_key=partition_key)
    outcome = JobOutcome(success=result.success)
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            outcome.materializations[mat.asset_key.to_user_string()] = {
                k: getattr(v, "value", v) for k, v in mat.metadata.items()}
        elif event.event_type_value == "STEP_FAILURE" and outcome.error is None:
            outcome.error = _plain_error(event.event_specific_data.error)
    return outcome


def own_run_config(job, partition_key: str | None) -> dict:
    """The run config the job's schedule launches it with (its partition's, or its default).
    Any run config given to execute_in_process replaces it whole, so run_job starts from it:
    the CLI's logger settings must not turn the weekly job's full build into an automatic one."""
    if job.partitioned_config is not None and partition_key is not None:
        return dict(job.partitioned_config.get_run_config_for_partition_key(partition_key) or {})
    return dict(job.run_config or {})


def merged(base: dict, over: dict) -> dict:
    """`over` on top of `base`, nested dicts merged key by key."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _plain_error(error) -> str:
    """The user's sentence from our own exceptions (UserError), without Dagster's
    "module.path.ClassName: " prefix; otherwise a short pointer to the log."""
    chain, e = [], error
    while e is not None:
        chain.append(e)
        e = e.cause or getattr(e, "context", None)
    ours = user_error_names()
    for e in chain:
        if e.cls_name in ours:
            return one_line(strip_class_prefix(e.message, e.cls_name))
    for e in chain:
        if e.cls_name in ("DbtCliError", "DagsterDbtCliRuntimeError"):
            return "The dbt build failed (a model or data test); run with --verbose or see the log under TRAINSMART_HOME/logs."
    last = chain[-1]
    return unexpected((last.message or "").strip().splitlines()[0] if last.message else "", last.cls_name)
