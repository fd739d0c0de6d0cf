"""Shared fixtures: a Strava-compatible server on 127.0.0.1 and an isolated TRAINSMART_HOME."""

from __future__ import annotations

import datetime as dt
import os

import pytest

os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ["DAGSTER_DISABLE_TELEMETRY"] = "true"
os.environ.setdefault("SILENCE_TOKEN_WARNINGS", "true")

END_DATE = dt.date(2026, 11, 22)  # a Sunday: the sample's last complete week ends here


@pytest.fixture(scope="session")
def small_athlete():
    """Half a year of the sample athlete: enough pages and streams, quick to sync."""
    from pipelines.sandbox.sample_athlete import generate_sample_athlete

    return generate_sample_athlete(END_DATE, seed=7, years=0.5)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty TRAINSMART_HOME with the DB inside; no real Strava variables leak in."""
    for key in list(os.environ):
        if key.startswith(("STRAVA_", "ATHLETE_", "SMTP_", "REPORT_")) or key == "TRAINSMART_AS_OF":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRAINSMART_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRAINSMART_DB", str(tmp_path / "home" / "training.duckdb"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the repository
    return tmp_path / "home"


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
