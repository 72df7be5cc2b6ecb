"""From diagnosis to an approved reallocation: metrics recommends, the client posts the
recommendation to planning as a draft adjustment, the committee approves it through approvals,
the budget lines move and the events flow as for a hand-made reallocation.

The story runs twice, on the embedded bus and on the suite's Kafka broker: issue 21 is done
when it holds over REST and through events on both."""

from __future__ import annotations

import uuid
from decimal import Decimal as D
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.contract.events.approvals import RequestKind
from shared.contract.types import Money, Role
from shared.kit.db import create_engine
from tests.approvals.test_requests import SUPERVISOR, _decide
from tests.conftest import bearer
from tests.e2e.plans import approved_plan
from tests.e2e.test_plan_approval_stories import _waiting
from tests.metrics.helpers import MANAGER, canonical, map_entities
from tests.metrics.test_internal_sources import USER_BACKEND, register_internal, send
from tests.planning.helpers import (
    SPECIALIST,
    approval,
    publish,
    recorded,
    seeded_plan,
)
from tests.polling import eventually

FINANCE = bearer(Role.FINANCE, "finance-zhao")
SALES = bearer(Role.SALES, "sales-chen")

# How long each step may wait for the events it needs. The embedded bus wakes its consumers on
# every publish; on Kafka some thirty consumer groups first join on a shared two-core machine.
EMBEDDED_PATIENCE = 10.0
KAFKA_PATIENCE = 60.0


def _week(
    entity: str, first_day: int, cost: int, new_users: int
) -> list[tuple[str, str, str, str]]:
    """A week of June from ``first_day``: its cost and new customers on its first day."""
    day = f"2024-06-{first_day:02d}"
    return [(entity, day, "cost", str(cost)), (entity, day, "new_users", str(new_users))]


async def _report(client: httpx.AsyncClient, plan: dict[str, Any]) -> None:
    """June 1–7 then June 8–14 (as of June 14, seven days): KOC's CAC 100 → 70 (strongest),
    feed's 80 → 100, the pop-up's 250 → 300 (weakest)."""
    ids = {c["name"]: c["id"] for c in plan["channels"]}
    source = (await register_internal(client))["id"]
    await map_entities(
        client,
        source,
        uuid.UUID(plan["plan"]["id"]),
        ("koc", uuid.UUID(ids["Xiaohongshu KOC"])),
        ("feed", uuid.UUID(ids["Douyin feed ads"])),
        ("popup", uuid.UUID(ids["Pop-up store"])),
    )
    rows = [
        *_week("koc", 1, 7000, 70),
        *_week("koc", 8, 7000, 100),
        *_week("feed", 1, 14000, 175),
        *_week("feed", 8, 14000, 140),
        *_week("popup", 1, 21000, 84),
        *_week("popup", 8, 21000, 70),
    ]
    sent = await send(client, source, canonical("2024-06-15T02:00:00Z", *rows), USER_BACKEND)
    assert sent.status_code == 200, sent.text


async def _recommendation(
    client: httpx.AsyncClient, plan_id: str, *, patience: float = EMBEDDED_PATIENCE
) -> dict[str, Any]:
    async def offered() -> dict[str, Any] | None:
        got = await client.get(
            f"/metrics/plans/{plan_id}/channels/recommendation",
            params={"as_of": "2024-06-14", "days": "7"},
            headers=MANAGER,
        )
        assert got.status_code in (200, 404), got.text
        body: dict[str, Any] = got.json()
        return body if got.status_code == 200 and body["offered"] else None

    return await eventually(offered, timeout=patience)


async def _approved_by_the_committee(
    client: httpx.AsyncClient, *, patience: float
) -> dict[str, Any]:
    """A seeded plan, submitted and passed by supervisor, manager and finance in turn.

    The request is the one approvals opened on hearing of the submission over the bus, and
    planning learns the outcome the same way: nothing is written into the bus by hand, so
    this works on Kafka as well as on the embedded log."""
    plan = await seeded_plan(client)
    plan_id = plan["plan"]["id"]
    submitted = await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert submitted.status_code == 200, submitted.text
    request = await _waiting(client, SUPERVISOR, "plan", timeout=patience)
    for headers in (SUPERVISOR, MANAGER, FINANCE):
        # Each stage has its own name: decide on the stage the request is at now.
        current = (await client.get(f"/approvals/requests/{request['id']}", headers=headers)).json()
        decided = await _decide(client, current, headers)
        assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"

    async def approved() -> dict[str, Any] | None:
        detail: dict[str, Any] = (
            await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
        ).json()
        return detail if detail["plan"]["status"] == "approved" else None

    return await eventually(approved, timeout=patience)


async def _diagnosis_to_reallocation(
    client: httpx.AsyncClient, database_url: str, *, patience: float
) -> None:
    """The whole story on whichever bus ``client``'s system runs; each wait lasts ``patience``."""
    plan = await _approved_by_the_committee(client, patience=patience)
    plan_id = plan["plan"]["id"]
    lines = {line["name"]: line for line in plan["budget"]}
    await _report(client, plan)
    recommendation = await _recommendation(client, plan_id, patience=patience)
    move = recommendation["move"]
    # The pop-up spent 42,000 of its 300,000: half of the 258,000 left moves to KOC, whose
    # recent CAC of 70 buys at most 129,000 / 70 = 1,842 more new customers.
    assert (move["from_channel"], move["to_channel"], D(move["amount"])) == (
        "Pop-up store",
        "Xiaohongshu KOC",
        D(129000),
    )
    assert (move["from_budget_line_id"], move["to_budget_line_id"]) == (
        lines["offline events"]["id"],
        lines["KOC fees"]["id"],
    )
    assert {k: D(v) for k, v in recommendation["expected"].items()} == {
        "extra_new_customers": D(1842),
        "forgone_new_customers": D(430),
        "net_new_customers": D(1412),
    }
    trends = {c["name"]: c for c in recommendation["channels"]}
    assert D(trends["Pop-up store"]["cac_change"]) == D("0.2")  # 250 → 300
    assert D(recommendation["reserve_share"]) == D("0.1071")  # 120,000 / 1,120,000

    drafted = await client.post(
        f"/planning/plans/{plan_id}/adjustments",
        json=recommendation["adjustment"],
        headers={**SPECIALIST, "Idempotency-Key": "diagnosis-2024-06-14"},
    )
    assert drafted.status_code == 201, drafted.text
    adjustment = drafted.json()
    assert (adjustment["status"], adjustment["kind"]) == ("requested", "budget_reallocation")
    assert adjustment["changes"]["diagnosis"]["move"] == move
    assert "Pop-up store" in adjustment["reason"]

    request = await _waiting(client, SALES, "adjustment", timeout=patience)
    for headers in (MANAGER, SALES, FINANCE):
        decided = await _decide(client, request, headers)
        assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"

    async def applied() -> dict[str, Any] | None:
        detail: dict[str, Any] = (
            await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
        ).json()
        return detail if detail["plan"]["version"] == 2 else None

    detail = await eventually(applied, timeout=patience)
    planned = {line["name"]: D(line["planned"]) for line in detail["budget"]}
    assert (planned["offline events"], planned["KOC fees"]) == (D(171000), D(249000))
    reallocated = await recorded(database_url, "planning.adjustment.budget_reallocated")
    assert [D(e["data"]["moves"][0]["amount"]["amount"]) for e in reallocated] == [D(129000)]
    requested = await recorded(database_url, "planning.adjustment.requested")
    assert D(requested[0]["data"]["amount"]["amount"]) == D(129000)
    assert len(await recorded(database_url, "planning.adjustment.applied")) == 1

    async def metrics_knows_version_two() -> bool:
        again = await _recommendation(client, plan_id, patience=patience)
        left = {c["name"]: D(c["remaining_budget"]) for c in again["channels"]}
        return left["Pop-up store"] == D(129000)  # 171,000 planned now, 42,000 spent

    await eventually(metrics_knows_version_two, timeout=patience)


async def _embedded_log_size(database_url: str) -> int:
    """How many records the embedded bus log holds."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM bus.records")) or 0)
    finally:
        await engine.dispose()


async def test_a_recommendation_becomes_a_draft_adjustment_the_committee_approves(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await _diagnosis_to_reallocation(client, database_url, patience=EMBEDDED_PATIENCE)


@pytest.mark.kafka
async def test_a_recommendation_becomes_a_draft_adjustment_the_committee_approves_on_kafka(
    kafka_client: httpx.AsyncClient, database_url: str
) -> None:
    await _diagnosis_to_reallocation(kafka_client, database_url, patience=KAFKA_PATIENCE)
    # Every hop between the services went over the broker: the embedded log holds nothing.
    assert await _embedded_log_size(database_url) == 0


async def test_planning_refuses_a_diagnosis_on_anything_but_a_reallocation(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    objective = plan["objectives"][0]["id"]
    refused = await client.post(
        f"/planning/plans/{plan['plan']['id']}/adjustments",
        json={
            "kind": "strategy",
            "reason": "feed ads first",
            "strategies": [{"objective_id": objective, "core_strategy": "feed ads first"}],
            "diagnosis": {"move": None},
        },
        headers=SPECIALIST,
    )
    assert refused.status_code == 422
    assert refused.json()["rule"] == "diagnosis-on-reallocation"


async def test_planning_refuses_a_recommendation_beyond_what_the_line_has_left(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan = await approved_plan(client, database_url)
    plan_id = plan["plan"]["id"]
    popup_line = next(line for line in plan["budget"] if line["name"] == "offline events")
    # Metrics sees 42,000 spent; planning knows 200,000 committed to venue contracts.
    expense = approval(
        RequestKind.EXPENSE,
        str(uuid.uuid4()),
        plan_id=plan_id,
        budget_line_id=uuid.UUID(popup_line["id"]),
        amount=Money(amount=D(200000)),
    )
    await publish(database_url, expense, plan_id)

    async def committed() -> bool:
        detail = (await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
        line = next(b for b in detail["budget"] if b["id"] == popup_line["id"])
        return D(line["committed"]) == D(200000)

    await eventually(committed)
    await _report(client, plan)
    recommendation = await _recommendation(client, plan_id)
    refused = await client.post(
        f"/planning/plans/{plan_id}/adjustments",
        json=recommendation["adjustment"],
        headers=SPECIALIST,
    )
    assert refused.status_code == 422, refused.text
    assert (refused.json()["rule"], refused.json()["field"]) == (
        "remaining-budget",
        "moves.0.amount",
    )
    assert "100000" in refused.json()["detail"]  # 300,000 planned − 200,000 committed
