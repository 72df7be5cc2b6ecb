"""Plans built through the planning service's own functions, not through HTTP.

The same use cases the routes call (create, replace a section, submit), in one transaction each,
with the events they record in the outbox: state a test starts from, at a fraction of the cost
of a request per step. An approved plan is approved by the approvals service's outcome event,
applied through planning's own handler (tests/harness/factories/events.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.planning import lifecycle, sections, service
from services.planning.schemas import (
    BudgetLineIn,
    ChannelIn,
    ObjectiveIn,
    PersonaIn,
    PhaseIn,
    PlanCreate,
    PlanDetail,
    RiskIn,
)
from shared.contract.events.approvals import ApprovalApprovedV1, RequestKind
from shared.contract.types import Role
from shared.kit.auth import Principal
from tests.harness.factories.events import handled
from tests.planning import seed

SPECIALIST = Principal("specialist-amy", frozenset({Role.SPECIALIST}))


async def create_plan(
    sessions: async_sessionmaker[AsyncSession],
    actor: Principal = SPECIALIST,
    **overrides: Any,
) -> PlanDetail:
    """A draft plan with the docs/domain.md header (fields overridable), no sections."""
    data = PlanCreate.model_validate({**seed.PLAN, **overrides})
    async with sessions() as session, session.begin():
        return await service.create_plan(session, data, actor)


async def replace_section(
    sessions: async_sessionmaker[AsyncSession],
    plan_id: uuid.UUID,
    section: str,
    items: Sequence[BaseModel],
) -> PlanDetail:
    """Replace one section of a draft plan, as PUT /plans/{id}/<section> does."""
    async with sessions() as session, session.begin():
        return await sections.replace_section(session, plan_id, section, items, None)  # type: ignore[arg-type]


async def seeded_plan(sessions: async_sessionmaker[AsyncSession], **overrides: Any) -> PlanDetail:
    """A draft plan holding every docs/domain.md table of sections 1, 2 and 4."""
    plan = await create_plan(sessions, **overrides)
    plan_id = plan.plan.id
    steps: list[tuple[str, type[BaseModel], list[dict[str, Any]]]] = [
        ("objectives", ObjectiveIn, seed.OBJECTIVES),
        ("audience", PersonaIn, seed.AUDIENCE),
        ("channels", ChannelIn, seed.CHANNELS),
        ("phases", PhaseIn, seed.PHASES),
    ]
    for section, model, rows in steps:
        plan = await replace_section(
            sessions, plan_id, section, [model.model_validate(r) for r in rows]
        )
    budget = seed.budget([str(c.id) for c in plan.channels])
    await replace_section(
        sessions, plan_id, "budget", [BudgetLineIn.model_validate(r) for r in budget]
    )
    return await replace_section(
        sessions, plan_id, "risks", [RiskIn.model_validate(r) for r in seed.RISKS]
    )


async def submit(
    sessions: async_sessionmaker[AsyncSession], plan_id: uuid.UUID, actor: Principal = SPECIALIST
) -> PlanDetail:
    """Submit a draft plan for approval, as POST /plans/{id}/submit does (every rule checked)."""
    async with sessions() as session, session.begin():
        return await lifecycle.submit(session, plan_id, actor, None)


async def approved_plan(sessions: async_sessionmaker[AsyncSession], **overrides: Any) -> PlanDetail:
    """``seeded_plan`` submitted and approved by finance: version 1 frozen, its targets
    announced in the outbox."""
    plan_id = (await seeded_plan(sessions, **overrides)).plan.id
    await submit(sessions, plan_id)
    outcome = ApprovalApprovedV1(
        request_id=uuid.uuid4(),
        kind=RequestKind.PLAN,
        reference_id=plan_id,
        plan_id=plan_id,
        decided_by="finance-zhao",
        decided_at=datetime.now(UTC),
    )
    await handled(sessions, "planning", outcome, str(plan_id))
    async with sessions() as session:
        return await service.get_detail(session, plan_id)
