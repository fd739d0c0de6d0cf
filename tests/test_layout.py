"""The product reads on its own: only the `demo` verb imports the sandbox (the demo world)."""

from __future__ import annotations

import ast
from pathlib import Path

PIPELINES = Path(__file__).resolve().parent.parent / "pipelines"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_product_code_never_imports_the_sandbox():
    offenders = []
    for path in PIPELINES.rglob("*.py"):
        rel = path.relative_to(PIPELINES)
        if rel.parts[0] == "sandbox":
            continue
        sandbox = {m for m in _imported_modules(path) if m.startswith("pipelines.sandbox")}
        if rel == Path("cli.py"):
            sandbox -= {"pipelines.sandbox.demo", "pipelines.sandbox.demo.run_demo"}  # the demo verb
        if sandbox:
            offenders.append(f"{rel}: {sorted(sandbox)}")
    assert not offenders, offenders


def test_the_sandbox_is_one_package():
    names = {p.stem for p in (PIPELINES / "sandbox").glob("*.py")}
    assert {"strava_server", "sample_athlete", "sample_export", "fit_writer", "report_fixture", "demo"} <= names
