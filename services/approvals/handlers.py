"""Events the approvals service consumes: plans and adjustments that need a decision."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import SERVICE, budget, service
from shared.contract.envelope import Envelope
from shared.contract.events.approvals import RequestKind
from shared.contract.events.planning import (
    AdjustmentRequestedV1,
    PlanSubmittedV1,
    PlanTargetsSetV1,
)
from shared.kit.bus.inbox import subscribe


async def on_plan_submitted(
    event: PlanSubmittedV1, envelope: Envelope, session: AsyncSession
) -> None:
    """A submitted plan becomes a plan-approval request (supervisor → manager → finance)."""
    await service.open_request(
        session,
        kind=RequestKind.PLAN,
        title=f"plan {event.name} (version {event.version})",
        reference_id=event.plan_id,
        requester=event.submitted_by,
        now=datetime.now(UTC),
        plan_id=event.plan_id,
        amount=event.total_budget.amount,
        currency=event.total_budget.currency,
        source_event_id=envelope.id,
    )


async def on_adjustment_requested(
    event: AdjustmentRequestedV1, envelope: Envelope, session: AsyncSession
) -> None:
    """An adjustment goes to the marketing committee (marketing, sales and finance, all of them)."""
    await service.open_request(
        session,
        kind=RequestKind.ADJUSTMENT,
        title=f"{event.kind.replace('_', ' ')}: {event.reason}",
        reference_id=event.adjustment_id,
        requester=event.requested_by,
        now=datetime.now(UTC),
        plan_id=event.plan_id,
        amount=event.amount.amount if event.amount else None,
        currency=event.amount.currency if event.amount else None,
        source_event_id=envelope.id,
    )


async def on_targets_set(
    event: PlanTargetsSetV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Expenses are checked against the approved version's budget lines."""
    await budget.keep_budget_lines(session, event)


SUBSCRIBERS = [
    subscribe(SERVICE, on_plan_submitted, PlanSubmittedV1),
    subscribe(SERVICE, on_adjustment_requested, AdjustmentRequestedV1),
    subscribe(SERVICE, on_targets_set, PlanTargetsSetV1),
]
