"""Approval policy thresholds (environment prefix ``APPROVALS_``): configuration, not code."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApprovalSettings(BaseSettings):
    """Lead times of docs/domain.md §8 and the deadlines of each stage."""

    model_config = SettingsConfigDict(env_prefix="APPROVALS_", extra="ignore")

    venue_lead_days: int = Field(default=3, ge=0)
    sponsorship_lead_days: int = Field(default=5, ge=0)
    materials_lead_days: int = Field(default=7, ge=0)
    personnel_deadline_hour: int = Field(default=11, ge=0, le=23)
    default_stage_sla_hours: int = Field(default=48, ge=1)
    # Approvers are told once when this little time is left on a stage they decide.
    sla_warning_hours: int = Field(default=4, ge=1)


@lru_cache
def get_approval_settings() -> ApprovalSettings:
    """Read once per process."""
    return ApprovalSettings()
