"""Variants of the demo's story on the live all-in-one app: a rejected plan, an expense refused
by policy, and a task dependency that would close a cycle.

Each step asserts what every involved service shows, and the bus log (``bus.records``) is read
for the events in order. Asynchronous effects are awaited by polling against a deadline; an
absence ("no tasks were made", "no rule appeared") is only asserted once the whole system has
settled: every outbox relayed and every consumer group caught up with every topic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from demo import seed
from shared.kit.errors import PROBLEM_JSON
from tests.e2e.variant_steps import (
    FINANCE,
    MANAGER,
    SPECIALIST,
    SUPERVISOR,
    Json,
    approval_events,
    assert_nothing_set_up,
    assert_problem,
    decide,
    draft_plan,
    get_json,
    in_inbox,
    plan_in_status,
    plan_lifecycle,
    settled,
    task_events,
    tasks_know,
)
from tests.polling import eventually

# --- variant 1: the plan is rejected --------------------------------------------------------


async def test_a_rejected_plan_returns_to_its_author_and_sets_nothing_up(
    live: str, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        # A WBS template from another plan, attached to this one for when it is approved:
        # approval would instantiate it, so a rejection must leave the plan without tasks.
        source = (
            await http.post(
                "/planning/plans", json={**seed.PLAN, "name": "template source"}, headers=SPECIALIST
            )
        ).json()["plan"]["id"]
        await tasks_know(http, source)
        for row in seed.WBS:
            made = await http.post(f"/tasks/plans/{source}/tasks", json=row, headers=SPECIALIST)
            assert made.status_code == 201, made.text
        template = await http.post(
            "/tasks/templates",
            json={"name": "Xiaohongshu seeding", "from_plan_id": source},
            headers=SPECIALIST,
        )
        assert template.status_code == 201, template.text

        plan = await draft_plan(http, "618 serum launch (rejected)")
        plan_id = plan["plan"]["id"]
        attached = await http.post(
            f"/tasks/plans/{plan_id}/templates",
            json={
                "template_id": template.json()["id"],
                "start_on": "2024-05-01",
                "owner_id": "specialist-amy",
                "approver_id": "supervisor-wang",
                "when": "on_approval",
            },
            headers=SPECIALIST,
        )
        assert (attached.status_code, attached.json()) == (200, [])
        assert (plan["plan"]["status"], plan["plan"]["version"]) == ("draft", 1)
        known = await get_json(http, f"/tasks/plans/{plan_id}")
        assert (known["plan_id"], known["name"]) == (plan_id, "618 serum launch (rejected)")
        assert (await get_json(http, "/approvals/requests", plan_id=plan_id))["items"] == []
        await assert_nothing_set_up(http, plan_id)

        # Submitted: planning shows it submitted, approvals opens the three-stage request.
        submitted = await http.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["plan"]["status"] == "submitted"
        request = await in_inbox(http, SUPERVISOR, plan_id)
        assert (request["status"], request["current_stage"], request["requester"]) == (
            "pending",
            0,
            "specialist-amy",
        )
        assert [s["name"] for s in request["stages"]] == [
            "supervisor review",
            "manager approval",
            "finance budget check",
        ]
        assert request["amount"] == plan["total_budget"]
        await assert_nothing_set_up(http, plan_id)
        edit = await http.put(
            f"/planning/plans/{plan_id}/risks",
            json=seed.RISKS,
            headers={**SPECIALIST, "If-Match": f'"{submitted.json()["plan"]["revision"]}"'},
        )
        assert_problem(edit, 409, "plan-not-editable", "editable-status")

        # The supervisor rejects it from the inbox: the request closes at the first stage.
        decided = await decide(
            http, SUPERVISOR, request, "reject", "KOC budget too thin for 20 creators"
        )
        assert (decided["status"], decided["current_stage"]) == ("rejected", 0)
        assert [s["status"] for s in decided["stages"]] == ["rejected", "waiting", "waiting"]
        assert decided["closed_at"] is not None
        assert [(d["role"], d["decision"]) for d in decided["decisions"]] == [
            ("supervisor", "reject")
        ]
        for later in (SUPERVISOR, MANAGER, FINANCE):
            inbox = (await http.get("/approvals/inbox", headers=later)).json()["items"]
            assert [r for r in inbox if r["plan_id"] == plan_id] == []

        # Planning hears of it: the plan is rejected, still version 1, and editable again.
        rejected = await plan_in_status(http, plan_id, "rejected")
        assert rejected["plan"]["version"] == 1
        assert (await get_json(http, f"/planning/plans/{plan_id}/versions"))["items"] == []
        await settled(database_url)

        # Nothing that approval sets up happened: no tasks, no baseline, no default rules.
        await assert_nothing_set_up(http, plan_id)
        requests = await get_json(http, "/approvals/requests", plan_id=plan_id)
        assert [(r["kind"], r["status"]) for r in requests["items"]] == [("plan", "rejected")]

        assert await plan_lifecycle(database_url, plan_id) == ["created", "submitted", "rejected"]
        assert await approval_events(database_url, plan_id) == [
            ("plan", "requested"),
            ("plan", "step_decided"),
            ("plan", "rejected"),
        ]

        # The author revises and resubmits: a fresh request, the rejected one stays closed.
        revised = await http.put(
            f"/planning/plans/{plan_id}/risks",
            json=seed.RISKS,
            headers={**SPECIALIST, "If-Match": f'"{rejected["plan"]["revision"]}"'},
        )
        assert revised.status_code == 200, revised.text
        again = await http.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
        assert (again.status_code, again.json()["plan"]["status"]) == (200, "submitted")
        second = await in_inbox(http, SUPERVISOR, plan_id)
        assert second["id"] != request["id"]
        await settled(database_url)
        requests = await get_json(http, "/approvals/requests", plan_id=plan_id)
        assert sorted((r["id"] == request["id"], r["status"]) for r in requests["items"]) == [
            (False, "pending"),
            (True, "rejected"),
        ]
        assert await plan_lifecycle(database_url, plan_id) == [
            "created",
            "submitted",
            "rejected",
            "submitted",
        ]
        await assert_nothing_set_up(http, plan_id)


# --- variant 2: an expense refused by policy --------------------------------------------------


async def approved_plan(http: httpx.AsyncClient, name: str) -> Json:
    """A drafted plan, submitted and approved stage by stage from the approvers' inboxes."""
    plan = await draft_plan(http, name)
    plan_id = plan["plan"]["id"]
    submitted = await http.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert submitted.status_code == 200, submitted.text
    for approver in (SUPERVISOR, MANAGER, FINANCE):
        request = await in_inbox(http, approver, plan_id)
        await decide(http, approver, request, "approve", "fine")
    return await plan_in_status(http, plan_id, "approved")


def budget_of(detail: Json) -> dict[str, tuple[str, str, str, str]]:
    """Each budget line by name: (planned, forecast, committed, actual)."""
    return {
        line["name"]: (line["planned"], line["forecast"], line["committed"], line["actual"])
        for line in detail["budget"]
    }


async def test_an_expense_that_breaks_a_policy_is_refused_and_commits_nothing(
    live: str, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        plan = await approved_plan(http, "618 serum launch (expenses)")
        plan_id = plan["plan"]["id"]
        lines = {line["name"]: line["id"] for line in plan["budget"]}
        await settled(database_url)
        before = await get_json(http, f"/planning/plans/{plan_id}")
        assert {c for _p, _f, c, _a in budget_of(before).values()} == {"0.00"}
        bus_before = await approval_events(database_url, plan_id)
        assert [k for k, _e in bus_before] == ["plan"] * len(bus_before)

        # The pop-up store's venue fee, filed two days ahead: docs/domain.md §8 wants three.
        today = datetime.now(UTC).date()
        venue = {
            "kind": "expense",
            "title": "pop-up store venue, Shanghai",
            "plan_id": plan_id,
            "budget_line_id": lines["offline events"],
            "amount": "80000.00",
            "cost_type": "venue",
            "event_on": (today + timedelta(days=2)).isoformat(),
        }
        preview = await http.post("/approvals/requests/preview", json=venue, headers=SPECIALIST)
        assert preview.status_code == 200, preview.text
        assert [(p["rule"], p["passed"]) for p in preview.json()["policies"]] == [
            ("venue-lead-time", False),
            ("within-budget-line", True),
        ]
        refused = await http.post("/approvals/requests", json=venue, headers=SPECIALIST)
        problem = assert_problem(refused, 422, "policy-refused", "venue-lead-time")
        assert problem["field"] == "event_on"
        assert [e["rule"] for e in problem["errors"]] == ["venue-lead-time"]
        assert "at least 3 days before the event" in problem["detail"]

        # A sponsorship breaks two rules at once, and the problem lists both.
        sponsorship = {
            **venue,
            "title": "mall atrium sponsorship",
            "budget_line_id": lines["materials"],
            "cost_type": "sponsorship",
        }
        refused = await http.post("/approvals/requests", json=sponsorship, headers=SPECIALIST)
        problem = assert_problem(refused, 422, "policy-refused", "sponsorship-lead-time")
        assert [e["rule"] for e in problem["errors"]] == [
            "sponsorship-lead-time",
            "sponsorship-agreement",
        ]

        # Only an admin may override a policy, so a specialist's override is forbidden too.
        override = await http.post(
            "/approvals/requests",
            json={**venue, "override_reason": "the mall moved the date"},
            headers=SPECIALIST,
        )
        assert override.status_code == 403, override.text
        assert override.headers["content-type"].startswith(PROBLEM_JSON)
        assert override.json()["field"] == "override_reason"

        # Nothing was filed, nothing published, nobody asked, and the budget did not move.
        await settled(database_url)
        requests = await get_json(http, "/approvals/requests", plan_id=plan_id)
        assert [(r["kind"], r["status"]) for r in requests["items"]] == [("plan", "approved")]
        expenses = await get_json(http, "/approvals/requests", kind="expense")
        assert expenses["items"] == []
        for approver in (SUPERVISOR, MANAGER, FINANCE):
            assert (await http.get("/approvals/inbox", headers=approver)).json()["items"] == []
        assert await approval_events(database_url, plan_id) == bus_before
        after = await get_json(http, f"/planning/plans/{plan_id}")
        assert budget_of(after) == budget_of(before)
        assert (after["total_budget"], after["plan"]["revision"]) == (
            before["total_budget"],
            before["plan"]["revision"],
        )

        # The same fee filed in time goes through supervisor and manager and is committed:
        # the path the refused request would have taken does move the budget.
        in_time = {**venue, "event_on": (today + timedelta(days=10)).isoformat()}
        filed = await http.post("/approvals/requests", json=in_time, headers=SPECIALIST)
        assert filed.status_code == 201, filed.text
        request = filed.json()
        assert (request["status"], request["workflow_key"]) == ("pending", "expense.venue")
        for approver in (SUPERVISOR, MANAGER):
            request = await decide(http, approver, request, "approve", "in time")
        assert request["status"] == "approved"

        async def committed() -> Json | None:
            detail: Json = await get_json(http, f"/planning/plans/{plan_id}")
            return detail if budget_of(detail)["offline events"][2] == "80000.00" else None

        after = await eventually(committed)
        moved = {k: v for k, v in budget_of(after).items() if v != budget_of(before)[k]}
        assert moved == {"offline events": ("300000.00", "300000.00", "80000.00", "0.00")}
        assert await approval_events(database_url, plan_id) == [
            *bus_before,
            ("expense", "requested"),
            ("expense", "step_decided"),
            ("expense", "step_decided"),
            ("expense", "approved"),
        ]


# --- variant 3: a dependency that would close a cycle ----------------------------------------


def wbs_of(tasks: list[Json]) -> dict[str, tuple[int, str, list[tuple[str, str, int]]]]:
    """Each task by code: (row version, status, prerequisites as (code, kind, lag))."""
    return {
        t["code"]: (
            t["row_version"],
            t["status"],
            [(p["code"], p["kind"], p["lag_days"]) for p in t["prerequisites"]],
        )
        for t in tasks
    }


async def test_a_dependency_that_closes_a_cycle_is_refused_and_changes_nothing(
    live: str, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        plan = await draft_plan(http, "618 serum launch (cycle)")
        plan_id = plan["plan"]["id"]
        ids = {}
        for row in seed.WBS:
            made = await http.post(f"/tasks/plans/{plan_id}/tasks", json=row, headers=SPECIALIST)
            assert made.status_code == 201, made.text
            ids[row["code"]] = made.json()["id"]
        tasks = (await get_json(http, f"/tasks/plans/{plan_id}/tasks"))["items"]
        before = wbs_of(tasks)
        assert before == {
            "M-001": (1, "not_started", []),
            "M-002": (1, "not_started", []),
            "M-003": (1, "not_started", [("M-002", "FS", 0)]),
            "M-004": (1, "not_started", [("M-001", "FS", 0), ("M-003", "FS", 0)]),
        }
        schedule = await get_json(http, f"/tasks/plans/{plan_id}/schedule")
        await settled(database_url)
        bus_before = await task_events(database_url, plan_id)
        assert bus_before == [("created", row["code"]) for row in seed.WBS]

        # Content planning (M-002) waiting for the publishing schedule (M-004) closes
        # M-002 → M-003 → M-004 → M-002; a task waiting for itself is the shortest cycle.
        for task, prerequisite, cycle in [
            ("M-002", "M-004", ["M-002", "M-003", "M-004", "M-002"]),
            ("M-003", "M-004", ["M-003", "M-004", "M-003"]),
            ("M-001", "M-001", ["M-001", "M-001"]),
        ]:
            refused = await http.post(
                f"/tasks/tasks/{ids[task]}/prerequisites",
                json={"code": prerequisite, "kind": "SS", "lag_days": 2},
                headers=SPECIALIST,
            )
            problem = assert_problem(refused, 422, "rule-violated", "no-cycles")
            assert (problem["field"], problem["cycle"]) == ("code", cycle)
            assert problem["detail"] == "this link would make a cycle: " + " → ".join(cycle)

        # The tasks, their links, versions and schedule are as they were; no event went out.
        await settled(database_url)
        assert wbs_of((await get_json(http, f"/tasks/plans/{plan_id}/tasks"))["items"]) == before
        for code, task_id in ids.items():
            one = await http.get(f"/tasks/tasks/{task_id}", headers=MANAGER)
            assert (one.status_code, one.headers["etag"]) == (200, f'"{before[code][0]}"')
        assert await get_json(http, f"/tasks/plans/{plan_id}/schedule") == schedule
        assert await task_events(database_url, plan_id) == bus_before

        # A link that keeps the graph acyclic is still taken: M-002 now waits for M-001.
        linked = await http.post(
            f"/tasks/tasks/{ids['M-002']}/prerequisites",
            json={"code": "M-001"},
            headers=SPECIALIST,
        )
        assert linked.status_code == 200, linked.text
        after = wbs_of((await get_json(http, f"/tasks/plans/{plan_id}/tasks"))["items"])
        assert after == {**before, "M-002": (2, "not_started", [("M-001", "FS", 0)])}
        refused = await http.post(
            f"/tasks/tasks/{ids['M-001']}/prerequisites",
            json={"code": "M-004"},
            headers=SPECIALIST,
        )
        problem = assert_problem(refused, 422, "rule-violated", "no-cycles")
        assert problem["cycle"][0] == problem["cycle"][-1] == "M-001"
        assert wbs_of((await get_json(http, f"/tasks/plans/{plan_id}/tasks"))["items"]) == after
