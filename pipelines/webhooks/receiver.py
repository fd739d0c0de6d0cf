"""`trainsmart webhook serve`: the HTTP endpoint Strava pushes events to.

- `GET /strava/webhook?hub.mode=subscribe&hub.challenge=C&hub.verify_token=T` is Strava's
  handshake when a subscription is created: it answers `{"hub.challenge": C}` when T equals
  STRAVA_WEBHOOK_VERIFY_TOKEN, else 403.
- `POST /strava/webhook` with an event: stored durably (store.py) and answered 200, in
  milliseconds, whatever a sync is doing (Strava wants 200 within 2 s and tries 3 times).
  An event for another subscription than the one this deployment made, or not shaped like
  Strava's, is refused (403 / 400) and stored nowhere: it cannot change anything.

Events of athletes this deployment does not sync are dropped when the sync applies them.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipelines.webhooks.store import EventStore

log = logging.getLogger(__name__)
PATH = "/strava/webhook"
OBJECT_TYPES = {"activity", "athlete"}
ASPECT_TYPES = {"create", "update", "delete"}


def valid_event(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    try:
        int(body["object_id"])
        int(body["owner_id"])
    except (KeyError, TypeError, ValueError):
        return False
    return body.get("object_type") in OBJECT_TYPES and body.get("aspect_type") in ASPECT_TYPES \
        and isinstance(body.get("updates", {}), dict)


class _Handler(BaseHTTPRequestHandler):
    store: EventStore
    verify_token: str | None
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - our own log lines only
        return

    def _answer(self, status: int, body: dict | None = None) -> None:
        payload = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path != PATH:
            return self._answer(404, {"error": "not found"})
        if (query.get("hub.mode") == "subscribe" and self.verify_token
                and query.get("hub.verify_token") == self.verify_token and "hub.challenge" in query):
            return self._answer(200, {"hub.challenge": query["hub.challenge"]})
        log.warning("webhook handshake refused (wrong or missing verify token)")
        return self._answer(403, {"error": "verify token mismatch"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if urlsplit(self.path).path != PATH:
            return self._answer(404, {"error": "not found"})
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not valid_event(body):
            return self._answer(400, {"error": "not a Strava event"})
        subscription = self.store.subscription()
        if subscription is None or body.get("subscription_id") != subscription.get("id"):
            log.warning("webhook event for subscription %s refused (ours: %s)", body.get("subscription_id"),
                        subscription and subscription.get("id"))
            return self._answer(403, {"error": "unknown subscription"})
        event_id = self.store.add(body)
        log.info("webhook event %s stored: %s %s %s", event_id, body["object_type"], body["object_id"],
                 body["aspect_type"])
        return self._answer(200, {"stored": event_id})


class Receiver:
    """The receiver on host:port, serving in a thread (`serve_forever` for the CLI)."""

    def __init__(self, store: EventStore, verify_token: str | None, host: str = "127.0.0.1", port: int = 8724):
        handler = type("_BoundHandler", (_Handler,), {"store": store, "verify_token": verify_token})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}{PATH}"
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="strava-webhook", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
