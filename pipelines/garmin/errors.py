"""Errors of the Garmin side that a user can act on; each message is one plain sentence."""

from __future__ import annotations

from pipelines.errors import UserError

KEY_PAGE = "https://connect.garmin.com/app/settings/personalApiToken"


class GarminError(UserError):
    """A problem the user must fix (key rejected or expired, token revoked, host unreachable)."""


KEY_REJECTED = (
    "Garmin rejected your Personal API key (keys expire after the 30 to 365 days chosen when they "
    f"were created, and a new key replaces the old one): create a new key at {KEY_PAGE} and put it "
    "in GARMIN_PERSONAL_API_KEY or ~/.config/garmin/connect-personal-api-key."
)
TOKEN_REVOKED = (
    "Garmin no longer accepts the access token made from your Personal API key (the key was revoked "
    f"or replaced): create a new key at {KEY_PAGE} and put it in GARMIN_PERSONAL_API_KEY or "
    "~/.config/garmin/connect-personal-api-key."
)
