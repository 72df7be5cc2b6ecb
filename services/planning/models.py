"""Planning's tables, all in the ``planning`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.planning import SERVICE
from shared.kit.bus.tables import BusTables
from shared.kit.db import service_metadata
from shared.kit.idempotency import IdempotencyKeys
from shared.kit.known_metrics import KnownMetrics

Amount = Numeric(18, 2)
Ratio = Numeric(12, 6)


class Base(DeclarativeBase):
    metadata = service_metadata(SERVICE)


bus = BusTables.define(Base.metadata)
# The derived metrics the metrics service announced, so objectives may name them.
known_metrics = KnownMetrics.define(Base.metadata)
idempotency = IdempotencyKeys.define(Base.metadata)


def _plan_fk() -> Any:
    return ForeignKey("planning.plans.id", ondelete="CASCADE")


class Plan(Base):
    """A campaign plan: the header of the aggregate."""

    __tablename__ = "plans"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period_order"),)
    # The INSERT returns the server defaults (created_at …), so a new plan needs no refresh.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - read once by the mapper

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(Text, index=True)
    # The plan's team besides its owner: they may write it (see rules.check_team_write).
    members: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(Text, default="draft", index=True)
    # The business version: 1 at approval, +1 per applied adjustment.
    version: Mapped[int] = mapped_column(default=1)
    # The row version behind ETag / If-Match: +1 on every change.
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    departments: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    contingency_reserve: Mapped[Decimal] = mapped_column(Amount, default=0, server_default="0")
    default_alert_rules: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Objective(Base):
    """A row of the goal consensus table, with the latest progress from metrics."""

    __tablename__ = "objectives"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    type: Mapped[str] = mapped_column(Text)
    core_strategy: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    target_kind: Mapped[str] = mapped_column(Text)
    target_value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    baseline_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    owner_id: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    notes: Mapped[str | None] = mapped_column(Text)
    actual_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    achievement: Mapped[Decimal | None] = mapped_column(Ratio)
    # The target decomposition tree (company → region → city → school/ambassador).
    decomposition: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    progress_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Persona(Base):
    """An audience persona."""

    __tablename__ = "personas"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(Text)
    age_band: Mapped[str | None] = mapped_column(Text)
    gender: Mapped[str | None] = mapped_column(Text)
    regions: Mapped[list[str]] = mapped_column(JSONB, default=list)
    occupations: Mapped[list[str]] = mapped_column(JSONB, default=list)
    interests: Mapped[list[str]] = mapped_column(JSONB, default=list)
    habits: Mapped[list[str]] = mapped_column(JSONB, default=list)


class Channel(Base):
    """One channel of the plan's mix."""

    __tablename__ = "channels"
    __table_args__ = (Index("ix_planning_channels_type", "channel_type"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    channel_type: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    budget_share: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    expected_reach: Mapped[int | None]
    expected_cost: Mapped[Decimal | None] = mapped_column(Amount)
    notes: Mapped[str | None] = mapped_column(Text)


class BudgetLine(Base):
    """Money for one channel and cost type (optionally one phase)."""

    __tablename__ = "budget_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(Text)
    channel_id: Mapped[uuid.UUID | None]
    phase_id: Mapped[uuid.UUID | None]
    cost_type: Mapped[str] = mapped_column(Text)
    planned: Mapped[Decimal] = mapped_column(Amount)
    forecast: Mapped[Decimal] = mapped_column(Amount)
    committed: Mapped[Decimal] = mapped_column(Amount, default=0)
    actual: Mapped[Decimal] = mapped_column(Amount, default=0)


class Phase(Base):
    """A phase of the execution plan (docs/domain.md §4)."""

    __tablename__ = "phases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    core_action: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(Text)
    resources: Mapped[str | None] = mapped_column(Text)
    risk: Mapped[str | None] = mapped_column(Text)
    countermeasure: Mapped[str | None] = mapped_column(Text)


class Risk(Base):
    """An entry of the risk register."""

    __tablename__ = "risks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    likelihood: Mapped[int]
    impact: Mapped[int]
    level: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(Text)
    contingency_plan: Mapped[str | None] = mapped_column(Text)


class Partner(Base):
    """A vendor, KOL or media partner of the plan, with its evaluation and reviews."""

    __tablename__ = "partners"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    qualification: Mapped[int]
    reputation: Mapped[int]
    capacity: Mapped[int]
    service_quality: Mapped[int]
    agreement_ref: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    reviews: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


# A retrospective row's words for full-text search: English stems ("turnstiles" finds
# "turnstile"); the GIN index and the search query must spell it identically (as PostgreSQL
# prints it back, so that autogenerate sees the migration's index as the model's).
RETROSPECTIVE_DOCUMENT = (
    "to_tsvector('english'::regconfig, (((((((stage || ' '::text) || what_worked)"
    " || ' '::text) || fell_short) || ' '::text) || root_cause) || ' '::text) || measure)"
)


class RetrospectiveRow(Base):
    """A row of the retrospective table (docs/domain.md §7), searchable across plans."""

    __tablename__ = "retrospective_rows"
    __table_args__ = (
        Index(
            "ix_planning_retrospective_rows_words",
            text(RETROSPECTIVE_DOCUMENT),
            postgresql_using="gin",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    position: Mapped[int]
    stage: Mapped[str] = mapped_column(Text)
    what_worked: Mapped[str] = mapped_column(Text)
    fell_short: Mapped[str] = mapped_column(Text)
    root_cause: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None]


class PlanVersion(Base):
    """A frozen copy of a plan at approval and after each applied adjustment."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    version: Mapped[int]
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    adjustment_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Adjustment(Base):
    """A proposed change to an approved plan, decided by the marketing committee."""

    __tablename__ = "adjustments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(_plan_fk(), index=True)
    kind: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    base_version: Mapped[int]
    status: Mapped[str] = mapped_column(Text, default="requested")
    requested_by: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    applied_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
