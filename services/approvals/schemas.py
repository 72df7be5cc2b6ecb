"""The approvals service's HTTP models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from services.approvals.workflows import WorkflowDefinition
from shared.contract.events.approvals import RequestKind
from shared.contract.types import CostType, CurrencyCode
from shared.kit.errors import InvalidField
from shared.kit.input import InputModel
from shared.kit.notify.targets import target_problem
from shared.kit.pagination import Page
from shared.kit.wording import a_or_an

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Person = Annotated[str, Field(min_length=1, max_length=100)]


class Strict(InputModel):
    """Input models refuse unknown fields; numbers are no dates, booleans no numbers."""

    model_config = ConfigDict(extra="forbid")


class Attachment(Strict):
    """Metadata of an attached document (the document itself lives elsewhere)."""

    type: Literal["agreement", "pay_sheet", "quote", "invoice", "contract", "other"]
    reference: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(max_length=200)] | None = None


class RequestCreate(Strict):
    """An expense, contract or periodic-plan request filed over REST."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "expense",
                    "title": "venue fee for the Fudan pop-up",
                    "plan_id": "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f",
                    "budget_line_id": "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                    "amount": "18000.00",
                    "currency": "CNY",
                    "cost_type": "venue",
                    "event_on": "2024-06-08",
                }
            ]
        }
    )

    kind: Literal[RequestKind.EXPENSE, RequestKind.CONTRACT, RequestKind.PERIODIC_PLAN]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    plan_id: uuid.UUID | None = None
    budget_line_id: uuid.UUID | None = None
    amount: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)] | None = None
    currency: CurrencyCode = "CNY"
    cost_type: CostType | None = None
    event_on: date | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)
    override_reason: Text | None = Field(
        default=None, description="admins only: file despite a failing policy, with the reason"
    )

    @model_validator(mode="after")
    def _expense_needs_money(self) -> RequestCreate:
        if self.kind is RequestKind.EXPENSE and (self.amount is None or self.cost_type is None):
            raise ValueError("an expense needs an amount and a cost_type")
        return self


class StageRead(BaseModel):
    """A stage of a request as routed, with its state."""

    name: str
    mode: str
    roles: list[str]
    quorum: int | None
    sla_hours: int
    applies: bool
    why: str
    status: str
    due_at: datetime | None = None
    escalated_to: list[str] = Field(default_factory=list)


class PolicyRead(BaseModel):
    """A creation policy and whether it holds."""

    rule: str
    passed: bool
    message: str
    field: str


class RoutePreview(BaseModel):
    """The chain a request would take, and the policies it would meet."""

    workflow: str
    workflow_version: int
    stages: list[StageRead]
    policies: list[PolicyRead]


class DecisionRead(BaseModel):
    """One recorded decision."""

    model_config = ConfigDict(from_attributes=True)

    stage: int
    decided_by: str
    acting_for: str | None
    role: str
    decision: str
    comment: str | None
    decided_at: datetime


class RequestRead(BaseModel):
    """A request with its route, state and decisions."""

    id: uuid.UUID
    kind: RequestKind
    title: str
    reference_id: uuid.UUID
    plan_id: uuid.UUID | None
    budget_line_id: uuid.UUID | None
    amount: Decimal | None
    currency: str | None
    cost_type: str | None
    event_on: date | None
    attachments: list[dict[str, Any]]
    requester: str
    workflow_key: str
    workflow_version: int
    stages: list[StageRead]
    current_stage: int
    status: Literal["pending", "approved", "rejected", "returned"]
    policy_override: str | None
    row_version: int
    created_at: datetime
    closed_at: datetime | None
    decisions: list[DecisionRead]


RequestPage = Page[RequestRead]


class DecisionCreate(Strict):
    """A decision on the stage the caller was shown (``stage`` guards against racing)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"stage": 1, "decision": "approve", "comment": "within the approved budget line"}
            ]
        }
    )

    stage: Annotated[int, Field(ge=0, le=20)]
    decision: Literal["approve", "reject", "return", "delegate"]
    comment: Text | None = None
    delegate_to: Person | None = None

    @model_validator(mode="after")
    def _reasons(self) -> DecisionCreate:
        if self.decision in ("reject", "return") and not self.comment:
            raise ValueError(f"{a_or_an(self.decision)} needs a reason in comment")
        if (self.decision == "delegate") != (self.delegate_to is not None):
            raise ValueError("delegate_to goes with, and only with, a delegate decision")
        return self


class DelegationCreate(Strict):
    """An out-of-office window during which a delegate decides for the caller."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "delegate": "supervisor-zhao",
                    "starts_at": "2024-06-01T09:00:00+08:00",
                    "ends_at": "2024-06-08T18:00:00+08:00",
                }
            ]
        }
    )

    delegate: Person
    starts_at: datetime
    ends_at: datetime

    @model_validator(mode="after")
    def _window(self) -> DelegationCreate:
        if self.ends_at <= self.starts_at:
            raise InvalidField("ends_at", "ends_at must be after starts_at")
        return self


class DelegationRead(BaseModel):
    """A stored delegation."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    delegator: str
    delegate: str
    roles: list[str]
    starts_at: datetime
    ends_at: datetime


class WorkflowRead(BaseModel):
    """A workflow in force."""

    key: str
    version: int
    definition: WorkflowDefinition


class AuditEntryRead(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: uuid.UUID | None
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    client_address: str | None
    previous_hash: str
    hash: str


class NoticePreferenceIn(Strict):
    """How the caller hears that something waits in their inbox, nears its SLA or is escalated
    to them: a group robot (``wecom``, ``dingtalk``, ``feishu``) or a signed ``webhook`` at
    ``url`` (with its ``secret`` where the platform signs), or ``email``.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"kind": "email", "email": "amy.chen@example.com", "language": "zh-CN"}]
        }
    )

    kind: Literal["webhook", "wecom", "dingtalk", "feishu", "email"]
    url: HttpUrl | None = None
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )
    secret: Annotated[str, Field(min_length=16, max_length=200, pattern=r"^\S+$")] | None = None
    language: Literal["zh-CN", "en"] | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> NoticePreferenceIn:
        problem = target_problem(
            self.kind,
            url=None if self.url is None else str(self.url),
            secrets=[self.secret] if self.secret else [],
            recipients=[self.email] if self.email else [],
        )
        if problem:
            field, message = problem
            raise InvalidField({"recipients": "email"}.get(field, field), message)
        return self


class NoticePreferenceRead(BaseModel):
    """A person's notice channel as stored (the secret is never shown)."""

    model_config = ConfigDict(from_attributes=True)

    person: str
    roles: list[str]
    kind: str
    url: str | None
    email: str | None
    language: str | None
    updated_at: datetime


class NoticeRead(BaseModel):
    """One notice to an approver and its delivery attempts."""

    model_config = ConfigDict(from_attributes=True)

    request_id: uuid.UUID
    stage: int
    reason: str
    person: str
    status: str
    attempts: list[dict[str, Any]]
    next_attempt_at: datetime
