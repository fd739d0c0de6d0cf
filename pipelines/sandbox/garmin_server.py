"""A local, faithful stand-in for Garmin Connect's Personal API (/work/shared/GARMIN.md).

It serves a :class:`~pipelines.sandbox.garmin_watch.GarminWatch` over real HTTP on
127.0.0.1: the token exchange (an ``ApiKey`` for a bare or quoted HS256 JWT), Bearer
authentication with Garmin's 401 ``invalid_token`` answer, the activity search with its
offset paging and its HTTP 500 above the page limit, single activities, the original FIT
file in a ZIP (406 for an ``Accept`` without zip), HRV (365 days, 204 without data), sleep
and daily summaries (31 days), and the profile.  Garmin publishes no rate limits: bursts
of parallel requests get 429 with ``Retry-After``.  The server records every request, the
requests that overlapped another one and those that came before a Retry-After had
passed, so tests can check that a client paces itself.  Fault switches make it fail on
purpose; world edits change the data between syncs.  `add_account` serves further Garmin
accounts behind the same host, each with its own key, tokens and watch (a club's athletes),
and `cloned_watch` makes a watch of another account from an existing one.

Run it by hand::

    python -m pipelines.sandbox.garmin_server --port 8766 --end-date 2026-11-29 --years 0.5
"""

from __future__ import annotations

import argparse
import base64
import copy
import dataclasses
import datetime as dt
import email.utils
import hashlib
import hmac
import io
import json
import math
import random
import re
import secrets
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from pipelines.sandbox.fit_writer import encode_activity
from pipelines.sandbox.local_server import LocalServer, QuietHandler, Response, encode_body
from pipelines.sandbox.garmin_watch import FIT_SPORTS, GarminWatch, empty_sleep, generate_sample_garmin_watch

TOKEN_PATH = "/personalapitoken-service/personal-api/personal-api-key/token"
ACTIVITIES_PATH = "/activitylist-service/activities/search/activities"
ACTIVITY_PREFIX = "/activity-service/activity/"
DOWNLOAD_PREFIX = "/download-service/files/activity/"
HRV_PREFIX = "/hrv-service/hrv/daily/"
SLEEP_PATH = "/sleep-service/sleep/dailySleepSummariesByDate"
DAILY_PATH = "/usersummary-service/v2/dailysummaries"
PROFILE_PATH = "/userprofile-service/userprofile/settings"
ISSUER = "https://personal.connectapi.garmin.com"
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/*", "*/*")
INVALID_TOKEN = 'Bearer error="invalid_token", error_description="Token is not active"'
MAX_SLEEP_DAYS = 31
MAX_DAILY_DAYS = 31
MAX_HRV_DAYS = 365
KINDS = ("token", "activities", "activity", "download", "hrv", "sleep", "daily", "profile", "other")


@dataclass
class GarminRequest:
    """One request as the server saw it (times from time.monotonic())."""

    method: str
    path: str
    query: dict[str, str]
    kind: str
    status: int
    received_at: float
    answered_at: float


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _kind(path: str) -> str:
    if path == TOKEN_PATH:
        return "token"
    if path == ACTIVITIES_PATH:
        return "activities"
    if path.startswith(ACTIVITY_PREFIX):
        return "activity"
    if path.startswith(DOWNLOAD_PREFIX):
        return "download"
    if path.startswith(HRV_PREFIX):
        return "hrv"
    if path == SLEEP_PATH:
        return "sleep"
    if path == DAILY_PATH:
        return "daily"
    if path == PROFILE_PATH:
        return "profile"
    return "other"


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _error(status: int, message: str) -> dict:
    return {"message": message, "error": {404: "NotFoundException", 400: "BadRequestException",
                                          405: "MethodNotAllowedException"}.get(status, "WebApplicationException")}


_HTML_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Time-out", 408: "Request Timeout"}


def _html_error(status: int) -> str:
    reason = _HTML_ERRORS.get(status, "Error")
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n")


class FakeGarmin(LocalServer):
    """Garmin Connect's Personal API on 127.0.0.1 serving one watch. Thread-safe; a context manager."""

    def __init__(
        self,
        watch: GarminWatch,
        *,
        api_key: str = "sandbox-garmin-key",
        token_ttl_s: float = 86400,
        page_limit: int = 45,
        burst_retry_after: int = 2,
        latency_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.watch = watch
        self.owner_id = int(watch.owner_id)
        self.api_key = api_key
        self.token_ttl_s = float(token_ttl_s)
        self.page_limit = int(page_limit)
        self.burst_retry_after = int(burst_retry_after)
        self.latency_s = float(latency_s)  # time each answer takes (to provoke overlaps)
        self.clock = clock  # wall clock for the JWT exp claim
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)

        self._activities: dict[int, dict] = {int(a["activityId"]): copy.deepcopy(a) for a in watch.activities}
        self._fits: dict[int, bytes | None] = {}  # overrides of watch.fit_file
        self._streams: dict[int, tuple[list[int], list[int]]] = {}
        self._hrv = copy.deepcopy(watch.hrv)
        self._sleep = copy.deepcopy(watch.sleep)
        self._daily = copy.deepcopy(watch.daily)
        self._today = watch.end_date

        # tokens
        self._key_revoked = False
        self._active_jti: set[str] = set()
        self._issued = 0

        # pacing
        self._in_flight = 0
        self._blocked_until = 0.0
        self.requests: list[GarminRequest] = []
        self.retry_after_violations: list[GarminRequest] = []
        self.overlap_violations: list[GarminRequest] = []

        # faults
        self._fail_queue: list[int] = []
        self._throttle_queue: list[int | str] = []
        self._fail_rate = 0.0
        self._fail_rng = random.Random(0)
        self._fail_statuses: tuple[int, ...] = (500, 502, 503, 504)

        # further accounts behind this host (add_account), each a FakeGarmin that is not started
        self._accounts: list[FakeGarmin] = []

    # ------------------------------------------------------------------ lifecycle

    # ------------------------------------------------------------------ log
    def count(self, kind: str | None = None) -> int:
        with self._lock:
            if kind is None:
                return len(self.requests)
            return sum(1 for r in self.requests if r.kind == kind)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.retry_after_violations.clear()
            self.overlap_violations.clear()

    # ------------------------------------------------------------------ accounts
    def add_account(self, watch: GarminWatch, api_key: str) -> "FakeGarmin":
        """Another Garmin account behind this host (a club: one key per athlete). Returns the
        account: its key, tokens, data, fault switches, world edits and request log are its
        own. The host's pacing (one request at a time, 429 on bursts, its violation lists) and
        its request log cover every account's requests; a Retry-After the account sends
        (throttle_next) is its own and not enforced by the host."""
        account = FakeGarmin(watch, api_key=api_key, token_ttl_s=self.token_ttl_s, page_limit=self.page_limit,
                             burst_retry_after=self.burst_retry_after, clock=self.clock)
        with self._lock:
            self._accounts.append(account)
        return account

    def _account_for(self, path: str, headers: dict[str, str]) -> "FakeGarmin":
        """The account a request is for: by its key at the token endpoint, else by its token."""
        auth = headers.get("authorization", "")
        key = re.fullmatch(r"\s*ApiKey\s+(\S+)\s*", auth) if path == TOKEN_PATH else None
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        for account in self._accounts:
            with account._lock:
                if key is not None and hmac.compare_digest(key.group(1), account.api_key):
                    return account
                if token and account._token_ok(token):
                    return account
        return self

    # ------------------------------------------------------------------ keys and tokens
    def revoke_key(self) -> None:
        """The key is rejected at the token endpoint and every issued token is inactive."""
        with self._lock:
            self._key_revoked = True
            self._active_jti.clear()

    def expire_tokens(self) -> None:
        """Every issued token becomes inactive; the key still works."""
        with self._lock:
            self._active_jti.clear()

    def set_key(self, api_key: str) -> None:
        """A new key (the user created one): it works, the old one does not."""
        with self._lock:
            self.api_key = api_key
            self._key_revoked = False

    def issue_token(self) -> str:
        """A valid token without the HTTP exchange (for tests of raw shapes)."""
        with self._lock:
            return self._new_token()

    def _new_token(self) -> str:
        now = int(self.clock())
        jti = secrets.token_hex(12)
        header = {"alg": "HS256", "typ": "JWT", "kid": "personal-api-1"}
        payload = {"iss": ISSUER, "sub": str(self.owner_id), "iat": now, "nbf": now,
                   "exp": int(math.floor(now + self.token_ttl_s)), "jti": jti,
                   "scope": ["PERSONAL_API_READ"], "client_type": "PERSONAL_API"}
        signing = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            _b64url(json.dumps(payload, separators=(",", ":")).encode())
        sig = hmac.new(self._secret, signing.encode("ascii"), hashlib.sha256).digest()
        self._active_jti.add(jti)
        return signing + "." + _b64url(sig)

    def _token_ok(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3:
            return False
        try:
            expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
                return False
            claims = json.loads(_b64url_decode(parts[1]))
        except (ValueError, UnicodeError):
            return False
        return (claims.get("jti") in self._active_jti and isinstance(claims.get("exp"), (int, float))
                and claims["exp"] > self.clock())

    # ------------------------------------------------------------------ faults
    def fail_rate(self, rate: float, seed: int = 0, statuses=(500, 502, 503, 504)) -> None:
        """Each data request (not the token) fails with one of ``statuses`` with probability ``rate``."""
        with self._lock:
            self._fail_rate = float(rate)
            self._fail_rng = random.Random(seed)
            self._fail_statuses = tuple(statuses)

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` data requests answer ``status`` (replacing queued failures; 0 clears them)."""
        with self._lock:
            self._fail_queue[:] = [int(status)] * n

    def throttle_next(self, n: int, retry_after: int | str = 1) -> None:
        """The next ``n`` data requests get 429 with Retry-After: ``retry_after`` seconds, or with
        ``'date'`` an HTTP date (``burst_retry_after`` seconds ahead, rounded up to a whole second)."""
        with self._lock:
            self._throttle_queue[:] = [retry_after] * n

    def set_latency(self, seconds: float) -> None:
        """Every answer takes this long (a slow Garmin: parallel requests then overlap)."""
        with self._lock:
            self.latency_s = float(seconds)

    # ------------------------------------------------------------------ world edits
    def add_activity(self, activity: dict, fit: bytes | None = None,
                     stream: tuple[list[int], list[int]] | None = None) -> None:
        """Adds (or replaces) an activity. With ``stream`` (time_s, heartrate) and no ``fit``, a FIT
        file is written from the stream; with neither, the activity has no file (like a manual one)."""
        with self._lock:
            act = copy.deepcopy(activity)
            if not act.get("activityId"):
                act["activityId"] = max(self._activities, default=21_000_000_000) + 1_000_003
            aid = int(act["activityId"])
            act.setdefault("ownerId", self.owner_id)
            act.setdefault("manualActivity", fit is None and stream is None)
            self._activities[aid] = act
            if fit is None and stream is not None:
                fit = _fit_from_stream(act, stream)
            self._fits[aid] = fit
            if stream is not None:
                self._streams[aid] = (list(stream[0]), list(stream[1]))
            else:
                self._streams.pop(aid, None)

    def edit_activity(self, activity_id: int, **fields: Any) -> dict:
        with self._lock:
            act = self._activities[int(activity_id)]
            act.update(copy.deepcopy(fields))
            return copy.deepcopy(act)

    def delete_activity(self, activity_id: int) -> None:
        with self._lock:
            self._activities.pop(int(activity_id))
            self._fits[int(activity_id)] = None

    def set_wellness(self, kind: str, day: str, obj: dict | None) -> None:
        """Sets one day of 'hrv', 'sleep' or 'daily' (None removes the day)."""
        store = {"hrv": self._hrv, "sleep": self._sleep, "daily": self._daily}[kind]
        day = day.isoformat() if isinstance(day, dt.date) else str(day)
        with self._lock:
            if obj is None:
                store.pop(day, None)
            else:
                store[day] = copy.deepcopy(obj)

    def set_today(self, day: dt.date) -> None:
        """Moves "today": nothing dated after it is served."""
        with self._lock:
            self._today = day

    @property
    def today(self) -> dt.date:
        return self._today

    def activities(self) -> list[dict]:
        """The activities served now (deleted ones gone, none after today), newest first."""
        with self._lock:
            return [copy.deepcopy(self._activities[i]) for i in self._sorted_ids()]

    def fit_of(self, activity_id: int) -> bytes | None:
        """What the download serves inside its ZIP (None: 404)."""
        with self._lock:
            aid = int(activity_id)
            if aid not in self._activities:
                return None
            if aid in self._fits:
                return self._fits[aid]
        return self.watch.fit_file(aid)

    def hr_stream(self, activity_id: int) -> tuple[list[int], list[int]] | None:
        with self._lock:
            aid = int(activity_id)
            if aid not in self._activities:
                return None
            if aid in self._fits:
                s = self._streams.get(aid)
                return (list(s[0]), list(s[1])) if s else None
        return self.watch.hr_stream(aid)

    # ------------------------------------------------------------------ dispatch
    def _begin(self) -> tuple[float, Response | None, str]:
        """Called as a request arrives: returns (received_at, an early 429 or None, violation)."""
        with self._lock:
            now = time.monotonic()
            self._in_flight += 1
            if self._in_flight > 1:
                self._blocked_until = max(self._blocked_until, now + self.burst_retry_after)
                return now, Response(429, b"", {"Retry-After": str(self.burst_retry_after)}), "overlap"
            if now < self._blocked_until:
                wait = max(1, math.ceil(self._blocked_until - now))
                return now, Response(429, b"", {"Retry-After": str(wait)}), "retry_after"
            return now, None, ""

    def _finish(self, method: str, path: str, query: dict, status: int, received: float, violation: str) -> None:
        with self._lock:
            self._in_flight -= 1
            req = GarminRequest(method=method, path=path, query=query, kind=_kind(path), status=status,
                                received_at=received, answered_at=time.monotonic())
            self.requests.append(req)
            if violation == "overlap":
                self.overlap_violations.append(req)
            elif violation == "retry_after":
                self.retry_after_violations.append(req)

    def handle(self, method: str, raw_path: str, headers: dict[str, str]) -> Response:
        """One request; runs under the lock (answers are computed one at a time)."""
        parts = urlsplit(raw_path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        account = self._account_for(path, headers) if self._accounts else self
        if account is not self:
            received = time.monotonic()
            response = account.handle(method, raw_path, headers)
            with account._lock:  # the account's own log too (the host's has every request)
                account.requests.append(GarminRequest(method=method, path=path, query=query, kind=_kind(path),
                                                      status=response.status, received_at=received,
                                                      answered_at=time.monotonic()))
            return response
        with self._lock:
            if path == TOKEN_PATH:
                return self._token(method, headers)
            kind = _kind(path)
            if kind == "other":
                return Response(404, _error(404, "Not Found"))
            if self._throttle_queue:
                ra = self._throttle_queue.pop(0)
                return self._throttled(ra)
            if self._fail_queue:
                status = self._fail_queue.pop(0)
                return Response(status, _html_error(status), content_type="text/html")
            if self._fail_rate > 0 and self._fail_rng.random() < self._fail_rate:
                status = self._fail_rng.choice(self._fail_statuses)
                return Response(status, _html_error(status), content_type="text/html")
            auth = headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            if not token or not self._token_ok(token):
                return Response(401, b"", {"WWW-Authenticate": INVALID_TOKEN})
            if method != "GET":
                return Response(405, _error(405, "Method Not Allowed"), {"Allow": "GET"})
            if kind == "activities":
                return self._search(query)
            if kind == "activity":
                return self._activity(path[len(ACTIVITY_PREFIX):])
            if kind == "download":
                return self._download(path[len(DOWNLOAD_PREFIX):], headers)
            if kind == "hrv":
                return self._hrv_range(path[len(HRV_PREFIX):])
            if kind == "sleep":
                return self._sleep_range(query)
            if kind == "daily":
                return self._daily_range(query)
            return Response(200, copy.deepcopy(self.watch.profile) or {"id": self.owner_id, "userData": {}})

    def _throttled(self, retry_after: int | str) -> Response:
        now_m, now_w = time.monotonic(), time.time()
        if retry_after == "date":
            at = math.ceil(now_w + self.burst_retry_after)
            value = email.utils.formatdate(at, usegmt=True)
            until = now_m + (at - now_w)
        else:
            value = str(int(retry_after))
            until = now_m + int(retry_after)
        self._blocked_until = max(self._blocked_until, until)
        return Response(429, b"", {"Retry-After": value})

    def _token(self, method: str, headers: dict) -> Response:
        if method != "POST":
            return Response(405, _error(405, "Method Not Allowed"), {"Allow": "POST"})
        auth = headers.get("authorization")
        if not auth:
            return Response(400, {"message": "Missing Authorization header", "error": "BadRequestException"})
        m = re.fullmatch(r"\s*ApiKey\s+(\S+)\s*", auth)
        if not m or self._key_revoked or not hmac.compare_digest(m.group(1), self.api_key):
            return Response(401, {"message": "Invalid API key", "error": "UnauthorizedException"})
        token = self._new_token()
        self._issued += 1
        if self._issued % 2 == 0:  # every other token comes back as a JSON string
            return Response(200, f'"{token}"', content_type="application/json")
        return Response(200, token, content_type="text/plain;charset=UTF-8")

    # ------------------------------------------------------------------ data
    def _local_date(self, act: dict) -> dt.date:
        return dt.date.fromisoformat(str(act.get("startTimeLocal", ""))[:10])

    def _sorted_ids(self) -> list[int]:
        ids = [i for i, a in self._activities.items() if self._local_date(a) <= self._today]
        ids.sort(key=lambda i: (str(self._activities[i].get("startTimeGMT", "")), i), reverse=True)
        return ids

    def _search(self, query: dict) -> Response:
        try:
            start = int(query.get("start") or 0)
            limit = int(query.get("limit") or 20)
        except ValueError:
            return Response(400, _error(400, "start and limit must be integers"))
        if start < 0 or limit < 0:
            return Response(400, _error(400, "start and limit must not be negative"))
        if limit > self.page_limit:
            return Response(500, {"message": "An unexpected error has occurred.", "error": "WebApplicationException"})
        lo, hi = query.get("startDate"), query.get("endDate")
        lo_d, hi_d = _date(lo), _date(hi)
        if (lo and lo_d is None) or (hi and hi_d is None):
            return Response(400, _error(400, "dates must be YYYY-MM-DD"))
        ids = [i for i in self._sorted_ids()
               if (lo_d is None or self._local_date(self._activities[i]) >= lo_d)
               and (hi_d is None or self._local_date(self._activities[i]) <= hi_d)]
        return Response(200, [self._activities[i] for i in ids[start:start + limit]])

    def _activity_id(self, text: str) -> int | None:
        try:
            aid = int(text.strip("/"))
        except ValueError:
            return None
        act = self._activities.get(aid)
        if act is None or self._local_date(act) > self._today:
            return None
        return aid

    def _activity(self, text: str) -> Response:
        aid = self._activity_id(text)
        if aid is None:
            return Response(404, _error(404, "Activity not found"))
        act = copy.deepcopy(self._activities[aid])
        summary_keys = ("startTimeLocal", "startTimeGMT", "distance", "duration", "movingDuration",
                        "elapsedDuration", "elevationGain", "elevationLoss", "averageSpeed", "maxSpeed",
                        "averageHR", "maxHR", "calories")
        act["summaryDTO"] = {k: act[k] for k in summary_keys if k in act}
        act["metadataDTO"] = {"manualActivity": act.get("manualActivity", False),
                              "hasPolyline": act.get("hasPolyline", False),
                              "lapCount": act.get("lapCount"),
                              "deviceApplicationInstallationId": None}
        zone = "Europe/Zurich"
        try:
            local = dt.datetime.strptime(act["startTimeLocal"], "%Y-%m-%d %H:%M:%S")
            if local < dt.datetime.strptime(act["startTimeGMT"], "%Y-%m-%d %H:%M:%S"):
                zone = "America/Denver"  # the sample athlete's only trips abroad
        except (KeyError, ValueError):
            pass
        act["timeZoneUnitDTO"] = {"unitKey": zone, "timeZone": zone}
        act["userProfileId"] = act.get("ownerId", self.owner_id)
        return Response(200, act)

    def _download(self, text: str, headers: dict) -> Response:
        aid = self._activity_id(text)
        if aid is None:
            return Response(404, _error(404, "Activity not found"))
        accept = headers.get("accept")
        if accept is not None:
            types = [p.split(";")[0].strip().lower() for p in accept.split(",") if p.strip()]
            if types and not any(t in ZIP_TYPES for t in types):
                return Response(406, b"")
        fit = self._fits[aid] if aid in self._fits else self.watch.fit_file(aid)
        if not fit:
            return Response(404, _error(404, "No file for this activity"))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{aid}_ACTIVITY.fit", fit)
        return Response(200, buf.getvalue(), {"Content-Disposition": f'attachment; filename="{aid}.zip"'},
                         content_type="application/x-zip-compressed")

    def _range(self, lo: dt.date | None, hi: dt.date | None, longest: int) -> list[dt.date] | None:
        if lo is None or hi is None or hi < lo or (hi - lo).days + 1 > longest:
            return None
        hi = min(hi, self._today)
        return [lo + dt.timedelta(days=k) for k in range((hi - lo).days + 1)]

    def _hrv_range(self, rest: str) -> Response:
        parts = rest.strip("/").split("/")
        if len(parts) != 2:
            return Response(404, _error(404, "Not Found"))
        days = self._range(_date(parts[0]), _date(parts[1]), MAX_HRV_DAYS)
        if days is None:
            return Response(400, b"")
        items = [copy.deepcopy(self._hrv[d.isoformat()]) for d in days if d.isoformat() in self._hrv]
        if not items:
            return Response(204, b"")
        return Response(200, {"hrvSummaries": items, "userProfilePk": self.owner_id})

    def _sleep_range(self, query: dict) -> Response:
        days = self._range(_date(query.get("startDate")), _date(query.get("endDate")), MAX_SLEEP_DAYS)
        if days is None:
            return Response(400, {})
        out = []
        for d in days:
            obj = self._sleep.get(d.isoformat())
            out.append(copy.deepcopy(obj) if obj is not None else empty_sleep(d.isoformat()))
        return Response(200, out)

    def _daily_range(self, query: dict) -> Response:
        days = self._range(_date(query.get("startDate")), _date(query.get("endDate")), MAX_DAILY_DAYS)
        if days is None:
            return Response(400, b"")
        return Response(200, {"data": [copy.deepcopy(self._daily[d.isoformat()]) for d in days
                                        if d.isoformat() in self._daily]})


def cloned_watch(watch: GarminWatch, owner_id: int, id_offset: int) -> GarminWatch:
    """The same watch as another Garmin account: ``owner_id`` in every object that names the
    owner, activity ids moved by ``id_offset`` (Garmin's ids are global), the same samples."""
    moved = {int(a["activityId"]): int(a["activityId"]) + id_offset for a in watch.activities}
    moved.update({aid: aid + id_offset for aid in watch._recordings})
    return dataclasses.replace(
        watch, owner_id=owner_id,
        activities=[{**copy.deepcopy(a), "activityId": moved[int(a["activityId"])], "ownerId": owner_id}
                    for a in watch.activities],
        daily={day: {**copy.deepcopy(o), "userProfilePk": owner_id} for day, o in watch.daily.items()},
        profile={**copy.deepcopy(watch.profile), "id": owner_id} if watch.profile else {},
        hrv=copy.deepcopy(watch.hrv), sleep=copy.deepcopy(watch.sleep),
        strava_ids={moved.get(k, k + id_offset): v for k, v in watch.strava_ids.items()},
        watch_only_ids=[moved.get(i, i + id_offset) for i in watch.watch_only_ids],
        _recordings={moved[k]: v for k, v in watch._recordings.items()}, _fit_cache={}, _hr_cache={})


def _fit_from_stream(act: dict, stream: tuple[list[int], list[int]]) -> bytes:
    start = dt.datetime.strptime(act["startTimeGMT"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    local = dt.datetime.strptime(act["startTimeLocal"], "%Y-%m-%d %H:%M:%S")
    offset = int((local - start.replace(tzinfo=None)).total_seconds())
    sport, sub = FIT_SPORTS.get((act.get("activityType") or {}).get("typeKey"), ("generic", "generic"))
    return encode_activity(start_utc=start, time_s=stream[0], heartrate=stream[1], sport=sport,
                           sub_sport=sub, local_offset_s=offset, manufacturer=1)


# ---------------------------------------------------------------------- HTTP


class _Handler(QuietHandler):
    fake: FakeGarmin
    server_name = "Garmin"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        fake = self.fake
        received, early, violation = fake._begin()
        resp = early
        if resp is None:
            try:
                if fake.latency_s > 0:
                    time.sleep(fake.latency_s)
                resp = fake.handle(method, self.path, headers)
            except Exception as exc:  # a bug here should look like a Garmin 500, not hang the client
                resp = Response(500, {"message": f"An unexpected error has occurred ({type(exc).__name__}).",
                                       "error": "WebApplicationException"})
        payload, ctype = encode_body(resp, "application/json;charset=UTF-8", "text/plain;charset=UTF-8")
        # the answer is complete before its bytes leave: a client that waits for it never overlaps
        fake._finish(method, parts.path, query, resp.status, received, violation)
        self.send_response(resp.status)
        if resp.status != 204:
            if ctype and payload:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD" and resp.status != 204 and payload:
            self.wfile.write(payload)


FakeGarmin.handler = _Handler
FakeGarmin.thread_name = "fake-garmin"


# ---------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipelines.sandbox.garmin_server",
                                description="Serve the sample athlete's Garmin watch as a local Personal API.")
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--end-date", type=dt.date.fromisoformat, default=dt.date.today(),
                   help="last day of the sample athlete (YYYY-MM-DD, default today)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--years", type=float, default=2.0)
    p.add_argument("--api-key", default="sandbox-garmin-key")
    p.add_argument("--token-ttl", type=float, default=86400, help="seconds")
    p.add_argument("--page-limit", type=int, default=45)
    p.add_argument("--burst-retry-after", type=int, default=2, help="seconds")
    args = p.parse_args(argv)

    watch = generate_sample_garmin_watch(args.end_date, years=args.years, seed=args.seed)
    fake = FakeGarmin(watch, api_key=args.api_key, token_ttl_s=args.token_ttl, page_limit=args.page_limit,
                      burst_retry_after=args.burst_retry_after)
    base = fake.start(port=args.port, host=args.host)
    print(f"Fake Garmin Personal API serving {len(watch.activities)} activities and {len(watch.hrv)} HRV nights "
          f"of owner {watch.owner_id} at {base}")
    print("This key is fake and works only here:")
    print(f"  GARMIN_PERSONAL_API_BASE_URL={base}")
    print(f"  GARMIN_PERSONAL_API_KEY={fake.api_key}")
    fake.serve_until_stopped()  # prints "Ctrl-C stops it." once Ctrl-C does
    return 0


if __name__ == "__main__":
    sys.exit(main())
