"""The local Strava v3 API and the generated sample athlete.

The API is driven with the real stravalib client over HTTP (a session that rewrites
https://www.strava.com to the local server) and with plain requests for raw shapes.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from stravalib import Client, exc

from pipelines.sandbox.strava_server import FakeStrava, club_athletes, with_athlete_id
from pipelines.sandbox.sample_athlete import SampleAthlete, generate_sample_athlete
from tests.server_command import server_command

END = dt.date(2026, 11, 25)
STRAVA = "https://www.strava.com"


class RebasedSession(requests.Session):
    """Sends stravalib's https://www.strava.com URLs to the local server."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith(STRAVA):
            url = self.base_url + url[len(STRAVA):]
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="module")
def athlete() -> SampleAthlete:
    return generate_sample_athlete(END)


@pytest.fixture(autouse=True)
def _quiet_stravalib(monkeypatch):
    monkeypatch.setenv("SILENCE_TOKEN_WARNINGS", "true")
    monkeypatch.delenv("STRAVA_CLIENT_ID", raising=False)
    monkeypatch.delenv("STRAVA_CLIENT_SECRET", raising=False)


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def tiny_athlete(athlete: SampleAthlete, n: int = 12) -> SampleAthlete:
    """The last n activities (with their streams): enough for most API tests."""
    acts = athlete.activities[-n:]
    ids = {a["id"] for a in acts}
    return SampleAthlete(athlete=athlete.athlete, zones=athlete.zones, activities=acts,
                         streams={k: v for k, v in athlete.streams.items() if k in ids}, labels=athlete.labels)


def client_for(fake: FakeStrava) -> Client:
    return Client(requests_session=RebasedSession(fake.base_url), rate_limit_requests=False)


def login(fake: FakeStrava) -> tuple[Client, str]:
    c = client_for(fake)
    info = c.refresh_access_token(client_id=int(fake.client_id), client_secret=fake.client_secret,
                                  refresh_token=fake.current_refresh_token)
    return c, info["access_token"]


# --------------------------------------------------------------------------- OAuth


def test_refresh_token_rotates_and_old_one_fails(athlete):
    with FakeStrava(tiny_athlete(athlete)) as fake:
        c = client_for(fake)
        first = fake.current_refresh_token
        info = c.refresh_access_token(client_id=12345, client_secret="fake-secret", refresh_token=first)
        assert info["refresh_token"] != first == "fake-refresh-0"
        assert info["refresh_token"] == fake.current_refresh_token
        assert info["expires_at"] > dt.datetime.now().timestamp() + 6 * 3600 - 60
        assert c.get_athlete().id == athlete.athlete["id"]

        with pytest.raises(exc.Fault) as err:  # the old refresh token stopped working
            c.refresh_access_token(client_id=12345, client_secret="fake-secret", refresh_token=first)
        assert err.value.response.status_code == 400
        assert err.value.response.json() == {
            "message": "Bad Request",
            "errors": [{"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}]}

        with pytest.raises(exc.AccessUnauthorized):  # wrong client secret
            c.refresh_access_token(client_id=12345, client_secret="nope", refresh_token=info["refresh_token"])

        raw = requests.post(fake.base_url + "/oauth/token", data={
            "client_id": "12345", "client_secret": "fake-secret", "grant_type": "refresh_token",
            "refresh_token": fake.current_refresh_token}).json()
        assert set(raw) == {"token_type", "access_token", "refresh_token", "expires_at", "expires_in"}
        assert raw["token_type"] == "Bearer" and 21500 < raw["expires_in"] <= 21600


def test_authorization_code_is_single_use_and_returns_athlete(athlete):
    with FakeStrava(tiny_athlete(athlete)) as fake:
        c = client_for(fake)
        code = fake.issue_authorization_code(scope="read,activity:read_all")
        access, who = c.exchange_code_for_token(client_id=12345, client_secret="fake-secret", code=code,
                                                return_athlete=True)
        assert who.id == athlete.athlete["id"] and who.resource_state == 2
        assert access["refresh_token"] == fake.current_refresh_token
        with pytest.raises(exc.Fault) as err:
            c.exchange_code_for_token(client_id=12345, client_secret="fake-secret", code=code)
        assert err.value.response.status_code == 400


def test_access_tokens_expire(athlete):
    with FakeStrava(tiny_athlete(athlete)) as fake:
        c, token = login(fake)
        assert c.get_athlete().id == 4242
        fake.expire_access_tokens()
        with pytest.raises(exc.AccessUnauthorized) as err:
            c.get_athlete()
        assert err.value.response.json() == {
            "message": "Authorization Error",
            "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]}
        r = requests.get(fake.base_url + "/api/v3/athlete")  # no token at all
        assert r.status_code == 401


def test_scopes(athlete):
    acts = [dict(a) for a in athlete.activities[-5:]]
    acts[-1]["visibility"], acts[-1]["private"] = "only_me", True
    ath = SampleAthlete(athlete.athlete, athlete.zones, acts, {}, athlete.labels)
    with FakeStrava(ath, scope="read") as fake:
        c, token = login(fake)
        with pytest.raises(exc.AccessUnauthorized) as err:
            list(c.get_activities())
        assert err.value.response.json()["errors"] == [
            {"resource": "AccessToken", "field": "activity:read_permission", "code": "missing"}]
        with pytest.raises(exc.AccessUnauthorized):  # /athlete/zones needs profile:read_all
            c.get_athlete_zones()
        assert c.get_athlete().firstname == "Lea"  # summary representation
    with FakeStrava(ath, scope="read,activity:read") as fake:
        c, _ = login(fake)
        assert len(list(c.get_activities())) == 4  # "only me" hidden without activity:read_all
        with pytest.raises(exc.ObjectNotFound):
            c.get_activity(acts[-1]["id"])
    with FakeStrava(ath, scope="read,activity:read_all,profile:read_all") as fake:
        c, _ = login(fake)
        assert len(list(c.get_activities())) == 5
        zones = c.get_athlete_zones()
        assert len(zones.heart_rate.zones.root) == 5


# --------------------------------------------------------------------------- listing


def test_paging_per_page_cap_and_order(athlete):
    with FakeStrava(athlete, read_limit_15min=10_000, read_limit_daily=10_000,
                    overall_limit_15min=10_000, overall_limit_daily=10_000) as fake:
        _, token = login(fake)
        h = {"Authorization": f"Bearer {token}"}
        url = fake.base_url + "/api/v3/athlete/activities"
        r = requests.get(url, headers=h, params={"per_page": 500})
        assert r.status_code == 200 and len(r.json()) == 200  # capped at 200
        newest = r.json()
        assert newest[0]["start_date"] >= newest[-1]["start_date"]  # newest first without `after`
        assert len(requests.get(url, headers=h).json()) == 30  # default per_page

        seen: list[int] = []
        page = 1
        while True:
            batch = requests.get(url, headers=h, params={"after": 0, "per_page": 200, "page": page}).json()
            seen += [a["id"] for a in batch]
            if len(batch) < 200:
                break
            page += 1
        assert seen == [a["id"] for a in athlete.activities]  # ascending, each exactly once
        assert len(set(seen)) == len(athlete.activities)

        mid = athlete.activities[300]
        epoch = int(dt.datetime.strptime(mid["start_date"], "%Y-%m-%dT%H:%M:%SZ")
                    .replace(tzinfo=dt.timezone.utc).timestamp())
        after = requests.get(url, headers=h, params={"after": epoch, "per_page": 200}).json()
        assert after[0]["id"] == athlete.activities[301]["id"]  # strictly after
        before = requests.get(url, headers=h, params={"before": epoch, "per_page": 5}).json()
        assert before[0]["id"] == athlete.activities[299]["id"]

        c = client_for(fake)
        c.access_token = token
        got = list(c.get_activities(after=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
        assert [a.id for a in got] == [a["id"] for a in athlete.activities]
        assert got[0].sport_type.root == athlete.activities[0]["sport_type"]


def test_rate_limit_headers_and_429(athlete):
    clock = Clock(dt.datetime(2026, 11, 25, 10, 3, tzinfo=dt.timezone.utc).timestamp())
    with FakeStrava(tiny_athlete(athlete), read_limit_15min=5, read_limit_daily=8, overall_limit_15min=6,
                    overall_limit_daily=20, clock=clock) as fake:
        token = fake.issue_access_token()
        h = {"Authorization": f"Bearer {token}"}
        url = fake.base_url + "/api/v3/athlete"
        for i in range(1, 6):
            r = requests.get(url, headers=h)
            assert r.status_code == 200
            assert r.headers["X-RateLimit-Limit"] == "6,20"
            assert r.headers["X-RateLimit-Usage"] == f"{i},{i}"
            assert r.headers["X-ReadRateLimit-Limit"] == "5,8"
            assert r.headers["X-ReadRateLimit-Usage"] == f"{i},{i}"
        r = requests.get(url, headers=h)
        assert r.status_code == 429
        assert r.json() == {"message": "Rate Limit Exceeded",
                            "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]}
        assert r.headers["X-ReadRateLimit-Usage"] == "6,6"  # a refused request still counts
        c = client_for(fake)
        c.access_token = token
        with pytest.raises(exc.Fault) as err:
            c.get_athlete()
        assert err.value.response.status_code == 429

        clock.t += 15 * 60  # the next quarter hour: 15-minute usage resets, daily does not
        r = requests.get(url, headers=h)
        assert r.status_code == 200 and r.headers["X-ReadRateLimit-Usage"] == "1,8"
        r = requests.get(url, headers=h)
        assert r.status_code == 429 and r.headers["X-ReadRateLimit-Usage"] == "2,9"  # daily read limit 8
        fake.advance_window()
        assert requests.get(url, headers=h).status_code == 429  # still past the daily limit
        fake.advance_day()
        r = requests.get(url, headers=h)
        assert r.status_code == 200 and r.headers["X-RateLimit-Usage"] == "1,1"
        # the token endpoint is not counted, the log sees both
        login(fake)
        assert fake.rate_usage()["overall_daily"] == 1
        assert fake.api_request_count() == 11
        assert fake.request_log[-1] == ("POST", "/oauth/token", {})


# --------------------------------------------------------------------------- errors


def test_deleted_activity_is_404(athlete):
    with FakeStrava(tiny_athlete(athlete)) as fake:
        c, token = login(fake)
        victim = athlete.activities[-3]["id"]
        assert c.get_activity(victim).id == victim
        fake.delete_activity(victim)
        with pytest.raises(exc.ObjectNotFound) as err:
            c.get_activity(victim)
        assert err.value.response.json() == {
            "message": "Record Not Found", "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}]}
        assert victim not in [a.id for a in c.get_activities()]
        assert victim not in [a["id"] for a in fake.activities()]
        with pytest.raises(exc.ObjectNotFound):
            c.get_activity_streams(victim, types=["heartrate"])


def test_edit_and_add_activity(athlete):
    with FakeStrava(tiny_athlete(athlete, 3)) as fake:
        c, _ = login(fake)
        aid = athlete.activities[-1]["id"]
        fake.edit_activity(aid, name="Renamed 🏔️", distance=12345.6)
        got = c.get_activity(aid)
        assert got.name == "Renamed 🏔️" and float(got.distance) == 12345.6
        new = dict(athlete.activities[-1], id=None, name="Added later")
        new_id = fake.add_activity(new, athlete.streams.get(athlete.activities[-1]["id"]))
        assert new_id > aid and c.get_activity(new_id).name == "Added later"
        assert len(fake.activities()) == 4


def test_inactive_application(athlete):
    with FakeStrava(tiny_athlete(athlete)) as fake:
        c, _ = login(fake)
        fake.set_inactive(True)
        with pytest.raises(exc.ApplicationInactive):
            c.get_athlete()
        with pytest.raises(exc.ApplicationInactive):
            c.refresh_access_token(client_id=12345, client_secret="fake-secret",
                                   refresh_token=fake.current_refresh_token)
        r = requests.get(fake.base_url + "/api/v3/athlete/activities")
        assert r.status_code == 403 and r.json()["errors"] == [
            {"resource": "Application", "field": "Status", "code": "Inactive"}]
        fake.set_inactive(False)
        assert c.get_athlete().id == 4242


def test_fail_next(athlete):
    with FakeStrava(tiny_athlete(athlete)) as fake:
        c, token = login(fake)
        fake.fail_next(2, status=503)
        with pytest.raises(exc.Fault) as err:
            c.get_athlete()
        assert err.value.response.status_code == 503
        r = requests.get(fake.base_url + "/api/v3/athlete", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 503 and "text/html" in r.headers["Content-Type"]
        assert c.get_athlete().id == 4242
        fake.fail_next(1, status=500)
        r = requests.get(fake.base_url + "/api/v3/athlete", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 500 and r.json()["message"] == "Internal Server Error"
        assert "X-RateLimit-Usage" in r.headers


# --------------------------------------------------------------------------- push subscriptions (webhooks)


class Callback:
    """A tiny webhook receiver: records every request and answers as told.

    get_mode: "echo" (Strava's handshake done right), "403", "wrong" (another challenge),
    "slow_once" (the next GET answers right but after 2.2 s). post_statuses: the statuses of
    the next POSTs ("slow" answers 200 after 2.2 s); 200 once they are used up.
    """

    def __init__(self, verify_token: str = "STRAVA-tok"):
        self.verify_token = verify_token
        self.get_mode = "echo"
        self.post_statuses: list[int | str] = []
        self.gets: list[dict[str, str]] = []
        self.posts: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                return

            def _answer(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):  # noqa: N802
                q = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
                outer.gets.append(q)
                mode, challenge = outer.get_mode, q.get("hub.challenge", "")
                if mode == "slow_once":
                    outer.get_mode = "echo"
                    time.sleep(2.2)
                if mode == "403" or q.get("hub.verify_token") != outer.verify_token:
                    return self._answer(403, {"error": "verify token mismatch"})
                return self._answer(200, {"hub.challenge": "nope" if mode == "wrong" else challenge})

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                status = outer.post_statuses.pop(0) if outer.post_statuses else 200
                if status == "slow":
                    time.sleep(2.2)
                    status = 200
                self._answer(int(status), {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/strava/webhook"

    def events(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.posts]

    def __enter__(self) -> "Callback":
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def subscribe(fake: FakeStrava, callback: Callback, **extra) -> requests.Response:
    form = {"client_id": fake.client_id, "client_secret": fake.client_secret, "callback_url": callback.url,
            "verify_token": callback.verify_token, **extra}
    return requests.post(fake.base_url + "/api/v3/push_subscriptions", data=form, timeout=10)


def test_push_subscription_handshake_list_and_delete(athlete):
    clock = Clock(dt.datetime(2026, 11, 25, 10, 3, tzinfo=dt.timezone.utc).timestamp())
    with FakeStrava(tiny_athlete(athlete, 3), clock=clock) as fake, Callback() as cb:
        url = fake.base_url + "/api/v3/push_subscriptions"
        creds = {"client_id": "12345", "client_secret": "fake-secret"}
        assert requests.get(url, params=creds).json() == [] and fake.subscription is None

        # query parameters work as well as a form body
        r = requests.post(url, params={**creds, "callback_url": cb.url, "verify_token": "STRAVA-tok"})
        assert r.status_code == 201
        sid = r.json()["id"]
        assert r.json() == {"id": sid} and fake.subscription_id == sid
        assert len(cb.gets) == 1
        hello = cb.gets[0]
        assert hello["hub.mode"] == "subscribe" and hello["hub.verify_token"] == "STRAVA-tok"
        assert len(hello["hub.challenge"]) >= 16  # random, and the 201 says it came back

        listed = requests.get(url, params=creds)
        assert listed.status_code == 200
        assert listed.json() == [{"id": sid, "resource_state": 2, "application_id": 12345, "callback_url": cb.url,
                                  "created_at": "2026-11-25T10:03:00Z", "updated_at": "2026-11-25T10:03:00Z"}]
        assert fake.subscription == listed.json()[0]

        again = subscribe(fake, cb)  # one subscription per application
        assert again.status_code == 400 and again.json() == {
            "message": "Bad Request",
            "errors": [{"resource": "PushSubscription", "field": "", "code": "already exists"}]}
        assert len(cb.gets) == 1  # refused before any handshake

        # the application's credentials, checked like the token endpoint's
        bad = {"client_id": "12345", "client_secret": "nope"}
        for r in (requests.get(url, params=bad), requests.delete(f"{url}/{sid}", params=bad),
                  requests.post(url, data={**bad, "callback_url": cb.url, "verify_token": "STRAVA-tok"}),
                  requests.get(url, params={"client_id": "999", "client_secret": "fake-secret"})):
            assert r.status_code == 401 and r.json()["message"] == "Authorization Error"
            assert r.json()["errors"][0]["resource"] == "Application"

        gone = requests.delete(f"{url}/{sid + 1}", params=creds)
        assert gone.status_code == 404 and gone.json()["errors"][0]["resource"] == "PushSubscription"

        # no rate limit counts these calls, and no access token is needed
        assert fake.rate_usage() == {"overall_15min": 0, "overall_daily": 0, "read_15min": 0, "read_daily": 0}
        assert fake.api_request_count() == 0

        # stravalib: list, delete (credentials in a form body), subscribe again
        c = client_for(fake)
        assert [s.id for s in c.list_subscriptions(client_id=12345, client_secret="fake-secret")] == [sid]
        c.delete_subscription(sid, client_id=12345, client_secret="fake-secret")  # 204
        assert fake.subscription is None and requests.get(url, params=creds).json() == []
        made = c.create_subscription(client_id=12345, client_secret="fake-secret", callback_url=cb.url,
                                     verify_token="STRAVA-tok")
        assert made.id == fake.subscription_id != sid
        deleted = requests.delete(f"{url}/{made.id}", params=creds)
        assert deleted.status_code == 204 and deleted.content == b""


def test_push_subscription_refused_when_the_callback_fails_the_handshake(athlete):
    with FakeStrava(tiny_athlete(athlete, 3)) as fake, Callback() as cb:
        def refused(code: str, **extra) -> None:
            r = subscribe(fake, cb, **extra)
            assert r.status_code == 400, r.text
            assert r.json() == {"message": "Bad Request", "errors": [
                {"resource": "PushSubscription", "field": "callback url", "code": code}]}
            assert fake.subscription is None

        cb.get_mode = "403"
        refused("GET to callback URL does not return 200")
        cb.get_mode = "wrong"
        refused("not verifiable")
        cb.get_mode = "echo"
        refused("GET to callback URL does not return 200", verify_token="another-token")  # receiver says 403
        assert cb.gets[-1]["hub.verify_token"] == "another-token"
        closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        port = closed.server_address[1]
        closed.server_close()  # nothing listens there any more
        refused("GET to callback URL does not return 200", callback_url=f"http://127.0.0.1:{port}/hook")

        cb.get_mode = "slow_once"  # the right answer, but after 2.2 s
        started = time.monotonic()
        refused("GET to callback URL does not return 200")
        assert 1.9 < time.monotonic() - started < 3.0
        r = subscribe(fake, cb)  # answered at once now
        assert r.status_code == 201 and r.json()["id"] == fake.subscription_id

        r = requests.post(fake.base_url + "/api/v3/push_subscriptions",
                          data={"client_id": "12345", "client_secret": "fake-secret", "verify_token": "x"})
        assert r.status_code == 400


def test_push_event_delivers_strava_json_and_retries(athlete):
    with FakeStrava(tiny_athlete(athlete, 3)) as fake, Callback() as cb:
        with pytest.raises(RuntimeError):
            fake.push_event("activity", 1, "create")
        assert subscribe(fake, cb).status_code == 201
        sid = fake.subscription_id

        attempts = fake.push_event("activity", 16_000_000_001, "update", {"title": "Messy"}, event_time=1516126040)
        assert [s for s, _ in attempts] == [200] and attempts[0][1] < 2
        headers, raw = cb.posts[-1]
        assert headers["content-type"] == "application/json"
        event = json.loads(raw)
        assert list(event) == ["aspect_type", "event_time", "object_id", "object_type", "owner_id",
                               "subscription_id", "updates"]
        assert event == {"aspect_type": "update", "event_time": 1516126040, "object_id": 16_000_000_001,
                         "object_type": "activity", "owner_id": 4242, "subscription_id": sid,
                         "updates": {"title": "Messy"}}

        cb.posts.clear()
        cb.post_statuses = [500, 500, 500, 500]
        attempts = fake.push_event("activity", 7, "delete", owner_id=99, subscription_id=1)
        assert [s for s, _ in attempts] == [500, 500, 500]  # three attempts in all
        assert len(cb.posts) == 3 and len({raw for _, raw in cb.posts}) == 1
        assert cb.events()[0] | {"event_time": 0} == {
            "aspect_type": "delete", "event_time": 0, "object_id": 7, "object_type": "activity",
            "owner_id": 99, "subscription_id": 1, "updates": {}}
        assert abs(cb.events()[0]["event_time"] - time.time()) < 5

        cb.posts.clear()
        cb.post_statuses = ["slow"]  # 200, but too late: Strava tries again
        attempts = fake.push_event("activity", 8, "create")
        assert attempts[0][0] is None and attempts[0][1] >= 1.9 and [s for s, _ in attempts[1:]] == [200]
        assert len(cb.posts) == 2
        assert fake.push_log[-1] == (cb.events()[-1], attempts)


def test_push_create_update_delete(athlete):
    with FakeStrava(tiny_athlete(athlete, 3)) as fake, Callback() as cb:
        with pytest.raises(RuntimeError):  # no subscription: nothing changes
            fake.push_create(dict(athlete.activities[-1], id=None))
        assert len(fake.activities()) == 3
        assert subscribe(fake, cb).status_code == 201
        c, _ = login(fake)

        def last() -> dict:
            e = cb.events()[-1]
            assert e["owner_id"] == 4242 and e["object_type"] == "activity"
            assert e["subscription_id"] == fake.subscription_id
            return {k: e[k] for k in ("aspect_type", "object_id", "updates")}

        base = dict(athlete.activities[-1], id=None, name="Morning Run", sport_type="Run", type="Run",
                    visibility="everyone", private=False)
        aid = fake.push_create(base)
        assert last() == {"aspect_type": "create", "object_id": aid, "updates": {}}
        assert c.get_activity(aid).name == "Morning Run"  # the world changed before the event

        fake.push_update(aid, name="Messy")
        assert last() == {"aspect_type": "update", "object_id": aid, "updates": {"title": "Messy"}}
        fake.push_update(aid, sport_type="Ride", type="Ride")
        assert last()["updates"] == {"type": "Ride"}
        fake.push_update(aid, sport_type="TrailRun")
        assert last()["updates"] == {"type": "TrailRun"}
        fake.push_update(aid, private=True)
        assert last()["updates"] == {"private": "true"}
        assert fake.activities()[-1]["visibility"] == "only_me"
        fake.push_update(aid, visibility="followers_only", name="Visible")
        assert last()["updates"] == {"title": "Visible", "private": "false"}
        attempts = fake.push_update(aid, distance=1234.5)
        assert last()["updates"] == {} and [s for s, _ in attempts] == [200]
        assert float(c.get_activity(aid).distance) == 1234.5

        fake.push_delete(aid)
        assert last() == {"aspect_type": "delete", "object_id": aid, "updates": {}}
        with pytest.raises(exc.ObjectNotFound):
            c.get_activity(aid)
        assert len(cb.posts) == 8


def test_push_events_without_read_all_follow_visibility(athlete):
    with FakeStrava(tiny_athlete(athlete, 3), scope="read,activity:read") as fake, Callback() as cb:
        assert subscribe(fake, cb).status_code == 201
        aid = fake.push_create(dict(athlete.activities[-1], id=None, visibility="everyone", private=False))
        fake.push_update(aid, visibility="only_me")  # the application may no longer see it: a delete
        fake.push_update(aid, name="Hidden rename")  # nothing for an activity it cannot see
        fake.push_update(aid, visibility="everyone")  # visible again: a create
        hidden = fake.push_create(dict(athlete.activities[-1], id=None, visibility="only_me"))
        assert fake.push_delete(hidden) == []
        assert [(e["aspect_type"], e["object_id"], e["updates"]) for e in cb.events()] == [
            ("create", aid, {}), ("delete", aid, {}), ("create", aid, {})]


def test_deauthorize_revokes_every_token_and_pushes_the_athlete_event(athlete):
    with FakeStrava(tiny_athlete(athlete, 3)) as fake, Callback() as cb:
        assert fake.deauthorize() == []  # no subscription: only the tokens go
        code = fake.issue_authorization_code()
        c = client_for(fake)
        c.exchange_code_for_token(client_id=12345, client_secret="fake-secret", code=code)
        assert c.get_athlete().id == 4242

        assert subscribe(fake, cb).status_code == 201
        refresh = fake.current_refresh_token
        attempts = fake.deauthorize()
        assert [s for s, _ in attempts] == [200]
        event = cb.events()[-1]
        assert event.pop("event_time") > 0
        assert event == {"aspect_type": "update", "object_id": 4242, "object_type": "athlete", "owner_id": 4242,
                         "subscription_id": fake.subscription_id, "updates": {"authorized": "false"}}
        with pytest.raises(exc.AccessUnauthorized):  # the access token is gone
            c.get_athlete()
        with pytest.raises(exc.Fault) as err:  # and so is the refresh token
            c.refresh_access_token(client_id=12345, client_secret="fake-secret", refresh_token=refresh)
        assert err.value.response.status_code == 400
        assert err.value.response.json()["errors"] == [
            {"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}]

        before = len(cb.posts)  # Strava tells nothing about an athlete who revoked the application
        fake.push_create(dict(athlete.activities[-1], id=None, name="After revoking"))
        assert len(cb.posts) == before

        # authorizing again brings everything back; the application revoking itself is a deauthorization too
        code = fake.issue_authorization_code()
        c.exchange_code_for_token(client_id=12345, client_secret="fake-secret", code=code)
        assert c.get_athlete().id == 4242
        info = c.refresh_access_token(client_id=12345, client_secret="fake-secret",
                                      refresh_token=fake.current_refresh_token)
        r = requests.post(fake.base_url + "/oauth/deauthorize", data={"access_token": info["access_token"]})
        assert r.status_code == 200
        deadline = time.monotonic() + 5
        while len(cb.posts) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cb.events()[-1]["updates"] == {"authorized": "false"}
        with pytest.raises(exc.Fault):
            c.refresh_access_token(client_id=12345, client_secret="fake-secret",
                                   refresh_token=info["refresh_token"])


# --------------------------------------------------------------------------- one application, many athletes

NICO = 5151


def nico_of(athlete: SampleAthlete, n: int = 5) -> SampleAthlete:
    """A second athlete: five activities of their own (ids one above Lea's), another id and name."""
    return with_athlete_id(tiny_athlete(athlete, n), NICO, firstname="Nico", lastname="Keller", username="nico_k",
                           activity_id_offset=1)


def login_as(fake: FakeStrava, athlete_id: int) -> tuple[Client, dict]:
    c = client_for(fake)
    info = c.refresh_access_token(client_id=int(fake.client_id), client_secret=fake.client_secret,
                                  refresh_token=fake.refresh_token_of(athlete_id))
    return c, info


def exchange(fake: FakeStrava, code: str) -> requests.Response:
    return requests.post(fake.base_url + "/oauth/token", data={
        "client_id": fake.client_id, "client_secret": fake.client_secret, "grant_type": "authorization_code",
        "code": code})


def test_each_token_sees_only_its_own_athlete(athlete):
    lea, nico = tiny_athlete(athlete), nico_of(athlete)
    with FakeStrava(lea, athletes=[nico], scope="read,activity:read_all,profile:read_all") as fake:
        assert fake.athlete_ids == [4242, NICO]
        assert fake.current_refresh_token == fake.refresh_token_of(4242) == "fake-refresh-0"
        assert fake.refresh_token_of(NICO) == f"fake-refresh-0-{NICO}"
        c_lea, _ = login_as(fake, 4242)
        c_nico, info = login_as(fake, NICO)
        assert info["refresh_token"] == fake.refresh_token_of(NICO) != f"fake-refresh-0-{NICO}"
        assert fake.current_refresh_token == fake.refresh_token_of(4242)

        assert (c_lea.get_athlete().id, c_lea.get_athlete().firstname) == (4242, "Lea")
        assert (c_nico.get_athlete().id, c_nico.get_athlete().firstname) == (NICO, "Nico")
        assert len(c_nico.get_athlete_zones().heart_rate.zones.root) == 5
        lea_ids = [a.id for a in c_lea.get_activities(after=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))]
        nico_ids = [a.id for a in c_nico.get_activities(after=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))]
        assert lea_ids == [a["id"] for a in lea.activities] == [a["id"] for a in fake.activities()]
        assert nico_ids == [a["id"] for a in nico.activities] == [a["id"] for a in fake.activities(athlete_id=NICO)]
        assert not set(lea_ids) & set(nico_ids)
        got = c_nico.get_activity(nico_ids[-1])
        assert got.athlete.id == NICO and got.id == nico_ids[-1]
        # another athlete's activity is not found, as on Strava
        for c, foreign in ((c_nico, lea_ids[-1]), (c_lea, nico_ids[-1])):
            with pytest.raises(exc.ObjectNotFound) as err:
                c.get_activity(foreign)
            assert err.value.response.json()["message"] == "Record Not Found"
            with pytest.raises(exc.ObjectNotFound):
                c.get_activity_streams(foreign, types=["heartrate"])
        hr = next(a["id"] for a in nico.activities if a["has_heartrate"])
        assert list(c_nico.get_activity_streams(hr, types=["heartrate"])["heartrate"].data) == \
            fake.streams_of(hr, athlete_id=NICO)["heartrate"]
        assert fake.streams_of(hr) is None  # the primary athlete (Lea) has no such activity

        # the upstream methods act on the primary athlete unless told otherwise
        new_id = fake.add_activity(dict(nico.activities[-1], id=None, name="Nico's new run"), athlete_id=NICO)
        assert new_id > max(lea_ids + nico_ids)
        assert c_nico.get_activity(new_id).name == "Nico's new run"
        with pytest.raises(exc.ObjectNotFound):
            c_lea.get_activity(new_id)
        assert len(fake.activities()) == len(lea_ids)
        fake.edit_activity(new_id, athlete_id=NICO, name="Renamed")
        assert c_nico.get_activity(new_id).name == "Renamed"
        with pytest.raises(KeyError):
            fake.edit_activity(new_id, name="Lea has no such activity")
        with pytest.raises(ValueError):  # activity ids are unique across Strava
            fake.add_activity(dict(lea.activities[-1]), athlete_id=NICO)
        fake.delete_activity(new_id, athlete_id=NICO)
        with pytest.raises(exc.ObjectNotFound):
            c_nico.get_activity(new_id)
        with pytest.raises(KeyError):
            fake.activities(athlete_id=999)

        # the request log says whose token each request carried
        assert len(fake.request_athletes) == len(fake.request_log)
        assert fake.request_athletes[:2] == [4242, NICO] and fake.request_log[0][1] == "/oauth/token"
        assert fake.api_request_count() == fake.api_request_count(4242) + fake.api_request_count(NICO) > 0
        fake.reset_log()
        assert fake.request_log == [] and fake.request_athletes == []
        c_lea.get_athlete()
        c_nico.get_athlete()
        c_nico.get_activity(nico_ids[0])
        requests.get(fake.base_url + "/api/v3/athlete")  # no token: nobody's
        login_as(fake, NICO)  # the token endpoint: logged (with Nico's refresh token), not an API request
        assert fake.request_athletes == [4242, NICO, NICO, None, NICO]
        assert fake.request_log[-1] == ("POST", "/oauth/token", {})
        assert (fake.api_request_count(), fake.api_request_count(4242), fake.api_request_count(NICO)) == (4, 1, 2)


def test_athletes_need_ids_of_their_own(athlete):
    lea = tiny_athlete(athlete, 3)
    with pytest.raises(ValueError, match="id"):
        FakeStrava(lea, athletes=[tiny_athlete(athlete, 2)])  # the same athlete id twice
    with pytest.raises(ValueError, match="activity"):
        FakeStrava(lea, athletes=[with_athlete_id(lea, NICO)])  # the same activity ids
    with pytest.raises(ValueError):
        FakeStrava(athletes=[])
    with pytest.raises(ValueError):
        FakeStrava(lea, connected=[NICO])
    nico = nico_of(athlete, 3)
    fake = FakeStrava(athletes=[nico, lea])  # without `athlete`, the first one is the primary
    assert fake.athlete_ids == [NICO, 4242] and fake.current_refresh_token == "fake-refresh-0"
    assert fake.activities() == FakeStrava(nico).activities()
    assert FakeStrava(lea, athletes=[lea, nico]).athlete_ids == [4242, NICO]  # `athlete` among them: once


def test_the_rate_limit_windows_are_the_applications(athlete):
    clock = Clock(dt.datetime(2026, 11, 25, 10, 3, tzinfo=dt.timezone.utc).timestamp())
    with FakeStrava(tiny_athlete(athlete), athletes=[nico_of(athlete)], read_limit_15min=4, read_limit_daily=100,
                    clock=clock) as fake:
        h_lea = {"Authorization": f"Bearer {fake.issue_access_token()}"}
        h_nico = {"Authorization": f"Bearer {fake.issue_access_token(athlete_id=NICO)}"}
        url = fake.base_url + "/api/v3/athlete"
        for i, (h, who) in enumerate([(h_lea, 4242), (h_nico, NICO), (h_lea, 4242), (h_nico, NICO)], start=1):
            r = requests.get(url, headers=h)
            assert r.status_code == 200 and r.json()["id"] == who
            assert r.headers["X-ReadRateLimit-Usage"] == f"{i},{i}"  # both athletes' requests count
        for h in (h_nico, h_lea):  # the application is past its 15-minute limit: for everybody
            r = requests.get(url, headers=h)
            assert r.status_code == 429 and r.json()["errors"][0]["resource"] == "Application"
        assert r.headers["X-ReadRateLimit-Usage"] == "6,6"
        assert fake.rate_usage()["read_15min"] == 6
        assert fake.api_request_count(4242) == fake.api_request_count(NICO) == 3
        clock.t += 15 * 60
        assert requests.get(url, headers=h_nico).status_code == 200
        r = requests.get(url, headers=h_lea)
        assert r.status_code == 200 and r.headers["X-ReadRateLimit-Usage"] == "2,8"


def test_each_athlete_has_their_own_tokens_scope_and_authorization(athlete):
    with FakeStrava(tiny_athlete(athlete), athletes=[nico_of(athlete)]) as fake:
        c_lea, lea1 = login_as(fake, 4242)
        nico_refresh = fake.refresh_token_of(NICO)
        c_lea2, lea2 = login_as(fake, 4242)  # Lea's token rotates; Nico's stays
        assert lea2["refresh_token"] != lea1["refresh_token"] and fake.refresh_token_of(NICO) == nico_refresh
        with pytest.raises(exc.Fault) as err:
            c_lea.refresh_access_token(client_id=12345, client_secret="fake-secret",
                                       refresh_token=lea1["refresh_token"])
        assert err.value.response.status_code == 400
        c_nico, nico1 = login_as(fake, NICO)
        assert nico1["refresh_token"] != nico_refresh and c_nico.get_athlete().id == NICO
        assert fake.refresh_token_of(4242) == lea2["refresh_token"]  # unchanged by Nico's refresh

        fake.expire_access_tokens(athlete_id=NICO)  # only Nico's
        with pytest.raises(exc.AccessUnauthorized):
            c_nico.get_athlete()
        assert c_lea2.get_athlete().id == 4242

        # Nico revokes the application: his tokens go, Lea's stay
        assert fake.deauthorize(athlete_id=NICO) == []
        assert fake.connected_athlete_ids == [4242]
        with pytest.raises(exc.Fault) as err:
            c_nico.refresh_access_token(client_id=12345, client_secret="fake-secret",
                                        refresh_token=fake.refresh_token_of(NICO))
        assert err.value.response.status_code == 400
        assert c_lea2.get_athlete().id == 4242
        assert login_as(fake, 4242)[0].get_athlete().id == 4242

        # he authorizes again, with a narrower scope than Lea's
        r = exchange(fake, fake.issue_authorization_code(scope="read", athlete_id=NICO))
        assert r.status_code == 200 and r.json()["athlete"]["id"] == NICO
        assert r.json()["refresh_token"] == fake.refresh_token_of(NICO)
        nico_h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        listed = requests.get(fake.base_url + "/api/v3/athlete/activities", headers=nico_h)
        assert listed.status_code == 401 and listed.json()["errors"][0]["field"] == "activity:read_permission"
        assert len(list(login_as(fake, 4242)[0].get_activities())) == 12

        # /oauth/deauthorize with Lea's token revokes Lea only
        lea_access = fake.issue_access_token()
        assert requests.post(fake.base_url + "/oauth/deauthorize", data={"access_token": lea_access}).status_code == 200
        assert fake.request_athletes[-1] == 4242
        assert fake.connected_athlete_ids == [NICO]
        assert requests.get(fake.base_url + "/api/v3/athlete", headers=nico_h).json()["id"] == NICO


def test_athlete_capacity_counts_the_applications_connected_athletes(athlete):
    lea, nico = tiny_athlete(athlete, 3), nico_of(athlete, 3)
    mara = with_athlete_id(tiny_athlete(athlete, 3), 6161, firstname="Mara", activity_id_offset=2)
    with FakeStrava(lea, athletes=[nico, mara], athlete_capacity=2, connected=False) as fake:
        assert fake.connected_athlete_ids == []
        assert exchange(fake, fake.issue_authorization_code()).status_code == 200
        # the browser step: whoever is logged in to strava.com authorizes
        fake.browser_athlete_id = NICO
        r = requests.get(fake.base_url + "/oauth/authorize", allow_redirects=False, params={
            "client_id": "12345", "redirect_uri": "http://127.0.0.1:1/cb", "response_type": "code",
            "scope": "read,activity:read_all"})
        code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
        r = exchange(fake, code)
        assert r.status_code == 200 and r.json()["athlete"]["id"] == NICO
        assert fake.connected_athlete_ids == [4242, NICO]

        mara_code = fake.issue_authorization_code(athlete_id=6161)
        r = exchange(fake, mara_code)  # a third athlete for an application of two
        assert r.status_code == 403 and r.json() == {
            "message": "Limit of connected athletes exceeded",
            "errors": [{"resource": "Application", "field": "athlete_count", "code": "limit exceeded"}]}
        assert fake.connected_athlete_ids == [4242, NICO]
        # an athlete already connected may authorize again
        assert exchange(fake, fake.issue_authorization_code(athlete_id=NICO)).status_code == 200
        fake.deauthorize(athlete_id=NICO)  # one place free: Mara's (still valid) code goes through now
        r = exchange(fake, mara_code)
        assert r.status_code == 200 and r.json()["athlete"]["firstname"] == "Mara"
        assert fake.connected_athlete_ids == [4242, 6161]
        assert exchange(fake, fake.issue_authorization_code(athlete_id=NICO)).status_code == 403

    # athletes connected elsewhere count too; `connected` may name who is connected
    with FakeStrava(lea, athletes=[nico], athlete_capacity=2, other_athletes_connected=1,
                    connected=[4242]) as fake:
        assert fake.connected_athlete_ids == [4242]
        assert exchange(fake, fake.issue_authorization_code(athlete_id=NICO)).status_code == 403
        assert login_as(fake, 4242)[0].get_athlete().id == 4242
        with pytest.raises(exc.Fault):  # not connected: no refresh token works for him
            login_as(fake, NICO)


def test_push_events_name_the_athlete_acted_on(athlete):
    lea, nico = tiny_athlete(athlete, 3), nico_of(athlete, 3)
    with FakeStrava(lea, athletes=[nico]) as fake, Callback() as cb:
        assert subscribe(fake, cb).status_code == 201
        base = dict(athlete.activities[-1], id=None, visibility="everyone", private=False)

        def last() -> tuple:
            e = cb.events()[-1]
            assert e["subscription_id"] == fake.subscription_id
            return e["owner_id"], e["object_type"], e["aspect_type"], e["object_id"]

        aid = fake.push_create(dict(base, name="Nico's"), athlete_id=NICO)
        assert last() == (NICO, "activity", "create", aid)
        assert fake.activities(athlete_id=NICO)[-1]["athlete"]["id"] == NICO
        fake.push_update(aid, athlete_id=NICO, name="Nico's, renamed")
        assert last() == (NICO, "activity", "update", aid) and cb.events()[-1]["updates"] == {
            "title": "Nico's, renamed"}
        lea_aid = fake.push_create(dict(base, name="Lea's"))
        assert last() == (4242, "activity", "create", lea_aid)
        fake.push_delete(aid, athlete_id=NICO)
        assert last() == (NICO, "activity", "delete", aid)
        fake.push_event("activity", 1, "update", athlete_id=NICO)
        assert last() == (NICO, "activity", "update", 1)
        fake.push_event("activity", 2, "update")
        assert last() == (4242, "activity", "update", 2)

        fake.deauthorize(athlete_id=NICO)
        assert last() == (NICO, "athlete", "update", NICO) and cb.events()[-1]["updates"] == {"authorized": "false"}
        before = len(cb.posts)
        fake.push_create(dict(base, name="After revoking"), athlete_id=NICO)  # nothing for a revoked athlete
        assert len(cb.posts) == before
        fake.push_update(lea_aid, name="Lea still syncs")
        assert last() == (4242, "activity", "update", lea_aid)


def test_club_athletes_and_the_cli():
    club = club_athletes(3, END, years=0.2)
    assert [a.athlete["id"] for a in club] == [4242, 4243, 4244]
    assert len({a.athlete["firstname"] for a in club}) == 3
    ids = [x["id"] for a in club for x in a.activities]
    assert len(ids) == len(set(ids))
    assert all(x["athlete"]["id"] == a.athlete["id"] for a in club for x in a.activities)
    FakeStrava(athletes=club)  # accepted as they are

    with server_command("-m", "pipelines.sandbox.strava_server", "--athletes", "2", "--port", "0", "--years", "0.2",
                        "--end-date", END.isoformat()) as lines:
        base = next(x.split("=", 1)[1] for x in lines if x.startswith("STRAVA_BASE_URL="))
        tokens = {int(x.split()[1]): x.rsplit(" ", 1)[1] for x in lines if x.startswith("athlete ")}
        assert list(tokens) == [4242, 4243] and tokens[4242] == "fake-refresh-0"
        seen = {}
        for athlete_id, refresh in tokens.items():
            r = requests.post(base + "/oauth/token", data={"client_id": "12345", "client_secret": "fake-secret",
                                                            "grant_type": "refresh_token", "refresh_token": refresh},
                              timeout=10)
            assert r.status_code == 200
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            assert requests.get(base + "/api/v3/athlete", headers=h, timeout=10).json()["id"] == athlete_id
            seen[athlete_id] = {a["id"] for a in requests.get(base + "/api/v3/athlete/activities", headers=h,
                                                              params={"per_page": 200}, timeout=10).json()}
            assert seen[athlete_id]
        assert not seen[4242] & seen[4243]
        r = requests.get(base + "/api/v3/athlete", headers=h, timeout=10)
        assert r.headers["X-ReadRateLimit-Usage"] == "5,5"  # one application's windows


# --------------------------------------------------------------------------- streams


def test_streams_shapes(athlete, capfd):
    with FakeStrava(tiny_athlete(athlete, 40)) as fake:
        c, token = login(fake)
        h = {"Authorization": f"Bearer {token}"}
        hr_id = next(a["id"] for a in reversed(athlete.activities[-40:]) if a["has_heartrate"])
        stream = athlete.streams[hr_id]
        url = f"{fake.base_url}/api/v3/activities/{hr_id}/streams"
        body = requests.get(url, headers=h, params={"keys": "heartrate,watts", "key_by_type": "true"}).json()
        assert set(body) == {"heartrate", "time", "distance"}  # watts absent; time and distance always
        assert body["heartrate"]["data"] == stream["heartrate"]
        assert body["time"]["original_size"] == len(stream["time"])
        assert body["time"]["resolution"] == "high" and body["time"]["series_type"] == "distance"
        assert "type" not in body["time"]
        listed = requests.get(url, headers=h, params={"keys": "heartrate,moving", "key_by_type": "false"}).json()
        assert isinstance(listed, list)
        assert {s["type"] for s in listed} == {"heartrate", "moving", "time", "distance"}

        got = c.get_activity_streams(hr_id, types=["time", "heartrate", "moving", "distance", "altitude",
                                                    "velocity_smooth"])
        assert list(got["time"].data) == stream["time"] and list(got["moving"].data) == stream["moving"]
        assert list(got["velocity_smooth"].data) == stream["velocity_smooth"]

        manual = next((a["id"] for a in athlete.activities[-40:] if a["manual"]), None)
        if manual is None:
            manual = fake.add_activity(dict(athlete.activities[-1], id=None, manual=True, has_heartrate=False))
        with pytest.raises(exc.ObjectNotFound):
            c.get_activity_streams(manual, types=["heartrate"])
        no_hr = next(a["id"] for a in athlete.activities[-40:] if not a["has_heartrate"] and not a["manual"])
        got = c.get_activity_streams(no_hr, types=["time", "heartrate"])
        assert "heartrate" not in got and len(got["time"].data) > 1
    out = capfd.readouterr()
    assert out.err == "" and out.out == ""  # no request logs


# --------------------------------------------------------------------------- the sample athlete


def _local_date(a: dict) -> dt.date:
    return dt.date.fromisoformat(a["start_date_local"][:10])


def test_sample_athlete_content(athlete):
    acts = athlete.activities
    by_sport = collections.Counter(a["sport_type"] for a in acts)
    assert {"Run", "TrailRun", "Hike", "WeightTraining", "Ride"} <= set(by_sport)
    assert by_sport["Run"] > 250 and by_sport["TrailRun"] > 80 and by_sport["WeightTraining"] > 60
    assert all(a["type"] == "Run" for a in acts if a["sport_type"] == "TrailRun")
    weeks = collections.Counter(_local_date(a) - dt.timedelta(days=_local_date(a).weekday()) for a in acts)
    assert 5 <= len(acts) / len(weeks) <= 7
    ids = [a["id"] for a in acts]
    assert ids == sorted(ids) and ids[0] > 10_000_000_000 and len(set(ids)) == len(ids)
    assert [a["start_date"] for a in acts] == sorted(a["start_date"] for a in acts)
    assert _local_date(acts[-1]) <= END

    # labelled weeks
    for monday in athlete.labels["empty_weeks"]:
        m = dt.date.fromisoformat(monday)
        assert not [a for a in acts if m <= _local_date(a) <= m + dt.timedelta(days=6)]
    first_week = _local_date(acts[0]) - dt.timedelta(days=_local_date(acts[0]).weekday())
    over = [dt.date.fromisoformat(d) for d in athlete.labels["overreaching_weeks"]]
    assert 3 <= len(over) <= 4
    for monday in athlete.labels["easy_weeks"]:
        m = dt.date.fromisoformat(monday)
        assert (m - first_week).days >= 20 * 7
        assert not any(0 < (m - o).days <= 6 * 7 + 7 for o in over)
    assert len(athlete.labels["easy_weeks"]) >= 3

    # workout types, races, HR physiology
    runs = [a for a in acts if a["type"] == "Run"]
    assert {0, 1, 2, 3} <= {a["workout_type"] for a in runs}
    assert all(a["workout_type"] is None for a in acts if a["type"] != "Run")
    races = [a for a in runs if a["workout_type"] == 1]
    assert any(186 <= a["max_heartrate"] <= 189 for a in races)
    assert max(a.get("max_heartrate") or 0 for a in acts) <= 189

    # no HR, manual
    assert any(a["manual"] and not a["has_heartrate"] for a in acts)
    assert all("average_heartrate" not in a and a["id"] not in athlete.streams for a in acts if not a["has_heartrate"])
    assert {a["id"] for a in acts if a["has_heartrate"]} == set(athlete.streams)

    # time zones: DST-aware offsets, Denver trip, local date != UTC date, Sunday 23:50
    offsets = {(a["timezone"], a["utc_offset"]) for a in acts}
    assert {("(GMT+01:00) Europe/Zurich", 3600.0), ("(GMT+01:00) Europe/Zurich", 7200.0)} <= offsets
    assert any(tz.endswith("America/Denver") for tz, _ in offsets)
    assert any(a["start_date"][:10] != a["start_date_local"][:10] for a in acts)
    assert any(_local_date(a).weekday() == 6 and a["start_date_local"][11:16] == "23:50" for a in acts)
    for a in acts:
        local = dt.datetime.strptime(a["start_date_local"], "%Y-%m-%dT%H:%M:%SZ")
        utc = dt.datetime.strptime(a["start_date"], "%Y-%m-%dT%H:%M:%SZ")
        assert (local - utc).total_seconds() == a["utc_offset"]


def test_sample_streams_are_consistent(athlete):
    pauses = zeros = 0
    total = 0
    for a in athlete.activities:
        s = athlete.streams.get(a["id"])
        if s is None:
            continue
        t, hr = s["time"], s["heartrate"]
        assert all(len(v) == len(t) for v in s.values())
        dts = [b - x for x, b in zip(t, t[1:])]
        assert min(dts) >= 1
        pauses += any(d > 30 for d in dts)
        zeros += 0 in hr
        total += len(t)
        assert 350 <= len(t) / (t[-1] / 3600) <= 950
        counted = [(d, h) for d, h in zip(dts, hr[1:]) if d <= 30 and h > 0]
        avg = sum(d * h for d, h in counted) / sum(d for d, _ in counted)
        assert a["average_heartrate"] == round(avg, 1)
        assert a["max_heartrate"] == max(hr)
        assert a["distance"] == s["distance"][-1]
        assert a["elapsed_time"] == t[-1]
        assert a["moving_time"] == sum(d for d, m in zip(dts, s["moving"][1:]) if m)
    assert pauses >= 50 and zeros >= 50
    assert 250_000 <= total <= 600_000


def test_sample_is_deterministic():
    a = generate_sample_athlete(dt.date(2025, 6, 30), seed=3, years=0.5)
    b = generate_sample_athlete(dt.date(2025, 6, 30), seed=3, years=0.5)
    c = generate_sample_athlete(dt.date(2025, 6, 30), seed=4, years=0.5)
    assert a == b
    assert [x["distance"] for x in a.activities] != [x["distance"] for x in c.activities]


# --------------------------------------------------------------------------- designed weeks vs METRICS.md


CATEGORY = {"Run": "run", "TrailRun": "run", "VirtualRun": "run", "Walk": "walk_hike", "Hike": "walk_hike",
            "WeightTraining": "strength", "Ride": "ride", "VirtualRide": "ride"}
FALLBACK = {"run": 1.0, "walk_hike": 0.6, "ride": 0.8, "strength": 0.5, "other": 0.5}


def weekly_flags(athlete: SampleAthlete, as_of: dt.date) -> dict[str, set[str]]:
    """A compact, independent reading of METRICS.md sections 1-6 (defaults, sex F)."""
    acts = [a for a in athlete.activities if _local_date(a) <= as_of]
    hr_max = max((a["max_heartrate"] for a in acts if a.get("max_heartrate")
                  and (as_of - _local_date(a)).days <= 364), default=190.0)
    lthr, hr_rest = math.floor(0.89 * hr_max + 0.5), 60.0

    def weight(h: float) -> float:
        x = min(1.0, max(0.0, (h - hr_rest) / (hr_max - hr_rest)))
        return x * 0.86 * math.exp(1.67 * x)

    def zone(h: float) -> int:
        return 0 if h < 0.9 * lthr else (1 if h < lthr else 2)

    first = _local_date(acts[0]) - dt.timedelta(days=_local_date(acts[0]).weekday())
    rows = []
    for a in acts:
        cat = CATEGORY.get(a["sport_type"], "other")
        z, trimp, counted = [0.0, 0.0, 0.0], 0.0, False
        s = athlete.streams.get(a["id"])
        if s:
            t, hr = s["time"], s["heartrate"]
            for i in range(1, len(t)):
                d = t[i] - t[i - 1]
                if 0 < d <= 30 and hr[i] > 0:
                    counted = True
                    z[zone(hr[i])] += d / 60
                    trimp += d / 60 * weight(hr[i])
        if not counted:
            mm = a["moving_time"] / 60
            trimp = mm * (weight(a["average_heartrate"]) if a.get("average_heartrate") else FALLBACK[cat])
            if a.get("average_heartrate"):
                z[zone(a["average_heartrate"])] = mm
        rows.append({"day": (_local_date(a) - first).days, "cat": cat, "km": a["distance"] / 1000,
                     "gain": a["total_elevation_gain"], "z": z, "trimp": trimp,
                     "q": cat == "run" and (z[1] + z[2] >= 15 or a["workout_type"] in (1, 3))})
    n_days = (as_of - first).days + 1
    load = [0.0] * n_days
    for r in rows:
        load[r["day"]] += r["trimp"]
    ctl = atl = 0.0
    ratio, acwr = [], []
    for i in range(n_days):
        ctl += (load[i] - ctl) / 42
        atl += (load[i] - atl) / 7
        ratio.append((ctl - atl) / ctl if i >= 90 and ctl > 0 else None)
        chronic = sum(load[max(0, i - 27): i + 1]) / 4
        acwr.append(sum(load[max(0, i - 6): i + 1]) / chronic if chronic and i >= 27 else None)
    weeks = []
    for w in range(n_days // 7):  # complete weeks only
        rs = [r for r in rows if r["day"] // 7 == w]
        runs = [r for r in rs if r["cat"] == "run"]
        zs = [sum(r["z"][k] for r in runs) for k in range(3)]
        days = load[7 * w: 7 * w + 7]
        mean = sum(days) / 7
        sd = math.sqrt(sum((x - mean) ** 2 for x in days) / 7)
        streak = best = 0
        for x in ratio[7 * w: 7 * w + 7]:
            streak = streak + 1 if x is not None and x < -0.30 else 0
            best = max(best, streak)
        spikes = []
        for r in runs:
            if r["day"] >= 30:
                prior = [x["km"] for x in rows if x["cat"] == "run" and 1 <= r["day"] - x["day"] <= 30 and x["km"] > 0]
                if prior:
                    spikes.append(r["km"] / max(prior))
        weeks.append({"runs": len(runs), "eff": sum(r["km"] + r["gain"] / 100 for r in runs), "z": zs,
                      "q": sum(r["q"] for r in runs), "rest": 7 - len({r["day"] for r in rs}),
                      "mono": mean / sd if sd else None, "acwr": acwr[7 * w + 6], "fatigue": best,
                      "strength": sum(r["cat"] == "strength" for r in rs), "spike": max(spikes, default=None)})
    out = {}
    for i, wk in enumerate(weeks):
        f = set()
        zsum = sum(wk["z"])
        if zsum >= 60 and wk["z"][0] / zsum < 0.75:
            f.add("easy_share_low")
        if wk["q"] > 2:
            f.add("too_many_quality_sessions")
        prev = weeks[i - 4: i] if i >= 4 else []
        mean_eff = sum(p["eff"] for p in prev) / 4 if prev else 0
        if mean_eff and wk["eff"] / mean_eff - 1 > 0.30:
            f.add("volume_spike")
        if wk["spike"] is not None and wk["spike"] > 1.10:
            f.add("long_run_spike")
        if wk["acwr"] is not None and wk["acwr"] >= 1.5:
            f.add("acwr_high")
        if wk["mono"] is not None and wk["mono"] > 2.0:
            f.add("high_monotony")
        if wk["rest"] == 0:
            f.add("no_rest_day")
        if wk["fatigue"] >= 3:
            f.add("deep_fatigue")
        if i >= 1 and wk["strength"] == 0 and weeks[i - 1]["strength"] == 0:
            f.add("no_strength")
        last12 = weeks[max(0, i - 11): i + 1]
        if i >= 3 and sum(p["runs"] >= 3 for p in last12) / len(last12) < 0.5:
            f.add("low_consistency")
        if len(f & {"volume_spike", "acwr_high", "high_monotony", "deep_fatigue", "no_rest_day"}) >= 2:
            f.add("overreaching")
        out[(first + dt.timedelta(days=7 * i)).isoformat()] = f
    return out


def test_designed_weeks_raise_the_designed_flags(athlete):
    flags = weekly_flags(athlete, END)
    for monday in athlete.labels["easy_weeks"]:
        assert flags[monday] == set(), monday
    for monday in athlete.labels["overreaching_weeks"]:
        assert "overreaching" in flags[monday], monday
        assert "no_rest_day" in flags[monday] and "high_monotony" in flags[monday]
    assert "volume_spike" in flags[athlete.labels["overreaching_weeks"][0]]
