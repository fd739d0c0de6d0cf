"""Sending the weekly report through a real SMTP server on 127.0.0.1 (aiosmtpd), exactly once."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import sqlite3
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from pipelines.sandbox import report_fixture as fixture
from tests.test_report import check_report_message, fixture_snapshots, parse, report_settings  # noqa: F401

WEEK = fixture.REPORT_WEEK
RECIPIENTS = ["runner@example.org", "coach@example.org"]
PASSWORD = "s3cret-Pa55word"


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.received = []  # (mail_from, rcpt_tos, raw bytes, over TLS, authenticated login)

    async def handle_DATA(self, server, session, envelope):
        login = getattr(session.auth_data, "login", None) if session.authenticated else None
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content,
                              tls, login.decode() if isinstance(login, bytes) else login))
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        return [parse(raw) for _, _, raw, _, _ in self.received]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accept_user(expected_user: str, expected_password: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == expected_user.encode() and auth_data.password == expected_password.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticator


@pytest.fixture
def smtp_server():
    """start(**smtp_kwargs) -> (Inbox, port); every server is stopped after the test."""
    controllers = []

    def start(port=None, **kwargs):
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **kwargs)
        controller.start()
        controllers.append(controller)
        return inbox, controller.port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def mail_env(report_settings, monkeypatch):
    """set(port, **overrides) -> Settings with SMTP_* / REPORT_* pointing at the local server."""
    from pipelines.config import load_settings

    def configure(port, **overrides):
        values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
                  "REPORT_FROM": "trainsmart <reports@example.org>", "REPORT_TO": ", ".join(RECIPIENTS)}
        values.update(overrides)
        for key, value in values.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        return load_settings()

    return configure


def ledger_rows(settings):
    con = sqlite3.connect(settings.home / "reports.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("select * from deliveries order by id")]
    finally:
        con.close()


# -- the happy path -------------------------------------------------------------------------------------
def test_send_through_a_real_smtp_server(smtp_server, mail_env):
    from pipelines.report import send_report

    inbox, port = smtp_server()
    settings = mail_env(port)
    outcome = send_report(settings, WEEK, timeout=5)
    assert outcome.status == "sent" and outcome.ok and outcome.exit_code == 0, outcome.message
    assert outcome.message == f"Sent the report for the week of 2026-11-16 to {', '.join(RECIPIENTS)}."

    assert len(inbox.received) == 1
    mail_from, rcpt_tos, raw, _, _ = inbox.received[0]
    assert mail_from == "reports@example.org" and rcpt_tos == RECIPIENTS
    msg = inbox.messages[0]
    assert msg["Message-ID"] == outcome.message_id and msg["To"] == ", ".join(RECIPIENTS)
    text, body, images = check_report_message(msg, settings)
    assert len(images) == 3
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and fixture.XSS_NAME in text

    (row,) = ledger_rows(settings)
    assert row["status"] == "sent" and row["athlete_id"] == fixture.ATHLETE_ID and row["week_start"] == "2026-11-16"
    assert row["recipients"] == ", ".join(RECIPIENTS) and row["message_id"] == outcome.message_id


def test_a_second_send_sends_nothing_unless_forced(smtp_server, mail_env):
    from pipelines.report import send_report

    inbox, port = smtp_server()
    settings = mail_env(port)
    first = send_report(settings, WEEK, timeout=5)
    again = send_report(settings, WEEK + dt.timedelta(days=3), timeout=5)  # any day of the week is that week
    assert first.status == "sent" and again.status == "already_sent" and again.exit_code == 0
    assert again.message.startswith("The report for the week of 2026-11-16 was already sent on ")
    assert ", ".join(RECIPIENTS) in again.message and "\n" not in again.message
    assert len(inbox.received) == 1

    forced = send_report(settings, WEEK, force=True, timeout=5)
    assert forced.status == "sent" and len(inbox.received) == 2
    assert forced.message_id != first.message_id  # a deliberate second mail, not a retry
    assert [r["status"] for r in ledger_rows(settings)] == ["sent", "sent"]
    assert [r["forced"] for r in ledger_rows(settings)] == [0, 1]

    other_week = send_report(settings, fixture.CLEAN_WEEK, timeout=5)
    assert other_week.status == "sent" and len(inbox.received) == 3


def test_run_report_writes_and_sends_once(smtp_server, mail_env, tmp_path):
    from pipelines.report import run_report

    inbox, port = smtp_server()
    settings = mail_env(port)
    run = run_report(settings, out_dir=tmp_path / "out", send=True, timeout=5)
    assert run.week_start == WEEK and run.delivery.status == "sent" and run.exit_code == 0
    assert run.lines()[-1] == run.delivery.message and (tmp_path / "out" / "2026-11-16.eml").exists()
    second = run_report(settings, out_dir=tmp_path / "out", send=True, timeout=5)
    assert second.delivery.status == "already_sent" and second.exit_code == 0 and len(inbox.received) == 1


# -- failures are recorded, the week stays unsent, the next run sends it ---------------------------------
def test_server_down_then_up(smtp_server, mail_env):
    from pipelines.report import send_report
    from pipelines.report.delivery import Ledger, ledger_path

    port = free_port()  # nothing listens here yet
    settings = mail_env(port)
    down = send_report(settings, WEEK, timeout=5)
    assert down.status == "failed" and not down.ok and down.exit_code == 1
    assert "\n" not in down.message and "connection refused" in down.message
    assert down.message.startswith("The report for the week of 2026-11-16 was not sent:")
    with Ledger(ledger_path(settings)) as ledger:
        assert ledger.last_sent(fixture.ATHLETE_ID, WEEK) is None
    (failed,) = ledger_rows(settings)
    assert failed["status"] == "failed" and "connection refused" in failed["error"]

    inbox, _ = smtp_server(port=port)  # the server is back
    up = send_report(settings, WEEK, timeout=5)
    assert up.status == "sent" and len(inbox.received) == 1
    assert up.message_id == down.message_id  # the retry is the same mail
    assert [r["status"] for r in ledger_rows(settings)] == ["failed", "sent"]
    assert send_report(settings, WEEK, timeout=5).status == "already_sent"


def test_auth_refused_then_accepted(smtp_server, mail_env):
    from pipelines.report import send_report

    inbox, port = smtp_server(authenticator=accept_user("runner", PASSWORD), auth_require_tls=False)
    settings = mail_env(port, SMTP_USERNAME="runner", SMTP_PASSWORD="wrong-" + PASSWORD)
    refused = send_report(settings, WEEK, timeout=5)
    assert refused.status == "failed" and "refused the login for 'runner'" in refused.message
    assert "SMTP_PASSWORD" in refused.message and "\n" not in refused.message
    assert PASSWORD not in refused.message and not inbox.received
    assert PASSWORD.encode() not in (settings.home / "reports.sqlite").read_bytes()

    settings = mail_env(port, SMTP_USERNAME="runner", SMTP_PASSWORD=PASSWORD)
    accepted = send_report(settings, WEEK, timeout=5)
    assert accepted.status == "sent" and len(inbox.received) == 1 and inbox.received[0][4] == "runner"
    assert [r["status"] for r in ledger_rows(settings)] == ["failed", "sent"]
    assert PASSWORD.encode() not in (settings.home / "reports.sqlite").read_bytes()


def test_no_login_without_a_username(smtp_server, mail_env):
    from pipelines.report import send_report

    inbox, port = smtp_server(authenticator=accept_user("runner", PASSWORD), auth_require_tls=False)
    settings = mail_env(port, SMTP_USERNAME=None, SMTP_PASSWORD=None)
    assert send_report(settings, WEEK, timeout=5).status == "sent"
    assert inbox.received[0][4] is None


def test_missing_settings_are_one_sentence(mail_env):
    from pipelines.report import send_report

    settings = mail_env(25, SMTP_HOST=None, REPORT_TO=None)
    outcome = send_report(settings, WEEK)
    assert outcome.status == "error" and outcome.exit_code == 2
    assert outcome.message.startswith("SMTP_HOST and REPORT_TO are not set") and "\n" not in outcome.message
    assert not (settings.home / "reports.sqlite").exists()


def test_starttls_offered_but_missing(smtp_server, mail_env):
    from pipelines.report import send_report

    _, port = smtp_server()
    outcome = send_report(mail_env(port, SMTP_SECURITY="starttls"), WEEK, timeout=5)
    assert outcome.status == "failed" and "does not offer STARTTLS" in outcome.message


# -- TLS ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(d / "cert.pem", d / "key.pem")
    client = ssl.create_default_context(cafile=str(d / "cert.pem"))
    return server, client


def test_starttls_is_negotiated(smtp_server, mail_env, certificate):
    from pipelines.report import send_report

    server_ctx, client_ctx = certificate
    inbox, port = smtp_server(tls_context=server_ctx, require_starttls=True,
                              authenticator=accept_user("runner", PASSWORD))  # AUTH only after TLS
    settings = mail_env(port, SMTP_SECURITY="starttls", SMTP_USERNAME="runner", SMTP_PASSWORD=PASSWORD)
    outcome = send_report(settings, WEEK, timeout=5, tls_context=client_ctx)
    assert outcome.status == "sent", outcome.message
    assert inbox.received[0][3] is True and inbox.received[0][4] == "runner"

    # the default context does not trust a self-signed certificate: a plain sentence, not a traceback
    untrusted = send_report(settings, fixture.CLEAN_WEEK, timeout=5)
    assert untrusted.status == "failed" and "could not be verified" in untrusted.message


def test_implicit_tls(smtp_server, mail_env, certificate):
    from pipelines.report import send_report

    server_ctx, client_ctx = certificate
    inbox, port = smtp_server(ssl_context=server_ctx)
    outcome = send_report(mail_env(port, SMTP_SECURITY="ssl"), WEEK, timeout=5, tls_context=client_ctx)
    assert outcome.status == "sent", outcome.message
    assert inbox.received[0][3] is True


# -- failure notice ---------------------------------------------------------------------------------------
def test_failure_notice_is_plain_text_and_not_in_the_ledger(smtp_server, mail_env):
    from pipelines.report import send_failure_notice

    inbox, port = smtp_server()
    settings = mail_env(port)
    outcome = send_failure_notice(settings, "weekly report failed", "The sync could not reach Strava.", timeout=5)
    assert outcome.status == "sent"
    msg = inbox.messages[0]
    assert msg["Subject"] == "trainsmart: weekly report failed" and msg.get_content_type() == "text/plain"
    assert "could not reach Strava" in msg.get_content()
    assert not (settings.home / "reports.sqlite").exists()

    down = send_failure_notice(mail_env(free_port()), "x", "y", timeout=5)
    assert down.status == "failed" and "connection refused" in down.message


def test_a_silent_server_times_out_with_one_sentence(mail_env):
    from pipelines.report import send_report

    with socket.socket() as listener:  # accepts connections (backlog) but never says hello
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        settings = mail_env(listener.getsockname()[1])
        outcome = send_report(settings, WEEK, timeout=1)
    assert outcome.status == "failed" and "did not answer in time" in outcome.message
    assert [r["status"] for r in ledger_rows(settings)] == ["failed"]


def test_a_run_that_died_mid_send_is_retried_as_the_same_mail(smtp_server, mail_env):
    from pipelines.report import send_report
    from pipelines.report.delivery import Ledger, ledger_path

    inbox, port = smtp_server()
    settings = mail_env(port)
    with Ledger(ledger_path(settings)) as ledger:  # what a killed process leaves behind
        ledger.start(fixture.ATHLETE_ID, WEEK, RECIPIENTS, "<interrupted@example.org>", False)
    outcome = send_report(settings, WEEK, timeout=5)
    assert outcome.status == "sent" and inbox.messages[0]["Message-ID"] == "<interrupted@example.org>"
    assert [r["status"] for r in ledger_rows(settings)] == ["sending", "sent"]


def test_scheduled_asset_sends_a_week_still_owed_after_failed_retries(mail_env, smtp_server):
    """A week whose sending failed through every retry is sent by the next scheduled run."""
    import dagster as dg

    from pipelines.config import load_settings
    from pipelines.defs.report.assets import weekly_report

    down_port = free_port()  # nothing listens here
    mail_env(down_port)
    no_wait = {"ops": {"report__weekly_report": {"config": {"retry_delay_seconds": 0}}}}
    failed = dg.materialize([weekly_report], partition_key=fixture.CLEAN_WEEK.isoformat(), run_config=no_wait,
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not failed.success
    assert [r["status"] for r in ledger_rows(load_settings())] == ["failed"] * 4  # first try + 3 retries
    inbox, port = smtp_server()
    settings = mail_env(port)
    done = dg.materialize([weekly_report], partition_key=WEEK.isoformat(), instance=dg.DagsterInstance.ephemeral())
    assert done.success
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert subjects == [f"trainsmart: your week of {fixture.CLEAN_WEEK}", f"trainsmart: your week of {WEEK}"]
    assert {r["week_start"] for r in ledger_rows(settings) if r["status"] == "sent"} == {
        fixture.CLEAN_WEEK.isoformat(), WEEK.isoformat()}
