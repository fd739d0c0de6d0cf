"""A command that serves until stopped, in a subprocess started as a script's background job
starts it: SIGINT ignored. Yields the lines it printed up to its ready line; on leaving,
Ctrl-C (SIGINT) must stop it cleanly within 10 s."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys


@contextlib.contextmanager
def server_command(*args: str, ready: str = "Ctrl-C stops it.", on_stderr: bool = False):
    """`python ARGS` (e.g. "-m", "pipelines.sandbox.garmin_server", ...) with this environment;
    `ready` is in the last line it prints (on stdout, or stderr with on_stderr) before it serves."""
    proc = subprocess.Popen([sys.executable, *args], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a script's `&` and pytest-xdist's workers pass SIGINT on ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    said, other = (proc.stderr, proc.stdout) if on_stderr else (proc.stdout, proc.stderr)
    try:
        lines: list[str] = []
        while not lines or ready not in lines[-1]:
            line = said.readline()
            assert line, other.read()
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
