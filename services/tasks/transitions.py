"""A task's status lifecycle: which step may follow which, who decides it, and that a task waits
for its prerequisites before it starts."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.models import Task
from services.tasks.repository import TaskRepository
from services.tasks.schemas import StatusChange, TaskRead
from services.tasks.service import check_participant, get_task, outbox, read, remember_change
from shared.contract.events.tasks import TaskCompletedV1, TaskStatusChangedV1
from shared.kit.auth import Principal
from shared.kit.errors import Conflict, Forbidden, RuleViolated
from shared.kit.http import check_version
from shared.kit.wording import a_or_an

# Which status may follow which; done needs R2, and some steps need a reason.
TRANSITIONS: dict[str, frozenset[str]] = {
    "not_started": frozenset({"in_progress", "blocked", "cancelled"}),
    "in_progress": frozenset({"submitted", "blocked", "cancelled"}),
    "submitted": frozenset({"done", "returned"}),
    "returned": frozenset({"in_progress", "cancelled"}),
    "blocked": frozenset({"not_started", "in_progress", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}
NEEDS_REASON = frozenset({"blocked", "cancelled", "returned"})
R2_DECIDES = frozenset({"done", "returned"})


class IllegalTransition(Conflict):
    """The task's status does not allow this step."""

    slug = "illegal-transition"


async def change_status(
    session: AsyncSession,
    task_id: uuid.UUID,
    data: StatusChange,
    actor: Principal,
    if_match: str | None,
    today: date,
) -> TaskRead:
    """Move a task along; it cannot start before its prerequisites are done unless overridden."""
    task = await get_task(session, task_id, for_update=True)
    check_version(task.row_version, if_match)
    if data.to not in TRANSITIONS[task.status]:
        allowed = ", ".join(sorted(TRANSITIONS[task.status])) or "none"
        raise IllegalTransition(
            f"{a_or_an(task.status)} task cannot become {data.to} (allowed: {allowed})",
            rule="task-lifecycle",
        )
    if data.to in NEEDS_REASON and not data.reason:
        raise RuleViolated(f"{data.to} needs a reason", field="reason", rule="reason-required")
    if data.to in R2_DECIDES and actor.subject != task.approver_id:
        raise Forbidden(f"only the approver (R2) {task.approver_id} decides", rule="r2-decides")
    check_participant(task, actor)
    if data.to == "in_progress":
        await _check_prerequisites(session, task, data.override_reason)
    before = task.status
    task.status, task.status_reason = data.to, data.reason or data.override_reason
    if data.to == "done":
        task.completion = 100
    task.row_version += 1
    await remember_change(
        session, task, "status", before, data.to, actor.subject, data.reason or data.override_reason
    )
    await outbox.record(
        session,
        TaskStatusChangedV1(
            task_id=task.id,
            plan_id=task.plan_id,
            code=task.code,
            name=task.name,
            from_status=before,
            to_status=data.to,
            by=actor.subject,
            reason=data.reason or data.override_reason,
        ),
        subject=str(task.id),
    )
    if data.to == "done":
        await outbox.record(
            session,
            TaskCompletedV1(
                task_id=task.id,
                plan_id=task.plan_id,
                code=task.code,
                name=task.name,
                owner_id=task.owner_id,
                completed_on=today,
            ),
            subject=str(task.id),
        )
    return await read(session, task)


async def _check_prerequisites(session: AsyncSession, task: Task, override: str | None) -> None:
    repo = TaskRepository(session)
    waiting = []
    for dependency in await repo.dependencies([task.id]):
        before = await repo.get(dependency.prerequisite_id)
        if before is not None and before.status != "done":
            waiting.append(before.code)
    if waiting and not override:
        raise RuleViolated(
            f"{task.code} waits for {', '.join(sorted(waiting))} to be done "
            "(or give override_reason)",
            field="to",
            rule="prerequisites-done",
            waiting_for=sorted(waiting),
        )
