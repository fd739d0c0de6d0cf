"""Errors of the Strava side that a user can act on; each message is one plain sentence."""

from __future__ import annotations

from pipelines.errors import SyncStopped, UserError

__all__ = ["StravaError", "ApplicationError", "SyncStopped", "INACTIVE_MESSAGE"]


class StravaError(UserError):
    """A problem the user must fix (credentials, scope, subscription, host); sync exits non-zero."""


class ApplicationError(StravaError):
    """A refusal of the whole API application or host (inactive app, wrong client id or secret,
    Strava unreachable): in a club run it stops every athlete, not just the one it hit."""


INACTIVE_MESSAGE = (
    "Strava refuses every request because your API application is inactive (since 2026 an API "
    "application only works while the account that owns it has a paid Strava subscription): "
    "subscribe with that account and reactivate the app at https://www.strava.com/settings/api, "
    "or import your Strava bulk export instead with `trainsmart import-export PATH`."
)
