"""The real `trainsmart` command in a subprocess, with the test's environment."""

from __future__ import annotations

import os
import subprocess
import sys


def trainsmart(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)
