"""The alerts service's HTTP models."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from services.alerts import rules
from services.alerts.windows import BusinessHours
from shared.contract.metric_dictionary import METRIC_KEY_PATTERN, known_metric
from shared.contract.types import Severity
from shared.kit.errors import InvalidField
from shared.kit.input import InputModel
from shared.kit.notify.targets import target_problem

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Person = Annotated[str, Field(min_length=1, max_length=100)]
Labels = Annotated[
    dict[Annotated[str, Field(max_length=50)], Annotated[str, Field(max_length=200)]],
    Field(max_length=20),
]
EVENT_TYPES = (
    "tasks.task.overdue",
    "tasks.task.due_soon",
    "metrics.source.data_late",
    "metrics.plan.fraud_suspected",
    "approvals.request.overdue",
    "planning.plan.budget_line_overspent",
)


class Strict(InputModel):
    """Input models refuse unknown fields; numbers are no dates, booleans no numbers."""

    model_config = ConfigDict(extra="forbid")


class FollowUpIn(Strict):
    """The rapid-response task a firing alert asks the tasks service to create."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    owner_id: Person
    approver_id: Person
    due_in_days: Annotated[int, Field(ge=0, le=30)] = 1


class RuleCreate(Strict):
    """A rule on a dictionary metric or on an event type.

    ``relative_to_target``: actual below/above target by more than ``threshold`` %;
    ``projected_miss``: the linear forecast at the due date misses the target by that much;
    ``threshold``: the value itself crosses ``threshold``; ``change_over_period``: the value
    moved by more than ``threshold`` % against ``period_days`` earlier; ``budget_pacing``:
    spend runs ahead (above) or behind (below) the budget's share of elapsed time by that much.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "CPA above target",
                    "kind": "threshold",
                    "plan_id": "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f",
                    "metric": "cpa",
                    "direction": "above",
                    "threshold": "45",
                    "recovery": "40",
                    "for_evaluations": 2,
                    "severity": "warning",
                    "channels": ["ops-room"],
                }
            ]
        }
    )

    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal[
        "relative_to_target",
        "projected_miss",
        "threshold",
        "change_over_period",
        "budget_pacing",
        "event",
    ]
    plan_id: uuid.UUID | None = None
    objective_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None
    metric: str | None = None
    event_type: Literal[EVENT_TYPES] | None = None  # type: ignore[valid-type]
    direction: Literal["below", "above"] = "below"
    target: Annotated[Decimal, Field(max_digits=24, decimal_places=6)] | None = None
    threshold: Annotated[Decimal, Field(max_digits=24, decimal_places=6)] = rules.DEFAULT_THRESHOLD
    recovery: Annotated[Decimal, Field(max_digits=24, decimal_places=6)] | None = None
    period_days: Annotated[int, Field(ge=1, le=31)] = 1
    for_evaluations: Annotated[int, Field(ge=1, le=100)] = 1
    min_sample: Annotated[int, Field(ge=0, le=10**9)] = 0
    ignore_provisional: bool = False
    no_data: Literal["fire", "keep", "ignore"] = "keep"
    severity: Severity = Severity.WARNING
    labels: Labels = Field(default_factory=dict)
    channels: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=10
    )
    follow_up: FollowUpIn | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RuleCreate:
        if self.kind == "event":
            if self.event_type is None:
                raise ValueError("an event rule names its event_type")
            self.recovery = (
                rules.default_recovery(self.kind, self.threshold)
                if self.recovery is None
                else self.recovery
            )
            return self
        if self.kind == "budget_pacing":
            if self.metric not in (None, "cost"):
                raise ValueError("a budget pacing rule watches cost")
            self.metric = "cost"
        # A key that may name a derived metric is checked by the service, which knows them.
        problem = unknown_metric(self.metric, ())
        if problem and not (self.metric and re.fullmatch(METRIC_KEY_PATTERN, self.metric)):
            raise ValueError(problem)
        if self.recovery is None:
            self.recovery = rules.default_recovery(self.kind, self.threshold)
        return self


class RuleUpdate(Strict):
    """Tune a rule; absent fields stay."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"threshold": "50", "severity": "critical"}]}
    )

    threshold: Annotated[Decimal, Field(max_digits=24, decimal_places=6)] | None = None
    recovery: Annotated[Decimal, Field(max_digits=24, decimal_places=6)] | None = None
    for_evaluations: Annotated[int, Field(ge=1, le=100)] | None = None
    severity: Severity | None = None
    channels: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=10
    )
    enabled: bool | None = None


class RuleRead(BaseModel):
    """A stored rule."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    plan_id: uuid.UUID | None
    objective_id: uuid.UUID | None
    channel_id: uuid.UUID | None
    metric: str | None
    event_type: str | None
    direction: str
    target: Decimal | None
    threshold: Decimal
    recovery: Decimal
    period_days: int
    for_evaluations: int
    min_sample: int
    ignore_provisional: bool
    no_data: str
    severity: Severity
    labels: dict[str, str]
    channels: list[str]
    follow_up: dict[str, Any] | None
    is_default: bool
    enabled: bool
    row_version: int


class EvaluationRead(BaseModel):
    """One observation of an alert."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    value: Decimal | None
    outcome: str


class NotificationRead(BaseModel):
    """One message and its delivery attempts."""

    model_config = ConfigDict(from_attributes=True)

    channel_id: str
    kind: str
    status: str
    attempts: list[dict[str, Any]]
    next_attempt_at: datetime


class AlertRead(BaseModel):
    """An alert with its history."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rule_id: uuid.UUID
    fingerprint: str
    state: str
    severity: Severity
    plan_id: uuid.UUID | None
    objective_id: uuid.UUID | None
    channel_id: uuid.UUID | None
    labels: dict[str, str]
    summary: str
    metric: str | None
    value: Decimal | None
    threshold: Decimal | None
    started_at: datetime
    fired_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    assignee: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    escalation_level: int
    follow_up_task_id: uuid.UUID | None
    row_version: int
    evaluations: list[EvaluationRead] = Field(default_factory=list)
    notifications: list[NotificationRead] = Field(default_factory=list)


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a list shows; absent criteria do not narrow it."""

    plan_id: uuid.UUID | None = None
    state: str | None = None
    severity: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class Acknowledge(Strict):
    """I'm on it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"note": "looking into the in-feed campaigns"}]}
    )

    note: Text | None = None


class Resolve(Strict):
    """Close an alert by hand, with the reason."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "paused the two worst campaigns; CPA back under 40"}]
        }
    )

    reason: Text


class Assign(Strict):
    """Who owns the alert now."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"assignee": "specialist-bo"}]})

    assignee: Person


class SilenceCreate(Strict):
    """Mute alerts whose labels match, from ``starts_at`` to ``ends_at``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "matchers": {"plan_id": "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f"},
                    "starts_at": "2024-06-18T00:00:00+08:00",
                    "ends_at": "2024-06-19T00:00:00+08:00",
                    "comment": "618 peak: data arrives late on purpose",
                    "end_on_resolve": False,
                }
            ]
        }
    )

    matchers: Labels = Field(min_length=1)
    starts_at: datetime
    ends_at: datetime
    comment: Text
    end_on_resolve: bool = False  # end as soon as a silenced alert resolves

    @model_validator(mode="after")
    def _window(self) -> SilenceCreate:
        if self.ends_at <= self.starts_at:
            raise InvalidField("ends_at", "ends_at must be after starts_at")
        return self


class SilenceRead(BaseModel):
    """A stored silence."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    author: str
    comment: str
    end_on_resolve: bool


ChannelKind = Literal["webhook", "wecom", "dingtalk", "feishu", "email"]
Secret = Annotated[str, Field(min_length=16, max_length=200, pattern=r"^\S+$")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class ChannelIn(Strict):
    """Where notifications go; level 0 gets every notification, level n the n-th escalation.

    ``webhook``: a generic receiver, signed as Standard Webhooks with ``secret`` (``whsec_…``;
    ``previous_secrets`` keep signing while receivers move to the new one). ``wecom``: the group
    robot's URL with its ``key`` (no secret). ``dingtalk`` / ``feishu``: the robot's URL and,
    when its signature check is on, its ``secret``. ``email``: ``recipients``, no URL.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "wecom",
                    "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=your-robot-key",
                    "language": "zh-CN",
                    "escalation_level": 0,
                    "group_by": ["plan_id"],
                    "group_wait_seconds": 30,
                }
            ]
        }
    )

    kind: ChannelKind = "webhook"
    url: HttpUrl | None = None
    secret: Secret | None = None
    previous_secrets: Annotated[list[Secret], Field(max_length=3)] = Field(default_factory=list)
    recipients: Annotated[list[Email], Field(max_length=20)] = Field(default_factory=list)
    language: Literal["zh-CN", "en"] | None = None
    escalation_level: Annotated[int, Field(ge=0, le=5)] = 0
    group_by: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=50)]], Field(max_length=10)
    ] = Field(default_factory=lambda: ["plan_id"])
    group_wait_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    group_interval_seconds: Annotated[int, Field(ge=0, le=86400)] = 300
    business_hours: BusinessHours | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> ChannelIn:
        if problem := channel_problem(self):
            raise InvalidField(*problem)
        return self

    def secrets(self) -> list[str]:
        """The active secrets, newest first."""
        return [s for s in (self.secret, *self.previous_secrets) if s]


def channel_problem(channel: ChannelIn) -> tuple[str, str] | None:
    """The field that does not fit the channel's kind, and why (None when all fit)."""
    return target_problem(
        channel.kind,
        url=None if channel.url is None else str(channel.url),
        secrets=channel.secrets(),
        recipients=channel.recipients,
    )


class ChannelRead(BaseModel):
    """A channel as stored (its secrets are never shown)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    url: str | None
    recipients: list[str]
    language: str | None
    escalation_level: int
    group_by: list[str]
    group_wait_seconds: int
    group_interval_seconds: int
    business_hours: BusinessHours | None


def unknown_metric(metric: str | None, derived: Collection[str]) -> str | None:
    """Why a rule cannot watch ``metric`` (None when it can): a built-in or known derived key."""
    if known_metric(metric, derived):
        return None
    return f"metric must be a key of the metric dictionary, not {metric!r}"
