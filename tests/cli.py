"""The real `trainsmart` command in its own process, with the test's environment; started
from the worker's warm interpreter (tests/warm_python.py)."""

from __future__ import annotations

import subprocess

from tests.warm_python import run_module


def trainsmart(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return run_module("pipelines.cli", list(args), timeout)
