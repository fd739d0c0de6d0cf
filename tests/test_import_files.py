"""Device-file import (FIT / GPX / TCX, also .gz) and the parsers, against generated files and
the real device files of other projects' test suites (../shared/samples/device-files)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import gpxpy
import pytest

from pipelines.imports.common import ImportInputError, resolve_local_time
from pipelines.imports.device_files import content_id, elevation_gain, import_files, summarize
from pipelines.imports.parsers import ParseError, parse_path, parse_stream
from pipelines.sandbox.sample_export import activity_file
from tests.import_fixtures import SHARED_SAMPLES, landed_streams, make_athlete, raw_state, settings_for, zone_minutes

LTHR = 165
UTC = dt.timezone.utc
needs_samples = pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason="the shared device files (../shared/samples/device-files) are missing")


def landed(db: Path) -> dict[int, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0]: json.loads(r[1]) for r in con.execute(
            "select activity_id, json from raw.activities where source = 'files'").fetchall()}
    finally:
        con.close()


# --------------------------------------------------------------------------- generated files


@pytest.fixture(scope="module")
def watch_folder(tmp_path_factory):
    """A watch's folder: every recorded activity of a generated athlete, in every format."""
    athlete = make_athlete(n=24, seed=21, step_choices=(2, 5, 10))
    folder = tmp_path_factory.mktemp("watch")
    cycle = ["fit", "fit.gz", "gpx", "gpx.gz", "tcx", "tcx.gz"]
    written = {}
    k = 0
    for a in athlete.activities:
        if a["id"] not in athlete.streams:
            continue
        fmt = cycle[k % len(cycle)]
        k += 1
        if not a["start_latlng"] and not fmt.startswith("fit"):
            fmt = "fit"
        name = f"{a['start_date'][:10]}-{k:03d}.{fmt}"
        (folder / name).write_bytes(activity_file(a, athlete.streams[a["id"]], fmt))
        written[name] = a
    return athlete, folder, written


@pytest.fixture(scope="module")
def imported_files(watch_folder, tmp_path_factory):
    athlete, folder, written = watch_folder
    settings = settings_for(tmp_path_factory.mktemp("db"))
    summary = import_files(settings, folder)
    return settings, summary


def test_files_land_with_values_computed_from_the_file(watch_folder, imported_files):
    athlete, folder, written = watch_folder
    settings, summary = imported_files
    assert (summary.new, summary.updated, summary.unchanged) == (len(written), 0, 0)
    assert summary.skipped == []
    rows = landed(settings.snapshot_path)
    by_external = {j["external_id"]: j for j in rows.values()}
    assert len(rows) == len(written)
    for name, a in written.items():
        got = by_external[name]
        assert got["start_date"] == a["start_date"]
        assert got["start_date_local"] == a["start_date_local"], name
        assert got["timezone"] == a["timezone"], name
        assert got["elapsed_time"] == a["elapsed_time"]
        # moving: intervals covered at >= 0.5 m/s; the generator's stops cover none
        assert got["moving_time"] == a["moving_time"], name
        assert got["distance"] == pytest.approx(a["distance"], abs=0.1), name
        assert got["total_elevation_gain"] == pytest.approx(a["total_elevation_gain"], rel=0.05, abs=3.0), name
        assert got["max_heartrate"] == a["max_heartrate"]
        if a["average_heartrate"] is None:
            assert got["average_heartrate"] is None
        else:
            assert got["average_heartrate"] == pytest.approx(a["average_heartrate"], abs=0.051)
        assert got["has_heartrate"] == a["has_heartrate"]
        if name.split(".", 1)[1].startswith("tcx"):  # TCX knows Running / Biking / Other only
            assert got["type"] == ("Ride" if "Ride" in a["sport_type"] else a["type"] if a["type"] == "Run" else "Workout")
        else:
            assert got["sport_type"] == a["sport_type"], name
        assert got["trainer"] == a["trainer"]
        assert got["manual"] is False and got["workout_type"] is None


def test_files_streams_give_the_same_hr_zones(watch_folder, imported_files):
    athlete, folder, written = watch_folder
    settings, _ = imported_files
    streams = landed_streams(settings.snapshot_path, "files")
    rows = landed(settings.snapshot_path)
    by_external = {j["external_id"]: aid for aid, j in rows.items()}
    for name, a in written.items():
        got = streams[by_external[name]]
        src = athlete.streams[a["id"]]
        assert got["time"] == src["time"]
        assert zone_minutes(got["time"], got["heartrate"], LTHR) == zone_minutes(src["time"], src["heartrate"], LTHR)


def test_reimport_and_reexport_keep_one_activity(watch_folder, imported_files, tmp_path):
    athlete, folder, written = watch_folder
    settings, _ = imported_files
    before = raw_state(settings.db_path)
    again = import_files(settings, folder)
    assert (again.new, again.updated, again.unchanged, again.streams) == (0, 0, len(written), 0)
    assert raw_state(settings.db_path) == before
    # The same recording re-exported (another container, other bytes): the same activity id.
    name = next(n for n in written if n.endswith(".fit"))
    copy = tmp_path / "reexported"
    copy.mkdir()
    (copy / "again.fit.gz").write_bytes(gzip.compress((folder / name).read_bytes()))
    (copy / "twice.fit").write_bytes((folder / name).read_bytes() + b"")  # same bytes, other name
    summary = import_files(settings, copy)
    # twice.fit: the very bytes imported before -> unchanged, not read again;
    # again.fit.gz: other bytes, the same recording -> the same activity id, imported once.
    assert (summary.new, summary.updated, summary.unchanged) == (0, 0, 1)
    assert [n for n, r in summary.skipped if "the same recording as twice.fit" in r] == ["again.fit.gz"]
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "again.fit.gz").write_bytes((copy / "again.fit.gz").read_bytes())
    summary = import_files(settings, alone)
    assert (summary.new, summary.updated) == (0, 1)  # the same activity (its external_id changes)
    assert len(landed(settings.db_path)) == len(written)


def test_content_id_is_stable_and_positive(watch_folder):
    athlete, folder, written = watch_folder
    name = next(n for n in written if n.endswith(".fit"))
    a = parse_path(folder / name)
    b = parse_stream(io.BytesIO(gzip.compress((folder / name).read_bytes())), "x.fit.gz")
    assert content_id(a) == content_id(b) and 0 < content_id(a) < 2**63


def test_hostile_folder_is_reported_not_fatal(tmp_path):
    athlete = make_athlete(n=3, seed=1, step_choices=(10,))
    a = next(x for x in athlete.activities if x["id"] in athlete.streams)
    fit = activity_file(a, athlete.streams[a["id"]], "fit")
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.fit").write_bytes(fit)
    (folder / "truncated.fit").write_bytes(fit[: len(fit) // 3])
    (folder / "truncated.fit.gz").write_bytes(gzip.compress(fit)[:-50])
    (folder / "notgzip.gpx.gz").write_bytes(b"plain text, not gzip")
    (folder / "garbage.gpx").write_bytes(b"\x00\x01garbage")
    (folder / "empty.tcx").write_bytes(b"")
    (folder / "sub" / "notes.txt").write_text("hello")
    (folder / "wrong-root.gpx").write_bytes(b"<?xml version='1.0'?><kml/>")
    (folder / ".hidden.fit").write_bytes(b"ignored")
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i else "")) * 10}">' for i in range(1, 10))
            + ']><gpx><trk><name>&lol9;</name></trk></gpx>')
    (folder / "bomb.gpx").write_text(bomb)
    settings = settings_for(tmp_path)
    summary = import_files(settings, folder)
    assert summary.new == 1
    reasons = dict(summary.skipped)
    assert set(reasons) == {"truncated.fit", "truncated.fit.gz", "notgzip.gpx.gz", "garbage.gpx", "empty.tcx",
                            "sub/notes.txt", "wrong-root.gpx", "bomb.gpx"}
    assert "truncated" in reasons["truncated.fit"]
    assert "gzip" in reasons["truncated.fit.gz"] or "truncated" in reasons["truncated.fit.gz"]
    assert "gzip" in reasons["notgzip.gpx.gz"]
    assert "not a FIT, GPX or TCX" in reasons["sub/notes.txt"]
    assert "not a GPX file" in reasons["wrong-root.gpx"]
    lines = summary.lines()
    assert any(line.strip().startswith("bomb.gpx:") for line in lines)


def test_bad_folder_is_one_sentence(tmp_path):
    with pytest.raises(ImportInputError) as e:
        import_files(settings_for(tmp_path), tmp_path / "nope")
    assert isinstance(e.value, ValueError) and str(e.value).endswith(".") and "\n" not in str(e.value)


def test_summary_rules():
    from pipelines.imports.parsers import ParsedActivity

    p = ParsedActivity(format="fit", start_utc=dt.datetime(2024, 1, 1, tzinfo=UTC),
                       time_s=[0, 10, 20, 30, 100, 110, 115],
                       heartrate=[100, 120, 0, None, 130, 140, 150],
                       distance_m=[0, 30, 60, 61, 61, 100, 120],  # 3 m/s, 3 m/s, 0.1, 0, 3.9, 4
                       altitude_m=[100, 100.5, 101.2, 100.9, 103, 102.6, 110])
    s = summarize(p)
    assert s.moving_time == 10 + 10 + 10 + 5
    assert s.elapsed_time == 115
    assert s.distance == 120
    assert s.max_heartrate == 150 and s.average_heartrate == pytest.approx((100 + 120 + 130 + 140 + 150) / 5)
    assert s.elevation_gain == pytest.approx(10.0)  # 100 -> 101.2 (+1.2), 100.9 -> 103 (+2.1... from 101.2: +1.8), -> 110
    assert elevation_gain([100, 100.4, 100.1, 100.5, 100.2]) == 0.0  # sub-metre wiggles are noise
    no_distance = ParsedActivity(format="tcx", start_utc=p.start_utc, time_s=[0, 5, 10, 70, 75],
                                 heartrate=[90] * 5, distance_m=None, altitude_m=None)
    assert summarize(no_distance).moving_time == 15  # the 60 s gap is a pause


def _big_gpx(path: Path, n: int, padding: int) -> int:
    """A gzipped GPX of n one-second points, each carrying `padding` bytes of description."""
    start = dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    size = 0
    pad = "x" * padding
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
                'xmlns="http://www.topografix.com/GPX/1/1" '
                'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"><trk><trkseg>\n')
        for i in range(n):
            t = (start + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            line = (f'   <trkpt lat="{46 + i * 2e-5:.7f}" lon="14.5000000">\n'
                    f"    <ele>{300 + (i % 50) * 0.1:.1f}</ele>\n    <time>{t}</time>\n    <desc>{pad}</desc>\n"
                    "    <extensions>\n     <gpxtpx:TrackPointExtension>\n"
                    f"      <gpxtpx:hr>{120 + i % 40}</gpxtpx:hr>\n"
                    "     </gpxtpx:TrackPointExtension>\n    </extensions>\n   </trkpt>\n")
            size += len(line)
            f.write(line)
        f.write("</trkseg></trk></gpx>\n")
    return size


def _peak(path: Path):
    tracemalloc.start()
    parsed = parse_path(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return parsed, peak


def test_big_gzipped_gpx_streams(tmp_path):
    """Memory follows the number of samples, not the size of the document: a GPX of 8,000
    points parses in the same memory whether it is 1.5 MB or 13 MB."""
    n = 8_000
    _big_gpx(tmp_path / "compact.gpx.gz", n, 0)
    size = _big_gpx(tmp_path / "verbose.gpx.gz", n, 1500)
    compact, peak_compact = _peak(tmp_path / "compact.gpx.gz")
    verbose, peak_verbose = _peak(tmp_path / "verbose.gpx.gz")
    assert verbose.samples == n and verbose.time_s[-1] == n - 1 and verbose.heartrate[-1] == 120 + (n - 1) % 40
    assert verbose.distance_m[-1] == pytest.approx((n - 1) * 2e-5 * 3.141592653589793 / 180 * 6378137.0, rel=1e-4)
    assert peak_verbose < 1.3 * peak_compact
    assert peak_verbose < size / 4


def test_strava_tcx_with_leading_whitespace():
    doc = ('   \n\t  <?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
           'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities><Activity Sport="Running">'
           "<Id>2024-05-01T06:00:00Z</Id><Lap StartTime=\"2024-05-01T06:00:00Z\"><Track>"
           + "".join(f"<Trackpoint><Time>2024-05-01T06:00:{s:02d}Z</Time><DistanceMeters>{s * 3}</DistanceMeters>"
                     f"<HeartRateBpm><Value>{140 + s}</Value></HeartRateBpm></Trackpoint>" for s in range(0, 50, 5))
           + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>")
    with pytest.raises(ET.ParseError):
        ET.fromstring(doc)  # what a strict parser says
    p = parse_stream(io.BytesIO(doc.encode()), "strava.tcx")
    assert p.samples == 10 and p.heartrate[-1] == 185 and p.sport == "Running"
    assert p.start_utc == dt.datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def test_local_time_rules():
    start = dt.datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    zurich = (47.37, 8.54)
    fit = resolve_local_time(start, fit_offset_s=7200, lat=None, lon=None, fallback_zone="Europe/Zurich")
    assert (fit.start_local.hour, fit.timezone) == (14, "(GMT+01:00) Europe/Zurich")
    gps = resolve_local_time(start, fit_offset_s=None, lat=zurich[0], lon=zurich[1], fallback_zone="Asia/Tokyo")
    assert (gps.start_local.hour, gps.how) == (14, "gps")
    athlete = resolve_local_time(start, fit_offset_s=None, lat=None, lon=None, fallback_zone="Asia/Tokyo")
    assert (athlete.start_local.hour, athlete.how) == (21, "athlete")
    assert resolve_local_time(start, fit_offset_s=None, lat=None, lon=None, fallback_zone=None) is None
    utc = resolve_local_time(start, fit_offset_s=None, lat=None, lon=None, fallback_zone="UTC")
    assert utc.start_local.hour == 12
    # The FIT offset wins over the GPS zone ...
    travel = resolve_local_time(start, fit_offset_s=3 * 3600, lat=zurich[0], lon=zurich[1], fallback_zone=None)
    assert (travel.start_local.hour, travel.timezone) == (15, "(GMT+03:00) Etc/GMT-3")
    # ... except a FIT "local" time equal to UTC where the GPS zone is not at UTC (Coros).
    coros = resolve_local_time(start, fit_offset_s=0, lat=zurich[0], lon=zurich[1], fallback_zone=None)
    assert (coros.start_local.hour, coros.how) == (14, "gps")


# --------------------------------------------------------------------------- the shared real files


def shared(name: str) -> Path:
    return SHARED_SAMPLES / name


@needs_samples
@pytest.mark.parametrize("name, samples, with_hr, seconds, offset, sport", [
    ("2013-02-06-12-11-14.fit", 590, 590, 2624, None, "running"),
    ("activity-small-fenix2-run.fit", 2809, 2808, 2833, 7200, "running"),
    ("developer-types-sample.fit", 3424, 3424, 3423, None, "running"),
    ("garmin-fenix-5-run.fit", 21, 21, 57, -7 * 3600, "running"),
    ("garmin-fenix-5-walk.fit", 17, 17, 46, -7 * 3600, "walking"),
    ("sample-activity.fit", 3098, 3098, 11742, None, "cycling"),
    ("coros-pace-2-cycling-misaligned-fields.fit", 11272, 8946, 12718, 0, "cycling"),
])
def test_shared_fit_files(name, samples, with_hr, seconds, offset, sport, recwarn):
    p = parse_path(shared(name))
    assert p.samples == samples
    assert sum(1 for h in p.heartrate if h) == with_hr
    assert p.time_s[-1] == seconds
    assert p.local_offset_s == offset
    assert p.sport == sport
    assert not [w for w in recwarn if "fitdecode" in str(w.filename)]  # no warnings leak


@needs_samples
def test_shared_fit_facts():
    ride = parse_path(shared("sample-activity.fit"))
    assert ride.start_utc.date() == dt.date(2011, 6, 26) and ride.end_utc.date() == dt.date(2011, 6, 27)
    assert 3 * 3600 + 15 * 60 < ride.time_s[-1] < 3 * 3600 + 17 * 60
    fenix = parse_path(shared("garmin-fenix-5-run.fit"))
    local = resolve_local_time(fenix.start_utc, fit_offset_s=fenix.local_offset_s, lat=fenix.first_lat,
                               lon=fenix.first_lon, fallback_zone=None)
    assert local.start_local == dt.datetime(2017, 6, 11, 7, 34, 9)
    assert local.timezone == "(GMT-08:00) America/Los_Angeles"


@needs_samples
@pytest.mark.parametrize("name, reason", [
    ("strava-android-app-201.10-b1218918.fit", "local message 11 not defined"),
    ("Settings.fit", "not an activity"),
    ("MonitoringFile.fit", "not an activity"),
    ("activity-settings-corruptheader.fit", "not a FIT file"),
    ("activity-unexpected-eof.fit", "truncated"),
    ("Mojstrovka.gpx", "1901-12-13"),
    ("cerknicko-without-times.gpx", "only 5 of its 296 track points have a time"),
    ("route.gpx", "no track points"),
    ("gpx_with_garmin_extension.gpx", "no track points"),
    ("unicode_with_bom.gpx", "no track points"),
])
def test_shared_unusable_files_say_why(name, reason):
    with pytest.raises(ParseError) as e:
        parse_path(shared(name))
    assert reason in str(e.value)


@needs_samples
@pytest.mark.parametrize("name, samples, points, untimed", [
    ("cerknicko-jezero-without-elevations.gpx", 295, 296, 1),
    ("korita-zbevnica.gpx", 513, 871, 358),
])
def test_shared_gpx_files_agree_with_gpxpy(name, samples, points, untimed):
    p = parse_path(shared(name))
    assert (p.samples, p.points_total, p.points_untimed) == (samples, points, untimed)
    with open(shared(name), encoding="utf-8") as f:
        g = gpxpy.parse(f)
    pts = [pt for t in g.tracks for s in t.segments for pt in s.points]
    assert len(pts) == points and sum(1 for pt in pts if pt.time) == samples
    timed = [pt for pt in pts if pt.time]
    assert p.start_utc == timed[0].time.replace(microsecond=0)
    assert p.time_s[-1] == int((timed[-1].time - timed[0].time).total_seconds())
    if name.startswith("cerknicko"):
        assert p.altitude_m is None
    # distance: the length along the timed points (gpxpy's own 2D length, which approximates
    # short legs on a flat earth, agrees with the haversine sum to 0.1%)
    expected = sum(a.distance_2d(b) for a, b in zip(timed, timed[1:]))
    assert p.distance_m[-1] == pytest.approx(expected, rel=1e-3)


@needs_samples
@pytest.mark.parametrize("name, samples", [("sup_activity_1.tcx", 111), ("cross-country-skiing_activity_1.tcx", 486)])
def test_shared_tcx_files(name, samples):
    p = parse_path(shared(name))
    assert p.samples == samples and all(p.heartrate) and p.sport == "Other"
    root = ET.parse(shared(name)).getroot()
    assert len(root.findall(".//{*}Trackpoint")) == samples


@needs_samples
def test_import_the_shared_folder(tmp_path):
    settings = settings_for(tmp_path)
    summary = import_files(settings, SHARED_SAMPLES)
    assert summary.new == 11
    reasons = dict(summary.skipped)
    for name in ("strava-android-app-201.10-b1218918.fit", "activity-unexpected-eof.fit",
                 "activity-settings-corruptheader.fit", "Mojstrovka.gpx", "Settings.fit", "MonitoringFile.fit",
                 "route.gpx", "README.md"):
        assert name in reasons
    rows = {j["external_id"]: j for j in landed(settings.snapshot_path).values()}
    assert rows["garmin-fenix-5-run.fit"]["start_date_local"] == "2017-06-11T07:34:09Z"
    assert rows["activity-small-fenix2-run.fit"]["timezone"] == "(GMT+01:00) Europe/Oslo"
    assert rows["activity-small-fenix2-run.fit"]["start_date_local"] == "2015-08-15T16:45:08Z"
    # Coros writes UTC as its "local" time; the GPS point (Bogota) names the zone.
    assert rows["coros-pace-2-cycling-misaligned-fields.fit"]["timezone"].endswith("America/Bogota")
    assert rows["coros-pace-2-cycling-misaligned-fields.fit"]["sport_type"] == "Ride"
    assert rows["sup_activity_1.tcx"]["sport_type"] == "Workout"
    assert rows["korita-zbevnica.gpx"]["elapsed_time"] == 13381
    assert any("korita-zbevnica.gpx: 358 of 871" in n for n in summary.notes)
    again = import_files(settings, SHARED_SAMPLES)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 11)


def test_waits_for_another_writer_and_says_so(tmp_path):
    import threading

    from pipelines import warehouse

    athlete = make_athlete(n=2, seed=1, step_choices=(10,))
    a = next(x for x in athlete.activities if x["id"] in athlete.streams)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "one.fit").write_bytes(activity_file(a, athlete.streams[a["id"]], "fit"))
    settings = settings_for(tmp_path)
    calls = []
    result = {}
    with warehouse.writer_lock(settings.db_path):
        worker = threading.Thread(target=lambda: result.update(s=import_files(
            settings, folder, progress=lambda d, t, n: calls.append((d, t, n)))))
        worker.start()
        deadline = dt.datetime.now() + dt.timedelta(seconds=10)
        while not calls and dt.datetime.now() < deadline:
            worker.join(0.05)
        assert calls and calls[0][0] == 0 and "waiting for another trainsmart run" in calls[0][2]
        assert "s" not in result
    worker.join(30)
    assert result["s"].new == 1 and calls[-1][:2] == (1, 1)


def test_files_join_the_athlete_of_the_export(tmp_path):
    from pipelines.sandbox.sample_export import write_sample_export
    from pipelines.imports.strava_export import import_export

    athlete = make_athlete(n=3, seed=2, step_choices=(10,))
    settings = settings_for(tmp_path)
    folder = tmp_path / "watch"
    folder.mkdir()
    a = next(x for x in athlete.activities if x["id"] in athlete.streams)
    (folder / "w.fit").write_bytes(activity_file(a, athlete.streams[a["id"]], "fit"))
    assert import_files(settings, folder).athlete_id == 0  # nothing known yet
    import_export(settings, write_sample_export(athlete, tmp_path / "export_4242.zip"))
    again = import_files(settings, folder)
    assert (again.athlete_id, again.updated) == (4242, 1)  # re-filed under the export's athlete
    assert {j["athlete"]["id"] for j in landed(settings.snapshot_path).values()} == {4242}
