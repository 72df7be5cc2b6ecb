"""Expenses are filed against the budget lines of an approved plan, and must fit what is left."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.events.planning import BudgetLineTarget
from shared.contract.types import Money, Role
from tests.conftest import bearer
from tests.harness.factories.events import handled
from tests.metrics.helpers import plan_targets

REQUESTER = bearer(Role.SPECIALIST, "specialist-amy")


def _expense(line: dict[str, Any], amount: Decimal, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "expense",
        "title": f"{line['name']} spend",
        "budget_line_id": line["id"],
        "amount": str(amount),
        "cost_type": "other",
        "event_on": (datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
        **extra,
    }


async def _approved_line(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """A budget line of an approved plan, as approvals keeps it from planning's targets event."""
    plan_id = uuid.uuid4()
    line = BudgetLineTarget(
        budget_line_id=uuid.uuid4(),
        name="Douyin feed",
        cost_type="media",
        planned=Money(amount=Decimal("200000.00")),
    )
    await handled(sessions, "approvals", plan_targets(plan_id, budget_lines=[line]), str(plan_id))
    return {
        "id": str(line.budget_line_id),
        "plan_id": str(plan_id),
        "name": line.name,
        "planned": str(line.planned.amount),
    }


async def test_an_expense_must_name_a_known_line_and_fit_what_is_left(
    approvals_client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    line = await _approved_line(sessions)
    planned = Decimal(line["planned"])
    known = await approvals_client.post(
        "/approvals/requests/preview", json=_expense(line, Decimal(1)), headers=REQUESTER
    )
    assert known.status_code == 200, known.text  # approvals learnt the lines from the event

    unknown = {**line, "id": str(uuid.uuid4())}
    refused = await approvals_client.post(
        "/approvals/requests", json=_expense(unknown, Decimal(1)), headers=REQUESTER
    )
    assert (refused.status_code, refused.json()["rule"]) == (422, "known-budget-line")
    assert refused.json()["field"] == "budget_line_id"
    elsewhere = _expense(line, Decimal(1), plan_id=str(uuid.uuid4()))
    refused = await approvals_client.post("/approvals/requests", json=elsewhere, headers=REQUESTER)
    assert refused.json()["rule"] == "known-budget-line"

    most = (planned * Decimal("0.8")).quantize(Decimal("0.01"))
    filed = await approvals_client.post(
        "/approvals/requests", json=_expense(line, most), headers=REQUESTER
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["plan_id"] == line["plan_id"]  # taken from the line
    over = await approvals_client.post(
        "/approvals/requests", json=_expense(line, planned - most + 1), headers=REQUESTER
    )
    assert (over.status_code, over.json()["rule"]) == (422, "within-budget-line")
    assert over.json()["field"] == "amount"
    rest = await approvals_client.post(
        "/approvals/requests", json=_expense(line, planned - most), headers=REQUESTER
    )
    assert rest.status_code == 201, rest.text
