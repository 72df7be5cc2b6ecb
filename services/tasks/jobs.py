"""Reminders: once per business day, overdue and due-soon events, exactly once per task."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.repository import TaskRepository
from services.tasks.service import outbox
from services.tasks.views import calendar
from shared.contract.events.tasks import TaskDueSoonV1, TaskOverdueV1
from shared.kit.jobs import PeriodicJob
from shared.kit.settings import Settings

DUE_SOON_WORKING_DAYS = 2


async def send_reminders(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """On a working day, announce each open task that is overdue or due within two working days.

    The (task, kind, day) key is claimed in the same transaction as the event, so two
    schedulers running the same day produce each reminder once.
    """
    today = now.astimezone(ZoneInfo(settings.company_timezone)).date()
    work = await calendar(session)
    if not work.is_working(today):
        return
    repo = TaskRepository(session)
    horizon = work.add(today, DUE_SOON_WORKING_DAYS)
    for task in await repo.open_tasks_ending_by(horizon):
        common = {
            "task_id": task.id,
            "plan_id": task.plan_id,
            "code": task.code,
            "name": task.name,
            "owner_id": task.owner_id,
            "ends_on": task.ends_on,
            "business_day": today,
        }
        if task.ends_on < today:
            if await repo.claim_reminder(task.id, "overdue", today):
                days = (today - task.ends_on).days
                await outbox.record(
                    session, TaskOverdueV1(**common, days_overdue=days), subject=str(task.id)
                )
        elif await repo.claim_reminder(task.id, "due_soon", today):
            await outbox.record(session, TaskDueSoonV1(**common), subject=str(task.id))


JOBS = [
    PeriodicJob("task-reminders", send_reminders, interval_seconds=timedelta(minutes=10).seconds)
]
