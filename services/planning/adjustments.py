"""Adjustments: changes to an approved plan, decided by the committee, applied as a version."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import rules
from services.planning.lifecycle import freeze_version, publish_targets
from services.planning.models import Adjustment, BudgetLine, Objective, Plan, idempotency
from services.planning.repository import PlanRepository
from services.planning.schemas import AdjustmentCreate, AdjustmentKind, AdjustmentRead, PlanStatus
from services.planning.service import PlanNotEditable, get_plan, outbox, touch
from services.planning.settings import get_planning_settings
from shared.contract.events.planning import (
    AdjustmentAppliedV1,
    AdjustmentRejectedV1,
    AdjustmentRequestedV1,
    BudgetMove,
    BudgetReallocatedV1,
)
from shared.contract.types import Money
from shared.kit.auth import Principal
from shared.kit.errors import NotFound, RuleViolated
from shared.kit.pagination import Page, PageWindow, page_of
from shared.kit.wording import a_or_an


class AdjustmentNotFound(NotFound):
    """No adjustment with this id in this plan."""


_CONTENT_OF_KIND = {
    AdjustmentKind.BUDGET_REALLOCATION: "moves",
    AdjustmentKind.TARGET_CHANGE: "targets",
    AdjustmentKind.STRATEGY: "strategies",
    AdjustmentKind.RESERVE_DRAW: "reserve_draw",
}


def _changes(data: AdjustmentCreate) -> dict[str, Any]:
    """The part of the request that matches its kind, or the client's error."""
    field = _CONTENT_OF_KIND[data.kind]
    if not getattr(data, field):
        raise RuleViolated(
            f"{a_or_an(data.kind)} adjustment needs {field}", field=field, rule="adjustment-content"
        )
    return data.model_dump(mode="json", include={field})


async def _check_references(session: AsyncSession, plan: Plan, data: AdjustmentCreate) -> Decimal:
    """Every line and objective named belongs to the plan, and money moved exists."""
    repo = PlanRepository(session)
    lines = {line.id: line for line in await repo.section(BudgetLine, plan.id)}
    objectives = {o.id for o in await repo.section(Objective, plan.id)}
    moved = Decimal(0)
    outgoing: dict[uuid.UUID, Decimal] = {}
    for n, move in enumerate(data.moves):
        for side in ("from_budget_line_id", "to_budget_line_id"):
            if getattr(move, side) not in lines:
                raise RuleViolated(
                    f"budget line {getattr(move, side)} is not in this plan",
                    field=f"moves.{n}.{side}",
                    rule="known-budget-line",
                )
        if move.from_budget_line_id == move.to_budget_line_id:
            raise RuleViolated(
                "a move needs two different lines", field=f"moves.{n}", rule="distinct-lines"
            )
        outgoing[move.from_budget_line_id] = (
            outgoing.get(move.from_budget_line_id, Decimal(0)) + move.amount
        )
        moved += move.amount
    for line_id, amount in outgoing.items():
        if amount > lines[line_id].planned:
            raise RuleViolated(
                f"line {lines[line_id].name!r} has {lines[line_id].planned} planned; "
                f"cannot move {amount}",
                field="moves",
                rule="enough-budget",
            )
    named = [("targets", n, c.objective_id) for n, c in enumerate(data.targets)]
    named += [("strategies", n, c.objective_id) for n, c in enumerate(data.strategies)]
    for part, n, objective_id in named:
        if objective_id not in objectives:
            raise RuleViolated(
                f"objective {objective_id} is not in this plan",
                field=f"{part}.{n}.objective_id",
                rule="known-objective",
            )
    if data.reserve_draw is not None:
        if data.reserve_draw.to_budget_line_id not in lines:
            raise RuleViolated(
                "the line to draw into is not in this plan",
                field="reserve_draw.to_budget_line_id",
                rule="known-budget-line",
            )
        if data.reserve_draw.amount > plan.contingency_reserve:
            raise RuleViolated(
                f"the reserve holds {plan.contingency_reserve}",
                field="reserve_draw.amount",
                rule="enough-reserve",
            )
        moved = data.reserve_draw.amount
    return moved


async def _check_diagnosed(session: AsyncSession, plan: Plan, data: AdjustmentCreate) -> None:
    """A recommended reallocation moves only money a line has left, and only while the plan's
    contingency reserve keeps the 10–15 % rule: metrics' view of the budget may be stale."""
    if data.kind != AdjustmentKind.BUDGET_REALLOCATION:
        raise RuleViolated(
            "a diagnosis justifies a budget reallocation only",
            field="diagnosis",
            rule="diagnosis-on-reallocation",
        )
    lines = {line.id: line for line in await PlanRepository(session).section(BudgetLine, plan.id)}
    for n, move in enumerate(data.moves):
        line = lines[move.from_budget_line_id]
        left = line.planned - max(line.committed, line.actual)
        if move.amount > left:
            raise RuleViolated(
                f"line {line.name!r} has {left} left after committed and spent money; "
                f"cannot move {move.amount}",
                field=f"moves.{n}.amount",
                rule="remaining-budget",
            )
    settings = get_planning_settings()
    share = rules.reserve_share([line.planned for line in lines.values()], plan.contingency_reserve)
    if share is None or not settings.reserve_min_share <= share <= settings.reserve_max_share:
        shown = "no budget" if share is None else f"{share:.2%} of the total budget"
        raise RuleViolated(
            f"the contingency reserve is {shown}, outside "
            f"{settings.reserve_min_share:.0%}–{settings.reserve_max_share:.0%}: restore it "
            "before reallocating",
            field="diagnosis",
            rule="contingency-reserve",
        )


async def request(
    session: AsyncSession,
    plan_id: uuid.UUID,
    data: AdjustmentCreate,
    actor: Principal,
    *,
    key: str | None = None,
) -> AdjustmentRead:
    """Propose an adjustment (once per Idempotency-Key); the committee decides it."""
    return await idempotency.run(
        session,
        key=key,
        principal=actor.subject,
        scope=f"POST /planning/plans/{plan_id}/adjustments",
        request=data,
        produce=lambda: _request(session, plan_id, data, actor),
        model=AdjustmentRead,
    )


async def _request(
    session: AsyncSession, plan_id: uuid.UUID, data: AdjustmentCreate, actor: Principal
) -> AdjustmentRead:
    plan = await get_plan(session, plan_id, for_update=True)
    if PlanStatus(plan.status) not in rules.ADJUSTABLE:
        raise PlanNotEditable(
            f"only approved or active plans are adjusted; this one is {plan.status}",
            rule="adjustable-status",
        )
    changes = _changes(data)
    moved = await _check_references(session, plan, data)
    if data.diagnosis is not None:
        await _check_diagnosed(session, plan, data)
        changes["diagnosis"] = data.diagnosis
    adjustment = await PlanRepository(session).add(
        Adjustment(
            id=uuid.uuid4(),
            plan_id=plan.id,
            kind=data.kind.value,
            reason=data.reason,
            changes=changes,
            base_version=plan.version,
            status="requested",
            requested_by=actor.subject,
        )
    )
    await outbox.record(
        session,
        AdjustmentRequestedV1(
            adjustment_id=adjustment.id,
            plan_id=plan.id,
            kind=data.kind.value,
            base_version=plan.version,
            reason=data.reason,
            requested_by=actor.subject,
            amount=Money(amount=moved, currency=plan.currency) if moved else None,
        ),
        subject=str(plan.id),
    )
    return AdjustmentRead.model_validate(adjustment)


async def list_for_plan(
    session: AsyncSession, plan_id: uuid.UUID, window: PageWindow
) -> Page[AdjustmentRead]:
    """A page of a plan's adjustments, oldest first."""
    await get_plan(session, plan_id)
    rows = await PlanRepository(session).adjustments_page(plan_id, window)
    return page_of(rows, window, lambda a: (a.created_at, a.id), AdjustmentRead.model_validate)


async def get_one(
    session: AsyncSession, plan_id: uuid.UUID, adjustment_id: uuid.UUID
) -> AdjustmentRead:
    """One adjustment of the plan, or 404."""
    found = await PlanRepository(session).adjustment(adjustment_id)
    if found is None or found.plan_id != plan_id:
        raise NotFound(f"plan {plan_id} has no adjustment {adjustment_id}")
    return AdjustmentRead.model_validate(found)


async def on_decision(
    session: AsyncSession, adjustment_id: uuid.UUID, approved: bool, by: str, reason: str | None
) -> None:
    """Apply (as a new plan version) or reject a requested adjustment; repeats change nothing."""
    repo = PlanRepository(session)
    adjustment = await repo.adjustment(adjustment_id, for_update=True)
    if adjustment is None or adjustment.status != "requested":
        return
    plan = await get_plan(session, adjustment.plan_id, for_update=True)
    adjustment.decided_by, adjustment.decision_reason = by, reason
    adjustment.decided_at = datetime.now(UTC)
    if not approved:
        adjustment.status = "rejected"
        await session.flush()
        await outbox.record(
            session,
            AdjustmentRejectedV1(
                adjustment_id=adjustment.id,
                plan_id=plan.id,
                kind=adjustment.kind,
                by=by,
                reason=reason,
            ),
            subject=str(plan.id),
        )
        return
    await _apply(session, plan, adjustment)
    plan.version += 1
    touch(plan)
    adjustment.status, adjustment.applied_version = "applied", plan.version
    await session.flush()
    await session.refresh(plan)
    await freeze_version(session, plan, f"adjustment: {adjustment.reason}", adjustment.id)
    await outbox.record(
        session,
        AdjustmentAppliedV1(
            adjustment_id=adjustment.id,
            plan_id=plan.id,
            kind=adjustment.kind,
            by=by,
            reason=reason,
            new_version=plan.version,
        ),
        subject=str(plan.id),
    )
    if adjustment.kind == AdjustmentKind.BUDGET_REALLOCATION:
        await outbox.record(
            session,
            BudgetReallocatedV1(
                adjustment_id=adjustment.id,
                plan_id=plan.id,
                new_version=plan.version,
                moves=[
                    BudgetMove(
                        from_budget_line_id=m["from_budget_line_id"],
                        to_budget_line_id=m["to_budget_line_id"],
                        amount=Money(amount=Decimal(m["amount"]), currency=plan.currency),
                    )
                    for m in adjustment.changes["moves"]
                ],
            ),
            subject=str(plan.id),
        )
    await publish_targets(session, plan)


async def _apply(session: AsyncSession, plan: Plan, adjustment: Adjustment) -> None:
    repo = PlanRepository(session)
    lines = {line.id: line for line in await repo.section(BudgetLine, plan.id)}
    objectives = {o.id: o for o in await repo.section(Objective, plan.id)}
    changes = adjustment.changes
    for move in changes.get("moves", []):
        amount = Decimal(move["amount"])
        source = lines[uuid.UUID(move["from_budget_line_id"])]
        target = lines[uuid.UUID(move["to_budget_line_id"])]
        source.planned -= amount
        source.forecast = max(source.forecast - amount, Decimal(0))
        target.planned += amount
        target.forecast += amount
    for change in changes.get("targets", []):
        objective = objectives[uuid.UUID(change["objective_id"])]
        objective.target_value = Decimal(change["target_value"])
        if change.get("baseline_value") is not None:
            objective.baseline_value = Decimal(change["baseline_value"])
        if change.get("due_on"):
            objective.due_on = date.fromisoformat(change["due_on"])
    for change in changes.get("strategies", []):
        objectives[uuid.UUID(change["objective_id"])].core_strategy = change["core_strategy"]
    if draw := changes.get("reserve_draw"):
        amount = Decimal(draw["amount"])
        plan.contingency_reserve -= amount
        line = lines[uuid.UUID(draw["to_budget_line_id"])]
        line.planned += amount
        line.forecast += amount
    await session.flush()
