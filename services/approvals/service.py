"""Approvals' domain operations: open a request, route it, decide it, publish the outcome."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import SERVICE, audit, budget, notices
from services.approvals.models import ApprovalRequest, Decision, Workflow, bus, idempotency
from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import (
    DecisionRead,
    PolicyRead,
    RequestCreate,
    RequestPage,
    RequestRead,
    RoutePreview,
    StageRead,
    WorkflowRead,
)
from services.approvals.settings import get_approval_settings
from services.approvals.workflows import (
    DEFAULT_WORKFLOWS,
    WorkflowDefinition,
    policies,
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
from shared.contract.types import CostType, Money, Role
from shared.kit.auth import Principal
from shared.kit.bus.outbox import Outbox
from shared.kit.errors import Conflict, Forbidden, NotFound, RuleViolated
from shared.kit.pagination import Page, PageWindow, decode_cursor, encode_cursor, page_in_memory
from shared.kit.settings import get_settings

outbox = Outbox(bus.outbox, source=SERVICE)


class RequestNotFound(NotFound):
    """No approval request with this id."""


class RequestClosed(Conflict):
    """The request was already decided."""

    slug = "request-closed"


class StageAlreadyDecided(Conflict):
    """Someone else decided this stage first."""

    slug = "stage-already-decided"


class PolicyRefused(RuleViolated):
    """A creation policy (lead time, attachment) does not hold."""

    slug = "policy-refused"


async def workflow_in_force(session: AsyncSession, key: str) -> tuple[int, WorkflowDefinition]:
    """The newest admin-edited version of a workflow, else the built-in one (version 1)."""
    stored = await ApprovalRepository(session).workflow(key)
    if stored is not None:
        return stored.version, WorkflowDefinition.model_validate(stored.definition)
    if key not in DEFAULT_WORKFLOWS:
        raise NotFound(f"no workflow {key!r}")
    return 1, DEFAULT_WORKFLOWS[key]


async def set_workflow(
    session: AsyncSession, key: str, definition: WorkflowDefinition, actor: Principal
) -> WorkflowRead:
    """Save a new version of a workflow; requests already open keep the route they had."""
    version, _current = await workflow_in_force(session, key)
    row = Workflow(
        key=key,
        version=version + 1,
        definition=definition.model_dump(mode="json"),
        created_by=actor.subject,
    )
    await ApprovalRepository(session).add(row)
    await audit.append(
        session,
        request_id=None,
        actor=actor.subject,
        action="workflow.changed",
        detail={"key": key, "version": row.version},
    )
    return WorkflowRead(key=key, version=row.version, definition=definition)


async def preview(session: AsyncSession, data: RequestCreate, now: datetime) -> RoutePreview:
    """The chain and policy results the same request would get, without filing it."""
    key = workflow_key(data.kind, data.cost_type)
    version, workflow = await workflow_in_force(session, key)
    settings = get_approval_settings()
    stages = route(workflow, data.amount, settings.default_stage_sla_hours)
    results = policies(
        kind=data.kind,
        cost_type=data.cost_type,
        event_on=data.event_on,
        attachments=[a.model_dump() for a in data.attachments],
        now=now,
        timezone=get_settings().company_timezone,
        settings=settings,
    )
    if (fits := await budget.check(session, data)) is not None:
        results.append(fits)
    return RoutePreview(
        workflow=key,
        workflow_version=version,
        stages=[StageRead(**asdict(s), status="preview") for s in stages],
        policies=[PolicyRead(**asdict(p)) for p in results],
    )


async def file_request(
    session: AsyncSession,
    data: RequestCreate,
    actor: Principal,
    now: datetime,
    client_address: str | None = None,
    *,
    key: str | None = None,
) -> RequestRead:
    """File a request over REST (once per Idempotency-Key), refused when a policy does not hold."""
    return await idempotency.run(
        session,
        key=key,
        principal=actor.subject,
        scope="POST /approvals/requests",
        request=data,
        produce=lambda: _file_request(session, data, actor, now, client_address),
        model=RequestRead,
    )


async def _file_request(
    session: AsyncSession,
    data: RequestCreate,
    actor: Principal,
    now: datetime,
    client_address: str | None,
) -> RequestRead:
    checked = await preview(session, data, now)
    failing = [p for p in checked.policies if not p.passed]
    if data.override_reason and Role.ADMIN not in actor.roles:
        raise Forbidden("only an admin may override a policy", field="override_reason")
    if failing and not data.override_reason:
        first = failing[0]
        raise PolicyRefused(
            first.message,
            rule=first.rule,
            field=first.field,
            errors=[{"rule": p.rule, "field": p.field, "message": p.message} for p in failing],
        )
    return await open_request(
        session,
        kind=data.kind,
        title=data.title,
        reference_id=uuid.uuid4(),
        requester=actor.subject,
        now=now,
        plan_id=data.plan_id or await budget.plan_of_line(session, data.budget_line_id),
        budget_line_id=data.budget_line_id,
        amount=data.amount,
        currency=data.currency,
        cost_type=data.cost_type,
        event_on=data.event_on,
        attachments=[a.model_dump() for a in data.attachments],
        policy_override=data.override_reason if failing else None,
        client_address=client_address,
    )


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


async def list_requests(
    session: AsyncSession, *, cursor: str | None, limit: int, **filters: Any
) -> RequestPage:
    """A page of requests in a stable order."""
    after_text = decode_cursor(cursor)
    try:
        after = uuid.UUID(after_text) if after_text else None
    except ValueError as exc:
        raise RuleViolated("cursor is not one this API issued", field="cursor") from exc
    rows = await ApprovalRepository(session).list_page(after=after, limit=limit, **filters)
    items = [await read(session, r) for r in rows[:limit]]
    return RequestPage(
        items=items, next_cursor=encode_cursor(str(items[-1].id)) if len(rows) > limit else None
    )


async def inbox(
    session: AsyncSession, actor: Principal, now: datetime, window: PageWindow
) -> Page[RequestRead]:
    """Pending requests whose open stage the caller (or someone they stand in for) decides,
    soonest due first (stages without an SLA last); whose they are is decided per request in
    Python, so the page is cut from the matching requests."""
    roles = await roles_for(session, actor, now)
    waiting = []
    for request in await ApprovalRepository(session).pending():
        stage = request.stages[request.current_stage]
        deciders = set(stage["roles"]) | set(stage.get("escalated_to", []))
        if request.requester != actor.subject and (
            deciders & set(roles) or Role.ADMIN.value in roles
        ):
            waiting.append(await read(session, request))
    return page_in_memory(waiting, window, lambda r: (_due(r), r.id))


def _due(request: RequestRead) -> datetime:
    return request.stages[request.current_stage].due_at or _NO_SLA


_NO_SLA = datetime.max.replace(tzinfo=UTC)


def utc_now() -> datetime:
    """The clock the API uses; tests pass their own time to the functions above."""
    return datetime.now(UTC)
