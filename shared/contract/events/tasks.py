"""Events published by the tasks service (topic ``tasks.task``)."""

from __future__ import annotations

import uuid
from datetime import date

from shared.contract.envelope import EventPayload


class TaskPayload(EventPayload):
    """What every task event says about its task."""

    task_id: uuid.UUID
    plan_id: uuid.UUID
    code: str  # the human id unique in its plan, e.g. M-001
    name: str


class TaskCreatedV1(TaskPayload):
    """A WBS node was created."""

    event_type = "tasks.task.created"
    event_version = 1

    parent_id: uuid.UUID | None = None
    owner_id: str
    approver_id: str
    starts_on: date
    ends_on: date
    priority: str
    alert_id: uuid.UUID | None = None  # set on a follow-up task an alert asked for


class TaskReassignedV1(TaskPayload):
    """The responsible owner (R1) or approver (R2) changed."""

    event_type = "tasks.task.reassigned"
    event_version = 1

    owner_id: str
    approver_id: str
    previous_owner_id: str
    previous_approver_id: str
    by: str
    reason: str


class TaskStatusChangedV1(TaskPayload):
    """A task moved through its lifecycle."""

    event_type = "tasks.task.status_changed"
    event_version = 1

    from_status: str
    to_status: str
    by: str
    reason: str | None = None


class TaskCompletedV1(TaskPayload):
    """R2 approved the deliverable: the task is done."""

    event_type = "tasks.task.completed"
    event_version = 1

    owner_id: str
    completed_on: date


class TaskOverdueV1(TaskPayload):
    """A task not done passed its end date (once per task and business day)."""

    event_type = "tasks.task.overdue"
    event_version = 1

    owner_id: str
    ends_on: date
    business_day: date
    days_overdue: int


class TaskDueSoonV1(TaskPayload):
    """A task not done ends within the due-soon window (once per task and business day)."""

    event_type = "tasks.task.due_soon"
    event_version = 1

    owner_id: str
    ends_on: date
    business_day: date


class IssueLoggedV1(TaskPayload):
    """An issue was logged against a task's progress (docs/domain.md §5 issue log)."""

    event_type = "tasks.task.issue_logged"
    event_version = 1

    entry_id: uuid.UUID
    issue: str
    impact: str | None = None
    owner_id: str
    eta_on: date | None = None


class IssueResolvedV1(TaskPayload):
    """A logged issue was handled."""

    event_type = "tasks.task.issue_resolved"
    event_version = 1

    entry_id: uuid.UUID
    by: str


EVENTS: tuple[type[EventPayload], ...] = (
    TaskCreatedV1,
    TaskReassignedV1,
    TaskStatusChangedV1,
    TaskCompletedV1,
    TaskOverdueV1,
    TaskDueSoonV1,
    IssueLoggedV1,
    IssueResolvedV1,
)
