"""Real objects of every service and one valid write on each, for the mass-assignment tests
(OWASP API3): each write route is called with a body that passes validation, and a read shows
what it would have changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contract.types import Role
from tests.conftest import bearer
from tests.e2e.plans import approved_plan
from tests.planning import seed
from tests.planning.helpers import seeded_plan
from tests.polling import eventually
from tests.security.conftest import Stack

SPECIALIST = bearer(Role.SPECIALIST, "specialist-amy")
SUPERVISOR = bearer(Role.SUPERVISOR, "supervisor-wang")
ADMIN = bearer(Role.ADMIN, "admin-root")
TECH = bearer(Role.TECH, "data-ops")


@dataclass
class Write:
    """A write route called with a valid body; ``read`` shows what it would have changed."""

    route: str  # "METHOD /path/{param}" as in the OpenAPI document
    url: str
    body: Any
    read: str | None  # a GET that shows the stored state (None: nothing to read it back by)
    headers: dict[str, str] = field(default_factory=lambda: SPECIALIST)
    read_headers: dict[str, str] = field(default_factory=lambda: ADMIN)


def _in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def every_write(stack: Stack) -> list[Write]:
    """Real objects of every service, and a valid write on each."""
    http = stack.client
    plan = await seeded_plan(http)
    pid = plan["plan"]["id"]
    objective = plan["objectives"][0]["id"]
    root = {"name": "HQ", "level": "company", "target": plan["objectives"][0]["target_value"]}
    partners = [
        {
            "name": "KOC agency",
            "kind": "vendor",
            "qualification": 4,
            "reputation": 4,
            "capacity": 3,
            "service_quality": 4,
        }
    ]
    etag = {"If-Match": f'"{plan["plan"]["revision"]}"'}
    put = await http.put(
        f"/planning/plans/{pid}/partners", json=partners, headers={**SPECIALIST, **etag}
    )
    assert put.status_code == 200, put.text
    plan = put.json()
    partner = plan["partners"][0]["id"]
    tree = await http.put(
        f"/planning/plans/{pid}/objectives/{objective}/decomposition",
        json=root,
        headers=SPECIALIST,
    )
    assert tree.status_code == 200, tree.text
    approved = await approved_plan(http, stack.database_url)
    aid = approved["plan"]["id"]
    line = approved["budget"][0]["id"]

    async def known() -> bool:
        return (await http.get(f"/tasks/plans/{pid}", headers=SPECIALIST)).status_code == 200

    await eventually(known)
    tasks = []
    for row in ({**seed_task(), "code": "S-001"}, {**seed_task(), "code": "S-002"}):
        made = await http.post(f"/tasks/plans/{pid}/tasks", json=row, headers=SPECIALIST)
        assert made.status_code == 201, made.text
        tasks.append(made.json())
    tid = tasks[1]["id"]
    logged = await http.post(
        f"/tasks/tasks/{tid}/progress",
        json={"logged_on": "2024-05-02", "progress": "p", "completion": 10, "owner_id": "amy"},
        headers=SPECIALIST,
    )
    assert logged.status_code == 201, logged.text
    entry = logged.json()["id"]
    rule = {"name": "cost watch", "kind": "threshold", "metric": "cost", "threshold": "100"}
    made_rule = await http.post("/alerts/rules", json=rule, headers=SPECIALIST)
    assert made_rule.status_code == 201, made_rule.text
    rid = made_rule.json()["id"]
    source = {"name": "s", "platform": "internal", "account_id": "acc-1"}
    made_source = await http.post("/metrics/sources", json=source, headers=TECH)
    assert made_source.status_code == 201, made_source.text
    sid = made_source.json()["id"]
    expense = {
        "kind": "expense",
        "title": "posters",
        "amount": "1000.00",
        "cost_type": "other",
        "event_on": _in(30)[:10],
    }
    filed = await http.post("/approvals/requests", json=expense, headers=SPECIALIST)
    assert filed.status_code == 201, filed.text
    req = filed.json()
    wecom = {"kind": "wecom", "url": "http://qyapi.test/cgi-bin/webhook/send?key=k"}
    chosen = await http.put("/approvals/notice-preferences/me", json=wecom, headers=SUPERVISOR)
    assert chosen.status_code == 200, chosen.text
    alert = uuid.uuid4()  # no alert exists: the 422 must still come before the lookup
    silence = {"matchers": {"plan_id": pid}, "starts_at": _in(0), "ends_at": _in(1), "comment": "c"}
    return [
        Write("POST /planning/plans", "/planning/plans", seed.PLAN, "/planning/plans?limit=200"),
        Write(
            "PATCH /planning/plans/{plan_id}",
            f"/planning/plans/{pid}",
            {"name": "renamed"},
            f"/planning/plans/{pid}",
        ),
        Write(
            "PUT /planning/plans/{plan_id}/members",
            f"/planning/plans/{pid}/members",
            {"members": ["specialist-bea"]},
            f"/planning/plans/{pid}",
        ),
        *[
            Write(
                f"PUT /planning/plans/{{plan_id}}/{section}",
                f"/planning/plans/{pid}/{section}",
                body,
                f"/planning/plans/{pid}",
            )
            for section, body in (
                ("objectives", seed.OBJECTIVES),
                ("audience", seed.AUDIENCE),
                ("channels", seed.CHANNELS),
                ("budget", seed.budget([c["id"] for c in plan["channels"]])),
                ("phases", seed.PHASES),
                ("risks", seed.RISKS),
                ("partners", partners),
            )
        ],
        Write(
            "POST /planning/plans/{plan_id}/partners/{partner_id}/reviews",
            f"/planning/plans/{pid}/partners/{partner}/reviews",
            {"reviewed_on": "2024-05-20", "score": 4, "comment": "on time"},
            f"/planning/plans/{pid}",
        ),
        Write(
            "PUT /planning/plans/{plan_id}/objectives/{objective_id}/decomposition",
            f"/planning/plans/{pid}/objectives/{objective}/decomposition",
            root,
            f"/planning/plans/{pid}/objectives/{objective}/decomposition",
        ),
        Write(
            "PATCH /planning/plans/{plan_id}/budget/{line_id}",
            f"/planning/plans/{aid}/budget/{line}",
            {"forecast": "1.00"},
            f"/planning/plans/{aid}",
        ),
        *[
            Write(
                f"POST /planning/plans/{{plan_id}}/{step}",
                f"/planning/plans/{plan_id}/{step}",
                {"reason": "go"},
                f"/planning/plans/{plan_id}",
            )
            for step, plan_id in (
                ("activate", aid),
                ("complete", aid),
                ("archive", aid),
            )
        ],
        Write(
            "PUT /planning/plans/{plan_id}/retrospective",
            f"/planning/plans/{aid}/retrospective",
            seed.RETROSPECTIVE,
            f"/planning/plans/{aid}",
        ),
        Write(
            "POST /planning/plans/{plan_id}/adjustments",
            f"/planning/plans/{aid}/adjustments",
            {
                "kind": "strategy",
                "reason": "r",
                "strategies": [
                    {"objective_id": approved["objectives"][0]["id"], "core_strategy": "s"}
                ],
            },
            f"/planning/plans/{aid}/adjustments",
        ),
        Write(
            "POST /tasks/plans/{plan_id}/tasks",
            f"/tasks/plans/{pid}/tasks",
            {**seed_task(), "code": "S-003"},
            f"/tasks/plans/{pid}/tasks",
        ),
        Write(
            "POST /tasks/plans/{plan_id}/templates",
            f"/tasks/plans/{pid}/templates",
            {
                "template_id": str(uuid.uuid4()),
                "start_on": "2024-05-01",
                "owner_id": "amy",
                "approver_id": "wang",
                "when": "now",
            },
            f"/tasks/plans/{pid}/tasks",
        ),
        Write(
            "POST /tasks/tasks/{task_id}/prerequisites",
            f"/tasks/tasks/{tid}/prerequisites",
            {"code": "S-001"},
            f"/tasks/tasks/{tid}",
        ),
        Write(
            "POST /tasks/tasks/{task_id}/status",
            f"/tasks/tasks/{tid}/status",
            {"to": "in_progress"},
            f"/tasks/tasks/{tid}",
            headers=bearer(Role.SPECIALIST, tasks[1]["owner_id"]),
        ),
        Write(
            "POST /tasks/tasks/{task_id}/reassign",
            f"/tasks/tasks/{tid}/reassign",
            {"owner_id": "someone-else", "reason": "holiday"},
            f"/tasks/tasks/{tid}",
        ),
        Write(
            "PATCH /tasks/tasks/{task_id}",
            f"/tasks/tasks/{tid}",
            {"name": "renamed"},
            f"/tasks/tasks/{tid}",
        ),
        Write(
            "POST /tasks/tasks/{task_id}/progress",
            f"/tasks/tasks/{tid}/progress",
            {"logged_on": "2024-05-03", "progress": "p", "completion": 20, "owner_id": "amy"},
            f"/tasks/tasks/{tid}/progress",
        ),
        Write(
            "PATCH /tasks/tasks/{task_id}/progress/{entry_id}",
            f"/tasks/tasks/{tid}/progress/{entry}",
            {"status": "handled"},
            f"/tasks/tasks/{tid}/progress",
        ),
        Write(
            "POST /tasks/templates", "/tasks/templates", {"name": "t", "from_plan_id": pid}, None
        ),
        Write(
            "PUT /tasks/calendar/holidays",
            "/tasks/calendar/holidays",
            [{"day": "2024-06-10", "name": "Dragon Boat"}],
            None,
            headers=ADMIN,
        ),
        Write("POST /metrics/sources", "/metrics/sources", source, "/metrics/sources", TECH),
        Write(
            "PUT /metrics/dictionary/{key}",
            "/metrics/dictionary/cost_per_mille",
            {"name": "CPM", "definition": "d", "expression": "cost / impressions * 1000"},
            "/metrics/dictionary",
            TECH,
        ),
        Write(
            "PUT /metrics/sources/{source_id}/mappings",
            f"/metrics/sources/{sid}/mappings",
            [{"entity": "cmp-1", "plan_id": aid}],
            None,
            TECH,
        ),
        Write(
            "POST /metrics/plans/{plan_id}/fraud-flags",
            f"/metrics/plans/{aid}/fraud-flags",
            {"source_id": sid, "entity": "cmp-1", "day": "2024-06-07", "reason": "spike"},
            f"/metrics/plans/{aid}/fraud-flags",
            SUPERVISOR,
        ),
        Write(
            "POST /metrics/plans/{plan_id}/experiments",
            f"/metrics/plans/{aid}/experiments",
            {
                "name": "hero creative",
                "metric": "ctr",
                "arms": [
                    {"name": "a", "entities": ["cmp-1"]},
                    {"name": "b", "entities": ["cmp-2"]},
                ],
                "minimum_sample": 1000,
            },
            f"/metrics/plans/{aid}/experiments",
            SUPERVISOR,
        ),
        Write(
            "PUT /metrics/plans/{plan_id}/fraud-flags/{flag_id}",
            f"/metrics/plans/{aid}/fraud-flags/{uuid.uuid4()}",
            {"status": "cleared", "note": "a school fair explains it"},
            f"/metrics/plans/{aid}/fraud-flags",
            SUPERVISOR,
        ),
        Write(
            "PUT /metrics/plans/{plan_id}/evaluation/{objective_id}",
            f"/metrics/plans/{aid}/evaluation/{approved['objectives'][0]['id']}",
            {"analysis": "fine"},
            f"/metrics/plans/{aid}/evaluation",
        ),
        Write(
            "PUT /metrics/fx-rates/{base}/{quote}/{valid_from}",
            "/metrics/fx-rates/USD/CNY/2024-06-01",
            {"rate": "7.1"},
            "/metrics/fx-rates",
            bearer(Role.FINANCE, "finance-zhao"),
        ),
        Write(
            "PUT /metrics/plans/{plan_id}/channels/parameters",
            f"/metrics/plans/{aid}/channels/parameters",
            {"gross_margin": "0.4", "purchase_frequency": "2", "lifespan_years": "1.5"},
            f"/metrics/plans/{aid}/channels/parameters",
            bearer(Role.FINANCE, "finance-zhao"),
        ),
        Write("POST /alerts/rules", "/alerts/rules", rule, "/alerts/rules"),
        Write(
            "PATCH /alerts/rules/{rule_id}",
            f"/alerts/rules/{rid}",
            {"severity": "critical"},
            "/alerts/rules",
        ),
        *[
            Write(
                f"POST /alerts/alerts/{{alert_id}}/{action}",
                f"/alerts/alerts/{alert}/{action}",
                body,
                "/alerts/alerts",
            )
            for action, body in (
                ("acknowledge", {"note": "on it"}),
                ("resolve", {"reason": "fixed"}),
                ("assign", {"assignee": "he"}),
            )
        ],
        Write("POST /alerts/silences", "/alerts/silences", silence, None),
        Write(
            "PUT /alerts/channels/{channel_id}",
            "/alerts/channels/ops-room",
            {
                "url": "https://hooks.example.com/x",
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            },
            "/alerts/channels",
            TECH,
            TECH,
        ),
        Write("POST /approvals/requests/preview", "/approvals/requests/preview", expense, None),
        Write("POST /approvals/requests", "/approvals/requests", expense, "/approvals/requests"),
        Write(
            "POST /approvals/requests/{request_id}/decisions",
            f"/approvals/requests/{req['id']}/decisions",
            {"stage": req["current_stage"], "decision": "approve"},
            f"/approvals/requests/{req['id']}",
            SUPERVISOR,
        ),
        Write(
            "POST /approvals/delegations",
            "/approvals/delegations",
            {"delegate": "deputy", "starts_at": _in(0), "ends_at": _in(2)},
            "/approvals/audit/export",
        ),
        Write(
            "PUT /approvals/notice-preferences/me",
            "/approvals/notice-preferences/me",
            wecom,
            "/approvals/notice-preferences/me",
            SUPERVISOR,
            SUPERVISOR,
        ),
        Write(
            "PUT /approvals/workflows/{key}",
            "/approvals/workflows/plan",
            {"title": "t", "stages": [{"name": "s", "roles": ["manager"]}]},
            "/approvals/workflows/plan",
            ADMIN,
        ),
    ]


def seed_task() -> dict[str, Any]:
    return {
        "name": "KOC screening",
        "owner_id": "specialist-amy",
        "approver_id": "supervisor-wang",
        "starts_on": "2024-05-01",
        "ends_on": "2024-05-10",
    }
