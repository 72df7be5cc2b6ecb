"""A plan approved the way the running system approves it: submitted over HTTP, then approvals'
outcome event put on the bus, and planning's consumer given the time to apply it."""

from __future__ import annotations

from typing import Any

import httpx

from shared.contract.events.approvals import RequestKind
from tests.planning.helpers import SPECIALIST, approval, publish, seeded_plan
from tests.polling import eventually


async def approved_plan(client: httpx.AsyncClient, database_url: str) -> dict[str, Any]:
    """A seeded plan taken through submission and an approval outcome event."""
    plan = await seeded_plan(client)
    plan_id = plan["plan"]["id"]
    submitted = await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert submitted.status_code == 200, submitted.text
    await publish(database_url, approval(RequestKind.PLAN, plan_id), plan_id)

    async def approved() -> dict[str, Any] | None:
        detail: dict[str, Any] = (
            await client.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
        ).json()
        return detail if detail["plan"]["status"] == "approved" else None

    return await eventually(approved)
