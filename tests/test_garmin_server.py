"""The local Garmin Personal API and the sample athlete's Garmin watch.

Everything goes over real HTTP with plain requests, as GARMIN.md describes the API. The
watch's designed wellness patterns are checked with a small, independent recomputation
of METRICS.md section 7.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import io
import json
import math
import statistics
import threading
import time
import zipfile

import pytest
import requests

from pipelines.imports.parsers import parse_fit
from pipelines.sandbox.garmin_server import FakeGarmin
from pipelines.sandbox.garmin_watch import GarminWatch, garmin_watch_for, generate_sample_garmin_watch
from pipelines.sandbox.sample_athlete import generate_sample_athlete
from tests.server_command import server_command

END = dt.date(2026, 11, 29)
KEY = "sandbox-garmin-key"
TOKEN = "/personalapitoken-service/personal-api/personal-api-key/token"
SEARCH = "/activitylist-service/activities/search/activities"
SLEEP = "/sleep-service/sleep/dailySleepSummariesByDate"
DAILY = "/usersummary-service/v2/dailysummaries"
PROFILE = "/userprofile-service/userprofile/settings"
INVALID = 'Bearer error="invalid_token", error_description="Token is not active"'
ZIP_ACCEPT = "application/zip, application/x-zip-compressed"


@pytest.fixture(scope="module")
def sample():
    return generate_sample_athlete(END, seed=7, years=0.5)


@pytest.fixture(scope="module")
def watch(sample) -> GarminWatch:
    return garmin_watch_for(sample, end_date=END)


@pytest.fixture
def fake(watch):
    with FakeGarmin(watch) as f:
        yield f


class Client:
    """A polite client: one request at a time, a fresh token from the key."""

    def __init__(self, fake: FakeGarmin, key: str = KEY):
        self.fake = fake
        self.base = fake.base_url
        self.session = requests.Session()
        self.token = token_for(self.base, key)

    def get(self, path: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.session.get(self.base + path, headers=headers, timeout=10, **kw)


def token_for(base: str, key: str = KEY) -> str:
    r = requests.post(base + TOKEN, headers={"Authorization": f"ApiKey {key}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.text.strip().strip('"')


def claims(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def assert_invalid_token(r: requests.Response) -> None:
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == INVALID
    assert r.content == b""


# --------------------------------------------------------------------------- tokens


def test_token_exchange_bare_then_quoted(fake, watch):
    url = fake.base_url + TOKEN
    first = requests.post(url, headers={"Authorization": f"ApiKey {KEY}"}, timeout=10)
    second = requests.post(url, headers={"Authorization": f"ApiKey {KEY}"}, timeout=10)
    assert first.status_code == second.status_code == 200
    assert first.text.count(".") == 2 and not first.text.startswith('"')
    assert second.text.startswith('"') and second.text.endswith('"')
    for text in (first.text, second.text.strip('"')):
        header = json.loads(base64.urlsafe_b64decode(text.split(".")[0] + "=="))
        assert header["alg"] == "HS256"
        c = claims(text)
        assert c["sub"] == str(watch.owner_id)
        assert abs(c["exp"] - (time.time() + 86400)) < 5
        r = requests.get(fake.base_url + PROFILE, headers={"Authorization": f"Bearer {text}"}, timeout=10)
        assert r.status_code == 200
        assert r.json()["id"] == watch.owner_id
        assert r.json()["userData"]["gender"] in ("FEMALE", "MALE")
    assert fake.count("token") == 2 and fake.count("profile") == 2


def test_rejected_keys_and_tokens(fake):
    url = fake.base_url + TOKEN
    assert requests.post(url, headers={"Authorization": "ApiKey wrong"}, timeout=10).status_code == 401
    assert requests.post(url, timeout=10).status_code == 400
    # data calls without, with a garbage and with a forged token
    assert_invalid_token(requests.get(fake.base_url + PROFILE, timeout=10))
    assert_invalid_token(requests.get(fake.base_url + PROFILE, headers={"Authorization": "Bearer abc"}, timeout=10))
    good = token_for(fake.base_url)
    head, body, _sig = good.split(".")
    forged = f"{head}.{body}.{base64.urlsafe_b64encode(b'x' * 32).rstrip(b'=').decode()}"
    assert_invalid_token(requests.get(fake.base_url + PROFILE, headers={"Authorization": f"Bearer {forged}"},
                                      timeout=10))
    # expire_tokens: the token stops working, the key still works
    fake.expire_tokens()
    assert_invalid_token(requests.get(fake.base_url + PROFILE, headers={"Authorization": f"Bearer {good}"},
                                      timeout=10))
    fresh = token_for(fake.base_url)
    assert requests.get(fake.base_url + PROFILE, headers={"Authorization": f"Bearer {fresh}"},
                        timeout=10).status_code == 200
    # revoke_key: both stop working until a new key is set
    fake.revoke_key()
    assert requests.post(url, headers={"Authorization": f"ApiKey {KEY}"}, timeout=10).status_code == 401
    assert_invalid_token(requests.get(fake.base_url + PROFILE, headers={"Authorization": f"Bearer {fresh}"},
                                      timeout=10))
    fake.set_key("new-key")
    assert requests.post(url, headers={"Authorization": f"ApiKey {KEY}"}, timeout=10).status_code == 401
    renewed = token_for(fake.base_url, "new-key")
    assert requests.get(fake.base_url + PROFILE, headers={"Authorization": f"Bearer {renewed}"},
                        timeout=10).status_code == 200


def test_token_expires_by_its_exp_claim(watch):
    now = [1_800_000_000.0]
    with FakeGarmin(watch, token_ttl_s=600, clock=lambda: now[0]) as f:
        tok = token_for(f.base_url)
        assert claims(tok)["exp"] == 1_800_000_600
        r = requests.get(f.base_url + PROFILE, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
        assert r.status_code == 200
        now[0] += 601
        assert_invalid_token(requests.get(f.base_url + PROFILE, headers={"Authorization": f"Bearer {tok}"},
                                          timeout=10))


# --------------------------------------------------------------------------- activities


def test_activity_paging_newest_first_and_limit(fake, watch):
    c = Client(fake)
    seen: list[dict] = []
    start = 0
    while True:
        r = c.get(SEARCH, params={"start": start, "limit": 45})
        assert r.status_code == 200
        page = r.json()
        seen += page
        if len(page) < 45:
            break
        start += 45
    assert len(seen) == len(watch.activities)
    assert len({a["activityId"] for a in seen}) == len(seen)
    gmt = [a["startTimeGMT"] for a in seen]
    assert gmt == sorted(gmt, reverse=True)
    assert c.get(SEARCH, params={"start": 0, "limit": 46}).status_code == 500
    assert c.get(SEARCH, params={"start": len(seen) + 10, "limit": 20}).json() == []
    # dates are inclusive and compare with startTimeLocal's date
    r = c.get(SEARCH, params={"start": 0, "limit": 45, "startDate": "2026-11-01", "endDate": "2026-11-08"})
    got = r.json()
    expect = [a for a in watch.activities if "2026-11-01" <= a["startTimeLocal"][:10] <= "2026-11-08"]
    assert sorted(a["activityId"] for a in got) == sorted(a["activityId"] for a in expect) and got
    # "today" moves: nothing after it is served
    fake.set_today(dt.date(2026, 11, 15))
    newest = c.get(SEARCH, params={"start": 0, "limit": 5}).json()[0]
    assert newest["startTimeLocal"][:10] <= "2026-11-15"
    later = next(a for a in watch.activities if a["startTimeLocal"][:10] > "2026-11-15")
    assert c.get(f"/activity-service/activity/{later['activityId']}").status_code == 404


def test_activity_shape_detail_and_deletion(fake, watch):
    c = Client(fake)
    act = watch.activities[-1]
    for a in watch.activities:
        assert a["activityId"] >= 21_000_000_000 and a["ownerId"] == watch.owner_id
        assert a["manualActivity"] is False
        assert None not in a.values()
        assert {"activityType", "eventType", "startTimeGMT", "startTimeLocal", "duration"} <= a.keys()
    r = c.get(f"/activity-service/activity/{act['activityId']}")
    assert r.status_code == 200
    detail = r.json()
    assert {k: detail[k] for k in act} == act
    assert c.get("/activity-service/activity/123").status_code == 404
    fake.delete_activity(act["activityId"])
    assert c.get(f"/activity-service/activity/{act['activityId']}").status_code == 404
    assert c.get(f"/download-service/files/activity/{act['activityId']}",
                 headers={"Accept": ZIP_ACCEPT}).status_code == 404
    ids = [a["activityId"] for a in c.get(SEARCH, params={"limit": 45}).json()]
    assert act["activityId"] not in ids
    edited = fake.edit_activity(watch.activities[-2]["activityId"], activityName="Renamed")
    assert c.get(f"/activity-service/activity/{edited['activityId']}").json()["activityName"] == "Renamed"


def test_download_zip_holds_the_fit_file(fake, watch):
    c = Client(fake)
    act = next(a for a in reversed(watch.activities) if a["activityType"]["typeKey"] == "trail_running")
    aid = act["activityId"]
    r = c.get(f"/download-service/files/activity/{aid}", headers={"Accept": ZIP_ACCEPT})
    assert r.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert zf.namelist() == [f"{aid}_ACTIVITY.fit"]
    assert zf.getinfo(f"{aid}_ACTIVITY.fit").compress_type == zipfile.ZIP_DEFLATED
    data = zf.read(f"{aid}_ACTIVITY.fit")
    assert data == watch.fit_file(aid)
    parsed = parse_fit(io.BytesIO(data))
    t, hr = watch.hr_stream(aid)
    assert parsed.time_s == t and parsed.heartrate == hr
    assert parsed.sport == "running" and parsed.sub_sport == "trail"
    assert parsed.start_utc == dt.datetime.strptime(act["startTimeGMT"], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=dt.timezone.utc)
    local = dt.datetime.strptime(act["startTimeLocal"], "%Y-%m-%d %H:%M:%S")
    assert parsed.local_offset_s == (local - parsed.start_utc.replace(tzinfo=None)).total_seconds()
    assert parsed.first_lat is not None and parsed.distance_m and parsed.altitude_m
    assert max(hr) == act["maxHR"]
    assert c.get(f"/download-service/files/activity/{aid}", headers={"Accept": "*/*"}).status_code == 200
    r = c.get(f"/download-service/files/activity/{aid}", headers={"Accept": "application/octet-stream"})
    assert r.status_code == 406
    # an activity without a file
    fake.add_activity({"activityId": 21_999_000_001, "activityName": "Yoga", "startTimeLocal": "2026-11-20 19:00:00",
                       "startTimeGMT": "2026-11-20 18:00:00", "duration": 1800.0,
                       "activityType": {"typeId": 4, "typeKey": "other", "parentTypeId": 17},
                       "eventType": {"typeId": 9, "typeKey": "uncategorized"}})
    assert c.get("/download-service/files/activity/21999000001", headers={"Accept": ZIP_ACCEPT}).status_code == 404
    assert c.get("/activity-service/activity/21999000001").json()["manualActivity"] is True


def test_fit_round_trip_through_parse_fit(watch, sample):
    ids = [watch.watch_only_ids[0]]  # a watch-only session
    with_zero = [sid for sid in watch.strava_ids.values() if 0 in sample.streams[sid]["heartrate"]]
    ids += [g for g, s in watch.strava_ids.items() if s in with_zero[:2]]  # strap dropouts on Strava
    ids += [a["activityId"] for a in watch.activities if a["activityType"]["typeKey"] in
            ("strength_training", "walking", "hiking", "virtual_ride", "cycling")][:4]
    for aid in ids:
        data = watch.fit_file(aid)
        parsed = parse_fit(io.BytesIO(data))
        t, hr = watch.hr_stream(aid)
        assert parsed.time_s == t and parsed.heartrate == hr, aid
        assert t[0] == 0 and all(h > 0 for h in hr)
        act = watch.activity(aid)
        assert max(hr) == act["maxHR"]
        assert parsed.start_utc.strftime("%Y-%m-%d %H:%M:%S") == act["startTimeGMT"]
    assert watch.fit_file(ids[0]) is watch.fit_file(ids[0])  # cached
    assert watch.fit_file(123) is None and watch.hr_stream(123) is None


# --------------------------------------------------------------------------- wellness


def test_hrv_range_limits_and_204(fake, watch):
    c = Client(fake)
    r = c.get("/hrv-service/hrv/daily/2025-12-01/2026-11-30")  # 365 days
    assert r.status_code == 200
    body = r.json()
    assert body["userProfilePk"] == watch.owner_id
    dates = [h["calendarDate"] for h in body["hrvSummaries"]]
    assert dates == sorted(dates) and dates[-1] <= END.isoformat()
    assert len(dates) == sum(1 for d in watch.hrv if "2025-12-01" <= d <= "2026-11-30")
    r = c.get("/hrv-service/hrv/daily/2025-11-30/2026-11-30")  # 366 days
    assert r.status_code == 400 and r.content == b""
    r = c.get("/hrv-service/hrv/daily/2020-01-01/2020-01-31")
    assert r.status_code == 204 and r.content == b""
    one = body["hrvSummaries"][-1]
    assert {"calendarDate", "weeklyAvg", "lastNightAvg", "lastNight5MinHigh", "baseline", "status",
            "feedbackPhrase", "createTimeStamp"} <= one.keys()
    assert one["status"] in ("NONE", "POOR", "LOW", "UNBALANCED", "BALANCED", "INVALID")


def test_sleep_and_daily_range_limits(fake, watch):
    c = Client(fake)
    r = c.get(SLEEP, params={"startDate": "2026-10-01", "endDate": "2026-10-31"})
    assert r.status_code == 200
    nights = r.json()
    assert [n["calendarDate"] for n in nights] == [f"2026-10-{d:02d}" for d in range(1, 32)]
    r = c.get(SLEEP, params={"startDate": "2026-10-01", "endDate": "2026-11-01"})
    assert r.status_code == 400 and r.json() == {}
    fake.set_wellness("sleep", "2026-10-05", None)
    empty = c.get(SLEEP, params={"startDate": "2026-10-05", "endDate": "2026-10-05"}).json()[0]
    assert empty.keys() == nights[0].keys()
    assert empty["id"] is None and empty["sleepTimeSeconds"] is None and empty["calendarDate"] == "2026-10-05"
    r = c.get(DAILY, params={"startDate": "2026-10-01", "endDate": "2026-10-31"})
    assert r.status_code == 200
    data = r.json()["data"]
    assert [d["calendarDate"] for d in data] == sorted(d for d in watch.daily if "2026-10-01" <= d <= "2026-10-31")
    r = c.get(DAILY, params={"startDate": "2026-10-01", "endDate": "2026-11-01"})
    assert r.status_code == 400 and r.content == b""
    # nothing after today
    r = c.get(DAILY, params={"startDate": "2026-11-20", "endDate": "2026-12-10"})
    assert max(d["calendarDate"] for d in r.json()["data"]) == END.isoformat()
    fake.set_wellness("daily", "2026-10-02", None)
    fake.set_wellness("hrv", "2026-10-03", {"calendarDate": "2026-10-03", "lastNightAvg": 99})
    r = c.get(DAILY, params={"startDate": "2026-10-01", "endDate": "2026-10-03"})
    got = [d["calendarDate"] for d in r.json()["data"]]
    assert "2026-10-02" not in got
    h = c.get("/hrv-service/hrv/daily/2026-10-03/2026-10-03").json()["hrvSummaries"]
    assert h == [{"calendarDate": "2026-10-03", "lastNightAvg": 99}]


def test_unknown_path_and_request_log(fake):
    c = Client(fake)
    assert c.get("/no-such-service/thing").status_code == 404
    assert c.get(PROFILE).status_code == 200
    assert fake.count("other") == 1 and fake.count("profile") == 1 and fake.count() == 3
    rq = fake.requests[-1]
    assert rq.method == "GET" and rq.path == PROFILE and rq.status == 200 and rq.answered_at >= rq.received_at
    fake.reset_log()
    assert fake.count() == 0


# --------------------------------------------------------------------------- pacing and faults


def test_throttle_next_and_retry_after(watch):
    with FakeGarmin(watch, burst_retry_after=1) as fake:
        _throttle_and_wait(fake)


def _throttle_and_wait(fake: FakeGarmin) -> None:
    c = Client(fake)
    fake.throttle_next(1, retry_after=1)
    r = c.get(PROFILE)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    r = c.get(PROFILE)  # too early
    assert r.status_code == 429
    assert len(fake.retry_after_violations) == 1
    time.sleep(1.05)
    assert c.get(PROFILE).status_code == 200
    # the HTTP-date form
    fake.throttle_next(1, retry_after="date")
    r = c.get(PROFILE)
    assert r.status_code == 429
    when = email.utils.parsedate_to_datetime(r.headers["Retry-After"])
    wait = (when - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert 0 < wait <= fake.burst_retry_after + 1
    time.sleep(wait + 0.05)
    assert c.get(PROFILE).status_code == 200
    assert len(fake.retry_after_violations) == 1 and not fake.overlap_violations


def test_parallel_requests_get_429(watch):
    with FakeGarmin(watch, burst_retry_after=1, latency_s=0.4) as f:
        c = Client(f)
        slow: list[int] = []
        t = threading.Thread(target=lambda: slow.append(c.get(PROFILE).status_code))
        t.start()
        time.sleep(0.15)
        other = requests.get(f.base_url + PROFILE, headers={"Authorization": f"Bearer {c.token}"}, timeout=10)
        t.join()
        assert slow == [200]
        assert other.status_code == 429 and other.headers["Retry-After"] == "1"
        assert len(f.overlap_violations) == 1 and f.overlap_violations[0].status == 429
        f.set_latency(0)
        time.sleep(1.05)
        for _ in range(3):  # one at a time: fine
            assert c.get(PROFILE).status_code == 200
        assert not f.retry_after_violations and len(f.overlap_violations) == 1


def test_fail_rate_and_fail_next(fake):
    c = Client(fake)
    fake.fail_rate(0.5, seed=3)
    statuses = [c.get(PROFILE).status_code for _ in range(30)]
    assert set(statuses) - {200} <= {500, 502, 503, 504} and statuses.count(200) not in (0, 30)
    tokens = [requests.post(fake.base_url + TOKEN, headers={"Authorization": f"ApiKey {KEY}"}, timeout=10).status_code
              for _ in range(5)]
    assert tokens == [200] * 5  # the token endpoint does not fail
    fake.fail_rate(0)
    fake.fail_next(2, status=502)
    assert [c.get(PROFILE).status_code for _ in range(3)] == [502, 502, 200]


def test_added_activity_with_stream(fake, watch):
    c = Client(fake)
    t = list(range(0, 1200, 5))
    hr = [120 + (i % 20) for i in range(len(t))]
    act = {"activityId": 21_999_000_002, "activityName": "Added Run", "startTimeLocal": "2026-11-28 12:00:00",
           "startTimeGMT": "2026-11-28 11:00:00", "duration": 1195.0, "distance": 3000.0, "averageHR": 129.0,
           "maxHR": 139.0, "activityType": {"typeId": 1, "typeKey": "running", "parentTypeId": 17},
           "eventType": {"typeId": 9, "typeKey": "uncategorized"}}
    fake.add_activity(act, stream=(t, hr))
    first = c.get(SEARCH, params={"limit": 3}).json()
    assert 21_999_000_002 in [a["activityId"] for a in first]
    r = c.get("/download-service/files/activity/21999000002", headers={"Accept": ZIP_ACCEPT})
    parsed = parse_fit(io.BytesIO(zipfile.ZipFile(io.BytesIO(r.content)).read("21999000002_ACTIVITY.fit")))
    assert parsed.time_s == t and parsed.heartrate == hr and parsed.local_offset_s == 3600
    assert fake.hr_stream(21_999_000_002) == (t, hr)


# --------------------------------------------------------------------------- the watch itself


def readiness(hrv: dict, sleep: dict, daily: dict, first: dt.date, last: dt.date) -> dict[dt.date, dict]:
    """METRICS.md section 7 in plain Python, from the Garmin objects."""

    def val(x):
        return x if x is not None and x > 0 else None

    ln = {dt.date.fromisoformat(k): math.log(v["lastNightAvg"]) for k, v in hrv.items()
          if val(v.get("lastNightAvg"))}
    rhr = {dt.date.fromisoformat(k): v["heartRate"]["restingValue"] for k, v in daily.items()
           if val((v.get("heartRate") or {}).get("restingValue"))}
    slp = {dt.date.fromisoformat(k): v["sleepTimeSeconds"] / 60 for k, v in sleep.items()
           if val(v.get("sleepTimeSeconds"))}
    out = {}
    d = first
    while d <= last:
        week = [ln[x] for x in (d - dt.timedelta(days=k) for k in range(7)) if x in ln]
        base = [ln[x] for x in (d - dt.timedelta(days=k) for k in range(1, 61)) if x in ln]
        rbase = [rhr[x] for x in (d - dt.timedelta(days=k) for k in range(1, 61)) if x in rhr]
        hrv_7d = statistics.fmean(week) if len(week) >= 4 else None
        bm, bsd = (statistics.fmean(base), statistics.stdev(base)) if len(base) >= 30 else (None, None)
        rb = statistics.fmean(rbase) if len(rbase) >= 30 else None
        sup = hrv_7d is not None and bm is not None and hrv_7d < bm - 0.5 * bsd
        ele = rb is not None and d in rhr and rhr[d] >= rb + 5
        out[d] = {"suppressed": sup, "elevated": ele, "low": sup or ele, "sleep": slp.get(d)}
        d += dt.timedelta(days=1)
    return out


def week_summary(r: dict, monday: dt.date) -> dict:
    days = [r[monday + dt.timedelta(days=k)] for k in range(7)]
    nights = [x["sleep"] for x in days if x["sleep"] is not None]
    return {"suppressed": sum(x["suppressed"] for x in days), "elevated": sum(x["elevated"] for x in days),
            "nights": len(nights), "avg_sleep": statistics.fmean(nights) if nights else None}


def check_designed(w: GarminWatch, sample, hrv, sleep, daily) -> None:
    first = min(dt.date.fromisoformat(a["start_date_local"][:10]) for a in sample.activities)
    first_day = first - dt.timedelta(days=first.weekday())
    r = readiness(hrv, sleep, daily, first_day, w.end_date)
    des = w.designed
    for key in ("hrv_dip_week", "rhr_elevated_week", "short_sleep_week"):
        assert des[key].weekday() == 0 and (w.end_date - des[key]).days < 20 * 7, key
    assert week_summary(r, des["hrv_dip_week"])["suppressed"] >= 3
    assert week_summary(r, des["rhr_elevated_week"])["elevated"] >= 2
    s = week_summary(r, des["short_sleep_week"])
    assert s["nights"] >= 4 and s["avg_sleep"] < 420
    q = des["low_readiness_quality_day"]
    assert r[q]["low"]
    run = next(a for a in sample.activities if a["id"] == des["low_readiness_quality_strava_id"])
    assert run["start_date_local"][:10] == q.isoformat()
    assert run["sport_type"] in ("Run", "TrailRun") and run["workout_type"] in (1, 3)
    # weeks well away from the designed ones are normal
    for e in des["normal_weeks"]:
        ws = week_summary(r, e)
        assert ws["suppressed"] == 0 and ws["elevated"] == 0 and ws["avg_sleep"] >= 420, e
    # flags come only from the designed weeks and the overreaching block (+2 weeks): the body answers the load
    over = [dt.date.fromisoformat(x) for x in sample.labels["overreaching_weeks"]]
    block = {over[0] + dt.timedelta(days=7 * k) for k in range(len(over) + 2)}
    assert des["hrv_dip_week"] in des["hrv_suppressed_weeks"]
    assert set(des["hrv_suppressed_weeks"]) <= block | {des["hrv_dip_week"]}
    assert set(des["rhr_elevated_weeks"]) <= block | {des["rhr_elevated_week"]}
    assert des["short_sleep_weeks"] == [des["short_sleep_week"]]
    # what the generator reports is what the data says
    weeks = sorted({d - dt.timedelta(days=d.weekday()) for d in r})
    assert [m for m in weeks if m + dt.timedelta(days=6) <= w.end_date
            and week_summary(r, m)["suppressed"] >= 3] == des["hrv_suppressed_weeks"]
    assert [m for m in weeks if m + dt.timedelta(days=6) <= w.end_date
            and week_summary(r, m)["elevated"] >= 2] == des["rhr_elevated_weeks"]
    assert sorted(d for d, x in r.items() if x["low"]) == des["low_readiness_days"]
    # wellness ranges
    ms = [h["lastNightAvg"] for h in hrv.values()]
    rest = [d["heartRate"]["restingValue"] for d in daily.values() if d["heartRate"]["restingValue"]]
    hours = [x["sleepTimeSeconds"] / 3600 for x in sleep.values() if x["sleepTimeSeconds"]]
    assert 45 <= statistics.median(ms) <= 60 and 44 <= statistics.median(rest) <= 50
    assert 6.5 <= statistics.median(hours) <= 8.5
    assert min(sleep) == (first - dt.timedelta(days=90)).isoformat() and max(sleep) == w.end_date.isoformat()
    missing = [k for k, x in sleep.items() if x["sleepTimeSeconds"] is None]
    assert missing and all(k not in hrv for k in missing)
    assert any(x["heartRate"]["restingValue"] is None for x in daily.values())


def check_activities(w: GarminWatch, sample) -> None:
    by_id = {a["id"]: a for a in sample.activities}
    gid = {a["activityId"]: a for a in w.activities}
    assert len(gid) == len(w.activities)
    assert set(w.strava_ids) | set(w.watch_only_ids) == set(gid)
    on_watch = set(w.strava_ids.values())
    for g, sid in w.strava_ids.items():
        a, s = gid[g], by_id[sid]
        assert not s["manual"] and sid in sample.streams
        gmt = dt.datetime.strptime(a["startTimeGMT"], "%Y-%m-%d %H:%M:%S")
        assert 0 <= (gmt - dt.datetime.strptime(s["start_date"], "%Y-%m-%dT%H:%M:%SZ")).total_seconds() <= 5
        assert a["startTimeLocal"][:10] == s["start_date_local"][:10]
        assert (a["eventType"]["typeKey"] == "race") == (s["workout_type"] == 1)
        assert a["maxHR"] == s["max_heartrate"]
        if s["distance"]:
            assert abs(a["distance"] / s["distance"] - 1) < 0.01
    expected = {"Run": "running", "TrailRun": "trail_running", "Hike": "hiking", "VirtualRide": "virtual_ride",
                "Ride": "cycling", "Walk": "walking"}
    assert all(gid[g]["activityType"]["typeKey"] == expected[by_id[s]["sport_type"]] for g, s in w.strava_ids.items())
    recorded = {a["id"] for a in sample.activities if not a["manual"] and a["id"] in sample.streams}
    assert set(w.forgotten_strava_ids) == recorded - on_watch and 1 <= len(w.forgotten_strava_ids) <= 10
    assert not on_watch & {a["id"] for a in sample.activities if a["manual"]}
    # watch-only sessions: far from Strava's, below the 365-day hr_max
    day_max: dict[dt.date, float] = {}
    for x in sample.activities:
        if x.get("max_heartrate"):
            d = dt.date.fromisoformat(x["start_date_local"][:10])
            day_max[d] = max(day_max.get(d, 0.0), x["max_heartrate"])
    spans = [(dt.datetime.strptime(a["start_date"], "%Y-%m-%dT%H:%M:%SZ"), a["elapsed_time"])
             for a in sample.activities]
    for g in w.watch_only_ids:
        a = gid[g]
        s0 = dt.datetime.strptime(a["startTimeGMT"], "%Y-%m-%d %H:%M:%S")
        s1 = s0 + dt.timedelta(seconds=a["elapsedDuration"])
        for b0, el in spans:
            b1 = b0 + dt.timedelta(seconds=el)
            assert s1 + dt.timedelta(minutes=10) < b0 or s0 - dt.timedelta(minutes=10) > b1
        day = dt.date.fromisoformat(a["startTimeLocal"][:10])
        for k in list(range(0, 365, 7)) + [364]:  # as-of dates whose 365-day window holds the session
            asof = day + dt.timedelta(days=k)
            window = [v for d, v in day_max.items() if 0 <= (asof - d).days <= 364]
            assert a["maxHR"] < max(window)


def test_half_year_watch_over_http(fake, watch, sample):
    """The small watch: wellness fetched through the API in allowed chunks, then checked."""
    c = Client(fake)
    first = dt.date.fromisoformat(min(watch.sleep))
    hrv, sleep, daily = {}, {}, {}
    r = c.get(f"/hrv-service/hrv/daily/{first}/{first + dt.timedelta(days=364)}")
    hrv.update({h["calendarDate"]: h for h in r.json()["hrvSummaries"]})
    d = first
    while d <= END:
        e = d + dt.timedelta(days=30)
        sleep.update({x["calendarDate"]: x for x in c.get(SLEEP, params={"startDate": d, "endDate": e}).json()})
        daily.update({x["calendarDate"]: x for x in c.get(DAILY, params={"startDate": d, "endDate": e}).json()["data"]})
        d = e + dt.timedelta(days=1)
    assert hrv == watch.hrv and sleep == watch.sleep and daily == watch.daily
    assert not fake.overlap_violations and not fake.retry_after_violations
    check_designed(watch, sample, hrv, sleep, daily)
    check_activities(watch, sample)
    assert 4 <= len(watch.watch_only_ids) <= 20
    # deterministic, and the shortcut builds the same watch
    again = generate_sample_garmin_watch(END, years=0.5, seed=7)
    assert again.activities == watch.activities and again.hrv == watch.hrv and again.designed == watch.designed
    assert again.sleep == watch.sleep and again.daily == watch.daily


def test_two_year_watch():
    t0 = time.perf_counter()
    sample = generate_sample_athlete(END, seed=7, years=2.0)
    t1 = time.perf_counter()
    w = garmin_watch_for(sample, end_date=END)
    assert time.perf_counter() - t1 < 3.0
    assert 10 <= len(w.watch_only_ids) <= 20
    check_designed(w, sample, w.hrv, w.sleep, w.daily)
    check_activities(w, sample)
    assert len(w.designed["normal_weeks"]) >= 3
    assert t1 - t0 < 15


def test_the_server_command_serves_and_stops_on_ctrl_c_even_in_the_background():
    """`python -m pipelines.sandbox.garmin_server` prints its base URL and key and answers the
    token exchange; Ctrl-C stops it even when started with SIGINT ignored (a script's `&`)."""
    with server_command("-m", "pipelines.sandbox.garmin_server", "--port", "0", "--years", "0.2", "--end-date", END.isoformat()) as lines:
        base = next(x.split("=", 1)[1] for x in lines if x.startswith("GARMIN_PERSONAL_API_BASE_URL="))
        key = next(x.split("=", 1)[1] for x in lines if x.startswith("GARMIN_PERSONAL_API_KEY="))
        r = requests.post(base + TOKEN, headers={"Authorization": f"ApiKey {key}"}, timeout=10)
        assert r.status_code == 200 and r.text.count(".") == 2
