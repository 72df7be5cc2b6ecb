"""Alerts' operations on alerts themselves: reading, acknowledging, resolving, assigning, and
linking the follow-up task."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import lifecycle
from services.alerts.models import Alert
from services.alerts.repository import AlertRepository
from services.alerts.schemas import (
    AlertFilter,
    AlertRead,
    EvaluationRead,
    NotificationRead,
)
from shared.contract.events.tasks import TaskCreatedV1
from shared.kit.errors import Conflict, NotFound
from shared.kit.http import check_version
from shared.kit.pagination import Page, PageWindow, page_of


async def on_task_created(session: AsyncSession, event: TaskCreatedV1) -> None:
    """Link the follow-up task the tasks service made for an alert back to the alert."""
    if event.alert_id is None:
        return
    alert = await AlertRepository(session).alert(event.alert_id, for_update=True)
    if alert is not None and alert.follow_up_task_id is None:
        alert.follow_up_task_id = event.task_id
        alert.row_version += 1


async def get_alert(
    session: AsyncSession, alert_id: uuid.UUID, *, for_update: bool = False
) -> Alert:
    """One alert or NotFound."""
    alert = await AlertRepository(session).alert(alert_id, for_update=for_update)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


async def read(session: AsyncSession, alert: Alert) -> AlertRead:
    """An alert with the evaluations and notifications behind it."""
    repo = AlertRepository(session)
    return AlertRead.model_validate(alert).model_copy(
        update={
            "evaluations": [
                EvaluationRead.model_validate(e) for e in await repo.evaluations(alert.id)
            ],
            "notifications": [
                NotificationRead.model_validate(n) for n in await repo.notifications(alert.id)
            ],
        }
    )


async def list_alerts(
    session: AsyncSession, where: AlertFilter, window: PageWindow
) -> Page[AlertRead]:
    """A page of alerts newest first, filtered (history is kept, unlike Alertmanager)."""
    rows = await AlertRepository(session).alerts(where, window)
    page = page_of(rows, window, lambda a: (a.started_at, a.id), lambda a: a)
    return Page[AlertRead](
        items=[await read(session, a) for a in page.items], next_cursor=page.next_cursor
    )


async def acknowledge(
    session: AsyncSession,
    alert_id: uuid.UUID,
    by: str,
    note: str | None,
    now: datetime,
    if_match: str | None,
) -> AlertRead:
    """Take an alert on."""
    alert = await get_alert(session, alert_id, for_update=True)
    check_version(alert.row_version, if_match)
    if alert.state != "firing":
        raise Conflict(
            f"only a firing alert can be acknowledged; this one is {alert.state}",
            rule="alert-lifecycle",
        )
    await lifecycle.acknowledge(session, alert, by, note, now)
    return await read(session, alert)


async def resolve(
    session: AsyncSession,
    alert_id: uuid.UUID,
    by: str,
    reason: str,
    now: datetime,
    if_match: str | None,
) -> AlertRead:
    """Close an alert by hand."""
    alert = await get_alert(session, alert_id, for_update=True)
    check_version(alert.row_version, if_match)
    if alert.state == "resolved":
        raise Conflict("the alert is already resolved", rule="alert-lifecycle")
    await lifecycle.resolve(session, alert, now, by=by, reason=reason)
    alert.row_version += 1
    return await read(session, alert)


async def assign(session: AsyncSession, alert_id: uuid.UUID, assignee: str) -> AlertRead:
    """Say who is on it."""
    alert = await get_alert(session, alert_id, for_update=True)
    alert.assignee = assignee
    alert.row_version += 1
    return await read(session, alert)
