"""Garmin's bearer token: exchanged from the Personal API key, about 24 hours valid.

Like Garmin's own client, the token is cached in a 0600 file (TRAINSMART_HOME/garmin_token.json)
and renewed an hour before it expires (or half-way through its life, for a token that lives
less than two hours), so a night costs no exchange while the token lasts.
The cache remembers a fingerprint of the key it came from (never the key itself), so a new
key never uses a token made from the old one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.private_files import write_private_json

RENEW_BEFORE_S = 3600


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (not verified: only Garmin can, and it does on every call)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


@dataclass
class BearerToken:
    token: str
    expires_at: float
    key_fingerprint: str
    renew_at: float  # when to exchange the key again, before the token runs out

    @classmethod
    def issued(cls, token: str, expires_at: float, key: str, now: float) -> "BearerToken":
        return cls(token, expires_at, key_fingerprint(key), expires_at - min(RENEW_BEFORE_S, (expires_at - now) / 2))

    def usable(self, key: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.key_fingerprint == key_fingerprint(key) and now < self.renew_at


class TokenCache:
    def __init__(self, path: Path):
        self.path = path

    def load(self) -> BearerToken | None:
        try:
            data = json.loads(self.path.read_text())
            return BearerToken(str(data["token"]), float(data["expires_at"]), str(data["key_fingerprint"]),
                               float(data["renew_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no cache, or a damaged one: exchange the key again

    def save(self, token: BearerToken) -> None:
        write_private_json(self.path, {"token": token.token, "expires_at": token.expires_at,
                                       "key_fingerprint": token.key_fingerprint, "renew_at": token.renew_at})

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)
