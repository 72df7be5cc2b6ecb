"""The tasks API with docs/domain.md §3's M-001…M-004 and §5's progress log.

The tasks service runs alone: plans and WBS are built by tests/harness/factories/tasks.py, and
other services' events are delivered twice through tasks' inbox, as a redelivery would.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from demo.seed import OWNERS, WBS
from services.tasks.jobs import JOBS
from services.tasks.models import Task, bus
from shared.contract.events.alerts import AlertRaisedV1, FollowUpTask
from shared.contract.events.planning import PlanApprovedV1
from shared.contract.types import Role, Severity
from shared.kit.db import create_engine
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.harness.delivery import deliver, service_runtime
from tests.harness.factories import tasks as factories

SPECIALIST = bearer(Role.SPECIALIST, "specialist-amy")
Sessions = async_sessionmaker[AsyncSession]


async def with_wbs(sessions: Sessions) -> tuple[str, dict[str, dict[str, Any]]]:
    """A known plan holding the §3 WBS: its id, and its tasks by code as the API shows them."""
    plan_id, tasks = await factories.with_wbs(sessions)
    return str(plan_id), {code: t.model_dump(mode="json") for code, t in tasks.items()}


async def step(
    client: httpx.AsyncClient, task: dict[str, Any], to: str, who: str, **extra: str
) -> httpx.Response:
    role = Role.SUPERVISOR if who.startswith("supervisor") else Role.SPECIALIST
    return await client.post(
        f"/tasks/tasks/{task['id']}/status", json={"to": to, **extra}, headers=bearer(role, who)
    )


async def finish(client: httpx.AsyncClient, task: dict[str, Any]) -> None:
    for to, who in (
        ("in_progress", task["owner_id"]),
        ("submitted", task["owner_id"]),
        ("done", "supervisor-wang"),
    ):
        moved = await step(client, task, to, who)
        assert moved.status_code == 200, moved.text


async def test_the_wbs_table_round_trips_and_m004_waits_for_m001_and_m003(
    tasks_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = await factories.known_plan(sessions)
    tasks = {}
    for row in WBS:
        created = await tasks_client.post(
            f"/tasks/plans/{plan_id}/tasks", json=row, headers=SPECIALIST
        )
        assert created.status_code == 201, created.text
        tasks[row["code"]] = created.json()
    listed = (await tasks_client.get(f"/tasks/plans/{plan_id}/tasks", headers=SPECIALIST)).json()[
        "items"
    ]
    for row, stored in zip(WBS, listed, strict=True):
        expected = {k: v for k, v in row.items() if k != "prerequisites"}
        assert {k: stored[k] for k in expected} == expected
        assert [p["code"] for p in stored["prerequisites"]] == [
            p["code"] for p in row.get("prerequisites", [])
        ]
    m004 = tasks["M-004"]
    early = await step(tasks_client, m004, "in_progress", OWNERS["specialist"])
    assert early.status_code == 422
    assert early.json()["waiting_for"] == ["M-001", "M-003"]
    for code in ("M-001", "M-002", "M-003"):
        await finish(tasks_client, tasks[code])
    started = await step(tasks_client, m004, "in_progress", OWNERS["specialist"])
    assert started.status_code == 200, started.text


async def test_a_cycle_is_refused_with_the_cycle_spelled_out(
    tasks_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    _plan, tasks = await with_wbs(sessions)
    refused = await tasks_client.post(
        f"/tasks/tasks/{tasks['M-002']['id']}/prerequisites",
        json={"code": "M-004"},
        headers=SPECIALIST,
    )
    assert refused.status_code == 422
    assert refused.json()["cycle"] == ["M-002", "M-003", "M-004", "M-002"]
    again = (
        await tasks_client.get(f"/tasks/tasks/{tasks['M-002']['id']}", headers=SPECIALIST)
    ).json()
    assert again["prerequisites"] == []


async def test_bad_tasks_are_refused_and_nothing_is_saved(
    tasks_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id, _tasks = await with_wbs(sessions)
    other_plan = await factories.known_plan(sessions, name="other")
    await factories.create_task(sessions, other_plan, {**WBS[0], "code": "X-001"})
    base = {**WBS[0], "code": "M-005", "prerequisites": []}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**base, "prerequisites": [{"code": "M-999"}]}, "prerequisites.0.code"),
        ({**base, "prerequisites": [{"code": "X-001"}]}, "prerequisites.0.code"),
        ({**base, "ends_on": "2024-04-30"}, "ends_on"),
        ({**base, "owner_id": ["specialist-amy", "copywriter-lu"]}, "owner_id"),
        ({**base, "approver_id": base["owner_id"]}, "approver_id"),
        ({**base, "code": "M-001"}, "code"),
        ({**base, "starts_on": "2024-04-01"}, "starts_on"),
    ]
    for body, field in cases:
        refused = await tasks_client.post(
            f"/tasks/plans/{plan_id}/tasks", json=body, headers=SPECIALIST
        )
        assert refused.status_code in (409, 422), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        fields = [problem.get("field")] + [e["field"] for e in problem.get("errors") or []]
        assert field in fields, (field, problem)
    listed = (await tasks_client.get(f"/tasks/plans/{plan_id}/tasks", headers=SPECIALIST)).json()[
        "items"
    ]
    assert [t["code"] for t in listed] == ["M-001", "M-002", "M-003", "M-004"]
    unknown = await tasks_client.post(
        f"/tasks/plans/{uuid.uuid4()}/tasks", json=base, headers=SPECIALIST
    )
    assert unknown.status_code == 404


async def test_only_r2_approves_and_reasons_are_required(
    tasks_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    _plan, tasks = await with_wbs(sessions)
    m001 = tasks["M-001"]
    await step(tasks_client, m001, "in_progress", OWNERS["specialist"])
    await step(tasks_client, m001, "submitted", OWNERS["specialist"])
    self_approved = await step(tasks_client, m001, "done", OWNERS["specialist"])
    assert self_approved.status_code == 403
    no_reason = await step(tasks_client, m001, "returned", "supervisor-wang")
    assert no_reason.status_code == 422
    returned = await step(
        tasks_client, m001, "returned", "supervisor-wang", reason="quotes missing"
    )
    assert returned.json()["status"] == "returned"
    skipped = await step(tasks_client, m001, "done", "supervisor-wang")
    assert skipped.status_code == 409


async def test_the_progress_log_row_round_trips_and_history_is_kept(
    tasks_client: httpx.AsyncClient, database_url: str, sessions: Sessions
) -> None:
    _plan, tasks = await with_wbs(sessions)
    row = {
        "logged_on": "2024-05-20",
        "progress": "8 KOC posts done, 2 being revised",
        "completion": 80,
        "issue": "2 posts rejected for medical claims",
        "impact": "publishing 2 days late",
        "owner_id": OWNERS["copywriter"],
        "measure": "rewrite claims, resubmit",
        "eta_on": "2024-05-22",
        "status": "in_progress",
    }
    task_id = tasks["M-003"]["id"]
    logged = await tasks_client.post(
        f"/tasks/tasks/{task_id}/progress", json=row, headers=SPECIALIST
    )
    assert logged.status_code == 201, logged.text
    stored = (
        await tasks_client.get(f"/tasks/tasks/{task_id}/progress", headers=SPECIALIST)
    ).json()["items"]
    assert {k: stored[0][k] for k in row} == row
    assert (await tasks_client.get(f"/tasks/tasks/{task_id}", headers=SPECIALIST)).json()[
        "completion"
    ] == 80
    handled = await tasks_client.patch(
        f"/tasks/tasks/{task_id}/progress/{stored[0]['id']}",
        json={"status": "handled"},
        headers=SPECIALIST,
    )
    assert handled.json()["status"] == "handled"
    moved = await tasks_client.patch(
        f"/tasks/tasks/{task_id}",
        json={"ends_on": "2024-05-27", "reason": "claims rewritten"},
        headers={**SPECIALIST, "If-Match": f'"{tasks["M-003"]["row_version"] + 1}"'},
    )
    assert moved.status_code == 200, moved.text
    history = (
        await tasks_client.get(f"/tasks/tasks/{task_id}/history", headers=SPECIALIST)
    ).json()["items"]
    assert [(h["field"], h["before"], h["after"]) for h in history] == [
        ("completion", "0", "80"),
        ("ends_on", "2024-05-25", "2024-05-27"),
    ]
    stale = await tasks_client.patch(
        f"/tasks/tasks/{task_id}", json={"name": "x"}, headers={**SPECIALIST, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        kinds = (await conn.execute(select(bus.outbox.c.event_type))).scalars().all()
    await engine.dispose()
    assert kinds.count("tasks.task.issue_logged") == 1
    assert kinds.count("tasks.task.issue_resolved") == 1


async def test_the_schedule_marks_the_critical_path(
    tasks_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id, _tasks = await with_wbs(sessions)
    schedule = (
        await tasks_client.get(f"/tasks/plans/{plan_id}/schedule", headers=SPECIALIST)
    ).json()
    assert schedule["critical_path"] == ["M-002", "M-003", "M-004"]
    slack = {i["code"]: i["slack_days"] for i in schedule["items"]}
    assert slack["M-001"] > 0
    assert slack["M-004"] == 0


async def test_reminders_fire_once_per_task_and_day_under_two_schedulers(
    database_url: str, settings: Settings, sessions: Sessions
) -> None:
    await with_wbs(sessions)
    engine = create_engine(database_url)
    (job,) = JOBS
    monday = datetime(2024, 5, 27, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    await asyncio.gather(
        job.run_once(sessions, settings, monday), job.run_once(sessions, settings, monday)
    )
    await job.run_once(sessions, settings, monday)
    tuesday = datetime(2024, 5, 28, 1, 0, tzinfo=UTC)
    await job.run_once(sessions, settings, tuesday)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(bus.outbox.c.event_type, bus.outbox.c.envelope["data"]["code"].astext).where(
                    bus.outbox.c.event_type.in_(["tasks.task.overdue", "tasks.task.due_soon"])
                )
            )
        ).all()
    await engine.dispose()
    overdue = sorted(code for kind, code in rows if kind == "tasks.task.overdue")
    # Monday: M-001..M-003 ended before the 27th; Tuesday: the same three again.
    assert overdue == ["M-001", "M-001", "M-002", "M-002", "M-003", "M-003"]
    assert sorted(code for kind, code in rows if kind == "tasks.task.due_soon") == ["M-004"]


async def test_an_alert_follow_up_creates_one_rapid_response_task(
    tasks_client: httpx.AsyncClient, settings: Settings, database_url: str, sessions: Sessions
) -> None:
    plan_id = str(await factories.known_plan(sessions))
    alert = AlertRaisedV1(
        alert_id=uuid.uuid4(),
        rule_id=uuid.uuid4(),
        fingerprint="ctr",
        severity=Severity.WARNING,
        plan_id=uuid.UUID(plan_id),
        summary="feed-ad CTR 1.2% (target 1.5%)",
        metric="ctr",
        started_at=datetime(2024, 6, 7, 9, 0, tzinfo=UTC),
        follow_up=FollowUpTask(
            title="new key visual with pain-point scenes",
            owner_id="optimiser-he",
            approver_id="supervisor-wang",
            due_on=date(2024, 6, 8),
        ),
    )
    async with service_runtime("tasks", settings, database_url) as tasks:
        outcomes = await deliver(tasks, alert, str(alert.alert_id), times=2)
    assert outcomes == ["applied", "duplicate"]

    listed = await tasks_client.get(f"/tasks/plans/{plan_id}/tasks", headers=SPECIALIST)
    (task,) = listed.json()["items"]
    assert task["alert_id"] == str(alert.alert_id)
    assert (task["owner_id"], task["ends_on"], task["priority"]) == (
        "optimiser-he",
        "2024-06-08",
        "high",
    )


async def test_an_attached_template_is_instantiated_when_the_plan_is_approved(
    tasks_client: httpx.AsyncClient, settings: Settings, database_url: str, sessions: Sessions
) -> None:
    source, _tasks = await with_wbs(sessions)
    saved = await tasks_client.post(
        "/tasks/templates",
        json={"name": "Xiaohongshu KOC seeding", "from_plan_id": source},
        headers=SPECIALIST,
    )
    assert saved.status_code == 201, saved.text
    target = str(
        await factories.known_plan(
            sessions, name="double 11", starts_on=date(2024, 10, 1), ends_on=date(2024, 11, 30)
        )
    )
    attached = await tasks_client.post(
        f"/tasks/plans/{target}/templates",
        json={
            "template_id": saved.json()["id"],
            "start_on": "2024-10-08",
            "owner_id": "specialist-amy",
            "approver_id": "supervisor-wang",
        },
        headers=SPECIALIST,
    )
    assert attached.status_code == 200, attached.text
    approved = PlanApprovedV1(plan_id=uuid.UUID(target), version=1, by="finance-zhao")
    async with service_runtime("tasks", settings, database_url) as tasks:
        outcomes = await deliver(tasks, approved, target, times=2)
    assert outcomes == ["applied", "duplicate"]

    listed = (await tasks_client.get(f"/tasks/plans/{target}/tasks", headers=SPECIALIST)).json()[
        "items"
    ]
    assert [(t["code"], t["starts_on"]) for t in listed] == [
        ("M-001", "2024-10-08"),
        ("M-002", "2024-10-18"),
        ("M-003", "2024-10-23"),
        ("M-004", "2024-11-02"),
    ]
    assert [p["code"] for p in listed[3]["prerequisites"]] == ["M-001", "M-003"]
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(Task).where(Task.plan_id == uuid.UUID(target))
        )
    await engine.dispose()
    assert count == 4


async def test_baseline_variance_and_an_owners_week(
    tasks_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id, tasks = await with_wbs(sessions)
    none_yet = await tasks_client.get(f"/tasks/plans/{plan_id}/variance", headers=SPECIALIST)
    assert none_yet.status_code == 404
    assert (
        await tasks_client.post(f"/tasks/plans/{plan_id}/baselines", headers=SPECIALIST)
    ).status_code == 201
    m003 = tasks["M-003"]
    moved = await tasks_client.patch(
        f"/tasks/tasks/{m003['id']}",
        json={"ends_on": "2024-05-28", "reason": "claims rewritten"},
        headers=SPECIALIST,
    )
    assert moved.status_code == 200
    variance = {
        v["code"]: v
        for v in (
            await tasks_client.get(f"/tasks/plans/{plan_id}/variance", headers=SPECIALIST)
        ).json()["items"]
    }
    assert variance["M-003"]["end_variance_days"] == 2  # Sat 25th → Tue 28th: Mon and Tue
    assert variance["M-001"]["end_variance_days"] == 0
    schedule = (
        await tasks_client.get(f"/tasks/plans/{plan_id}/schedule", headers=SPECIALIST)
    ).json()
    flagged = {i["code"]: i["dependency_violation"] for i in schedule["items"]}
    assert flagged["M-004"] == "starts before M-003 ends"
    await tasks_client.post(
        f"/tasks/tasks/{tasks['M-001']['id']}/progress",
        json={
            "logged_on": "2024-05-08",
            "progress": "quotes pending",
            "completion": 50,
            "issue": "3 KOCs slow to quote",
            "owner_id": OWNERS["specialist"],
            "eta_on": "2024-05-14",
        },
        headers=SPECIALIST,
    )
    week = (
        await tasks_client.get(f"/tasks/owners/{OWNERS['specialist']}/week", headers=SPECIALIST)
    ).json()
    assert [t["code"] for t in week["overdue"]] == [
        "M-001",
        "M-004",
    ]  # both ended long before today
    assert [t["code"] for t in week["at_risk"]] == ["M-001"]  # its issue's ETA is past its end
