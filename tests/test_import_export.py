"""The Strava bulk-export importer against generated exports (real FIT/GPX/TCX files and an
activities.csv in Strava's header layout) and hostile ones."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.sandbox import sample_export
from pipelines.imports.common import ImportInputError, sport_type_from_label
from pipelines.sandbox.fit_writer import encode_activity
from pipelines.sandbox.sample_export import HEADERS, activity_file, write_sample_export
from pipelines.imports.strava_export import import_export
from tests.import_fixtures import (
    SHARED_SAMPLES,
    landed_streams,
    make_athlete,
    raw_state,
    settings_for,
    zone_minutes,
)

LTHR = 165
FORMAT_CYCLE = ["fit.gz", "gpx", "tcx.gz", "fit", "gpx.gz", "tcx"]
ROOT = Path(__file__).resolve().parents[1]


def formats_for(athlete) -> dict[int, str | None]:
    """Every file format in turn (FIT where there are no positions, which GPX cannot hold)."""
    out: dict[int, str | None] = {}
    k = 0
    for a in athlete.activities:
        if a["id"] not in athlete.streams:
            continue
        fmt = FORMAT_CYCLE[k % len(FORMAT_CYCLE)]
        k += 1
        if not a["start_latlng"] and fmt.startswith(("gpx", "tcx")):
            fmt = "fit"
        out[a["id"]] = fmt
    return out


@pytest.fixture(scope="module")
def athlete():
    return make_athlete(n=30, seed=11, step_choices=(2, 5, 10))


@pytest.fixture(scope="module")
def export_zip(athlete, tmp_path_factory):
    return write_sample_export(athlete, tmp_path_factory.mktemp("export"), formats=formats_for(athlete))


@pytest.fixture(scope="module")
def imported(athlete, export_zip, tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("db"))
    seen = []
    summary = import_export(settings, export_zip, progress=lambda d, t, n: seen.append((d, t, n)))
    return settings, summary, seen


def landed_json(db: Path, source: str = "export") -> dict[int, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0]: json.loads(r[1]) for r in con.execute(
            "select activity_id, json from raw.activities where source = ?", [source]).fetchall()}
    finally:
        con.close()


# --------------------------------------------------------------------------- the happy path


def test_export_zip_has_strava_layout(export_zip, athlete):
    with zipfile.ZipFile(export_zip) as zf:
        names = zf.namelist()
        header = next(csv.reader(io.StringIO(zf.read("activities.csv").decode())))
    assert header == HEADERS[99] and len(header) == 99
    repeated = sorted({h for h in header if header.count(h) > 1})
    assert repeated == ["Commute", "Distance", "Elapsed Time", "Max Heart Rate", "Relative Effort"]
    assert "profile.csv" in names
    suffixes = {n.split(".", 1)[1] for n in names if n.startswith("activities/")}
    assert suffixes == set(FORMAT_CYCLE)


def test_every_activity_lands_with_csv_values(imported, athlete):
    settings, summary, _ = imported
    n = len(athlete.activities)
    assert (summary.total, summary.new, summary.updated, summary.unchanged) == (n, n, 0, 0)
    assert summary.streams == len(athlete.streams)
    assert summary.samples == sum(len(s["time"]) for s in athlete.streams.values())
    assert summary.skipped == [] and summary.refused == []
    assert summary.athlete_id == 4242  # from profile.csv: the database has no athlete yet
    landed = landed_json(settings.snapshot_path)
    assert set(landed) == {a["id"] for a in athlete.activities}
    for a in athlete.activities:
        got = landed[a["id"]]
        for key in ("sport_type", "type", "start_date", "start_date_local", "timezone", "moving_time",
                    "elapsed_time", "has_heartrate", "manual", "trainer", "commute", "name"):
            assert got[key] == a[key], (a["id"], key)
        for key in ("distance", "total_elevation_gain", "average_heartrate", "max_heartrate"):
            assert got[key] == pytest.approx(a[key], abs=0.051), (a["id"], key)
        assert got["workout_type"] is None
        assert got["athlete"] == {"id": 4242}


def test_streams_match_the_generating_data(imported, athlete):
    settings, _, _ = imported
    streams = landed_streams(settings.snapshot_path, "export")
    assert set(streams) == set(athlete.streams)
    for aid, src in athlete.streams.items():
        got = streams[aid]
        assert got["time"] == src["time"]
        assert zone_minutes(got["time"], got["heartrate"], LTHR) == zone_minutes(src["time"], src["heartrate"], LTHR)
        assert got["distance"][-1] == pytest.approx(src["distance"][-1], abs=0.06)
        assert max(abs(x - y) for x, y in zip(got["altitude"], src["altitude"])) <= 0.11
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    counts = dict(con.execute("select activity_id, sample_count from raw.stream_fetches where source = 'export'").fetchall())
    runs = con.execute("select kind, status, summary from raw.sync_runs").fetchall()
    con.close()
    for a in athlete.activities:
        assert counts[a["id"]] == len(athlete.streams[a["id"]]["time"]) if a["id"] in athlete.streams else counts[a["id"]] == 0
    assert [(k, s) for k, s, _ in runs] == [("import-export", "complete")]
    assert json.loads(runs[0][2])["new"] == len(athlete.activities)


def test_progress_reports_every_activity(imported, athlete):
    _, _, seen = imported
    n = len(athlete.activities)
    assert [d for d, _, _ in seen] == list(range(1, n + 1))
    assert {t for _, t, _ in seen} == {n}


def test_summary_lines(imported):
    _, summary, _ = imported
    lines = summary.lines()
    assert lines[0].startswith("Imported Strava export export_4242.zip in ")
    assert "30 activities (30 new, 0 updated, 0 unchanged)" in lines[0]
    assert any("manual entries without a file" in line for line in lines)


def test_reimport_changes_nothing_zip_or_folder(imported, export_zip, tmp_path):
    settings, _, _ = imported
    before = raw_state(settings.db_path)
    again = import_export(settings, export_zip)
    assert (again.new, again.updated, again.unchanged, again.streams) == (0, 0, 30, 0)
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(export_zip) as zf:
        zf.extractall(folder)
    as_folder = import_export(settings, folder)
    assert (as_folder.new, as_folder.updated, as_folder.unchanged) == (0, 0, 30)
    assert raw_state(settings.db_path) == before


def test_parallel_parse_lands_the_same(export_zip, imported, tmp_path):
    settings, _, _ = imported
    other = settings_for(tmp_path)
    import_export(other, export_zip, jobs=2)
    assert raw_state(other.db_path) == raw_state(settings.db_path)


# --------------------------------------------------------------------------- activities.csv


@pytest.mark.parametrize("columns", [94, 103])
def test_other_header_layouts(columns, tmp_path):
    athlete = make_athlete(n=4, seed=3)
    z = write_sample_export(athlete, tmp_path / "e.zip", columns=columns)
    settings = settings_for(tmp_path)
    summary = import_export(settings, z)
    assert summary.new == 4
    landed = landed_json(settings.snapshot_path)
    for a in athlete.activities:
        assert landed[a["id"]]["distance"] == pytest.approx(a["distance"], abs=0.051)  # metres, not km


def test_labels_map_to_sport_types():
    assert sport_type_from_label("Trail Run") == "TrailRun"
    assert sport_type_from_label("Weight Training") == "WeightTraining"
    assert sport_type_from_label("Mountain Bike Ride") == "MountainBikeRide"
    assert sport_type_from_label("Virtual Ride") == "VirtualRide"
    assert sport_type_from_label("E-Bike Ride") == "EBikeRide"
    assert sport_type_from_label("HIIT") == "HighIntensityIntervalTraining"
    assert sport_type_from_label("Hike") == "Hike"
    assert sport_type_from_label("Padel") == "Padel"  # unknown: kept, the category seed files it as other


GERMAN = ("Aktivitäts-ID,Aktivitätsdatum,Name der Aktivität,Aktivitätsart,Aktivitätsbeschreibung,Verstrichene Zeit,"
          "Distanz,Max. Herzfrequenz,Relative Leistung,Pendeln,Hinweis zur Privatsphäre für Aktivitäten,"
          "Aktivitätsausrüstung,Dateiname,Sportlergewicht,Fahrradgewicht,Verstrichene Zeit,Bewegungszeit,Distanz\n"
          '123,"20.09.2026, 14:12:12",Lauf,Laufen,,300,"10,20",,,false,,,activities/1.gpx,,,300,300,5000\n')


def test_localized_header_is_named(tmp_path):
    z = tmp_path / "export_1.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("activities.csv", "\ufeff" + GERMAN)
    with pytest.raises(ImportInputError) as e:
        import_export(settings_for(tmp_path), z)
    msg = str(e.value)
    assert "language trainsmart does not support yet" in msg and "Aktivitäts-ID" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("make", ["missing", "text", "no_csv", "empty_dir", "bad_zip"])
def test_bad_input_path_is_one_sentence(make, tmp_path):
    p = tmp_path / "input"
    if make == "text":
        p.write_text("hello")
    elif make == "no_csv":
        p = tmp_path / "x.zip"
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("profile.csv", "Athlete ID\n1\n")
    elif make == "empty_dir":
        p.mkdir()
    elif make == "bad_zip":
        p = tmp_path / "x.zip"
        p.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(ImportInputError) as e:
        import_export(settings_for(tmp_path), p)
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    assert msg.endswith(".") and "\n" not in msg
    assert not (tmp_path / "db" / "training.duckdb").exists()  # nothing opened for a bad path


# --------------------------------------------------------------------------- hostile and broken


def test_broken_and_hostile_files_are_reported_not_fatal(tmp_path):
    athlete = make_athlete(n=12, seed=5)
    recorded = [a for a in athlete.activities if a["id"] in athlete.streams]
    formats = {a["id"]: "fit.gz" for a in recorded}
    z = write_sample_export(athlete, tmp_path / "export_4242.zip", formats=formats)
    # Re-point rows at hostile or broken files, the way a damaged export would.
    with zipfile.ZipFile(z) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    csv_text = members["activities.csv"].decode()
    victims = [a["id"] for a in recorded[:8]]
    fit = activity_file(recorded[0], athlete.streams[recorded[0]["id"]], "fit")
    swaps = {
        victims[0]: ("../evil.fit", fit),  # zip slip
        victims[1]: ("activities/truncated.fit", fit[: len(fit) // 2]),
        victims[2]: ("activities/garbage.gpx", b"<gpx><trk><trkseg><trkpt lat='1' lon='2'><time>"),
        victims[3]: ("activities/route.kml", b"<kml/>"),
        victims[4]: ("activities/missing.fit.gz", None),
        victims[5]: ("activities/broken.fit.gz", gzip.compress(fit)[:-40]),
    }
    if SHARED_SAMPLES.is_dir():
        swaps[victims[6]] = ("activities/eof.fit", (SHARED_SAMPLES / "activity-unexpected-eof.fit").read_bytes())
        swaps[victims[7]] = ("activities/android.fit",
                             (SHARED_SAMPLES / "strava-android-app-201.10-b1218918.fit").read_bytes())
    lines = csv_text.splitlines()
    for i, line in enumerate(lines):
        aid = int(line.split(",", 1)[0]) if line[:1].isdigit() else None
        if aid in swaps:
            old = next(n for n in members if n.startswith("activities/") and n in line)
            lines[i] = line.replace(old, swaps[aid][0])
            del members[old]
    members["activities.csv"] = ("\n".join(lines) + "\n").encode()
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(hostile, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for aid, (name, data) in swaps.items():
            if data is not None:
                zf.writestr(name, data)
        zf.writestr("/etc/trainsmart-absolute.txt", b"x")
    settings = settings_for(tmp_path)
    summary = import_export(settings, hostile)

    assert summary.new == len(athlete.activities)  # every activity still lands, from the CSV
    assert summary.without_stream == len(swaps)
    named = {n for n, _ in summary.skipped} | {n for n, _ in summary.refused}
    for name, _ in swaps.values():
        assert name in named
    assert "/etc/trainsmart-absolute.txt" in {n for n, _ in summary.refused}
    reasons = dict(summary.skipped)
    assert "truncated" in reasons["activities/truncated.fit"]
    assert "unknown file type" in reasons["activities/route.kml"]
    assert "missing from the export" in reasons["activities/missing.fit.gz"]
    assert "XML" in reasons["activities/garbage.gpx"]
    if SHARED_SAMPLES.is_dir():
        assert "local message 11 not defined" in reasons["activities/android.fit"]
    assert not (tmp_path / "evil.fit").exists() and not (tmp_path.parent / "evil.fit").exists()
    text = "\n".join(summary.lines())
    for name in named:
        assert name in text
    landed = landed_json(settings.snapshot_path)
    streams = landed_streams(settings.snapshot_path, "export")
    for aid in swaps:
        assert aid in landed and aid not in streams
        assert landed[aid]["distance"] > 0
    # A re-import reports the same files again and writes nothing.
    before = raw_state(settings.db_path)
    again = import_export(settings, hostile)
    assert (again.new, again.updated) == (0, 0)
    assert {n for n, _ in again.skipped} | {n for n, _ in again.refused} == named
    assert raw_state(settings.db_path) == before


# --------------------------------------------------------------------------- ids, zones, deletions


def test_athlete_id_prefers_the_database(tmp_path):
    export_zip = write_sample_export(make_athlete(n=3, seed=1, step_choices=(10,)), tmp_path / "export_4242.zip")
    settings = settings_for(tmp_path)
    from pipelines import warehouse

    settings.db_path.parent.mkdir(parents=True)
    con = warehouse.connect_writer(settings.db_path)
    con.execute("insert into raw.athlete values (777, '{\"id\": 777}', now())")
    con.close()
    summary = import_export(settings, export_zip)
    assert summary.athlete_id == 777
    assert any("4242" in n for n in summary.notes)
    assert {a["athlete"]["id"] for a in landed_json(settings.snapshot_path).values()} == {777}


def test_athlete_id_from_the_export_name_without_profile(tmp_path):
    athlete = make_athlete(n=2, seed=2)
    z = write_sample_export(athlete, tmp_path / "export_31337.zip")
    stripped = tmp_path / "export_31337_copy"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(stripped)
    (stripped / "profile.csv").unlink()
    target = tmp_path / "export_31337"
    stripped.rename(target)
    assert import_export(settings_for(tmp_path), target).athlete_id == 31337


def test_zone_fallback_for_files_without_one(tmp_path):
    athlete = make_athlete(n=12, seed=9, step_choices=(5, 10))
    recorded = [a for a in athlete.activities if a["id"] in athlete.streams and a["start_latlng"]]
    tcx_id = recorded[1]["id"]
    # A TCX without positions: no zone in the file.
    athlete.streams[tcx_id] = dict(athlete.streams[tcx_id])
    act = next(a for a in athlete.activities if a["id"] == tcx_id)
    act["start_latlng"] = []
    manual = [a for a in athlete.activities if a["manual"]]
    assert manual
    z = write_sample_export(athlete, tmp_path / "e.zip", formats={tcx_id: "tcx"})
    for zone, expect in (("America/Denver", "America/Denver"), (None, "Europe/Ljubljana")):
        settings = settings_for(tmp_path / (zone or "none").replace("/", "_"), timezone=zone)
        import_export(settings, z)
        landed = landed_json(settings.snapshot_path)
        for aid in [tcx_id] + [m["id"] for m in manual]:
            assert landed[aid]["timezone"].endswith(expect), (zone, landed[aid]["timezone"])
        again = import_export(settings, z)
        assert (again.new, again.updated) == (0, 0)


def test_activities_gone_from_a_newer_export_are_marked_deleted(tmp_path):
    athlete = make_athlete(n=8, seed=4)
    settings = settings_for(tmp_path)
    import_export(settings, write_sample_export(athlete, tmp_path / "a" / "full.zip"))
    ordered = sorted(athlete.activities, key=lambda a: a["start_date"])
    # An older export (before the last two activities) deletes nothing.
    older = type(athlete)(athlete.athlete, ordered[:-2], athlete.streams)
    assert import_export(settings, write_sample_export(older, tmp_path / "b" / "older.zip")).deleted == 0
    # A newer export without the third activity: deleted on Strava.
    newer = type(athlete)(athlete.athlete, ordered[:2] + ordered[3:], athlete.streams)
    summary = import_export(settings, write_sample_export(newer, tmp_path / "c" / "newer.zip"))
    assert summary.deleted == 1
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    deleted = con.execute("select activity_id from raw.activities where deleted_at is not null").fetchall()
    con.close()
    assert deleted == [(ordered[2]["id"],)]
    # A row whose date cannot be read is reported and left out, but not taken for deleted.
    z = write_sample_export(athlete, tmp_path / "d" / "full.zip")
    with zipfile.ZipFile(z) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    text = members["activities.csv"].decode()
    victim = str(ordered[4]["id"])
    line = next(x for x in text.splitlines() if x.startswith(victim + ","))
    members["activities.csv"] = text.replace(line, line.replace(line.split('"')[1], "someday")).encode()
    damaged = tmp_path / "e" / "damaged.zip"
    damaged.parent.mkdir()
    with zipfile.ZipFile(damaged, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    summary = import_export(settings, damaged)
    # the third one is back (un-deleted), the victim untouched, nothing deleted
    assert (summary.deleted, summary.new, summary.updated, summary.unchanged) == (0, 0, 1, 6)
    assert any("someday" in reason for _, reason in summary.skipped)


# --------------------------------------------------------------------------- interrupted import

KILL_SCRIPT = textwrap.dedent("""
    import dataclasses, sys, time
    from pathlib import Path
    from pipelines.config import load_settings
    from pipelines.imports.strava_export import import_export

    def progress(done, total, name):
        print(done, flush=True)
        time.sleep(0.05)

    if __name__ == "__main__":
        db = Path(sys.argv[2])
        settings = dataclasses.replace(load_settings(), db_path=db, home=db.parent, timezone=None)
        import_export(settings, Path(sys.argv[1]), progress=progress, jobs=1, batch_activities=4)
        print("finished", flush=True)
""")


def test_killed_import_rerun_ends_identical(tmp_path):
    athlete = make_athlete(n=40, seed=13, step_choices=(10, 20))
    z = write_sample_export(athlete, tmp_path / "export_4242.zip")
    script = tmp_path / "run_import.py"
    script.write_text(KILL_SCRIPT)
    db = tmp_path / "killed" / "training.duckdb"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(script), str(z), str(db)], stdout=subprocess.PIPE, text=True,
                            cwd=str(ROOT), env=env)
    done = 0
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if line.strip().isdigit():
            done = int(line)
        if done >= 14 or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 14 <= done < 40, "the import must be killed mid-way"
    partial = raw_state(db)
    assert 0 < len(partial["activities"]) < 40

    settings = dataclasses.replace(settings_for(tmp_path / "killed"), db_path=db)
    summary = import_export(settings, z)
    assert summary.new + summary.unchanged == 40 and summary.updated == 0
    clean = settings_for(tmp_path / "clean")
    import_export(clean, z)
    assert raw_state(db) == raw_state(clean.db_path)
    con = duckdb.connect(str(settings.snapshot_path), read_only=True)
    runs = con.execute("select status, message from raw.sync_runs order by started_at").fetchall()
    con.close()
    assert runs[0][0] == "failed" and "interrupted" in runs[0][1]
    assert runs[1][0] == "complete"


# --------------------------------------------------------------------------- the real sample athlete


def test_sample_athlete_round_trip(tmp_path):
    gen = pytest.importorskip("pipelines.sandbox.sample_athlete")
    import datetime as dt

    athlete = gen.generate_sample_athlete(dt.date(2026, 3, 1), seed=7, years=0.1)
    z = sample_export.write_sample_export(athlete, tmp_path)
    settings = settings_for(tmp_path)
    summary = import_export(settings, z)
    assert summary.new == len(athlete.activities) and not summary.skipped
    landed = landed_json(settings.snapshot_path)
    streams = landed_streams(settings.snapshot_path, "export")
    for a in athlete.activities:
        got = landed[a["id"]]
        assert (got["sport_type"], got["start_date"], got["moving_time"]) == (a["sport_type"], a["start_date"],
                                                                             a["moving_time"])
        assert got["start_date_local"] == a["start_date_local"] or a["manual"]
        assert got["distance"] == pytest.approx(a["distance"], abs=0.051)
    lthr = getattr(gen, "LTHR", LTHR)
    for aid, src in athlete.streams.items():
        assert zone_minutes(streams[aid]["time"], streams[aid]["heartrate"], lthr) == \
            zone_minutes(src["time"], src["heartrate"], lthr)


def test_fit_writer_output_is_strict_fit():
    import datetime as dt

    import fitdecode

    data = encode_activity(start_utc=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), time_s=[0, 1, 2],
                           heartrate=[100, 101, None], distance_m=[0, 3, 6], altitude_m=[10, 10.2, 10.4],
                           sport="running", local_offset_s=3600)
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE,
                             error_handling=fitdecode.ErrorHandling.RAISE) as r:
        msgs = [f.name for f in r if isinstance(f, fitdecode.FitDataMessage)]
    assert msgs == ["file_id", "record", "record", "record", "session", "activity"]


def test_unpacked_folder_link_pointing_outside_is_refused(tmp_path):
    athlete = make_athlete(n=4, seed=8, step_choices=(10,))
    z = write_sample_export(athlete, tmp_path / "export_4242.zip")
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(folder)
    victim = sorted((folder / "activities").iterdir())[0]
    outside = tmp_path / "secret.gpx"
    outside.write_text("<gpx/>")
    victim.unlink()
    victim.symlink_to(outside)
    settings = settings_for(tmp_path)
    summary = import_export(settings, folder)
    assert summary.new == 4 and summary.without_stream == 1
    name = f"activities/{victim.name}"
    assert [n for n, r in summary.refused if "outside the export folder" in r] == [name]
