"""OWASP API1:2023 Broken Object Level Authorization: child objects belong to their parent.

A line, partner, objective, log entry or prerequisite named under another plan or task is not
found (or refused), and the other plan is untouched; a section cannot take another plan's row
ids. Idempotency-Keys are scoped the same way, per principal: someone else's key never returns
their answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning.helpers import SPECIALIST
from tests.security.conftest import Stack
from tests.security.two_plans import ADMIN, World, build_world, snapshot


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    return await build_world(stack)


def _cross_object_cases(w: World) -> list[tuple[str, str, str, Any]]:
    """(name, method, url, body): a parent of A (or A's task) with a child of B."""
    a, b = w.a, w.b
    pa = a["plan"]["id"]
    objective_b = b["objectives"][0]["id"]
    line_b = b["budget"][0]["id"]
    tree = {"name": "HQ", "level": "company", "target": b["objectives"][0]["target_value"]}
    return [
        (
            "reforecast B's line under A",
            "PATCH",
            f"/planning/plans/{pa}/budget/{line_b}",
            {"forecast": "1.00"},
        ),
        (
            "review B's partner under A",
            "POST",
            f"/planning/plans/{pa}/partners/{b['partners'][0]['id']}/reviews",
            {"reviewed_on": "2024-05-20", "score": 1, "comment": "bad"},
        ),
        (
            "read B's decomposition under A",
            "GET",
            f"/planning/plans/{pa}/objectives/{objective_b}/decomposition",
            None,
        ),
        (
            "set B's decomposition under A",
            "PUT",
            f"/planning/plans/{pa}/objectives/{objective_b}/decomposition",
            tree,
        ),
        (
            "move money from B's line in A's adjustment",
            "POST",
            f"/planning/plans/{pa}/adjustments",
            {
                "kind": "budget_reallocation",
                "reason": "r",
                "moves": [
                    {
                        "from_budget_line_id": line_b,
                        "to_budget_line_id": a["budget"][0]["id"],
                        "amount": "1.00",
                    }
                ],
            },
        ),
        (
            "retarget B's objective in A's adjustment",
            "POST",
            f"/planning/plans/{pa}/adjustments",
            {
                "kind": "target_change",
                "reason": "r",
                "targets": [{"objective_id": objective_b, "target_value": "1"}],
            },
        ),
        (
            "annotate B's objective under A",
            "PUT",
            f"/metrics/plans/{pa}/evaluation/{objective_b}",
            {"analysis": "x"},
        ),
        (
            "move B's log entry under A's task",
            "PATCH",
            f"/tasks/tasks/{w.task_a['id']}/progress/{w.entry_b}",
            {"status": "handled"},
        ),
        (
            "make A's task wait for B's task",
            "POST",
            f"/tasks/tasks/{w.task_a['id']}/prerequisites",
            {"code": w.task_b["code"]},
        ),
    ]


async def test_children_of_another_parent_are_not_found(stack: Stack, world: World) -> None:
    http = stack.client
    before = await snapshot(http, world)
    failures = []
    for name, method, url, body in _cross_object_cases(world):
        got = await http.request(method, url, json=body, headers=ADMIN)
        if got.status_code not in (404, 422):
            failures.append(f"{name}: {got.status_code} {got.text[:200]}")
    assert not failures, "\n".join(failures)
    assert await snapshot(http, world) == before


_IN_FIELDS = {
    "objectives": (
        "id type core_strategy metric target_kind target_value baseline_value owner_id due_on notes"
    ),
    "audience": "id name age_band gender regions occupations interests habits",
    "channels": "id channel_type name budget_share expected_reach expected_cost notes",
    "phases": ("id kind name starts_on ends_on core_action owner_id resources risk countermeasure"),
    "risks": (
        "id title category likelihood impact response owner_id due_on status contingency_plan"
    ),
    "budget": "id name cost_type planned forecast",
    "partners": (
        "id name kind qualification reputation capacity service_quality agreement_ref notes"
    ),
}


@pytest.mark.parametrize("section", list(_IN_FIELDS))
async def test_a_section_cannot_take_another_plans_row_ids(
    stack: Stack, world: World, section: str
) -> None:
    """Sending B's row id in plan C's section must be refused (404/422), never a 5xx or a take.

    The id field exists so a plan keeps *its own* rows; another plan's id is not its own.
    """
    http = stack.client
    made = await http.post(
        "/planning/plans",
        json={"name": "C", "product": "p", "starts_on": "2024-05-01", "ends_on": "2024-07-31"},
        headers=SPECIALIST,
    )
    assert made.status_code == 201, made.text
    c = made.json()["plan"]
    stolen = world.b[section][0]
    item = {k: stolen[k] for k in _IN_FIELDS[section].split() if k in stolen}
    before = await snapshot(http, world)
    got = await http.put(
        f"/planning/plans/{c['id']}/{section}",
        json=[item],
        headers={**SPECIALIST, "If-Match": f'"{c["revision"]}"'},
    )
    assert await snapshot(http, world) == before, "plan B changed"
    assert got.status_code in (404, 422), f"{got.status_code} {got.text[:300]}"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(
            "/planning/plans",
            {"name": "idem", "product": "p", "starts_on": "2024-05-01", "ends_on": "2024-05-02"},
            id="create-plan",
        ),
    ],
)
async def test_idempotency_keys_are_per_principal(
    stack: Stack, path: str, body: dict[str, Any]
) -> None:
    http = stack.client
    key = {"Idempotency-Key": "shared-key-1"}
    amy = {**bearer(Role.SPECIALIST, "idem-amy"), **key}
    bob = {**bearer(Role.SPECIALIST, "idem-bob"), **key}
    first = await http.post(path, json=body, headers=amy)
    assert first.status_code == 201, first.text
    # Bob, same key and body: his own new object, never Amy's stored answer.
    theirs = await http.post(path, json=body, headers=bob)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["plan"]["id"] != first.json()["plan"]["id"]
    assert theirs.json()["plan"]["created_by"] == "idem-bob"
    # Bob, same key, another body: still his key space, so no "reused" leak of Amy's use.
    other = await http.post(path, json={**body, "name": "other"}, headers=bob)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    carol = {**bearer(Role.SPECIALIST, "idem-carol"), **key}
    fresh = await http.post(path, json={**body, "name": "other"}, headers=carol)
    assert fresh.status_code == 201, fresh.text
    # Amy's retry still gets her own answer.
    again = await http.post(path, json=body, headers=amy)
    assert again.json()["plan"]["id"] == first.json()["plan"]["id"]
