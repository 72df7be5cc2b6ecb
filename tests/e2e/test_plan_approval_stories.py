"""A plan or an adjustment submitted in planning becomes an approvals request; the stages decide
it, and planning learns the outcome (docs/domain.md §8's examples, across the services)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.approvals.test_requests import FINANCE, MANAGER, SALES, SUPERVISOR, _decide
from tests.e2e.plans import approved_plan
from tests.planning.helpers import SPECIALIST, seeded_plan
from tests.polling import eventually


async def _waiting(
    client: httpx.AsyncClient, headers: dict[str, str], kind: str, *, timeout: float = 10.0
) -> dict[str, Any]:
    """The first request of ``kind`` in the inbox of ``headers``' holder, once one is there."""

    async def found() -> dict[str, Any] | None:
        items = (await client.get("/approvals/inbox", headers=headers)).json()["items"]
        mine = [r for r in items if r["kind"] == kind]
        return mine[0] if mine else None

    return await eventually(found, timeout=timeout)


async def test_a_submitted_plan_is_approved_by_supervisor_manager_and_finance(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await seeded_plan(client)
    plan_id = plan["plan"]["id"]
    await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    request = await _waiting(client, SUPERVISOR, "plan")
    assert [s["name"] for s in request["stages"]] == [
        "supervisor review",
        "manager approval",
        "finance budget check",
    ]
    assert request["amount"] == "1120000.00"
    assert (await _decide(client, request, MANAGER)).status_code == 403  # not the manager's turn
    for headers in (SUPERVISOR, MANAGER, FINANCE):
        current = (await client.get(f"/approvals/requests/{request['id']}", headers=headers)).json()
        decided = await _decide(client, current, headers)
        assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"

    async def plan_approved() -> bool:
        detail = (await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
        return bool(detail["plan"]["status"] == "approved")

    await eventually(plan_approved)
    history = (
        await client.get(f"/approvals/requests/{request['id']}/history", headers=FINANCE)
    ).json()["items"]
    assert [h["action"] for h in history] == [
        "request.opened",
        "decision.approve",
        "decision.approve",
        "decision.approve",
        "request.approved",
    ]


async def test_a_strategy_adjustment_needs_marketing_sales_and_finance(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    plan_id = plan["plan"]["id"]
    objective = plan["objectives"][0]["id"]
    adjusted = await client.post(
        f"/planning/plans/{plan_id}/adjustments",
        json={
            "kind": "strategy",
            "reason": "KOC posts underperform",
            "strategies": [{"objective_id": objective, "core_strategy": "feed ads first"}],
        },
        headers=SPECIALIST,
    )
    assert adjusted.status_code == 201
    request = await _waiting(client, SALES, "adjustment")
    assert request["stages"][0]["mode"] == "all"
    for headers in (MANAGER, SALES):
        assert (await _decide(client, request, headers)).status_code == 200
    pending = (await client.get(f"/approvals/requests/{request['id']}", headers=SALES)).json()
    assert pending["status"] == "pending"  # two of three is not enough
    done = await _decide(client, request, FINANCE)
    assert done.json()["status"] == "approved"

    async def version_two() -> bool:
        detail = (await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
        return bool(detail["plan"]["version"] == 2)

    await eventually(version_two)
    detail = (await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
    assert detail["objectives"][0]["core_strategy"] == "feed ads first"


async def test_a_committee_rejection_ends_the_stage_at_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    objective = plan["objectives"][0]["id"]
    await client.post(
        f"/planning/plans/{plan['plan']['id']}/adjustments",
        json={
            "kind": "target_change",
            "reason": "market shrank",
            "targets": [{"objective_id": objective, "target_value": "150000"}],
        },
        headers=SPECIALIST,
    )
    request = await _waiting(client, SALES, "adjustment")
    refused = await _decide(client, request, SALES, "reject")
    assert refused.status_code == 422  # a rejection needs a reason
    rejected = await _decide(client, request, SALES, "reject", comment="targets are fine")
    assert rejected.json()["status"] == "rejected"
    late = await _decide(client, request, FINANCE)
    assert late.status_code == 409
    assert late.json()["rule"] == "open-request"
