"""Shared fixtures: a Strava-compatible server on 127.0.0.1 and an isolated TRAINSMART_HOME."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "true"
os.environ.setdefault("SILENCE_TOKEN_WARNINGS", "true")

# The product's dbt builds (dagster-dbt runs TRAINSMART_DBT) start from this worker's warm
# interpreters too, before any test imports the definitions (tests/warm_python.py)
if os.environ.get("TRAINSMART_TEST_COLD_START") != "1":
    from tests import warm_python

    _warm_dbt = Path(tempfile.mkdtemp(prefix="trainsmart-warm-dbt-"))
    atexit.register(shutil.rmtree, _warm_dbt, True)
    os.environ["TRAINSMART_DBT"] = str(warm_python.serve_warm_dbt(_warm_dbt))

END_DATE = dt.date(2026, 11, 22)  # a Sunday: the sample's last complete week ends here
GARMIN_KEY = "garmin-test-key"


@pytest.fixture(scope="session", autouse=True)
def dbt_parse_seed(tmp_path_factory):
    """One dbt parse for every fixture build of the session (tests/dbt_build.py), in the
    session's folder that pytest-xdist's workers share."""
    from tests import dbt_build

    root = tmp_path_factory.getbasetemp()
    dbt_build.PARSE_SEED = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "dbt-parse-seed.msgpack"


@pytest.fixture(scope="session")
def small_athlete():
    """Half a year of the sample athlete: enough pages and streams, quick to sync."""
    from pipelines.sandbox.sample_athlete import generate_sample_athlete

    return generate_sample_athlete(END_DATE, seed=7, years=0.5)


@pytest.fixture
def home(tmp_path, tmp_path_factory, monkeypatch):
    """An empty TRAINSMART_HOME with the DB inside; no real Strava or Garmin settings leak in.

    It is the same folder for every test of this worker, emptied first, except for dbt's
    parse of the project (dbt/target/partial_parse.msgpack): dbt keeps a parse only for the
    same database path, and a full parse cost 2-3 s of each test's first build. dbt itself
    checks that the project, vars and environment the parse read are unchanged."""
    for key in list(os.environ):
        if key.startswith(("STRAVA_", "GARMIN_", "ATHLETE_", "SMTP_", "REPORT_")) or key == "TRAINSMART_AS_OF":
            monkeypatch.delenv(key, raising=False)
    # no real Garmin key file (~/.config/garmin/connect-personal-api-key) leaks in either
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    folder = emptied_but_dbt_parse(tmp_path_factory.getbasetemp() / "home")
    monkeypatch.setenv("TRAINSMART_HOME", str(folder))
    monkeypatch.setenv("TRAINSMART_DB", str(folder / "training.duckdb"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the repository
    return folder


def emptied_but_dbt_parse(folder):
    """`folder` with nothing in it but dbt/target/partial_parse.msgpack, if it had one (then
    it exists; otherwise not, as a new TRAINSMART_HOME)."""
    parse = folder / "dbt" / "target" / "partial_parse.msgpack"
    kept = parse.read_bytes() if parse.exists() else None
    shutil.rmtree(folder, ignore_errors=True)
    if kept is not None:
        parse.parent.mkdir(parents=True)
        parse.write_bytes(kept)
    return folder


@pytest.fixture
def make_fake(home, monkeypatch):
    """Start a FakeStrava for the test and point STRAVA_* at it."""
    from pipelines.sandbox.strava_server import FakeStrava

    servers = []

    def start(athlete, **kwargs):
        kwargs.setdefault("scope", "read,activity:read_all,profile:read_all")
        # Strava's defaults (100 reads / 15 min) are exercised in their own test; the rest
        # need room for a whole first sync of the small athlete.
        for key, value in (("read_limit_15min", 1000), ("read_limit_daily", 10000),
                           ("overall_limit_15min", 2000), ("overall_limit_daily", 20000)):
            kwargs.setdefault(key, value)
        fake = FakeStrava(athlete, **kwargs)
        base = fake.start()
        servers.append(fake)
        monkeypatch.setenv("STRAVA_BASE_URL", base)
        monkeypatch.setenv("STRAVA_CLIENT_ID", fake.client_id)
        monkeypatch.setenv("STRAVA_CLIENT_SECRET", fake.client_secret)
        monkeypatch.setenv("STRAVA_REFRESH_TOKEN", fake.current_refresh_token)
        return fake

    yield start
    for fake in servers:
        fake.stop()


@pytest.fixture(scope="session")
def small_watch(small_athlete):
    """The small athlete's Garmin watch: most of the same workouts, a few of its own, wellness."""
    from pipelines.sandbox.garmin_watch import garmin_watch_for

    return garmin_watch_for(small_athlete)


@pytest.fixture
def make_garmin(home, monkeypatch):
    """Start a FakeGarmin for the test and point GARMIN_* (and the as-of date) at it."""
    from pipelines.sandbox.garmin_server import FakeGarmin

    servers = []

    def start(watch, **kwargs):
        kwargs.setdefault("api_key", GARMIN_KEY)
        fake = FakeGarmin(watch, **kwargs)
        base = fake.start()
        servers.append(fake)
        monkeypatch.setenv("GARMIN_PERSONAL_API_BASE_URL", base)
        monkeypatch.setenv("GARMIN_PERSONAL_API_KEY", GARMIN_KEY)
        monkeypatch.setenv("TRAINSMART_AS_OF", watch.end_date.isoformat())
        return fake

    yield start
    for fake in servers:
        fake.stop()


@pytest.fixture(scope="session")
def short_watch(small_watch):
    """The small watch's last six weeks of activities (its wellness unchanged): quick to sync
    for the tests of resuming, faults and pacing, which need a sync, not a big one."""
    import dataclasses

    since = (END_DATE - dt.timedelta(days=42)).isoformat()
    return dataclasses.replace(small_watch, activities=[a for a in small_watch.activities
                                                        if a["startTimeLocal"][:10] >= since])


def pytest_collection_finish(session):
    """What the worker imported to collect the tests (Dagster, dbt, the test modules) lives
    as long as it does: frozen, the garbage collections of the in-process tests (Dagster
    jobs, the club sync) stop walking it. 2-3 CPU-s of 73-78 on the heaviest of them."""
    import gc

    gc.freeze()
