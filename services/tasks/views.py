"""Schedule views (Gantt, critical path, baselines, owner's week) and WBS templates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import schedule
from services.tasks.models import Baseline, Dependency, PlanTemplate, Task, Template, idempotency
from services.tasks.repository import TaskRepository
from services.tasks.schemas import (
    ChangeRead,
    HolidayIn,
    OwnerView,
    ProgressRead,
    Schedule,
    ScheduleItem,
    TaskCreate,
    TaskRead,
    TemplateCreate,
    TemplateRead,
    TemplateUse,
    Variance,
)
from services.tasks.service import create_task, get_known_plan, get_task, read, read_many
from shared.kit.errors import Conflict, NotFound, RuleViolated
from shared.kit.pagination import Page, PageWindow, page_in_memory, page_of


async def calendar(session: AsyncSession) -> schedule.Calendar:
    """The company calendar with its holidays."""
    return schedule.Calendar(await TaskRepository(session).holidays())


async def plan_schedule(session: AsyncSession, plan_id: uuid.UUID) -> Schedule:
    """Gantt rows with slack and the critical path on working days; parents roll up completion."""
    await get_known_plan(session, plan_id)
    repo = TaskRepository(session)
    tasks = list(await repo.of_plan(plan_id))
    by_id = {t.id: t for t in tasks}
    work = await calendar(session)
    parents = {t.parent_id for t in tasks if t.parent_id}
    leaves = [t for t in tasks if t.id not in parents]
    durations = {t.code: max(work.working_days(t.starts_on, t.ends_on), 1) for t in leaves}
    deps = await repo.plan_dependencies(plan_id)
    links = [
        schedule.Link(by_id[d.prerequisite_id].code, by_id[d.task_id].code, d.kind, d.lag_days)  # type: ignore[arg-type]
        for d in deps
        if by_id[d.task_id].code in durations and by_id[d.prerequisite_id].code in durations
    ]
    timings = schedule.critical_path(durations, links)
    prerequisites: dict[uuid.UUID, list[str]] = {}
    for d in deps:
        prerequisites.setdefault(d.task_id, []).append(by_id[d.prerequisite_id].code)
    completion = {t.id: t.completion for t in leaves}
    for task in sorted(tasks, key=lambda t: -_depth(t, by_id)):
        if task.id in parents:
            children = [
                (completion[c.id], max(work.working_days(c.starts_on, c.ends_on), 1))
                for c in tasks
                if c.parent_id == task.id
            ]
            completion[task.id] = schedule.rolled_up_completion(children)
    items = [
        ScheduleItem(
            id=t.id,
            code=t.code,
            name=t.name,
            parent_id=t.parent_id,
            starts_on=t.starts_on,
            ends_on=t.ends_on,
            duration_days=work.working_days(t.starts_on, t.ends_on),
            completion=completion[t.id],
            prerequisites=sorted(prerequisites.get(t.id, [])),
            slack_days=timings[t.code].slack if t.code in timings else 0,
            critical=t.code in timings and timings[t.code].critical,
            dependency_violation=_violation(t, deps, by_id),
        )
        for t in tasks
    ]
    path = [
        code
        for code in sorted(timings, key=lambda c: timings[c].early_start)
        if timings[code].critical
    ]
    return Schedule(
        items=items,
        critical_path=path,
        working_days=max((tm.early_finish for tm in timings.values()), default=0),
    )


def _depth(task: Task, by_id: dict[uuid.UUID, Task]) -> int:
    depth = 0
    while task.parent_id is not None:
        task, depth = by_id[task.parent_id], depth + 1
    return depth


def _violation(task: Task, deps: Sequence[Dependency], by_id: dict[uuid.UUID, Task]) -> str | None:
    for d in deps:
        if (
            d.task_id == task.id
            and d.kind == "FS"
            and task.starts_on <= by_id[d.prerequisite_id].ends_on
        ):
            return f"starts before {by_id[d.prerequisite_id].code} ends"
    return None


async def take_baseline(session: AsyncSession, plan_id: uuid.UUID, reason: str) -> None:
    """Freeze the plan's schedule to measure variance against."""
    tasks = await TaskRepository(session).of_plan(plan_id)
    frozen = {
        t.code: {
            "starts_on": t.starts_on.isoformat(),
            "ends_on": t.ends_on.isoformat(),
            "completion": t.completion,
        }
        for t in tasks
    }
    await TaskRepository(session).add(Baseline(plan_id=plan_id, reason=reason, tasks=frozen))


async def variance(
    session: AsyncSession, plan_id: uuid.UUID, baseline: Baseline | None
) -> list[Variance]:
    """Per task: days the start and end moved, and completion gained, since the baseline."""
    if baseline is None:
        raise NotFound(f"plan {plan_id} has no baseline yet")
    work = await calendar(session)
    rows = []
    for task in await TaskRepository(session).of_plan(plan_id):
        was = baseline.tasks.get(task.code)
        if was is None:
            rows.append(
                Variance(
                    code=task.code,
                    start_variance_days=None,
                    end_variance_days=None,
                    completion_variance=None,
                )
            )
            continue
        rows.append(
            Variance(
                code=task.code,
                start_variance_days=_signed_days(
                    work, date.fromisoformat(was["starts_on"]), task.starts_on
                ),
                end_variance_days=_signed_days(
                    work, date.fromisoformat(was["ends_on"]), task.ends_on
                ),
                completion_variance=task.completion - int(was["completion"]),
            )
        )
    return rows


def _signed_days(work: schedule.Calendar, before: date, after: date) -> int:
    if after >= before:
        return work.working_days(before + timedelta(days=1), after)
    return -work.working_days(after + timedelta(days=1), before)


async def owner_view(session: AsyncSession, owner_id: str, today: date) -> OwnerView:
    """Due this week, overdue, and at risk (an issue's ETA is past the end date)."""
    repo = TaskRepository(session)
    week_end = today + timedelta(days=6 - today.weekday())
    due, overdue, at_risk = [], [], []
    for task in await repo.owned_by(owner_id):
        shown = await read(session, task)
        if task.ends_on < today:
            overdue.append(shown)
        elif task.ends_on <= week_end:
            due.append(shown)
        if await repo.has_open_issue_past(task.id, task.ends_on):
            at_risk.append(shown)
    return OwnerView(due_this_week=due, overdue=overdue, at_risk=at_risk)


async def save_template_once(
    session: AsyncSession, data: TemplateCreate, by: str, key: str | None
) -> TemplateRead:
    """Save a plan's WBS as a template, once per Idempotency-Key."""
    return await idempotency.run(
        session,
        key=key,
        principal=by,
        scope="POST /tasks/templates",
        request=data,
        produce=lambda: save_template(session, data, by),
        model=TemplateRead,
    )


async def save_template(session: AsyncSession, data: TemplateCreate, by: str) -> TemplateRead:
    """Save a plan's WBS with dates as offsets from its earliest start."""
    repo = TaskRepository(session)
    tasks = list(await repo.of_plan(data.from_plan_id))
    if not tasks:
        raise RuleViolated("that plan has no tasks to save", field="from_plan_id", rule="non-empty")
    first = min(t.starts_on for t in tasks)
    codes = {t.id: t.code for t in tasks}
    deps = await repo.plan_dependencies(data.from_plan_id)
    rows = [
        {
            "code": t.code,
            "name": t.name,
            "parent_code": codes.get(t.parent_id) if t.parent_id else None,
            "description": t.description,
            "strategy": t.strategy,
            "deliverable": t.deliverable,
            "priority": t.priority,
            "start_offset": (t.starts_on - first).days,
            "length": (t.ends_on - t.starts_on).days,
            "prerequisites": [
                {"code": codes[d.prerequisite_id], "kind": d.kind, "lag_days": d.lag_days}
                for d in deps
                if d.task_id == t.id
            ],
        }
        for t in sorted(
            tasks, key=lambda t: (_depth(t, {x.id: x for x in tasks}), t.starts_on, t.code)
        )
    ]
    template = Template(name=data.name, tasks=rows, created_by=by)
    try:
        await repo.add(template)
    except Exception as exc:  # the unique name
        raise Conflict(
            f"a template named {data.name!r} exists", field="name", rule="unique-name"
        ) from exc
    return TemplateRead.model_validate(template)


async def get_template(session: AsyncSession, template_id: uuid.UUID) -> TemplateRead:
    """One saved template, or 404."""
    template = await session.get(Template, template_id)
    if template is None:
        raise NotFound(f"there is no template {template_id}")
    return TemplateRead.model_validate(template)


async def use_template(
    session: AsyncSession, plan_id: uuid.UUID, data: TemplateUse
) -> list[TaskRead]:
    """Instantiate a template in a plan now, or attach it for when the plan is approved."""
    await get_known_plan(session, plan_id)
    repo = TaskRepository(session)
    template = await repo.template(data.template_id)
    if template is None:
        raise NotFound(f"no template {data.template_id}")
    if data.when == "on_approval":
        await repo.add(
            PlanTemplate(
                plan_id=plan_id,
                template_id=template.id,
                start_on=data.start_on,
                owner_id=data.owner_id,
                approver_id=data.approver_id,
            )
        )
        return []
    return await instantiate(
        session, plan_id, template, data.start_on, data.owner_id, data.approver_id
    )


async def instantiate(
    session: AsyncSession,
    plan_id: uuid.UUID,
    template: Template,
    start_on: date,
    owner: str,
    approver: str,
) -> list[TaskRead]:
    """Create the template's tasks in a plan with dates shifted to ``start_on``."""
    created = []
    for row in template.tasks:
        starts = start_on + timedelta(days=row["start_offset"])
        created.append(
            await create_task(
                session,
                plan_id,
                TaskCreate(
                    code=row["code"],
                    name=row["name"],
                    parent_code=row["parent_code"],
                    description=row["description"],
                    strategy=row["strategy"],
                    deliverable=row["deliverable"],
                    priority=row["priority"],
                    starts_on=starts,
                    ends_on=starts + timedelta(days=row["length"]),
                    owner_id=owner,
                    approver_id=approver,
                    prerequisites=row["prerequisites"],
                ),
            )
        )
    return created


async def list_tasks(
    session: AsyncSession,
    plan_id: uuid.UUID,
    window: PageWindow,
    *,
    owner_id: str | None,
    status: str | None,
) -> Page[TaskRead]:
    """A page of a plan's tasks in code order, filtered."""
    await get_known_plan(session, plan_id)
    rows = await TaskRepository(session).tasks_page(
        plan_id, window, owner_id=owner_id, status=status
    )
    page = page_of(rows, window, lambda t: (t.code,), lambda t: t)
    return Page[TaskRead](items=await read_many(session, page.items), next_cursor=page.next_cursor)


async def variance_against_latest(
    session: AsyncSession, plan_id: uuid.UUID, window: PageWindow
) -> Page[Variance]:
    """A page of the variance against the plan's most recent baseline, in task code order."""
    await get_known_plan(session, plan_id)
    rows = await variance(session, plan_id, await TaskRepository(session).latest_baseline(plan_id))
    return page_in_memory(rows, window, lambda v: (v.code,))


async def history(
    session: AsyncSession, task_id: uuid.UUID, window: PageWindow
) -> Page[ChangeRead]:
    """A page of a task's change history, oldest first."""
    await get_task(session, task_id)
    rows = await TaskRepository(session).history(task_id, window)
    return page_of(rows, window, lambda c: (c.at, c.id), ChangeRead.model_validate)


async def progress(
    session: AsyncSession, task_id: uuid.UUID, window: PageWindow
) -> Page[ProgressRead]:
    """A page of a task's progress and issue log, oldest first."""
    await get_task(session, task_id)
    rows = await TaskRepository(session).progress(task_id, window)
    return page_of(
        rows, window, lambda e: (e.logged_on, e.created_at, e.id), ProgressRead.model_validate
    )


async def add_holidays(session: AsyncSession, days: Sequence[HolidayIn]) -> None:
    """Add or rename company holidays."""
    for day in days:
        await TaskRepository(session).add_holiday(day.day, day.name)
