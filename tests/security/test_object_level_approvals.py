"""OWASP API1:2023 Broken Object Level Authorization: who decides an approval request.

Nobody decides their own request or sees it in their inbox, and a stage is decided only by its
roles (or admin, or a delegate standing in for them); a delegation never lends admin.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract.types import Role
from tests.conftest import bearer
from tests.security.conftest import Stack
from tests.security.two_plans import ADMIN


async def test_admin_is_never_lent_by_a_delegation(stack: Stack) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.kit.settings import Settings
    from shared.kit.tokens import mint_token

    now = datetime.now(UTC)
    window = {
        "delegate": "deputy",
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    }
    alone = await stack.client.post("/approvals/delegations", json=window, headers=ADMIN)
    assert (alone.status_code, alone.json()["rule"]) == (422, "delegable-roles")
    both = mint_token("admin-and-supervisor", [Role.ADMIN, Role.SUPERVISOR], Settings())
    lent = await stack.client.post(
        "/approvals/delegations", json=window, headers={"Authorization": f"Bearer {both}"}
    )
    assert (lent.status_code, lent.json()["roles"]) == (201, ["supervisor"])


async def _filed(stack: Stack, requester: dict[str, str]) -> dict[str, Any]:
    expense = {"kind": "expense", "title": "posters", "amount": "1000.00", "cost_type": "other"}
    filed = await stack.client.post("/approvals/requests", json=expense, headers=requester)
    assert filed.status_code == 201, filed.text
    request: dict[str, Any] = filed.json()
    return request


PEOPLE = [r for r in Role if r is not Role.SERVICE]  # a service token files and decides nothing


@pytest.mark.parametrize("role", PEOPLE)
async def test_nobody_decides_or_sees_their_own_request(stack: Stack, role: Role) -> None:
    http = stack.client
    me = bearer(role, f"self-{role.value}")
    request = await _filed(stack, me)
    decision = {"stage": request["current_stage"], "decision": "approve"}
    got = await http.post(
        f"/approvals/requests/{request['id']}/decisions", json=decision, headers=me
    )
    assert got.status_code == 403, got.text
    assert got.json()["rule"] == "separation-of-duties"
    inbox = (await http.get("/approvals/inbox", headers=me)).json()["items"]
    assert request["id"] not in {r["id"] for r in inbox}
    after = (await http.get(f"/approvals/requests/{request['id']}", headers=me)).json()
    assert after["decisions"] == []
    assert after["status"] == "pending"


async def test_a_stage_is_decided_only_by_its_roles(stack: Stack) -> None:
    """Every role × the open stage: outsiders get 403 stage-role and see nothing in the inbox."""
    http = stack.client
    request = await _filed(stack, bearer(Role.SPECIALIST, "stage-requester"))
    stage = request["stages"][request["current_stage"]]
    deciders = set(stage["roles"]) | set(stage.get("escalated_to") or []) | {Role.ADMIN.value}
    url = f"/approvals/requests/{request['id']}/decisions"
    body = {"stage": request["current_stage"], "decision": "approve"}
    failures = []
    for role in PEOPLE:
        if role.value in deciders:
            continue
        who = bearer(role, f"outsider-{role.value}")
        got = await http.post(url, json=body, headers=who)
        if got.status_code != 403 or got.json().get("rule") != "stage-role":
            failures.append(f"{role.value}: {got.status_code}")
        inbox = (await http.get("/approvals/inbox", headers=who)).json()["items"]
        if request["id"] in {r["id"] for r in inbox}:
            failures.append(f"{role.value} sees it in the inbox")
    assert not failures, failures
    after = (await http.get(url.rsplit("/", 1)[0], headers=ADMIN)).json()
    assert after["decisions"] == []


async def test_a_delegation_lends_only_the_delegators_roles(stack: Stack) -> None:
    """Sales delegating to legal lends 'sales', not the supervisor stage of an expense."""
    from datetime import UTC, datetime, timedelta

    http = stack.client
    now = datetime.now(UTC)
    lent = await http.post(
        "/approvals/delegations",
        json={
            "delegate": "deputy-legal",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
        headers=bearer(Role.SALES, "delegating-sales"),
    )
    assert lent.status_code == 201, lent.text
    request = await _filed(stack, bearer(Role.SPECIALIST, "delegation-requester"))
    stage = request["stages"][request["current_stage"]]
    assert "sales" not in stage["roles"]
    assert "legal" not in stage["roles"]
    got = await http.post(
        f"/approvals/requests/{request['id']}/decisions",
        json={"stage": request["current_stage"], "decision": "approve"},
        headers=bearer(Role.LEGAL, "deputy-legal"),
    )
    assert got.status_code == 403, got.text
