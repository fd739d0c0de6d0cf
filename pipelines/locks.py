"""One cross-process lock (flock on a file), shared by the database writers and the mailer."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Callable, Iterator


class LockTimeout(Exception):
    """The lock stayed taken for longer than the caller was willing to wait."""


@contextlib.contextmanager
def file_lock(path: Path, wait_seconds: float, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive flock on `path`, polling until `wait_seconds`; `on_wait` is called once
    if the lock is taken. The kernel releases it when the holder exits, even on SIGKILL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(str(path)) from None
                if on_wait and not told:
                    on_wait()
                    told = True
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # closing releases the flock
