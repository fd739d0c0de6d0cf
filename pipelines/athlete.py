"""Facts about the athlete that several parts need and that come from the landed data."""

from __future__ import annotations

import zoneinfo

from pipelines import warehouse
from pipelines.config import Settings


def athlete_timezone(settings: Settings) -> str:
    """ATHLETE_TIMEZONE, else the zone most of the athlete's activities were recorded in, else UTC.

    Strava writes the zone as "(GMT+01:00) Europe/Zurich"; the IANA name follows the ") ".
    Reads the snapshot, so it never waits for or blocks a writer.
    """
    if settings.timezone:
        return _valid(settings.timezone) or "UTC"
    if not settings.snapshot_path.exists():
        return "UTC"
    try:
        con = warehouse.connect_reader(settings.snapshot_path)
    except Exception:
        return "UTC"
    try:
        row = con.execute("""
            select regexp_extract(json->>'timezone', '\\) (.+)$', 1) as zone, count(*) as n
            from raw.activities where deleted_at is null and json->>'timezone' is not null
            group by zone having zone <> '' order by n desc, zone limit 1""").fetchone()
    except Exception:
        row = None
    finally:
        con.close()
    return (_valid(row[0]) if row else None) or "UTC"


def _valid(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
        return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
