"""Tasks' HTTP models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.kit.errors import InvalidField
from shared.kit.input import InputModel
from shared.kit.pagination import Page

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Person = Annotated[str, Field(min_length=1, max_length=100)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]
Priority = Literal["high", "medium", "low"]
Status = Literal[
    "not_started", "in_progress", "submitted", "done", "returned", "blocked", "cancelled"
]


class Strict(InputModel):
    """Input models refuse unknown fields; numbers are no dates, booleans no numbers."""

    model_config = ConfigDict(extra="forbid")


class KnownPlanRead(BaseModel):
    """A plan as the tasks service knows it from planning's events."""

    model_config = ConfigDict(from_attributes=True)

    plan_id: uuid.UUID
    name: str
    owner_id: str
    starts_on: date
    ends_on: date
    received_at: datetime


class PrerequisiteIn(Strict):
    """A task this one waits for, by code within the plan."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "1.1", "kind": "FS", "lag_days": 1}]}
    )

    code: Code
    kind: Literal["FS", "SS", "FF"] = "FS"
    lag_days: Annotated[int, Field(ge=-60, le=365)] = 0


class TaskCreate(Strict):
    """A WBS node; exactly one responsible owner (R1) and one approver (R2)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "1.2",
                    "name": "brief campus KOCs",
                    "parent_code": "1",
                    "starts_on": "2024-05-06",
                    "ends_on": "2024-05-10",
                    "priority": "high",
                    "owner_id": "specialist-amy",
                    "approver_id": "supervisor-wang",
                    "prerequisites": [{"code": "1.1", "kind": "FS", "lag_days": 0}],
                }
            ]
        }
    )

    code: Code
    name: Name
    parent_code: Code | None = None
    description: Text | None = None
    strategy: Name | None = None
    channel: Name | None = None
    deliverable: Text | None = None
    starts_on: date
    ends_on: date
    priority: Priority = "medium"
    support: list[Name] = Field(default_factory=list, max_length=20)
    owner_id: Person
    approver_id: Person
    prerequisites: list[PrerequisiteIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _dates(self) -> TaskCreate:
        if self.ends_on < self.starts_on:
            raise InvalidField("ends_on", "ends_on must be on or after starts_on")
        return self


class TaskUpdate(Strict):
    """Fields that change without a workflow step; dates are kept in the history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ends_on": "2024-05-12", "reason": "samples arrived two days late"}]
        }
    )

    name: Name | None = None
    description: Text | None = None
    deliverable: Text | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    priority: Priority | None = None
    support: list[Name] | None = Field(default=None, max_length=20)
    reason: Text | None = None


class DependencyRead(BaseModel):
    """A prerequisite of a task."""

    code: str
    task_id: uuid.UUID
    kind: str
    lag_days: int


class TaskRead(BaseModel):
    """A task as stored, with its prerequisites."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    plan_id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    name: str
    description: str | None
    strategy: str | None
    channel: str | None
    deliverable: str | None
    starts_on: date
    ends_on: date
    priority: Priority
    support: list[str]
    owner_id: str
    approver_id: str
    status: Status
    status_reason: str | None
    completion: int
    alert_id: uuid.UUID | None
    closing_suggested_at: datetime | None
    row_version: int
    prerequisites: list[DependencyRead] = Field(default_factory=list)


TaskPage = Page[TaskRead]


class Reassignment(Strict):
    """A new R1 and/or R2, with why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"owner_id": "specialist-bo", "reason": "Amy is on leave next week"}]
        }
    )

    owner_id: Person | None = None
    approver_id: Person | None = None
    reason: Text


class StatusChange(Strict):
    """A lifecycle step; blocking, cancelling and returning need a reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "in_progress"}]})

    to: Status
    reason: Text | None = None
    override_reason: Text | None = Field(
        default=None, description="start although a prerequisite is not done, and say why"
    )


class ProgressIn(Strict):
    """A row of the progress and issue log, as in docs/domain.md §5."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "logged_on": "2024-05-08",
                    "progress": "12 of 20 KOCs briefed",
                    "completion": 60,
                    "issue": "three KOCs have not replied",
                    "impact": "posts may slip one day",
                    "owner_id": "specialist-amy",
                    "measure": "call them directly",
                    "eta_on": "2024-05-10",
                    "status": "in_progress",
                }
            ]
        }
    )

    logged_on: date
    progress: Text
    completion: Annotated[int, Field(ge=0, le=100)]
    issue: Text | None = None
    impact: Text | None = None
    owner_id: Person
    measure: Text | None = None
    eta_on: date | None = None
    status: Literal["open", "in_progress", "handled"] = "open"


class ProgressRead(BaseModel):
    """A stored log row."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    logged_on: date
    progress: str
    completion: int
    issue: str | None
    impact: str | None
    owner_id: str
    measure: str | None
    eta_on: date | None
    status: Literal["open", "in_progress", "handled"]


class ProgressStatus(Strict):
    """Move a logged issue along."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "handled"}]})

    status: Literal["open", "in_progress", "handled"]


class ChangeRead(BaseModel):
    """One change in a task's history."""

    model_config = ConfigDict(from_attributes=True)

    field: str
    before: str | None
    after: str | None
    by: str
    reason: str | None
    at: datetime


class ScheduleItem(BaseModel):
    """A Gantt row: dates, dependencies, completion, slack and the critical flag."""

    id: uuid.UUID
    code: str
    name: str
    parent_id: uuid.UUID | None
    starts_on: date
    ends_on: date
    duration_days: int
    completion: int
    prerequisites: list[str]
    slack_days: int
    critical: bool
    dependency_violation: str | None


class Schedule(BaseModel):
    """The plan's schedule on working days."""

    items: list[ScheduleItem]
    critical_path: list[str]
    working_days: int


class Variance(BaseModel):
    """How a task moved against the baseline."""

    code: str
    start_variance_days: int | None
    end_variance_days: int | None
    completion_variance: int | None


class OwnerView(BaseModel):
    """What one owner should look at this week."""

    due_this_week: list[TaskRead]
    overdue: list[TaskRead]
    at_risk: list[TaskRead]


class TemplateCreate(Strict):
    """Save a plan's WBS as a template."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "campus launch", "from_plan_id": "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f"}
            ]
        }
    )

    name: Name
    from_plan_id: uuid.UUID


class TemplateRead(BaseModel):
    """A stored template."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    tasks: list[dict[str, object]]


class TemplateUse(Strict):
    """Instantiate a template in a plan from a start day (now, or when the plan is approved)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "template_id": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
                    "start_on": "2024-05-06",
                    "owner_id": "specialist-amy",
                    "approver_id": "supervisor-wang",
                    "when": "on_approval",
                }
            ]
        }
    )

    template_id: uuid.UUID
    start_on: date
    owner_id: Person
    approver_id: Person
    when: Literal["now", "on_approval"] = "on_approval"


class HolidayIn(Strict):
    """A company holiday."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"day": "2024-06-10", "name": "Dragon Boat Festival"}]}
    )

    day: date
    name: Name
