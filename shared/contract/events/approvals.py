"""Events published by the approvals service (topic ``approvals.request``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from shared.contract.envelope import EventPayload
from shared.contract.types import CostType, Money


class RequestKind(StrEnum):
    """What is being approved; the workflow is chosen by kind (docs/domain.md §8)."""

    PLAN = "plan"
    ADJUSTMENT = "adjustment"
    EXPENSE = "expense"
    CONTRACT = "contract"
    PERIODIC_PLAN = "periodic_plan"


class ApprovalRequestPayload(EventPayload):
    """What every approval event says about its request.

    ``reference_id`` is the thing approved in its owner's terms (the plan id for a plan, the
    adjustment id for an adjustment, the expense or contract request's own id otherwise).
    """

    request_id: uuid.UUID
    kind: RequestKind
    reference_id: uuid.UUID
    plan_id: uuid.UUID | None = None
    budget_line_id: uuid.UUID | None = None
    amount: Money | None = None
    cost_type: CostType | None = None


class ApprovalRequestedV1(ApprovalRequestPayload):
    """A request was opened and routed to its first stage."""

    event_type = "approvals.request.requested"
    event_version = 1

    requested_by: str
    workflow: str
    stages: list[str]


class ApprovalStepDecidedV1(ApprovalRequestPayload):
    """One approver decided one stage (approve, reject, return, delegate)."""

    event_type = "approvals.request.step_decided"
    event_version = 1

    stage: str
    decision: str
    decided_by: str
    comment: str | None = None


class ApprovalApprovedV1(ApprovalRequestPayload):
    """Every stage approved: the request is approved (an approved expense is committed spend)."""

    event_type = "approvals.request.approved"
    event_version = 1

    decided_by: str
    decided_at: datetime


class ApprovalRejectedV1(ApprovalRequestPayload):
    """A stage rejected, or returned the request for changes; the request is closed."""

    event_type = "approvals.request.rejected"
    event_version = 1

    decided_by: str
    decided_at: datetime
    reason: str
    returned_for_changes: bool = False


class ApprovalOverdueV1(ApprovalRequestPayload):
    """A stage passed its deadline (SLA) without a decision."""

    event_type = "approvals.request.overdue"
    event_version = 1

    stage: str
    due_at: datetime
    approver_roles: list[str]
    event_on: date | None = None


class ApprovalEscalatedV1(ApprovalRequestPayload):
    """An overdue stage was escalated: the next level up may now decide it."""

    event_type = "approvals.request.escalated"
    event_version = 1

    stage: str
    escalated_to: list[str]


EVENTS: tuple[type[EventPayload], ...] = (
    ApprovalRequestedV1,
    ApprovalStepDecidedV1,
    ApprovalApprovedV1,
    ApprovalRejectedV1,
    ApprovalOverdueV1,
    ApprovalEscalatedV1,
)
