"""Every error the CLI turns into a sentence, end to end through the real `trainsmart` process.

CONTRACT.md: on failure the last stderr line is one plain sentence a user can act on, with
no class name, no module path and no traceback, whether the error happened inside a
Dagster run (sync, imports, build) or not (report, missing settings). And a failed run
leaves no child process behind holding the caller's pipes.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import load_settings
from pipelines.errors import user_error_names
from tests.cli import trainsmart as run_trainsmart
from tests.test_report import fixture_snapshots, report_settings  # noqa: F401 - fixtures
from tests.test_report_delivery import PASSWORD, accept_user, mail_env, smtp_server  # noqa: F401 - fixtures

MODULE_PATH = re.compile(r"\b[a-z_]\w*\.[a-z_][\w.]*\.[A-Z]\w*")  # pipelines.strava.errors.StravaError
CLASS_PREFIX = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Busy|Failure|Interrupt|Timeout)\b")
SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z]")


trainsmart = functools.partial(run_trainsmart, timeout=300)


def assert_one_plain_sentence(done: subprocess.CompletedProcess, *must_contain: str) -> str:
    assert done.returncode not in (0, 75), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "Stack Trace" not in done.stderr, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert not MODULE_PATH.search(last), last
    assert not CLASS_PREFIX.search(last), last
    assert not any(name in last for name in user_error_names()), last
    assert not SENTENCE_BREAK.search(last), f"more than one sentence: {last}"
    assert last[-1] in ".)", last
    for text in must_contain:
        assert text in last, last
    return last


def test_inactive_app(make_fake, small_athlete):
    make_fake(small_athlete).set_inactive(True)
    assert_one_plain_sentence(trainsmart("sync"), "paid Strava subscription")


def test_revoked_token(make_fake, small_athlete, monkeypatch):
    make_fake(small_athlete)
    monkeypatch.setenv("STRAVA_REFRESH_TOKEN", "revoked-by-the-athlete")
    assert_one_plain_sentence(trainsmart("sync"), "trainsmart auth")


def test_missing_credentials(home):
    assert_one_plain_sentence(trainsmart("sync"), "STRAVA_CLIENT_ID")


def test_missing_scope(make_fake, small_athlete):
    make_fake(small_athlete, scope="read")
    assert_one_plain_sentence(trainsmart("sync"), "activity:read_all")


def test_unreachable_host(home, monkeypatch):
    monkeypatch.setenv("STRAVA_BASE_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    for key, value in (("STRAVA_CLIENT_ID", "1"), ("STRAVA_CLIENT_SECRET", "x"), ("STRAVA_REFRESH_TOKEN", "y")):
        monkeypatch.setenv(key, value)
    assert_one_plain_sentence(trainsmart("sync"), "Cannot reach Strava")


def test_damaged_token_file(make_fake, small_athlete):
    make_fake(small_athlete)
    token_file = load_settings().token_file
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("{not json")
    assert_one_plain_sentence(trainsmart("sync"), "damaged")


def test_busy_database(make_fake, small_athlete):
    make_fake(small_athlete)
    db = load_settings().db_path
    db.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(120)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        assert_one_plain_sentence(trainsmart("sync"), "open in another program")
    finally:
        holder.kill()
        holder.wait()


def test_bad_smtp_login(report_settings, smtp_server, mail_env):  # noqa: F811
    _, port = smtp_server(authenticator=accept_user("runner", PASSWORD), auth_require_tls=False)
    mail_env(port, SMTP_USERNAME="runner", SMTP_PASSWORD="wrong-" + PASSWORD)
    last = assert_one_plain_sentence(trainsmart("report", "--send", "--out", str(report_settings.home / "out")),
                                     "SMTP_PASSWORD")
    assert PASSWORD not in last


def test_bad_export_file(home, tmp_path):
    bogus = tmp_path / "export_12345.zip"
    bogus.write_text("this is not a zip file\n")
    assert_one_plain_sentence(trainsmart("import-export", str(bogus)), bogus.name)


def test_unexpected_error_in_a_run_is_one_line_and_leaves_no_process(home, tmp_path, monkeypatch):
    """An OSError inside the build step: a plain line, the pipes close when the CLI exits, no
    compute-log capture (whose `tail -F` children used to outlive a failed run)."""
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("TRAINSMART_DB", str(blocker / "training.duckdb"))
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "build"], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # communicate() returns only when every holder of the pipes has closed them
    _, stderr = proc.communicate(timeout=300)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)
    assert_one_plain_sentence(done, "Unexpected error", str(blocker))
    assert not _processes_mentioning(str(home)), "a child of the run outlived it"
    compute_logs = list((home / "dagster").rglob("compute_logs"))
    assert not compute_logs, compute_logs


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{proc.name}: {cmdline}")
    return found


@pytest.mark.parametrize("value", ["not-a-date"])
def test_bad_configuration_value(home, monkeypatch, value):
    monkeypatch.setenv("TRAINSMART_AS_OF", value)
    assert_one_plain_sentence(trainsmart("build"), "TRAINSMART_AS_OF")


def test_garmin_rejected_key(make_garmin, small_watch, monkeypatch):
    make_garmin(small_watch)
    monkeypatch.setenv("GARMIN_PERSONAL_API_KEY", "an-expired-or-replaced-key")
    assert_one_plain_sentence(trainsmart("sync"), "personalApiToken", "expire")


def test_garmin_revoked_key_after_a_good_night(make_garmin, small_watch):
    from pipelines.garmin.sync import run_garmin_sync

    fake = make_garmin(small_watch)
    assert run_garmin_sync(load_settings()).complete
    fake.revoke_key()  # the cached token stops working, and the key with it
    assert_one_plain_sentence(trainsmart("sync"), "Garmin", "new key")


def test_garmin_unreachable_host(home, monkeypatch):
    monkeypatch.setenv("GARMIN_PERSONAL_API_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("GARMIN_PERSONAL_API_KEY", "some-key")
    assert_one_plain_sentence(trainsmart("sync"), "Cannot reach Garmin")
