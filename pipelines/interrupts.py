"""Ctrl-C and `kill` stop a long-running command even when it started with SIGINT ignored.

A shell script's background jobs (`cmd &`) and test-runner workers start their children
with SIGINT ignored, and Python keeps that: Ctrl-C (or `kill -INT`) would never reach the
command, and SIGTERM would end it without its cleanup. The commands that serve until
stopped (`trainsmart webhook serve`, the sandbox's local APIs) call `stop_on_interrupt()`
before they print that they are ready, since a caller may signal as soon as it reads that,
and print it inside the `try` that catches KeyboardInterrupt: the signal can land while
print is still returning.
"""

from __future__ import annotations

import signal


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def stop_on_interrupt() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread, whatever the parent set."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
