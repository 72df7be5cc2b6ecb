"""Plans known to the tasks service, and their WBS, built through tasks' own functions.

Tasks learns a plan from planning's ``planning.plan.created`` event; ``known_plan`` applies that
event through tasks' handler, so no planning service (and no polling) is needed. ``with_wbs``
then adds docs/domain.md §3's WBS (M-001…M-004, each with its R1 owner and R2 approver, M-003
waiting for M-002, M-004 for M-001 and M-003) with the use case POST /tasks/plans/{id}/tasks
calls, one transaction per task as one request each would be.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from demo.seed import WBS
from services.tasks import service
from services.tasks.schemas import TaskCreate, TaskRead
from shared.contract.events.planning import PlanCreatedV1
from tests.harness.factories.events import handled

# The plan tests/tasks used to create in planning: May and June 2024, owned by its creator.
PLAN: dict[str, Any] = {
    "name": "618 KOC seeding",
    "product": "serum",
    "owner_id": "specialist-amy",
    "starts_on": date(2024, 5, 1),
    "ends_on": date(2024, 6, 30),
    "currency": "CNY",
}


async def known_plan(sessions: async_sessionmaker[AsyncSession], **overrides: Any) -> uuid.UUID:
    """A plan tasks knows from planning's created event (fields of ``PLAN`` overridable); its id."""
    event = PlanCreatedV1.model_validate({"plan_id": uuid.uuid4(), **PLAN, **overrides})
    await handled(sessions, "tasks", event, str(event.plan_id))
    return event.plan_id


async def create_task(
    sessions: async_sessionmaker[AsyncSession], plan_id: uuid.UUID, row: dict[str, Any]
) -> TaskRead:
    """One WBS node (a POST /tasks/plans/{id}/tasks body), with its prerequisites by code."""
    async with sessions() as session, session.begin():
        return await service.create_task(session, plan_id, TaskCreate.model_validate(row))


async def with_wbs(
    sessions: async_sessionmaker[AsyncSession], **overrides: Any
) -> tuple[uuid.UUID, dict[str, TaskRead]]:
    """A known plan holding the docs/domain.md §3 WBS; its id and its tasks by code."""
    plan_id = await known_plan(sessions, **overrides)
    tasks = {row["code"]: await create_task(sessions, plan_id, row) for row in WBS}
    return plan_id, tasks
