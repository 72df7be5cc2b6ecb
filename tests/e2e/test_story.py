"""The demo's story as a test: all five services on a live loopback server, jobs running,
asserting what each service shows at the end and the plan's events on the bus in order."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import text

from demo.__main__ import Receiver, play, serving
from shared.contract.types import Role
from shared.kit.db import create_engine
from tests.conftest import bearer
from tests.e2e.conftest import free_port
from tests.polling import eventually


async def test_the_seed_campaign_runs_through_all_five_services(
    live: str, database_url: str
) -> None:
    receiver = Receiver()
    receiver_port = free_port()
    with serving(receiver, receiver_port):
        outcome = await play(live, f"http://127.0.0.1:{receiver_port}/hook", receiver)
    plan_id = outcome["plan_id"]
    async with httpx.AsyncClient(base_url=live) as http:
        reader = bearer(Role.MANAGER)
        plan = (await http.get(f"/planning/plans/{plan_id}", headers=reader)).json()
        assert (plan["plan"]["status"], plan["plan"]["version"]) == ("completed", 2)
        assert plan["retrospective"][0]["root_cause"] == "mall's historical footfall not used"
        alert = (await http.get(f"/alerts/alerts/{outcome['alert_id']}", headers=reader)).json()
        assert alert["state"] == "resolved"
        assert alert["follow_up_task_id"] == outcome["task"]["id"]

        async def marked_for_closing() -> str | None:
            task = await http.get(f"/tasks/tasks/{alert['follow_up_task_id']}", headers=reader)
            marked: str | None = task.json()["closing_suggested_at"]
            return marked

        assert await eventually(marked_for_closing)
        requests = (
            await http.get("/approvals/requests", params={"plan_id": plan_id}, headers=reader)
        ).json()
        assert sorted((r["kind"], r["status"]) for r in requests["items"]) == [
            ("adjustment", "approved"),
            ("plan", "approved"),
        ]
    assert [n["kind"] for n in receiver.received] == ["firing", "resolved"]
    assert outcome["task"]["alert_id"] == outcome["alert_id"]
    achievements = [r["achievement"] for r in outcome["evaluation"]["rows"]]
    assert achievements == ["90%", "150%", "124%", "130%"]

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        values = (
            (
                await conn.execute(
                    text(
                        "SELECT value FROM bus.records WHERE topic = :t AND key = :k "
                        'ORDER BY "offset"'
                    ),
                    {"t": "planning.plan", "k": plan_id},
                )
            )
            .scalars()
            .all()
        )
    await engine.dispose()
    types = [json.loads(v)["type"].removeprefix("planning.plan.") for v in values]
    lifecycle = [
        t for t in types if t in {"created", "submitted", "approved", "activated", "completed"}
    ]
    assert lifecycle == ["created", "submitted", "approved", "activated", "completed"]
    assert types.count("targets_set") == 2  # at approval and after the reallocation
