"""Planning reacts to other services' events exactly once: approvals, expenses, spend, KPIs.

The planning service runs alone: plans are built by tests/harness/factories/planning.py and each
event is handed to planning's inbox as its consumer would (twice where a redelivery is the point).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.envelope import EventPayload
from shared.contract.events.approvals import RequestKind
from shared.contract.events.metrics import KpiSnapshotV1, ObjectiveAchievement, SpendRecordedV1
from shared.contract.types import Money
from shared.kit.settings import Settings
from tests.harness.delivery import deliver, service_runtime
from tests.harness.factories import planning as factories
from tests.planning import seed
from tests.planning.helpers import SPECIALIST, approval, as_json, recorded

Sessions = async_sessionmaker[AsyncSession]


async def _plan(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = (
        await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
    ).json()
    return detail


async def _deliver(
    settings: Settings, database_url: str, payload: EventPayload, plan_id: str, *, times: int
) -> list[str]:
    """Hand one envelope of another service's event to planning's inbox ``times`` times."""
    async with service_runtime("planning", settings, database_url) as planning:
        return await deliver(planning, payload, plan_id, times=times)


async def test_an_approval_delivered_twice_approves_once_and_publishes_the_targets(
    planning_client: httpx.AsyncClient, settings: Settings, database_url: str, sessions: Sessions
) -> None:
    plan = as_json(await factories.seeded_plan(sessions))
    plan_id = plan["plan"]["id"]
    await planning_client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    (submitted,) = await recorded(database_url, "planning.plan.submitted")
    assert submitted["data"]["total_budget"] == {"amount": "1120000.00", "currency": "CNY"}

    outcome = approval(RequestKind.PLAN, plan_id)
    assert await _deliver(settings, database_url, outcome, plan_id, times=2) == [
        "applied",
        "duplicate",
    ]

    assert (await _plan(planning_client, plan_id))["plan"]["status"] == "approved"
    versions = (
        await planning_client.get(f"/planning/plans/{plan_id}/versions", headers=SPECIALIST)
    ).json()["items"]
    assert [v["version"] for v in versions] == [1]
    assert len(await recorded(database_url, "planning.plan.approved")) == 1
    (targets,) = await recorded(database_url, "planning.plan.targets_set")
    metrics = [o["metric"] for o in targets["data"]["objectives"]]
    assert metrics == ["registrations", "brand_search_index", "gmv"]
    koc = targets["data"]["channels"][0]
    assert koc["planned_budget"] == {"amount": "120000.00", "currency": "CNY"}


async def test_a_rejection_makes_the_plan_editable_again(
    planning_client: httpx.AsyncClient, settings: Settings, database_url: str, sessions: Sessions
) -> None:
    plan = as_json(await factories.seeded_plan(sessions))
    plan_id = plan["plan"]["id"]
    await factories.submit(sessions, uuid.UUID(plan_id))
    rejection = approval(RequestKind.PLAN, plan_id, approved=False)
    assert await _deliver(settings, database_url, rejection, plan_id, times=1) == ["applied"]

    detail = await _plan(planning_client, plan_id)
    assert detail["plan"]["status"] == "rejected"
    edited = await planning_client.patch(
        f"/planning/plans/{plan_id}",
        json={"contingency_reserve": "150000.00"},
        headers={**SPECIALIST, "If-Match": f'"{detail["plan"]["revision"]}"'},
    )
    assert edited.status_code == 200
    again = await planning_client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert again.json()["plan"]["status"] == "submitted"


async def test_a_reallocation_approved_by_the_committee_becomes_version_two(
    planning_client: httpx.AsyncClient, settings: Settings, database_url: str, sessions: Sessions
) -> None:
    plan = as_json(await factories.approved_plan(sessions))
    plan_id = plan["plan"]["id"]
    lines = {line["name"]: line["id"] for line in plan["budget"]}
    await planning_client.post(f"/planning/plans/{plan_id}/activate", headers=SPECIALIST)
    requested = await planning_client.post(
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
    shown = await planning_client.get(location, headers=SPECIALIST)
    assert (shown.status_code, shown.json()) == (200, adjustment)
    listed = await planning_client.get(f"/planning/plans/{plan_id}/adjustments", headers=SPECIALIST)
    assert listed.json() == {"items": [adjustment], "next_cursor": None}
    (event,) = await recorded(database_url, "planning.adjustment.requested")
    assert event["data"]["amount"] == {"amount": "100000.00", "currency": "CNY"}

    decision = approval(RequestKind.ADJUSTMENT, adjustment["id"], plan_id=plan_id)
    assert await _deliver(settings, database_url, decision, plan_id, times=2) == [
        "applied",
        "duplicate",
    ]

    detail = await _plan(planning_client, plan_id)
    assert detail["plan"]["version"] == 2
    planned = {line["name"]: Decimal(line["planned"]) for line in detail["budget"]}
    assert planned["offline events"] == Decimal("200000")
    assert planned["feed ads"] == Decimal("480000")
    assert detail["plan"]["status"] == "active"
    changes = (
        await planning_client.get(
            f"/planning/plans/{plan_id}/versions/2/changes", headers=SPECIALIST
        )
    ).json()["changes"]
    changed = {c["path"]: (c["before"], c["after"]) for c in changes}
    assert changed[f"budget[{lines['feed ads']}].planned"] == ("380000.00", "480000.00")
    assert changed[f"budget[{lines['offline events']}].planned"] == ("300000.00", "200000.00")
    assert len(await recorded(database_url, "planning.adjustment.budget_reallocated")) == 1
    assert len(await recorded(database_url, "planning.plan.targets_set")) == 2


async def test_a_draft_cannot_be_adjusted_and_a_move_needs_the_money(
    planning_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    draft = as_json(await factories.seeded_plan(sessions))
    body = {"kind": "strategy", "reason": "x", "strategies": []}
    refused = await planning_client.post(
        f"/planning/plans/{draft['plan']['id']}/adjustments", json=body, headers=SPECIALIST
    )
    assert refused.status_code == 409
    plan = as_json(await factories.approved_plan(sessions))
    lines = {line["name"]: line["id"] for line in plan["budget"]}
    too_much = await planning_client.post(
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
    planning_client: httpx.AsyncClient, settings: Settings, database_url: str, sessions: Sessions
) -> None:
    plan = as_json(await factories.approved_plan(sessions))
    plan_id = plan["plan"]["id"]
    koc_line = plan["budget"][0]
    expense = approval(
        RequestKind.EXPENSE,
        str(uuid.uuid4()),
        plan_id=plan_id,
        budget_line_id=uuid.UUID(koc_line["id"]),
        amount=Money(amount=Decimal("45000.00")),
    )
    assert await _deliver(settings, database_url, expense, plan_id, times=2) == [
        "applied",
        "duplicate",
    ]
    spend = SpendRecordedV1(
        plan_id=uuid.UUID(plan_id),
        channel_id=uuid.UUID(koc_line["channel_id"]),
        through_day=date(2024, 6, 7),
        spend_to_date=Money(amount=Decimal("38000.50")),
    )
    assert await _deliver(settings, database_url, spend, plan_id, times=1) == ["applied"]
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
    assert await _deliver(settings, database_url, snapshot, plan_id, times=2) == [
        "applied",
        "duplicate",
    ]

    detail = await _plan(planning_client, plan_id)
    assert detail["budget"][0]["committed"] == "45000.00"
    assert detail["budget"][0]["actual"] == "38000.50"
    assert detail["objectives"][0]["actual_value"] == "180000"
    assert detail["objectives"][0]["achievement"] == "0.9"


async def test_a_forecast_above_plan_raises_one_overspend_event(
    planning_client: httpx.AsyncClient, database_url: str, sessions: Sessions
) -> None:
    plan = as_json(await factories.approved_plan(sessions))
    line = plan["budget"][1]
    url = f"/planning/plans/{plan['plan']['id']}/budget/{line['id']}"
    for forecast in ("400000.00", "410000.00"):
        response = await planning_client.patch(url, json={"forecast": forecast}, headers=SPECIALIST)
        assert response.status_code == 200, response.text
    (overspent,) = await recorded(database_url, "planning.plan.budget_line_overspent")
    assert overspent["data"]["planned"]["amount"] == "380000.00"
    assert overspent["data"]["forecast"]["amount"] == "400000.00"


async def test_a_completed_plan_files_a_retrospective_found_by_search(
    planning_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan = as_json(await factories.approved_plan(sessions))
    plan_id = plan["plan"]["id"]
    early = await planning_client.put(
        f"/planning/plans/{plan_id}/retrospective", json=seed.RETROSPECTIVE, headers=SPECIALIST
    )
    assert early.status_code == 409
    for step in ("activate", "complete"):
        moved = await planning_client.post(f"/planning/plans/{plan_id}/{step}", headers=SPECIALIST)
        assert moved.status_code == 200, moved.text
    filed = await planning_client.put(
        f"/planning/plans/{plan_id}/retrospective", json=seed.RETROSPECTIVE, headers=SPECIALIST
    )
    assert filed.status_code == 200, filed.text
    row = filed.json()["retrospective"][0]
    assert {k: row[k] for k in seed.RETROSPECTIVE[0]} == seed.RETROSPECTIVE[0]
    found = await planning_client.get(
        "/planning/retrospectives", params={"q": "FOOTFALL"}, headers=SPECIALIST
    )
    assert [r["plan_id"] for r in found.json()["items"]] == [plan_id]
    missing = await planning_client.get(
        "/planning/retrospectives", params={"q": "drone"}, headers=SPECIALIST
    )
    assert missing.json()["items"] == []
