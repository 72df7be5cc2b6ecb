"""Workflows, routing and creation policies as plain functions: no database, no HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.approvals.settings import ApprovalSettings
from shared.contract.events.approvals import RequestKind
from shared.contract.types import CostType, Role

StageMode = Literal["one", "any", "all", "quorum"]


class StageDefinition(BaseModel):
    """One stage: who decides, how many must agree, and when it applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    mode: StageMode = "one"
    roles: list[Role] = Field(min_length=1, max_length=10)
    quorum: int | None = Field(default=None, ge=1, le=10)
    sla_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    min_amount: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _quorum_fits(self) -> StageDefinition:
        if self.mode == "quorum" and not (self.quorum and self.quorum <= len(self.roles)):
            raise ValueError("a quorum stage needs quorum between 1 and the number of roles")
        if self.mode == "one" and len(self.roles) != 1:
            raise ValueError("a 'one' stage has exactly one role; use 'any' for several")
        return self


class WorkflowDefinition(BaseModel):
    """An ordered chain of stages for one kind of request."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "title": "venue fee",
                    "stages": [
                        {"name": "direct superior", "roles": ["supervisor"], "sla_hours": 24},
                        {
                            "name": "finance review",
                            "roles": ["finance"],
                            "sla_hours": 48,
                            "min_amount": "10000",
                        },
                    ],
                }
            ]
        },
    )

    title: str = Field(min_length=1, max_length=200)
    stages: list[StageDefinition] = Field(min_length=1, max_length=10)


def _stage(name: str, *roles: Role, mode: StageMode = "one", **extra: Any) -> StageDefinition:
    return StageDefinition(name=name, mode=mode, roles=list(roles), **extra)


# docs/domain.md §8, the company's approval table.
DEFAULT_WORKFLOWS: dict[str, WorkflowDefinition] = {
    "plan": WorkflowDefinition(
        title="campaign plan and budget",
        stages=[
            _stage("supervisor review", Role.SUPERVISOR),
            _stage("manager approval", Role.MANAGER),
            _stage("finance budget check", Role.FINANCE),
        ],
    ),
    "adjustment": WorkflowDefinition(
        title="strategy adjustment",
        stages=[_stage("marketing committee", Role.MANAGER, Role.SALES, Role.FINANCE, mode="all")],
    ),
    "contract": WorkflowDefinition(
        title="contract or partner agreement", stages=[_stage("legal review", Role.LEGAL)]
    ),
    "periodic_plan": WorkflowDefinition(
        title="weekly or monthly plan",
        stages=[_stage("supervisor", Role.SUPERVISOR), _stage("manager", Role.MANAGER)],
    ),
    "expense.personnel": WorkflowDefinition(
        title="personnel expense (event staff pay sheet)",
        stages=[
            _stage("specialist review", Role.SPECIALIST),
            _stage("supervisor", Role.SUPERVISOR),
            _stage("manager", Role.MANAGER),
            _stage("finance pays", Role.FINANCE),
        ],
    ),
    "expense.venue": WorkflowDefinition(
        title="venue fee",
        stages=[_stage("supervisor", Role.SUPERVISOR), _stage("manager", Role.MANAGER)],
    ),
    "expense.sponsorship": WorkflowDefinition(
        title="sponsorship",
        stages=[_stage("supervisor", Role.SUPERVISOR), _stage("manager", Role.MANAGER)],
    ),
    "expense.materials": WorkflowDefinition(
        title="materials", stages=[_stage("direct superior", Role.SUPERVISOR)]
    ),
    "expense.other": WorkflowDefinition(
        title="other expense",
        stages=[
            _stage("supervisor", Role.SUPERVISOR),
            _stage("finance over 50,000", Role.FINANCE, min_amount=Decimal(50000)),
        ],
    ),
}


def workflow_key(kind: RequestKind, cost_type: CostType | None) -> str:
    """Which workflow a request follows: by kind, and for expenses by cost type."""
    if kind is not RequestKind.EXPENSE:
        return kind.value
    known = {"personnel", "venue", "sponsorship", "materials"}
    return f"expense.{cost_type.value if cost_type and cost_type.value in known else 'other'}"


@dataclass(frozen=True)
class RoutedStage:
    """A stage as it applies to one request, with why."""

    name: str
    mode: StageMode
    roles: list[str]
    quorum: int | None
    sla_hours: int
    applies: bool
    why: str


def route(
    workflow: WorkflowDefinition, amount: Decimal | None, default_sla_hours: int
) -> list[RoutedStage]:
    """The chain for a request: each stage, whether it applies and why."""
    routed = []
    for stage in workflow.stages:
        applies = stage.min_amount is None or (amount is not None and amount >= stage.min_amount)
        if stage.min_amount is None:
            why = f"always part of {workflow.title}"
        elif applies:
            why = f"amount {amount} is at least {stage.min_amount}"
        else:
            why = f"skipped: amount {amount} is below {stage.min_amount}"
        routed.append(
            RoutedStage(
                name=stage.name,
                mode=stage.mode,
                roles=[r.value for r in stage.roles],
                quorum=stage.quorum,
                sla_hours=stage.sla_hours or default_sla_hours,
                applies=applies,
                why=why,
            )
        )
    return routed


@dataclass(frozen=True)
class PolicyResult:
    """One creation policy checked against a request."""

    rule: str
    passed: bool
    message: str
    field: str


def policies(
    *,
    kind: RequestKind,
    cost_type: CostType | None,
    event_on: date | None,
    attachments: Sequence[dict[str, Any]],
    now: datetime,
    timezone: str,
    settings: ApprovalSettings,
) -> list[PolicyResult]:
    """The lead-time and attachment rules of docs/domain.md §8 that apply to this request."""
    if kind is not RequestKind.EXPENSE or cost_type is None:
        return []
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    results: list[PolicyResult] = []

    def lead(rule: str, days: int, label: str) -> None:
        ahead = (event_on - today).days if event_on else None
        results.append(
            PolicyResult(
                rule=rule,
                passed=ahead is not None and ahead >= days,
                message=f"{label} must be requested at least {days} days before the event "
                f"({'no event date' if ahead is None else f'{ahead} days ahead'})",
                field="event_on",
            )
        )

    if cost_type is CostType.VENUE:
        lead("venue-lead-time", settings.venue_lead_days, "a venue fee")
    elif cost_type is CostType.SPONSORSHIP:
        lead("sponsorship-lead-time", settings.sponsorship_lead_days, "a sponsorship")
        has_agreement = any(a.get("type") == "agreement" for a in attachments)
        results.append(
            PolicyResult(
                rule="sponsorship-agreement",
                passed=has_agreement,
                message="a sponsorship needs the cooperation agreement attached "
                "(an attachment of type 'agreement')",
                field="attachments",
            )
        )
    elif cost_type is CostType.MATERIALS:
        lead("materials-lead-time", settings.materials_lead_days, "materials")
    elif cost_type is CostType.PERSONNEL:
        deadline = (
            datetime.combine(
                event_on + timedelta(days=1), time(settings.personnel_deadline_hour), zone
            )
            if event_on
            else None
        )
        results.append(
            PolicyResult(
                rule="personnel-pay-sheet-deadline",
                passed=deadline is not None and now <= deadline,
                message="the pay sheet is due by "
                f"{settings.personnel_deadline_hour}:00 the day after the event",
                field="event_on",
            )
        )
    return results


def stage_outcome(
    mode: StageMode, roles: Sequence[str], quorum: int | None, decisions: Sequence[tuple[str, str]]
) -> Literal["approved", "rejected", "open"]:
    """Where a stage stands given its (role, decision) pairs: a rejection ends it at once."""
    if any(decision == "reject" for _role, decision in decisions):
        return "rejected"
    approving = {role for role, decision in decisions if decision == "approve"}
    approvals = sum(1 for _role, decision in decisions if decision == "approve")
    if mode in ("one", "any"):
        return "approved" if approvals else "open"
    if mode == "all":
        return "approved" if set(roles) <= approving else "open"
    return "approved" if approvals >= (quorum or len(roles)) else "open"


# Who an overdue stage escalates to: the next level up.
ESCALATION: dict[str, str] = {
    "specialist": "supervisor",
    "supervisor": "manager",
    "manager": "admin",
    "sales": "manager",
    "finance": "admin",
    "legal": "admin",
}
