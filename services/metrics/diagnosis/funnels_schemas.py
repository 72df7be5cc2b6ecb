"""The HTTP models of funnels and trends."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from services.metrics.diagnosis.funnels import Comparison
from services.metrics.diagnosis.trends import Direction

SHORTFALL = "how far the conversion lies below the comparison, as a share of it (0.5: half)"


class FunnelStep(BaseModel):
    """One step: its count over the period and, from clicks on, its conversion from the step
    before with what that is compared with."""

    metric: str
    name: str = Field(description="the metric's name in the reader's language")
    count: Decimal | None = Field(description="net of fraud exclusions; null: never reported")
    base: str | None = Field(
        default=None,
        description="the step the conversion counts from: the step before, except next-day "
        "retention, which counts from registrations as the dictionary defines it",
    )
    conversion: Decimal | None = Field(
        default=None, description="this step's count over its base's (a ratio of sums)"
    )
    peers_conversion: Decimal | None = Field(
        default=None, description="the same conversion over the plan's other channels together"
    )
    previous_conversion: Decimal | None = Field(
        default=None, description="the same conversion over the equally long period before"
    )
    shortfall_vs_peers: Decimal | None = Field(default=None, description=SHORTFALL)
    shortfall_vs_previous: Decimal | None = Field(default=None, description=SHORTFALL)


class Bottleneck(BaseModel):
    """The step converting furthest below its comparison."""

    from_metric: str
    metric: str
    conversion: Decimal
    comparison: Comparison = Field(
        description="peers: the plan's other channels; previous_period: the days before"
    )
    compared_with: Decimal
    shortfall: Decimal = Field(description=SHORTFALL)


class ChannelFunnel(BaseModel):
    """The funnel of one channel (or of the whole plan, ``channel_id`` null)."""

    channel_id: uuid.UUID | None
    name: str
    steps: list[FunnelStep]
    bottleneck: Bottleneck | None
    summary: str = Field(description="the bottleneck in words, in the reader's language")


class PlanFunnels(BaseModel):
    """A plan's funnels over [first, last]: the whole plan's against the period before, and
    each channel's against the plan's other channels and the period before."""

    plan_id: uuid.UUID
    first: date
    last: date
    previous_first: date
    previous_last: date
    language: str
    plan: ChannelFunnel
    channels: list[ChannelFunnel]


class Change(BaseModel):
    """A value against an earlier one."""

    current: Decimal | None
    earlier: Decimal | None
    direction: Direction = Field(
        description="no_data when either side has no figure: never compared with 0"
    )
    absolute: Decimal | None = Field(description="current − earlier")
    relative: Decimal | None = Field(
        description="(current − earlier) / earlier: 0.25 is +25 %; null when earlier is 0"
    )


class CampaignComparison(BaseModel):
    """The metric over the same days of an earlier campaign of the product, counted from its
    start."""

    plan_id: uuid.UUID
    name: str
    first: date
    last: date
    change: Change


class VersionComparison(BaseModel):
    """The metric over the days an earlier version of the plan was in force."""

    version: int
    first: date
    last: date
    per_day: bool = Field(
        description="true for counters and money: both sides are daily averages, since the "
        "version ran for a different number of days; ratios and indexes compare as they are"
    )
    change: Change


class KpiTrend(BaseModel):
    """One KPI of the plan against the period before and earlier campaigns of its product."""

    metric: str
    name: str
    previous_period: Change
    earlier_campaigns: list[CampaignComparison]
    earlier_versions: list[VersionComparison] = Field(
        description="versions whose coming into force metrics saw (an adjustment makes one)"
    )


class PlanTrends(BaseModel):
    """Each KPI of a plan over [first, last], net of fraud exclusions, in the plan currency."""

    plan_id: uuid.UUID
    product: str | None = Field(description="null until planning has announced the plan")
    first: date
    last: date
    previous_first: date
    previous_last: date
    currency: str
    kpis: list[KpiTrend]
