"""The weekly report: reading the snapshot, the charts, the rendered email and the files.

The marts come from a hand-made warehouse (pipelines/sandbox/report_fixture.py) written to a temp
DuckDB file and published as a snapshot, so these tests do not need dbt. That warehouse has no
`daily_wellness` (an older database); `add_wellness` below adds the wellness mart, the weekly
wellness columns and the wellness flags (METRICS.md sections 6 and 7) computed here from
hand-made Garmin values, for the recovery section.
Delivery through a real SMTP server is in test_report_delivery.py.
"""

from __future__ import annotations

import datetime as dt
import email
import html
import math
import re
import shutil
import statistics
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


# -- wellness: hand-made Garmin values and the marts computed from them (METRICS.md section 7) ----------
# REPORT_WEEK: HRV drops from Tuesday, resting HR up Wednesday to Friday, short nights, Saturday's sleep missing;
# EMPTY_WEEK: the watch stayed at home (no wellness at all); every other week: normal values.
REPORT_WEEK_WELLNESS = {  # weekday -> (resting HR, rMSSD ms, sleep min)
    0: (48, 58, 400), 1: (50, 44, 380), 2: (54, 40, 365), 3: (55, 42, 390), 4: (53, 45, 410), 5: (50, 48, None),
    6: (49, 50, 430),
}


def wellness_inputs() -> dict[dt.date, tuple]:
    """{calendar date: (resting_hr, hrv_rmssd, sleep_min)}, also 70 days before the first day (the windows count them)."""
    out = {}
    day, i = fixture.FIRST_DAY - dt.timedelta(days=70), 0
    while day <= fixture.AS_OF:
        monday = day - dt.timedelta(days=day.weekday())
        if monday == fixture.REPORT_WEEK:
            out[day] = REPORT_WEEK_WELLNESS[day.weekday()]
        elif monday != fixture.EMPTY_WEEK:
            out[day] = (round(47 + 1.5 * math.sin(i * 0.7)), round(60 * math.exp(0.08 * math.sin(i * 1.3)), 1),
                        round(450 + 30 * math.sin(i * 0.45)))
        day += dt.timedelta(days=1)
        i += 1
    return out


def daily_wellness_rows(inputs) -> list[dict]:
    rows = []
    day = fixture.FIRST_DAY
    while day <= fixture.AS_OF:
        def values(k, first, last):
            return [inputs[d][k] for d in (day + dt.timedelta(days=o) for o in range(first, last + 1))
                    if d in inputs and inputs[d][k] is not None]
        rhr, hrv, sleep = inputs.get(day, (None, None, None))
        ln7, base = [math.log(v) for v in values(1, -6, 0)], [math.log(v) for v in values(1, -60, -1)]
        rhr_base, sleep7 = values(0, -60, -1), values(2, -6, 0)
        row = {"athlete_id": fixture.ATHLETE_ID, "date": day, "resting_hr": rhr, "hrv_rmssd": hrv, "sleep_min": sleep,
               "ln_rmssd": math.log(hrv) if hrv else None,
               "hrv_7d": statistics.fmean(ln7) if len(ln7) >= 4 else None,
               "hrv_base_mean": statistics.fmean(base) if len(base) >= 30 else None,
               "hrv_base_sd": statistics.stdev(base) if len(base) >= 30 else None,
               "rhr_base": statistics.fmean(rhr_base) if len(rhr_base) >= 30 else None,
               "sleep_7d": statistics.fmean(sleep7) if len(sleep7) >= 4 else None}
        row["hrv_suppressed"] = None not in (row["hrv_7d"], row["hrv_base_mean"]) and \
            row["hrv_7d"] < row["hrv_base_mean"] - 0.5 * row["hrv_base_sd"]
        row["rhr_elevated"] = None not in (rhr, row["rhr_base"]) and rhr >= row["rhr_base"] + 5
        row["readiness"] = ("low" if row["hrv_suppressed"] or row["rhr_elevated"] else
                            "normal" if None not in (row["hrv_7d"], row["hrv_base_mean"])
                            or None not in (rhr, row["rhr_base"]) else None)
        rows.append(row)
        day += dt.timedelta(days=1)
    return rows


WELLNESS_DDL = """athlete_id bigint, date date, resting_hr double, hrv_rmssd double, sleep_min double, ln_rmssd double,
    hrv_7d double, hrv_base_mean double, hrv_base_sd double, hrv_suppressed boolean, rhr_base double,
    rhr_elevated boolean, sleep_7d double, readiness varchar"""
OVERREACHING_PARTS = ("volume_spike", "acwr_high", "high_monotony", "deep_fatigue", "no_rest_day", "hrv_suppressed",
                      "resting_hr_elevated")


def add_wellness(db_path) -> None:
    """daily_wellness, the six weekly wellness columns and the four wellness flags (overreaching recounted)."""
    rows = daily_wellness_rows(wellness_inputs())
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create or replace table main.daily_wellness ({WELLNESS_DDL})")
        columns = [c.strip().split()[0] for c in WELLNESS_DDL.split(",")]
        con.executemany(f"insert into main.daily_wellness values ({', '.join('?' for _ in columns)})",
                        [[r[c] for c in columns] for r in rows])
        for column, kind in (("wellness_days", "integer"), ("hrv_suppressed_days", "integer"),
                             ("rhr_elevated_days", "integer"), ("sleep_nights", "integer"),
                             ("avg_sleep_min", "double"), ("quality_on_low_readiness", "integer")):
            con.execute(f"alter table main.weekly_training_summary add column {column} {kind}")
        con.execute("""
            update main.weekly_training_summary w set
                wellness_days = coalesce(t.wellness_days, 0), hrv_suppressed_days = coalesce(t.hrv_days, 0),
                rhr_elevated_days = coalesce(t.rhr_days, 0), sleep_nights = coalesce(t.sleep_nights, 0),
                avg_sleep_min = t.avg_sleep, quality_on_low_readiness = coalesce(q.n, 0)
            from main.weekly_training_summary s
            left join (select date_trunc('week', date)::date as week_start,
                              count(*) filter (where resting_hr is not null or hrv_rmssd is not null
                                               or sleep_min is not null) as wellness_days,
                              count(*) filter (where hrv_suppressed) as hrv_days,
                              count(*) filter (where rhr_elevated) as rhr_days,
                              count(sleep_min) as sleep_nights, avg(sleep_min) as avg_sleep
                       from main.daily_wellness group by 1) t on t.week_start = s.week_start
            left join (select a.week_start, count(*) as n from main.activities a
                       join main.daily_wellness d on d.date = a.local_date
                       where a.is_quality and d.readiness = 'low' group by 1) q on q.week_start = s.week_start
            where w.week_start = s.week_start""")
        weeks = con.execute("select week_start, hrv_suppressed_days, rhr_elevated_days, sleep_nights, avg_sleep_min, "
                            "quality_on_low_readiness from main.weekly_training_summary where is_complete").fetchall()
        flags = []
        for monday, hrv_days, rhr_days, nights, avg_sleep, low_quality in weeks:
            def add(flag, severity, value, threshold, message):
                flags.append([fixture.ATHLETE_ID, monday, flag, severity, value, threshold, message])
            if hrv_days >= 3:
                add("hrv_suppressed", "warning", hrv_days, 3,
                    f"On {hrv_days} days this week your heart rate variability of the last 7 nights was clearly below "
                    "your usual range of the two months before. Keep the next days easy or take a rest day.")
            if rhr_days >= 2:
                add("resting_hr_elevated", "warning", rhr_days, 2,
                    f"On {rhr_days} days this week your resting heart rate was 5 or more beats per minute above your "
                    "average of the two months before. Take it easy until it settles.")
            if nights >= 4 and avg_sleep < 420:
                add("short_sleep", "info", avg_sleep, 420,
                    f"You slept {math.floor(avg_sleep) // 60} h {math.floor(avg_sleep) % 60} min a night on average "
                    f"this week ({nights} nights recorded), less than 7 h.")
            if low_quality >= 1:
                add("trained_on_low_readiness", "warning", low_quality, 1,
                    f"{low_quality} hard session(s) this week fell on a day when your heart rate variability or "
                    "resting heart rate pointed to incomplete recovery.")
        con.executemany("insert into main.training_flags values (?, ?, ?, ?, ?, ?, ?)", flags)
        con.execute("delete from main.training_flags where flag = 'overreaching'")
        parts = ", ".join(f"'{f}'" for f in OVERREACHING_PARTS)
        con.execute(f"""
            insert into main.training_flags
            select athlete_id, week_start, 'overreaching', 'alert', count(*), 2,
                   count(*) || ' load and recovery warnings came together this week. Back off: make the coming '
                   || 'week clearly easier, with less volume and at least one rest day.'
            from main.training_flags where flag in ({parts}) group by athlete_id, week_start having count(*) >= 2""")
    finally:
        con.close()


@pytest.fixture(scope="session")
def wellness_snapshot(tmp_path_factory):
    """The fixture warehouse with Garmin wellness (daily_wellness and the wellness columns and flags)."""
    db = tmp_path_factory.mktemp("report_wellness") / "training.duckdb"
    fixture.build_fixture_db(db)
    add_wellness(db)
    from pipelines.warehouse import publish_snapshot

    return publish_snapshot(db, db.with_name(db.stem + ".snapshot.duckdb"))


@pytest.fixture
def wellness_settings(home, monkeypatch, wellness_snapshot):
    from pipelines.config import load_settings

    monkeypatch.setenv("TRAINSMART_AS_OF", fixture.AS_OF.isoformat())
    settings = load_settings()
    install_snapshot(wellness_snapshot, settings)
    return settings


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
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
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


# -- recovery: HRV, resting heart rate, sleep -------------------------------------------------------------
NO_WELLNESS_LINE = ("No wellness data this week (HRV, resting HR, sleep come from a Garmin watch: "
                    "`trainsmart sync` with GARMIN_PERSONAL_API_KEY).")
WELLNESS_FLAGS = {"hrv_suppressed", "resting_hr_elevated", "short_sleep", "trained_on_low_readiness"}


def recovery_part(text: str) -> str:
    part = text.split("RECOVERY: HRV, RESTING HEART RATE, SLEEP\n")[1].split("CONSISTENCY, REST AND STRENGTH")[0]
    return part.split("\n", 1)[1]  # without the ==== underline


def test_a_week_with_wellness_shows_the_hrv_chart_the_nights_and_every_flag(wellness_settings):
    from pipelines.report import load_week, render_report
    from pipelines.report.charts import render_charts
    from pipelines.report.render import explain_flag

    week = load_week(wellness_settings, WEEK)
    assert week.has_wellness_table and week.has_wellness
    # 8 weeks of daily_wellness ending on the week's Sunday
    assert week.wellness[0]["date"] == WEEK - dt.timedelta(weeks=7) and week.wellness[-1]["date"] == WEEK + dt.timedelta(6)
    raised = {r[0] for r in mart(wellness_settings, "select flag from training_flags where week_start = ?", [WEEK])}
    assert WELLNESS_FLAGS <= raised and "overreaching" in raised
    assert {f.flag for f in week.wellness_flags} == WELLNESS_FLAGS

    rendered = render_report(wellness_settings, WEEK)
    msg = parse(bytes(rendered.message("a@example.org", ["b@example.org"])))
    text, body, images = check_report_message(msg, wellness_settings)  # no scripts, no external resources
    cid = "hrv-2026-11-16@trainsmart"
    assert cid in images and f'src="cid:{cid}"' in body
    assert set(images) == {f"{name}-2026-11-16@trainsmart" for name in ("volume", "intensity", "fitness", "hrv")}
    png = images[cid].get_content()
    assert png == render_charts(week)["hrv"] and len(png) < 60_000 and b"Software" not in png
    assert NO_WELLNESS_LINE not in text and "No wellness data this week" not in body

    # every wellness flag explained (title, the mart's message, what to do) in the recovery section, once
    recovery = recovery_part(text)
    recovery_html = body.split(">Recovery: HRV, resting heart rate, sleep</h2>")[1].split("Consistency, rest and strength")[0]
    flat = " ".join(recovery.split())
    for f in week.wellness_flags:
        title, _, action = explain_flag(f)
        assert title in recovery and " ".join(f.message.split()) in flat, f.flag
        assert html.escape(title) in recovery_html and html.escape(f.message) in recovery_html, f.flag
        assert html.escape(action) in recovery_html and " ".join(f"Next week: {action}".split()) in flat, f.flag
        assert " ".join(text.split()).count(title) == 2  # the card, and its name in the pointer under "What to change"
    assert text.count("Next week:") == len(week.flags)
    assert "under “Recovery: HRV, resting heart rate, sleep” below" in " ".join(text.split())
    # overreaching counts the body's signals too
    over = next(f for f in week.flags if f.flag == "overreaching")
    assert "body's signals count too" in explain_flag(over)[2]
    assert html.escape("Your body's signals count too") in body

    # the numbers come from the mart: HRV at the end of the week against its range, sleep, resting HR
    (hrv_7d, base_mean, base_sd), = mart(wellness_settings, "select hrv_7d, hrv_base_mean, hrv_base_sd "
                                                             "from daily_wellness where date = ?", [WEEK + dt.timedelta(6)])
    assert (f"ended the week at {math.exp(hrv_7d):.0f} ms, below your normal range of "
            f"{math.exp(base_mean - 0.5 * base_sd):.0f}–{math.exp(base_mean + 0.5 * base_sd):.0f} ms") in flat
    (avg_sleep, nights, rhr_days), = mart(wellness_settings, "select avg_sleep_min, sleep_nights, rhr_elevated_days "
                                                             "from weekly_training_summary where week_start = ?", [WEEK])
    h, m = divmod(math.floor(avg_sleep), 60)  # whole minutes cut off, like the short_sleep message
    assert f"Sleep: {h} h {m} min a night on average" in flat and f"{nights} nights recorded" in flat
    assert f"You slept {h} h {m} min a night on average" in flat  # the mart's message agrees
    assert f"above your usual on {rhr_days} days" in flat
    # one line per day: resting HR (usual), HRV, sleep h:mm, readiness; elevated days and low readiness marked
    days = mart(wellness_settings, "select date, resting_hr, rhr_elevated, readiness, sleep_min from daily_wellness "
                                   "where date between ? and ? order by date", [WEEK, WEEK + dt.timedelta(6)])
    for day, rhr, elevated, readiness, sleep in days:
        table = recovery.split("readiness\n")[1]
        line = next(line for line in table.splitlines() if line.startswith(f"  {day:%a} {day.day} {day:%b}"))
        assert f"{rhr:.0f}" + (" ▲" if elevated else "") in line, line
        assert line.endswith("LOW" if readiness == "low" else readiness), line
        assert (f"{math.floor(sleep) // 60}:{math.floor(sleep) % 60:02d}" if sleep is not None else "–") in line
    assert body.count("&nbsp;▲</strong>") == sum(1 for d in days if d[2])
    assert recovery_html.count(">LOW</span>") == sum(1 for d in days if d[3] == "low")
    for word in ("injur", "overtrain", "diagnos", "illness", "sick"):
        assert word not in text.lower() and word not in body.lower(), word


def test_a_week_without_wellness_says_so_in_one_line(wellness_settings):
    from pipelines.report import render_report

    assert mart(wellness_settings, "select wellness_days from weekly_training_summary where week_start = ?",
                [fixture.EMPTY_WEEK])[0][0] == 0
    rendered = render_report(wellness_settings, fixture.EMPTY_WEEK)
    assert rendered.data.has_wellness_table and not rendered.data.has_wellness
    text = rendered.text
    assert recovery_part(text).strip().splitlines() == [NO_WELLNESS_LINE]  # one line
    assert "No wellness data this week" in rendered.html and "GARMIN_PERSONAL_API_KEY" in rendered.html
    assert not any(cid.startswith("hrv-") for cid in rendered.images)
    assert "cid:hrv-" not in rendered.html
    check_report_message(parse(bytes(rendered.message("a@example.org", ["b@example.org"]))), wellness_settings,
                         fixture.EMPTY_WEEK)


def test_an_older_database_without_daily_wellness_says_so_in_one_line(report_settings):
    from pipelines.report import render_report

    assert not mart(report_settings, "select 1 from information_schema.tables where table_name = 'daily_wellness'")
    rendered = render_report(report_settings, WEEK)
    assert not rendered.data.has_wellness_table and not rendered.data.has_wellness
    assert recovery_part(rendered.text).strip().splitlines() == [NO_WELLNESS_LINE]
    body = rendered.html.split(">Recovery: HRV, resting heart rate, sleep</h2>")[1].split("Consistency, rest and strength")[0]
    assert "No wellness data this week" in body and "<img" not in body
    assert "hrv" not in {cid.split("-")[0] for cid in rendered.images}


def test_a_balanced_week_with_wellness_counts_good_recovery_as_going_well(wellness_settings):
    from pipelines.report import render_report

    assert mart(wellness_settings, "select count(*) from training_flags where week_start = ?", [fixture.CLEAN_WEEK])[0][0] == 0
    rendered = render_report(wellness_settings, fixture.CLEAN_WEEK)
    good = rendered.text.split("WHAT WENT WELL")[1].split("THIS WEEK VS")[0]
    assert "HRV stayed within (or above) your normal range" in good and "of sleep a night" in good
    recovery = " ".join(recovery_part(rendered.text).split())
    assert "within your normal range" in recovery and "Readiness was normal" in recovery
    assert any(cid.startswith("hrv-") for cid in rendered.images)


def test_recovery_without_hrv_shows_the_nights_but_no_chart(wellness_settings):
    """Resting HR and sleep but no HRV (a watch without overnight HRV): the table, no empty chart."""
    from pipelines.report import load_week
    from pipelines.report.render import build_report

    week = load_week(wellness_settings, WEEK)
    week.wellness = [dict(w, hrv_rmssd=None, ln_rmssd=None, hrv_7d=None, hrv_base_mean=None, hrv_base_sd=None,
                          hrv_suppressed=False) for w in week.wellness]
    rendered = build_report(week)
    assert "hrv" not in {cid.split("-")[0] for cid in rendered.images}
    recovery = " ".join(recovery_part(rendered.text).split())
    assert "No HRV recorded this week." in recovery and "Resting heart rate:" in recovery and NO_WELLNESS_LINE not in recovery
    assert "Resting HR (usual)" in rendered.html
