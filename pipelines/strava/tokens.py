"""The OAuth token file: Strava rotates the refresh token on every refresh, and the old one
stops working, so the newest one is written to disk (mode 0600) the moment it arrives."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.private_files import write_private_json

REFRESH_MARGIN_S = 300  # refresh this long before expiry, so a request never races the clock


@dataclass
class Token:
    refresh_token: str
    access_token: str | None = None
    expires_at: int = 0
    scope: str | None = None  # known only from `trainsmart auth` (the refresh grant does not say)
    athlete_id: int | None = None

    def needs_refresh(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return not self.access_token or self.expires_at - now < REFRESH_MARGIN_S


class TokenStore:
    def __init__(self, path: Path, env_refresh_token: str | None = None):
        self.path = path
        self.env_refresh_token = env_refresh_token

    def load(self) -> Token | None:
        """The stored token wins over STRAVA_REFRESH_TOKEN, which only seeds the first run."""
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                return Token(**{k: data.get(k) for k in Token.__dataclass_fields__ if k in data})
            except (ValueError, TypeError):
                from pipelines.strava.errors import StravaError

                raise StravaError(f"The token file {self.path} is damaged; run `trainsmart auth` to authorize again.") from None
        if self.env_refresh_token:
            return Token(refresh_token=self.env_refresh_token)
        return None

    def save(self, token: Token) -> None:
        write_private_json(self.path, asdict(token))
