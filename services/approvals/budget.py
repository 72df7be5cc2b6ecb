"""Budget lines of approved plans, as planning announces them: expenses are checked against them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals.models import BudgetLine
from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import RequestCreate
from services.approvals.workflows import PolicyResult
from shared.contract.events.approvals import RequestKind
from shared.contract.events.planning import PlanTargetsSetV1
from shared.kit.errors import RuleViolated


async def check(session: AsyncSession, data: RequestCreate) -> PolicyResult | None:
    """An expense on a budget line must name a line of an approved plan, and fit what is left.

    Without this an expense could be approved against a line planning does not know, and the
    money would be committed nowhere.
    """
    if data.budget_line_id is None:
        return None
    repo = ApprovalRepository(session)
    line = await repo.budget_line(data.budget_line_id)
    if line is None or (data.plan_id is not None and line.plan_id != data.plan_id):
        raise RuleViolated(
            f"{data.budget_line_id} is not a budget line of "
            f"{'that' if data.plan_id else 'an'} approved plan",
            field="budget_line_id",
            rule="known-budget-line",
        )
    if data.kind is not RequestKind.EXPENSE or data.amount is None:
        return None
    left = line.planned - await repo.spoken_for(line.id)
    return PolicyResult(
        rule="within-budget-line",
        passed=data.currency == line.currency and data.amount <= left,
        message=f"{line.name!r} has {left} {line.currency} left of {line.planned} "
        f"(pending and approved expenses hold the rest); this asks {data.amount} {data.currency}",
        field="amount",
    )


async def plan_of_line(session: AsyncSession, line_id: uuid.UUID | None) -> uuid.UUID | None:
    """The plan a budget line belongs to, when the line is known."""
    line = await ApprovalRepository(session).budget_line(line_id) if line_id else None
    return line.plan_id if line else None


async def keep_budget_lines(session: AsyncSession, event: PlanTargetsSetV1) -> None:
    """Remember the approved plan version's budget lines."""
    await ApprovalRepository(session).replace_budget_lines(
        event.plan_id,
        [
            BudgetLine(
                id=line.budget_line_id,
                plan_id=event.plan_id,
                name=line.name,
                cost_type=line.cost_type,
                planned=line.planned.amount,
                currency=line.planned.currency,
            )
            for line in event.budget_lines
        ],
    )
