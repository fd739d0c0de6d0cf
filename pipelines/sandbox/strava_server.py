"""A local, faithful stand-in for the Strava v3 API (and its OAuth token endpoint).

It serves a :class:`~pipelines.sandbox.sample_athlete.SampleAthlete` over real HTTP on
127.0.0.1, so the product and its tests drive the real stravalib client against it.  It
answers like Strava does (developers.strava.com): the same JSON shapes for activities,
streams, zones and errors, refresh-token rotation, the two rate-limit windows with their
``X-RateLimit-*`` / ``X-ReadRateLimit-*`` headers, scopes (``activity:read`` hides
"only me" activities, ``/athlete/zones`` needs ``profile:read_all``), 404s for deleted
activities and the 403 of an inactive application.  Fault switches make it fail on
purpose.

One application, many athletes: ``FakeStrava(athletes=[...])`` serves several athletes through
the one application (client id and secret, rate-limit windows, push subscription), as a
coach's club deployment does.  Each athlete has their own refresh-token rotation, access
tokens, scope and authorization state, and a token sees only its own athlete; the rate limits
are the application's, shared by all of them, and ``athlete_capacity`` counts the connected
athletes of the whole application.  Methods acting on an athlete take ``athlete_id`` (default:
the primary, first athlete), so single-athlete callers see no difference.

Push subscriptions (Strava's Webhook Events API) work too: ``POST /api/v3/push_subscriptions``
(client id and secret, ``callback_url``, ``verify_token``) first validates the callback with
the ``hub.challenge`` GET handshake (200 and the challenge echoed within 2 s), ``GET`` lists
the application's one subscription and ``DELETE /api/v3/push_subscriptions/{id}`` removes it;
these calls count against no rate limit.  Tests then change the world and push the event
Strava would send (``push_create``, ``push_update``, ``push_delete``, ``deauthorize``) or
any event (``push_event``), delivered like Strava: a POST of the event JSON that counts
only when answered 200 within 2 s, three attempts in all.

Run it by hand::

    python -m pipelines.sandbox.strava_server --port 8765 --end-date 2026-11-25
    python -m pipelines.sandbox.strava_server --athletes 3   # a club: three athletes, one application
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import random
import secrets
import sys
import threading
import time
from typing import Any, Callable, Collection
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from pipelines.sandbox.local_server import LocalServer, QuietHandler, Response, encode_body
from pipelines.sandbox.sample_athlete import SampleAthlete, generate_sample_athlete

API_PREFIX = "/api/v3"
STREAM_TYPES = ("time", "latlng", "distance", "altitude", "velocity_smooth", "heartrate", "cadence",
                "watts", "temp", "moving", "grade_smooth")
RESOLUTION_POINTS = {"low": 100, "medium": 1000, "high": 10000}
PUSH_PATH = API_PREFIX + "/push_subscriptions"
CALLBACK_TIMEOUT_S = 2.0  # Strava's limit for the handshake and for acknowledging an event
PUSH_ATTEMPTS = 3  # an event is tried up to three times in all

# Strava's error bodies
ERR_AUTH = {"message": "Authorization Error",
            "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]}
ERR_NOT_FOUND_RECORD = {"message": "Record Not Found",
                        "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}]}
ERR_NOT_FOUND_PATH = {"message": "Resource Not Found",
                      "errors": [{"resource": "resource", "field": "path", "code": "invalid"}]}
ERR_RATE = {"message": "Rate Limit Exceeded",
            "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]}
ERR_CAPACITY = {"message": "Limit of connected athletes exceeded",
                "errors": [{"resource": "Application", "field": "athlete_count", "code": "limit exceeded"}]}
ERR_INACTIVE = {"message": "Forbidden",
                "errors": [{"resource": "Application", "field": "Status", "code": "Inactive"}]}
ERR_SUBSCRIPTION_EXISTS = {"message": "Bad Request",
                           "errors": [{"resource": "PushSubscription", "field": "", "code": "already exists"}]}
ERR_SUBSCRIPTION_NOT_FOUND = {"message": "Resource Not Found",
                              "errors": [{"resource": "PushSubscription", "field": "id", "code": "not found"}]}
CALLBACK_NOT_200 = "GET to callback URL does not return 200"
CALLBACK_NOT_VERIFIABLE = "not verifiable"


def _missing_scope(scope: str) -> dict:
    return {"message": "Authorization Error",
            "errors": [{"resource": "AccessToken", "field": f"{scope}_permission", "code": "missing"}]}


def _bad_request(resource: str, field: str, code: str = "invalid") -> dict:
    return {"message": "Bad Request", "errors": [{"resource": resource, "field": field, "code": code}]}


def _bad_application(field: str) -> dict:
    return {"message": "Authorization Error",
            "errors": [{"resource": "Application", "field": field, "code": "invalid"}]}


_HTML_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


def _html_error(status: int) -> str:
    reason = _HTML_ERRORS.get(status, "Error")
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n")


def _epoch(iso_z: str) -> float:
    return dt.datetime.strptime(iso_z, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()


class _Athlete:
    """One athlete of the application: their data upstream and their authorization of it."""

    def __init__(self, sample: SampleAthlete, refresh_token: str, scope: str, authorized: bool) -> None:
        self.athlete = copy.deepcopy(sample.athlete)
        self.id = int(self.athlete["id"])
        self.zones = copy.deepcopy(sample.zones)
        self.activities: dict[int, dict] = {}
        self.start: dict[int, float] = {}
        for a in sample.activities:
            self.put(copy.deepcopy(a))
        self.streams: dict[int, dict[str, list]] = {int(k): v for k, v in sample.streams.items()}
        self.synth_cache: dict[int, dict[str, list]] = {}
        self.refresh_token = refresh_token
        self.scope = scope  # the scope of the latest authorization (and of its refresh token)
        self.authorized = authorized  # False before the athlete connects, and after they revoke (deauthorize)

    def put(self, activity: dict) -> None:
        self.activities[int(activity["id"])] = activity
        self.start[int(activity["id"])] = _epoch(activity["start_date"])

    def read_all(self) -> bool:
        return "activity:read_all" in set(self.scope.replace(" ", ",").split(","))


class FakeStrava(LocalServer):
    """A Strava v3 API on 127.0.0.1 for one application and its athletes. Thread-safe; a context manager.

    ``FakeStrava(athlete)`` serves one athlete, as most tests want.  ``athletes=[...]`` serves
    several through the same application (one client id and secret, one set of rate-limit
    windows, one push subscription), as a coach's deployment syncs a club: each athlete has
    their own refresh token (rotating on its own), access tokens, scope and authorization, and
    a token sees only its own athlete's data.  The first athlete (``athlete``, else
    ``athletes[0]``) is the *primary* one: every method that acts on an athlete acts on it
    unless given ``athlete_id``.  Activity ids are unique across athletes, as on Strava.
    """

    def __init__(
        self,
        athlete: SampleAthlete | None = None,
        *,
        athletes: list[SampleAthlete] | None = None,
        client_id: str = "12345",
        client_secret: str = "fake-secret",
        refresh_token: str = "fake-refresh-0",
        access_token_ttl_s: int = 21600,
        read_limit_15min: int = 100,
        read_limit_daily: int = 1000,
        overall_limit_15min: int = 200,
        overall_limit_daily: int = 2000,
        scope: str = "read,activity:read_all",
        clock: Callable[[], float] = time.time,
        other_athletes_connected: int = 0,
        athlete_capacity: int | None = None,
        connected: bool | Collection[int] = True,
    ) -> None:
        served: list[SampleAthlete] = [athlete] if athlete is not None else []
        served += [a for a in (athletes or []) if a is not athlete]
        if not served:
            if athletes is not None:
                raise ValueError("athletes: give at least one athlete")
            served = [generate_sample_athlete(dt.datetime.fromtimestamp(clock(), dt.timezone.utc).date())]
        ids = [int(a.athlete["id"]) for a in served]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"athletes: each athlete needs an id of their own ({twice} given more than once)")
        owner_of: dict[int, int] = {}
        for a, aid in zip(served, ids):
            for act in a.activities:
                other = owner_of.setdefault(int(act["id"]), aid)
                if other != aid:
                    raise ValueError(f"athletes: activity {act['id']} belongs to athletes {other} and {aid}; "
                                     "activity ids are unique across Strava (see with_athlete_id)")
        if isinstance(connected, bool):
            connected_ids = set(ids) if connected else set()
        else:
            connected_ids = {int(i) for i in connected}
            if not connected_ids <= set(ids):
                raise ValueError(f"connected: no athlete {sorted(connected_ids - set(ids))} on this server")

        self.client_id = str(client_id)
        self.client_secret = client_secret
        self.access_token_ttl_s = int(access_token_ttl_s)
        self.read_limit_15min = read_limit_15min
        self.read_limit_daily = read_limit_daily
        self.overall_limit_15min = overall_limit_15min
        self.overall_limit_daily = overall_limit_daily
        self.clock = clock
        # Application capacity: a new application connects 1 athlete until Strava reviews it;
        # a code exchange for one more athlete gets 403 "Limit of connected athletes exceeded".
        # Connected athletes are counted across the application: those served here that are
        # connected, plus ``other_athletes_connected`` (athletes connected elsewhere).
        self.athlete_capacity = athlete_capacity
        self.other_athletes_connected = other_athletes_connected
        self._lock = threading.RLock()

        # the athletes, primary first; refresh tokens: ``refresh_token`` for the primary,
        # ``f"{refresh_token}-{athlete_id}"`` for each other one
        self._athletes: dict[int, _Athlete] = {}
        for n, (a, aid) in enumerate(zip(served, ids)):
            token = refresh_token if n == 0 else f"{refresh_token}-{aid}"
            self._athletes[aid] = _Athlete(a, token, scope, aid in connected_ids)
        self._primary = ids[0]
        # the athlete logged in to strava.com in the browser: GET /oauth/authorize asks them
        self.browser_athlete_id: int = self._primary

        # tokens
        self._access: dict[str, tuple[float, str, int]] = {}  # token -> (expires_at, scope, athlete id)
        self._codes: dict[str, tuple[str, int]] = {}  # authorization code -> (scope, athlete id)
        self._owner: dict[str, int] = {}  # every token and code ever issued -> its athlete (for the log)
        for st in self._athletes.values():
            self._owner[st.refresh_token] = st.id

        # push subscription (webhooks): one per application
        self._subscription: dict | None = None
        self._next_subscription_id = 120_475
        self.push_log: list[tuple[dict, list[tuple[int | None, float]]]] = []  # (event, attempts)

        # rate limits: the application's, shared by all its athletes
        self._window15 = None
        self._window_day = None
        self._used15 = self._used_day = self._read15 = self._read_day = 0
        self.rate_limited = 0  # requests answered 429 because a window was spent

        # faults
        self._fail_queue: list[tuple[int, str]] = []
        self._fail_oauth = False
        self._inactive = False

        self.request_log: list[tuple[str, str, dict]] = []
        # parallel to request_log: the athlete whose token (access or refresh token, or
        # authorization code) the request carried; None without one, or for an unknown one
        self.request_athletes: list[int | None] = []

    # ------------------------------------------------------------------ athletes
    @property
    def athlete_ids(self) -> list[int]:
        """The ids of the athletes served, the primary one first."""
        with self._lock:
            return list(self._athletes)

    @property
    def connected_athlete_ids(self) -> list[int]:
        """The athletes served here who have authorized the application (and not revoked it)."""
        with self._lock:
            return [i for i, st in self._athletes.items() if st.authorized]

    def _st(self, athlete_id: int | None) -> _Athlete:
        aid = self._primary if athlete_id is None else int(athlete_id)
        try:
            return self._athletes[aid]
        except KeyError:
            raise KeyError(f"no athlete {aid} on this server (athletes {list(self._athletes)})") from None

    def _connected_count(self) -> int:
        return self.other_athletes_connected + sum(st.authorized for st in self._athletes.values())

    # ------------------------------------------------------------------ tokens
    @property
    def current_refresh_token(self) -> str:
        """The primary athlete's current refresh token."""
        with self._lock:
            return self._st(None).refresh_token

    def refresh_token_of(self, athlete_id: int) -> str:
        """That athlete's current refresh token (each rotates on its own)."""
        with self._lock:
            return self._st(athlete_id).refresh_token

    def issue_authorization_code(self, scope: str = "read,activity:read_all", *,
                                 athlete_id: int | None = None) -> str:
        """A single-use code, as Strava's redirect after the athlete allowed access would carry."""
        with self._lock:
            st = self._st(athlete_id)
            code = secrets.token_hex(20)
            self._codes[code] = (scope, st.id)
            self._owner[code] = st.id
            return code

    def issue_access_token(self, scope: str | None = None, *, athlete_id: int | None = None) -> str:
        """A valid access token without the OAuth dance (for tests of raw shapes)."""
        with self._lock:
            st = self._st(athlete_id)
            return self._new_access(scope if scope is not None else st.scope, st.id)

    def expire_access_tokens(self, *, athlete_id: int | None = None) -> None:
        """Every access token issued so far is expired from now on (only that athlete's with ``athlete_id``)."""
        with self._lock:
            if athlete_id is not None:
                athlete_id = self._st(athlete_id).id
            now = self.clock()
            self._access = {t: (min(exp, now - 1) if athlete_id is None or who == int(athlete_id) else exp, sc, who)
                            for t, (exp, sc, who) in self._access.items()}

    def _new_access(self, scope: str, athlete_id: int) -> str:
        token = secrets.token_hex(20)
        self._access[token] = (self.clock() + self.access_token_ttl_s, scope, athlete_id)
        self._owner[token] = athlete_id
        return token

    # ------------------------------------------------------------------ rate limits
    def advance_window(self) -> None:
        """As if the next quarter hour had begun: the 15-minute usage starts from 0."""
        with self._lock:
            self._used15 = self._read15 = 0

    def advance_day(self) -> None:
        """As if the next UTC day had begun: both usages start from 0."""
        with self._lock:
            self._used15 = self._read15 = self._used_day = self._read_day = 0

    def rate_usage(self) -> dict[str, int]:
        """The application's usage (all its athletes together)."""
        with self._lock:
            self._roll_windows()
            return {"overall_15min": self._used15, "overall_daily": self._used_day,
                    "read_15min": self._read15, "read_daily": self._read_day}

    def _roll_windows(self) -> None:
        now = self.clock()
        q, d = int(now // 900), int(now // 86400)
        if self._window_day != d:
            self._window_day = d
            self._used_day = self._read_day = 0
        if self._window15 != q:
            self._window15 = q
            self._used15 = self._read15 = 0

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": f"{self.overall_limit_15min},{self.overall_limit_daily}",
            "X-RateLimit-Usage": f"{self._used15},{self._used_day}",
            "X-ReadRateLimit-Limit": f"{self.read_limit_15min},{self.read_limit_daily}",
            "X-ReadRateLimit-Usage": f"{self._read15},{self._read_day}",
        }

    def _count(self, method: str) -> bool:
        """Counts one request; True when it is past a limit (it still counts, as on Strava)."""
        self._roll_windows()
        self._used15 += 1
        self._used_day += 1
        over = self._used15 > self.overall_limit_15min or self._used_day > self.overall_limit_daily
        if method == "GET":
            self._read15 += 1
            self._read_day += 1
            over = over or self._read15 > self.read_limit_15min or self._read_day > self.read_limit_daily
        return over

    # ------------------------------------------------------------------ faults
    def fail_next(self, n: int, status: int = 503, body: str = "auto", oauth: bool = False) -> None:
        """The next ``n`` API requests answer ``status`` (replacing any queued faults; 0 clears them).

        ``body``: "html" (an edge proxy page, no rate-limit headers, not counted), "json"
        (Strava's JSON error, counted, with headers) or "auto" (html for 502/503/504).
        With ``oauth=True`` the token endpoint fails too.  Whichever athlete's requests come next.
        """
        kind = body if body != "auto" else ("html" if status in (502, 503, 504) else "json")
        with self._lock:
            self._fail_queue[:] = [(status, kind)] * n
            self._fail_oauth = oauth

    def set_inactive(self, inactive: bool = True) -> None:
        """An inactive application: Strava answers every request with 403 Inactive."""
        with self._lock:
            self._inactive = inactive

    # ------------------------------------------------------------------ upstream data
    def _activity_owner(self, activity_id: int) -> int | None:
        for st in self._athletes.values():
            if activity_id in st.activities:
                return st.id
        return None

    def add_activity(self, activity: dict, stream: dict | None = None, *, athlete_id: int | None = None) -> int:
        """Adds (or replaces) an activity upstream; returns its id (assigned when missing).

        Assigned ids follow every activity of the application; an id that belongs to another
        athlete raises ValueError (activity ids are unique across Strava)."""
        with self._lock:
            st = self._st(athlete_id)
            act = copy.deepcopy(activity)
            if not act.get("id"):
                act["id"] = max((i for s in self._athletes.values() for i in s.activities),
                                default=10_000_000_000) + 1_000_003
            owner = self._activity_owner(int(act["id"]))
            if owner is not None and owner != st.id:
                raise ValueError(f"activity {act['id']} belongs to athlete {owner}")
            act.setdefault("resource_state", 2)
            if (act.get("athlete") or {}).get("id") != st.id:  # an activity's athlete is its owner
                act["athlete"] = {**(act.get("athlete") or {"resource_state": 1}), "id": st.id}
            act.setdefault("map", {"id": f"a{act['id']}", "summary_polyline": "", "resource_state": 2})
            act.setdefault("manual", False)
            act.setdefault("visibility", "everyone")
            act.setdefault("private", act["visibility"] == "only_me")
            st.put(act)
            st.synth_cache.pop(int(act["id"]), None)
            if stream is not None:
                st.streams[int(act["id"])] = copy.deepcopy(stream)
            else:
                st.streams.pop(int(act["id"]), None)
            return int(act["id"])

    def edit_activity(self, activity_id: int, *, athlete_id: int | None = None, **fields: Any) -> dict:
        """Changes fields of an activity upstream (name, distance, moving_time, start_date...)."""
        with self._lock:
            st = self._st(athlete_id)
            act = st.activities[int(activity_id)]
            act.update(copy.deepcopy(fields))
            st.put(act)
            st.synth_cache.pop(int(activity_id), None)
            return copy.deepcopy(act)

    def set_stream(self, activity_id: int, stream: dict | None, *, athlete_id: int | None = None) -> None:
        with self._lock:
            st = self._st(athlete_id)
            if stream is None:
                st.streams.pop(int(activity_id), None)
            else:
                st.streams[int(activity_id)] = copy.deepcopy(stream)
            st.synth_cache.pop(int(activity_id), None)

    def delete_activity(self, activity_id: int, *, athlete_id: int | None = None) -> None:
        with self._lock:
            st = self._st(athlete_id)
            st.activities.pop(int(activity_id))
            st.start.pop(int(activity_id), None)
            st.streams.pop(int(activity_id), None)
            st.synth_cache.pop(int(activity_id), None)

    def activities(self, *, athlete_id: int | None = None) -> list[dict]:
        """The athlete's current upstream list (deleted ones gone), oldest first."""
        with self._lock:
            st = self._st(athlete_id)
            ids = sorted(st.activities, key=lambda i: (st.start[i], i))
            return [copy.deepcopy(st.activities[i]) for i in ids]

    def streams_of(self, activity_id: int, *, athlete_id: int | None = None) -> dict[str, list] | None:
        """What the streams endpoint serves for this activity of the athlete (None: 404)."""
        with self._lock:
            s = self._stream_for(self._st(athlete_id), int(activity_id))
            return copy.deepcopy(s) if s is not None else None

    @staticmethod
    def _stream_for(st: _Athlete, aid: int) -> dict[str, list] | None:
        act = st.activities.get(aid)
        if act is None:
            return None
        if aid in st.streams:
            return st.streams[aid]
        if act.get("manual"):
            return None
        if aid not in st.synth_cache:
            st.synth_cache[aid] = _synthesize_stream(act)
        return st.synth_cache[aid]

    # ------------------------------------------------------------------ push subscriptions (webhooks)
    @property
    def subscription(self) -> dict | None:
        """The application's push subscription as ``GET /push_subscriptions`` lists it, or None."""
        with self._lock:
            return copy.deepcopy(self._subscription)

    @property
    def subscription_id(self) -> int | None:
        with self._lock:
            return None if self._subscription is None else int(self._subscription["id"])

    def push_event(self, object_type: str, object_id: int, aspect_type: str, updates: dict | None = None,
                   owner_id: int | None = None, subscription_id: int | None = None,
                   event_time: int | None = None, *, athlete_id: int | None = None
                   ) -> list[tuple[int | None, float]]:
        """POSTs one event to the subscription's callback, as Strava does; changes nothing upstream.

        ``owner_id`` defaults to ``athlete_id``, else the primary athlete (any value goes out as given).
        An attempt counts only when answered 200 within 2 s; Strava tries three times in all
        (here one right after the other).  Returns ``(status or None, seconds)`` per attempt
        (None: no answer in time, or no connection).  Raises RuntimeError without a subscription.
        """
        with self._lock:
            sub = self._require_subscription()
            if owner_id is None:
                owner_id = self._st(athlete_id).id
            event = {
                "aspect_type": aspect_type,
                "event_time": int(event_time if event_time is not None else self.clock()),
                "object_id": int(object_id),
                "object_type": object_type,
                "owner_id": int(owner_id),
                "subscription_id": int(subscription_id if subscription_id is not None else sub["id"]),
                "updates": copy.deepcopy(updates) if updates is not None else {},
            }
            callback = sub["callback_url"]
        attempts = _deliver(callback, event)
        with self._lock:
            self.push_log.append((event, attempts))
        return attempts

    def push_create(self, activity: dict, stream: dict | None = None, *, athlete_id: int | None = None) -> int:
        """`add_activity`, then the ``create`` event (owner: that athlete); returns the activity id.

        As on Strava, no event goes out for an athlete who revoked the application, nor for an
        "only me" activity when the athlete's authorization lacks ``activity:read_all``.
        """
        with self._lock:
            self._require_subscription()
            st = self._st(athlete_id)
            aid = self.add_activity(activity, stream, athlete_id=st.id)
            send = self._pertains(st, _is_private(st.activities[aid]))
        if send:
            self.push_event("activity", aid, "create", athlete_id=st.id)
        return aid

    def push_update(self, activity_id: int, *, athlete_id: int | None = None,
                    **fields: Any) -> list[tuple[int | None, float]]:
        """`edit_activity`, then the event Strava sends; returns the delivery attempts ([]: none sent).

        ``updates`` holds what Strava reports: ``title`` (new name), ``type`` (the new sport
        type, or the new type when only that changed) and ``private`` ("true"/"false");
        any other edit sends ``updates: {}``.  ``visibility`` and ``private`` are kept in step.
        Without ``activity:read_all`` an activity turning "only me" is a ``delete`` event and one
        turning visible again a ``create`` event, as Strava does for such applications.
        """
        with self._lock:
            self._require_subscription()
            st = self._st(athlete_id)
            before = copy.deepcopy(st.activities[int(activity_id)])
            if "visibility" in fields and "private" not in fields:
                fields["private"] = fields["visibility"] == "only_me"
            elif "private" in fields and "visibility" not in fields:
                was = before.get("visibility", "everyone")
                fields["visibility"] = "only_me" if fields["private"] else ("everyone" if was == "only_me" else was)
            after = self.edit_activity(activity_id, athlete_id=st.id, **fields)
            updates: dict[str, str] = {}
            if after.get("name") != before.get("name"):
                updates["title"] = after.get("name")
            if after.get("sport_type") != before.get("sport_type"):
                updates["type"] = after.get("sport_type")
            elif after.get("type") != before.get("type"):
                updates["type"] = after.get("type")
            was_private, now_private = _is_private(before), _is_private(after)
            if was_private != now_private:
                updates["private"] = "true" if now_private else "false"
            aspect = "update"
            if not st.authorized:
                return []
            if not st.read_all():
                if was_private and now_private:
                    return []
                if was_private != now_private:
                    aspect, updates = ("delete" if now_private else "create"), {}
        return self.push_event("activity", int(activity_id), aspect, updates, athlete_id=st.id)

    def push_delete(self, activity_id: int, *, athlete_id: int | None = None) -> list[tuple[int | None, float]]:
        """`delete_activity`, then the ``delete`` event; returns the delivery attempts ([]: none sent)."""
        with self._lock:
            self._require_subscription()
            st = self._st(athlete_id)
            send = self._pertains(st, _is_private(st.activities[int(activity_id)]))
            self.delete_activity(activity_id, athlete_id=st.id)
        return self.push_event("activity", int(activity_id), "delete", athlete_id=st.id) if send else []

    def deauthorize(self, *, athlete_id: int | None = None) -> list[tuple[int | None, float]]:
        """The athlete revokes the application: every access and refresh token of theirs stops
        working (as after a revoked authorization; a new authorization code grants access again),
        then the subscription gets the athlete event ``updates: {"authorized": "false"}``.
        The other athletes keep theirs.  Returns the delivery attempts ([] without a subscription)."""
        with self._lock:
            st = self._st(athlete_id)
            self._revoke(st)
            if self._subscription is None:
                return []
        return self._push_deauthorization(st.id)

    def _push_deauthorization(self, athlete_id: int) -> list[tuple[int | None, float]]:
        try:
            return self.push_event("athlete", athlete_id, "update", {"authorized": "false"}, owner_id=athlete_id)
        except RuntimeError:  # the subscription was deleted meanwhile
            return []

    def _revoke(self, st: _Athlete) -> None:
        st.authorized = False
        self._access = {t: v for t, v in self._access.items() if v[2] != st.id}
        self._codes = {c: v for c, v in self._codes.items() if v[1] != st.id}

    def _require_subscription(self) -> dict:
        if self._subscription is None:
            raise RuntimeError("no push subscription: POST /api/v3/push_subscriptions first")
        return self._subscription

    @staticmethod
    def _pertains(st: _Athlete, private: bool) -> bool:
        """Whether Strava would tell this application about an activity of this athlete."""
        return st.authorized and (not private or st.read_all())

    def _push_subscriptions(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> Response:
        form = _form(query, headers, body)
        if form is None:
            return Response(400, _bad_request("PushSubscription", "body"))
        rest = path[len(PUSH_PATH):].strip("/")
        with self._lock:
            if form.get("client_id") != self.client_id:
                return Response(401, _bad_application("client_id"))
            if form.get("client_secret") != self.client_secret:
                return Response(401, _bad_application("client_secret"))
            if rest:
                if method != "DELETE" or not rest.isdigit():
                    return Response(404, ERR_NOT_FOUND_PATH)
                if self._subscription is None or self._subscription["id"] != int(rest):
                    return Response(404, ERR_SUBSCRIPTION_NOT_FOUND)
                self._subscription = None
                return Response(204, b"")
            if method == "GET":
                return Response(200, [copy.deepcopy(self._subscription)] if self._subscription else [])
            if method != "POST":
                return Response(404, ERR_NOT_FOUND_PATH)
            callback, verify_token = form.get("callback_url") or "", form.get("verify_token") or ""
            if not callback:
                return Response(400, _bad_request("PushSubscription", "callback url", "missing"))
            if not verify_token:
                return Response(400, _bad_request("PushSubscription", "verify token", "missing"))
            if self._subscription is not None:
                return Response(400, ERR_SUBSCRIPTION_EXISTS)
        problem = _verify_callback(callback, verify_token)  # up to 2 s: not under the lock
        if problem:
            return Response(400, _bad_request("PushSubscription", "callback url", problem))
        with self._lock:
            if self._subscription is not None:  # another one was made meanwhile
                return Response(400, ERR_SUBSCRIPTION_EXISTS)
            now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            sid = self._next_subscription_id
            self._next_subscription_id += 1
            app_id: int | str = int(self.client_id) if self.client_id.isdigit() else self.client_id
            self._subscription = {"id": sid, "resource_state": 2, "application_id": app_id,
                                  "callback_url": callback, "created_at": now, "updated_at": now}
            return Response(201, {"id": sid})

    # ------------------------------------------------------------------ logging
    def reset_log(self) -> None:
        with self._lock:
            self.request_log.clear()
            self.request_athletes.clear()

    def api_request_count(self, athlete_id: int | None = None) -> int:
        """API requests of athletes' data (push-subscription calls are not counted, as on Strava):
        all of them, or only those made with that athlete's access tokens."""
        with self._lock:
            return sum(1 for (_, path, _), who in zip(self.request_log, self.request_athletes)
                       if path.startswith(API_PREFIX) and not path.startswith(PUSH_PATH)
                       and (athlete_id is None or who == int(athlete_id)))

    def _log(self, method: str, path: str, query: dict, athlete_id: int | None) -> None:
        self.request_log.append((method, path, dict(query)))
        self.request_athletes.append(athlete_id)

    def _who(self, path: str, query: dict, headers: dict, body: bytes) -> int | None:
        """The athlete whose token or code a request carries (None: none, or an unknown one)."""
        if path.startswith(API_PREFIX):
            return self._owner.get(_bearer(headers) or query.get("access_token") or "")
        form = _form(query, headers, body) or {}
        if path == "/oauth/token":
            key = form.get("refresh_token") if form.get("grant_type") == "refresh_token" else form.get("code")
            return self._owner.get(key or "")
        if path == "/oauth/deauthorize":
            return self._owner.get(form.get("access_token") or _bearer(headers) or "")
        return None

    # ------------------------------------------------------------------ dispatch
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path == PUSH_PATH or path.startswith(PUSH_PATH + "/"):
            # the application's own calls: no rate limits, no faults, and the callback
            # handshake runs outside the lock
            with self._lock:
                self._log(method, path, query, None)
                if self._inactive:
                    return Response(403, ERR_INACTIVE)
            return self._push_subscriptions(method, path, query, headers, body)
        with self._lock:
            is_api = path.startswith(API_PREFIX)
            is_oauth = path.startswith("/oauth/")
            if is_api or is_oauth:
                self._log(method, path, query, self._who(path, query, headers, body))
            if self._inactive and (is_api or is_oauth):
                return Response(403, ERR_INACTIVE)
            if is_oauth:
                if self._fail_oauth and self._fail_queue:
                    status, kind = self._fail_queue.pop(0)
                    return self._failure(status, kind, counted=False)
                return self._oauth(method, path, query, headers, body)
            if not is_api:
                return Response(404, ERR_NOT_FOUND_PATH)
            if self._fail_queue:
                status, kind = self._fail_queue.pop(0)
                if kind == "html":
                    return self._failure(status, kind, counted=False)
                self._count(method)
                return self._failure(status, kind, counted=True)
            over = self._count(method)  # the application's windows, whichever athlete asks
            rate = self._rate_headers()
            if over:
                self.rate_limited += 1
                return Response(429, ERR_RATE, rate)
            resp = self._api(method, path[len(API_PREFIX):] or "/", query, headers)
            resp.headers.update(rate)
            return resp

    def _failure(self, status: int, kind: str, counted: bool) -> Response:
        if kind == "html":
            return Response(status, _html_error(status), content_type="text/html")
        body = ERR_RATE if status == 429 else {"message": _HTML_ERRORS.get(status, "Error"), "errors": []}
        return Response(status, body, self._rate_headers() if counted else {})

    # ------------------------------------------------------------------ OAuth
    def _oauth(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> Response:
        form = _form(query, headers, body)
        if form is None:
            return Response(400, _bad_request("Application", "body"))
        if path == "/oauth/authorize" and method == "GET":
            return self._authorize(form)
        if path == "/oauth/deauthorize" and method == "POST":
            token = form.get("access_token") or _bearer(headers)
            entry = self._access.get(token or "")
            if entry is None:
                return Response(401, ERR_AUTH)
            # like Strava: every token of the athlete is revoked, and the subscription hears of it
            st = self._athletes[entry[2]]
            self._revoke(st)
            if self._subscription is not None:
                threading.Thread(target=self._push_deauthorization, args=(st.id,), name="fake-strava-push",
                                 daemon=True).start()
            return Response(200, {"access_token": token})
        if path != "/oauth/token" or method != "POST":
            return Response(404, ERR_NOT_FOUND_PATH)
        if form.get("client_id") != self.client_id:
            return Response(400, _bad_request("Application", "client_id"))
        if form.get("client_secret") != self.client_secret:
            return Response(401, {"message": "Authorization Error",
                                   "errors": [{"resource": "Application", "field": "client_secret",
                                               "code": "invalid"}]})
        grant = form.get("grant_type")
        if grant == "refresh_token":
            given = form.get("refresh_token")
            st = next((s for s in self._athletes.values() if s.authorized and given and s.refresh_token == given),
                      None)
            if st is None:
                return Response(400, _bad_request("RefreshToken", "refresh_token"))
            scope = st.scope
            extra: dict = {}
        elif grant == "authorization_code":
            code = form.get("code", "")
            if code not in self._codes:
                return Response(400, _bad_request("AuthorizationCode", "code"))
            st = self._athletes[self._codes[code][1]]
            if (self.athlete_capacity is not None and not st.authorized
                    and self._connected_count() + 1 > self.athlete_capacity):
                return Response(403, ERR_CAPACITY)
            scope = self._codes.pop(code)[0]
            st.authorized = True  # the athlete allowed access (again)
            extra = {"athlete": _summary_athlete(st.athlete)}
        else:
            return Response(400, _bad_request("Application", "grant_type"))
        # the athlete's refresh token rotates: the old one stops working
        st.refresh_token = secrets.token_hex(20)
        st.scope = scope
        self._owner[st.refresh_token] = st.id
        access = self._new_access(scope, st.id)
        expires_at = int(self._access[access][0])
        out = {
            "token_type": "Bearer",
            "expires_at": expires_at,
            "expires_in": max(0, expires_at - int(self.clock())),
            "refresh_token": st.refresh_token,
            "access_token": access,
        }
        out.update(extra)
        return Response(200, out)

    def _authorize(self, form: dict) -> Response:
        """The browser step: the athlete logged in (``browser_athlete_id``) allows everything asked;
        redirect with a code."""
        if form.get("client_id") != self.client_id:
            return Response(400, _bad_request("Application", "client_id"))
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri or form.get("response_type") != "code":
            return Response(400, _bad_request("Application", "redirect_uri" if not redirect_uri else "response_type"))
        scope = form.get("scope") or "read,activity:read"
        st = self._st(self.browser_athlete_id)
        code = secrets.token_hex(20)
        self._codes[code] = (scope, st.id)
        self._owner[code] = st.id
        params = {"state": form.get("state", ""), "code": code, "scope": scope}
        sep = "&" if "?" in redirect_uri else "?"
        return Response(302, "", {"Location": f"{redirect_uri}{sep}{urlencode(params)}"}, content_type="text/html")

    # ------------------------------------------------------------------ API
    def _api(self, method: str, path: str, query: dict, headers: dict) -> Response:
        token = _bearer(headers) or query.get("access_token")
        entry = self._access.get(token or "")
        if entry is None or entry[0] <= self.clock():
            return Response(401, ERR_AUTH)
        st = self._athletes[entry[2]]  # the token's athlete: the only one it sees
        scopes = set(entry[1].replace(" ", ",").split(","))
        can_read = bool(scopes & {"activity:read", "activity:read_all"})
        read_all = "activity:read_all" in scopes
        if method != "GET":
            return Response(404, ERR_NOT_FOUND_PATH)
        segs = [s for s in path.split("/") if s]
        if segs == ["athlete"]:
            if "profile:read_all" in scopes:
                return Response(200, st.athlete)
            return Response(200, _summary_athlete(st.athlete))
        if segs == ["athlete", "zones"]:
            if "profile:read_all" not in scopes:
                return Response(401, _missing_scope("profile:read_all"))
            return Response(200, st.zones)
        if segs == ["athlete", "activities"]:
            if not can_read:
                return Response(401, _missing_scope("activity:read"))
            return self._list(st, query, read_all)
        if len(segs) in (2, 3) and segs[0] == "activities":
            try:
                aid = int(segs[1])
            except ValueError:
                return Response(404, ERR_NOT_FOUND_PATH)
            if not can_read:
                return Response(401, _missing_scope("activity:read"))
            act = st.activities.get(aid)  # another athlete's activity: 404, as on Strava
            if act is None or (not read_all and act.get("visibility") == "only_me"):
                return Response(404, ERR_NOT_FOUND_RECORD)
            if len(segs) == 2:
                return Response(200, _detailed(act, st.athlete))
            if segs[2] == "streams":
                return self._streams_response(st, aid, query)
        return Response(404, ERR_NOT_FOUND_PATH)

    @staticmethod
    def _list(st: _Athlete, query: dict, read_all: bool) -> Response:
        try:
            before = int(float(query["before"])) if query.get("before") not in (None, "") else None
        except ValueError:
            return Response(400, _bad_request("Application", "before"))
        try:
            after = int(float(query["after"])) if query.get("after") not in (None, "") else None
        except ValueError:
            return Response(400, _bad_request("Application", "after"))
        try:
            page = int(query.get("page") or 1)
            per_page = int(query.get("per_page") or 30)
        except ValueError:
            return Response(400, _bad_request("Application", "page"))
        page = max(1, page)
        per_page = 30 if per_page < 1 else min(per_page, 200)
        ids = [i for i, a in st.activities.items()
               if (read_all or a.get("visibility") != "only_me")
               and (after is None or st.start[i] > after)
               and (before is None or st.start[i] < before)]
        ids.sort(key=lambda i: (st.start[i], i), reverse=after is None)
        chosen = ids[(page - 1) * per_page: page * per_page]
        return Response(200, [st.activities[i] for i in chosen])

    def _streams_response(self, st: _Athlete, aid: int, query: dict) -> Response:
        stream = self._stream_for(st, aid)
        if stream is None:
            return Response(404, ERR_NOT_FOUND_PATH)
        keys = [k for k in (query.get("keys") or "").split(",") if k]
        key_by_type = (query.get("key_by_type") or "").lower() in ("true", "1")
        series_type = query.get("series_type") or ("distance" if "distance" in stream else "time")
        resolution = query.get("resolution")
        wanted: list[str] = []
        for k in keys + ["time", "distance"]:  # Strava always adds these
            if k in stream and k not in wanted:
                wanted.append(k)
        if not keys:
            wanted = [k for k in ("time", "distance") if k in stream]
        n = len(stream["time"])
        idx = None
        if resolution in RESOLUTION_POINTS and n > RESOLUTION_POINTS[resolution]:
            m = RESOLUTION_POINTS[resolution]
            idx = [round(i * (n - 1) / (m - 1)) for i in range(m)]
        out = []
        for k in wanted:
            data = stream[k] if idx is None else [stream[k][i] for i in idx]
            item = {"type": k, "data": data, "series_type": series_type, "original_size": n,
                    "resolution": resolution if resolution in RESOLUTION_POINTS else "high"}
            out.append(item)
        if key_by_type:
            return Response(200, {it.pop("type"): it for it in out})
        return Response(200, out)


# ---------------------------------------------------------------------- JSON shapes


def _form(query: dict, headers: dict, body: bytes) -> dict | None:
    """Query parameters updated by a form or JSON body (None: a body that is not JSON)."""
    form = dict(query)
    if body:
        if "json" in headers.get("content-type", ""):
            try:
                parsed = json.loads(body)
            except ValueError:
                return None
            if not isinstance(parsed, dict):
                return None
            form.update({k: str(v) for k, v in parsed.items()})
        else:
            form.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                                       keep_blank_values=True).items()})
    return form


def _is_private(act: dict) -> bool:
    return bool(act.get("private")) or act.get("visibility") == "only_me"


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the callback is reached directly, never through a proxy from the environment
    return session


def _verify_callback(callback_url: str, verify_token: str) -> str | None:
    """Strava's handshake: GET the callback with a challenge; None when it is echoed (200, within 2 s)."""
    challenge = secrets.token_hex(16)
    params = urlencode({"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token})
    url = f"{callback_url}{'&' if urlsplit(callback_url).query else '?'}{params}"
    started = time.monotonic()
    try:
        with _session() as session:
            r = session.get(url, timeout=CALLBACK_TIMEOUT_S, headers={"Accept": "application/json"})
    except (requests.RequestException, ValueError):
        return CALLBACK_NOT_200
    if r.status_code != 200 or time.monotonic() - started > CALLBACK_TIMEOUT_S:
        return CALLBACK_NOT_200
    try:
        answer = r.json()
    except ValueError:
        return CALLBACK_NOT_VERIFIABLE
    if not isinstance(answer, dict) or str(answer.get("hub.challenge")) != challenge:
        return CALLBACK_NOT_VERIFIABLE
    return None


def _deliver(callback_url: str, event: dict) -> list[tuple[int | None, float]]:
    """POSTs the event up to three times, until one attempt gets 200 within 2 s."""
    payload = json.dumps(event, separators=(",", ":")).encode("utf-8")
    attempts: list[tuple[int | None, float]] = []
    with _session() as session:
        for _ in range(PUSH_ATTEMPTS):
            started = time.monotonic()
            try:
                status: int | None = session.post(callback_url, data=payload, timeout=CALLBACK_TIMEOUT_S,
                                                  headers={"Content-Type": "application/json"}).status_code
            except (requests.RequestException, ValueError):
                status = None
            took = time.monotonic() - started
            attempts.append((status, round(took, 3)))
            if status == 200 and took <= CALLBACK_TIMEOUT_S:
                break
    return attempts


def _bearer(headers: dict) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


_SUMMARY_ATHLETE_KEYS = ("id", "username", "firstname", "lastname", "bio", "city", "state", "country", "sex",
                         "premium", "summit", "created_at", "updated_at", "badge_type_id", "weight",
                         "profile_medium", "profile", "friend", "follower")


def _summary_athlete(athlete: dict) -> dict:
    out = {k: athlete.get(k) for k in _SUMMARY_ATHLETE_KEYS}
    out["resource_state"] = 2
    return out


def _detailed(act: dict, athlete: dict) -> dict:
    out = copy.deepcopy(act)
    out["resource_state"] = 3
    rng = random.Random(int(act["id"]))
    kind = act.get("sport_type")
    out.setdefault("description", None if rng.random() < 0.6 else "Schöne Runde 🌄")
    kcal_per_min = {"Run": 11.0, "TrailRun": 12.0, "Hike": 6.5, "Walk": 4.0, "WeightTraining": 5.0,
                    "Ride": 9.0, "VirtualRide": 10.0}.get(kind, 7.0)
    out.setdefault("calories", round(kcal_per_min * act.get("moving_time", 0) / 60.0, 1))
    out.setdefault("device_name", None if act.get("manual") else
                   ("Zwift" if kind == "VirtualRide" else "Garmin Forerunner 965"))
    out.setdefault("embed_token", f"{rng.getrandbits(160):040x}")
    out.setdefault("segment_efforts", [])
    out.setdefault("photos", {"primary": None, "count": 0})
    out.setdefault("hide_from_home", False)
    out.setdefault("perceived_exertion", None)
    out.setdefault("prefer_perceived_exertion", None)
    out.setdefault("available_zones", ["heartrate"] if act.get("has_heartrate") else [])
    m = dict(out.get("map") or {})
    m["polyline"] = m.get("summary_polyline", "")
    m["resource_state"] = 3
    out["map"] = m
    gid = act.get("gear_id")
    if gid:
        for g in (athlete.get("shoes") or []) + (athlete.get("bikes") or []):
            if g.get("id") == gid:
                out["gear"] = {k: g.get(k) for k in ("id", "primary", "name", "nickname", "resource_state",
                                                    "retired", "distance", "converted_distance")}
                break
    return out


def _synthesize_stream(act: dict) -> dict[str, list]:
    """A device recording without heart rate (watch or phone), for activities that have none stored."""
    moving = int(act.get("moving_time") or 0)
    elapsed = max(moving, int(act.get("elapsed_time") or moving))
    step = 5
    n = max(2, moving // step + 1)
    times = [min(i * step, moving) for i in range(n)]
    if elapsed > moving:
        times.append(elapsed)  # one pause at the end of the recording
    out: dict[str, list] = {"time": times, "moving": [i > 0 and t <= moving for i, t in enumerate(times)]}
    distance = float(act.get("distance") or 0.0)
    if distance > 0:
        out["distance"] = [round(distance * min(t, moving) / moving, 1) if moving else 0.0 for t in times]
        speed = float(act.get("average_speed") or 0.0)
        out["velocity_smooth"] = [0.0] + [round(speed, 3)] * (len(times) - 1)
        low = float(act.get("elev_low") or 400.0)
        high = float(act.get("elev_high") or low)
        half = len(times) // 2 or 1
        out["altitude"] = [round(low + (high - low) * (1 - abs(i - half) / half), 1) for i in range(len(times))]
    return out


# ---------------------------------------------------------------------- HTTP


class _Handler(QuietHandler):
    fake: FakeStrava
    server_name = "nginx"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            resp = self.fake.handle(method, self.path, headers, body)
        except Exception as exc:  # a bug here should look like a Strava 500, not hang the client
            resp = Response(500, {"message": "Internal Server Error", "errors": [{"resource": "Server",
                                   "field": type(exc).__name__, "code": "error"}]})
        payload, ctype = encode_body(resp, "application/json; charset=utf-8", "text/plain; charset=utf-8")
        self.send_response(resp.status)
        if resp.status == 204:  # No Content: no body, no length
            payload = b""
        else:
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "max-age=0, private, must-revalidate")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)


FakeStrava.handler = _Handler
FakeStrava.thread_name = "fake-strava"


# ---------------------------------------------------------------------- more athletes


def with_athlete_id(sample: SampleAthlete, athlete_id: int, *, firstname: str | None = None,
                    lastname: str | None = None, username: str | None = None,
                    activity_id_offset: int = 0) -> SampleAthlete:
    """A copy of ``sample`` as another Strava athlete: the athlete's id (also in each activity's
    ``athlete`` and the profile pictures), optionally names, and activity ids moved by
    ``activity_id_offset`` (activity ids are unique across Strava: two athletes served by one
    FakeStrava must not share one)."""
    old_id = int(sample.athlete["id"])
    new_id = int(athlete_id)

    def moved(aid: int) -> int:
        return int(aid) + int(activity_id_offset)

    athlete = copy.deepcopy(sample.athlete)
    athlete["id"] = new_id
    for key in ("profile", "profile_medium"):
        if isinstance(athlete.get(key), str):
            athlete[key] = athlete[key].replace(f"/athletes/{old_id}/", f"/athletes/{new_id}/")
    for key, value in (("firstname", firstname), ("lastname", lastname), ("username", username)):
        if value is not None:
            athlete[key] = value
    activities = []
    for a in sample.activities:
        act = copy.deepcopy(a)
        act["id"] = moved(act["id"])
        act["athlete"] = dict(act.get("athlete") or {"resource_state": 1}, id=new_id)
        if isinstance(act.get("map"), dict) and act["map"].get("id") == f"a{a['id']}":
            act["map"]["id"] = f"a{act['id']}"
        activities.append(act)
    specials = {k: [moved(x) if isinstance(x, int) else x for x in v] if isinstance(v, list) else copy.deepcopy(v)
                for k, v in sample.specials.items()}
    return SampleAthlete(athlete=athlete, zones=copy.deepcopy(sample.zones), activities=activities,
                         streams={moved(k): v for k, v in sample.streams.items()},
                         labels=copy.deepcopy(sample.labels), specials=specials)


# (first name, last name, username) of the athletes the CLI adds after the first one
_CLUB = [("Nico", "Keller", "nico_k"), ("Mara", "Huber", "mara_runs"), ("Jonas", "Meier", "jonas_m"),
         ("Sina", "Frei", "sina_frei"), ("Luca", "Baumann", "luca_b"), ("Elena", "Graf", "elena_g"),
         ("David", "Roth", "d_roth"), ("Anna", "Weber", "anna_w")]


def club_athletes(n: int, end_date: dt.date, *, seed: int = 7, years: float = 2.0) -> list[SampleAthlete]:
    """``n`` generated athletes: the usual sample athlete (``seed``), then athletes of seeds
    ``seed + 1``, ``seed + 2``... with ids 4243, 4244... and names of their own; activity ids
    never collide."""
    out: list[SampleAthlete] = []
    taken: set[int] = set()
    for i in range(n):
        sample = generate_sample_athlete(end_date, seed=seed + i, years=years)
        if i:
            first, last, user = _CLUB[(i - 1) % len(_CLUB)]
            if i > len(_CLUB):
                user = f"{user}{i}"
            ids = [int(a["id"]) for a in sample.activities]
            offset = 0
            while any(x + offset in taken for x in ids):
                offset += 1
            sample = with_athlete_id(sample, int(sample.athlete["id"]) + i, firstname=first, lastname=last,
                                     username=user, activity_id_offset=offset)
        taken.update(int(a["id"]) for a in sample.activities)
        out.append(sample)
    return out



def cloned_club(n: int, end_date: dt.date, *, seed: int = 11, years: float = 0.18, every: int = 3,
                samples: int = 120) -> list[SampleAthlete]:
    """n athletes for budget and scale tests, cheap to make: one generated athlete (every
    ``every``-th activity, streams cut to ``samples`` points) copied under ids 5000, 5001...
    with activity ids moved apart. About nine weeks each by default, so 50 of them cost a few
    thousand requests rather than tens of thousands."""
    base = generate_sample_athlete(end_date, seed=seed, years=years)
    base.activities = base.activities[::every]
    kept = {int(a["id"]) for a in base.activities}
    base.streams = {k: {key: values[:samples] for key, values in v.items()} for k, v in base.streams.items()
                    if k in kept}
    return [with_athlete_id(base, 5000 + i, firstname=f"Runner{i}", activity_id_offset=i * 10**8) for i in range(n)]


# ---------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipelines.sandbox.strava_server",
                                description="Serve the generated sample athlete (or several, through one "
                                            "application) as a local Strava v3 API.")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--end-date", type=dt.date.fromisoformat, default=dt.date.today(),
                   help="last day of the sample athlete (YYYY-MM-DD, default today)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--years", type=float, default=2.0)
    p.add_argument("--athletes", type=int, default=1, metavar="N",
                   help="serve N generated athletes through the one application (seeds SEED, SEED+1..., "
                        "ids 4242, 4243...), each with a refresh token of their own (default 1)")
    p.add_argument("--client-id", default="12345")
    p.add_argument("--client-secret", default="fake-secret")
    p.add_argument("--refresh-token", default="fake-refresh-0",
                   help="the first athlete's; each other one's is this followed by -ATHLETE_ID")
    p.add_argument("--scope", default="read,activity:read_all,profile:read_all")
    p.add_argument("--read-limit-15min", type=int, default=100)
    p.add_argument("--read-limit-daily", type=int, default=1000)
    p.add_argument("--overall-limit-15min", type=int, default=200)
    p.add_argument("--overall-limit-daily", type=int, default=2000)
    p.add_argument("--access-token-ttl", type=int, default=21600, help="seconds")
    args = p.parse_args(argv)
    if args.athletes < 1:
        p.error("--athletes: at least 1")

    served = club_athletes(args.athletes, args.end_date, seed=args.seed, years=args.years)
    athlete = served[0]
    fake = FakeStrava(athlete, athletes=served, client_id=args.client_id, client_secret=args.client_secret,
                      refresh_token=args.refresh_token, access_token_ttl_s=args.access_token_ttl,
                      read_limit_15min=args.read_limit_15min, read_limit_daily=args.read_limit_daily,
                      overall_limit_15min=args.overall_limit_15min, overall_limit_daily=args.overall_limit_daily,
                      scope=args.scope)
    base = fake.start(port=args.port, host=args.host)
    if len(served) == 1:
        print(f"Fake Strava API serving {len(athlete.activities)} activities of athlete {athlete.athlete['id']} "
              f"at {base} (API at {base}/api/v3, OAuth at {base}/oauth/token)")
    else:
        print(f"Fake Strava API serving {len(served)} athletes through one application at {base} "
              f"(API at {base}/api/v3, OAuth at {base}/oauth/token); the rate limits are the application's, "
              "shared by all of them")
    print("These credentials are fake and work only here:")
    print(f"  STRAVA_BASE_URL={base}")
    print(f"  STRAVA_CLIENT_ID={fake.client_id}")
    print(f"  STRAVA_CLIENT_SECRET={fake.client_secret}")
    print(f"  STRAVA_REFRESH_TOKEN={fake.current_refresh_token}")
    if len(served) > 1:
        print("Each athlete's refresh token (STRAVA_REFRESH_TOKEN above is the first one's):")
        for a in served:
            info = a.athlete
            print(f"  athlete {info['id']} ({info.get('firstname')} {info.get('lastname')}, "
                  f"{len(a.activities)} activities): refresh token {fake.refresh_token_of(info['id'])}")
    print(f"Push subscriptions (webhooks): {base}{PUSH_PATH} with the client id and secret")
    fake.serve_until_stopped()  # prints "Ctrl-C stops it." once Ctrl-C does
    return 0


if __name__ == "__main__":
    sys.exit(main())
