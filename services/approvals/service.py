"""Approvals' core: the workflow in force, opening a request on its route, moving it to the
next stage, closing it, publishing the outcome, and reading one request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import SERVICE, audit, notices
from services.approvals.models import ApprovalRequest, Decision, bus
from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import (
    DecisionRead,
    RequestRead,
    StageRead,
)
from services.approvals.settings import get_approval_settings
from services.approvals.workflows import (
    DEFAULT_WORKFLOWS,
    WorkflowDefinition,
    route,
    workflow_key,
)
from shared.contract.envelope import EventPayload
from shared.contract.events.approvals import (
    ApprovalApprovedV1,
    ApprovalRejectedV1,
    ApprovalRequestedV1,
    RequestKind,
)
from shared.contract.types import CostType, Money
from shared.kit.auth import Principal
from shared.kit.bus.outbox import Outbox
from shared.kit.errors import Conflict, NotFound

outbox = Outbox(bus.outbox, source=SERVICE)


class RequestNotFound(NotFound):
    """No approval request with this id."""


class RequestClosed(Conflict):
    """The request was already decided."""

    slug = "request-closed"


class StageAlreadyDecided(Conflict):
    """Someone else decided this stage first."""

    slug = "stage-already-decided"


async def workflow_in_force(session: AsyncSession, key: str) -> tuple[int, WorkflowDefinition]:
    """The newest admin-edited version of a workflow, else the built-in one (version 1)."""
    stored = await ApprovalRepository(session).workflow(key)
    if stored is not None:
        return stored.version, WorkflowDefinition.model_validate(stored.definition)
    if key not in DEFAULT_WORKFLOWS:
        raise NotFound(f"no workflow {key!r}")
    return 1, DEFAULT_WORKFLOWS[key]


async def open_request(
    session: AsyncSession,
    *,
    kind: RequestKind,
    title: str,
    reference_id: uuid.UUID,
    requester: str,
    now: datetime,
    plan_id: uuid.UUID | None = None,
    budget_line_id: uuid.UUID | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    cost_type: CostType | None = None,
    event_on: date | None = None,
    attachments: list[dict[str, Any]] | None = None,
    policy_override: str | None = None,
    source_event_id: uuid.UUID | None = None,
    client_address: str | None = None,
) -> RequestRead:
    """Open a request on the workflow its kind and cost type pick; its first stage starts now."""
    key = workflow_key(kind, cost_type)
    version, workflow = await workflow_in_force(session, key)
    routed = route(workflow, amount, get_approval_settings().default_stage_sla_hours)
    stages = [{**asdict(s), "status": "waiting" if s.applies else "skipped"} for s in routed]
    request = ApprovalRequest(
        id=uuid.uuid4(),
        kind=kind.value,
        title=title,
        reference_id=reference_id,
        source_event_id=source_event_id,
        plan_id=plan_id,
        budget_line_id=budget_line_id,
        amount=amount,
        currency=currency,
        cost_type=cost_type.value if cost_type else None,
        event_on=event_on,
        attachments=attachments or [],
        requester=requester,
        workflow_key=key,
        workflow_version=version,
        stages=stages,
        current_stage=0,
        status="pending",
        policy_override=policy_override,
        row_version=1,
    )
    start_next_stage(request, now)
    await ApprovalRepository(session).add(request)
    await notices.stage_opened(session, request, now)
    await audit.append(
        session,
        request_id=request.id,
        actor=requester,
        action="request.opened",
        detail={"kind": kind.value, "workflow": key, "amount": amount, "override": policy_override},
        client_address=client_address,
    )
    await publish_outcome(
        session,
        request,
        ApprovalRequestedV1,
        requested_by=requester,
        workflow=key,
        stages=[s["name"] for s in stages if s["status"] != "skipped"],
    )
    if request.status == "approved":  # every stage was skipped
        await close_request(session, request, approved=True, by="system", reason=None, now=now)
    return await read(session, request)


def start_next_stage(request: ApprovalRequest, now: datetime) -> None:
    """Move to the first stage still waiting, or approve the request when none is left."""
    stages = [dict(s) for s in request.stages]
    for index, stage in enumerate(stages):
        if stage["status"] == "waiting":
            stage["status"] = "active"
            stage["due_at"] = (now + timedelta(hours=stage["sla_hours"])).isoformat()
            request.current_stage = index
            request.stages = stages
            return
    request.stages = stages
    request.status = "approved"


async def roles_for(
    session: AsyncSession, actor: Principal, now: datetime
) -> dict[str, str | None]:
    """Each role the caller may act in, and whom they act for (None: their own role)."""
    roles: dict[str, str | None] = {role.value: None for role in actor.roles}
    for delegation in await ApprovalRepository(session).delegations_to(actor.subject, now):
        for role in delegation.roles:
            roles.setdefault(role, delegation.delegator)
    return roles


async def close_request(
    session: AsyncSession,
    request: ApprovalRequest,
    *,
    approved: bool,
    by: str,
    reason: str | None,
    now: datetime,
    returned: bool = False,
) -> None:
    request.status = "approved" if approved else ("returned" if returned else "rejected")
    request.closed_at = now
    await audit.append(
        session,
        request_id=request.id,
        actor=by,
        action=f"request.{request.status}",
        detail={"reason": reason},
    )
    if approved:
        await publish_outcome(session, request, ApprovalApprovedV1, decided_by=by, decided_at=now)
    else:
        await publish_outcome(
            session,
            request,
            ApprovalRejectedV1,
            decided_by=by,
            decided_at=now,
            reason=reason or "rejected",
            returned_for_changes=returned,
        )
    await session.flush()


async def publish_outcome(
    session: AsyncSession, request: ApprovalRequest, event: type[EventPayload], **fields: Any
) -> None:
    """Every outcome carries what the requester needs to act without calling back."""
    amount = (
        Money(amount=request.amount, currency=request.currency or "CNY")
        if request.amount is not None
        else None
    )
    payload = event(
        request_id=request.id,
        kind=RequestKind(request.kind),
        reference_id=request.reference_id,
        plan_id=request.plan_id,
        budget_line_id=request.budget_line_id,
        amount=amount,
        cost_type=request.cost_type,
        **fields,
    )
    # A plan's approvals share the plan's key, so its outcomes stay in order with its events.
    subject = str(request.plan_id) if request.kind in ("plan", "adjustment") else str(request.id)
    await outbox.record(session, payload, subject=subject)


async def read(
    session: AsyncSession,
    request: ApprovalRequest,
    *,
    decisions: Sequence[Decision] | None = None,
) -> RequestRead:
    """A request with its decisions (read, unless the caller already holds all of them)."""
    if decisions is None:
        decisions = await ApprovalRepository(session).decisions(request.id)
    else:  # the order the repository reads them in
        decisions = sorted(decisions, key=lambda d: (d.decided_at, d.id))
    return RequestRead(
        **{
            k: getattr(request, k)
            for k in RequestRead.model_fields
            if k not in ("decisions", "stages")
        },
        stages=[StageRead.model_validate(s) for s in request.stages],
        decisions=[DecisionRead.model_validate(d) for d in decisions],
    )


async def get(session: AsyncSession, request_id: uuid.UUID) -> RequestRead:
    """One request."""
    request = await ApprovalRepository(session).request(request_id)
    if request is None:
        raise RequestNotFound(f"no approval request {request_id}")
    return await read(session, request)


def utc_now() -> datetime:
    """The clock the API uses; tests pass their own time to the functions above."""
    return datetime.now(UTC)
