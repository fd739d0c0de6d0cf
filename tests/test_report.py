"""The weekly report: reading the snapshot, the charts, the rendered email and the files.

The marts come from a hand-made warehouse (pipelines/sandbox/report_fixture.py) written to a temp
DuckDB file and published as a snapshot, so these tests do not need dbt.
Delivery through a real SMTP server is in test_report_delivery.py.
"""

from __future__ import annotations

import datetime as dt
import email
import html
import re
import shutil
from email import policy

import duckdb
import pytest

from pipelines.sandbox import report_fixture as fixture

WEEK = fixture.REPORT_WEEK


# -- fixtures (also used by test_report_delivery.py) ----------------------------------------------------
@pytest.fixture(scope="session")
def fixture_snapshots(tmp_path_factory):
    """The fixture warehouse built once: {'plain': snapshot, 'named': snapshot with activities.name}."""
    base = tmp_path_factory.mktemp("report_fixture")
    return {
        "plain": fixture.build_fixture_db(base / "plain" / "training.duckdb"),
        "named": fixture.build_fixture_db(base / "named" / "training.duckdb", with_name_column=True),
    }


def install_snapshot(snapshot, settings):
    settings.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(snapshot, settings.snapshot_path)


@pytest.fixture
def report_settings(home, monkeypatch, fixture_snapshots):
    """Settings for an isolated TRAINSMART_HOME whose snapshot is the fixture warehouse (no live DB)."""
    from pipelines.config import load_settings

    monkeypatch.setenv("TRAINSMART_AS_OF", fixture.AS_OF.isoformat())
    settings = load_settings()
    install_snapshot(fixture_snapshots["plain"], settings)
    return settings


def mart(settings, sql, params=()):
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def parts_of(msg):
    """(text, html, {content-id: image part}) of a received report."""
    assert msg.get_content_type() == "multipart/alternative"
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    images = {}
    for part in msg.walk():
        if part.get_content_maintype() == "image":
            images[part["Content-ID"].strip().strip("<>")] = part
    return text_part.get_content(), html_part.get_content(), images


def check_report_message(msg, settings, week=WEEK):
    """Everything the contract says about the mail, checked against the marts."""
    text, body, images = parts_of(msg)
    assert week.isoformat() in msg["Subject"]

    # structure: alternative(text/plain, related(text/html, png...))
    top = msg.get_payload()
    assert [p.get_content_type() for p in top] == ["text/plain", "multipart/related"]
    related = top[1].get_payload()
    assert related[0].get_content_type() == "text/html"
    assert all(p.get_content_type() == "image/png" for p in related[1:])

    # every cid in the HTML exists as a part, every image part is referenced
    referenced = set(re.findall(r'src="cid:([^"]+)"', body))
    assert referenced and referenced == set(images)
    for cid, part in images.items():
        png = part.get_content()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 60_000, cid
        assert part.get_content_disposition() == "inline"

    # no scripts, no external resources, no stylesheet dependence
    assert "<script" not in body.lower()
    assert not re.search(r'(src|href)="(?!cid:)', body)
    assert "<link" not in body.lower() and "<style" not in body.lower()

    # the week's running distance equals the mart's value, in both parts
    (km,) = mart(settings, "select run_distance_km from weekly_training_summary where week_start = ?", [week])[0]
    assert f"{km:.1f} km" in text and f"{km:.1f} km" in body

    # every flag of the week, with its message, in both parts
    flags = mart(settings, "select flag, message from training_flags where week_start = ?", [week])
    from pipelines.report.render import explain_flag
    from pipelines.report.data import Flag

    for flag, message in flags:
        title = explain_flag(Flag(flag, "warning", None, None, message))[0]
        assert html.escape(message) in body and message in " ".join(text.split()), flag
        assert html.escape(title) in body and title in text, flag
    return text, body, images


# -- weeks ---------------------------------------------------------------------------------------------
def test_week_helpers():
    from pipelines.report import last_complete_week, week_end, week_of

    assert week_of(dt.date(2026, 11, 16)) == dt.date(2026, 11, 16)
    assert week_of(dt.date(2026, 11, 22)) == dt.date(2026, 11, 16)
    assert week_of(dt.datetime(2026, 11, 19, 23, 59)) == dt.date(2026, 11, 16)
    assert week_end(dt.date(2026, 11, 16)) == dt.date(2026, 11, 22)
    assert last_complete_week(dt.date(2026, 11, 22)) == dt.date(2026, 11, 16)  # Sunday: that week
    assert last_complete_week(dt.date(2026, 11, 23)) == dt.date(2026, 11, 16)  # Monday: the week before
    assert last_complete_week(dt.date(2026, 11, 21)) == dt.date(2026, 11, 9)
    assert last_complete_week(dt.date(2027, 1, 3)) == dt.date(2026, 12, 28)   # across the year


def test_resolve_week_refuses_an_incomplete_week(report_settings):
    from pipelines.report import ReportError, resolve_week

    assert resolve_week(report_settings) == WEEK
    assert resolve_week(report_settings, dt.date(2026, 11, 19)) == WEEK
    with pytest.raises(ReportError, match="not complete yet.*last complete week is the week of 2026-11-16"):
        resolve_week(report_settings, dt.date(2026, 11, 24))


# -- reading ---------------------------------------------------------------------------------------------
def test_week_data_matches_the_marts(report_settings):
    from pipelines.report import load_week

    week = load_week(report_settings, WEEK)
    assert week.athlete_id == fixture.ATHLETE_ID and week.athlete_name == "Alex"
    assert week.get("run_distance_km") == mart(
        report_settings, "select run_distance_km from weekly_training_summary where week_start = ?", [WEEK])[0][0]
    # baseline = mean of the 4 weeks before
    prev = mart(report_settings, "select avg(run_km_effort), count(*) from weekly_training_summary "
                                 "where week_start between ? and ?", [WEEK - dt.timedelta(28), WEEK - dt.timedelta(7)])[0]
    effort = next(c for c in week.comparisons if c.key == "run_km_effort")
    assert week.baseline_weeks == 4 and effort.baseline == pytest.approx(prev[0])
    assert effort.change == pytest.approx(week.get("volume_change"))
    assert len(week.history) == 12 and week.history[-1]["week_start"] == WEEK
    assert week.daily[0]["date"] == WEEK - dt.timedelta(weeks=11) and week.daily[-1]["date"] == fixture.REPORT_WEEK + dt.timedelta(6)
    assert {f.flag for f in week.flags} == {r[0] for r in mart(
        report_settings, "select flag from training_flags where week_start = ?", [WEEK])}
    assert week.flags[0].severity == "alert"  # most important first
    assert [a.name for a in week.activities].count(fixture.XSS_NAME) == 1  # names from raw.activities JSON


def test_missing_snapshot_is_one_plain_sentence(home):
    from pipelines.config import load_settings
    from pipelines.report import ReportError, render_report

    with pytest.raises(ReportError) as e:
        render_report(load_settings(), WEEK)
    assert "\n" not in str(e.value) and "trainsmart sync" in str(e.value)


def test_report_reads_the_snapshot_while_a_writer_holds_the_live_db(report_settings):
    from pipelines import warehouse
    from pipelines.report import render_report

    with warehouse.writer_lock(report_settings.db_path):
        con = warehouse.connect_writer(report_settings.db_path)  # the live file, open for writing
        try:
            rendered = render_report(report_settings, WEEK)
        finally:
            con.close()
    assert rendered.data.has_training


# -- rendering ---------------------------------------------------------------------------------------------
def test_rendered_report_has_every_fact(report_settings):
    from pipelines.report import render_report

    rendered = render_report(report_settings, WEEK)
    assert rendered.subject == "trainsmart: your week of 2026-11-16"
    msg = parse(bytes(rendered.message("Coach <coach@example.org>", ["runner@example.org"])))
    text, body, images = check_report_message(msg, report_settings)
    assert set(images) == {f"{name}-2026-11-16@trainsmart" for name in ("volume", "intensity", "fitness")}
    # user text is escaped in the HTML, kept as is in the plain text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and fixture.XSS_NAME in text
    assert html.escape("Hills & coffee ☕") in body
    # the comparison, intensity, consistency and strength are in the text part too
    for fact in ("This week vs the 4 weeks before", "4-wk avg", "Easy ", "Fitness (CTL)", "Fatigue (ATL)",
                 "Form (TSB)", "Weeks with 3+ runs", "Strength sessions", "Rest days"):
        assert fact.lower() in text.lower(), fact
    # the action for each flag, and the alert first
    assert text.index("[Back off]") < text.index("[Watch]")
    assert text.count("Next week:") == len(rendered.data.flags)


def test_no_diagnosis_words(report_settings):
    from pipelines.report import render_report

    rendered = render_report(report_settings, WEEK)
    for text in (rendered.text.lower(), rendered.html.lower()):
        for word in ("injur", "overtrain", "diagnos"):
            assert word not in text


def test_names_from_the_mart_column_when_present(home, monkeypatch, fixture_snapshots):
    from pipelines.config import load_settings
    from pipelines.report import render_report

    monkeypatch.setenv("TRAINSMART_AS_OF", fixture.AS_OF.isoformat())
    settings = load_settings()
    install_snapshot(fixture_snapshots["named"], settings)
    rendered = render_report(settings, WEEK)
    assert "Zürichberg long trail" in rendered.text and "&lt;script&gt;" in rendered.html


def test_a_week_without_flags_says_what_went_well(report_settings):
    from pipelines.report import render_report

    assert mart(report_settings, "select count(*) from training_flags where week_start = ?", [fixture.CLEAN_WEEK])[0][0] == 0
    rendered = render_report(report_settings, fixture.CLEAN_WEEK)
    text = rendered.text
    assert "NO WARNINGS THIS WEEK - WHAT WENT WELL" in text and "What to change" not in text
    good = text.split("WHAT WENT WELL")[1].split("THIS WEEK VS")[0]
    for fact in ("was easy", "quality session", "rest day", "strength session", "Steady volume"):
        assert fact in good, fact
    assert "no warnings this week: what went well" in rendered.html.lower()


def test_a_week_without_training_renders_and_says_so(report_settings):
    from pipelines.report import render_report

    rendered = render_report(report_settings, fixture.EMPTY_WEEK)
    assert "No training logged this week." in rendered.text and "No training logged this week." in rendered.html
    assert "No activities this week." in rendered.text
    assert {cid.split("-")[0] for cid in rendered.images} == {"volume", "fitness"}  # no intensity to show
    check_report_message(parse(bytes(rendered.message("a@example.org", ["b@example.org"]))), report_settings,
                         fixture.EMPTY_WEEK)


def test_a_week_before_any_data_renders(report_settings):
    from pipelines.report import render_report

    rendered = render_report(report_settings, dt.date(2026, 1, 5))
    assert "No training logged this week." in rendered.text
    assert "your data starts later" in " ".join(rendered.text.split())
    assert rendered.images == {}
    msg = parse(bytes(rendered.message("a@example.org", ["b@example.org"])))
    assert "cid:" not in msg.get_body(preferencelist=("html",)).get_content()


def test_an_empty_warehouse_renders(home, monkeypatch):
    """Tables exist but hold no rows (a fresh install after its first build)."""
    from pipelines import warehouse
    from pipelines.config import load_settings
    from pipelines.report import render_report

    settings = load_settings()
    settings.db_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.db_path))
    for table, ddl in fixture.MART_DDL.items():
        con.execute(f"create table main.{table} ({ddl})")
    con.close()
    warehouse.publish_snapshot(settings.db_path, settings.snapshot_path)
    rendered = render_report(settings, WEEK)
    assert rendered.athlete_id is None and "No training logged" in rendered.text


def test_charts_are_small_deterministic_and_without_metadata(report_settings):
    from pipelines.report import load_week
    from pipelines.report.charts import render_charts

    week = load_week(report_settings, WEEK)
    first, second = render_charts(week), render_charts(week)
    assert set(first) == {"volume", "intensity", "fitness"}
    for name, png in first.items():
        assert png == second[name], name
        assert len(png) < 60_000, (name, len(png))
        assert b"Software" not in png and b"matplotlib" not in png.lower() and b"tIME" not in png


def test_write_report_files(report_settings, tmp_path):
    from pipelines.report import render_report, write_report

    rendered = render_report(report_settings, WEEK)
    files = write_report(rendered, tmp_path / "out")
    names = sorted(f.name for f in files)
    assert names == ["2026-11-16-fitness.png", "2026-11-16-intensity.png", "2026-11-16-volume.png",
                     "2026-11-16.eml", "2026-11-16.html"]
    page = (tmp_path / "out" / "2026-11-16.html").read_text(encoding="utf-8")
    assert "cid:" not in page
    for src in re.findall(r'<img src="([^"]+)"', page):
        assert (tmp_path / "out" / src).read_bytes().startswith(b"\x89PNG")
    eml = parse((tmp_path / "out" / "2026-11-16.eml").read_bytes())
    check_report_message(eml, report_settings)


def test_run_report_writes_without_sending(report_settings, tmp_path):
    from pipelines.report import run_report

    run = run_report(report_settings, out_dir=tmp_path / "out")
    assert run.week_start == WEEK and run.delivery is None and run.exit_code == 0
    assert (tmp_path / "out" / "2026-11-16.html").exists()
    assert "week of 2026-11-16" in run.lines()[0]
