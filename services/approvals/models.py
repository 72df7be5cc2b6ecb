"""The approvals service's tables, all in the ``approvals`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Numeric, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.approvals import SERVICE
from shared.kit.bus.tables import BusTables
from shared.kit.db import service_metadata
from shared.kit.idempotency import IdempotencyKeys


class Base(DeclarativeBase):
    metadata = service_metadata(SERVICE)


bus = BusTables.define(Base.metadata)
idempotency = IdempotencyKeys.define(Base.metadata)


class Workflow(Base):
    """An admin-edited version of a workflow; the newest version of a key is in force."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(Text)
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApprovalRequest(Base):
    """Something waiting for (or past) a decision."""

    __tablename__ = "requests"
    __table_args__ = (UniqueConstraint("kind", "reference_id", "source_event_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(Text, index=True)
    title: Mapped[str] = mapped_column(Text)
    reference_id: Mapped[uuid.UUID] = mapped_column(index=True)
    source_event_id: Mapped[uuid.UUID | None]
    plan_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    budget_line_id: Mapped[uuid.UUID | None]
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(Text)
    cost_type: Mapped[str | None] = mapped_column(Text)
    event_on: Mapped[date | None]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    requester: Mapped[str] = mapped_column(Text, index=True)
    workflow_key: Mapped[str] = mapped_column(Text)
    workflow_version: Mapped[int]
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    current_stage: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(Text, default="pending", index=True)
    policy_override: Mapped[str | None] = mapped_column(Text)
    row_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    """One person's decision on one stage of a request."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("request_id", "stage", "decided_by"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(index=True)
    stage: Mapped[int]
    decided_by: Mapped[str] = mapped_column(Text)
    acting_for: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BudgetLine(Base):
    """A budget line of an approved plan version, as planning last announced it: what an
    expense may be filed against and how much it holds."""

    __tablename__ = "budget_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(Text)
    cost_type: Mapped[str] = mapped_column(Text)
    planned: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(Text)


class Delegation(Base):
    """An approver's out-of-office window: a delegate acts for them."""

    __tablename__ = "delegations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    delegator: Mapped[str] = mapped_column(Text, index=True)
    delegate: Mapped[str] = mapped_column(Text, index=True)
    roles: Mapped[list[str]] = mapped_column(JSONB)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """An append-only, hash-chained record of every state change."""

    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    client_address: Mapped[str | None] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text, unique=True)


class NoticePreference(Base):
    """How one person wants to hear that a request waits for them (set by themselves).

    ``roles`` are the approver roles their token carried when they set it: the approvals
    service knows people only through their tokens, so this is who it tells about a stage."""

    __tablename__ = "notice_preferences"

    person: Mapped[str] = mapped_column(Text, primary_key=True)
    roles: Mapped[list[str]] = mapped_column(JSONB)
    kind: Mapped[str] = mapped_column(Text)  # webhook | wecom | dingtalk | feishu | email
    url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    # Sealed (shared/kit/secrets.py); the active secrets, newest first, space separated.
    sealed_secret: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)  # None: the company's language
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Notice(Base):
    """One message to one approver, written in the transaction that caused it (an outbox), then
    delivered by a job with retries and back-off; ``attempts`` is the delivery log.

    One per request, stage, reason and person: a cause seen twice (a retried job, a replayed
    event) finds its notice already there and sends nothing more."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("request_id", "stage", "reason", "person"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(index=True)
    stage: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)  # inbox | sla_near | escalated
    person: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="pending", index=True)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
