"""The SLA watch: an overdue stage escalates one level up and is announced once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import audit, notices
from services.approvals.repository import ApprovalRepository
from services.approvals.service import publish_outcome
from services.approvals.settings import get_approval_settings
from services.approvals.workflows import ESCALATION
from shared.contract.events.approvals import ApprovalEscalatedV1, ApprovalOverdueV1
from shared.kit.jobs import PeriodicJob
from shared.kit.settings import Settings


async def escalate_overdue(session: AsyncSession, now: datetime, _settings: Settings) -> None:
    """Flag each open stage past its deadline once: escalate it and emit approval overdue.

    A stage whose deadline is near gets its deciders told once (the notices' unique key)."""
    warning = timedelta(hours=get_approval_settings().sla_warning_hours)
    for request in await ApprovalRepository(session).pending(lock=True):
        stages = [dict(s) for s in request.stages]
        stage = stages[request.current_stage]
        due_at = datetime.fromisoformat(stage["due_at"]) if stage.get("due_at") else None
        if due_at is not None and now < due_at <= now + warning:
            await notices.queue(session, request, "sla_near", stage["roles"], now)
        if due_at is None or due_at > now or stage.get("overdue"):
            continue
        stage["overdue"] = True
        stage["escalated_to"] = sorted({ESCALATION[r] for r in stage["roles"] if r in ESCALATION})
        request.stages = stages
        request.row_version += 1
        await audit.append(
            session,
            request_id=request.id,
            actor="system",
            action="stage.overdue",
            detail={"stage": stage["name"], "escalated_to": stage["escalated_to"]},
        )
        await publish_outcome(
            session,
            request,
            ApprovalOverdueV1,
            stage=stage["name"],
            due_at=due_at,
            approver_roles=stage["roles"] + stage["escalated_to"],
            event_on=request.event_on,
        )
        if stage["escalated_to"]:
            await notices.queue(session, request, "escalated", stage["escalated_to"], now)
            await publish_outcome(
                session,
                request,
                ApprovalEscalatedV1,
                stage=stage["name"],
                escalated_to=stage["escalated_to"],
            )
    await session.flush()


JOBS = [
    PeriodicJob("approvals-sla", escalate_overdue, interval_seconds=60),
    PeriodicJob("approvals-notices", notices.deliver, interval_seconds=1),
]
