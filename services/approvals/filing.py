"""Filing a request over REST: the route and policies it would get, then opening it unless a
policy refuses (an admin may override with a reason)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import budget
from services.approvals.models import idempotency
from services.approvals.schemas import (
    PolicyRead,
    RequestCreate,
    RequestRead,
    RoutePreview,
    StageRead,
)
from services.approvals.service import open_request, workflow_in_force
from services.approvals.settings import get_approval_settings
from services.approvals.workflows import policies, route, workflow_key
from shared.contract.types import Role
from shared.kit.auth import Principal
from shared.kit.errors import Forbidden, RuleViolated
from shared.kit.settings import get_settings


class PolicyRefused(RuleViolated):
    """A creation policy (lead time, attachment) does not hold."""

    slug = "policy-refused"


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
