"""Planning's own settings (environment prefix ``PLANNING_``)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlanningSettings(BaseSettings):
    """Business thresholds that are configuration, not code."""

    model_config = SettingsConfigDict(env_prefix="PLANNING_", extra="ignore")

    reserve_min_share: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    reserve_max_share: Decimal = Field(default=Decimal("0.15"), ge=0, le=1)


@lru_cache
def get_planning_settings() -> PlanningSettings:
    """Read once per process."""
    return PlanningSettings()
