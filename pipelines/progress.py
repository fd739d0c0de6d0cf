"""Progress lines for a person at a terminal, separate from Dagster's and dbt's logs.

Assets call `say()`; the CLI turns it on (stderr), Dagster runs leave it off and keep
the same lines in their own event log via context.log.
"""

from __future__ import annotations

import sys
from typing import TextIO

_stream: TextIO | None = None


def enable(stream: TextIO = sys.stderr) -> None:
    global _stream
    _stream = stream


def disable() -> None:
    global _stream
    _stream = None


def say(message: str) -> None:
    if _stream is not None:
        print(f"  {message}", file=_stream, flush=True)
