"""The HTTP models of channel efficiency, CLTV parameters and reallocation recommendations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.metrics.schemas import Strict

Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)]
Positive = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]


class ChannelParametersIn(Strict):
    """The classical-CLTV parameters of a plan and its CLTV/CAC floor; omit what is unknown."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "gross_margin": "0.6",
                    "purchase_frequency": "3",
                    "lifespan_years": "2",
                    "cltv_cac_floor": "1",
                }
            ]
        }
    )

    gross_margin: Share | None = Field(default=None, description="gross margin, 0–1")
    purchase_frequency: Positive | None = Field(
        default=None, description="orders per customer per year"
    )
    lifespan_years: Positive | None = Field(
        default=None, description="expected customer lifespan in years"
    )
    cltv_cac_floor: Positive = Field(
        default=Decimal(1), description="below this CLTV/CAC a channel is ineffective"
    )


class ChannelParametersRead(BaseModel):
    """A plan's parameters as stored (defaults when never set)."""

    plan_id: uuid.UUID
    gross_margin: Decimal | None
    purchase_frequency: Decimal | None
    lifespan_years: Decimal | None
    cltv_cac_floor: Decimal
    set_by: str | None
    set_at: datetime | None


class Cltv(BaseModel):
    """CLTV both ways and which one the ratio uses."""

    basis: Literal["cohort", "classical"] | None
    value: Decimal | None
    cohort: Decimal | None = Field(description="observed margin × revenue per acquired customer")
    cohort_customers: Decimal
    cohort_oldest_age_days: int | None
    classical: Decimal | None = Field(description="AOV × frequency × margin × lifespan")


class ChannelEfficiency(BaseModel):
    """One channel over the period."""

    channel_id: uuid.UUID
    name: str
    spend: Decimal
    new_customers: Decimal
    orders: Decimal
    gmv: Decimal
    cac: Decimal | None
    aov: Decimal | None
    repeat_purchase_rate: Decimal | None
    roi: Decimal | None
    cltv: Cltv
    cltv_cac: Decimal | None
    ineffective: bool
    code: str | None = Field(description="why: cltv-below-cac-floor, no-new-customers, …")
    reason: str | None


class PlanChannelEfficiency(BaseModel):
    """Every channel of a plan over [from, to], money in the plan's currency."""

    plan_id: uuid.UUID
    currency: str
    from_: date = Field(alias="from")
    to: date
    parameters: ChannelParametersRead
    channels: list[ChannelEfficiency]

    model_config = {"populate_by_name": True}


class ChannelTrend(BaseModel):
    """A channel's recent marginal efficiency against the window before it."""

    channel_id: uuid.UUID
    name: str
    recent_spend: Decimal
    recent_new_customers: Decimal
    recent_cac: Decimal | None
    previous_cac: Decimal | None
    cac_change: Decimal | None = Field(description="relative change of CAC; positive is worse")
    remaining_budget: Decimal


class MoveOut(BaseModel):
    """The money a recommendation moves."""

    from_channel_id: uuid.UUID
    from_channel: str
    from_budget_line_id: uuid.UUID
    to_channel_id: uuid.UUID
    to_channel: str
    to_budget_line_id: uuid.UUID
    amount: Decimal
    currency: str


class ExpectedEffect(BaseModel):
    """What the move is expected to do, under the stated assumptions."""

    extra_new_customers: Decimal = Field(description="amount / the strong channel's recent CAC")
    forgone_new_customers: Decimal = Field(description="amount / the weak channel's recent CAC")
    net_new_customers: Decimal


class Recommendation(BaseModel):
    """A reallocation to propose, or why none is offered; ``adjustment`` is ready to post to
    planning's POST /planning/plans/{plan_id}/adjustments."""

    plan_id: uuid.UUID
    as_of: date
    days: int
    offered: bool
    code: str | None
    reason: str | None
    reserve_share: Decimal | None
    channels: list[ChannelTrend]
    move: MoveOut | None
    expected: ExpectedEffect | None
    assumptions: list[str]
    adjustment: dict[str, Any] | None


class CohortPosted(BaseModel):
    """What a cohort delivery stored."""

    rows: int
    stored: int
    unmapped_entities: list[str]
