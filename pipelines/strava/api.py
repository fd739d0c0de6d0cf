"""The Strava API as the sync uses it: stravalib's real client, pointed at STRAVA_BASE_URL,
with the three things stravalib leaves to us owned here:

- rate limits: stravalib's default limiter *sleeps* until the next window (up to midnight
  UTC). We read the live `X-RateLimit-*` / `X-ReadRateLimit-*` headers after every response
  and refuse to send a request that would eat into the reserve (`SyncStopped`).
- tokens: refreshed before expiry, and the rotated refresh token persisted immediately.
- faults: 5xx, 429 and connection errors get a short bounded back-off, then `SyncStopped`.

Every user-fixable refusal becomes a `StravaError` with one plain sentence.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests
from stravalib import Client, exc

from pipelines.config import DEFAULT_BASE_URL, Settings
from pipelines.strava.errors import INACTIVE_MESSAGE, ApplicationError, StravaError, SyncStopped
from pipelines.strava.tokens import Token, TokenStore

log = logging.getLogger(__name__)

STRAVA_ORIGIN = DEFAULT_BASE_URL  # what stravalib hard-codes
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
REAUTH = "run `trainsmart auth` to authorize trainsmart again"


class RebasedSession(requests.Session):
    """A requests session that sends stravalib's https://www.strava.com URLs to another host."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):  # noqa: D401 - requests signature
        if isinstance(url, str) and url.startswith(STRAVA_ORIGIN):
            url = self.base_url + url[len(STRAVA_ORIGIN):]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def _pair(value: str | None) -> tuple[int, int] | None:
    try:
        a, b = (int(x) for x in (value or "").split(","))
        return a, b
    except ValueError:
        return None


@dataclass
class RateBudget:
    """What Strava's headers last said about the 15-minute and daily windows.

    Reads count against both the read limit and the overall limit; the tighter one rules.
    A reserve is kept in each window for the user's other tools (and the web UI).
    """

    usage_15: int | None = None
    limit_15: int | None = None
    usage_day: int | None = None
    limit_day: int | None = None
    seen_at: float | None = None
    # the windows are judged by this clock (tests move it together with the local API's)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def update(self, headers, method: str = "GET") -> None:
        h = {k.lower(): v for k, v in headers.items()}
        pairs = []
        for prefix in ("x-ratelimit", "x-readratelimit"):
            usage, limit = _pair(h.get(f"{prefix}-usage")), _pair(h.get(f"{prefix}-limit"))
            if usage and limit:
                pairs.append((usage, limit))
        if not pairs:
            return
        # remaining = limit - usage; keep the window with the least left
        self.usage_15, self.limit_15 = min(((u[0], l[0]) for u, l in pairs), key=lambda t: t[1] - t[0])
        self.usage_day, self.limit_day = min(((u[1], l[1]) for u, l in pairs), key=lambda t: t[1] - t[0])
        self.seen_at = self.clock()

    @staticmethod
    def reserve_15(limit: int) -> int:
        return max(2, limit // 20)

    @staticmethod
    def reserve_day(limit: int) -> int:
        return max(5, limit // 50)

    def left(self) -> tuple[int | None, int | None]:
        """Requests this run may still send in the 15-minute and daily windows (reserve kept)."""
        if self.limit_15 is None:
            return None, None
        left_15 = self.limit_15 - self.usage_15 - self.reserve_15(self.limit_15)
        left_day = self.limit_day - self.usage_day - self.reserve_day(self.limit_day)
        if self.seen_at is not None:
            seen = dt.datetime.fromtimestamp(self.seen_at, dt.timezone.utc)
            now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
            if now.date() != seen.date():
                return self.limit_15 - self.reserve_15(self.limit_15), self.limit_day - self.reserve_day(self.limit_day)
            if (now.hour, now.minute // 15) != (seen.hour, seen.minute // 15):
                left_15 = self.limit_15 - self.reserve_15(self.limit_15)
        return left_15, left_day

    def spent_message(self) -> str | None:
        left_15, left_day = self.left()
        if left_day is not None and left_day <= 0:
            return (f"Strava's daily request budget is spent ({self.usage_day}/{self.limit_day} used, "
                    f"{self.reserve_day(self.limit_day)} kept in reserve); it resets at midnight UTC")
        if left_15 is not None and left_15 <= 0:
            return (f"Strava's 15-minute request budget is spent ({self.usage_15}/{self.limit_15} used, "
                    f"{self.reserve_15(self.limit_15)} kept in reserve); it resets at the next quarter hour")
        return None

    def as_dict(self) -> dict:
        left_15, left_day = self.left()
        return {"usage_15min": self.usage_15, "limit_15min": self.limit_15, "usage_daily": self.usage_day,
                "limit_daily": self.limit_day, "left_15min": left_15, "left_daily": left_day, "seen_at": self.seen_at}


class NotFound(Exception):
    """Strava answered 404 for the object."""


class MissingScope(StravaError):
    """The authorization lacks a scope the request needs (Strava's `<scope>_permission missing`)."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__(f"The Strava authorization lacks the {scope} scope; {REAUTH} and allow "
                         + ("'View data about your private activities'." if scope.startswith("activity")
                            else "access to your profile (heart-rate zones)."))


@dataclass
class StravaApi:
    settings: Settings
    tokens: TokenStore
    budget: RateBudget = field(default_factory=RateBudget)
    retries: int = 4
    backoff_s: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    requests_sent: int = 0
    clock: Callable[[], float] = time.time  # when the access token needs refreshing

    def __post_init__(self) -> None:
        if not (self.settings.strava_client_id and self.settings.strava_client_secret):
            raise ApplicationError(
                "STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET are not set; create a Strava API application "
                "(see README, 'Connect Strava') and put them in .env."
            )
        token = self.tokens.load()
        if token is None:
            raise StravaError(f"No Strava authorization yet; set STRAVA_REFRESH_TOKEN or {REAUTH}.")
        self.token: Token = token
        self.client = Client(
            rate_limiter=lambda headers, method: self.budget.update(headers, method),
            requests_session=RebasedSession(self.settings.strava_base_url),
        )

    # -- tokens -------------------------------------------------------------------------
    def _refresh(self) -> None:
        try:
            info = self.client.refresh_access_token(
                client_id=int(self.settings.strava_client_id),
                client_secret=self.settings.strava_client_secret,
                refresh_token=self.token.refresh_token,
            )
        except ValueError:
            raise ApplicationError("STRAVA_CLIENT_ID must be the numeric client id of your Strava API application.") from None
        except exc.ApplicationInactive:
            raise ApplicationError(INACTIVE_MESSAGE) from None
        except exc.AccessUnauthorized:
            raise ApplicationError(
                "Strava refused STRAVA_CLIENT_ID / STRAVA_CLIENT_SECRET; copy them again from "
                "https://www.strava.com/settings/api."
            ) from None
        except exc.Fault as e:
            status = getattr(e.response, "status_code", None)
            if status in RETRYABLE_STATUS:
                raise
            raise StravaError(f"Strava refused the stored refresh token (revoked, or replaced by a newer one); {REAUTH}.") from None
        # persist the rotated refresh token before anything else can fail
        self.token.refresh_token = info["refresh_token"]
        self.token.access_token = info["access_token"]
        self.token.expires_at = int(info["expires_at"])
        self.tokens.save(self.token)
        self.client.access_token = info["access_token"]
        self.client.refresh_token = info["refresh_token"]
        self.client.token_expires = int(info["expires_at"])

    def _ensure_token(self) -> None:
        if self.token.needs_refresh(self.clock()):
            self._with_retries("token refresh", self._refresh)
        else:
            self.client.access_token = self.token.access_token
            self.client.refresh_token = self.token.refresh_token
            self.client.token_expires = self.token.expires_at

    # -- requests -----------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> Any:
        """GET an API path (e.g. '/athlete/activities') and return Strava's JSON as sent."""
        reauthorized = False
        while True:
            self._ensure_token()
            if "activities" in path and self.token.scope is not None and "activity:read_all" not in self.token.scope:
                raise MissingScope("activity:read_all")
            spent = self.budget.spent_message()
            if spent:
                raise SyncStopped(spent)
            try:
                return self._with_retries(path, lambda: self._send(path, params))
            except exc.AccessUnauthorized as e:
                for err in _json(e.response).get("errors", []):
                    field_name = str(err.get("field", "")) if isinstance(err, dict) else ""
                    if field_name.endswith("_permission") and err.get("code") == "missing":
                        scope = field_name[: -len("_permission")]
                        raise MissingScope("activity:read_all" if scope.startswith("activity") else scope) from None
                if reauthorized:
                    raise StravaError(f"Strava rejected the access token (revoked or invalid); {REAUTH}.") from None
                reauthorized = True
                self.token.access_token = None  # force one refresh, then try once more

    def _send(self, path: str, params: dict) -> Any:
        self.requests_sent += 1
        return self.client.protocol.get(path, **params)

    def _with_retries(self, what: str, call: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            try:
                return call()
            except exc.ApplicationInactive:
                raise ApplicationError(INACTIVE_MESSAGE) from None
            except exc.ObjectNotFound:
                raise NotFound(what) from None
            except exc.AccessUnauthorized:
                raise
            except exc.Fault as e:
                status = getattr(e.response, "status_code", None)
                if status not in RETRYABLE_STATUS:
                    message = _json(e.response).get("message") or str(e).split("[")[0].strip()
                    raise StravaError(f"Strava refused {what}: HTTP {status} {message}.") from None
                if status == 429 and self.budget.spent_message():
                    raise SyncStopped(self.budget.spent_message()) from None
                problem = f"Strava answered HTTP {status}"
            except (requests.ConnectionError, requests.Timeout):
                if self.requests_sent <= 1 and attempt >= 1:
                    raise ApplicationError(f"Cannot reach Strava at {self.settings.strava_base_url}; "
                                      "check the network or STRAVA_BASE_URL.") from None
                problem = f"cannot reach {self.settings.strava_base_url}"
            attempt += 1
            if attempt > self.retries:
                raise SyncStopped(f"{problem} {attempt} times in a row; stopping for now")
            delay = self.backoff_s * 2 ** (attempt - 1)
            log.info("%s on %s; retry %d/%d in %.1fs", problem, what, attempt, self.retries, delay)
            self.sleep(delay)


def _json(response) -> dict:
    try:
        body = response.json()
        return body if isinstance(body, dict) else {}
    except Exception:
        return {}
