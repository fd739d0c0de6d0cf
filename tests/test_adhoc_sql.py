"""`trainsmart sql`'s engine (pipelines/adhoc_sql.py) against a published snapshot."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from pipelines import adhoc_sql
from pipelines.config import load_settings
from pipelines.warehouse import connect_writer, publish_snapshot


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def settings(home):
    return load_settings()


@pytest.fixture
def snapshot(settings):
    """A live database with a few mart-like tables, published as the read snapshot."""
    con = connect_writer(settings.db_path)
    try:
        con.execute(
            """
            create table main.weekly_training_summary as
            select * from (values
                (4242, date '2026-11-09', 3, 31.5, 0.8123456, true),
                (4242, date '2026-11-16', 4, 42.25, null, false)
            ) t(athlete_id, week_start, run_count, run_distance_km, easy_share, is_complete)
            """
        )
        con.execute("create table main.many as select range as n from range(1500)")
        con.execute("create table main.notes as select 'x' || repeat('long text ', 30) as note, 'two\nlines' as other")
        con.execute("create schema staging")
        con.execute("create view staging.recent as select * from main.weekly_training_summary where run_count > 3")
    finally:
        con.close()
    publish_snapshot(settings.db_path, settings.snapshot_path)
    return settings.snapshot_path


def run(settings, query):
    out, err = io.StringIO(), io.StringIO()
    code = adhoc_sql.run_query(settings, query, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_no_snapshot_yet_tells_what_to_run(settings):
    code, out, err = run(settings, "select 1")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "trainsmart sync" in err and "trainsmart build" in err


def test_prints_an_aligned_table(settings, snapshot):
    code, out, err = run(settings, "select * from weekly_training_summary order by week_start")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split(" | ") == ["athlete_id", "week_start", "run_count", "run_distance_km", "easy_share", "is_complete"]
    assert set(lines[1]) <= {"-", "+"}
    assert len({len(line) for line in lines[:2]}) == 1  # header and rule are equally wide
    assert "2026-11-09" in lines[2] and "31.5" in lines[2] and "0.8123" in lines[2] and "true" in lines[2]
    assert "NULL" in lines[3]
    assert lines[-1] == "(2 rows)"
    # numbers are right-aligned under their header
    assert lines[2].index("31.50") == lines[3].index("42.25")  # decimal(4,2) values


def test_zero_rows(settings, snapshot):
    code, out, _ = run(settings, "select athlete_id from weekly_training_summary where false")
    assert code == 0
    assert out.splitlines() == ["athlete_id", "----------", "(0 rows)"]


def test_duckdb_error_is_one_line_on_stderr(settings, snapshot):
    code, out, err = run(settings, "select nope from weekly_training_summary")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    code, _, err = run(settings, "selec 1")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def test_snapshot_is_read_only(settings, snapshot):
    code, _, err = run(settings, "create table main.x as select 1")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def test_row_cap_says_how_many_were_cut(settings, snapshot):
    code, out, _ = run(settings, "select n from many order by n")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 + adhoc_sql.MAX_ROWS + 1
    assert lines[-1] == f"(1500 rows, first {adhoc_sql.MAX_ROWS} shown)"


def test_wide_and_multiline_values_are_cut_to_one_line(settings, snapshot):
    code, out, _ = run(settings, "select * from notes")
    assert code == 0
    row = out.splitlines()[2]
    assert "..." in row and len(row) < 2 * adhoc_sql.MAX_CELL_WIDTH + 10
    assert "two lines" in row


def test_several_statements_and_views_in_other_schemas(settings, snapshot):
    code, out, _ = run(settings, "select count(*) as n from staging.recent; select 'a;b' as s;")
    assert code == 0
    assert out.count("(1 row)") == 2 and "a;b" in out


def test_reads_while_a_writer_holds_the_live_database(settings, snapshot):
    writer = connect_writer(settings.db_path)  # holds DuckDB's lock on the live file
    try:
        writer.execute("insert into main.weekly_training_summary values (4242, date '2026-11-23', 1, 5.0, 1.0, false)")
        code, out, _ = run(settings, "select count(*) as n from weekly_training_summary")
        assert code == 0 and out.splitlines()[2].strip() == "2"  # the last published state
    finally:
        writer.close()
    publish_snapshot(settings.db_path, settings.snapshot_path)
    code, out, _ = run(settings, "select count(*) as n from weekly_training_summary")
    assert out.splitlines()[2].strip() == "3"


def test_format_value():
    assert adhoc_sql.format_value(None) == "NULL"
    assert adhoc_sql.format_value(1.0) == "1"
    assert adhoc_sql.format_value(0.000012345) == "1.2345e-05"
    assert adhoc_sql.format_value(12.345678) == "12.3457"
    assert adhoc_sql.format_value(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05"
    assert adhoc_sql.format_value(False) == "false"


def test_shell_runs_statements_and_dot_commands(settings, snapshot):
    stdin = FakeTTY(
        ".tables\n"
        "select run_count\n"
        "from weekly_training_summary order by 1;\n"
        "select nope;\n"
        ".bogus\n"
        "select 42 as answer;\n"
        ".quit\n"
        "select 'never reached';\n"
    )
    out, err = io.StringIO(), io.StringIO()
    assert adhoc_sql.interactive_shell(settings, stdin=stdin, out=out, err=err) == 0
    text = out.getvalue()
    assert "trainsmart> " in text and "...> " in text
    assert "weekly_training_summary" in text and "staging" in text  # .tables
    assert "(2 rows)" in text and "42" in text and "never reached" not in text
    errors = err.getvalue().splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)


def test_shell_ends_on_ctrl_d(settings, snapshot):
    out = io.StringIO()
    assert adhoc_sql.interactive_shell(settings, stdin=FakeTTY("select 1;\n"), out=out, err=io.StringIO()) == 0
    assert "(1 row)" in out.getvalue()


def test_piped_stdin_runs_as_a_script(settings, snapshot):
    out, err = io.StringIO(), io.StringIO()
    stdin = io.StringIO("select count(*) as n from many;\nselect 1 as one;\n")
    assert adhoc_sql.interactive_shell(settings, stdin=stdin, out=out, err=err) == 0
    assert "1500" in out.getvalue() and out.getvalue().count("(1 row)") == 2
    bad = io.StringIO("select nope;")
    assert adhoc_sql.interactive_shell(settings, stdin=bad, out=io.StringIO(), err=err) == 1


def test_shell_without_snapshot(settings):
    err = io.StringIO()
    assert adhoc_sql.interactive_shell(settings, stdin=FakeTTY(""), out=io.StringIO(), err=err) == 1
    assert "trainsmart sync" in err.getvalue()
