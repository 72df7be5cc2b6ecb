"""Planning's domain operations: plain functions over a session, no HTTP."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import SERVICE
from services.planning.models import Plan, bus
from services.planning.repository import PlanRepository
from services.planning.schemas import PlanCreate, PlanPage, PlanRead
from shared.contract.events import PlanCreatedV1
from shared.kit.auth import Principal
from shared.kit.bus.outbox import Outbox
from shared.kit.errors import NotFound, RuleViolated
from shared.kit.pagination import decode_cursor, encode_cursor

outbox = Outbox(bus.outbox, source=SERVICE)


class PlanNotFound(NotFound):
    """No plan with this id."""


async def create_plan(session: AsyncSession, data: PlanCreate, actor: Principal) -> Plan:
    """Create a draft plan and record ``planning.plan.created`` in the same transaction."""
    plan = await PlanRepository(session).add(
        Plan(
            id=uuid.uuid4(),
            name=data.name,
            product=data.product,
            owner_id=data.owner_id or actor.subject,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            currency=data.currency,
            created_by=actor.subject,
        )
    )
    await outbox.record(
        session,
        PlanCreatedV1(
            plan_id=plan.id,
            name=plan.name,
            product=plan.product,
            owner_id=plan.owner_id,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            currency=plan.currency,
        ),
        subject=str(plan.id),
    )
    return plan


async def get_plan(session: AsyncSession, plan_id: uuid.UUID) -> Plan:
    """One plan, or PlanNotFound."""
    plan = await PlanRepository(session).get_or_none(plan_id)
    if plan is None:
        raise PlanNotFound(f"no plan {plan_id}")
    return plan


async def list_plans(
    session: AsyncSession,
    *,
    cursor: str | None,
    limit: int,
    status: str | None = None,
    owner_id: str | None = None,
) -> PlanPage:
    """A page of plans in a stable order."""
    after_text = decode_cursor(cursor)
    try:
        after = uuid.UUID(after_text) if after_text else None
    except ValueError as exc:
        raise RuleViolated("cursor is not one this API issued", field="cursor") from exc
    rows = await PlanRepository(session).list_page(
        after=after, limit=limit, status=status, owner_id=owner_id
    )
    items = [PlanRead.model_validate(plan) for plan in rows[:limit]]
    next_cursor = encode_cursor(str(items[-1].id)) if len(rows) > limit else None
    return PlanPage(items=items, next_cursor=next_cursor)
