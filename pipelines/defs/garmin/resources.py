"""The Garmin resource: the Personal API key comes from the environment (EnvVar) or Garmin's
key file, so it shows in Dagster as a variable name or a path, never as a value."""


import dataclasses
import os
from typing import Optional

import dagster as dg

from pipelines.config import Settings, load_settings


class GarminResource(dg.ConfigurableResource):
    """The athlete's Garmin Connect Personal API key plus the sync's tuning knobs."""

    api_key: Optional[str] = None  # None: GARMIN_PERSONAL_API_KEY, else the key file, as set when the run starts
    lookback_days: Optional[int] = None  # default: STRAVA_LOOKBACK_DAYS or 7 (the same window as Strava's)
    reconcile_days: Optional[int] = None  # default: STRAVA_RECONCILE_DAYS or 7

    def settings(self) -> Settings:
        base = load_settings()
        return dataclasses.replace(
            base,
            garmin_api_key=self.api_key or base.garmin_api_key,
            lookback_days=self.lookback_days if self.lookback_days is not None else base.lookback_days,
            reconcile_days=self.reconcile_days if self.reconcile_days is not None else base.reconcile_days,
        )

    @property
    def configured(self) -> bool:
        return self.settings().garmin_configured


defs = dg.Definitions(
    resources={"garmin": GarminResource(
        api_key=dg.EnvVar("GARMIN_PERSONAL_API_KEY") if os.environ.get("GARMIN_PERSONAL_API_KEY") else None)}
)
