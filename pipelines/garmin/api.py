"""Garmin Connect's Personal API as the sync uses it: a thin `requests` client.

Garmin's official client (garmin-connect-personal-api-python) requires Python 3.12 and
this project supports 3.11, so this module speaks to the same endpoints the same way
(GARMIN.md): the key is exchanged for a bearer token (cached, see tokens.py), data calls
carry `Authorization: Bearer`. Switch to the official client once the project requires 3.12.

Garmin publishes no rate limits and sends no usage headers, so the client paces itself:
- one request at a time (a lock; never a request while one is running);
- `Retry-After` (seconds or an HTTP date) is obeyed: no request goes out before it passes;
  a wait longer than `max_wait_s` stops the sync cleanly (`SyncStopped`, exit 75);
- 408, 429 and 5xx are retried a few times with a short back-off, then `SyncStopped`;
- a 401 on a data call gets one fresh token exchange, then the plain revoked-token error.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import logging
import threading
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from pipelines.errors import SyncStopped
from pipelines.garmin.errors import ENV_KEY_PLACE, GarminError, GarminUnreachable, key_rejected, token_revoked
from pipelines.garmin.tokens import BearerToken, TokenCache, jwt_expiry

log = logging.getLogger(__name__)

TOKEN_PATH = "/personalapitoken-service/personal-api/personal-api-key/token"
RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}
ZIP_ACCEPT = "application/zip, application/x-zip-compressed"
DEFAULT_TOKEN_LIFETIME_S = 24 * 3600


class NotFound(Exception):
    """Garmin answered 404 for the object."""


@dataclass
class GarminApi:
    base_url: str
    key: str = field(repr=False)
    cache: TokenCache
    max_wait_s: float = 30.0  # a longer Retry-After stops the run (exit 75) instead of sleeping
    retries: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    requests_sent: int = 0
    answered: int = 0  # responses received (any status): the host is reachable
    not_before_wall: float | None = None  # set when a long Retry-After stopped the run (wall clock)
    # whose key it is and where it lives, for the rejected-key sentences (a roster athlete: their key file)
    key_owner: str = "your"
    key_place: str = ENV_KEY_PLACE

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "trainsmart (Garmin Connect Personal API)"
        self._lock = threading.Lock()
        self._not_before = 0.0  # monotonic time before which no request may be sent (Retry-After)
        self._token: BearerToken | None = None

    # -- token --------------------------------------------------------------------------
    def _bearer(self) -> str:
        if self._token is None or not self._token.usable(self.key, self.wall()):
            cached = self.cache.load()
            self._token = cached if cached is not None and cached.usable(self.key, self.wall()) else self._exchange()
        return self._token.token

    def _exchange(self) -> BearerToken:
        response = self._send("POST", TOKEN_PATH, "the key exchange", headers={"Authorization": f"ApiKey {self.key}"})
        if response.status_code in (400, 401, 403):
            raise GarminError(key_rejected(self.key_owner, self.key_place))
        if response.status_code != 200:
            raise GarminError(f"Garmin refused the key exchange: HTTP {response.status_code}.")
        text = response.text.strip().strip('"').strip()
        if text.count(".") != 2:
            raise GarminError("Garmin's key exchange answered something that is not a token; "
                              "check GARMIN_PERSONAL_API_BASE_URL.")
        now = self.wall()
        token = BearerToken.issued(text, jwt_expiry(text) or now + DEFAULT_TOKEN_LIFETIME_S, self.key, now)
        self.cache.save(token)
        return token

    # -- data calls ---------------------------------------------------------------------
    def get_json(self, path: str, params: dict | None = None, what: str | None = None) -> Any:
        """GET a data path; Garmin's JSON as sent, or None for 204 (no data in the range)."""
        response = self._authorized(path, params, what or path, accept="application/json")
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise SyncStopped(f"Garmin answered {what or path} with something that is not JSON") from None

    def get_fit_file(self, activity_id: int) -> bytes:
        """The activity's original file: the FIT member of the ZIP Garmin sends."""
        response = self._authorized(f"/download-service/files/activity/{activity_id}", None,
                                    f"the file of activity {activity_id}", accept=ZIP_ACCEPT)
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".fit")]
                if not names:
                    raise ValueError("no .fit file in the download")
                wanted = f"{activity_id}_ACTIVITY.fit"
                return archive.read(wanted if wanted in names else names[0])
        except (zipfile.BadZipFile, ValueError, KeyError) as e:
            raise BadDownload(str(e) or "not a ZIP file") from None

    def _authorized(self, path: str, params: dict | None, what: str, accept: str) -> requests.Response:
        renewed = False
        while True:
            bearer = self._bearer()
            response = self._send("GET", path, what, params=params,
                                  headers={"Authorization": f"Bearer {bearer}", "Accept": accept})
            if response.status_code == 401:
                if renewed:
                    raise GarminError(token_revoked(self.key_owner, self.key_place))
                renewed = True  # expired early or revoked: one fresh exchange tells which
                self.cache.forget()
                self._token = self._exchange()
                continue
            if response.status_code == 404:
                raise NotFound(what)
            if response.status_code >= 400:
                raise GarminError(f"Garmin refused {what}: HTTP {response.status_code}.")
            return response

    # -- pacing, retries ------------------------------------------------------------------
    def _send(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        """One request at a time, never inside a Retry-After window; transient failures retried."""
        attempt = 0
        with self._lock:
            while True:
                self._wait_turn()
                try:
                    self.requests_sent += 1
                    response = self.session.request(method, self.base_url + path, timeout=self.timeout_s, **kwargs)
                    self.answered += 1
                except (requests.ConnectionError, requests.Timeout):
                    if not self.answered and attempt >= 1:
                        raise GarminUnreachable(f"Cannot reach Garmin at {self.base_url}; check the network or "
                                                "GARMIN_PERSONAL_API_BASE_URL.") from None
                    problem, delay = f"cannot reach {self.base_url}", None
                else:
                    if response.status_code not in RETRYABLE_STATUS:
                        return response
                    problem, delay = f"Garmin answered HTTP {response.status_code}", self._retry_after(response)
                    if delay is not None:
                        self._not_before = self.monotonic() + delay
                        if delay > self.max_wait_s:
                            self.not_before_wall = self.wall() + delay
                            raise SyncStopped(f"Garmin asked to wait {delay:.0f} s before the next request "
                                              f"(HTTP {response.status_code})")
                attempt += 1
                if attempt > self.retries:
                    raise SyncStopped(f"{problem} {attempt} times in a row on {what}; stopping for now")
                log.info("%s on %s; retry %d/%d", problem, what, attempt, self.retries)
                if delay is None:
                    self._not_before = max(self._not_before, self.monotonic() + self.backoff_s * 2 ** (attempt - 1))

    def _wait_turn(self) -> None:
        wait = self._not_before - self.monotonic()
        if wait > self.max_wait_s:
            raise SyncStopped(f"Garmin asked to wait {wait:.0f} s before the next request")
        while wait > 0:
            self.sleep(wait)
            wait = self._not_before - self.monotonic()

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        # an HTTP date has whole seconds: round up so the request never lands inside the window
        return max(0.0, when.timestamp() - self.wall()) + 1.0


class BadDownload(Exception):
    """The downloaded file is not the ZIP with a FIT file Garmin sends."""
