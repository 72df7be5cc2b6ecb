"""Every query of the tasks service; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.models import (
    Baseline,
    Dependency,
    Holiday,
    KnownPlan,
    PlanTemplate,
    ProgressEntry,
    Reminder,
    Task,
    TaskChange,
    Template,
)
from shared.kit.pagination import PageWindow, keyset


class KnownPlanRepository:
    """The plan projection in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_none(self, plan_id: uuid.UUID) -> KnownPlan | None:
        """One known plan by id."""
        return await self.session.get(KnownPlan, plan_id)

    async def upsert(self, values: dict[str, object]) -> None:
        """Insert or refresh one plan's projection row."""
        statement = insert(KnownPlan).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[KnownPlan.plan_id],
                set_={k: statement.excluded[k] for k in values if k != "plan_id"},
            )
        )


class TaskRepository:
    """Tasks, dependencies, history and the log in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: object) -> None:
        """Insert rows."""
        self.session.add_all(rows)
        await self.session.flush()

    async def get(self, task_id: uuid.UUID, *, for_update: bool = False) -> Task | None:
        """One task by id."""
        query = select(Task).where(Task.id == task_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def by_ids(self, task_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Task]:
        """Tasks by id (those that exist)."""
        if not task_ids:
            return {}
        query = select(Task).where(Task.id.in_(task_ids))
        return {t.id: t for t in await self.session.scalars(query)}

    async def by_code(self, plan_id: uuid.UUID, codes: Sequence[str]) -> dict[str, Task]:
        """Tasks of a plan by their codes."""
        rows = await self.session.scalars(
            select(Task).where(Task.plan_id == plan_id, Task.code.in_(codes))
        )
        return {t.code: t for t in rows}

    async def of_plan(
        self, plan_id: uuid.UUID, *, owner_id: str | None = None, status: str | None = None
    ) -> Sequence[Task]:
        """A plan's tasks in code order, optionally filtered."""
        query = select(Task).where(Task.plan_id == plan_id).order_by(Task.code)
        if owner_id is not None:
            query = query.where(Task.owner_id == owner_id)
        if status is not None:
            query = query.where(Task.status == status)
        return (await self.session.scalars(query)).all()

    async def tasks_page(
        self, plan_id: uuid.UUID, window: PageWindow, *, owner_id: str | None, status: str | None
    ) -> Sequence[Task]:
        """Up to ``limit + 1`` of a plan's tasks after the cursor, in code order, filtered."""
        query = select(Task).where(Task.plan_id == plan_id)
        if owner_id is not None:
            query = query.where(Task.owner_id == owner_id)
        if status is not None:
            query = query.where(Task.status == status)
        return (await self.session.scalars(keyset(query, window, Task.code))).all()

    async def dependencies(self, task_ids: Sequence[uuid.UUID]) -> Sequence[Dependency]:
        """Links into the given tasks."""
        if not task_ids:
            return []
        return (
            await self.session.scalars(select(Dependency).where(Dependency.task_id.in_(task_ids)))
        ).all()

    async def plan_dependencies(self, plan_id: uuid.UUID) -> Sequence[Dependency]:
        """Every link between a plan's tasks."""
        query = (
            select(Dependency)
            .join(Task, Task.id == Dependency.task_id)
            .where(Task.plan_id == plan_id)
        )
        return (await self.session.scalars(query)).all()

    async def history(self, task_id: uuid.UUID, window: PageWindow) -> Sequence[TaskChange]:
        """Up to ``limit + 1`` of a task's changes after the cursor, oldest first."""
        query = select(TaskChange).where(TaskChange.task_id == task_id)
        return (
            await self.session.scalars(keyset(query, window, TaskChange.at, TaskChange.id))
        ).all()

    async def progress(self, task_id: uuid.UUID, window: PageWindow) -> Sequence[ProgressEntry]:
        """Up to ``limit + 1`` rows of a task's log after the cursor, oldest first."""
        query = select(ProgressEntry).where(ProgressEntry.task_id == task_id)
        ordered = keyset(
            query, window, ProgressEntry.logged_on, ProgressEntry.created_at, ProgressEntry.id
        )
        return (await self.session.scalars(ordered)).all()

    async def has_open_issue_past(self, task_id: uuid.UUID, ends_on: date) -> bool:
        """Whether a not yet handled issue of the task expects to be resolved after it ends."""
        query = select(ProgressEntry.id).where(
            ProgressEntry.task_id == task_id,
            ProgressEntry.eta_on > ends_on,
            ProgressEntry.status != "handled",
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def progress_entry(self, entry_id: uuid.UUID) -> ProgressEntry | None:
        """One log row."""
        return await self.session.get(ProgressEntry, entry_id, with_for_update=True)

    async def owned_by(self, owner_id: str) -> Sequence[Task]:
        """Every open task of one owner."""
        query = (
            select(Task)
            .where(Task.owner_id == owner_id, Task.status.not_in(("done", "cancelled")))
            .order_by(Task.ends_on)
        )
        return (await self.session.scalars(query)).all()

    async def open_follow_ups(self, alert_id: uuid.UUID) -> Sequence[Task]:
        """Tasks made for an alert that are not finished, locked."""
        query = (
            select(Task)
            .where(Task.alert_id == alert_id, Task.status.not_in(("done", "cancelled")))
            .with_for_update()
        )
        return (await self.session.scalars(query)).all()

    async def open_tasks_ending_by(self, day: date) -> Sequence[Task]:
        """Tasks not done or cancelled that end on or before ``day``."""
        query = select(Task).where(Task.status.not_in(("done", "cancelled")), Task.ends_on <= day)
        return (await self.session.scalars(query)).all()

    async def claim_reminder(self, task_id: uuid.UUID, kind: str, day: date) -> bool:
        """Record a reminder once; False when this task, kind and day already had one."""
        result = await self.session.execute(
            insert(Reminder)
            .values(task_id=task_id, kind=kind, business_day=day)
            .on_conflict_do_nothing()
            .returning(Reminder.task_id)
        )
        return result.first() is not None

    async def holidays(self) -> list[date]:
        """Every company holiday."""
        return list(await self.session.scalars(select(Holiday.day)))

    async def add_holiday(self, day: date, name: str) -> None:
        """Add or rename a holiday."""
        statement = insert(Holiday).values(day=day, name=name)
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=[Holiday.day], set_={"name": name})
        )

    async def template(self, template_id: uuid.UUID) -> Template | None:
        """One template."""
        return await self.session.get(Template, template_id)

    async def template_named(self, name: str) -> Template | None:
        """A template by its unique name."""
        return (await self.session.scalars(select(Template).where(Template.name == name))).first()

    async def latest_baseline(self, plan_id: uuid.UUID) -> Baseline | None:
        """The most recent baseline of a plan."""
        query = (
            select(Baseline)
            .where(Baseline.plan_id == plan_id)
            .order_by(Baseline.taken_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def plan_templates(self, plan_id: uuid.UUID) -> Sequence[PlanTemplate]:
        """Templates waiting for a plan's approval."""
        query = (
            select(PlanTemplate)
            .where(PlanTemplate.plan_id == plan_id, PlanTemplate.instantiated.is_(False))
            .with_for_update()
        )
        return (await self.session.scalars(query)).all()
