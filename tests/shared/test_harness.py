"""The test harness itself: a factory builds what the API would, a redelivery is applied once."""

from __future__ import annotations

import httpx

from shared.contract.types import Role
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.harness.delivery import deliver, service_runtime
from tests.harness.factories.planning import seeded_plan
from tests.shared.bus_fixtures import plan_event


async def test_a_plan_built_by_the_factory_reads_back_as_one_entered_through_the_api(
    planning_client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    async with service_runtime("planning", settings, database_url) as planning:
        built = await seeded_plan(planning.sessions, name="factory plan")

    shown = await planning_client.get(
        f"/planning/plans/{built.plan.id}", headers=bearer(Role.SPECIALIST)
    )
    assert shown.status_code == 200, shown.text
    detail = shown.json()
    assert detail["plan"]["name"] == "factory plan"
    assert detail["plan"]["owner_id"] == "manager-li"  # named by the seed, not the creator
    assert detail["plan"]["status"] == "draft"
    # The same figures tests/planning/test_api.py reads after seeding through HTTP:
    # 120,000 + 380,000 + 300,000 + 200,000 = 1,120,000; reserve 120,000 / 1,120,000 = 0.1071.
    assert detail["total_budget"] == "1120000.00"
    assert detail["reserve_share"] == "0.1071"
    assert [r["level"] for r in detail["risks"]] == ["medium", "high"]


async def test_one_envelope_delivered_twice_is_applied_once(
    tasks_client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    event = plan_event("plan-a", 1)
    async with service_runtime("tasks", settings, database_url) as tasks:
        outcomes = await deliver(tasks, event, str(event.plan_id))

    assert outcomes == ["applied", "duplicate"]
    seen = await tasks_client.get(f"/tasks/plans/{event.plan_id}", headers=bearer(Role.SUPERVISOR))
    assert seen.status_code == 200, seen.text
    assert seen.json()["name"] == "plan-a#1"
