"""The Strava resource: the API application's credentials come from the environment (EnvVar),
so they show in Dagster as variable names, never as values."""


import dataclasses
from typing import Optional

import dagster as dg

from pipelines.config import Settings, load_settings


class StravaResource(dg.ConfigurableResource):
    """Credentials of the user's Strava API application plus the sync's tuning knobs."""

    client_id: str
    client_secret: str
    lookback_days: Optional[int] = None  # default: STRAVA_LOOKBACK_DAYS or 7
    reconcile_days: Optional[int] = None  # default: STRAVA_RECONCILE_DAYS or 7

    def settings(self) -> Settings:
        base = load_settings()
        return dataclasses.replace(
            base,
            strava_client_id=self.client_id,
            strava_client_secret=self.client_secret,
            lookback_days=self.lookback_days if self.lookback_days is not None else base.lookback_days,
            reconcile_days=self.reconcile_days if self.reconcile_days is not None else base.reconcile_days,
        )


defs = dg.Definitions(
    resources={
        "strava": StravaResource(
            client_id=dg.EnvVar("STRAVA_CLIENT_ID"),
            client_secret=dg.EnvVar("STRAVA_CLIENT_SECRET"),
        )
    }
)
