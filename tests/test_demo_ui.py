"""From the demo to the Dagster UI: the command the demo prints opens its own runs, and the
code location loads under `dagster dev` even when the venv's bin/ is not on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_prints_dagster_dev_on_its_own_dagster_home(tmp_path, monkeypatch):
    from pipelines.config import load_settings
    from pipelines.sandbox.demo import DEMO_HOME, dagster_ui_command

    monkeypatch.chdir(tmp_path)  # run_demo's DEMO_HOME.absolute() lands here, not in the checkout
    home = DEMO_HOME.absolute()
    monkeypatch.setenv("TRAINSMART_HOME", str(home))  # as run_demo sets them
    monkeypatch.setenv("TRAINSMART_DB", str(home / "training.duckdb"))
    env, argv = dagster_ui_command(load_settings())

    assert env == {"DAGSTER_HOME": str(home / "dagster"), "TRAINSMART_HOME": str(home),
                   "TRAINSMART_DB": str(home / "training.duckdb")}
    program = Path(argv[0])
    assert program.is_absolute() and program.name == "dagster" and os.access(program, os.X_OK)
    assert argv[1:3] == ["dev", "-w"] and argv[3] == str(ROOT / "workspace.yaml")


def test_code_location_loads_under_dagster_dev_without_the_venv_on_path(tmp_path):
    """`dagster dev` sets DAGSTER_IS_DEV_CLI, which makes the dbt project re-parse on load
    (prepare_if_dev); `definitions validate` does not set it, so the test does."""
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        "PATH": "/usr/bin:/bin",  # no .venv/bin, no VIRTUAL_ENV: `.venv/bin/dagster dev` as typed
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DAGSTER_IS_DEV_CLI": "1",
        "DAGSTER_HOME": str(dagster_home),
        "TRAINSMART_HOME": str(tmp_path / "home"),
        "TRAINSMART_DB": str(tmp_path / "home" / "training.duckdb"),
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "was not found on PATH" not in output
