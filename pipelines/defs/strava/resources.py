"""The Strava resource: the API application's credentials come from the environment (EnvVar),
so they show in Dagster as variable names, never as values."""


import dataclasses
import os
from typing import Optional

import dagster as dg

from pipelines.config import Settings, load_settings


class StravaResource(dg.ConfigurableResource):
    """Credentials of the user's Strava API application plus the sync's tuning knobs."""

    client_id: Optional[str] = None  # None: STRAVA_CLIENT_ID as set when the run starts
    client_secret: Optional[str] = None  # None: STRAVA_CLIENT_SECRET as set when the run starts
    lookback_days: Optional[int] = None  # default: STRAVA_LOOKBACK_DAYS or 7
    reconcile_days: Optional[int] = None  # default: STRAVA_RECONCILE_DAYS or 7

    def settings(self) -> Settings:
        base = load_settings()
        return dataclasses.replace(
            base,
            strava_client_id=self.client_id or base.strava_client_id,
            strava_client_secret=self.client_secret or base.strava_client_secret,
            lookback_days=self.lookback_days if self.lookback_days is not None else base.lookback_days,
            reconcile_days=self.reconcile_days if self.reconcile_days is not None else base.reconcile_days,
        )

    @property
    def configured(self) -> bool:
        """False for export-only athletes (no API application set up)."""
        settings = self.settings()
        return bool(settings.strava_client_id and settings.strava_client_secret)


def _env(name: str):
    """An EnvVar (resolved at run time, shown by name only) when the variable is set at load;
    otherwise None, and the resource reads the environment when a run starts."""
    return dg.EnvVar(name) if os.environ.get(name) else None


defs = dg.Definitions(
    resources={"strava": StravaResource(client_id=_env("STRAVA_CLIENT_ID"), client_secret=_env("STRAVA_CLIENT_SECRET"))}
)
