"""Sending the weekly report by SMTP, exactly once per athlete and week.

The ledger is a small SQLite file, `TRAINSMART_HOME/reports.sqlite` (not the DuckDB file:
sending must not wait for, or block, a sync holding the writer lock). Every attempt is a
row of the `deliveries` table:

    athlete_id, week_start, recipients, message_id, status, error, forced, at

`status` is `sending` (written just before the SMTP transaction), then `sent` or `failed`.
A week counts as sent when it has a `sent` row. So:

* a second `send_report` for the same athlete and week sends nothing and says when and to
  whom it went (unless `force=True`);
* a failed attempt (server down, login refused, ...) is recorded with its error, returns
  one plain sentence, and leaves the week unsent: the next run tries again;
* a run that died mid-send leaves a `sending` row; the next run retries with the same
  Message-ID, so a mail client that did get the first copy shows it once.

Concurrent senders (the Monday schedule and a manual `trainsmart report --send`) are
serialised by an flock on `reports.sqlite.lock` held from the ledger check to the record.
SMTP_PASSWORD is never logged nor put in any message.

The keys of `athlete_id`: the athlete's id (METRICS.md section 1; in a club, the roster
athlete's `strava_athlete_id`), 0 when the warehouse has no athlete yet, and -1
(`DIGEST_KEY`) for the coach digest of a club (pipelines/report/digest.py): one email a
week to the roster's `[coach] report_to`, exactly once like any athlete's report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import smtplib
import sqlite3
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from pathlib import Path
from typing import Iterator

from pipelines.config import Settings
from pipelines.locks import LockTimeout, file_lock
from pipelines.report.data import ReportError, _tables, load_week, open_snapshot, resolve_athlete
from pipelines.report.render import RenderedReport, build_report, new_message_id
from pipelines.report.weeks import week_of

log = logging.getLogger(__name__)

LEDGER_NAME = "reports.sqlite"
DEFAULT_TIMEOUT = 30.0
UNKNOWN_ATHLETE = 0  # ledger key when the warehouse has no athlete yet
DIGEST_KEY = -1  # ledger key of the coach digest (a club's one email a week to its coach)

LEDGER_DDL = """
create table if not exists deliveries (
    id          integer primary key autoincrement,
    athlete_id  integer not null,
    week_start  text    not null,             -- YYYY-MM-DD, a Monday
    recipients  text    not null,             -- comma-separated
    message_id  text,
    status      text    not null check (status in ('sending', 'sent', 'failed')),
    error       text,                         -- one sentence, for failed attempts
    forced      integer not null default 0,   -- 1 when sent again on purpose (--force)
    at          text    not null              -- ISO 8601 with UTC offset
);
create index if not exists deliveries_by_week on deliveries (athlete_id, week_start, status);
"""


@dataclass
class DeliveryOutcome:
    """What happened; `message` is one plain sentence for the user."""

    status: str                      # sent | already_sent | failed | error
    message: str
    week_start: dt.date | None = None
    athlete_id: int | None = None
    recipients: tuple[str, ...] = ()
    message_id: str | None = None
    at: dt.datetime | None = None
    refused: dict = field(default_factory=dict)  # recipients the server refused (others got it)
    exit_code_override: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("sent", "already_sent")

    @property
    def exit_code(self) -> int:
        """0 sent or already sent; 2 bad configuration; 1 anything else (CONTRACT.md)."""
        if self.exit_code_override is not None:
            return self.exit_code_override
        return 0 if self.ok else 1

    def __str__(self) -> str:
        return self.message


# -- ledger ---------------------------------------------------------------------------------------
def ledger_path(settings: Settings) -> Path:
    return settings.home / LEDGER_NAME


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).astimezone().replace(microsecond=0)


class Ledger:
    """The deliveries table of TRAINSMART_HOME/reports.sqlite."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        self.con.row_factory = sqlite3.Row
        self.con.executescript(LEDGER_DDL)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def last_sent(self, athlete_id: int, week_start: dt.date) -> sqlite3.Row | None:
        return self.con.execute(
            "select * from deliveries where athlete_id = ? and week_start = ? and status = 'sent' "
            "order by id desc limit 1", (athlete_id, week_start.isoformat())).fetchone()

    def retry_message_id(self, athlete_id: int, week_start: dt.date) -> str | None:
        """The Message-ID of an earlier unsent attempt (reused so a retry is the same mail)."""
        row = self.con.execute(
            "select message_id from deliveries where athlete_id = ? and week_start = ? and status != 'sent' "
            "and message_id is not null order by id desc limit 1", (athlete_id, week_start.isoformat())).fetchone()
        return row["message_id"] if row else None

    def unsent_weeks(self, since: dt.date) -> list[tuple[int, dt.date]]:
        """(athlete, week) pairs tried since `since` that never reached a 'sent' row: still owed."""
        rows = self.con.execute(
            "select athlete_id, week_start from deliveries where week_start >= ? group by athlete_id, week_start "
            "having sum(case when status = 'sent' then 1 else 0 end) = 0 order by week_start",
            (since.isoformat(),)).fetchall()
        return [(int(r["athlete_id"]), dt.date.fromisoformat(r["week_start"])) for r in rows]

    def start(self, athlete_id: int, week_start: dt.date, recipients, message_id: str, forced: bool) -> int:
        cur = self.con.execute(
            "insert into deliveries (athlete_id, week_start, recipients, message_id, status, forced, at) "
            "values (?, ?, ?, ?, 'sending', ?, ?)",
            (athlete_id, week_start.isoformat(), ", ".join(recipients), message_id, int(forced), _now().isoformat()))
        return int(cur.lastrowid)

    def finish(self, row_id: int, status: str, error: str | None = None) -> None:
        self.con.execute("update deliveries set status = ?, error = ?, at = ? where id = ?",
                         (status, error, _now().isoformat(), row_id))

    def history(self, athlete_id: int | None = None, limit: int = 20) -> list[dict]:
        sql = "select * from deliveries"
        args: tuple = ()
        if athlete_id is not None:
            sql += " where athlete_id = ?"
            args = (athlete_id,)
        return [dict(r) for r in self.con.execute(sql + " order by id desc limit ?", (*args, limit))]


def delivery_history(settings: Settings, athlete_id: int | None = None, limit: int = 20) -> list[dict]:
    """The last ledger rows, newest first (for `trainsmart status`); [] without a ledger."""
    if not ledger_path(settings).exists():
        return []
    with Ledger(ledger_path(settings)) as ledger:
        return ledger.history(athlete_id, limit)


def unsent_weeks(settings: Settings, since: dt.date) -> list[tuple[int, dt.date]]:
    """Weeks whose sending failed and never succeeded since `since` (the schedule sends them again)."""
    if not ledger_path(settings).exists():
        return []
    with Ledger(ledger_path(settings)) as ledger:
        return ledger.unsent_weeks(since)


@contextlib.contextmanager
def _send_lock(settings: Settings, wait_seconds: float) -> Iterator[None]:
    try:
        with file_lock(ledger_path(settings).with_name(LEDGER_NAME + ".lock"), wait_seconds):
            yield
    except LockTimeout:
        raise ReportError("Another trainsmart run is sending a report right now; try again in a minute.") from None


# -- SMTP -------------------------------------------------------------------------------------------
def missing_settings(settings: Settings) -> list[str]:
    missing = []
    if not settings.smtp_host:
        missing.append("SMTP_HOST")
    if not settings.report_from:
        missing.append("REPORT_FROM")
    if not settings.report_to:
        missing.append("REPORT_TO")
    return missing


def _config_error(missing: list[str]) -> str:
    names = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
    verb = "is" if len(missing) == 1 else "are"
    return (f"{names} {verb} not set, so the report cannot be emailed; set {'it' if len(missing) == 1 else 'them'} "
            "in .env (see .env.example), or write the report to files without --send.")


def _redact(text: str, settings: Settings) -> str:
    if settings.smtp_password and settings.smtp_password in text:
        text = text.replace(settings.smtp_password, "***")
    return text


def _server_text(resp) -> str:
    if isinstance(resp, bytes):
        resp = resp.decode("utf-8", "replace")
    return " ".join(str(resp).split())[:200]


def describe_smtp_error(exc: BaseException, settings: Settings) -> str:
    """One plain sentence (no trailing period) about why the mail server did not take the message."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        text = (f"the mail server {where} refused the login for {settings.smtp_username!r} "
                f"({exc.smtp_code} {_server_text(exc.smtp_error)}); check SMTP_USERNAME and SMTP_PASSWORD")
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(exc).upper():
            text = (f"the mail server {where} does not offer STARTTLS; use SMTP_SECURITY=ssl (usually port 465) "
                    "or, only for a server on your own machine, SMTP_SECURITY=none")
        elif "AUTH" in str(exc).upper():
            text = (f"the mail server {where} does not offer a login on this connection; check SMTP_SECURITY "
                    "(most servers only allow a login after starttls or over ssl) or unset SMTP_USERNAME")
        else:
            text = f"the mail server {where} does not support what was asked ({exc})"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{addr} ({code} {_server_text(msg)})" for addr, (code, msg) in exc.recipients.items())
        text = f"the mail server {where} refused every recipient: {refused}; check REPORT_TO"
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        text = (f"the mail server {where} refused the sender {exc.sender!r} ({exc.smtp_code} "
                f"{_server_text(exc.smtp_error)}); check REPORT_FROM (it usually must be your mailbox)")
    elif isinstance(exc, (socket.timeout, TimeoutError)) or (
            isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc)):
        text = f"the mail server {where} did not answer in time; check SMTP_HOST, SMTP_PORT and SMTP_SECURITY"
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        text = f"the mail server {where} closed the connection unexpectedly ({exc or 'no reason given'})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"the mail server {where} refused the message ({exc.smtp_code} {_server_text(exc.smtp_error)})"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        text = (f"the certificate of the mail server {where} could not be verified ({exc.verify_message}); "
                "check SMTP_HOST")
    elif isinstance(exc, ssl.SSLError):
        hint = "; with SMTP_SECURITY=ssl use the implicit-TLS port (usually 465), with starttls usually 587" \
            if settings.smtp_security == "ssl" else ""
        text = f"the TLS handshake with the mail server {where} failed ({exc.reason or exc}){hint}"
    elif isinstance(exc, ConnectionRefusedError):
        text = f"could not connect to the mail server {where} (connection refused); check SMTP_HOST and SMTP_PORT"
    elif isinstance(exc, socket.gaierror):
        text = f"the mail server name {settings.smtp_host!r} could not be resolved; check SMTP_HOST"
    elif isinstance(exc, OSError):
        text = f"could not reach the mail server {where} ({exc.strerror or exc})"
    elif isinstance(exc, smtplib.SMTPException):
        text = f"the mail server {where} failed ({exc})"
    else:
        text = f"sending through {where} failed ({type(exc).__name__}: {exc})"
    return _redact(text, settings)


def _ehlo_name() -> str:
    name = socket.gethostname() or "localhost"
    return name if "." in name else "localhost.localdomain"


def smtp_send(settings: Settings, msg: EmailMessage, recipients: list[str], *, timeout: float = DEFAULT_TIMEOUT,
              tls_context: ssl.SSLContext | None = None) -> dict:
    """Deliver `msg` to `recipients` through SMTP_HOST. Returns the recipients the server refused
    (the others got it); raises smtplib / OSError exceptions on failure."""
    host, port, security = settings.smtp_host, settings.smtp_port, settings.smtp_security
    context = tls_context or ssl.create_default_context()
    envelope_from = parseaddr(settings.report_from or "")[1] or settings.report_from
    if security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, local_hostname=_ehlo_name(), timeout=timeout,
                                                context=context)
    else:
        server = smtplib.SMTP(host, port, local_hostname=_ehlo_name(), timeout=timeout)
    try:
        server.ehlo()
        if security == "starttls":
            server.starttls(context=context)
            server.ehlo()
        if settings.smtp_username:
            server.login(settings.smtp_username, settings.smtp_password or "")
        refused = server.send_message(msg, from_addr=envelope_from, to_addrs=recipients)
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()
    log.info("mail %s accepted by %s:%s for %s", msg["Message-ID"], host, port, ", ".join(recipients))
    return dict(refused or {})


def _recipients(settings: Settings) -> list[str]:
    return [addr for _, addr in getaddresses(list(settings.report_to)) if addr]


# -- the report, once -----------------------------------------------------------------------------
def _resolve_athlete_id(settings: Settings, athlete_id: int | None) -> int | None:
    if athlete_id is not None:
        return int(athlete_id)
    con = open_snapshot(settings)
    try:
        return resolve_athlete(con, _tables(con), None)
    finally:
        con.close()


def _fmt_at(value: str) -> str:
    try:
        return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z").strip()
    except ValueError:
        return value


def send_report(settings: Settings, week_start: dt.date, force: bool = False, athlete_id: int | None = None, *,
                timeout: float = DEFAULT_TIMEOUT, tls_context: ssl.SSLContext | None = None,
                rendered: RenderedReport | None = None) -> DeliveryOutcome:
    """Email the report of the week holding `week_start` once per athlete and week.

    Never raises for the expected problems (missing settings, no data, mail server down or
    refusing): the outcome says what happened in one sentence; `outcome.ok` / `exit_code`.
    `rendered` lets a caller that already rendered the week (to write files) reuse it.
    """
    monday = week_of(week_start)
    missing = missing_settings(settings)
    if missing:
        return DeliveryOutcome("error", _config_error(missing), monday, athlete_id, exit_code_override=2)
    recipients = _recipients(settings)
    what = rendered.kind if rendered is not None else "report"  # "report", or "coach digest"
    try:
        athlete = _resolve_athlete_id(settings, athlete_id if rendered is None else rendered.athlete_id)
        key = UNKNOWN_ATHLETE if athlete is None else athlete
        with _send_lock(settings, wait_seconds=2 * timeout + 30), Ledger(ledger_path(settings)) as ledger:
            sent = ledger.last_sent(key, monday)
            if sent is not None and not force:
                return DeliveryOutcome(
                    "already_sent",
                    f"The {what} for the week of {monday} was already sent on {_fmt_at(sent['at'])} to "
                    f"{sent['recipients']}; nothing sent (use --force to send it again).",
                    monday, athlete, tuple(sent["recipients"].split(", ")), sent["message_id"],
                    dt.datetime.fromisoformat(sent["at"]))
            if rendered is None or rendered.week_start != monday:
                rendered = build_report(load_week(settings, monday, athlete),
                                        default_from=settings.report_from, default_to=settings.report_to)
            message_id = (None if force else ledger.retry_message_id(key, monday)) or new_message_id(settings.report_from)
            msg = rendered.message(settings.report_from, list(settings.report_to), message_id=message_id)
            row = ledger.start(key, monday, recipients, message_id, force)
            try:
                refused = smtp_send(settings, msg, recipients, timeout=timeout, tls_context=tls_context)
            except Exception as exc:  # every failure is recorded and reported in one sentence
                reason = describe_smtp_error(exc, settings)
                ledger.finish(row, "failed", reason)
                log.info("%s for %s not sent: %s", what, monday, reason)
                return DeliveryOutcome(
                    "failed", f"The {what} for the week of {monday} was not sent: {reason}; "
                              "the next run will try again.",
                    monday, athlete, tuple(recipients), message_id, _now())
            note = None
            if refused:
                note = "refused by the server: " + ", ".join(
                    f"{addr} ({code} {_server_text(text)})" for addr, (code, text) in refused.items())
            ledger.finish(row, "sent", _redact(note, settings) if note else None)
            delivered = [r for r in recipients if r not in refused]
            message = f"Sent the {what} for the week of {monday} to {', '.join(delivered)}"
            message += f" ({note})." if note else "."
            return DeliveryOutcome("sent", message, monday, athlete, tuple(delivered), message_id, _now(), refused)
    except ReportError as e:
        return DeliveryOutcome("error", str(e), monday, athlete_id)


def send_failure_notice(settings: Settings, subject: str, text: str, *, timeout: float = DEFAULT_TIMEOUT,
                        tls_context: ssl.SSLContext | None = None) -> DeliveryOutcome:
    """A plain-text mail to REPORT_TO about a failed scheduled run (no ledger, no retry)."""
    missing = missing_settings(settings)
    if missing:
        return DeliveryOutcome("error", _config_error(missing), exit_code_override=2)
    recipients = _recipients(settings)
    msg = EmailMessage()
    msg["Subject"] = subject if subject.lower().startswith("trainsmart") else f"trainsmart: {subject}"
    msg["From"] = settings.report_from
    msg["To"] = ", ".join(settings.report_to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = new_message_id(settings.report_from)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(_redact(text, settings), charset="utf-8")
    try:
        refused = smtp_send(settings, msg, recipients, timeout=timeout, tls_context=tls_context)
    except Exception as exc:
        reason = describe_smtp_error(exc, settings)
        return DeliveryOutcome("failed", f"The failure notice was not sent: {reason}.", recipients=tuple(recipients))
    delivered = [r for r in recipients if r not in refused]
    return DeliveryOutcome("sent", f"Sent a failure notice to {', '.join(delivered)}.", recipients=tuple(delivered),
                           message_id=msg["Message-ID"], at=_now(), refused=refused)
