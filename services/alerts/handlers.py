"""Events the alerts service consumes: observations, targets, and non-metric conditions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import SERVICE, configuration, judging, service
from shared.contract.envelope import Envelope
from shared.contract.events.approvals import (
    ApprovalApprovedV1,
    ApprovalOverdueV1,
    ApprovalRejectedV1,
    ApprovalStepDecidedV1,
)
from shared.contract.events.metrics import (
    DataLateV1,
    FraudSuspectedV1,
    IngestionSummaryV1,
    KpiSnapshotV1,
    MetricDefinedV1,
    MetricsUpdatedV1,
    SpendRecordedV1,
)
from shared.contract.events.planning import BudgetLineOverspentV1, PlanTargetsSetV1
from shared.contract.events.tasks import (
    TaskCreatedV1,
    TaskDueSoonV1,
    TaskOverdueV1,
    TaskStatusChangedV1,
)
from shared.kit.bus.inbox import subscribe


async def on_targets_set(
    event: PlanTargetsSetV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Default rules follow the plan's objectives."""
    await configuration.on_targets(session, event)


async def on_kpi_snapshot(event: KpiSnapshotV1, _envelope: Envelope, session: AsyncSession) -> None:
    """Judge objectives against their targets."""
    await judging.on_kpi_snapshot(session, event, datetime.now(UTC))


async def on_metrics_updated(
    event: MetricsUpdatedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Judge metric rules on a channel-day."""
    await judging.on_metrics_updated(session, event, datetime.now(UTC))


async def on_spend_recorded(
    event: SpendRecordedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Judge budget pacing rules."""
    await judging.on_spend(session, event, datetime.now(UTC))


async def on_task_created(event: TaskCreatedV1, _envelope: Envelope, session: AsyncSession) -> None:
    """A follow-up task exists: link it to its alert."""
    await service.on_task_created(session, event)


async def on_condition(
    event: TaskOverdueV1
    | TaskDueSoonV1
    | DataLateV1
    | FraudSuspectedV1
    | ApprovalOverdueV1
    | BudgetLineOverspentV1,
    envelope: Envelope,
    session: AsyncSession,
) -> None:
    """Non-metric conditions raise the plan's event rule for them."""
    if isinstance(event, TaskDueSoonV1):
        subject, summary = event.task_id, f"task {event.code} {event.name} ends on {event.ends_on}"
    elif isinstance(event, TaskOverdueV1):
        subject, summary = (
            event.task_id,
            f"task {event.code} {event.name} is {event.days_overdue} day(s) overdue",
        )
    elif isinstance(event, DataLateV1):
        subject, summary = (
            event.source_id,
            f"no data from source {event.source_id} for {event.business_day}",
        )
    elif isinstance(event, FraudSuspectedV1):
        subject, summary = event.plan_id, f"fraud suspected on {event.channel_code}: {event.detail}"
    elif isinstance(event, ApprovalOverdueV1):
        subject, summary = event.request_id, f"approval stage {event.stage} is overdue"
    else:
        subject = event.budget_line_id
        summary = (
            f"budget line forecast {event.forecast.amount} exceeds plan {event.planned.amount}"
        )
    await judging.on_event(
        session, envelope.type, event.plan_id, subject, summary, datetime.now(UTC)
    )


async def on_task_moved(
    event: TaskStatusChangedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """A finished or cancelled task is no longer overdue."""
    if event.to_status in ("done", "cancelled"):
        for condition in ("tasks.task.overdue", "tasks.task.due_soon"):
            await judging.on_condition_cleared(
                session,
                condition,
                event.task_id,
                f"task {event.code} is {event.to_status}",
                datetime.now(UTC),
            )


async def on_stage_decided(
    event: ApprovalStepDecidedV1 | ApprovalApprovedV1 | ApprovalRejectedV1,
    _envelope: Envelope,
    session: AsyncSession,
) -> None:
    """A decided stage is no longer overdue."""
    await judging.on_condition_cleared(
        session,
        "approvals.request.overdue",
        event.request_id,
        "the overdue stage was decided",
        datetime.now(UTC),
    )


async def on_ingested(
    event: IngestionSummaryV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """Data from a late source arrived."""
    if event.rows:
        await judging.on_condition_cleared(
            session,
            "metrics.source.data_late",
            event.source_id,
            f"{event.rows} row(s) arrived ({event.first_day} – {event.last_day})",
            datetime.now(UTC),
        )


async def on_metric_defined(
    event: MetricDefinedV1, _envelope: Envelope, session: AsyncSession
) -> None:
    """A derived metric exists: rules may watch it."""
    await configuration.remember_metric(session, event)


SUBSCRIBERS = [
    subscribe(SERVICE, on_targets_set, PlanTargetsSetV1),
    subscribe(SERVICE, on_kpi_snapshot, KpiSnapshotV1),
    subscribe(SERVICE, on_metrics_updated, MetricsUpdatedV1),
    subscribe(SERVICE, on_spend_recorded, SpendRecordedV1),
    subscribe(SERVICE, on_task_created, TaskCreatedV1),
    subscribe(SERVICE, on_task_moved, TaskStatusChangedV1),
    subscribe(
        SERVICE, on_stage_decided, ApprovalStepDecidedV1, ApprovalApprovedV1, ApprovalRejectedV1
    ),
    subscribe(SERVICE, on_ingested, IngestionSummaryV1),
    subscribe(SERVICE, on_metric_defined, MetricDefinedV1),
    subscribe(
        SERVICE,
        on_condition,
        TaskOverdueV1,
        TaskDueSoonV1,
        DataLateV1,
        FraudSuspectedV1,
        ApprovalOverdueV1,
        BudgetLineOverspentV1,
    ),
]
