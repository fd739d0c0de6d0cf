"""Importers that need no Strava API: the Strava bulk export and device files (FIT/GPX/TCX).

    from pipelines.imports import import_export, import_files, ImportInputError
    summary = import_export(settings, "export_12345.zip", progress=lambda done, total, name: ...)
    print("\\n".join(summary.lines()))

See docs/imports.md. The heavy modules load on first use.
"""

from __future__ import annotations

from pipelines.imports.common import ImportInputError, ImportSummary

__all__ = ["ImportInputError", "ImportSummary", "import_export", "import_files"]


def __getattr__(name: str):
    if name == "import_export":
        from pipelines.imports.strava_export import import_export

        return import_export
    if name == "import_files":
        from pipelines.imports.device_files import import_files

        return import_files
    raise AttributeError(name)
