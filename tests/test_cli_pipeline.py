"""`trainsmart` end to end in a subprocess: the Dagster job (sync + dbt build) in process,
exit codes, one-line errors, no secrets on the terminal, and `trainsmart auth`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import dagster as dg
import duckdb
import requests

from pipelines.config import beside_interpreter, load_settings
from tests.cli import trainsmart


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_sync_command_lands_builds_and_keeps_secrets_off_the_terminal(make_fake, small_athlete):
    fake = make_fake(small_athlete)
    initial_refresh = fake.current_refresh_token
    done = trainsmart("sync")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    settings = load_settings()
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    n = con.execute("select count(*) from main.activities").fetchone()[0]
    weeks = con.execute("select count(*) from main.weekly_training_summary").fetchone()[0]
    con.close()
    assert n == len(fake.activities()) and weeks > 20
    token = json.loads(settings.token_file.read_text())
    output = done.stdout + done.stderr + settings.log_file.read_text()
    for secret in (initial_refresh, token["refresh_token"], token["access_token"], fake.client_secret):
        assert secret not in output
    # the build ran TRAINSMART_DBT when set (in the suite: its warm dbt, tests/warm_python.py)
    dbt = os.environ.get("TRAINSMART_DBT") or beside_interpreter("dbt")
    assert f"Running dbt command: `{dbt} build " in settings.log_file.read_text()

    status = trainsmart("status")
    assert status.returncode == 0
    assert f"Activities from api: {n}" in status.stdout


def test_stopped_early_exits_75_and_says_what_is_left(make_fake, small_athlete):
    make_fake(small_athlete, read_limit_15min=30, overall_limit_15min=60)
    done = trainsmart("sync")
    assert done.returncode == 75, done.stderr[-3000:]
    assert re.search(r"\d+ heart-rate streams .*left for the next run", last_line(done.stderr))


def test_auth_stores_the_token_with_its_scope(make_fake, small_athlete, monkeypatch):
    fake = make_fake(small_athlete)
    monkeypatch.delenv("STRAVA_REFRESH_TOKEN")
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "auth", "--no-browser", "--port", str(port)],
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith(os.environ["STRAVA_BASE_URL"] + "/oauth/authorize?")
    # the athlete clicks "Authorize": Strava redirects the browser to our local server
    for _ in range(50):
        try:
            page = requests.get(url, timeout=10)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    assert page.status_code == 200 and "authorized" in page.text
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    settings = load_settings()
    token = json.loads(settings.token_file.read_text())
    assert token["refresh_token"] == fake.current_refresh_token
    assert "activity:read_all" in token["scope"]
    assert oct(settings.token_file.stat().st_mode & 0o777) == "0o600"


def test_strava_assets_materialize_with_dagster(make_fake, small_athlete):
    from pipelines.defs.strava.assets import strava_sync
    from pipelines.defs.strava.resources import StravaResource

    fake = make_fake(small_athlete)
    result = dg.materialize(
        [strava_sync],
        resources={"strava": StravaResource(client_id=dg.EnvVar("STRAVA_CLIENT_ID"),
                                            client_secret=dg.EnvVar("STRAVA_CLIENT_SECRET"))},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    mats = {m.asset_key.to_user_string(): m.metadata for m in result.get_asset_materialization_events()
            and [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]}
    meta = mats["strava/activities"]
    assert meta["complete"].value is True
    assert meta["activities_new"].value == len(fake.activities())
    assert meta["requests"].value == fake.api_request_count()


def test_dagster_loads_the_workspace():
    done = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=os.path.dirname(os.path.dirname(__file__)), capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, DAGSTER_HOME=os.environ.get("TRAINSMART_HOME", "/tmp")))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_the_run_log_goes_on_after_its_file_is_rotated_or_deleted(home):
    """A long-lived process (dagster dev, the daemon) keeps the run logger between runs: once
    the file is rotated away or deleted, the next run's lines go into a new file, not the old one."""
    from pipelines.defs.logs import trainsmart_file_logger

    log_file = load_settings().log_file
    rotated = log_file.with_name(log_file.name + ".1")
    trainsmart_file_logger.logger_fn(None).info("the first run")
    log_file.rename(rotated)  # as logrotate does
    trainsmart_file_logger.logger_fn(None).info("the second run")
    assert "the second run" in log_file.read_text() and "the second run" not in rotated.read_text()
    log_file.unlink()
    trainsmart_file_logger.logger_fn(None).info("the third run")
    lines = log_file.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith("the third run")
