"""Events published by the alerts service (topic ``alerts.alert``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.envelope import EventPayload
from shared.contract.types import Severity


class FollowUpTask(BaseModel):
    """A 'rapid response' task the rule asks the tasks service to create."""

    model_config = ConfigDict(frozen=True)

    title: str
    owner_id: str
    approver_id: str
    due_on: date


class AlertPayload(EventPayload):
    """What every alert event says about its alert."""

    alert_id: uuid.UUID
    rule_id: uuid.UUID
    fingerprint: str
    severity: Severity
    plan_id: uuid.UUID | None = None
    objective_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class AlertRaisedV1(AlertPayload):
    """A rule's condition held long enough: the alert fires."""

    event_type = "alerts.alert.raised"
    event_version = 1

    summary: str
    metric: str | None = None
    value: Decimal | None = None
    threshold: Decimal | None = None
    started_at: datetime
    follow_up: FollowUpTask | None = None


class AlertAcknowledgedV1(AlertPayload):
    """Somebody took the alert on."""

    event_type = "alerts.alert.acknowledged"
    event_version = 1

    by: str
    note: str | None = None


class AlertResolvedV1(AlertPayload):
    """The condition cleared (automatically) or a person resolved it with a reason."""

    event_type = "alerts.alert.resolved"
    event_version = 1

    resolved_at: datetime
    by: str | None = None
    reason: str | None = None


class AlertEscalatedV1(AlertPayload):
    """An alert stayed unacknowledged past its escalation delay."""

    event_type = "alerts.alert.escalated"
    event_version = 1

    level: int
    to: list[str]


EVENTS: tuple[type[EventPayload], ...] = (
    AlertRaisedV1,
    AlertAcknowledgedV1,
    AlertResolvedV1,
    AlertEscalatedV1,
)
