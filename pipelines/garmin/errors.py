"""Errors of the Garmin side that a user can act on; each message is one plain sentence."""

from __future__ import annotations

from pipelines.errors import UserError

KEY_PAGE = "https://connect.garmin.com/app/settings/personalApiToken"
# where the one athlete of the environment keeps the key (a roster athlete: their garmin_key_file)
ENV_KEY_PLACE = "GARMIN_PERSONAL_API_KEY or ~/.config/garmin/connect-personal-api-key"


class GarminError(UserError):
    """A problem the user must fix (key rejected or expired, token revoked, host unreachable)."""


class GarminUnreachable(GarminError):
    """Garmin's host does not answer at all: every athlete's sync would fail the same way."""


def key_rejected(whose: str = "your", place: str = ENV_KEY_PLACE) -> str:
    return (f"Garmin rejected {whose} Personal API key (keys expire after the 30 to 365 days chosen when they "
            f"were created, and a new key replaces the old one): create a new key at {KEY_PAGE} and put it "
            f"in {place}.")


def token_revoked(whose: str = "your", place: str = ENV_KEY_PLACE) -> str:
    return (f"Garmin no longer accepts the access token made from {whose} Personal API key (the key was revoked "
            f"or replaced): create a new key at {KEY_PAGE} and put it in {place}.")


KEY_REJECTED = key_rejected()
TOKEN_REVOKED = token_revoked()
