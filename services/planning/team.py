"""Who may write a plan: its team (owner and members), supervisors and managers.

The rules are plain functions in rules.py; this module applies them to stored plans.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import rules
from services.planning.schemas import PlanDetail, PlanTeam
from services.planning.service import detail, get_plan, touch
from shared.contract.types import Role
from shared.kit.auth import Principal
from shared.kit.http import check_version


async def authorise_write(
    session: AsyncSession, plan_id: uuid.UUID, actor: Principal, *, also: Iterable[Role] = ()
) -> None:
    """Refuse a write to the plan by anyone outside its team (404 for an unknown plan)."""
    plan = await get_plan(session, plan_id)
    rules.check_team_write(actor, plan.owner_id, plan.members, also=also)


async def set_members(
    session: AsyncSession,
    plan_id: uuid.UUID,
    data: PlanTeam,
    actor: Principal,
    if_match: str | None,
) -> PlanDetail:
    """Name the plan's members (the owner, a supervisor or a manager), in any status."""
    plan = await get_plan(session, plan_id, for_update=True)
    check_version(plan.revision, if_match)
    rules.check_team_keeper(actor, plan.owner_id, field="members")
    plan.members = rules.team_members(plan.owner_id, data.members)
    touch(plan)
    await session.flush()
    return await detail(session, plan)
