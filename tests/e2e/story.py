"""What the seed story leaves in each service, checked the same way whatever shape ran it."""

from __future__ import annotations

from typing import Any

import httpx

from demo.harness import Receiver
from shared.contract.types import Role
from tests.conftest import bearer
from tests.polling import eventually

LIFECYCLE = ["created", "submitted", "approved", "activated", "completed"]


async def assert_story_end_state(base: str, outcome: dict[str, Any], receiver: Receiver) -> None:
    """Each service's end state after ``demo.play`` returned ``outcome``, read over REST."""
    plan_id = outcome["plan_id"]
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
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

        assert await eventually(marked_for_closing, timeout=30)
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


def assert_plan_lifecycle(event_types: list[str]) -> None:
    """The plan's events as its topic holds them, in order: the lifecycle and two target sets."""
    types = [t.removeprefix("planning.plan.") for t in event_types]
    assert [t for t in types if t in set(LIFECYCLE)] == LIFECYCLE
    assert types.count("targets_set") == 2  # at approval and after the reallocation
