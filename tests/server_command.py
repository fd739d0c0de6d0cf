"""A local server's own command (`python -m pipelines.sandbox.<server>`) in a subprocess, as a
script's background job starts it: SIGINT ignored. Yields what it printed up to "Ctrl-C stops
it."; on leaving, Ctrl-C must stop it cleanly within 10 s."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys


@contextlib.contextmanager
def server_command(module: str, *args: str):
    proc = subprocess.Popen([sys.executable, "-m", f"pipelines.sandbox.{module}", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a script's `&` and pytest-xdist's workers pass SIGINT on ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Ctrl-C"):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line.strip())
        yield lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=10) == 0  # Ctrl-C stops it even so
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
