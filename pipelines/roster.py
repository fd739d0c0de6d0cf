"""The roster of a club or coach deployment: `athletes.toml` (CONTRACT.md).

One `[[athlete]]` table per athlete: `key` (a slug), `name`, `report_to` (addresses),
`timezone`, an optional profile (`hr_max`, `hr_rest`, `lthr`, `sex`, `min_runs_per_week`)
and sources (`strava_athlete_id` once authorized, `garmin_key_file`); an optional `[coach]`
table with `report_to` for the weekly digest. The file is TRAINSMART_ATHLETES, default
TRAINSMART_HOME/athletes.toml. Without the file, trainsmart serves one athlete from the
environment, exactly as before.

Each athlete's own state (their Strava token file) lives under TRAINSMART_HOME/athletes/KEY/.
Every mistake in the file is one plain sentence naming the athlete and the field.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, fields
from pathlib import Path

from pipelines.config import ConfigError, Settings, normalize_sex

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
PROFILE_FIELDS = ("hr_max", "hr_rest", "lthr", "min_runs_per_week")


@dataclass
class Athlete:
    key: str
    name: str
    report_to: list[str]
    timezone: str
    hr_max: int | None = None
    hr_rest: int | None = None
    lthr: int | None = None
    sex: str | None = None
    min_runs_per_week: int | None = None
    strava_athlete_id: int | None = None
    garmin_key_file: str | None = None

    def home(self, settings: Settings) -> Path:
        return settings.home / "athletes" / self.key

    def strava_token_file(self, settings: Settings) -> Path:
        return self.home(settings) / "strava_token.json"


@dataclass
class Roster:
    path: Path
    athletes: list[Athlete] = field(default_factory=list)
    coach_report_to: list[str] = field(default_factory=list)

    def get(self, key: str) -> Athlete:
        for athlete in self.athletes:
            if athlete.key == key:
                return athlete
        known = ", ".join(a.key for a in self.athletes) or "none yet"
        raise ConfigError(f"No athlete '{key}' in the roster {self.path} (athletes: {known}).")


def roster_path(settings: Settings) -> Path:
    value = os.environ.get("TRAINSMART_ATHLETES")
    return Path(value).expanduser().absolute() if value else settings.home / "athletes.toml"


def load_roster(settings: Settings) -> Roster | None:
    """The roster, or None when there is no roster file (one athlete from the environment)."""
    path = roster_path(settings)
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"The roster {path} is not valid TOML ({str(e).splitlines()[0]}).") from None
    roster = Roster(path, [_athlete(path, i, raw) for i, raw in enumerate(data.get("athlete") or [], 1)],
                    _addresses(path, "coach", (data.get("coach") or {}).get("report_to")))
    seen: set[str] = set()
    for athlete in roster.athletes:
        if athlete.key in seen:
            raise ConfigError(f"The roster {path} names athlete '{athlete.key}' twice; keys must be unique.")
        seen.add(athlete.key)
    return roster


def _athlete(path: Path, index: int, raw: object) -> Athlete:
    if not isinstance(raw, dict):
        raise ConfigError(f"Athlete {index} in {path} must be a [[athlete]] table.")
    key = str(raw.get("key", ""))
    who = f"athlete '{key}'" if key else f"athlete {index}"
    if not KEY_PATTERN.match(key):
        raise ConfigError(f"The key of {who} in {path} must be a slug: lowercase letters, digits and dashes.")
    unknown = set(raw) - {f.name for f in fields(Athlete)}
    if unknown:
        raise ConfigError(f"{who.capitalize()} in {path} has unknown fields: {', '.join(sorted(unknown))}.")
    for name in ("name", "timezone"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ConfigError(f"{who.capitalize()} in {path} needs a {name}.")
    try:
        zoneinfo.ZoneInfo(raw["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"The timezone of {who} in {path} is not an IANA zone (like Europe/Zurich): "
                          f"{raw['timezone']!r}.") from None
    values = {}
    for name in PROFILE_FIELDS + ("strava_athlete_id",):
        value = raw.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ConfigError(f"The {name} of {who} in {path} must be a positive whole number, got {value!r}.")
        values[name] = value
    sex = raw.get("sex")
    garmin_key_file = raw.get("garmin_key_file")
    return Athlete(key=key, name=raw["name"].strip(), report_to=_addresses(path, who, raw.get("report_to")),
                   timezone=raw["timezone"], sex=normalize_sex(sex) if sex is not None else None,
                   garmin_key_file=str(garmin_key_file) if garmin_key_file else None, **values)


def _addresses(path: Path, who: str, value: object) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(a, str) and EMAIL_PATTERN.match(a.strip()) for a in items):
        raise ConfigError(f"The report_to of {who} in {path} must be a list of email addresses, got {value!r}.")
    return [a.strip() for a in items]


def save_roster(roster: Roster) -> None:
    """Write the roster back as TOML (atomic rename; comments in a hand-edited file are not kept)."""
    lines = ["# trainsmart roster: one [[athlete]] table per athlete (README, 'A club or a coach').", ""]
    if roster.coach_report_to:
        lines += ["[coach]", f"report_to = {_toml(roster.coach_report_to)}", ""]
    for athlete in roster.athletes:
        lines.append("[[athlete]]")
        for f in fields(Athlete):
            value = getattr(athlete, f.name)
            if value is not None and value != []:
                lines.append(f"{f.name} = {_toml(value)}")
        lines.append("")
    roster.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = roster.path.with_name(roster.path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(roster.path)


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def roster_strava_ids(settings: Settings) -> set[int]:
    """The Strava athlete ids of the roster's connected athletes (empty without a roster)."""
    roster = load_roster(settings)
    return {a.strava_athlete_id for a in roster.athletes if a.strava_athlete_id} if roster else set()
