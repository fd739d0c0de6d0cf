"""Errors of the Strava side that a user can act on; each message is one plain sentence."""

from __future__ import annotations

from pipelines.errors import SyncStopped, UserError

__all__ = ["StravaError", "SyncStopped", "INACTIVE_MESSAGE"]


class StravaError(UserError):
    """A problem the user must fix (credentials, scope, subscription, host); sync exits non-zero."""


INACTIVE_MESSAGE = (
    "Strava refuses every request because your API application is inactive (since 2026 an API "
    "application only works while the account that owns it has a paid Strava subscription): "
    "subscribe with that account and reactivate the app at https://www.strava.com/settings/api, "
    "or import your Strava bulk export instead with `trainsmart import-export PATH`."
)
