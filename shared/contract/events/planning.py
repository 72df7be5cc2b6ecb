"""Events published by the planning service (topics planning.plan, planning.adjustment)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.envelope import EventPayload
from shared.contract.types import ChannelType, CostType, Money, ObjectiveType, TargetKind


class PlanCreatedV1(EventPayload):
    """A campaign plan was created as a draft."""

    event_type = "planning.plan.created"
    event_version = 1

    plan_id: uuid.UUID
    name: str
    product: str
    owner_id: str
    starts_on: date
    ends_on: date
    currency: str


class PlanUpdatedV1(EventPayload):
    """A draft or rejected plan's header was edited."""

    event_type = "planning.plan.updated"
    event_version = 1

    plan_id: uuid.UUID
    version: int
    name: str
    product: str
    owner_id: str
    starts_on: date
    ends_on: date
    currency: str


class PlanSubmittedV1(EventPayload):
    """A plan was submitted for approval; approvals turns it into a plan-approval request."""

    event_type = "planning.plan.submitted"
    event_version = 1

    plan_id: uuid.UUID
    version: int
    name: str
    owner_id: str
    submitted_by: str
    starts_on: date
    ends_on: date
    total_budget: Money
    contingency_reserve: Money


class PlanStatusChangedPayload(EventPayload):
    """Shared shape of the plain lifecycle transitions."""

    plan_id: uuid.UUID
    version: int
    by: str
    reason: str | None = None


class PlanApprovedV1(PlanStatusChangedPayload):
    """The plan's approval request was approved; tasks instantiates its WBS templates."""

    event_type = "planning.plan.approved"
    event_version = 1


class PlanRejectedV1(PlanStatusChangedPayload):
    """The plan's approval request was rejected or returned; the plan is editable again."""

    event_type = "planning.plan.rejected"
    event_version = 1


class PlanActivatedV1(PlanStatusChangedPayload):
    """An approved plan went live."""

    event_type = "planning.plan.activated"
    event_version = 1


class PlanCompletedV1(PlanStatusChangedPayload):
    """An active plan finished; evaluation and retrospective follow."""

    event_type = "planning.plan.completed"
    event_version = 1


class PlanArchivedV1(PlanStatusChangedPayload):
    """A completed plan was archived."""

    event_type = "planning.plan.archived"
    event_version = 1


class ObjectiveTarget(BaseModel):
    """One SMART objective with its KPI target, as consumers need it."""

    model_config = ConfigDict(frozen=True)

    objective_id: uuid.UUID
    type: ObjectiveType
    metric: str
    target_kind: TargetKind
    target_value: Decimal
    baseline_value: Decimal | None = None
    owner_id: str
    due_on: date
    channel_ids: list[uuid.UUID] = Field(default_factory=list)


class ChannelTarget(BaseModel):
    """One channel of the plan's mix with its budget."""

    model_config = ConfigDict(frozen=True)

    channel_id: uuid.UUID
    channel_type: ChannelType
    name: str
    planned_budget: Money


class BudgetLineTarget(BaseModel):
    """One budget line of the plan version and its planned amount."""

    model_config = ConfigDict(frozen=True)

    budget_line_id: uuid.UUID
    name: str
    cost_type: str
    channel_id: uuid.UUID | None = None
    planned: Money


class PlanTargetsSetV1(EventPayload):
    """The full set of a plan version's objectives, targets and channels.

    Published on approval and on each applied adjustment, so consumers keep targets without a
    REST call; each event replaces the previous set of the plan.
    """

    event_type = "planning.plan.targets_set"
    event_version = 1

    plan_id: uuid.UUID
    version: int
    name: str
    owner_id: str
    starts_on: date
    ends_on: date
    currency: str
    default_alert_rules: bool = True
    objectives: list[ObjectiveTarget]
    channels: list[ChannelTarget]
    # What expenses may be filed against, and how much each line holds.
    budget_lines: list[BudgetLineTarget] = Field(default_factory=list)
    # The contingency reserve outside the lines (None from publishers that predate it).
    contingency_reserve: Money | None = None


class BudgetLineOverspentV1(EventPayload):
    """A budget line's forecast exceeds its planned amount; alerts raises an overspend alert."""

    event_type = "planning.plan.budget_line_overspent"
    event_version = 1

    plan_id: uuid.UUID
    budget_line_id: uuid.UUID
    channel_id: uuid.UUID | None = None
    cost_type: CostType
    planned: Money
    forecast: Money


class RiskRaisedV1(EventPayload):
    """A high-level risk (likelihood × impact) was registered on a plan."""

    event_type = "planning.plan.risk_raised"
    event_version = 1

    plan_id: uuid.UUID
    risk_id: uuid.UUID
    title: str
    category: str
    likelihood: int
    impact: int
    level: str
    owner_id: str
    due_on: date | None = None


class AdjustmentRequestedV1(EventPayload):
    """An adjustment to an approved/active plan awaits the marketing committee's approval."""

    event_type = "planning.adjustment.requested"
    event_version = 1

    adjustment_id: uuid.UUID
    plan_id: uuid.UUID
    kind: str  # strategy | budget_reallocation | target_change | reserve_draw
    base_version: int
    reason: str
    requested_by: str
    amount: Money | None = None


class AdjustmentDecidedPayload(EventPayload):
    """Shared shape of an adjustment's outcome."""

    adjustment_id: uuid.UUID
    plan_id: uuid.UUID
    kind: str
    by: str
    reason: str | None = None


class AdjustmentAppliedV1(AdjustmentDecidedPayload):
    """An approved adjustment became the plan's new version."""

    event_type = "planning.adjustment.applied"
    event_version = 1

    new_version: int


class AdjustmentRejectedV1(AdjustmentDecidedPayload):
    """The committee rejected an adjustment; the plan keeps its version."""

    event_type = "planning.adjustment.rejected"
    event_version = 1


class BudgetMove(BaseModel):
    """Money moved from one budget line to another."""

    model_config = ConfigDict(frozen=True)

    from_budget_line_id: uuid.UUID
    to_budget_line_id: uuid.UUID
    amount: Money


class BudgetReallocatedV1(EventPayload):
    """Budget moved between lines by an applied reallocation adjustment."""

    event_type = "planning.adjustment.budget_reallocated"
    event_version = 1

    adjustment_id: uuid.UUID
    plan_id: uuid.UUID
    new_version: int
    moves: list[BudgetMove]


class DecomposedNode(BaseModel):
    """A share of an objective's target; a leaf names the fact entities it owns."""

    model_config = ConfigDict(frozen=True)

    node_id: uuid.UUID
    parent_id: uuid.UUID | None = None  # None for the root, which holds the objective's target
    name: str
    level: str  # company | region | city | school | ambassador
    target: Decimal
    owner_id: str | None = None
    # The channel codes / platform campaign ids metrics keys facts by (``Fact.entity``),
    # optionally of one source only.
    source_id: uuid.UUID | None = None
    entities: list[str] = Field(default_factory=list)


class ObjectiveDecomposedV1(EventPayload):
    """An objective's target was split over regions, cities and schools/ambassadors.

    Published when the tree is set and again whenever the plan's targets are re-sent; each
    event replaces the objective's previous tree. ``plan_revision`` orders them.
    """

    event_type = "planning.objective.decomposed"
    event_version = 1

    plan_id: uuid.UUID
    objective_id: uuid.UUID
    plan_revision: int
    metric: str
    starts_on: date
    due_on: date
    nodes: list[DecomposedNode]  # the tree flattened: root first, each parent before its children


EVENTS: tuple[type[EventPayload], ...] = (
    PlanCreatedV1,
    PlanUpdatedV1,
    PlanSubmittedV1,
    PlanApprovedV1,
    PlanRejectedV1,
    PlanActivatedV1,
    PlanCompletedV1,
    PlanArchivedV1,
    PlanTargetsSetV1,
    BudgetLineOverspentV1,
    RiskRaisedV1,
    AdjustmentRequestedV1,
    AdjustmentAppliedV1,
    AdjustmentRejectedV1,
    BudgetReallocatedV1,
    ObjectiveDecomposedV1,
)
