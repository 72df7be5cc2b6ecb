"""Planning's business rules as plain functions: no database, no HTTP."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from services.planning.schemas import PlanStatus
from shared.contract.metric_dictionary import known_metric
from shared.contract.payouts import payout_rate
from shared.contract.types import Role, TargetKind
from shared.kit.auth import Principal
from shared.kit.errors import Forbidden

# Which lifecycle step may follow which; anything else is refused with the allowed steps.
TRANSITIONS: Mapping[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.DRAFT: frozenset({PlanStatus.SUBMITTED}),
    PlanStatus.SUBMITTED: frozenset({PlanStatus.APPROVED, PlanStatus.REJECTED}),
    PlanStatus.REJECTED: frozenset({PlanStatus.SUBMITTED}),
    PlanStatus.APPROVED: frozenset({PlanStatus.ACTIVE}),
    PlanStatus.ACTIVE: frozenset({PlanStatus.COMPLETED}),
    PlanStatus.COMPLETED: frozenset({PlanStatus.ARCHIVED}),
    PlanStatus.ARCHIVED: frozenset(),
}
EDITABLE = frozenset({PlanStatus.DRAFT, PlanStatus.REJECTED})
ADJUSTABLE = frozenset({PlanStatus.APPROVED, PlanStatus.ACTIVE})


def can_move(current: PlanStatus, target: PlanStatus) -> bool:
    """True when the lifecycle allows going from ``current`` to ``target``."""
    return target in TRANSITIONS[current]


def risk_level(likelihood: int, impact: int) -> str:
    """Likelihood × impact on 1–5 scales: ≥ 15 high, ≥ 8 medium, else low."""
    score = likelihood * impact
    return "high" if score >= 15 else "medium" if score >= 8 else "low"


def needs_contingency_plan(likelihood: int, impact: int) -> bool:
    """High likelihood and high impact (both ≥ 4) need a contingency plan up front."""
    return likelihood >= 4 and impact >= 4


@dataclass(frozen=True)
class Finding:
    """One reason a plan cannot be submitted."""

    field: str
    rule: str
    message: str


class ObjectiveLike(Protocol):
    metric: str
    target_kind: str
    target_value: Decimal
    baseline_value: Decimal | None
    owner_id: str
    due_on: date


class RiskLike(Protocol):
    title: str
    likelihood: int
    impact: int
    contingency_plan: str | None


def total_budget(planned: Iterable[Decimal], reserve: Decimal) -> Decimal:
    """Every line's planned amount plus the contingency reserve."""
    return sum(planned, Decimal(0)) + reserve


def reserve_share(planned: Iterable[Decimal], reserve: Decimal) -> Decimal | None:
    """The reserve as a share of the total budget (None when there is no budget)."""
    total = total_budget(planned, reserve)
    return (reserve / total).quantize(Decimal("0.0001")) if total else None


def submission_findings(
    *,
    starts_on: date,
    ends_on: date,
    objectives: Sequence[ObjectiveLike],
    planned: Sequence[Decimal],
    reserve: Decimal,
    risks: Sequence[RiskLike],
    reserve_min: Decimal,
    reserve_max: Decimal,
    derived_metrics: Collection[str] = frozenset(),
) -> list[Finding]:
    """Everything that keeps a plan from being submitted: SMART objectives, reserve, risks.

    An objective's metric is a built-in one or among ``derived_metrics`` (those learnt of)."""
    findings: list[Finding] = []
    if not objectives:
        findings.append(Finding("objectives", "smart-objectives", "a plan needs an objective"))
    for n, objective in enumerate(objectives):
        findings += _objective_findings(n, objective, starts_on, ends_on, derived_metrics)
    total = total_budget(planned, reserve)
    share = reserve / total if total else None  # exact: a rounded share could slip through
    if share is None:
        findings.append(Finding("budget", "budget-required", "a plan needs a budget"))
    elif not reserve_min <= share <= reserve_max:
        findings.append(
            Finding(
                "contingency_reserve",
                "contingency-reserve",
                f"the reserve is {share:.2%} of the total budget; it must be between "
                f"{reserve_min:.0%} and {reserve_max:.0%}",
            )
        )
    for n, risk in enumerate(risks):
        if needs_contingency_plan(risk.likelihood, risk.impact) and not risk.contingency_plan:
            findings.append(
                Finding(
                    f"risks.{n}.contingency_plan",
                    "contingency-plan",
                    f"risk {risk.title!r} is high likelihood and high impact: "
                    "it needs a contingency plan before submission",
                )
            )
    return findings


def _objective_findings(
    n: int,
    objective: ObjectiveLike,
    starts_on: date,
    ends_on: date,
    derived_metrics: Collection[str] = frozenset(),
) -> list[Finding]:
    found = []
    where = f"objectives.{n}"
    if not known_metric(objective.metric, derived_metrics):
        found.append(
            Finding(
                f"{where}.metric",
                "measurable-metric",
                f"{objective.metric!r} is not in the metric dictionary",
            )
        )
    if objective.target_kind == TargetKind.RELATIVE and objective.baseline_value is None:
        found.append(
            Finding(
                f"{where}.baseline_value",
                "relative-target-baseline",
                "a relative target (+30 %) needs the baseline it is relative to",
            )
        )
    if not starts_on <= objective.due_on <= ends_on:
        found.append(
            Finding(
                f"{where}.due_on",
                "time-bound",
                f"due {objective.due_on} is outside the plan period {starts_on} – {ends_on}",
            )
        )
    return found


def compare(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Paths whose values differ between two snapshots; list items are matched by ``id``."""
    changes: list[tuple[str, Any, Any]] = []
    _compare("", before, after, changes)
    return changes


def _compare(path: str, before: Any, after: Any, out: list[tuple[str, Any, Any]]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted({*before, *after}):
            _compare(f"{path}.{key}" if path else str(key), before.get(key), after.get(key), out)
    elif _keyed(before) and _keyed(after):
        old = {item["id"]: item for item in before}
        new = {item["id"]: item for item in after}
        for key in [*old, *(k for k in new if k not in old)]:
            _compare(f"{path}[{key}]", old.get(key), new.get(key), out)
    elif before != after:
        out.append((path, before, after))


def _keyed(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, Mapping) and "id" in i for i in value)


@dataclass
class Node:
    """A node of a target decomposition tree (region → city → school/ambassador)."""

    id: str
    name: str
    level: str
    target: Decimal
    owner_id: str | None = None
    actual: Decimal | None = None
    children: list[Node] | None = None
    source_id: str | None = None
    entities: list[str] | None = None  # the fact entities (channel codes) a leaf owns


@dataclass(frozen=True)
class RolledUp:
    """A node with what its children add up to and how it is doing."""

    node: Node
    children: list[RolledUp]
    children_target: Decimal | None
    difference: Decimal | None  # target minus the children's targets; 0 when they add up
    actual: Decimal | None
    achievement: Decimal | None
    payout_rate: Decimal | None


def roll_up(node: Node) -> RolledUp:
    """Sums, differences, achievement and the capped KPI payout rate, bottom-up."""
    children = [roll_up(child) for child in node.children or []]
    children_target = sum((c.node.target for c in children), Decimal(0)) if children else None
    actuals = [c.actual for c in children if c.actual is not None]
    actual = sum(actuals, Decimal(0)) if actuals else node.actual
    achievement = (
        (actual / node.target).quantize(Decimal("0.0001"))
        if (actual is not None and node.target)
        else None
    )
    return RolledUp(
        node=node,
        children=children,
        children_target=children_target,
        difference=node.target - children_target if children_target is not None else None,
        actual=actual,
        achievement=achievement,
        payout_rate=payout_rate(achievement),
    )


def entity_finding(root: Node) -> Finding | None:
    """Why the tree's fact entities cannot be measured: a code owned twice, or by a parent.

    Each entity's facts must count once, so an entity belongs to one leaf of the tree.
    """
    owner: dict[str, str] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        children = node.children or []
        if node.entities and children:
            return Finding(
                "entities",
                "leaf-entities",
                f"{node.name!r} has children: only a leaf (school/ambassador) owns entities",
            )
        for entity in node.entities or []:
            if entity in owner:
                return Finding(
                    "entities",
                    "unique-entity",
                    f"entity {entity!r} is owned by both {owner[entity]!r} and {node.name!r}",
                )
            owner[entity] = node.name
        pending.extend(reversed(children))
    return None


# A plan belongs to its team: the owner (its creator, unless handed over) and the members.
# Specialists write only the plans whose team they are on; supervisors and managers (and admin)
# oversee every plan. The owner or an overseer names the members and hands the plan over.
OVERSEERS = frozenset({Role.SUPERVISOR, Role.MANAGER})


def check_team_write(
    actor: Principal, owner_id: str, members: Collection[str], *, also: Iterable[Role] = ()
) -> None:
    """Raise unless the actor may change the plan: its team, an overseer, or a role in ``also``."""
    if actor.has_any(OVERSEERS | frozenset(also)):
        return
    if actor.subject == owner_id or actor.subject in members:
        return
    raise Forbidden(
        f"only the plan's team (its owner {owner_id!r} and its members), supervisors and "
        "managers may change this plan",
        rule="plan-team",
    )


def check_team_keeper(actor: Principal, owner_id: str, *, field: str) -> None:
    """Raise unless the actor may name the team or hand the plan over: owner or overseer."""
    if actor.has_any(OVERSEERS) or actor.subject == owner_id:
        return
    raise Forbidden(
        f"only the plan's owner {owner_id!r}, a supervisor or a manager may change its {field}",
        field=field,
        rule="plan-owner",
    )


def team_members(owner_id: str, members: Iterable[str]) -> list[str]:
    """The members as stored: each once, in the order given, never the owner."""
    return [m for m in dict.fromkeys(members) if m != owner_id]
