"""Parse activity files in order, in worker processes when there are many.

fitdecode is pure Python (a few tens of thousands of records a second on one core), so
parsing, not DuckDB, bounds an import. Files are independent: worker processes parse them
(each opening the zip or folder itself) while the importing process receives the results
in the original order and does every database write itself.

The workers are plain subprocesses (`python -m pipelines.imports.pool`) reading pickled
requests on stdin and writing pickled results on stdout; task i goes to worker i mod N
and each worker answers in order, so results come back in order. Nothing is forked from
the importing process (which holds a DuckDB connection and maybe threads) and, unlike
multiprocessing's 'spawn', the caller's `__main__` is never re-run in a worker. A bounded
number of files in flight keeps memory flat. A worker that dies is replaced by parsing
its files in the importing process; when the importing process dies, the workers see
their stdin close and exit.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections import deque
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Union

from pipelines.imports.parsers import ParsedActivity, ParseError, parse_stream

# Where the files are: ('zip', zip path, prefix inside the zip) or ('dir', folder).
SourceSpec = tuple
Result = Union[ParsedActivity, ParseError, OSError]
MIN_FILES_PER_WORKER = 8
IN_FLIGHT_PER_WORKER = 4
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_zips: dict[str, zipfile.ZipFile] = {}


def _open(spec: SourceSpec, name: str):
    if spec[0] == "zip":
        zf = _zips.get(spec[1])
        if zf is None:
            zf = _zips[spec[1]] = zipfile.ZipFile(spec[1])
        return zf.open(spec[2] + name)
    return open(Path(spec[1]) / name, "rb")


def release() -> None:
    """Close the zips opened by parse_one in this process (an import calls it when done)."""
    while _zips:
        _zips.popitem()[1].close()


def parse_one(spec: SourceSpec, name: str) -> Result:
    """Parse one file; a failure is returned (not raised), so that it crosses processes intact."""
    try:
        with _open(spec, name) as raw:
            return parse_stream(raw, name)
    except ParseError as e:
        return e
    except OSError as e:
        return OSError(f"cannot be read ({e.strerror or e})")
    except Exception as e:  # a parser bug must not stop an import: the file is reported
        return ParseError(f"unreadable ({type(e).__name__}: {e})")


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_jobs(n_files: int) -> int:
    """One worker per CPU (at most 8, and at most one per 8 files to parse); 1 (parse in this
    process) for a handful of files. Measured: on a busy 2-CPU machine two workers still
    import 1.7x faster than one process, so the load average is not consulted."""
    jobs = min(cpu_count(), 8, n_files // MIN_FILES_PER_WORKER)
    return jobs if jobs >= 2 else 1


# --------------------------------------------------------------------------- framing


def _send(stream: BinaryIO, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _recv(stream: BinaryIO):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


def _worker_main() -> None:
    """Worker loop: (spec, name) in, result out, until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the result stream
    while True:
        try:
            spec, name = _recv(stdin)
        except EOFError:
            return
        try:
            _send(stdout, parse_one(spec, name))
        except BrokenPipeError:
            return


# --------------------------------------------------------------------------- the pool


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.imports.pool"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(PROJECT_ROOT),
        )
        self.alive = True

    def send(self, task) -> None:
        if self.alive:
            try:
                _send(self.proc.stdin, task)
            except (BrokenPipeError, OSError):
                self.alive = False

    def recv(self):
        if not self.alive:
            raise EOFError
        try:
            return _recv(self.proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            self.alive = False
            raise EOFError from None

    def close(self, abandon: bool = False) -> None:
        if abandon:  # results still on their way: nobody will read them
            self.proc.kill()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            self.proc.stdout.close()
        except OSError:
            pass


def parse_in_order(spec: SourceSpec, names: Iterable[str], jobs: int = 1) -> Iterator[tuple[str, Result]]:
    """(name, result) for every name, in the order given; `jobs` > 1 parses in worker processes."""
    names = list(names)
    if jobs <= 1 or len(names) < 2:
        for name in names:
            yield name, parse_one(spec, name)
        return
    workers = [_Worker() for _ in range(min(jobs, len(names)))]
    n = len(workers)
    pending: deque[int] = deque()
    sent = 0
    try:
        while sent < len(names) and sent < n * IN_FLIGHT_PER_WORKER:
            workers[sent % n].send((spec, names[sent]))
            pending.append(sent)
            sent += 1
        while pending:
            i = pending.popleft()
            worker = workers[i % n]
            try:
                result = worker.recv()
            except EOFError:
                result = parse_one(spec, names[i])  # the worker died: parse here
            if sent < len(names):
                workers[sent % n].send((spec, names[sent]))
                pending.append(sent)
                sent += 1
            yield names[i], result
    finally:
        for w in workers:
            w.close(abandon=bool(pending))


if __name__ == "__main__":
    _worker_main()
