"""Events the planning service consumes; each runs inside the inbox's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import SERVICE, adjustments, lifecycle, service
from shared.contract.envelope import Envelope
from shared.contract.events.approvals import ApprovalApprovedV1, ApprovalRejectedV1, RequestKind
from shared.contract.events.metrics import KpiSnapshotV1, MetricDefinedV1, SpendRecordedV1
from shared.kit.bus.inbox import subscribe


async def on_approval_decided(
    event: ApprovalApprovedV1 | ApprovalRejectedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """A plan or adjustment was approved or rejected; an approved expense is committed spend."""
    approved = isinstance(event, ApprovalApprovedV1)
    reason = None if approved else event.reason  # type: ignore[union-attr]
    if event.kind is RequestKind.PLAN:
        await lifecycle.on_plan_decision(
            session, event.reference_id, approved, event.decided_by, reason
        )
    elif event.kind is RequestKind.ADJUSTMENT:
        await adjustments.on_decision(
            session, event.reference_id, approved, event.decided_by, reason
        )
    elif (
        approved
        and event.kind is RequestKind.EXPENSE
        and event.plan_id is not None
        and event.budget_line_id is not None
        and event.amount is not None
    ):
        await lifecycle.record_commitment(
            session, event.plan_id, event.budget_line_id, event.amount.amount
        )


async def on_kpi_snapshot(event: KpiSnapshotV1, _envelope: Envelope, session: AsyncSession) -> None:
    """Show each objective's latest achievement on the plan."""
    for objective in event.objectives:
        await lifecycle.record_progress(
            session, objective.objective_id, objective.actual, objective.achievement, event.as_of
        )


async def on_spend_recorded(
    event: SpendRecordedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Actual spend of a channel, for the budget's 'actual' column."""
    await lifecycle.record_spend(
        session, event.plan_id, event.channel_id, event.spend_to_date.amount
    )


async def on_metric_defined(
    event: MetricDefinedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """A derived metric exists: objectives may name it."""
    await service.remember_metric(session, event)


SUBSCRIBERS = [
    subscribe(SERVICE, on_approval_decided, ApprovalApprovedV1, ApprovalRejectedV1),
    subscribe(SERVICE, on_kpi_snapshot, KpiSnapshotV1),
    subscribe(SERVICE, on_spend_recorded, SpendRecordedV1),
    subscribe(SERVICE, on_metric_defined, MetricDefinedV1),
]
