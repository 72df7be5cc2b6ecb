"""Expenses are filed against the budget lines of an approved plan, and must fit what is left."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning.helpers import approved_plan
from tests.polling import eventually

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


async def test_an_expense_must_name_a_known_line_and_fit_what_is_left(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    line = plan["budget"][0]
    planned = Decimal(line["planned"])

    async def known() -> bool:
        probe = await client.post(
            "/approvals/requests/preview", json=_expense(line, Decimal(1)), headers=REQUESTER
        )
        return probe.status_code == 200

    await eventually(known)  # approvals learnt the lines from planning's targets event

    unknown = {**line, "id": str(uuid.uuid4())}
    refused = await client.post(
        "/approvals/requests", json=_expense(unknown, Decimal(1)), headers=REQUESTER
    )
    assert (refused.status_code, refused.json()["rule"]) == (422, "known-budget-line")
    assert refused.json()["field"] == "budget_line_id"
    elsewhere = _expense(line, Decimal(1), plan_id=str(uuid.uuid4()))
    refused = await client.post("/approvals/requests", json=elsewhere, headers=REQUESTER)
    assert refused.json()["rule"] == "known-budget-line"

    most = (planned * Decimal("0.8")).quantize(Decimal("0.01"))
    filed = await client.post("/approvals/requests", json=_expense(line, most), headers=REQUESTER)
    assert filed.status_code == 201, filed.text
    assert filed.json()["plan_id"] == plan["plan"]["id"]  # taken from the line
    over = await client.post(
        "/approvals/requests", json=_expense(line, planned - most + 1), headers=REQUESTER
    )
    assert (over.status_code, over.json()["rule"]) == (422, "within-budget-line")
    assert over.json()["field"] == "amount"
    rest = await client.post(
        "/approvals/requests", json=_expense(line, planned - most), headers=REQUESTER
    )
    assert rest.status_code == 201, rest.text
