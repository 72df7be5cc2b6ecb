"""Tasks' tables, all in the ``tasks`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.tasks import SERVICE
from shared.kit.bus.tables import BusTables
from shared.kit.db import service_metadata
from shared.kit.idempotency import IdempotencyKeys


class Base(DeclarativeBase):
    metadata = service_metadata(SERVICE)


bus = BusTables.define(Base.metadata)
idempotency = IdempotencyKeys.define(Base.metadata)


class KnownPlan(Base):
    """Local projection of planning's plans, kept from its events (no REST call needed)."""

    __tablename__ = "known_plans"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    last_event_id: Mapped[uuid.UUID]
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


def _task_fk() -> Any:
    return ForeignKey("tasks.tasks.id", ondelete="CASCADE")


class Task(Base):
    """A WBS node: strategy, module or task, with one owner (R1) and one approver (R2)."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("completion BETWEEN 0 AND 100", name="completion_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(_task_fk(), index=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    strategy: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(Text)
    deliverable: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    priority: Mapped[str] = mapped_column(Text)
    support: Mapped[list[str]] = mapped_column(JSONB, default=list)
    owner_id: Mapped[str] = mapped_column(Text, index=True)
    approver_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="not_started", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    completion: Mapped[int] = mapped_column(default=0)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Set when the alert that asked for this task resolved: its owner may now close it.
    closing_suggested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    row_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Dependency(Base):
    """``task_id`` waits for ``prerequisite_id`` (finish-to-start unless said otherwise)."""

    __tablename__ = "dependencies"

    task_id: Mapped[uuid.UUID] = mapped_column(_task_fk(), primary_key=True)
    prerequisite_id: Mapped[uuid.UUID] = mapped_column(_task_fk(), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(Text, default="FS")
    lag_days: Mapped[int] = mapped_column(default=0)


class TaskChange(Base):
    """History of owner, dates, status and completion changes: who, when, why."""

    __tablename__ = "task_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(_task_fk(), index=True)
    field: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProgressEntry(Base):
    """A row of the progress and issue log (docs/domain.md §5)."""

    __tablename__ = "progress_log"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(_task_fk(), index=True)
    logged_on: Mapped[date]
    progress: Mapped[str] = mapped_column(Text)
    completion: Mapped[int]
    issue: Mapped[str | None] = mapped_column(Text)
    impact: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(Text)
    eta_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Reminder(Base):
    """One overdue or due-soon event per task and business day: the key makes it exactly once."""

    __tablename__ = "reminders"

    task_id: Mapped[uuid.UUID] = mapped_column(_task_fk(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    business_day: Mapped[date] = mapped_column(primary_key=True)


class Baseline(Base):
    """A frozen schedule to measure variance against."""

    __tablename__ = "baselines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(Text)
    tasks: Mapped[dict[str, Any]] = mapped_column(JSONB)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Template(Base):
    """A reusable WBS (e.g. 'Xiaohongshu KOC seeding') with offsets from a start day."""

    __tablename__ = "templates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, unique=True)
    tasks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)


class PlanTemplate(Base):
    """A template to instantiate for a plan when the plan is approved."""

    __tablename__ = "plan_templates"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    template_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.templates.id", ondelete="CASCADE"), primary_key=True
    )
    start_on: Mapped[date]
    owner_id: Mapped[str] = mapped_column(Text)
    approver_id: Mapped[str] = mapped_column(Text)
    instantiated: Mapped[bool] = mapped_column(default=False)


class Holiday(Base):
    """A company holiday: not a working day."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
