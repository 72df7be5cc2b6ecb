"""Every POST that creates something honours Idempotency-Key the way creating a plan does.

A retry with the same key and body gets the first answer and creates nothing more; the same key
with another body is 422 ``idempotency-key-reused``; another caller's same key is their own.
(409 while the first is in flight is the kit's, shown in tests/shared/test_idempotency.py.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning.helpers import SPECIALIST, seeded_plan
from tests.polling import eventually
from tests.security.conftest import Stack


@dataclass(frozen=True)
class Create:
    """One creating route: a body, another body, who calls it and where its rows land."""

    path: str
    body: dict[str, Any]
    other: dict[str, Any]
    role: Role
    table: str


SILENCE = {
    "matchers": {"plan_id": "idem"},
    "starts_at": "2024-05-01T00:00:00Z",
    "ends_at": "2024-05-02T00:00:00Z",
    "comment": "maintenance",
}
TASK = {
    "code": "IDEM-1",
    "name": "book the venue",
    "owner_id": "specialist-amy",
    "approver_id": "supervisor-wang",
    "starts_on": "2024-05-01",
    "ends_on": "2024-05-10",
}
CASES = {
    "approvals-request": Create(
        "/approvals/requests",
        {"kind": "expense", "title": "posters", "amount": "1000.00", "cost_type": "other"},
        {"kind": "expense", "title": "posters", "amount": "2000.00", "cost_type": "other"},
        Role.SPECIALIST,
        "approvals.requests",
    ),
    "task": Create(
        "/tasks/plans/{plan_id}/tasks",
        TASK,
        {**TASK, "code": "IDEM-2", "name": "book another venue"},
        Role.SPECIALIST,
        "tasks.tasks",
    ),
    "alert-rule": Create(
        "/alerts/rules",
        {"name": "CTR floor", "kind": "threshold", "metric": "ctr", "threshold": "2"},
        {"name": "CTR floor", "kind": "threshold", "metric": "ctr", "threshold": "3"},
        Role.SUPERVISOR,
        "alerts.rules",
    ),
    "silence": Create(
        "/alerts/silences",
        SILENCE,
        {**SILENCE, "comment": "another maintenance"},
        Role.TECH,
        "alerts.silences",
    ),
    "metrics-source": Create(
        "/metrics/sources",
        {"name": "Meta account", "platform": "meta", "account_id": "act_1"},
        {"name": "Meta account", "platform": "meta", "account_id": "act_2"},
        Role.TECH,
        "metrics.sources",
    ),
}


@pytest.fixture(scope="module")
async def plan_id(stack: Stack) -> str:
    """A plan the tasks service knows (from planning's events)."""
    plan = await seeded_plan(stack.client)
    known: str = plan["plan"]["id"]

    async def tasks_knows_it() -> bool:
        got = await stack.client.get(f"/tasks/plans/{known}", headers=SPECIALIST)
        return got.status_code == 200

    await eventually(tasks_knows_it)
    return known


async def _rows(stack: Stack, table: str) -> int:
    url = make_url(stack.database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        count: int = await connection.fetchval(f"SELECT count(*) FROM {table}")
        return count
    finally:
        await connection.close()


@pytest.mark.parametrize("name", list(CASES))
async def test_a_create_is_done_once_per_key_and_body(
    stack: Stack, plan_id: str, name: str
) -> None:
    case = CASES[name]
    http, path = stack.client, case.path.format(plan_id=plan_id)
    amy = {**bearer(case.role, f"idem-{name}-amy"), "Idempotency-Key": f"{name}-1"}
    before = await _rows(stack, case.table)

    first = await http.post(path, json=case.body, headers=amy)
    assert first.status_code == 201, first.text
    again = await http.post(path, json=case.body, headers=amy)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert await _rows(stack, case.table) == before + 1

    reused = await http.post(path, json=case.other, headers=amy)
    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    assert reused.json()["field"] == "Idempotency-Key"
    assert await _rows(stack, case.table) == before + 1

    bob = {**bearer(case.role, f"idem-{name}-bob"), "Idempotency-Key": f"{name}-1"}
    # Bob's keys are his own: the key Amy used for one body is free for another of his.
    theirs = await http.post(path, json=case.other, headers=bob)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != first.json()["id"]
    assert await _rows(stack, case.table) == before + 2


async def test_a_task_key_is_bound_to_its_plan(stack: Stack, plan_id: str) -> None:
    """The same key and body under another plan is another request, refused as a reuse."""
    other_plan = await seeded_plan(stack.client)
    other_id = other_plan["plan"]["id"]

    async def tasks_knows_it() -> bool:
        got = await stack.client.get(f"/tasks/plans/{other_id}", headers=SPECIALIST)
        return got.status_code == 200

    await eventually(tasks_knows_it)
    headers = {**bearer(Role.SPECIALIST, "idem-two-plans"), "Idempotency-Key": "two-plans"}
    task = {**TASK, "code": "TWO-1"}
    first = await stack.client.post(f"/tasks/plans/{plan_id}/tasks", json=task, headers=headers)
    assert first.status_code == 201, first.text
    elsewhere = await stack.client.post(
        f"/tasks/plans/{other_id}/tasks", json=task, headers=headers
    )
    assert elsewhere.status_code == 422, elsewhere.text
    assert elsewhere.json()["type"] == "/problems/idempotency-key-reused"
