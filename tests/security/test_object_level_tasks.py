"""OWASP API1:2023 Broken Object Level Authorization: a task's people.

A task's done/returned belongs to its R2 (approver_id) alone, whatever the caller's roles; its
other moves and its progress log to its R1, its R2 or a planner.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract.types import Role
from tests.conftest import bearer
from tests.security.conftest import Stack
from tests.security.two_plans import ADMIN, World, build_world, new_task


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    return await build_world(stack)


async def _submitted_task(stack: Stack, world: World, code: str) -> dict[str, Any]:
    http = stack.client
    task = await new_task(http, world.b["plan"]["id"], code)
    owner = bearer(Role.SPECIALIST, task["owner_id"])
    for to in ("in_progress", "submitted"):
        moved = await http.post(f"/tasks/tasks/{task['id']}/status", json={"to": to}, headers=owner)
        assert moved.status_code == 200, moved.text
    current: dict[str, Any] = (await http.get(f"/tasks/tasks/{task['id']}", headers=owner)).json()
    return current


NOT_THE_APPROVER = {
    "the-owner-R1": bearer(Role.SPECIALIST, "specialist-amy"),
    "another-supervisor": bearer(Role.SUPERVISOR, "supervisor-zhou"),
    "a-manager": bearer(Role.MANAGER, "manager-li"),
    "an-admin": bearer(Role.ADMIN, "admin-root"),
}


async def test_only_the_tasks_r2_decides_it(stack: Stack, world: World) -> None:
    http = stack.client
    task = await _submitted_task(stack, world, "B-R2")
    url = f"/tasks/tasks/{task['id']}/status"
    failures = []
    for decision in ({"to": "done"}, {"to": "returned", "reason": "redo"}):
        for who, headers in NOT_THE_APPROVER.items():
            got = await http.post(url, json=decision, headers=headers)
            if got.status_code != 403 or got.json().get("rule") != "r2-decides":
                failures.append(f"{decision['to']} by {who}: {got.status_code}")
    assert not failures, failures
    unchanged = (await http.get(f"/tasks/tasks/{task['id']}", headers=ADMIN)).json()
    assert unchanged == task
    r2 = bearer(Role.SUPERVISOR, task["approver_id"])
    assert (await http.post(url, json={"to": "done"}, headers=r2)).status_code == 200


OUTSIDERS = {
    role.value: bearer(role, f"outsider-{role.value}")
    for role in (Role.SALES, Role.FINANCE, Role.LEGAL, Role.TECH)
}


async def test_only_a_tasks_people_and_planners_move_it_or_log_on_it(
    stack: Stack, world: World
) -> None:
    http = stack.client
    task = await new_task(http, world.a["plan"]["id"], "P-OUT")
    status_url, log_url = f"/tasks/tasks/{task['id']}/status", f"/tasks/tasks/{task['id']}/progress"
    entry = {
        "logged_on": "2024-05-02",
        "progress": "venue booked",
        "completion": 30,
        "owner_id": "x",
    }
    failures = []
    for who, headers in OUTSIDERS.items():
        for url, body in ((status_url, {"to": "in_progress"}), (log_url, entry)):
            got = await http.post(url, json=body, headers=headers)
            if got.status_code != 403 or got.json().get("rule") != "task-participant":
                failures.append(f"{url.rsplit('/', 1)[-1]} by {who}: {got.status_code}")
    assert not failures, failures
    assert (await http.get(f"/tasks/tasks/{task['id']}", headers=ADMIN)).json() == task
    owner_in_sales = bearer(Role.SALES, task["owner_id"])  # the R1, whatever their role
    assert (await http.post(log_url, json=entry, headers=owner_in_sales)).status_code == 201
    started = await http.post(status_url, json={"to": "in_progress"}, headers=owner_in_sales)
    assert started.status_code == 200, started.text
