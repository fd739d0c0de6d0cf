"""Weekly emails in a club: each athlete's own report to their own address and the coach digest,
each exactly once, through a real SMTP server (aiosmtpd) over a real dbt-built club warehouse.

The club (one `dbt build` for the whole module), week of Monday 2026-11-16, as-of Sunday 2026-11-22:

| key  | Strava id | data (pipelines.sandbox.sample_athlete)                          | report_to        |
|------|-----------|------------------------------------------------------------------|------------------|
| anna | 9_300_001 | in the middle of the sample's designed overreaching block         | anna@            |
| ben  | 9_300_002 | the sample's designed easy week (no flag fires)                   | ben@, ben.2@     |
| cara | 9_300_003 | stopped four weeks before: no data this week                      | cara@            |
| dan  | 9_300_004 | an ordinary half year                                             | none             |
| eve  | none      | in the roster, not connected to Strava yet                        | eve@             |

and `[coach] report_to = ["coach@example.org"]`. Each athlete's samples land through
pipelines.landing (as tests/test_club_marts.py does), the roster's profiles are written,
dbt builds the marts once, the snapshot is published. Every test gets its own
TRAINSMART_HOME, so its own delivery ledger, over that one warehouse. The numbers the tests
expect (running km, the 4-week average, load, form) are computed here in plain Python from
the rows of the `activities` mart, not by the digest's code.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from pipelines.config import load_settings
from pipelines.sandbox import report_fixture as fixture
from pipelines.sandbox.sample_athlete import generate_sample_athlete
from pipelines.warehouse import publish_snapshot
from tests.cli import trainsmart
from tests.dbt_build import dbt_build, query_rows
from tests.test_club_marts import Athlete as Landed, land
from tests.test_report import add_wellness, daily_wellness_rows, parse, parts_of, wellness_inputs
from tests.test_report_delivery import Inbox, free_port

AS_OF = dt.date(2026, 11, 22)
WEEK = dt.date(2026, 11, 16)
COACH = ["coach@example.org"]


@dataclass(frozen=True)
class Member:
    key: str
    name: str
    athlete_id: int | None
    report_to: tuple[str, ...]
    sample: tuple[dt.date, int, float] | None  # (end date, seed, years) of the generated athlete


MEMBERS = [
    Member("anna", "Anna Keller", 9_300_001, ("anna@example.org",), (dt.date(2027, 2, 7), 11, 0.5)),
    Member("ben", "Ben Ortiz", 9_300_002, ("ben@example.org", "ben.2@example.org"), (dt.date(2027, 3, 14), 23, 1.0)),
    Member("cara", "Cara Lind", 9_300_003, ("cara@example.org",), (dt.date(2026, 10, 25), 37, 0.5)),
    Member("dan", "Dan Weber", 9_300_004, (), (AS_OF, 5, 0.5)),
    Member("eve", "Eve Rossi", None, ("eve@example.org",), None),
]
BY_KEY = {m.key: m for m in MEMBERS}
EMAILED = [m for m in MEMBERS if m.athlete_id and m.report_to]


def write_roster(path: Path) -> None:
    lines = ["[coach]", f"report_to = {list(COACH)!r}".replace("'", '"'), ""]
    for m in MEMBERS:
        lines += ["[[athlete]]", f'key = "{m.key}"', f'name = "{m.name}"', 'timezone = "Europe/Zurich"']
        if m.report_to:
            lines.append(f"report_to = {list(m.report_to)!r}".replace("'", '"'))
        if m.athlete_id:
            lines.append(f"strava_athlete_id = {m.athlete_id}")
        lines.append("")
    path.write_text("\n".join(lines))


def landed(index: int, m: Member) -> Landed:
    end, seed, years = m.sample
    sample = generate_sample_athlete(end, seed=seed, years=years)
    if m.key == "anna":
        assert WEEK.isoformat() in sample.labels["overreaching_weeks"][1:]
    if m.key == "ben":
        assert WEEK.isoformat() in sample.labels["easy_weeks"]
    offset = (index + 1) * 1_000_000_000_000  # activity ids are unique across Strava athletes
    activities = []
    for act in sample.activities:
        act = copy.deepcopy(act)
        act["id"] = int(act["id"]) + offset
        act["athlete"] = dict(act.get("athlete") or {}, id=m.athlete_id)
        activities.append(act)
    streams = {int(aid) + offset: s for aid, s in sample.streams.items()}
    athlete_json = dict(sample.athlete, id=m.athlete_id, firstname=m.name.split()[0], lastname=m.name.split()[1])
    return Landed(m.athlete_id, athlete_json, activities, streams)


@dataclass
class Club:
    db: Path
    roster: Path


@pytest.fixture(scope="module")
def club(tmp_path_factory) -> Club:
    """The club warehouse: landed, one dbt build (models and data tests), snapshot published."""
    tmp = tmp_path_factory.mktemp("club_reports")
    roster = tmp / "athletes.toml"
    write_roster(roster)
    db = tmp / "warehouse" / "training.duckdb"
    db.parent.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for key in ("ATHLETE_HR_MAX", "ATHLETE_HR_REST", "ATHLETE_LTHR", "ATHLETE_SEX"):
            mp.delenv(key, raising=False)
        mp.setenv("TRAINSMART_HOME", str(tmp / "home"))
        mp.setenv("TRAINSMART_ATHLETES", str(roster))
        land(db, [landed(i, m) for i, m in enumerate(MEMBERS) if m.sample], load_settings())
    proc = dbt_build(db, tmp, AS_OF)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    publish_snapshot(db, db.with_name(db.stem + ".snapshot.duckdb"))
    return Club(db, roster)


@pytest.fixture
def mail(home, monkeypatch):
    """start(handler=None) -> Inbox: a loopback SMTP server, with SMTP_* / REPORT_FROM pointing at it."""
    controllers = []

    def start(handler: Inbox | None = None) -> Inbox:
        inbox = handler or Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        for key, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(controller.port)), ("SMTP_SECURITY", "none"),
                           ("REPORT_FROM", "trainsmart <club@example.org>")):
            monkeypatch.setenv(key, value)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def club_env(club, home, monkeypatch):
    """A fresh TRAINSMART_HOME (its own ledger) over the club warehouse and roster; no REPORT_TO at all."""
    monkeypatch.setenv("TRAINSMART_DB", str(club.db))
    monkeypatch.setenv("TRAINSMART_ATHLETES", str(club.roster))
    monkeypatch.setenv("TRAINSMART_AS_OF", AS_OF.isoformat())
    return club


class RefusingInbox(Inbox):
    """Refuses one address at RCPT TO (a mailbox that does not exist)."""

    def __init__(self, refused: str):
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


# -- expectations computed here, from the activities mart's rows ------------------------------------------
def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass
class Expected:
    km: float
    km_avg: float
    load: float
    form: float


def expected(db: Path, athlete_id: int) -> Expected:
    rows = query_rows(db, "select local_date, category, distance_km, trimp from main.activities where athlete_id = ?",
                      athlete_id)
    km: dict[dt.date, float] = {}
    load_by_day: dict[dt.date, float] = {}
    for r in rows:
        if r["category"] == "run":
            km[monday_of(r["local_date"])] = km.get(monday_of(r["local_date"]), 0.0) + (r["distance_km"] or 0.0)
        load_by_day[r["local_date"]] = load_by_day.get(r["local_date"], 0.0) + (r["trimp"] or 0.0)
    first_day = monday_of(min(r["local_date"] for r in rows))
    assert first_day <= WEEK - dt.timedelta(weeks=4), "the 4 weeks before must all exist for a plain mean"
    ctl = atl = 0.0
    day = first_day
    while day <= WEEK + dt.timedelta(days=6):  # Coggan's PMC, METRICS.md section 4
        load = load_by_day.get(day, 0.0)
        ctl += (load - ctl) / 42
        atl += (load - atl) / 7
        day += dt.timedelta(days=1)
    before = [km.get(WEEK - dt.timedelta(weeks=i), 0.0) for i in range(1, 5)]
    week_load = sum(v for d, v in load_by_day.items() if WEEK <= d <= WEEK + dt.timedelta(days=6))
    return Expected(km.get(WEEK, 0.0), sum(before) / 4, week_load, ctl - atl)


def attention_ids(db: Path) -> set[int]:
    return {r["athlete_id"] for r in query_rows(
        db, "select distinct athlete_id from main.training_flags "
            "where week_start = ? and severity in ('warning', 'alert')", WEEK)}


def ledger(home: Path) -> list[dict]:
    con = sqlite3.connect(home / "reports.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("select * from deliveries order by id")]
    finally:
        con.close()


def by_recipients(inbox: Inbox) -> dict[tuple[str, ...], list]:
    out: dict[tuple[str, ...], list] = {}
    for _, rcpt, raw, _, _ in inbox.received:
        out.setdefault(tuple(rcpt), []).append(parse(raw))
    return out


def check_email_rules(msg) -> tuple[str, str]:
    """CONTRACT.md: text + HTML as multipart/alternative, inline CSS, no scripts, no external resources,
    the week's Monday in the subject."""
    assert WEEK.isoformat() in msg["Subject"]
    text, body, images = parts_of(msg)
    text = text.replace("\r\n", "\n")
    assert "<script" not in body.lower() and "<link" not in body.lower() and "<style" not in body.lower()
    assert not re.search(r'(src|href)="(?!cid:)', body)
    assert set(re.findall(r'src="cid:([^"]+)"', body)) == set(images)
    return text, body


# -- the tests ------------------------------------------------------------------------------------------------
def test_the_club_is_what_the_tests_expect(club):
    """Preconditions on the built marts (so a changed generator shows here, not as a puzzling failure)."""
    attention = attention_ids(club.db)
    assert BY_KEY["anna"].athlete_id in attention and BY_KEY["ben"].athlete_id not in attention
    counts = {r["athlete_id"]: r["n"] for r in query_rows(
        club.db, "select athlete_id, count(*) as n from main.activities where week_start = ? group by 1", WEEK)}
    assert BY_KEY["cara"].athlete_id not in counts
    assert all(counts.get(BY_KEY[k].athlete_id) for k in ("anna", "ben", "dan"))


def test_report_send_emails_each_athlete_and_the_coach_exactly_once(club_env, mail, home, tmp_path):
    inbox = mail()
    out = tmp_path / "out"
    first = trainsmart("report", "--send", "--out", str(out))
    assert first.returncode == 0, first.stderr
    lines = first.stderr.strip().splitlines()
    assert any(line.startswith("dan: ") and "no report_to" in line for line in lines), lines
    assert any(line.startswith("eve: skipped, not connected to Strava") for line in lines), lines
    assert lines[-1].startswith(f"Athletes' reports for the week of {WEEK}: 3 sent, 1 without report_to, "
                                "1 not connected to Strava; coach digest sent"), lines[-1]

    for _ in range(2):  # two reruns: nothing more is sent
        again = trainsmart("report", "--send", "--out", str(out))
        assert again.returncode == 0, again.stderr
        assert "3 already sent" in again.stderr.splitlines()[-1] and "coach digest already sent" in again.stderr
    mails = by_recipients(inbox)
    assert sorted(mails) == sorted([m.report_to for m in EMAILED] + [tuple(COACH)])
    assert all(len(v) == 1 for v in mails.values()), {k: len(v) for k, v in mails.items()}
    assert not any("eve@example.org" in r or "dan" in " ".join(r) for r in mails)

    for m in EMAILED:
        (msg,) = mails[m.report_to]
        assert msg["To"] == ", ".join(m.report_to) and msg["X-Trainsmart-Week"] == WEEK.isoformat()
        text, body = check_email_rules(msg)
        assert f"Hi {m.name.split()[0]}," in text
        if m.key == "cara":
            assert "No training logged this week." in text
        else:
            km = expected(club_env.db, m.athlete_id).km
            assert f"{km:.1f} km" in text and f"{km:.1f} km" in body

    rows = ledger(home)
    sent = sorted((r["athlete_id"], r["week_start"], r["recipients"]) for r in rows if r["status"] == "sent")
    assert sent == sorted([(-1, WEEK.isoformat(), ", ".join(COACH))]
                          + [(m.athlete_id, WEEK.isoformat(), ", ".join(m.report_to)) for m in EMAILED])
    assert len(rows) == len(sent)  # reruns added no row
    assert (out / "anna" / f"{WEEK}.html").exists() and (out / "dan" / f"{WEEK}.html").exists()
    assert (out / f"digest-{WEEK}.html").exists() and not (out / "eve").exists()

    (digest,) = mails[tuple(COACH)]
    check_digest(club_env.db, digest)


FLAG_WORDS = {"overreaching": "overreaching", "no_rest_day": "no rest day", "volume_spike": "km-effort",
              "high_monotony": "monotony", "acwr_high": "ACWR", "easy_share_low": "easy share",
              "long_run_spike": "long run", "deep_fatigue": "fatigue", "too_many_quality_sessions": "quality session",
              "hrv_suppressed": "HRV low", "resting_hr_elevated": "resting HR up",
              "trained_on_low_readiness": "low readiness"}


def check_digest(db: Path, msg) -> None:
    assert msg["Subject"] == f"trainsmart: coach digest for the week of {WEEK}"
    text, body = check_email_rules(msg)
    assert msg.get_content_type() == "multipart/alternative"

    # the table: every athlete with data this week, those with a warning or an alert first
    table = [m for m in MEMBERS if m.key in ("anna", "ben", "dan")]
    found = {}
    for m in table:
        match = re.search(rf"^{re.escape(m.name)}\s+(\d+\.\d)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$", text, re.M)
        assert match, (m.name, text)
        found[m.key] = match
        want = expected(db, m.athlete_id)
        km, avg, change, load, form, readiness = match.groups()
        assert km == f"{want.km:.1f}" and avg == f"{want.km_avg:.1f}", (m.key, match.group(0), want)
        assert load == f"{want.load:.0f}", (m.key, load, want.load)
        assert form.replace("−", "-").lstrip("+") == (f"{want.form:.0f}" if round(want.form) != 0 else "0"), \
            (m.key, form, want.form)
        assert readiness == "–"  # no Garmin wellness in this club
        assert f"<strong>{want.km:.1f}</strong>" in body
    attention = attention_ids(db)
    order = sorted(table, key=lambda m: found[m.key].start())
    flagged = [m.athlete_id in attention for m in order]
    assert flagged == sorted(flagged, reverse=True) and flagged[0] and not flagged[-1], [m.key for m in order]
    html_order = sorted(table, key=lambda m: body.index(f"<strong>{m.name}</strong>"))
    assert html_order == order

    # every warning and alert of the week is named under its athlete, with its severity
    flags = query_rows(db, "select athlete_id, flag, severity from main.training_flags where week_start = ? "
                           "and severity in ('warning', 'alert')", WEEK)
    assert flags
    for r in flags:
        m = next(m for m in table if m.athlete_id == r["athlete_id"])
        following = [found[o.key].start() for o in order if found[o.key].start() > found[m.key].start()]
        section = text[found[m.key].start():min(following, default=text.index("No data this week"))]
        tag = {"alert": "[Back off]", "warning": "[Watch]"}[r["severity"]]
        assert any(FLAG_WORDS[r["flag"]] in line and tag in line for line in section.splitlines()), (r, section)

    # athletes without data this week, and those not connected, are named
    assert "No data this week: Cara Lind." in text and "No data this week: Cara Lind." in body
    assert "Not connected to Strava yet: Eve Rossi" in text
    assert not re.search(r"^Cara Lind\s+\d", text, re.M)


def test_one_athlete_failing_does_not_stop_the_others(club_env, mail, home):
    from pipelines.report.club import run_weekly

    inbox = mail(RefusingInbox("anna@example.org"))
    run = run_weekly(load_settings(), send=True, timeout=5)
    assert run.exit_code == 1
    lines = run.lines()
    assert lines[-1].endswith("Failed: anna; the next run sends what is still owed."), lines[-1]
    assert "2 sent" in lines[-1] and "1 failed" in lines[-1] and "coach digest sent" in lines[-1]
    anna = next(line for line in lines if line.startswith("anna: "))
    assert "was not sent" in anna and "anna@example.org" in anna and "check the report_to of anna in the roster" in anna
    assert sorted(tuple(r) for _, r, _, _, _ in inbox.received) == sorted(
        [BY_KEY["ben"].report_to, BY_KEY["cara"].report_to, tuple(COACH)])

    fixed = mail()  # the mailbox exists now: the next run sends only what is owed
    again = run_weekly(load_settings(), send=True, timeout=5)
    assert again.exit_code == 0, again.lines()
    assert [tuple(r) for _, r, _, _, _ in fixed.received] == [BY_KEY["anna"].report_to]
    assert "1 sent" in again.lines()[-1] and "2 already sent" in again.lines()[-1]


def test_report_for_one_athlete(club_env, mail, home, tmp_path):
    inbox = mail()
    one = trainsmart("report", "--athlete", "ben", "--send", "--out", str(tmp_path / "out"))
    assert one.returncode == 0, one.stderr
    assert [tuple(r) for _, r, _, _, _ in inbox.received] == [BY_KEY["ben"].report_to]  # no digest with --athlete
    assert one.stderr.strip().splitlines()[-1] == (f"Athletes' reports for the week of {WEEK}: 1 sent.")
    assert not (tmp_path / "out" / f"digest-{WEEK}.html").exists()

    eve = trainsmart("report", "--athlete", "eve", "--send")
    assert eve.returncode == 2 and eve.stderr.strip().splitlines()[-1] == (
        "eve is not connected to Strava yet; run `trainsmart auth --athlete eve` first.")
    nobody = trainsmart("report", "--athlete", "nobody")
    assert nobody.returncode == 2 and "No athlete 'nobody' in the roster" in nobody.stderr.strip().splitlines()[-1]

    everyone = trainsmart("report", "--send", "--out", str(tmp_path / "out"))
    assert everyone.returncode == 0, everyone.stderr
    ben = next(line for line in everyone.stderr.splitlines() if line.startswith("ben: "))
    assert "already sent" in ben
    assert len(inbox.received) == 1 + 2 + 1  # ben earlier; now anna, cara and the coach


def test_weekly_asset_sends_each_athlete_and_the_digest_once(club_env, mail, home):
    import dagster as dg

    from pipelines.defs.report.assets import weekly_report

    inbox = mail()
    for _ in range(2):
        done = dg.materialize([weekly_report], partition_key=WEEK.isoformat(), instance=dg.DagsterInstance.ephemeral())
        assert done.success
    assert sorted(tuple(r) for _, r, _, _, _ in inbox.received) == sorted(
        [m.report_to for m in EMAILED] + [tuple(COACH)])
    assert (home / "reports" / f"digest-{WEEK}.html").exists() and (home / "reports" / "ben" / f"{WEEK}.html").exists()


def test_without_a_roster_report_athlete_says_what_to_do(home, monkeypatch):
    monkeypatch.setenv("TRAINSMART_ATHLETES", str(home / "no-such-roster.toml"))
    result = trainsmart("report", "--athlete", "anna")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "--athlete needs a roster: add the athlete first with `trainsmart athletes add KEY`.")


@pytest.fixture(scope="module")
def wellness_db(tmp_path_factory) -> Path:
    """The hand-made report warehouse with Garmin wellness (tests/test_report.py), no dbt needed."""
    db = tmp_path_factory.mktemp("digest_wellness") / "training.duckdb"
    fixture.build_fixture_db(db)
    add_wellness(db)
    publish_snapshot(db, db.with_name(db.stem + ".snapshot.duckdb"))
    return db


def test_digest_readiness_comes_from_daily_wellness(wellness_db, home, monkeypatch):
    from pipelines.report.digest import render_digest
    from pipelines.roster import load_roster

    roster_file = home / "athletes.toml"
    roster_file.parent.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("TRAINSMART_ATHLETES", str(roster_file))
    roster_file.write_text(f'[[athlete]]\nkey = "solo"\nname = "Solo Runner"\ntimezone = "UTC"\n'
                           f"strava_athlete_id = {fixture.ATHLETE_ID}\n")
    monkeypatch.setenv("TRAINSMART_DB", str(wellness_db))
    monkeypatch.setenv("TRAINSMART_AS_OF", fixture.AS_OF.isoformat())
    settings = load_settings()
    sunday = fixture.REPORT_WEEK + dt.timedelta(days=6)
    low = sum(1 for r in daily_wellness_rows(wellness_inputs())
              if fixture.REPORT_WEEK <= r["date"] <= sunday and r["readiness"] == "low")
    assert low >= 1
    digest, rendered = render_digest(settings, load_roster(settings), fixture.REPORT_WEEK)
    assert [r.athlete.key for r in digest.table] == ["solo"]
    assert re.search(rf"^Solo Runner .*  low {low} d$", rendered.text, re.M), rendered.text
    assert f"LOW {low} D" in rendered.html
    _, clean = render_digest(settings, load_roster(settings), fixture.CLEAN_WEEK)
    assert re.search(r"^Solo Runner .*  normal$", clean.text, re.M), clean.text
