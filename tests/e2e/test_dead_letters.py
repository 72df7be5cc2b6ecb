"""Operators see parked events over REST and can replay them."""

from __future__ import annotations

import json
import uuid

import httpx

from shared.contract.types import Role
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.transport import Message
from shared.kit.db import create_engine
from tests.conftest import bearer
from tests.polling import eventually


async def test_a_poison_event_is_listed_and_replay_reports_it_still_fails(
    client: httpx.AsyncClient, database_url: str
) -> None:
    plan_id = str(uuid.uuid4())
    poison = {
        "id": str(uuid.uuid4()),
        "type": "planning.plan.created",
        "version": 1,
        "source": "planning",
        "subject": plan_id,
        "time": "2024-05-01T00:00:00Z",
        "data": {"plan_id": plan_id, "name": "no dates"},  # required fields missing
    }
    engine = create_engine(database_url)  # another process's view of the same bus log
    await (
        EmbeddedTransport(engine)
        .publisher()
        .publish([Message("planning.plan", plan_id, json.dumps(poison).encode())])
    )
    await engine.dispose()

    ops = bearer(Role.TECH)

    async def listed() -> list[dict[str, object]] | None:
        page = (await client.get("/tasks/dead-letters", headers=ops)).json()
        return page["items"] or None

    [parked] = await eventually(listed)
    assert parked["subject"] == plan_id
    assert parked["consumer"] == "tasks.on_plan_created"
    assert "starts_on" in str(parked["error"])

    replayed = await client.post(f"/tasks/dead-letters/{parked['id']}/replay", headers=ops)
    assert replayed.status_code == 200
    assert replayed.json() == {"outcomes": {str(parked["id"]): "failed"}}
    still = (await client.get("/tasks/dead-letters", headers=ops)).json()["items"]
    assert [item["id"] for item in still] == [parked["id"]]
    assert (await client.get(f"/tasks/plans/{plan_id}", headers=ops)).status_code == 404

    missing = await client.post("/tasks/dead-letters/999999/replay", headers=ops)
    assert missing.status_code == 404
