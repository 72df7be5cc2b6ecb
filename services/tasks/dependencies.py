"""Dependencies between a plan's tasks: a prerequisite linked only within the plan, never in a
cycle."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import schedule
from services.tasks.models import Dependency
from services.tasks.repository import TaskRepository
from services.tasks.schemas import TaskRead
from services.tasks.service import get_task, read
from shared.kit.errors import RuleViolated


async def link(
    session: AsyncSession, task_id: uuid.UUID, prerequisite_code: str, kind: str, lag_days: int
) -> TaskRead:
    """Add a prerequisite, refusing another plan's task and any cycle (spelled out)."""
    task = await get_task(session, task_id, for_update=True)
    repo = TaskRepository(session)
    before = (await repo.by_code(task.plan_id, [prerequisite_code])).get(prerequisite_code)
    if before is None:
        raise RuleViolated(
            f"no task {prerequisite_code} in this plan", field="code", rule="same-plan-prerequisite"
        )
    tasks = {t.id: t.code for t in await repo.of_plan(task.plan_id)}
    links = [
        schedule.Link(tasks[d.prerequisite_id], tasks[d.task_id])
        for d in await repo.plan_dependencies(task.plan_id)
    ]
    links.append(schedule.Link(before.code, task.code))
    if cycle := schedule.find_cycle(tasks.values(), links):
        start = cycle.index(task.code)  # read it from the task being changed
        cycle = [*cycle[start:-1], *cycle[:start], task.code]
        raise RuleViolated(
            "this link would make a cycle: " + " → ".join(cycle),
            field="code",
            rule="no-cycles",
            cycle=cycle,
        )
    await repo.add(
        Dependency(task_id=task.id, prerequisite_id=before.id, kind=kind, lag_days=lag_days)
    )
    task.row_version += 1
    return await read(session, task)
