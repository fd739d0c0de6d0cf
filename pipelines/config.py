"""Settings read once from the environment (and a `.env` file), as CONTRACT.md lists them.

Every other module asks this one for paths, credentials and the athlete profile, so the
defaults live in exactly one place.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

from pipelines.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_BASE_URL = "https://www.strava.com"
GARMIN_BASE_URL = "https://personal.connectapi.garmin.com"
# Where Garmin's own client (garmin-connect-personal-api-python) reads the key from.
GARMIN_KEY_FILE = "~/.config/garmin/connect-personal-api-key"  # ~ = $HOME when settings load


class ConfigError(UserError):
    """Bad or missing configuration; the message is one sentence a user can act on."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int_env(name: str) -> int | None:
    value = _env(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}.") from None


def beside_interpreter(name: str) -> str:
    """The program `name` from this Python environment's bin/ (dbt, dagster), found even when
    that folder is not on PATH (systemd, a direct `.venv/bin/...` call); else `name` itself."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def dbt_executable() -> str:
    """The dbt every build runs: TRAINSMART_DBT when set (a wrapper around this environment's
    dbt, say one that runs it under `nice`: dagster-dbt takes its version from the installed
    dbt-core), else this environment's own, found even when its bin/ is not on PATH (systemd,
    `.venv/bin/dagster dev`)."""
    return os.environ.get("TRAINSMART_DBT") or beside_interpreter("dbt")


def normalize_sex(value: str | None) -> str | None:
    """F/female -> 'F', M/male -> 'M' (any case); anything else is unspecified (None)."""
    v = (value or "").strip().lower()
    if v in ("f", "female"):
        return "F"
    if v in ("m", "male"):
        return "M"
    return None


@dataclass(frozen=True)
class Settings:
    db_path: Path
    home: Path
    strava_client_id: str | None
    strava_client_secret: str | None = field(repr=False)
    strava_refresh_token: str | None = field(repr=False)
    strava_base_url: str
    hr_max: int | None
    hr_rest: int | None
    lthr: int | None
    sex: str | None
    timezone: str | None
    as_of: dt.date | None
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None = field(repr=False)
    smtp_security: str
    report_from: str | None
    report_to: tuple[str, ...]
    lookback_days: int = 7
    reconcile_days: int = 7
    # Garmin Connect Personal API (GARMIN.md): the key from GARMIN_PERSONAL_API_KEY, else
    # read from garmin_key_file when a sync starts (as Garmin's own client does).
    garmin_api_key: str | None = field(default=None, repr=False)
    garmin_key_file: Path = Path(GARMIN_KEY_FILE)
    garmin_base_url: str = GARMIN_BASE_URL
    # the verify token of the Strava push subscription (webhook serve / subscribe)
    strava_webhook_verify_token: str | None = field(default=None, repr=False)

    @property
    def garmin_token_file(self) -> Path:
        """Garmin's short-lived bearer token, cached (mode 0600) and renewed before it expires."""
        return self.home / "garmin_token.json"

    def garmin_key(self) -> str | None:
        """The Personal API key: GARMIN_PERSONAL_API_KEY, else the key file; None when neither."""
        if self.garmin_api_key:
            return self.garmin_api_key.strip()
        try:
            key = self.garmin_key_file.read_text().strip()
        except OSError:
            return None
        return key or None

    @property
    def garmin_configured(self) -> bool:
        return self.garmin_key() is not None

    @property
    def strava_configured(self) -> bool:
        return bool(self.strava_client_id and self.strava_client_secret)

    @property
    def token_file(self) -> Path:
        return self.home / "strava_token.json"

    @property
    def snapshot_path(self) -> Path:
        """Read-only copy of the database published after every write (see warehouse.py)."""
        return self.db_path.with_name(self.db_path.stem + ".snapshot.duckdb")

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "trainsmart.log"

    def as_of_date(self) -> dt.date:
        """TRAINSMART_AS_OF, else today (local), as the models see it (macros/trainsmart_vars.sql)."""
        return self.as_of or dt.datetime.now().astimezone().date()

    def dbt_vars(self) -> dict:
        """The vars the pipeline passes to dbt: none today.

        Not the athlete profile: it is data (raw.athlete_profiles, written before every build
        by pipelines/profiles.py from the roster or the ATHLETE_* variables), so one build
        serves every athlete and a profile change is a data change, not a project change.
        Not the as-of date: dbt re-parses the whole project whenever a var changes, and that
        date moves every night; dbt reads it from TRAINSMART_AS_OF (or takes today) instead.
        """
        return {}


def load_settings() -> Settings:
    load_dotenv(Path.cwd() / ".env", override=False)
    as_of_raw = _env("TRAINSMART_AS_OF")
    as_of = None
    if as_of_raw:
        try:
            as_of = dt.date.fromisoformat(as_of_raw)
        except ValueError:
            raise ConfigError(f"TRAINSMART_AS_OF must be a date like 2026-03-01, got {as_of_raw!r}.") from None
    security = (_env("SMTP_SECURITY", "starttls") or "starttls").lower()
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError(f"SMTP_SECURITY must be none, starttls or ssl, got {security!r}.")
    home = Path(_env("TRAINSMART_HOME", "data/")).expanduser().absolute()
    return Settings(
        db_path=Path(_env("TRAINSMART_DB", "data/training.duckdb")).expanduser().absolute(),
        home=home,
        strava_client_id=_env("STRAVA_CLIENT_ID"),
        strava_client_secret=_env("STRAVA_CLIENT_SECRET"),
        strava_refresh_token=_env("STRAVA_REFRESH_TOKEN"),
        strava_base_url=(_env("STRAVA_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/"),
        hr_max=_int_env("ATHLETE_HR_MAX"),
        hr_rest=_int_env("ATHLETE_HR_REST"),
        lthr=_int_env("ATHLETE_LTHR"),
        sex=normalize_sex(_env("ATHLETE_SEX")),
        timezone=_env("ATHLETE_TIMEZONE"),
        as_of=as_of,
        smtp_host=_env("SMTP_HOST"),
        smtp_port=_int_env("SMTP_PORT") or 587,
        smtp_username=_env("SMTP_USERNAME"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_security=security,
        report_from=_env("REPORT_FROM"),
        report_to=tuple(a.strip() for a in (_env("REPORT_TO") or "").split(",") if a.strip()),
        lookback_days=_int_env("STRAVA_LOOKBACK_DAYS") if _env("STRAVA_LOOKBACK_DAYS") else 7,
        reconcile_days=_int_env("STRAVA_RECONCILE_DAYS") if _env("STRAVA_RECONCILE_DAYS") else 7,
        garmin_api_key=_env("GARMIN_PERSONAL_API_KEY"),
        garmin_key_file=Path(GARMIN_KEY_FILE).expanduser(),
        strava_webhook_verify_token=_env("STRAVA_WEBHOOK_VERIFY_TOKEN"),
        garmin_base_url=(_env("GARMIN_PERSONAL_API_BASE_URL", GARMIN_BASE_URL) or GARMIN_BASE_URL).rstrip("/"),
    )
