"""The metrics service's tables, all in the ``metrics`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.metrics import SERVICE
from shared.kit.bus.outbox import Outbox
from shared.kit.bus.tables import BusTables
from shared.kit.db import service_metadata
from shared.kit.idempotency import IdempotencyKeys

Value = Numeric(24, 6)
# The ``hour`` of a fact reported for its whole day: a key column cannot be NULL, and a sentinel
# keeps the plain primary key (and ON CONFLICT on it) that the ingest upsert relies on.
WHOLE_DAY = -1
HOUR_RANGE = f"hour BETWEEN {WHOLE_DAY} AND 23"


class Base(DeclarativeBase):
    metadata = service_metadata(SERVICE)


bus = BusTables.define(Base.metadata)
idempotency = IdempotencyKeys.define(Base.metadata)
# Every event metrics publishes is recorded here, in the transaction that caused it.
outbox = Outbox(bus.outbox, source=SERVICE)


class Source(Base):
    """A registered ad-platform account or internal system that posts metrics."""

    __tablename__ = "sources"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(Text)
    account_id: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    settlement_days: Mapped[int]
    # [{"id", "sealed", "active", "created_at"}]; several may be active while rotating. Each
    # secret is sealed with the deployment's keys (shared/kit/secrets.py), never kept in clear.
    secrets: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # platform: signs each delivery with a secret; internal: posts with a service token whose
    # subject is one of token_subjects (and has no secrets).
    kind: Mapped[str] = mapped_column(Text, server_default="platform")
    system: Mapped[str | None] = mapped_column(Text)  # user_backend, ecommerce… (internal only)
    token_subjects: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # {"conversions": ["purchase", …]}: a Meta source's own preference order of action types
    # per metric (rows.META_ACTION_TYPES otherwise).
    meta_action_types: Mapped[dict[str, list[str]] | None] = mapped_column(JSONB)


class Mapping(Base):
    """A platform campaign of a source mapped to a plan and one of its channels."""

    __tablename__ = "mappings"

    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(Text, primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(index=True)
    channel_id: Mapped[uuid.UUID | None]


class Delivery(Base):
    """A webhook delivery seen once: a redelivery gets the same answer."""

    __tablename__ = "deliveries"

    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(Text, primary_key=True)
    body_hash: Mapped[str] = mapped_column(Text)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Fact(Base):
    """The value in force for (source, entity, day, hour, metric): the newest report wins.

    ``day`` and ``hour`` are the source's own (``Source.timezone``); ``hour`` is 0-23, or
    ``WHOLE_DAY`` for a figure reported for the whole day. A day's figure is its whole-day fact
    when there is one, else the sum of its hours (``repository.COUNTED``): a source that sends
    hours through the day and a settled daily figure later is not counted twice.
    """

    __tablename__ = "facts"
    __table_args__ = (
        Index("ix_metrics_facts_plan_metric_day", "plan_id", "metric", "day"),
        CheckConstraint(HOUR_RANGE, name="hour"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, default=WHOLE_DAY, server_default=str(WHOLE_DAY)
    )
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[Decimal] = mapped_column(Value)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    plan_id: Mapped[uuid.UUID | None]
    channel_id: Mapped[uuid.UUID | None]


class FactRevision(Base):
    """Every value ever reported, so a KPI can be recomputed as known on any day."""

    __tablename__ = "fact_revisions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_id: Mapped[uuid.UUID]
    entity: Mapped[str] = mapped_column(Text)
    day: Mapped[date]
    hour: Mapped[int] = mapped_column(
        SmallInteger, default=WHOLE_DAY, server_default=str(WHOLE_DAY)
    )
    metric: Mapped[str] = mapped_column(Text)
    value: Mapped[Decimal] = mapped_column(Value)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivery_id: Mapped[str] = mapped_column(Text)


class PlanTarget(Base):
    """Planning's targets for a plan, kept from ``planning.plan.targets_set``."""

    __tablename__ = "plan_targets"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    currency: Mapped[str] = mapped_column(Text)
    objectives: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class DirtyDay(Base):
    """A plan/channel/day whose facts changed and whose snapshot is not yet published."""

    __tablename__ = "dirty_days"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    channel_key: Mapped[str] = mapped_column(Text, primary_key=True)  # channel id or "plan"
    day: Mapped[date] = mapped_column(primary_key=True)


class DailyRollup(Base):
    """A plan's daily sums per channel, source and metric, kept from facts by the snapshot job.

    ``day`` is the company day: a whole-day fact's own day, or for a day reported by the hour,
    the company day each hour starts in (so a company day's hours add up to it). ``source_day``
    is the facts' own day, which the snapshot job recomputes by; ``entities`` counts the
    entities the figure adds up (a metric that does not add up is given for one only).
    ``channel_key`` is the channel id as text, or ``plan`` for facts mapped to the plan without
    a channel. ``value_net`` leaves out entity-days excluded as fraudulent and is NULL when every
    fact of the row is excluded (the row then counts for gross only). Week, month and to-date
    figures are sums of these rows; source days still in ``dirty_days`` are read from facts.
    """

    __tablename__ = "daily_rollups"
    # The missing-rate warnings read only the few rows that have one.
    __table_args__ = (
        Index(
            "ix_metrics_daily_rollups_unconverted",
            "plan_id",
            "day",
            postgresql_where=text("unconverted_currency IS NOT NULL"),
        ),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    channel_key: Mapped[str] = mapped_column(Text, primary_key=True)
    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source_day: Mapped[date] = mapped_column(primary_key=True)
    value_gross: Mapped[Decimal | None] = mapped_column(Numeric)
    value_net: Mapped[Decimal | None] = mapped_column(Numeric)
    entities: Mapped[int] = mapped_column(server_default=text("0"))
    # Set when the row's money has no rate into the plan's currency (see currency.py): both
    # values are then NULL, and the row only says that this source currency lacks a rate.
    unconverted_currency: Mapped[str | None] = mapped_column(Text)


class HourlyRollup(Base):
    """A plan's hourly sums per channel, source and metric, from hourly facts only.

    ``hour`` is the start of the company-time-zone hour the facts' source hour starts in (a
    source an odd half hour away from the company lands in the hour its own hour starts in).
    ``day`` is the facts' day as the source reported it: the snapshot job recomputes a plan's
    rows by it, as it does the daily rollups. Whole-day facts have no hour and are not here;
    ``value_net`` is as in ``DailyRollup`` (an excluded entity-day leaves all its hours).
    """

    __tablename__ = "hourly_rollups"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    channel_key: Mapped[str] = mapped_column(Text, primary_key=True)
    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date]
    value_gross: Mapped[Decimal] = mapped_column(Numeric)
    value_net: Mapped[Decimal | None] = mapped_column(Numeric)


class EvaluationNote(Base):
    """Analysis and suggestion users add to a row of the evaluation report."""

    __tablename__ = "evaluation_notes"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    objective_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    data_source: Mapped[str | None] = mapped_column(Text)
    analysis: Mapped[str | None] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)


class LateNotice(Base):
    """One data-late event per source, plan and business day."""

    __tablename__ = "late_notices"

    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    business_day: Mapped[date] = mapped_column(primary_key=True)


class FraudFlag(Base):
    """A suspected fraud signal on one entity-day, and a reviewer's decision on it.

    One row per (source, entity, day, signal): the unique key is also the claim that makes the
    fraud-suspected event go out once. An entity-day with any ``excluded`` flag is left out of
    the net figures.
    """

    __tablename__ = "fraud_flags"
    __table_args__ = (
        UniqueConstraint("source_id", "entity", "day", "signal"),
        Index("ix_metrics_fraud_flags_plan_day", "plan_id", "day"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    source_id: Mapped[uuid.UUID]
    entity: Mapped[str] = mapped_column(Text)
    day: Mapped[date]
    signal: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[uuid.UUID]
    channel_id: Mapped[uuid.UUID | None]
    score: Mapped[Decimal] = mapped_column(Value)
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)  # suspected | excluded | cleared
    flagged_by: Mapped[str] = mapped_column(Text)  # "system" or the reviewer who flagged it
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class Decomposition(Base):
    """An objective's target tree, kept from ``planning.objective.decomposed``.

    ``tree`` is the event's flattened nodes, root first; leaves name the entities they own.
    """

    __tablename__ = "decompositions"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    objective_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    plan_revision: Mapped[int]
    metric: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    due_on: Mapped[date]
    tree: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class DerivedMetric(Base):
    """A metric defined at runtime by a formula over summable metrics (never stored as facts)."""

    __tablename__ = "derived_metrics"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    definition: Mapped[str] = mapped_column(Text)
    expression: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # ratio | counter | money
    version: Mapped[int]
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FxRate(Base):
    """1 ``base`` is worth ``rate`` ``quote`` from ``valid_from`` until the pair's next rate.

    The inverse direction is implied (currency.py); a pair has one rate a day, either way.
    """

    __tablename__ = "fx_rates"
    __table_args__ = (
        CheckConstraint("rate > 0", name="positive_rate"),
        CheckConstraint("base <> quote", name="two_currencies"),
    )

    base: Mapped[str] = mapped_column(Text, primary_key=True)
    quote: Mapped[str] = mapped_column(Text, primary_key=True)
    valid_from: Mapped[date] = mapped_column(primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric)
    set_by: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Experiment(Base):
    """An A/B experiment of a plan: arms of fact entities compared on a ratio metric.

    ``arms`` is ``[{"name", "entities": [entity, …]}, …]``, the control first; an entity is in
    one arm only. The review (experiments/service.py) is computed from facts when asked.
    """

    __tablename__ = "experiments"
    __table_args__ = (Index("ix_metrics_experiments_plan", "plan_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    minimum_sample: Mapped[int] = mapped_column(BigInteger)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FraudArrivalMark(Base):
    """How far the fraud arrivals job had read the revisions at a run (fraud/arrivals.py).

    A run reads the revisions after the mark of a run at least an overlap earlier, so a batch
    whose transaction committed after a newer one's is still read; flags are claimed once, so
    reading a batch twice raises nothing twice.
    """

    __tablename__ = "fraud_arrival_marks"

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    last_revision: Mapped[int] = mapped_column(BigInteger)


class PlanProduct(Base):
    """The product a plan promotes, kept from ``planning.plan.created``/``updated``: trends
    compare a plan with the earlier campaigns of the same product."""

    __tablename__ = "plan_products"
    __table_args__ = (Index("ix_metrics_plan_products_product", "product"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(Text)


class PlanVersion(Base):
    """The company day each version of a plan came into force (the ``targets_set`` event's
    time: approval, or an applied adjustment), so trends can compare a plan's versions."""

    __tablename__ = "plan_versions"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    in_force_from: Mapped[date]


class PlanBudget(Base):
    """A plan's budget lines and contingency reserve, kept from ``planning.plan.targets_set``.

    ``lines`` is ``[{"budget_line_id", "name", "channel_id", "planned"}, …]`` in the plan's
    currency; ``contingency_reserve`` is None while planning had not announced it.
    """

    __tablename__ = "plan_budgets"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int]
    currency: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    contingency_reserve: Mapped[Decimal | None] = mapped_column(Numeric)


class ChannelParameters(Base):
    """A plan's classical-CLTV parameters and CLTV/CAC floor (None: not set)."""

    __tablename__ = "channel_parameters"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    gross_margin: Mapped[Decimal | None] = mapped_column(Numeric)
    purchase_frequency: Mapped[Decimal | None] = mapped_column(Numeric)
    lifespan_years: Mapped[Decimal | None] = mapped_column(Numeric)
    cltv_cac_floor: Mapped[Decimal] = mapped_column(Numeric)
    set_by: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CohortRevenue(Base):
    """An acquisition cohort's size and cumulative revenue at one age, as a source posted it.

    Money stays in the source's currency (``currency``); the newest report wins."""

    __tablename__ = "cohort_revenues"
    __table_args__ = (Index("ix_metrics_cohort_revenues_plan", "plan_id", "cohort_on"),)

    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(Text, primary_key=True)
    cohort_on: Mapped[date] = mapped_column(primary_key=True)
    age_days: Mapped[int] = mapped_column(primary_key=True)
    customers: Mapped[Decimal] = mapped_column(Numeric)
    revenue: Mapped[Decimal] = mapped_column(Numeric)
    currency: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    plan_id: Mapped[uuid.UUID | None]
    channel_id: Mapped[uuid.UUID | None]
