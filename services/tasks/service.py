"""Tasks' domain operations: plain functions over a session, no HTTP."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.models import KnownPlan
from services.tasks.repository import KnownPlanRepository
from shared.kit.errors import NotFound


class PlanUnknown(NotFound):
    """No event about this plan has reached the tasks service."""


async def get_known_plan(session: AsyncSession, plan_id: uuid.UUID) -> KnownPlan:
    """The projected plan, or PlanUnknown."""
    plan = await KnownPlanRepository(session).get_or_none(plan_id)
    if plan is None:
        raise PlanUnknown(f"plan {plan_id} is not known to the tasks service")
    return plan
