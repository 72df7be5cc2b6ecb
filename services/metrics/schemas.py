"""The metrics service's HTTP models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.kit.input import InputModel

Name = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(InputModel):
    """Input models refuse unknown fields; numbers are no dates, booleans no numbers."""

    model_config = ConfigDict(extra="forbid")


# platform: an ad platform signing each delivery (Standard Webhooks); internal: a company system
# posting with a service token (a bearer JWT with the service role) bound to the source.
SourceKind = Literal["platform", "internal"]
InternalSystem = Literal[
    "user_backend", "ecommerce", "offline", "search_index", "retention", "other"
]
TokenSubject = Annotated[str, Field(min_length=1, max_length=200)]
ActionType = Annotated[str, Field(min_length=1, max_length=200)]
# A metric that adds up (a count of actions), mapped to Meta action types in preference order.
ActionTypes = dict[
    Annotated[str, Field(pattern=r"^(conversions|registrations|first_orders|new_users)$")],
    Annotated[list[ActionType], Field(min_length=1, max_length=10)],
]


class SourceCreate(Strict):
    """An ad-platform account or internal system that will post metrics."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ocean Engine main account",
                    "platform": "ocean_engine",
                    "account_id": "1790000000000001",
                    "timezone": "Asia/Shanghai",
                    "currency": "CNY",
                    "settlement_days": 3,
                }
            ]
        }
    )

    name: Name
    platform: Literal["meta", "ocean_engine", "google_ads", "internal", "other"]
    account_id: Annotated[str, Field(min_length=1, max_length=100)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "Asia/Shanghai"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    settlement_days: Annotated[int, Field(ge=0, le=90)] = 28
    kind: SourceKind = "platform"
    system: InternalSystem | None = None
    token_subjects: list[TokenSubject] = Field(default_factory=list, max_length=10)
    meta_action_types: ActionTypes | None = Field(
        default=None,
        description=(
            "Meta sources: per metric, the action types to take it from, first present wins "
            "(never a sum). Metrics left out keep the default order: conversions from "
            "omni_purchase, else purchase, else offsite_conversion.fb_pixel_purchase; "
            "registrations from omni_complete_registration, else complete_registration, "
            "else offsite_conversion.fb_pixel_complete_registration."
        ),
    )

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> SourceCreate:
        if self.kind == "internal":
            if self.system is None or not self.token_subjects:
                raise ValueError(
                    "an internal source names its system and the service token subjects "
                    "allowed to post to it"
                )
            if self.platform != "internal":
                raise ValueError("an internal source's platform is internal")
        elif self.system is not None or self.token_subjects:
            raise ValueError(
                "a platform source signs its deliveries: it has no system or token subjects"
            )
        if self.meta_action_types is not None and self.platform != "meta":
            raise ValueError("meta_action_types is for Meta sources (platform meta)")
        return self


class SecretRead(BaseModel):
    """A signing secret; its value is shown once, when it is created."""

    id: str
    active: bool
    created_at: datetime
    secret: str | None = None


class SourceRead(BaseModel):
    """A registered source."""

    id: uuid.UUID
    name: str
    platform: str
    account_id: str
    timezone: str
    currency: str
    settlement_days: int
    secrets: list[SecretRead]
    kind: SourceKind = "platform"
    system: str | None = None
    token_subjects: list[str] = Field(default_factory=list)
    meta_action_types: dict[str, list[str]] | None = None


class MappingIn(Strict):
    """A platform campaign id mapped to a plan and one of its channels."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entity": "campaign-18321",
                    "plan_id": "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f",
                    "channel_id": "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                }
            ]
        }
    )

    entity: Annotated[str, Field(min_length=1, max_length=100)]
    plan_id: uuid.UUID
    channel_id: uuid.UUID | None = None


AGGREGATION = (
    "how figures of several entities, days or channels combine: sum (they add up); "
    "not_additive (unique people: a value only where one entity-day makes it, never a sum); "
    "derived (a ratio of sums or a formula over summed metrics); latest (the latest reported "
    "day's figure, given when one entity reports it that day)"
)
ADDITIVE = "true when values of this metric may be added across entities, days or channels"


class MetricRead(BaseModel):
    """A metric of the dictionary."""

    key: str
    name: str
    definition: str
    kind: str
    numerator: str | None
    denominator: str | None
    aggregation: Literal["sum", "not_additive", "derived", "latest"] = Field(
        description=AGGREGATION
    )
    additive: bool = Field(description=ADDITIVE)
    # Derived metrics only: the formula, who last defined it and how often it was redefined.
    expression: str | None = None
    version: int | None = None
    defined_by: str | None = None
    defined_at: datetime | None = None


KNOWN_AT = (
    "the figures are the ones the system knew at this time (from the fact revisions received "
    "by then; fraud exclusions decided by then; today's targets and exchange rates); null: now"
)
MISSING_RATES = (
    "money reported in another currency with no exchange rate for its days: left out of the "
    "figures (not summed as reported) until a rate is entered"
)


class MissingRate(BaseModel):
    """A currency pair without a rate on some days; a rate for ``base``/``quote`` valid from
    ``first_day`` brings those days' money into the figures."""

    base: str = Field(description="the currency the money was reported in")
    quote: str = Field(description="the plan's currency")
    first_day: date
    last_day: date
    days: int


class ObjectiveKpi(BaseModel):
    """One objective: target, actual, achievement, pace and projection.

    ``actual`` and the figures after it are net: entity-days excluded as fraudulent are left
    out. ``actual_gross``/``achievement_gross`` count everything reported.
    """

    objective_id: uuid.UUID
    type: str
    metric: str
    target_kind: str
    target: Decimal
    baseline: Decimal | None
    actual: Decimal | None
    achievement: Decimal | None
    expected_to_date: Decimal | None
    projected_at_due: Decimal | None
    due_on: date
    actual_gross: Decimal | None = None
    achievement_gross: Decimal | None = None
    actual_net: Decimal | None = None
    achievement_net: Decimal | None = None
    additive: bool = Field(
        default=True,
        description=ADDITIVE
        + "; a metric that is not additive (reach) has an actual only where one entity-day "
        "makes it",
    )


class PlanKpis(BaseModel):
    """A plan's KPI dashboard."""

    plan_id: uuid.UUID
    plan_version: int
    as_of: date
    objectives: list[ObjectiveKpi]
    excluded_entity_days: int = Field(
        default=0, description="entity-days left out of the net figures as fraudulent"
    )
    final_through: date | None = Field(
        default=None,
        description="figures up to this day are final; later days lie inside a source's "
        "settlement window and may still be restated",
    )
    provisional: bool = Field(
        default=False, description="true while any day up to as_of is not final yet"
    )
    currency: str | None = Field(
        default=None, description="the plan's currency: all money is in it"
    )
    missing_rates: list[MissingRate] = Field(default_factory=list, description=MISSING_RATES)
    known_at: datetime | None = Field(default=None, description=KNOWN_AT)


class EarlierTarget(BaseModel):
    """What an earlier version of the plan aimed at, and what the actual achieves against it."""

    version: int
    target: str
    achievement: str | None


class PeriodComparison(BaseModel):
    """The metric over the campaign so far against the equally long period just before it."""

    first_day: date
    last_day: date
    actual: str | None
    change: str | None = Field(description="the campaign's value against this one, in percent")


class EvaluationRow(BaseModel):
    """A row of the docs/domain.md §6 evaluation table."""

    objective_id: uuid.UUID
    dimension: str
    metric: str
    target: str
    actual: str | None
    achievement: str | None
    previous_period: PeriodComparison | None = None
    earlier_targets: list[EarlierTarget] = Field(
        default_factory=list,
        description="the target in each earlier plan version where it differed, oldest first",
    )
    data_source: str | None
    analysis: str | None
    suggestion: str | None


class ChannelFigures(BaseModel):
    """Cost, CTR, CVR and ROI of one channel."""

    channel_id: uuid.UUID | None
    name: str
    cost: Decimal | None
    ctr: Decimal | None
    conversion_rate: Decimal | None
    roi: Decimal | None


class Evaluation(BaseModel):
    """The evaluation report."""

    plan_id: uuid.UUID
    plan_name: str
    plan_version: int
    as_of: date
    rows: list[EvaluationRow]
    channels: list[ChannelFigures]
    currency: str | None = Field(
        default=None, description="the plan's currency: all money is in it"
    )
    missing_rates: list[MissingRate] = Field(default_factory=list, description=MISSING_RATES)
    known_at: datetime | None = Field(default=None, description=KNOWN_AT)


class EvaluationNoteIn(Strict):
    """What users add to an evaluation row."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data_source": "Ocean Engine reports and the user back end",
                    "analysis": "registrations reached 96% of target; CPA fell 12%",
                    "suggestion": "keep campus KOCs for the autumn term",
                }
            ]
        }
    )

    data_source: Annotated[str, Field(max_length=200)] | None = None
    analysis: Annotated[str, Field(max_length=4000)] | None = None
    suggestion: Annotated[str, Field(max_length=4000)] | None = None


FlagStatus = Literal["suspected", "excluded", "cleared"]
Note = Annotated[str, Field(max_length=2000)]


class FraudFlagRead(BaseModel):
    """A fraud flag on one entity-day (a campaign, school or ambassador code on a day)."""

    id: uuid.UUID
    plan_id: uuid.UUID
    channel_id: uuid.UUID | None
    source_id: uuid.UUID
    entity: str
    day: date
    signal: str
    score: Decimal
    detail: str
    status: FlagStatus
    flagged_by: str
    flagged_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


class FraudFlagCreate(Strict):
    """A reviewer flagging an entity-day by hand."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source_id": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
                    "entity": "campaign-18321",
                    "day": "2024-05-20",
                    "reason": "registrations spiked 8x with no matching clicks",
                    "status": "suspected",
                }
            ]
        }
    )

    source_id: uuid.UUID
    entity: Annotated[str, Field(min_length=1, max_length=100)]
    day: date
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    status: Literal["suspected", "excluded"] = "suspected"


class FraudDecision(Strict):
    """A reviewer's decision: leave the entity-day out of net figures, or clear it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "excluded", "note": "bot traffic confirmed by the platform"}]
        }
    )

    status: Literal["excluded", "cleared"]
    note: Note | None = None


Grain = Literal["day", "week", "month"]
RollupGrain = Literal["hour", "day", "week", "month"]


class RollupChannel(BaseModel):
    """One channel's figures in a period (``channel_id`` null: facts without a channel)."""

    channel_id: uuid.UUID | None
    values: dict[str, Decimal | None] = Field(description="net of excluded entity-days")
    values_gross: dict[str, Decimal | None]


class RollupPeriod(BaseModel):
    """One day, week (Monday to Sunday) or calendar month, clipped to the requested range."""

    start: date
    end: date
    values: dict[str, Decimal | None] = Field(description="the plan's total, net")
    values_gross: dict[str, Decimal | None]
    channels: list[RollupChannel]


class PlanRollups(BaseModel):
    """A plan's metrics per period and channel; ratios are ratios of the period's sums."""

    plan_id: uuid.UUID
    grain: Grain
    timezone: str = Field(description="the company time zone the business days are in")
    first: date
    last: date
    metrics: list[str]
    additive: dict[str, bool] = Field(
        default_factory=dict,
        description=ADDITIVE
        + " (per requested metric); a value that would need a sum of a metric that is not "
        "additive (reach over several campaigns or days) is null",
    )
    periods: list[RollupPeriod]
    currency: str | None = Field(
        default=None, description="the plan's currency: all money is in it"
    )
    missing_rates: list[MissingRate] = Field(default_factory=list, description=MISSING_RATES)
    known_at: datetime | None = Field(default=None, description=KNOWN_AT)


class DecompositionNodeRead(BaseModel):
    """One node of an objective's target tree, measured from the facts of the entities under it.

    ``actual`` is net of entity-days excluded as fraudulent; None when no node under it names
    an entity. ``payout_rate`` is the achievement capped at 200 %.
    """

    node_id: uuid.UUID
    name: str
    level: str
    owner_id: str | None
    source_id: uuid.UUID | None
    entities: list[str]
    target: Decimal
    actual: Decimal | None
    achievement: Decimal | None
    payout_rate: Decimal | None
    expected_to_date: Decimal | None
    projected_at_due: Decimal | None
    children_target: Decimal | None
    unassigned: Decimal | None
    children: list[DecompositionNodeRead]


class DecompositionRead(BaseModel):
    """An objective's decomposition (company → city → school/ambassador) as of a day."""

    plan_id: uuid.UUID
    objective_id: uuid.UUID
    plan_revision: int
    metric: str
    starts_on: date
    due_on: date
    as_of: date
    payout_cap: Decimal
    root: DecompositionNodeRead


class DerivedMetricIn(Strict):
    """A derived metric: a formula over summable metrics, e.g. ``(gmv - cost) / cost``.

    A ratio is compared as it is; a counter or money metric is pro-rated to elapsed time, so its
    formula must add up over days (metrics added, subtracted, multiplied by constants).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "GMV per click",
                    "definition": "campaign GMV per click",
                    "expression": "gmv / clicks",
                    "kind": "ratio",
                }
            ]
        }
    )

    name: Annotated[str, Field(min_length=1, max_length=200)]
    definition: Annotated[str, Field(min_length=1, max_length=2000)]
    expression: Annotated[str, Field(min_length=1, max_length=500)]
    kind: Literal["ratio", "counter", "money"] = "ratio"


class FxRateIn(Strict):
    """An exchange rate: 1 base is worth ``rate`` quote (the inverse direction is implied)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"rate": "7.2450"}]})

    rate: Annotated[Decimal, Field(gt=0, max_digits=24, decimal_places=12)]


class FxRateRead(BaseModel):
    """A stored rate, and the day the pair's next rate takes over (null: still in force)."""

    base: str
    quote: str
    valid_from: date
    valid_until: date | None = Field(
        description="the first day of the pair's next rate (either direction); exclusive"
    )
    rate: Decimal
    set_by: str
    set_at: datetime


class RollupHour(BaseModel):
    """One company-time-zone hour (``start``, with the company's UTC offset)."""

    start: datetime
    values: dict[str, Decimal | None] = Field(description="the plan's total, net")
    values_gross: dict[str, Decimal | None]
    channels: list[RollupChannel]


class PlanHourlyRollups(BaseModel):
    """A plan's metrics per company-time-zone hour and channel, from facts reported by the
    hour; whole-day facts have no hour and are in the day, week and month grains only."""

    plan_id: uuid.UUID
    grain: Literal["hour"]
    timezone: str = Field(description="the company time zone the hours are in")
    since: datetime
    until: datetime = Field(description="the end of the range, excluded")
    metrics: list[str]
    periods: list[RollupHour]
    known_at: datetime | None = Field(default=None, description=KNOWN_AT)


AnyRollups = Annotated[PlanRollups | PlanHourlyRollups, Field(discriminator="grain")]
