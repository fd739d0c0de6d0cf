"""The read snapshot: what `publish_snapshot` writes is the live database as committed, views
and all, write-ahead log included, copied as a file; a reader holding the previous snapshot
keeps reading it undisturbed."""

from __future__ import annotations

import duckdb

from pipelines import warehouse


def _tables(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() order by 1").fetchall()]
        views = [r[0] for r in con.execute(
            "select schema_name || '.' || view_name from duckdb_views() where not internal order by 1").fetchall()]
        return {"views": views, **{n: sorted(con.execute(f"select * from {n}").fetchall()) for n in names}}
    finally:
        con.close()


def test_the_snapshot_is_the_live_database_and_an_open_reader_keeps_its_own(tmp_path):
    db, snapshot = tmp_path / "training.duckdb", tmp_path / "training.snapshot.duckdb"
    con = warehouse.connect_writer(db)
    con.execute("create schema main_marts")
    con.execute("create table main_marts.weeks as select range as week, range * 1.5 as km from range(1000)")
    con.execute("create view main_marts.long_weeks as select * from main_marts.weeks where km > 100")
    con.close()
    warehouse.publish_snapshot(db, snapshot)
    assert _tables(snapshot) == _tables(db)
    assert snapshot.stat().st_size == db.stat().st_size  # the checkpointed file, copied as it is
    assert not list(tmp_path.glob("*.tmp*"))

    reader = duckdb.connect(str(snapshot), read_only=True)
    # later writes, left in the write-ahead log when the writer closed: the snapshot must hold them
    con = duckdb.connect(str(db))
    con.execute("pragma disable_checkpoint_on_shutdown")
    con.execute("insert into main_marts.weeks values (5000, 1.0)")
    con.execute("delete from main_marts.weeks where week < 10")
    con.close()
    assert (tmp_path / "training.duckdb.wal").stat().st_size > 0
    warehouse.publish_snapshot(db, snapshot)
    assert snapshot.stat().st_size == db.stat().st_size and not (tmp_path / "training.duckdb.wal").exists()
    # the reader opened before still sees the snapshot it opened (and, in this process,
    # DuckDB would hand its open file to any new connection to that path: closed first)
    assert reader.execute("select count(*), max(week) from main_marts.weeks").fetchone() == (1000, 999)
    reader.close()
    published = _tables(snapshot)
    assert published == _tables(db)
    assert (5000, 1.0) in published["main_marts.weeks"] and len(published["main_marts.weeks"]) == 991
    assert published["views"] == ["main_marts.long_weeks"]
