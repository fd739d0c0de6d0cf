"""The suite's `trainsmart` and fixture `dbt` commands start from a warm interpreter: one per
test worker that has already imported Dagster, dbt and the other heavy libraries (about 2 s
of every `trainsmart` start, 1.5 s of every `dbt` start).

Each command is still its own process, forked from that interpreter: the test's argv,
environment, working directory and pipes, the real `python -m MODULE`, its exit code and its
normal shutdown. Only third-party imports are shared; nothing of `pipelines` is imported
before the fork, since its definitions read the environment (the Strava and Garmin
resources). Tests of how a process starts or ends (signals, leftover children) start a
fresh interpreter themselves; TRAINSMART_TEST_COLD_START=1 sends every command through one.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import locale
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Iterator

# Runs in the warm interpreter. It answers one request at a time: the request is the command
# (module, argv, environment, working directory) and its stdin, stdout and stderr as passed
# file descriptors; it sends back the child's pid, then its exit code once it has ended.
WARM_INTERPRETER = r"""
import json, os, socket, struct, sys
import dagster, dagster_dbt, duckdb, numpy, requests, stravalib
import dbt.adapters.duckdb, dbt.cli.main
# what Dagster imports only when a run opens its instance's storage (SQLAlchemy, Alembic:
# 0.45 s of each job run), and the report's charts (matplotlib on Agg, as charts.py sets it)
import dagster._core.storage.sqlite_storage, dagster._core.storage.event_log.sqlite
import dagster._core.storage.runs.sqlite, dagster._core.storage.schedules.sqlite
import matplotlib
matplotlib.use("Agg", force=False)
import matplotlib.pyplot

control = socket.socket(fileno=int(sys.argv[1]))
child = False
while True:
    message, fds, _, _ = socket.recv_fds(control, 1 << 20, 3)
    if not message:
        break
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        child = True
        control.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["-m", *request["args"]]
        sys.path[0] = os.getcwd()  # as `python -m` has it
        break
    for fd in fds:
        os.close(fd)
    control.sendall(struct.pack("!q", pid))
    _, status = os.waitpid(pid, 0)
    control.sendall(struct.pack("!q", os.waitstatus_to_exitcode(status)))
if child:
    module = request["module"]
    del child, control, message, fds, request, pid
    import runpy
    runpy.run_module(module, run_name="__main__", alter_sys=True)
else:
    control.close()  # the worker closed its end: this interpreter's work is done
"""

Warm = tuple[subprocess.Popen, socket.socket]
_idle: list[Warm] = []  # warm interpreters not serving a command now (threads may run commands side by side)
_idle_lock = threading.Lock()


@contextlib.contextmanager
def _interpreter() -> Iterator[Warm]:
    """An idle warm interpreter of this worker, started when none is idle; back to idle after."""
    with _idle_lock:
        warm = _idle.pop() if _idle else None
    if warm is None or warm[0].poll() is not None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        proc = subprocess.Popen([sys.executable, "-c", WARM_INTERPRETER, str(theirs.fileno())],
                                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL)
        theirs.close()
        warm = (proc, ours)
        atexit.register(_stop, proc, ours)
    yield warm
    with _idle_lock:
        _idle.append(warm)


def _stop(proc: subprocess.Popen, control: socket.socket) -> None:
    control.close()  # the interpreter's loop ends on end-of-file
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_module(module: str, args: list[str], timeout: float, env: dict | None = None,
               cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` with `env` (default: this process's environment) in `cwd`
    (default: this one), output captured as text, as `subprocess.run(..., capture_output=True,
    text=True)` gives it."""
    argv = [sys.executable, "-m", module, *args]
    env = dict(os.environ) if env is None else env
    cwd = os.fspath(cwd) if cwd is not None else os.getcwd()
    if os.environ.get("TRAINSMART_TEST_COLD_START") == "1":
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    with _interpreter() as (_, control):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        stdin = os.open(os.devnull, os.O_RDONLY)
        request = json.dumps({"module": module, "args": args, "env": env, "cwd": cwd})
        try:
            socket.send_fds(control, [request.encode()], [stdin, out_w, err_w])
        finally:
            for fd in (stdin, out_w, err_w):
                os.close(fd)
        (pid,) = struct.unpack("!q", control.recv(8))
        output = _read_until_closed(out_r, err_r, time.monotonic() + timeout)
        if output is None:
            os.kill(pid, signal.SIGKILL)
            control.recv(8)  # its exit code: the next command's reply comes clean
            raise subprocess.TimeoutExpired(argv, timeout)
        out, err = output
        reply = control.recv(8)
        if not reply:
            raise RuntimeError("the warm interpreter of tests/warm_python.py ended")
        (code,) = struct.unpack("!q", reply)
        return subprocess.CompletedProcess(argv, code, _text(out), _text(err))


def _text(data: bytes) -> str:
    """Bytes as `text=True` decodes them: the locale's encoding, universal newlines."""
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def _read_until_closed(out_fd: int, err_fd: int, deadline: float) -> tuple[bytes, bytes] | None:
    """Both pipes read to their end (every writer gone), as `communicate` does; None when the
    deadline comes first."""
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as sel:
        for fd in chunks:
            sel.register(fd, selectors.EVENT_READ)
        try:
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                for key, _ in sel.select(left):
                    data = os.read(key.fd, 1 << 16)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        sel.unregister(key.fd)
        finally:
            os.close(out_fd)
            os.close(err_fd)
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])
