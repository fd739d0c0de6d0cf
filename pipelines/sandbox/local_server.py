"""What the local Strava- and Garmin-compatible servers share: a response record, a
request handler base (quiet, HTTP/1.1, no Nagle delay) and the serve-in-a-thread life cycle.

Each server subclasses `LocalServer` (setting `handler` and `thread_name`) and its handler
subclasses `QuietHandler` with its own `_serve(method)`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipelines.interrupts import stop_on_interrupt


class Response:
    __slots__ = ("status", "body", "headers", "content_type")

    def __init__(self, status: int, body: Any = b"", headers: dict | None = None, content_type: str | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type


def encode_body(resp: Response, json_type: str, text_type: str) -> tuple[bytes, str | None]:
    """The response's bytes and content type: JSON for dicts and lists, bytes as they are, text otherwise."""
    if isinstance(resp.body, (dict, list)):
        return json.dumps(resp.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), json_type
    if isinstance(resp.body, bytes):
        return resp.body, resp.content_type
    return str(resp.body).encode("utf-8"), resp.content_type or text_type


class QuietHandler(BaseHTTPRequestHandler):
    """A handler bound to one server object (`fake`) that logs nothing."""

    fake: Any
    server_name = "local"
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK
    # stall every response by ~40 ms on loopback
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return self.server_name

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence request logs
        return

    def _serve(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")


class LocalServer:
    """Serves `handler` on 127.0.0.1 in a daemon thread; a context manager."""

    handler: type[QuietHandler]
    thread_name = "local-server"
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    base_url: str | None = None

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Starts serving in a daemon thread; returns the base URL ``http://127.0.0.1:PORT``."""
        if self._server is not None:
            return self.base_url  # type: ignore[return-value]
        bound = type("_BoundHandler", (self.handler,), {"fake": self})
        self._server = ThreadingHTTPServer((host, port), bound)
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def serve_until_stopped(self, ready: str = "Ctrl-C stops it.") -> None:
        """Prints `ready`, then blocks until Ctrl-C (SIGINT) or SIGTERM and stops serving: for
        the servers' `main`. Both signals stop it even in a script's background job
        (pipelines/interrupts.py)."""
        stop_on_interrupt()
        try:
            # inside the try: a Ctrl-C sent as soon as the line is read can land while print returns
            print(ready, flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
