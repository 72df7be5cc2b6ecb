"""Events published by the metrics service (topics ``metrics.plan`` and ``metrics.source``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shared.contract.envelope import EventPayload
from shared.contract.metric_dictionary import MetricKind
from shared.contract.types import Money


class ObjectiveAchievement(BaseModel):
    """One objective's actual against its target at a point in time."""

    model_config = ConfigDict(frozen=True)

    objective_id: uuid.UUID
    metric: str
    target: Decimal
    actual: Decimal | None
    # Target pro-rated to elapsed time for accumulating metrics; the target itself for ratios.
    expected_to_date: Decimal | None = None
    achievement: Decimal | None  # actual / target, 1.0 == 100 %
    sample_size: int | None = None
    provisional: bool = False


class KpiSnapshotV1(EventPayload):
    """Achievement per objective of a plan as known at ``as_of`` (subject: plan id).

    Figures are net: entity-days a reviewer excluded as fake-registration fraud are left out.
    """

    event_type = "metrics.plan.kpi_snapshot"
    event_version = 1

    plan_id: uuid.UUID
    plan_version: int
    as_of: datetime
    objectives: list[ObjectiveAchievement]
    # How many entity-days were left out of the net figures (0: net equals gross).
    excluded_entity_days: int = 0


class MetricValue(BaseModel):
    """One metric's value over a window, with what it was computed from."""

    model_config = ConfigDict(frozen=True)

    metric: str
    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    provisional: bool = False


class MetricsUpdatedV1(EventPayload):
    """Metric values of a plan (optionally one channel) for one day changed after ingestion.

    Alerts evaluates metric rules on these; ``channel_id`` null means the whole plan.
    """

    event_type = "metrics.plan.metrics_updated"
    event_version = 1

    plan_id: uuid.UUID
    channel_id: uuid.UUID | None = None
    day: date
    as_of: datetime
    values: list[MetricValue]


class SpendRecordedV1(EventPayload):
    """Actual spend of a plan's channel up to a day, for the budget's 'actual' column."""

    event_type = "metrics.plan.spend_recorded"
    event_version = 1

    plan_id: uuid.UUID
    channel_id: uuid.UUID | None = None
    through_day: date
    spend_to_date: Money


class FraudSuspectedV1(EventPayload):
    """Registrations of a channel code look fake (retention or activity far below its peers)."""

    event_type = "metrics.plan.fraud_suspected"
    event_version = 1

    plan_id: uuid.UUID
    channel_id: uuid.UUID | None = None
    channel_code: str
    day: date
    signal: str
    detail: str
    score: Decimal


class IngestionSummaryV1(EventPayload):
    """One accepted webhook delivery (subject: source id)."""

    event_type = "metrics.source.ingested"
    event_version = 1

    source_id: uuid.UUID
    delivery_id: str
    rows: int
    facts_inserted: int
    facts_revised: int
    facts_ignored_stale: int
    first_day: date | None = None
    last_day: date | None = None


class DataLateV1(EventPayload):
    """A source sent nothing for a business day by the daily cut-off (17:00 company time)."""

    event_type = "metrics.source.data_late"
    event_version = 1

    source_id: uuid.UUID
    plan_id: uuid.UUID | None = None
    business_day: date
    cutoff_at: datetime


class MetricDefinedV1(EventPayload):
    """A derived metric was defined or redefined (subject: the metric key).

    Planning and alerts accept it as an objective or rule metric from then on; ``version``
    grows with each redefinition, so a consumer keeps the highest it has seen.
    """

    event_type = "metrics.metric.defined"
    event_version = 1

    key: str
    name: str
    definition: str
    kind: MetricKind  # ratio, counter or money
    expression: str
    version: int
    defined_by: str
    defined_at: datetime


EVENTS: tuple[type[EventPayload], ...] = (
    KpiSnapshotV1,
    MetricsUpdatedV1,
    SpendRecordedV1,
    FraudSuspectedV1,
    IngestionSummaryV1,
    DataLateV1,
    MetricDefinedV1,
)
