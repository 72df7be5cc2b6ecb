"""Tasks' routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.tasks import dependencies, ownership, progress_log, service, transitions, views
from services.tasks.schemas import (
    ChangeRead,
    HolidayIn,
    KnownPlanRead,
    OwnerView,
    PrerequisiteIn,
    ProgressIn,
    ProgressRead,
    ProgressStatus,
    Reassignment,
    Schedule,
    StatusChange,
    TaskCreate,
    TaskPage,
    TaskRead,
    TaskUpdate,
    TemplateCreate,
    TemplateRead,
    TemplateUse,
    Variance,
)
from shared.contract.types import Role
from shared.kit.app import ReadSession, Session
from shared.kit.auth import Authenticated, Principal, require
from shared.kit.http import IfMatch, set_etag, set_location
from shared.kit.idempotency import IdempotencyKey
from shared.kit.pagination import Page, Paging
from shared.kit.settings import get_settings

Planner = Annotated[Principal, Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

router = APIRouter(tags=["tasks"])


def _today() -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(get_settings().company_timezone))


def _shown(response: Response, task: TaskRead) -> TaskRead:
    set_etag(response, task.row_version)
    return task


@router.get("/plans/{plan_id}", response_model=KnownPlanRead)
async def get_known_plan(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated
) -> KnownPlanRead:
    """A plan as known to the tasks service (from planning's events)."""
    return KnownPlanRead.model_validate(await service.get_known_plan(session, plan_id))


@router.post("/plans/{plan_id}/tasks", status_code=status.HTTP_201_CREATED, response_model=TaskRead)
async def create_task(
    plan_id: uuid.UUID,
    data: TaskCreate,
    session: Session,
    actor: Planner,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> TaskRead:
    """Add a WBS node with one R1, one R2 and its prerequisites (once per Idempotency-Key)."""
    task = await service.create_task_once(session, plan_id, data, actor.subject, key)
    set_location(response, request, "get_task", task_id=task.id)
    return _shown(response, task)


@router.get("/plans/{plan_id}/tasks", response_model=TaskPage)
async def list_tasks(
    plan_id: uuid.UUID,
    session: ReadSession,
    _caller: Authenticated,
    paging: Paging,
    owner_id: Annotated[str | None, Query(max_length=100, description="the R1's id")] = None,
    status: Annotated[str | None, Query(max_length=20, description="e.g. in_progress")] = None,
) -> TaskPage:
    """A plan's WBS in code order, filtered by owner and status."""
    page = await views.list_tasks(session, plan_id, paging.window, owner_id=owner_id, status=status)
    return paging.respond(page)


@router.get("/plans/{plan_id}/schedule", response_model=Schedule)
async def plan_schedule(plan_id: uuid.UUID, session: Session, _caller: Authenticated) -> Schedule:
    """Gantt rows, slack and the critical path on working days."""
    return await views.plan_schedule(session, plan_id)


@router.post("/plans/{plan_id}/baselines", status_code=status.HTTP_201_CREATED)
async def take_baseline(
    plan_id: uuid.UUID, session: Session, _actor: Planner, request: Request, response: Response
) -> dict[str, str]:
    """Freeze the schedule now (it is also frozen when the plan is approved); the baseline is
    read as the variance against it (``Location``)."""
    await service.get_known_plan(session, plan_id)
    await views.take_baseline(session, plan_id, "taken on demand")
    set_location(response, request, "variance", plan_id=plan_id)
    return {"status": "baselined"}


@router.get("/plans/{plan_id}/variance", response_model=Page[Variance])
async def variance(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated, paging: Paging
) -> Page[Variance]:
    """Start, end and completion variance against the latest baseline, in task code order."""
    return paging.respond(await views.variance_against_latest(session, plan_id, paging.window))


@router.post("/plans/{plan_id}/templates", response_model=list[TaskRead])
async def use_template(
    plan_id: uuid.UUID, data: TemplateUse, session: Session, _actor: Planner
) -> list[TaskRead]:
    """Instantiate a WBS template now, or when the plan is approved."""
    return await views.use_template(session, plan_id, data)


@router.get("/tasks/{task_id}", response_model=TaskRead)
async def get_task(
    task_id: uuid.UUID, session: Session, _caller: Authenticated, response: Response
) -> TaskRead:
    """One task; the ETag is its row version."""
    return _shown(response, await service.read(session, await service.get_task(session, task_id)))


@router.post("/tasks/{task_id}/prerequisites", response_model=TaskRead)
async def add_prerequisite(
    task_id: uuid.UUID, data: PrerequisiteIn, session: Session, _actor: Planner, response: Response
) -> TaskRead:
    """Make the task wait for another of the same plan; a cycle is refused and spelled out."""
    return _shown(
        response, await dependencies.link(session, task_id, data.code, data.kind, data.lag_days)
    )


@router.post("/tasks/{task_id}/status", response_model=TaskRead)
async def change_status(
    task_id: uuid.UUID,
    data: StatusChange,
    session: Session,
    actor: Authenticated,
    response: Response,
    if_match: IfMatch = None,
) -> TaskRead:
    """Start, submit, approve (R2), return (R2), block or cancel a task."""
    task = await transitions.change_status(session, task_id, data, actor, if_match, _today().date())
    return _shown(response, task)


@router.post("/tasks/{task_id}/reassign", response_model=TaskRead)
async def reassign(
    task_id: uuid.UUID,
    data: Reassignment,
    session: Session,
    actor: Planner,
    response: Response,
    if_match: IfMatch = None,
) -> TaskRead:
    """Hand the task to another R1 or R2, with the reason kept."""
    return _shown(response, await ownership.reassign(session, task_id, data, actor, if_match))


@router.patch("/tasks/{task_id}", response_model=TaskRead)
async def update_task(
    task_id: uuid.UUID,
    data: TaskUpdate,
    session: Session,
    actor: Planner,
    response: Response,
    if_match: IfMatch = None,
) -> TaskRead:
    """Edit a task (date changes are kept in its history)."""
    return _shown(response, await service.update_task(session, task_id, data, actor, if_match))


@router.get("/tasks/{task_id}/history", response_model=Page[ChangeRead])
async def history(
    task_id: uuid.UUID, session: Session, _caller: Authenticated, paging: Paging
) -> Page[ChangeRead]:
    """Every change of owner, dates, status and completion, oldest first."""
    return paging.respond(await views.history(session, task_id, paging.window))


@router.post(
    "/tasks/{task_id}/progress", status_code=status.HTTP_201_CREATED, response_model=ProgressRead
)
async def log_progress(
    task_id: uuid.UUID,
    data: ProgressIn,
    session: Session,
    actor: Authenticated,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> ProgressRead:
    """Add a row to the progress and issue log (once per Idempotency-Key)."""
    entry = await progress_log.log_progress_once(session, task_id, data, actor, key)
    set_location(response, request, "set_progress_status", task_id=task_id, entry_id=entry.id)
    return entry


@router.get("/tasks/{task_id}/progress", response_model=Page[ProgressRead])
async def progress(
    task_id: uuid.UUID, session: Session, _caller: Authenticated, paging: Paging
) -> Page[ProgressRead]:
    """The task's progress and issue log, oldest first."""
    return paging.respond(await views.progress(session, task_id, paging.window))


@router.patch("/tasks/{task_id}/progress/{entry_id}", response_model=ProgressRead)
async def set_progress_status(
    task_id: uuid.UUID,
    entry_id: uuid.UUID,
    data: ProgressStatus,
    session: Session,
    actor: Authenticated,
) -> ProgressRead:
    """Move a logged issue to in progress or handled."""
    return await progress_log.set_progress_status(session, task_id, entry_id, data.status, actor)


@router.get("/owners/{owner_id}/week", response_model=OwnerView)
async def owner_week(owner_id: str, session: Session, _caller: Authenticated) -> OwnerView:
    """Due this week, overdue and at-risk tasks of one owner."""
    return await views.owner_view(session, owner_id, _today().date())


@router.post("/templates", status_code=status.HTTP_201_CREATED, response_model=TemplateRead)
async def save_template(
    data: TemplateCreate,
    session: Session,
    actor: Planner,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> TemplateRead:
    """Save a plan's WBS as a reusable template (once per Idempotency-Key)."""
    template = await views.save_template_once(session, data, actor.subject, key)
    set_location(response, request, "get_template", template_id=template.id)
    return template


@router.get("/templates/{template_id}", response_model=TemplateRead)
async def get_template(
    template_id: uuid.UUID, session: Session, _caller: Authenticated
) -> TemplateRead:
    """One saved WBS template."""
    return await views.get_template(session, template_id)


@router.put("/calendar/holidays", status_code=status.HTTP_204_NO_CONTENT)
async def add_holidays(days: list[HolidayIn], session: Session, _admin: Admin) -> None:
    """Add company holidays (not working days for schedules and reminders)."""
    await views.add_holidays(session, days)
