"""A task's progress and issue log: rows added, completion with history, issues moved along."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.models import ProgressEntry, idempotency
from services.tasks.repository import TaskRepository
from services.tasks.schemas import ProgressIn, ProgressRead
from services.tasks.service import check_participant, get_task, outbox, remember_change
from shared.contract.events.tasks import IssueLoggedV1, IssueResolvedV1
from shared.kit.auth import Principal
from shared.kit.errors import NotFound


async def log_progress_once(
    session: AsyncSession,
    task_id: uuid.UUID,
    data: ProgressIn,
    actor: Principal,
    key: str | None,
) -> ProgressRead:
    """Add a row to the progress log, once per Idempotency-Key (bound to the task)."""
    return await idempotency.run(
        session,
        key=key,
        principal=actor.subject,
        scope=f"POST /tasks/tasks/{task_id}/progress",
        request=data,
        produce=lambda: log_progress(session, task_id, data, actor),
        model=ProgressRead,
    )


async def log_progress(
    session: AsyncSession, task_id: uuid.UUID, data: ProgressIn, actor: Principal
) -> ProgressRead:
    """Add a row to the progress and issue log; completion % follows it, with history."""
    task = await get_task(session, task_id, for_update=True)
    check_participant(task, actor)
    entry = ProgressEntry(id=uuid.uuid4(), task_id=task.id, **data.model_dump())
    await TaskRepository(session).add(entry)
    if data.completion != task.completion:
        await remember_change(
            session,
            task,
            "completion",
            task.completion,
            data.completion,
            actor.subject,
            data.progress,
        )
        task.completion = data.completion
        task.row_version += 1
    if data.issue:
        await outbox.record(
            session,
            IssueLoggedV1(
                task_id=task.id,
                plan_id=task.plan_id,
                code=task.code,
                name=task.name,
                entry_id=entry.id,
                issue=data.issue,
                impact=data.impact,
                owner_id=data.owner_id,
                eta_on=data.eta_on,
            ),
            subject=str(task.id),
        )
    return ProgressRead.model_validate(entry)


async def set_progress_status(
    session: AsyncSession, task_id: uuid.UUID, entry_id: uuid.UUID, status: str, actor: Principal
) -> ProgressRead:
    """Move a logged issue along; handling it announces issue_resolved."""
    task = await get_task(session, task_id)
    check_participant(task, actor)
    entry = await TaskRepository(session).progress_entry(entry_id)
    if entry is None or entry.task_id != task.id:
        raise NotFound(f"no log entry {entry_id} on task {task_id}")
    was = entry.status
    entry.status = status
    await session.flush()
    if status == "handled" and was != "handled" and entry.issue:
        await outbox.record(
            session,
            IssueResolvedV1(
                task_id=task.id,
                plan_id=task.plan_id,
                code=task.code,
                name=task.name,
                entry_id=entry.id,
                by=actor.subject,
            ),
            subject=str(task.id),
        )
    return ProgressRead.model_validate(entry)
