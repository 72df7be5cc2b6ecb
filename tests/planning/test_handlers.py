"""Planning reacts to other services' events exactly once: approvals, expenses, spend, KPIs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from shared.contract.events.approvals import RequestKind
from shared.contract.events.metrics import KpiSnapshotV1, ObjectiveAchievement, SpendRecordedV1
from shared.contract.types import Money
from tests.planning import seed
from tests.planning.helpers import (
    SPECIALIST,
    approval,
    approved_plan,
    publish,
    recorded,
    seeded_plan,
)
from tests.polling import eventually


async def _plan(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = (
        await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
    ).json()
    return detail


async def test_an_approval_delivered_twice_approves_once_and_publishes_the_targets(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await seeded_plan(client)
    plan_id = plan["plan"]["id"]
    await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    (submitted,) = await recorded(database_url, "planning.plan.submitted")
    assert submitted["data"]["total_budget"] == {"amount": "1120000.00", "currency": "CNY"}

    await publish(database_url, approval(RequestKind.PLAN, plan_id), plan_id, times=2)

    async def approved() -> dict[str, Any] | None:
        detail = await _plan(client, plan_id)
        return detail if detail["plan"]["status"] == "approved" else None

    await eventually(approved)
    versions = (await client.get(f"/planning/plans/{plan_id}/versions", headers=SPECIALIST)).json()[
        "items"
    ]
    assert [v["version"] for v in versions] == [1]
    assert len(await recorded(database_url, "planning.plan.approved")) == 1
    (targets,) = await recorded(database_url, "planning.plan.targets_set")
    metrics = [o["metric"] for o in targets["data"]["objectives"]]
    assert metrics == ["registrations", "brand_search_index", "gmv"]
    koc = targets["data"]["channels"][0]
    assert koc["planned_budget"] == {"amount": "120000.00", "currency": "CNY"}


async def test_a_rejection_makes_the_plan_editable_again(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await seeded_plan(client)
    plan_id = plan["plan"]["id"]
    await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    await publish(database_url, approval(RequestKind.PLAN, plan_id, approved=False), plan_id)

    async def rejected() -> dict[str, Any] | None:
        detail = await _plan(client, plan_id)
        return detail if detail["plan"]["status"] == "rejected" else None

    detail = await eventually(rejected)
    edited = await client.patch(
        f"/planning/plans/{plan_id}",
        json={"contingency_reserve": "150000.00"},
        headers={**SPECIALIST, "If-Match": f'"{detail["plan"]["revision"]}"'},
    )
    assert edited.status_code == 200
    again = await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert again.json()["plan"]["status"] == "submitted"


async def test_a_reallocation_approved_by_the_committee_becomes_version_two(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    plan_id = plan["plan"]["id"]
    lines = {line["name"]: line["id"] for line in plan["budget"]}
    await client.post(f"/planning/plans/{plan_id}/activate", headers=SPECIALIST)
    requested = await client.post(
        f"/planning/plans/{plan_id}/adjustments",
        json={
            "kind": "budget_reallocation",
            "reason": "pop-up converts poorly; feed ads convert well",
            "moves": [
                {
                    "from_budget_line_id": lines["offline events"],
                    "to_budget_line_id": lines["feed ads"],
                    "amount": "100000.00",
                }
            ],
        },
        headers=SPECIALIST,
    )
    assert requested.status_code == 201, requested.text
    adjustment = requested.json()
    location = f"/planning/plans/{plan_id}/adjustments/{adjustment['id']}"
    assert requested.headers["location"] == location
    shown = await client.get(location, headers=SPECIALIST)
    assert (shown.status_code, shown.json()) == (200, adjustment)
    listed = await client.get(f"/planning/plans/{plan_id}/adjustments", headers=SPECIALIST)
    assert listed.json() == {"items": [adjustment], "next_cursor": None}
    (event,) = await recorded(database_url, "planning.adjustment.requested")
    assert event["data"]["amount"] == {"amount": "100000.00", "currency": "CNY"}

    decision = approval(RequestKind.ADJUSTMENT, adjustment["id"], plan_id=plan_id)
    await publish(database_url, decision, plan_id, times=2)

    async def version_two() -> dict[str, Any] | None:
        detail = await _plan(client, plan_id)
        return detail if detail["plan"]["version"] == 2 else None

    detail = await eventually(version_two)
    planned = {line["name"]: Decimal(line["planned"]) for line in detail["budget"]}
    assert planned["offline events"] == Decimal("200000")
    assert planned["feed ads"] == Decimal("480000")
    assert detail["plan"]["status"] == "active"
    changes = (
        await client.get(f"/planning/plans/{plan_id}/versions/2/changes", headers=SPECIALIST)
    ).json()["changes"]
    changed = {c["path"]: (c["before"], c["after"]) for c in changes}
    assert changed[f"budget[{lines['feed ads']}].planned"] == ("380000.00", "480000.00")
    assert changed[f"budget[{lines['offline events']}].planned"] == ("300000.00", "200000.00")
    assert len(await recorded(database_url, "planning.adjustment.budget_reallocated")) == 1
    assert len(await recorded(database_url, "planning.plan.targets_set")) == 2


async def test_a_draft_cannot_be_adjusted_and_a_move_needs_the_money(
    client: httpx.AsyncClient, database_url: str
) -> None:
    draft = await seeded_plan(client)
    body = {"kind": "strategy", "reason": "x", "strategies": []}
    refused = await client.post(
        f"/planning/plans/{draft['plan']['id']}/adjustments", json=body, headers=SPECIALIST
    )
    assert refused.status_code == 409
    plan = await approved_plan(client, database_url)
    lines = {line["name"]: line["id"] for line in plan["budget"]}
    too_much = await client.post(
        f"/planning/plans/{plan['plan']['id']}/adjustments",
        json={
            "kind": "budget_reallocation",
            "reason": "x",
            "moves": [
                {
                    "from_budget_line_id": lines["KOC fees"],
                    "to_budget_line_id": lines["feed ads"],
                    "amount": "999999.00",
                }
            ],
        },
        headers=SPECIALIST,
    )
    assert too_much.status_code == 422
    assert too_much.json()["rule"] == "enough-budget"


async def test_expenses_spend_and_kpis_show_on_the_plan_once_each(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    plan_id = plan["plan"]["id"]
    koc_line = plan["budget"][0]
    expense = approval(
        RequestKind.EXPENSE,
        str(uuid.uuid4()),
        plan_id=plan_id,
        budget_line_id=uuid.UUID(koc_line["id"]),
        amount=Money(amount=Decimal("45000.00")),
    )
    await publish(database_url, expense, plan_id, times=2)
    spend = SpendRecordedV1(
        plan_id=uuid.UUID(plan_id),
        channel_id=uuid.UUID(koc_line["channel_id"]),
        through_day=date(2024, 6, 7),
        spend_to_date=Money(amount=Decimal("38000.50")),
    )
    await publish(database_url, spend, plan_id)
    registrations = plan["objectives"][0]
    snapshot = KpiSnapshotV1(
        plan_id=uuid.UUID(plan_id),
        plan_version=1,
        as_of=datetime(2024, 6, 7, 9, 0, tzinfo=UTC),
        objectives=[
            ObjectiveAchievement(
                objective_id=uuid.UUID(registrations["id"]),
                metric="registrations",
                target=Decimal(200000),
                actual=Decimal(180000),
                achievement=Decimal("0.9"),
            )
        ],
    )
    await publish(database_url, snapshot, plan_id, times=2)

    async def shown() -> dict[str, Any] | None:
        detail = await _plan(client, plan_id)
        line, objective = detail["budget"][0], detail["objectives"][0]
        done = line["actual"] != "0.00" and objective["achievement"] and line["committed"] != "0.00"
        return detail if done else None

    detail = await eventually(shown)
    assert detail["budget"][0]["committed"] == "45000.00"
    assert detail["budget"][0]["actual"] == "38000.50"
    assert detail["objectives"][0]["actual_value"] == "180000"
    assert detail["objectives"][0]["achievement"] == "0.9"


async def test_a_forecast_above_plan_raises_one_overspend_event(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    line = plan["budget"][1]
    url = f"/planning/plans/{plan['plan']['id']}/budget/{line['id']}"
    for forecast in ("400000.00", "410000.00"):
        response = await client.patch(url, json={"forecast": forecast}, headers=SPECIALIST)
        assert response.status_code == 200, response.text
    (overspent,) = await recorded(database_url, "planning.plan.budget_line_overspent")
    assert overspent["data"]["planned"]["amount"] == "380000.00"
    assert overspent["data"]["forecast"]["amount"] == "400000.00"


async def test_a_completed_plan_files_a_retrospective_found_by_search(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    plan_id = plan["plan"]["id"]
    early = await client.put(
        f"/planning/plans/{plan_id}/retrospective", json=seed.RETROSPECTIVE, headers=SPECIALIST
    )
    assert early.status_code == 409
    for step in ("activate", "complete"):
        moved = await client.post(f"/planning/plans/{plan_id}/{step}", headers=SPECIALIST)
        assert moved.status_code == 200, moved.text
    filed = await client.put(
        f"/planning/plans/{plan_id}/retrospective", json=seed.RETROSPECTIVE, headers=SPECIALIST
    )
    assert filed.status_code == 200, filed.text
    row = filed.json()["retrospective"][0]
    assert {k: row[k] for k in seed.RETROSPECTIVE[0]} == seed.RETROSPECTIVE[0]
    found = await client.get(
        "/planning/retrospectives", params={"q": "FOOTFALL"}, headers=SPECIALIST
    )
    assert [r["plan_id"] for r in found.json()["items"]] == [plan_id]
    missing = await client.get(
        "/planning/retrospectives", params={"q": "drone"}, headers=SPECIALIST
    )
    assert missing.json()["items"] == []
