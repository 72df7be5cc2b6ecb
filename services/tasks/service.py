"""Tasks' WBS nodes: reading, creating and editing them, who may work on them, and their
change history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import SERVICE, rules
from services.tasks.models import (
    Dependency,
    KnownPlan,
    Task,
    TaskChange,
    bus,
    idempotency,
)
from services.tasks.repository import KnownPlanRepository, TaskRepository
from services.tasks.schemas import (
    DependencyRead,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)
from shared.contract.events.tasks import (
    TaskCreatedV1,
)
from shared.contract.types import Role
from shared.kit.auth import Principal
from shared.kit.bus.outbox import Outbox
from shared.kit.errors import Conflict, Forbidden, NotFound, RuleViolated
from shared.kit.http import check_version

outbox = Outbox(bus.outbox, source=SERVICE)

# Besides the task's R1 and R2, the people who plan the campaign may move and log any task.
PLANNERS = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER})


def check_participant(task: Task, actor: Principal) -> None:
    """Only the task's owner, its approver or a planner works on it (OWASP API1)."""
    if actor.subject in (task.owner_id, task.approver_id) or actor.has_any(PLANNERS):
        return
    raise Forbidden(
        f"only the owner {task.owner_id}, the approver {task.approver_id} or a planner "
        "may change this task",
        rule="task-participant",
    )


def check_owner_is_not_approver(owner_id: str, approver_id: str) -> None:
    """R1 and R2 are two different people."""
    if not rules.owner_is_not_approver(owner_id, approver_id):
        raise RuleViolated(rules.OWNER_IS_NOT_APPROVER, field="approver_id", rule="r1-is-not-r2")


class PlanUnknown(NotFound):
    """No event about this plan has reached the tasks service."""


class TaskNotFound(NotFound):
    """No task with this id."""


async def get_known_plan(session: AsyncSession, plan_id: uuid.UUID) -> KnownPlan:
    """The projected plan, or PlanUnknown."""
    plan = await KnownPlanRepository(session).get_or_none(plan_id)
    if plan is None:
        raise PlanUnknown(f"plan {plan_id} is not known to the tasks service")
    return plan


async def get_task(session: AsyncSession, task_id: uuid.UUID, *, for_update: bool = False) -> Task:
    """One task, or TaskNotFound."""
    task = await TaskRepository(session).get(task_id, for_update=for_update)
    if task is None:
        raise TaskNotFound(f"no task {task_id}")
    return task


async def read(session: AsyncSession, task: Task) -> TaskRead:
    """A task with its prerequisites by code."""
    (shown,) = await read_many(session, [task])
    return shown


async def read_many(session: AsyncSession, tasks: Sequence[Task]) -> list[TaskRead]:
    """Tasks with their prerequisites, in at most two queries however many tasks there are."""
    repo = TaskRepository(session)
    links = await repo.dependencies([t.id for t in tasks])
    # Prerequisites are mostly among the tasks in hand (a plan's list): read only the others.
    in_hand = {t.id: t for t in tasks}
    wanted = {link.prerequisite_id for link in links}
    before = {i: in_hand[i] for i in wanted & in_hand.keys()}
    before.update(await repo.by_ids(wanted - in_hand.keys()))
    prerequisites: dict[uuid.UUID, list[DependencyRead]] = {t.id: [] for t in tasks}
    for link in links:
        if (prerequisite := before.get(link.prerequisite_id)) is not None:
            prerequisites[link.task_id].append(
                DependencyRead(
                    code=prerequisite.code,
                    task_id=prerequisite.id,
                    kind=link.kind,
                    lag_days=link.lag_days,
                )
            )
    return [
        TaskRead.model_validate(t).model_copy(
            update={"prerequisites": sorted(prerequisites[t.id], key=lambda p: p.code)}
        )
        for t in tasks
    ]


async def create_task_once(
    session: AsyncSession, plan_id: uuid.UUID, data: TaskCreate, caller: str, key: str | None
) -> TaskRead:
    """Add a WBS node, once per Idempotency-Key (the key is bound to the plan as well)."""
    return await idempotency.run(
        session,
        key=key,
        principal=caller,
        scope=f"POST /tasks/plans/{plan_id}/tasks",
        request=data,
        produce=lambda: create_task(session, plan_id, data),
        model=TaskRead,
    )


async def create_task(
    session: AsyncSession,
    plan_id: uuid.UUID,
    data: TaskCreate,
    *,
    alert_id: uuid.UUID | None = None,
) -> TaskRead:
    """Add a WBS node with its prerequisites, all checked before anything is stored."""
    plan = await get_known_plan(session, plan_id)
    repo = TaskRepository(session)
    check_owner_is_not_approver(data.owner_id, data.approver_id)
    if data.starts_on < plan.starts_on or data.ends_on > plan.ends_on:
        raise RuleViolated(
            f"the task must lie within the plan period {plan.starts_on} – {plan.ends_on}",
            field="starts_on",
            rule="within-plan",
        )
    known = await repo.by_code(plan.plan_id, [data.code, *(p.code for p in data.prerequisites)])
    if data.code in known:
        raise Conflict(f"plan already has a task {data.code}", field="code", rule="unique-code")
    parent = None
    if data.parent_code is not None:
        parent = (await repo.by_code(plan.plan_id, [data.parent_code])).get(data.parent_code)
        if parent is None:
            raise RuleViolated(
                f"no task {data.parent_code} in this plan", field="parent_code", rule="known-parent"
            )
    for n, prerequisite in enumerate(data.prerequisites):
        if prerequisite.code not in known:
            raise RuleViolated(
                f"no task {prerequisite.code} in this plan to wait for",
                field=f"prerequisites.{n}.code",
                rule="known-prerequisite",
            )
    task = Task(
        id=uuid.uuid4(),
        plan_id=plan.plan_id,
        parent_id=parent.id if parent else None,
        **data.model_dump(exclude={"parent_code", "prerequisites"}),
        status="not_started",
        completion=0,
        alert_id=alert_id,
        row_version=1,
    )
    await repo.add(task)
    await repo.add(
        *(
            Dependency(
                task_id=task.id,
                prerequisite_id=known[p.code].id,
                kind=p.kind,
                lag_days=p.lag_days,
            )
            for p in data.prerequisites
        )
    )
    await outbox.record(
        session,
        TaskCreatedV1(
            task_id=task.id,
            plan_id=task.plan_id,
            code=task.code,
            name=task.name,
            parent_id=task.parent_id,
            owner_id=task.owner_id,
            approver_id=task.approver_id,
            starts_on=task.starts_on,
            ends_on=task.ends_on,
            priority=task.priority,
            alert_id=task.alert_id,
        ),
        subject=str(task.id),
    )
    return await read(session, task)


async def update_task(
    session: AsyncSession,
    task_id: uuid.UUID,
    data: TaskUpdate,
    actor: Principal,
    if_match: str | None,
) -> TaskRead:
    """Edit a task; date changes are kept in its history with the reason."""
    task = await get_task(session, task_id, for_update=True)
    check_version(task.row_version, if_match)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    for field, value in changes.items():
        if value is None:
            raise RuleViolated(f"{field} cannot be cleared", field=field, rule="required")
        if field in ("starts_on", "ends_on") and getattr(task, field) != value:
            await remember_change(
                session, task, field, getattr(task, field), value, actor.subject, data.reason
            )
        setattr(task, field, value)
    if task.ends_on < task.starts_on:
        raise RuleViolated(
            "ends_on must be on or after starts_on", field="ends_on", rule="dates-in-order"
        )
    task.row_version += 1
    await session.flush()
    return await read(session, task)


async def suggest_closing(
    session: AsyncSession, alert_id: uuid.UUID, at: datetime, reason: str
) -> None:
    """Mark an alert's open follow-up tasks for closing, with the reason in their history."""
    for task in await TaskRepository(session).open_follow_ups(alert_id):
        if task.closing_suggested_at is None:
            task.closing_suggested_at = at
            task.row_version += 1
            await remember_change(session, task, "closing_suggested", None, at, "alerts", reason)


async def remember_change(
    session: AsyncSession,
    task: Task,
    field: str,
    before: object,
    after: object,
    by: str,
    reason: str | None,
) -> None:
    await TaskRepository(session).add(
        TaskChange(
            task_id=task.id,
            field=field,
            before=None if before is None else str(before),
            after=None if after is None else str(after),
            by=by,
            reason=reason,
        )
    )
