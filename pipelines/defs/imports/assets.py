"""The import assets: a Strava bulk export or a folder of device files, landed into the raw
tables the dbt sources read (`trainsmart import-export` / `import-files` run them as jobs)."""

from typing import Any, Callable

import dagster as dg

from pipelines import progress
from pipelines.config import load_settings
from pipelines.imports.common import ImportSummary

PROGRESS_EVERY = 50  # a progress line every 50 activities or files, and at the end


class ImportConfig(dg.Config):
    path: str  # the export zip or its unpacked folder / the folder (or file) of FIT, GPX, TCX files


def _progress(context: dg.AssetExecutionContext) -> Callable[[int, int, str], None]:
    def show(done: int, total: int, name: str) -> None:
        if done == total or done % PROGRESS_EVERY == 0:
            message = f"{done}/{total} {name}"
            context.log.info(message)
            progress.say(message)

    return show


def summary_metadata(summary: ImportSummary) -> dict[str, Any]:
    """The counts of one import, the lines the CLI prints, and whether it finished."""
    lines = summary.lines()
    return {
        "complete": True,  # an import always runs to its end (a failure raises instead)
        "path": summary.path,
        "activities": summary.landed,
        "total": summary.total,
        "new": summary.new,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "deleted": summary.deleted,
        "without_stream": summary.without_stream,
        "manual": summary.manual,
        "streams": summary.streams,
        "samples": summary.samples,
        "skipped": len(summary.skipped),
        "refused": len(summary.refused),
        "skipped_files": [{"name": n, "reason": r} for n, r in summary.skipped],
        "refused_entries": [{"name": n, "reason": r} for n, r in summary.refused],
        "athlete_id": summary.athlete_id,
        "seconds": round(summary.seconds, 3),
        "lines": lines,
        "summary": dg.MetadataValue.md("\n".join(f"- {line.strip()}" for line in lines)),
    }


def _land(context: dg.AssetExecutionContext, importer, path: str) -> dg.MaterializeResult:
    """Run one importer with progress into the log, and its summary as the materialization."""
    summary: ImportSummary = importer(load_settings(), path, progress=_progress(context))
    for line in summary.lines():
        context.log.info(line)
    return dg.MaterializeResult(metadata=summary_metadata(summary))


@dg.asset(
    key=["imports", "strava_export"], group_name="imports", kinds={"python", "duckdb"},
    description="A Strava bulk export (zip or unpacked folder) landed into raw.activities and raw.streams "
                "(source 'export'); re-importing an unchanged export changes nothing.",
)
def strava_export(context: dg.AssetExecutionContext, config: ImportConfig) -> dg.MaterializeResult:
    """`trainsmart import-export PATH`: activities.csv values, HR streams from the activity files."""
    from pipelines.imports.strava_export import import_export

    return _land(context, import_export, config.path)


@dg.asset(
    key=["imports", "device_files"], group_name="imports", kinds={"python", "duckdb"},
    description="FIT / GPX / TCX files (also .gz) from a watch or another platform, landed into "
                "raw.activities and raw.streams (source 'files'); files already imported are not read again.",
)
def device_files(context: dg.AssetExecutionContext, config: ImportConfig) -> dg.MaterializeResult:
    """`trainsmart import-files DIR`: summary values computed from each file itself."""
    from pipelines.imports.device_files import import_files

    return _land(context, import_files, config.path)
