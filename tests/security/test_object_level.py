"""OWASP API1:2023 Broken Object Level Authorization: what the services scope, and hold to.

Any authenticated employee may read plans, tasks and alerts, and roles (test_function_level)
decide who writes. What the code scopes beyond roles:

* a plan to its team: a specialist writes a plan only as its owner or one of its members
  (403 ``plan-team``); supervisors and managers oversee every plan; only the owner or an
  overseer names the members or hands the plan over (403 ``plan-owner``). ``PLAN_TEAM_WRITES``
  is the table of the routes this holds on;
* child objects to their parent: a line, partner, objective, log entry or prerequisite named
  under another plan or task is not found (or refused), and the other plan is untouched;
* Idempotency-Keys per principal: someone else's key never returns their answer;
* a task's done/returned to its R2 (approver_id) alone, whatever the caller's roles; its other
  moves and its progress log to its R1, its R2 or a planner;
* approvals: nobody decides their own request or sees it in their inbox, and a stage is decided
  only by its roles (or admin, or a delegate standing in for them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

import httpx
import pytest

from shared.contract.types import Role
from tests.conftest import bearer
from tests.planning.helpers import SPECIALIST, approved_plan, seeded_plan
from tests.polling import eventually
from tests.security.conftest import Stack
from tests.security.test_function_level import PERMISSIONS

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


async def _task(http: httpx.AsyncClient, plan_id: str, code: str) -> dict[str, Any]:
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


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
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
    task_a = await _task(http, a["plan"]["id"], "A-001")
    task_b = await _task(http, b["plan"]["id"], "B-001")
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


async def _snapshot(http: httpx.AsyncClient, world: World) -> Any:
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
    before = await _snapshot(http, world)
    failures = []
    for name, method, url, body in _cross_object_cases(world):
        got = await http.request(method, url, json=body, headers=ADMIN)
        if got.status_code not in (404, 422):
            failures.append(f"{name}: {got.status_code} {got.text[:200]}")
    assert not failures, "\n".join(failures)
    assert await _snapshot(http, world) == before


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
    before = await _snapshot(http, world)
    got = await http.put(
        f"/planning/plans/{c['id']}/{section}",
        json=[item],
        headers={**SPECIALIST, "If-Match": f'"{c["revision"]}"'},
    )
    assert await _snapshot(http, world) == before, "plan B changed"
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


async def _submitted_task(stack: Stack, world: World, code: str) -> dict[str, Any]:
    http = stack.client
    task = await _task(http, world.b["plan"]["id"], code)
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
    task = await _task(http, world.a["plan"]["id"], "P-OUT")
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
