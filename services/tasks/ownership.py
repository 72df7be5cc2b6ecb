"""Handing a task to another owner (R1) or approver (R2), recorded with who, when and why."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.schemas import Reassignment, TaskRead
from services.tasks.service import (
    check_owner_is_not_approver,
    get_task,
    outbox,
    read,
    remember_change,
)
from shared.contract.events.tasks import TaskReassignedV1
from shared.kit.auth import Principal
from shared.kit.http import check_version


async def reassign(
    session: AsyncSession,
    task_id: uuid.UUID,
    data: Reassignment,
    actor: Principal,
    if_match: str | None,
) -> TaskRead:
    """Change R1 and/or R2, recording who, when and why."""
    task = await get_task(session, task_id, for_update=True)
    check_version(task.row_version, if_match)
    owner = data.owner_id or task.owner_id
    approver = data.approver_id or task.approver_id
    check_owner_is_not_approver(owner, approver)
    previous_owner, previous_approver = task.owner_id, task.approver_id
    for field, new in (("owner_id", owner), ("approver_id", approver)):
        if getattr(task, field) != new:
            await remember_change(
                session, task, field, getattr(task, field), new, actor.subject, data.reason
            )
            setattr(task, field, new)
    task.row_version += 1
    await outbox.record(
        session,
        TaskReassignedV1(
            task_id=task.id,
            plan_id=task.plan_id,
            code=task.code,
            name=task.name,
            owner_id=owner,
            approver_id=approver,
            previous_owner_id=previous_owner,
            previous_approver_id=previous_approver,
            by=actor.subject,
            reason=data.reason,
        ),
        subject=str(task.id),
    )
    return await read(session, task)
