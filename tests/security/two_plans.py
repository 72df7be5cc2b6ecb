"""Two plans for the object-level tests (OWASP API1): plan A approved, plan B a draft, each
with rows, tasks and a progress entry, so a request can name a parent of one and a child of the
other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from shared.contract.types import Role
from tests.conftest import bearer
from tests.e2e.plans import approved_plan
from tests.planning.helpers import SPECIALIST, seeded_plan
from tests.polling import eventually
from tests.security.conftest import Stack

ADMIN = bearer(Role.ADMIN, "admin-root")
PARTNER = {
    "name": "KOC agency",
    "kind": "vendor",
    "qualification": 4,
    "reputation": 4,
    "capacity": 3,
    "service_quality": 4,
}


@dataclass
class World:
    """Plan A (approved) and plan B (draft), each with rows, tasks and a progress entry."""

    a: dict[str, Any]
    b: dict[str, Any]
    task_a: dict[str, Any]
    task_b: dict[str, Any]
    entry_b: str


async def new_task(http: httpx.AsyncClient, plan_id: str, code: str) -> dict[str, Any]:
    async def known() -> bool:
        return (await http.get(f"/tasks/plans/{plan_id}", headers=SPECIALIST)).status_code == 200

    await eventually(known)
    body = {
        "code": code,
        "name": f"task {code}",
        "owner_id": "specialist-amy",
        "approver_id": "supervisor-wang",
        "starts_on": "2024-05-01",
        "ends_on": "2024-05-10",
    }
    made = await http.post(f"/tasks/plans/{plan_id}/tasks", json=body, headers=SPECIALIST)
    assert made.status_code == 201, made.text
    task: dict[str, Any] = made.json()
    return task


async def build_world(stack: Stack) -> World:
    """Both plans with their rows and tasks, once metrics knows plan A."""
    http = stack.client
    a = await approved_plan(http, stack.database_url)
    b = await seeded_plan(http)
    put = await http.put(
        f"/planning/plans/{b['plan']['id']}/partners",
        json=[PARTNER],
        headers={**SPECIALIST, "If-Match": f'"{b["plan"]["revision"]}"'},
    )
    assert put.status_code == 200, put.text
    b = put.json()
    task_a = await new_task(http, a["plan"]["id"], "A-001")
    task_b = await new_task(http, b["plan"]["id"], "B-001")
    logged = await http.post(
        f"/tasks/tasks/{task_b['id']}/progress",
        json={"logged_on": "2024-05-02", "progress": "p", "completion": 5, "owner_id": "amy"},
        headers=SPECIALIST,
    )
    assert logged.status_code == 201, logged.text

    async def metrics_knows_a() -> bool:
        url = f"/metrics/plans/{a['plan']['id']}/evaluation"
        return (await http.get(url, headers=SPECIALIST)).status_code == 200

    await eventually(metrics_knows_a)
    return World(a, b, task_a, task_b, logged.json()["id"])


async def snapshot(http: httpx.AsyncClient, world: World) -> Any:
    """Everything of plan B and task B that a cross-object request could touch."""
    b = world.b["plan"]["id"]
    tb = world.task_b["id"]
    reads = [
        f"/planning/plans/{b}",
        f"/tasks/tasks/{tb}",
        f"/tasks/tasks/{tb}/progress",
        f"/tasks/tasks/{tb}/history",
    ]
    return [(await http.get(url, headers=ADMIN)).json() for url in reads]
