"""`trainsmart auth`: Strava's OAuth authorization-code flow with a redirect to 127.0.0.1.

Strava whitelists localhost and 127.0.0.1 as callback domains, so a tiny one-shot HTTP
server here receives the code, which is exchanged for tokens and stored (mode 0600).
"""

from __future__ import annotations

import http.server
import secrets
import sys
import threading
import urllib.parse
import webbrowser
from pathlib import Path

from stravalib import Client, exc

from pipelines.config import Settings
from pipelines.strava.api import STRAVA_ORIGIN, RebasedSession
from pipelines.strava.errors import INACTIVE_MESSAGE, StravaError
from pipelines.strava.tokens import Token, TokenStore

SCOPES = ["read", "activity:read_all", "profile:read_all"]  # profile:read_all for HR zones
CAPACITY_MESSAGE = (
    "Strava refused to connect one more athlete: a new API application connects only its own "
    "athlete until Strava has reviewed it; submit the application for review (the Developer Program "
    "form on https://developers.strava.com/docs/rate-limits/) and connect this athlete once it is "
    "approved, or import their bulk export meanwhile with `trainsmart import-export PATH`."
)


def _wait_for_redirect(port: int, timeout_s: float) -> dict[str, str]:
    received: dict[str, str] = {}
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            if "code" not in query and "error" not in query:
                self.send_response(404)
                self.end_headers()
                return
            received.update(query)
            body = ("<html><body><h2>trainsmart is authorized.</h2><p>You can close this tab.</p></body></html>"
                    if "code" in query else "<html><body><h2>Authorization was refused.</h2></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())
            done.set()

        def log_message(self, *args):  # the query holds the one-time code: keep it out of logs
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if not done.wait(timeout_s):
            raise StravaError(f"No answer from Strava within {int(timeout_s)} seconds; run `trainsmart auth` again.")
    finally:
        server.shutdown()
        server.server_close()
    return received


def authorize(settings: Settings, port: int = 8723, open_browser: bool = True, timeout_s: float = 300,
              token_file: Path | None = None) -> Token:
    """The browser flow; the token goes to `token_file` (default: the single athlete's)."""
    token_file = token_file or settings.token_file
    if not (settings.strava_client_id and settings.strava_client_secret):
        raise StravaError("Set STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET (from https://www.strava.com/settings/api) first.")
    client = Client(rate_limit_requests=False, requests_session=RebasedSession(settings.strava_base_url))
    state = secrets.token_urlsafe(16)
    redirect_uri = f"http://127.0.0.1:{port}/authorized"
    url = client.authorization_url(client_id=int(settings.strava_client_id), redirect_uri=redirect_uri,
                                   scope=SCOPES, approval_prompt="auto", state=state)
    url = url.replace(STRAVA_ORIGIN, settings.strava_base_url, 1)
    print("Open this address, log in to Strava and allow access (keep 'View data about your private activities' ticked):",
          file=sys.stderr)
    print(url, flush=True)
    if open_browser:
        webbrowser.open(url)
    answer = _wait_for_redirect(port, timeout_s)
    if answer.get("state") != state:
        raise StravaError("The answer to the authorization did not match this request; run `trainsmart auth` again.")
    if "error" in answer:
        raise StravaError(f"Strava says the authorization was refused ({answer['error']}); run `trainsmart auth` again and click Authorize.")
    scope = answer.get("scope", "")
    if "activity:read_all" not in scope.split(","):
        raise StravaError("The authorization lacks the activity:read_all scope; run `trainsmart auth` again and keep "
                          "'View data about your private activities' ticked.")
    try:
        info, athlete = client.exchange_code_for_token(client_id=int(settings.strava_client_id),
                                                       client_secret=settings.strava_client_secret,
                                                       code=answer["code"], return_athlete=True)
    except exc.ApplicationInactive:
        raise StravaError(INACTIVE_MESSAGE) from None
    except exc.Fault as e:
        if getattr(e.response, "status_code", None) == 403 and "connected athletes" in getattr(e.response, "text", ""):
            raise StravaError(CAPACITY_MESSAGE) from None
        raise StravaError(f"Strava refused the authorization code (HTTP {getattr(e.response, 'status_code', '?')}); "
                          "check STRAVA_CLIENT_SECRET and run `trainsmart auth` again.") from None
    token = _store(info, token_file, getattr(athlete, "id", None), scope)
    who = f"athlete {token.athlete_id}" if token.athlete_id else "your athlete"
    print(f"Authorized {who}; the token is stored in {token_file} (readable only by you). "
          "Run `trainsmart sync` next.", file=sys.stderr)
    return token


def store_refresh_token(settings: Settings, refresh_token: str, token_file: Path) -> Token:
    """`auth --athlete KEY --refresh-token T` (headless servers): check the token with one
    refresh, learn whose it is with one /athlete call, store it (mode 0600)."""
    if not (settings.strava_client_id and settings.strava_client_secret):
        raise StravaError("Set STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET (from https://www.strava.com/settings/api) first.")
    client = Client(rate_limit_requests=False, requests_session=RebasedSession(settings.strava_base_url))
    try:
        info = client.refresh_access_token(client_id=int(settings.strava_client_id),
                                           client_secret=settings.strava_client_secret, refresh_token=refresh_token)
        client.access_token = info["access_token"]
        athlete = client.protocol.get("/athlete")
    except exc.ApplicationInactive:
        raise StravaError(INACTIVE_MESSAGE) from None
    except exc.Fault as e:
        raise StravaError(f"Strava refused that refresh token (HTTP {getattr(e.response, 'status_code', '?')}); "
                          "get a new one, or run `trainsmart auth --athlete KEY` in a browser.") from None
    return _store(info, token_file, int(athlete["id"]))


def _store(info: dict, token_file: Path, athlete_id: int | None, scope: str | None = None) -> Token:
    """Strava's token answer into the token file (mode 0600)."""
    token = Token(refresh_token=info["refresh_token"], access_token=info["access_token"],
                  expires_at=int(info["expires_at"]), scope=scope, athlete_id=athlete_id)
    TokenStore(token_file).save(token)
    return token
