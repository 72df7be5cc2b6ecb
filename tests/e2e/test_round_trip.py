"""The foundation's proof of pattern: planning creates a plan, tasks learns it from the event."""

from __future__ import annotations

import httpx

from shared.contract.types import Role
from tests.conftest import bearer
from tests.polling import eventually

PLAN = {
    "name": "618 KOC seeding",
    "product": "serum",
    "starts_on": "2024-05-01",
    "ends_on": "2024-06-30",
}


async def test_a_created_plan_reaches_the_tasks_projection(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/planning/plans", json=PLAN, headers=bearer(Role.SPECIALIST, "amy")
    )
    assert created.status_code == 201, created.text
    plan = created.json()["plan"]
    assert plan["status"] == "draft"
    assert plan["owner_id"] == "amy"

    async def known() -> httpx.Response | None:
        response = await client.get(f"/tasks/plans/{plan['id']}", headers=bearer(Role.SUPERVISOR))
        return response if response.status_code == 200 else None

    seen = (await eventually(known)).json()
    assert seen["name"] == "618 KOC seeding"
    assert seen["starts_on"] == "2024-05-01"
    assert seen["owner_id"] == "amy"


async def test_a_plan_that_failed_validation_never_reaches_tasks(client: httpx.AsyncClient) -> None:
    bad = {**PLAN, "ends_on": "2024-04-01"}
    refused = await client.post("/planning/plans", json=bad, headers=bearer(Role.SPECIALIST))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["ends_on"]
    listed = await client.get("/planning/plans", headers=bearer(Role.SPECIALIST))
    assert listed.json()["items"] == []
