"""Planning's HTTP models: the plan header, its sections, lifecycle and adjustments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)

from shared.contract.types import ChannelType, CostType, CurrencyCode, ObjectiveType, TargetKind
from shared.kit.input import InputModel
from shared.kit.pagination import Page

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Person = Annotated[str, Field(min_length=1, max_length=100)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Tags = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=50)]
Score = Annotated[int, Field(ge=1, le=5)]
# Targets and shares read back as they were written (200000, 0.3), not padded to the column scale.
Quantity = Annotated[
    Decimal, PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str)
]


class Strict(InputModel):
    """Input models refuse unknown fields, so a typo is an error, not silently ignored;
    numbers are no dates, booleans no numbers."""

    model_config = ConfigDict(extra="forbid")


class Read(BaseModel):
    """Output models read from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


class PlanStatus(StrEnum):
    """Where a plan is in its lifecycle."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class PlanCreate(Strict):
    """A new campaign plan; a draft owned by the caller, or by the owner named (the caller then
    joins its members)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "618 serum launch",
                    "product": "Hydra serum",
                    "starts_on": "2024-05-01",
                    "ends_on": "2024-06-30",
                    "currency": "CNY",
                    "owner_id": "specialist-amy",
                    "departments": ["marketing", "e-commerce"],
                    "contingency_reserve": "120000.00",
                    "default_alert_rules": True,
                }
            ]
        }
    )

    name: Name
    product: Name
    starts_on: date
    ends_on: date
    currency: CurrencyCode = "CNY"
    owner_id: Person | None = None
    departments: Tags = Field(default_factory=list)
    contingency_reserve: Amount = Decimal(0)
    default_alert_rules: bool = True

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, ends_on: date, info: ValidationInfo) -> date:
        starts_on = info.data.get("starts_on")
        if starts_on is not None and ends_on < starts_on:
            raise ValueError("the plan must end on or after its start date")
        return ends_on


class PlanUpdate(Strict):
    """Header fields of a draft or rejected plan; absent fields stay as they are.

    Only the owner, a supervisor or a manager hands the plan over (``owner_id``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "618 serum launch (East China)", "ends_on": "2024-07-07"}]
        }
    )

    name: Name | None = None
    product: Name | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    owner_id: Person | None = None
    departments: Tags | None = None
    contingency_reserve: Amount | None = None
    default_alert_rules: bool | None = None


class PlanRead(Read):
    """A campaign plan's header as stored."""

    id: uuid.UUID
    name: str
    product: str
    owner_id: str
    members: list[str]
    starts_on: date
    ends_on: date
    currency: str
    status: PlanStatus
    version: int
    revision: int
    departments: list[str]
    contingency_reserve: Decimal
    default_alert_rules: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


PlanPage = Page[PlanRead]


class PlanTeam(Strict):
    """Who besides the owner may write the plan (the owner is never listed here)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"members": ["specialist-amy", "specialist-bo"]}]}
    )

    members: Annotated[list[Person], Field(max_length=50)]


class ObjectiveIn(Strict):
    """A row of the goal consensus table."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "user_growth",
                    "core_strategy": "campus ambassadors and KOC seeding",
                    "metric": "registrations",
                    "target_kind": "absolute",
                    "target_value": "50000",
                    "baseline_value": "32000",
                    "owner_id": "specialist-amy",
                    "due_on": "2024-06-30",
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    type: ObjectiveType
    core_strategy: Text
    metric: Annotated[str, Field(min_length=1, max_length=100)]
    target_kind: TargetKind = TargetKind.ABSOLUTE
    target_value: Annotated[Decimal, Field(max_digits=20, decimal_places=4)]
    baseline_value: Annotated[Decimal, Field(max_digits=20, decimal_places=4)] | None = None
    owner_id: Person
    due_on: date
    notes: Text | None = None


class ObjectiveRead(Read):
    """An objective with the latest progress reported by metrics."""

    id: uuid.UUID
    type: ObjectiveType
    core_strategy: str
    metric: str
    target_kind: TargetKind
    target_value: Quantity
    baseline_value: Quantity | None
    owner_id: str
    due_on: date
    notes: str | None
    actual_value: Quantity | None
    achievement: Quantity | None
    progress_as_of: datetime | None


class PersonaIn(Strict):
    """An audience persona."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "first-year students",
                    "age_band": "18-22",
                    "gender": "any",
                    "regions": ["Shanghai", "Hangzhou"],
                    "occupations": ["student"],
                    "interests": ["skincare", "short video"],
                    "habits": ["evening Douyin browsing"],
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    name: Name
    age_band: Annotated[str, Field(max_length=50)] | None = None
    gender: Annotated[str, Field(max_length=50)] | None = None
    regions: Tags = Field(default_factory=list)
    occupations: Tags = Field(default_factory=list)
    interests: Tags = Field(default_factory=list)
    habits: Tags = Field(default_factory=list)


class PersonaRead(Read):
    """A stored persona."""

    id: uuid.UUID
    name: str
    age_band: str | None
    gender: str | None
    regions: list[str]
    occupations: list[str]
    interests: list[str]
    habits: list[str]


class ChannelIn(Strict):
    """A channel of the mix; ``budget_share`` is the planned share of budget (0–1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel_type": "kol_koc",
                    "name": "Douyin KOC seeding",
                    "budget_share": "0.35",
                    "expected_reach": 2000000,
                    "expected_cost": "380000.00",
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    channel_type: ChannelType
    name: Name
    budget_share: Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)] | None = None
    expected_reach: Annotated[int, Field(ge=0, le=10**12)] | None = None
    expected_cost: Amount | None = None
    notes: Text | None = None


class ChannelRead(Read):
    """A stored channel."""

    id: uuid.UUID
    channel_type: ChannelType
    name: str
    budget_share: Quantity | None
    expected_reach: int | None
    expected_cost: Decimal | None
    notes: str | None


class BudgetLineIn(Strict):
    """A budget line in the plan's currency; forecast defaults to the planned amount."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "KOC fees",
                    "channel_id": "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                    "cost_type": "channel_fee",
                    "planned": "380000.00",
                    "forecast": "360000.00",
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    name: Name
    channel_id: uuid.UUID | None = None
    phase_id: uuid.UUID | None = None
    cost_type: CostType
    planned: Amount
    forecast: Amount | None = None


class BudgetLineRead(Read):
    """A stored budget line with what was committed (approved expenses) and spent."""

    id: uuid.UUID
    name: str
    channel_id: uuid.UUID | None
    phase_id: uuid.UUID | None
    cost_type: CostType
    planned: Decimal
    forecast: Decimal
    committed: Decimal
    actual: Decimal


class ForecastUpdate(Strict):
    """A new forecast for one line of an approved or active plan."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"forecast": "350000.00"}]})

    forecast: Amount


class PhaseKind(StrEnum):
    """The standard phases of docs/domain.md §4, or a custom one."""

    PREPARATION = "preparation"
    WARM_UP = "warm_up"
    PEAK = "peak"
    WRAP_UP = "wrap_up"
    CUSTOM = "custom"


class PhaseIn(Strict):
    """A row of the execution plan table."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "warm_up",
                    "name": "warm-up",
                    "starts_on": "2024-05-01",
                    "ends_on": "2024-05-31",
                    "core_action": "seed samples with campus KOCs",
                    "owner_id": "specialist-amy",
                    "risk": "samples arrive late",
                    "countermeasure": "ship from the Shanghai warehouse",
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    kind: PhaseKind
    name: Name
    starts_on: date
    ends_on: date
    core_action: Text
    owner_id: Person
    resources: Text | None = None
    risk: Text | None = None
    countermeasure: Text | None = None


class PhaseRead(Read):
    """A stored phase."""

    id: uuid.UUID
    kind: PhaseKind
    name: str
    starts_on: date
    ends_on: date
    core_action: str
    owner_id: str
    resources: str | None
    risk: str | None
    countermeasure: str | None


class RiskIn(Strict):
    """A risk register entry; the level is derived from likelihood × impact."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "KOC content misses the brand tone",
                    "category": "market",
                    "likelihood": 3,
                    "impact": 4,
                    "response": "reduce",
                    "owner_id": "specialist-amy",
                    "due_on": "2024-05-15",
                    "status": "open",
                    "contingency_plan": "review every script before posting",
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    title: Name
    category: Literal["market", "technical", "legal", "financial", "other"]
    likelihood: Score
    impact: Score
    response: Literal["avoid", "reduce", "transfer", "accept"]
    owner_id: Person
    due_on: date | None = None
    status: Literal["open", "monitoring", "closed"] = "open"
    contingency_plan: Text | None = None


class RiskRead(Read):
    """A stored risk with its derived level."""

    id: uuid.UUID
    title: str
    category: str
    likelihood: int
    impact: int
    level: str
    response: str
    owner_id: str
    due_on: date | None
    status: str
    contingency_plan: str | None


class RetrospectiveRowIn(Strict):
    """A row of the retrospective table."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stage": "warm-up",
                    "what_worked": "KOC seeding beat its reach target",
                    "fell_short": "registrations lagged in week 2",
                    "root_cause": "landing page slow on mobile",
                    "measure": "load test landing pages before launch",
                    "owner_id": "tech-li",
                    "due_on": "2024-07-15",
                }
            ]
        }
    )

    stage: Name
    what_worked: Text
    fell_short: Text
    root_cause: Text
    measure: Text
    owner_id: Person
    due_on: date | None = None


class RetrospectiveRowRead(Read):
    """A stored retrospective row."""

    id: uuid.UUID
    plan_id: uuid.UUID
    stage: str
    what_worked: str
    fell_short: str
    root_cause: str
    measure: str
    owner_id: str
    due_on: date | None


RetrospectivePage = Page[RetrospectiveRowRead]

Section = Literal["objectives", "audience", "channels", "budget", "phases", "risks", "partners"]


class PlanDetail(BaseModel):
    """A plan with every section: what the planning screen shows."""

    plan: PlanRead
    objectives: list[ObjectiveRead]
    audience: list[PersonaRead]
    channels: list[ChannelRead]
    budget: list[BudgetLineRead]
    phases: list[PhaseRead]
    risks: list[RiskRead]
    partners: list[PartnerRead]
    retrospective: list[RetrospectiveRowRead]
    total_budget: Decimal
    reserve_share: Decimal | None


class Decision(Strict):
    """A lifecycle step with an optional reason."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "budget approved in the weekly review"}]}
    )

    reason: Text | None = None


class AdjustmentKind(StrEnum):
    """What an adjustment changes."""

    STRATEGY = "strategy"
    BUDGET_REALLOCATION = "budget_reallocation"
    TARGET_CHANGE = "target_change"
    RESERVE_DRAW = "reserve_draw"


class BudgetMoveIn(Strict):
    """Money moved between two lines of the plan."""

    from_budget_line_id: uuid.UUID
    to_budget_line_id: uuid.UUID
    amount: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]


class TargetChangeIn(Strict):
    """A new target (and optionally baseline and due date) for one objective."""

    objective_id: uuid.UUID
    target_value: Annotated[Decimal, Field(max_digits=20, decimal_places=4)]
    baseline_value: Annotated[Decimal, Field(max_digits=20, decimal_places=4)] | None = None
    due_on: date | None = None


class StrategyChangeIn(Strict):
    """A new core strategy for one objective."""

    objective_id: uuid.UUID
    core_strategy: Text


class ReserveDrawIn(Strict):
    """Money taken from the contingency reserve into one line."""

    to_budget_line_id: uuid.UUID
    amount: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]


class AdjustmentCreate(Strict):
    """A proposed change; the part matching ``kind`` must be given."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "budget_reallocation",
                    "reason": "search outperforms in-feed on CPA",
                    "moves": [
                        {
                            "from_budget_line_id": "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                            "to_budget_line_id": "8b2e3d4c-5f6a-4b7c-9d8e-0f1a2b3c4d5e",
                            "amount": "50000.00",
                        }
                    ],
                }
            ]
        }
    )

    kind: AdjustmentKind
    reason: Text
    moves: list[BudgetMoveIn] = Field(default_factory=list, max_length=50)
    targets: list[TargetChangeIn] = Field(default_factory=list, max_length=50)
    strategies: list[StrategyChangeIn] = Field(default_factory=list, max_length=50)
    reserve_draw: ReserveDrawIn | None = None
    # A budget reallocation recommended by metrics' channel diagnosis carries that diagnosis as
    # its justification (GET /metrics/plans/{id}/channels/recommendation → ``adjustment``).
    diagnosis: dict[str, Any] | None = Field(default=None, max_length=50)


class AdjustmentRead(Read):
    """An adjustment and its outcome."""

    id: uuid.UUID
    plan_id: uuid.UUID
    kind: AdjustmentKind
    reason: str
    changes: dict[str, Any]
    base_version: int
    status: Literal["requested", "applied", "rejected"]
    requested_by: str
    decided_by: str | None
    decision_reason: str | None
    applied_version: int | None
    created_at: datetime
    decided_at: datetime | None


class VersionRead(Read):
    """One kept version of a plan."""

    version: int
    reason: str
    adjustment_id: uuid.UUID | None
    created_at: datetime
    snapshot: dict[str, Any]


class VersionChange(BaseModel):
    """One difference between a version and the one before it."""

    path: str
    before: Any
    after: Any


class VersionComparison(BaseModel):
    """What changed from ``previous`` to ``version``."""

    version: int
    previous: int
    changes: list[VersionChange]


class DecompositionNodeIn(Strict):
    """A share of an objective's target held by a region, city, school or ambassador."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "East China",
                    "level": "region",
                    "target": "50000",
                    "owner_id": "supervisor-wang",
                    "children": [
                        {"name": "Shanghai", "level": "city", "target": "30000"},
                        {"name": "Hangzhou", "level": "city", "target": "20000"},
                    ],
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    name: Name
    level: Literal["company", "region", "city", "school", "ambassador"]
    target: Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=4)]
    owner_id: Person | None = None
    actual: Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=4)] | None = None
    children: list[DecompositionNodeIn] = Field(default_factory=list, max_length=500)
    # A leaf's channel codes / platform campaign ids: metrics sums their facts as its actual.
    source_id: uuid.UUID | None = None
    entities: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=500
    )


class DecompositionNodeRead(BaseModel):
    """A node with its children's sum, the gap, achievement and the payout rate (≤ 200 %)."""

    id: uuid.UUID
    name: str
    level: str
    target: Quantity
    owner_id: str | None
    actual: Quantity | None
    children_target: Quantity | None
    difference: Quantity | None
    achievement: Quantity | None
    payout_rate: Quantity | None
    children: list[DecompositionNodeRead]
    source_id: uuid.UUID | None = None
    entities: list[str] = Field(default_factory=list)


class PartnerIn(Strict):
    """A vendor, KOL or media partner with its evaluation scores (1–5)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Campus Media Co.",
                    "kind": "media",
                    "qualification": 4,
                    "reputation": 4,
                    "capacity": 3,
                    "service_quality": 4,
                    "agreement_ref": "CT-2024-031",
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    name: Name
    kind: Literal["vendor", "kol", "media", "venue", "other"]
    qualification: Score
    reputation: Score
    capacity: Score
    service_quality: Score
    agreement_ref: Annotated[str, Field(max_length=200)] | None = None
    notes: Text | None = None


class PartnerRead(Read):
    """A stored partner with its reviews."""

    id: uuid.UUID
    name: str
    kind: str
    qualification: int
    reputation: int
    capacity: int
    service_quality: int
    agreement_ref: str | None
    notes: str | None
    reviews: list[dict[str, Any]]


class PartnerReviewIn(Strict):
    """A periodic performance review of a partner."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reviewed_on": "2024-06-30",
                    "score": 4,
                    "comment": "delivered on time; two posts needed rework",
                }
            ]
        }
    )

    reviewed_on: date
    score: Score
    comment: Text
