"""The suite's `trainsmart` and fixture `dbt` commands start from a warm interpreter: one per
test worker that has already imported Dagster, dbt and the other heavy libraries (about 2 s
of every `trainsmart` start, 1.5 s of every `dbt` start).

Each command is still its own process, forked from that interpreter: the test's argv,
environment, working directory and pipes, the real `python -m MODULE` (or `-c CODE`), its
exit code and its normal shutdown, or its death by a signal. `run` waits for it, as
subprocess.run; `start` does not, as subprocess.Popen (a sync to kill halfway). Only
third-party imports are shared; nothing of `pipelines` is imported before the fork, since
its definitions read the environment (the Strava and Garmin resources). Tests of how a
process starts (Ctrl-C in a background job, leftover children, a sync overlapping queries)
start a fresh interpreter themselves; TRAINSMART_TEST_COLD_START=1 sends every command
through one.
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

# Runs in the warm interpreter. It answers one request at a time: the request is the command
# (python's arguments, "-m MODULE ..." or "-c CODE ...", its environment and working
# directory) and its stdin, stdout and stderr as passed file descriptors; it sends back the
# child's pid, then its exit code once it has ended.
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
# Every object so far lives as long as the interpreter: frozen, a forked command's garbage
# collections never walk them (nor copy their memory pages by touching them). A fixture
# `dbt build` of the sample athlete: 5.0 CPU-s forked unfrozen, 3.7 frozen, 5.3 cold.
import gc
gc.freeze()

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
        option, target, *args = request["argv"]  # ["-m", MODULE, ...] or ["-c", CODE, ...]
        sys.argv = [option, *args]
        sys.path[0] = os.getcwd() if option == "-m" else ""  # as `python -m` / `python -c` have it
        break
    for fd in fds:
        os.close(fd)
    control.sendall(struct.pack("!q", pid))
    _, status = os.waitpid(pid, 0)
    control.sendall(struct.pack("!q", os.waitstatus_to_exitcode(status)))
if child:
    del child, control, message, fds, request, pid, args
    if option == "-m":
        import runpy
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
else:
    control.close()  # the worker closed its end: this interpreter's work is done
"""

Warm = tuple[subprocess.Popen, socket.socket]
_idle: list[Warm] = []  # warm interpreters not serving a command now (threads may run commands side by side)
_idle_lock = threading.Lock()


def _interpreter() -> Warm:
    """An idle warm interpreter of this worker, started when none is idle (_release gives it back)."""
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
    return warm


def _release(warm: Warm) -> None:
    with _idle_lock:
        _idle.append(warm)


def _stop(proc: subprocess.Popen, control: socket.socket) -> None:
    control.close()  # the interpreter's loop ends on end-of-file
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


class WarmProcess:
    """`python ARGS` forked from a warm interpreter, not waited for: what the tests use of
    subprocess.Popen (pid, returncode, poll, wait, send_signal, kill, communicate), text mode.
    The interpreter serves no other command until this one has ended."""

    def __init__(self, python_args: list[str], env: dict | None = None, cwd: str | os.PathLike | None = None,
                 stdout: int = subprocess.PIPE, stderr: int = subprocess.PIPE, fds: list[int] | None = None):
        """`fds`: the command's stdin, stdout and stderr as they are (the caller closes them);
        else stdin is /dev/null and stdout, stderr pipes or /dev/null as Popen's arguments say."""
        self.args = [sys.executable, *python_args]
        self.returncode: int | None = None
        self._warm = _interpreter()
        ours, self._pipes = [], [None, None]
        if fds is None:
            ours.append(os.open(os.devnull, os.O_RDONLY))
            for i, choice in enumerate((stdout, stderr)):
                if choice == subprocess.PIPE:
                    self._pipes[i], write = os.pipe()
                    ours.append(write)
                else:
                    ours.append(os.open(os.devnull, os.O_WRONLY))
        request = json.dumps({"argv": python_args, "env": dict(os.environ) if env is None else env,
                              "cwd": os.fspath(cwd) if cwd is not None else os.getcwd()})
        try:
            socket.send_fds(self._warm[1], [request.encode()], fds if fds is not None else ours)
        finally:
            for fd in ours:
                os.close(fd)
        (self.pid,) = struct.unpack("!q", self._warm[1].recv(8))
        self._unread = True

    def __del__(self) -> None:
        # the pipes of a command whose output nobody read (as Popen's close when collected)
        for fd in self._pipes if getattr(self, "_unread", False) else ():
            if fd is not None:
                os.close(fd)

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._warm[1]], [], [], 0)[0]:
            self._reap()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._warm[1]], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self._reap()
        return self.returncode

    def _reap(self) -> None:
        reply = self._warm[1].recv(8)
        if not reply:
            raise RuntimeError("the warm interpreter of tests/warm_python.py ended")
        (self.returncode,) = struct.unpack("!q", reply)
        _release(self._warm)

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str | None, str | None]:
        """Both outputs read to their end, then the exit code; TimeoutExpired when the output
        has not ended by `timeout` (the command goes on, as with Popen)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        output = _read_until_closed([fd for fd in self._pipes if fd is not None], deadline)
        self._unread = False  # read or not, the pipes are closed now
        if output is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        self.wait(max(0.0, deadline - time.monotonic()))
        texts = iter(_text(b) for b in output)
        return tuple(next(texts) if fd is not None else None for fd in self._pipes)


def start(python_args: list[str], env: dict | None = None, cwd: str | os.PathLike | None = None,
          stdout: int = subprocess.PIPE, stderr: int = subprocess.PIPE):
    """`python ARGS` ("-m", MODULE, ... or "-c", CODE, ...) started from this worker's warm
    interpreter, as subprocess.Popen(..., text=True) starts it; a fresh interpreter with
    TRAINSMART_TEST_COLD_START=1."""
    if os.environ.get("TRAINSMART_TEST_COLD_START") == "1":
        return subprocess.Popen([sys.executable, *python_args], env=env, cwd=cwd, stdout=stdout, stderr=stderr,
                                stdin=subprocess.DEVNULL, text=True)
    return WarmProcess(python_args, env, cwd, stdout, stderr)


def run(python_args: list[str], timeout: float, env: dict | None = None,
        cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """`python ARGS` to its end, output captured as text, as `subprocess.run(...,
    capture_output=True, text=True, timeout=...)` gives it (killed at the timeout)."""
    proc = start(python_args, env, cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_module(module: str, args: list[str], timeout: float, env: dict | None = None,
               cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` with `env` (default: this process's environment) in `cwd`
    (default: this one), as run() gives it."""
    return run(["-m", module, *args], timeout, env, cwd)


# The product's own builds run `dbt` as a command (dagster-dbt starts TRAINSMART_DBT, else the
# environment's dbt): in the suite, TRAINSMART_DBT is this stand-in. It hands its argv,
# environment, working directory and stdin/stdout/stderr to the test worker, which forks
# `python -m dbt.cli.main` from a warm interpreter, passes on Ctrl-C and kill, and ends as
# that dbt ended. Python with -S: the stand-in itself imports only the standard library.
WARM_DBT = r"""
import json, os, signal, socket, struct, sys
control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
control.connect(SOCKET)
request = {"argv": ["-m", "dbt.cli.main", *sys.argv[1:]], "env": dict(os.environ), "cwd": os.getcwd()}
socket.send_fds(control, [json.dumps(request).encode()], [0, 1, 2])
reply = control.recv(8)
if not reply:
    sys.exit("the test worker serving TRAINSMART_DBT (tests/warm_python.py) did not start dbt")
(pid,) = struct.unpack("!q", reply)
def forward(signum, frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
signal.signal(signal.SIGINT, forward)
signal.signal(signal.SIGTERM, forward)
reply = control.recv(8)
if not reply:
    sys.exit("the test worker serving TRAINSMART_DBT (tests/warm_python.py) ended")
(code,) = struct.unpack("!q", reply)
if code < 0:  # ended by a signal: so does the stand-in
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def serve_warm_dbt(folder: Path) -> Path:
    """Serve `dbt` commands from this process's warm interpreters; returns the stand-in
    executable (folder/dbt) for TRAINSMART_DBT. The serving thread ends with the process."""
    folder.mkdir(parents=True, exist_ok=True)
    address = folder / "dbt.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(address))
    listener.listen(16)
    stand_in = folder / "dbt"
    stand_in.write_text(f"#!{sys.executable} -S\nSOCKET = {str(address)!r}\n{WARM_DBT}")
    stand_in.chmod(0o755)
    threading.Thread(target=_accept, args=(listener,), daemon=True, name="warm-dbt").start()
    return stand_in


def _accept(listener: socket.socket) -> None:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve_dbt, args=(conn,), daemon=True).start()


def _serve_dbt(conn: socket.socket) -> None:
    with conn:
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        try:
            request = json.loads(message)
            proc = WarmProcess(request["argv"], request["env"], request["cwd"], fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
        conn.sendall(struct.pack("!q", proc.pid))
        conn.sendall(struct.pack("!q", proc.wait()))


def _text(data: bytes) -> str:
    """Bytes as `text=True` decodes them: the locale's encoding, universal newlines."""
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def _read_until_closed(fds: list[int], deadline: float) -> list[bytes] | None:
    """Each pipe read to its end (every writer gone), as `communicate` does; None when the
    deadline comes first."""
    chunks: dict[int, list[bytes]] = {fd: [] for fd in fds}
    with selectors.DefaultSelector() as sel:
        for fd in fds:
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
            for fd in fds:
                os.close(fd)
    return [b"".join(chunks[fd]) for fd in fds]
