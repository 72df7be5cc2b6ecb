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
    """One creating route: a body, another body, who calls it and how to count what it made."""

    path: str
    body: dict[str, Any]
    other: dict[str, Any]
    role: Role
    count: str  # a table, or a parenthesised query giving one number


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
PROGRESS = {
    "logged_on": "2024-05-02",
    "progress": "venue booked",
    "completion": 5,
    "owner_id": "amy",
}
DELEGATION = {
    "delegate": "deputy-li",
    "starts_at": "2030-05-01T00:00:00Z",
    "ends_at": "2030-05-08T00:00:00Z",
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
    "delegation": Create(
        "/approvals/delegations",
        DELEGATION,
        {**DELEGATION, "delegate": "deputy-wu"},
        Role.SUPERVISOR,
        "approvals.delegations",
    ),
    "progress-entry": Create(
        "/tasks/tasks/{task_id}/progress",
        PROGRESS,
        {**PROGRESS, "completion": 10},
        Role.SPECIALIST,
        "tasks.progress_log",
    ),
    "wbs-template": Create(
        "/tasks/templates",
        {"name": "618 WBS", "from_plan_id": "{plan_id}"},
        {"name": "618 WBS, again", "from_plan_id": "{plan_id}"},
        Role.SPECIALIST,
        "tasks.templates",
    ),
    "partner-review": Create(
        "/planning/plans/{plan_id}/partners/{partner_id}/reviews",
        {"reviewed_on": "2024-05-20", "score": 4, "comment": "on time"},
        {"reviewed_on": "2024-05-20", "score": 2, "comment": "late"},
        Role.SUPERVISOR,  # a specialist outside the plan's team may not review its partners
        "(SELECT sum(jsonb_array_length(reviews)) FROM planning.partners)",
    ),
}


PARTNER = {
    "name": "KOC agency",
    "kind": "vendor",
    "qualification": 4,
    "reputation": 4,
    "capacity": 3,
    "service_quality": 4,
}


@pytest.fixture(scope="module")
async def ids(stack: Stack) -> dict[str, str]:
    """A plan the tasks service knows (from planning's events), with a partner and a task."""
    plan = await seeded_plan(stack.client)
    known: str = plan["plan"]["id"]
    partners = await stack.client.put(
        f"/planning/plans/{known}/partners",
        json=[PARTNER],
        headers={**SPECIALIST, "If-Match": f'"{plan["plan"]["revision"]}"'},
    )
    assert partners.status_code == 200, partners.text

    async def tasks_knows_it() -> bool:
        got = await stack.client.get(f"/tasks/plans/{known}", headers=SPECIALIST)
        return got.status_code == 200

    await eventually(tasks_knows_it)
    task = {**TASK, "code": "BASE-1"}
    made = await stack.client.post(f"/tasks/plans/{known}/tasks", json=task, headers=SPECIALIST)
    assert made.status_code == 201, made.text
    return {
        "plan_id": known,
        "partner_id": partners.json()["partners"][0]["id"],
        "task_id": made.json()["id"],
    }


def _filled(body: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    return {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}


async def _rows(stack: Stack, count: str) -> int:
    url = make_url(stack.database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        query = count if count.startswith("(") else f"(SELECT count(*) FROM {count})"
        made: int = await connection.fetchval(f"SELECT coalesce({query}, 0)")
        return made
    finally:
        await connection.close()


@pytest.mark.parametrize("name", list(CASES))
async def test_a_create_is_done_once_per_key_and_body(
    stack: Stack, ids: dict[str, str], name: str
) -> None:
    case = CASES[name]
    http, path = stack.client, case.path.format(**ids)
    body, other = _filled(case.body, ids), _filled(case.other, ids)
    amy = {**bearer(case.role, f"idem-{name}-amy"), "Idempotency-Key": f"{name}-1"}
    before = await _rows(stack, case.count)

    first = await http.post(path, json=body, headers=amy)
    assert first.status_code == 201, first.text
    again = await http.post(path, json=body, headers=amy)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert await _rows(stack, case.count) == before + 1

    reused = await http.post(path, json=other, headers=amy)
    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    assert reused.json()["field"] == "Idempotency-Key"
    assert await _rows(stack, case.count) == before + 1

    bob = {**bearer(case.role, f"idem-{name}-bob"), "Idempotency-Key": f"{name}-1"}
    # Bob's keys are his own: the key Amy used for one body is free for another of his.
    theirs = await http.post(path, json=other, headers=bob)
    assert theirs.status_code == 201, theirs.text
    assert await _rows(stack, case.count) == before + 2


async def test_a_task_key_is_bound_to_its_plan(stack: Stack, ids: dict[str, str]) -> None:
    """The same key and body under another plan is another request, refused as a reuse."""
    other_plan = await seeded_plan(stack.client)
    other_id = other_plan["plan"]["id"]

    async def tasks_knows_it() -> bool:
        got = await stack.client.get(f"/tasks/plans/{other_id}", headers=SPECIALIST)
        return got.status_code == 200

    await eventually(tasks_knows_it)
    headers = {**bearer(Role.SPECIALIST, "idem-two-plans"), "Idempotency-Key": "two-plans"}
    task = {**TASK, "code": "TWO-1"}
    first = await stack.client.post(
        f"/tasks/plans/{ids['plan_id']}/tasks", json=task, headers=headers
    )
    assert first.status_code == 201, first.text
    elsewhere = await stack.client.post(
        f"/tasks/plans/{other_id}/tasks", json=task, headers=headers
    )
    assert elsewhere.status_code == 422, elsewhere.text
    assert elsewhere.json()["type"] == "/problems/idempotency-key-reused"
