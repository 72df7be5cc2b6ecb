"""OWASP API1:2023 Broken Object Level Authorization: a plan belongs to its team.

Any authenticated employee may read plans, tasks and alerts, and roles (test_function_level)
decide who writes. Beyond roles, a specialist writes a plan only as its owner or one of its
members (403 ``plan-team``); supervisors and managers oversee every plan; only the owner or an
overseer names the members or hands the plan over (403 ``plan-owner``). ``PLAN_TEAM_WRITES`` is
the table of the routes this holds on.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import pytest

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning.helpers import SPECIALIST
from tests.security.conftest import Stack
from tests.security.test_function_level import PERMISSIONS
from tests.security.two_plans import ADMIN

# Every write to an existing plan, and who reaches it from outside the plan's team (besides the
# team itself and admin). Finance reforecasts any plan's lines; no other outsider writes.
OVERSEERS: Final = frozenset({Role.SUPERVISOR, Role.MANAGER})
PLAN_TEAM_WRITES: Final[dict[str, frozenset[Role]]] = {
    "PATCH /planning/plans/{plan_id}": OVERSEERS,
    "PUT /planning/plans/{plan_id}/members": OVERSEERS,
    "PUT /planning/plans/{plan_id}/objectives": OVERSEERS,
    "PUT /planning/plans/{plan_id}/audience": OVERSEERS,
    "PUT /planning/plans/{plan_id}/channels": OVERSEERS,
    "PUT /planning/plans/{plan_id}/budget": OVERSEERS,
    "PUT /planning/plans/{plan_id}/phases": OVERSEERS,
    "PUT /planning/plans/{plan_id}/risks": OVERSEERS,
    "PUT /planning/plans/{plan_id}/partners": OVERSEERS,
    "POST /planning/plans/{plan_id}/partners/{partner_id}/reviews": OVERSEERS,
    "PUT /planning/plans/{plan_id}/objectives/{objective_id}/decomposition": OVERSEERS,
    "PATCH /planning/plans/{plan_id}/budget/{line_id}": OVERSEERS | {Role.FINANCE},
    "POST /planning/plans/{plan_id}/submit": OVERSEERS,
    "POST /planning/plans/{plan_id}/activate": OVERSEERS,
    "POST /planning/plans/{plan_id}/complete": OVERSEERS,
    "POST /planning/plans/{plan_id}/archive": OVERSEERS,
    "PUT /planning/plans/{plan_id}/retrospective": OVERSEERS,
    "POST /planning/plans/{plan_id}/adjustments": OVERSEERS,
}
OUTSIDER = bearer(Role.SPECIALIST, "specialist-eve")


def test_every_write_to_a_plan_is_in_the_team_table() -> None:
    writes = {
        route
        for route in PERMISSIONS["planning"]
        if route.split(" ")[0] in {"POST", "PUT", "PATCH", "DELETE"} and "{plan_id}" in route
    }
    assert writes == set(PLAN_TEAM_WRITES)


async def _own_plan(stack: Stack, owner: dict[str, str]) -> dict[str, Any]:
    made = await stack.client.post(
        "/planning/plans",
        json={"name": "team", "product": "p", "starts_on": "2024-05-01", "ends_on": "2024-07-31"},
        headers=owner,
    )
    assert made.status_code == 201, made.text
    plan: dict[str, Any] = made.json()["plan"]
    return plan


async def test_a_specialist_outside_the_team_writes_nothing(stack: Stack) -> None:
    """Every plan write by another specialist is 403 plan-team, before the body is read."""
    plan = await _own_plan(stack, SPECIALIST)
    failures = []
    for route in PLAN_TEAM_WRITES:
        method, path = route.split(" ", 1)
        url = path.format(
            plan_id=plan["id"],
            partner_id=uuid.uuid4(),
            objective_id=uuid.uuid4(),
            line_id=uuid.uuid4(),
        )
        got = await stack.client.request(method, url, headers=OUTSIDER)
        if (
            got.status_code != 403
            or got.headers["content-type"] != "application/problem+json"
            or got.json().get("rule") != "plan-team"
        ):
            failures.append(f"{route}: {got.status_code} {got.text[:120]}")
    assert not failures, "\n".join(failures)
    after = (await stack.client.get(f"/planning/plans/{plan['id']}", headers=ADMIN)).json()
    assert after["plan"] == plan


async def test_another_specialist_cannot_rename_a_plan_or_take_it_over(stack: Stack) -> None:
    plan = await _own_plan(stack, SPECIALIST)
    taken = await stack.client.patch(
        f"/planning/plans/{plan['id']}",
        json={"name": "mine now", "owner_id": "specialist-eve"},
        headers={**OUTSIDER, "If-Match": f'"{plan["revision"]}"'},
    )
    assert taken.status_code == 403, taken.text
    assert taken.json()["rule"] == "plan-team"
    after = (await stack.client.get(f"/planning/plans/{plan['id']}", headers=ADMIN)).json()
    assert (after["plan"]["name"], after["plan"]["owner_id"]) == ("team", "specialist-amy")


async def test_a_member_works_on_the_plan_but_does_not_give_it_away(stack: Stack) -> None:
    http = stack.client
    plan = await _own_plan(stack, SPECIALIST)
    url = f"/planning/plans/{plan['id']}"
    named = await http.put(
        f"{url}/members", json={"members": ["specialist-bea"]}, headers=SPECIALIST
    )
    assert named.status_code == 200, named.text
    assert named.json()["plan"]["members"] == ["specialist-bea"]
    bea = bearer(Role.SPECIALIST, "specialist-bea")

    renamed = await http.patch(url, json={"name": "by bea"}, headers=bea)
    assert renamed.status_code == 200, renamed.text
    risks = await http.put(f"{url}/risks", json=[], headers=bea)
    assert risks.status_code == 200, risks.text

    handed = await http.patch(url, json={"owner_id": "specialist-bea"}, headers=bea)
    assert (handed.status_code, handed.json()["rule"]) == (403, "plan-owner")
    widened = await http.put(
        f"{url}/members", json={"members": ["specialist-bea", "specialist-eve"]}, headers=bea
    )
    assert (widened.status_code, widened.json()["rule"]) == (403, "plan-owner")
    after = (await http.get(url, headers=ADMIN)).json()["plan"]
    assert (after["name"], after["owner_id"], after["members"]) == (
        "by bea",
        "specialist-amy",
        ["specialist-bea"],
    )


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.MANAGER])
async def test_supervisors_and_managers_keep_their_reach(stack: Stack, role: Role) -> None:
    http = stack.client
    plan = await _own_plan(stack, SPECIALIST)
    url = f"/planning/plans/{plan['id']}"
    overseer = bearer(role, f"{role.value}-zhou")
    renamed = await http.patch(url, json={"name": "reviewed"}, headers=overseer)
    assert renamed.status_code == 200, renamed.text
    handed = await http.patch(url, json={"owner_id": "specialist-bea"}, headers=overseer)
    assert handed.status_code == 200, handed.text
    # The new owner leads; the previous one stays on the team they led.
    assert (handed.json()["plan"]["owner_id"], handed.json()["plan"]["members"]) == (
        "specialist-bea",
        ["specialist-amy"],
    )
    team = await http.put(f"{url}/members", json={"members": []}, headers=overseer)
    assert team.status_code == 200, team.text
    refused = await http.patch(url, json={"name": "amy again"}, headers=SPECIALIST)
    assert (refused.status_code, refused.json()["rule"]) == (403, "plan-team")


async def test_a_creator_who_names_another_owner_stays_on_the_team(stack: Stack) -> None:
    made = await stack.client.post(
        "/planning/plans",
        json={
            "name": "for bea",
            "product": "p",
            "starts_on": "2024-05-01",
            "ends_on": "2024-07-31",
            "owner_id": "specialist-bea",
        },
        headers=SPECIALIST,
    )
    assert made.status_code == 201, made.text
    plan = made.json()["plan"]
    assert (plan["owner_id"], plan["members"], plan["created_by"]) == (
        "specialist-bea",
        ["specialist-amy"],
        "specialist-amy",
    )
