"""The alerts service's tables, all in the ``alerts`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.alerts import SERVICE
from shared.kit.bus.tables import BusTables
from shared.kit.db import service_metadata
from shared.kit.idempotency import IdempotencyKeys
from shared.kit.known_metrics import KnownMetrics

Value = Numeric(24, 6)


class Base(DeclarativeBase):
    metadata = service_metadata(SERVICE)


bus = BusTables.define(Base.metadata)
idempotency = IdempotencyKeys.define(Base.metadata)
# The derived metrics the metrics service announced, so rules may name them.
known_metrics = KnownMetrics.define(Base.metadata)


class Rule(Base):
    """When to raise an alert, how loudly, and whom to tell."""

    __tablename__ = "rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    # relative_to_target | projected_miss | threshold | change_over_period | budget_pacing | event
    kind: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    objective_id: Mapped[uuid.UUID | None]
    channel_id: Mapped[uuid.UUID | None]
    metric: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str | None] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(Text, default="below")
    target: Mapped[Decimal | None] = mapped_column(Value)
    threshold: Mapped[Decimal] = mapped_column(Value)
    recovery: Mapped[Decimal] = mapped_column(Value)
    period_days: Mapped[int] = mapped_column(default=1)  # change over period: 1 = day over day
    for_evaluations: Mapped[int] = mapped_column(default=1)
    min_sample: Mapped[int] = mapped_column(default=0)
    ignore_provisional: Mapped[bool] = mapped_column(default=False)
    no_data: Mapped[str] = mapped_column(Text, default="keep")
    severity: Mapped[str] = mapped_column(Text)
    labels: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    channels: Mapped[list[str]] = mapped_column(JSONB, default=list)
    follow_up: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    is_default: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    row_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Alert(Base):
    """One alert per rule and subject (fingerprint), with its whole lifecycle."""

    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(index=True)
    fingerprint: Mapped[str] = mapped_column(Text, index=True)
    state: Mapped[str] = mapped_column(
        Text, index=True
    )  # pending | firing | acknowledged | resolved
    severity: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    objective_id: Mapped[uuid.UUID | None]
    channel_id: Mapped[uuid.UUID | None]
    labels: Mapped[dict[str, str]] = mapped_column(JSONB)
    summary: Mapped[str] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(Text)
    value: Mapped[Decimal | None] = mapped_column(Value)
    threshold: Mapped[Decimal | None] = mapped_column(Value)
    breaches: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    notified_count: Mapped[int] = mapped_column(default=0)
    last_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_level: Mapped[int] = mapped_column(default=0)
    follow_up_task_id: Mapped[uuid.UUID | None]
    row_version: Mapped[int] = mapped_column(default=1)


class JudgedThrough(Base):
    """The newest data point each alert subject (fingerprint) was judged on.

    Metrics publishes changed days in no particular order, and a late or restated older day
    must not resolve (or raise) what a newer day already decided.
    """

    __tablename__ = "judged_through"

    fingerprint: Mapped[str] = mapped_column(Text, primary_key=True)
    data_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Evaluation(Base):
    """Each observation that moved an alert: the evidence of why it fired and resolved."""

    __tablename__ = "evaluations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    alert_id: Mapped[uuid.UUID] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value: Mapped[Decimal | None] = mapped_column(Value)
    outcome: Mapped[str] = mapped_column(Text)


class Silence(Base):
    """Mute notifications of alerts whose labels match, for a while."""

    __tablename__ = "silences"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    matchers: Mapped[dict[str, str]] = mapped_column(JSONB)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    author: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text)
    end_on_resolve: Mapped[bool] = mapped_column(default=False)


class Channel(Base):
    """Where notifications go: a signed webhook, a WeCom/DingTalk/Feishu robot, or email."""

    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, default="webhook", server_default="webhook")
    url: Mapped[str | None] = mapped_column(Text)  # None for email
    recipients: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    language: Mapped[str | None] = mapped_column(Text)  # None: the company's language
    # Sealed with the deployment's keys (shared/kit/secrets.py): a dump signs nothing. The
    # active secrets, newest first, separated by spaces ("" when the kind signs nothing).
    sealed_secret: Mapped[str] = mapped_column(Text)
    escalation_level: Mapped[int] = mapped_column(default=0)
    # Alertmanager's grouping: one message per group of labels, after a wait, then an interval.
    group_by: Mapped[list[str]] = mapped_column(JSONB, default=lambda: ["plan_id"])
    group_wait_seconds: Mapped[int] = mapped_column(default=30)
    group_interval_seconds: Mapped[int] = mapped_column(default=300)
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Notification(Base):
    """One message to one channel, retried with backoff until delivered; attempts are logged."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    alert_id: Mapped[uuid.UUID] = mapped_column(index=True)
    channel_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # firing | repeat | resolved | escalation
    group_key: Mapped[str] = mapped_column(Text, default="", index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="pending", index=True)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SeenValue(Base):
    """The last value of a metric per plan, channel and day: what change rules compare with."""

    __tablename__ = "seen_values"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(Text, primary_key=True)  # a channel id, or "plan"
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    value: Mapped[Decimal | None] = mapped_column(Value)


class PlanBudget(Base):
    """A plan's period and channel budgets as last announced: what pacing rules measure against."""

    __tablename__ = "plan_budgets"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    currency: Mapped[str] = mapped_column(Text)
    channels: Mapped[dict[str, str]] = mapped_column(JSONB)  # channel id -> planned amount
