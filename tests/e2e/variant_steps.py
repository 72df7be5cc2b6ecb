"""The steps the variants of the demo's story are made of: the people, reading the bus log
(``bus.records``) for a plan's events, waiting until the whole system has settled, and the
REST calls each variant repeats."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import text

from allinone.app import DEFINITIONS
from demo import seed
from demo.drafting import put
from shared.contract.types import Role
from shared.kit.db import create_engine
from shared.kit.errors import PROBLEM_JSON
from tests.conftest import bearer
from tests.polling import eventually

# The people of the story; the specialist is the requester, so never an approver.
SPECIALIST = bearer(Role.SPECIALIST, "specialist-amy")  # demo.drafting.put files as this person
SUPERVISOR = bearer(Role.SUPERVISOR, "supervisor-wang")
MANAGER = bearer(Role.MANAGER, "manager-li")
FINANCE = bearer(Role.FINANCE, "finance-zhao")

Json = dict[str, Any]

# Every consumer group of the system and the topics it reads (no topic prefix in tests).
SUBSCRIBERS = [s for definition in DEFINITIONS for s in definition.subscribers]


# --- reading the bus log -------------------------------------------------------------------


async def _records(database_url: str, topic: str) -> list[Json]:
    """Every envelope on one topic, in offset order, with its key."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text('SELECT key, value FROM bus.records WHERE topic = :t ORDER BY "offset"'),
                    {"t": topic},
                )
            ).all()
    finally:
        await engine.dispose()
    return [{"key": row.key, **json.loads(row.value)} for row in rows]


async def plan_events(database_url: str, plan_id: str) -> list[str]:
    """The plan's events on ``planning.plan``, in order, without the topic prefix."""
    return [
        r["type"].removeprefix("planning.plan.")
        for r in await _records(database_url, "planning.plan")
        if r["key"] == plan_id
    ]


# A plan's lifecycle steps, and what approval would publish for consumers to set up.
LIFECYCLE = frozenset(
    {"created", "submitted", "approved", "rejected", "activated", "completed", "targets_set"}
)


async def plan_lifecycle(database_url: str, plan_id: str) -> list[str]:
    """The plan's lifecycle events in order (section edits and risk notices left out)."""
    return [t for t in await plan_events(database_url, plan_id) if t in LIFECYCLE]


async def approval_events(database_url: str, plan_id: str) -> list[tuple[str, str]]:
    """(request kind, event) of every approvals event about the plan, in order."""
    return [
        (r["data"]["kind"], r["type"].removeprefix("approvals.request."))
        for r in await _records(database_url, "approvals.request")
        if r["data"].get("plan_id") == plan_id
    ]


async def task_events(database_url: str, plan_id: str) -> list[tuple[str, str]]:
    """(event, task code) of every tasks event about the plan, in order."""
    return [
        (r["type"].removeprefix("tasks.task."), r["data"].get("code", ""))
        for r in await _records(database_url, "tasks.task")
        if r["data"].get("plan_id") == plan_id
    ]


async def settled(database_url: str) -> None:
    """Wait until nothing is in flight: every outbox relayed, every consumer group caught up."""
    engine = create_engine(database_url, pool_size=1)

    async def quiet() -> bool | None:
        async with engine.connect() as conn:
            schemas = (
                await conn.execute(
                    text(
                        "SELECT table_schema FROM information_schema.tables "
                        "WHERE table_name = 'outbox' ORDER BY 1"
                    )
                )
            ).scalars()
            for schema in list(schemas):
                unsent = await conn.scalar(
                    text(f'SELECT count(*) FROM "{schema}".outbox WHERE sent_at IS NULL')
                )
                if unsent:
                    return None
            rows = await conn.execute(text("SELECT topic, next_offset FROM bus.topics"))
            ends: dict[str, int] = {topic: int(offset) for topic, offset in rows}
            rows = await conn.execute(
                text("SELECT group_id, topic, next_offset FROM bus.group_offsets")
            )
            positions = {(group, topic): int(offset) for group, topic, offset in rows}
            lagging = [
                (subscriber.group, topic)
                for subscriber in SUBSCRIBERS
                for topic in subscriber.topics
                if positions.get((subscriber.group, topic), 0) < ends.get(topic, 0)
            ]
            return None if lagging else True

    try:
        await eventually(quiet, timeout=20)
    finally:
        await engine.dispose()


# --- REST steps -----------------------------------------------------------------------------


async def get_json(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    """GET as the manager (any authenticated role may read); must answer 200."""
    answer = await http.get(path, params=params or None, headers=MANAGER)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def draft_plan(http: httpx.AsyncClient, name: str) -> Json:
    """The seed plan with every section filled, still a draft; the tasks service knows it."""
    created = await http.post(
        "/planning/plans", json={**seed.PLAN, "name": name}, headers=SPECIALIST
    )
    assert created.status_code == 201, created.text
    plan: Json = created.json()
    plan = await put(http, plan, "objectives", seed.OBJECTIVES)
    plan = await put(http, plan, "audience", seed.AUDIENCE)
    plan = await put(http, plan, "channels", seed.CHANNELS)
    plan = await put(http, plan, "phases", seed.PHASES)
    plan = await put(http, plan, "budget", seed.budget([c["id"] for c in plan["channels"]]))
    plan = await put(http, plan, "risks", seed.RISKS)
    await tasks_know(http, plan["plan"]["id"])
    return plan


async def tasks_know(http: httpx.AsyncClient, plan_id: str) -> None:
    """Wait for the tasks service to learn the plan from planning's events."""

    async def known() -> bool:
        answer = await http.get(f"/tasks/plans/{plan_id}", headers=SPECIALIST)
        return answer.status_code == 200

    await eventually(known)


async def in_inbox(http: httpx.AsyncClient, headers: dict[str, str], plan_id: str) -> Json:
    """Wait for the plan's pending plan request to show in this approver's inbox."""

    async def waiting() -> Json | None:
        answer = await http.get("/approvals/inbox", headers=headers)
        assert answer.status_code == 200, answer.text
        return next(
            (r for r in answer.json()["items"] if r["kind"] == "plan" and r["plan_id"] == plan_id),
            None,
        )

    return await eventually(waiting)


async def decide(
    http: httpx.AsyncClient, headers: dict[str, str], request: Json, decision: str, comment: str
) -> Json:
    """Decide the request's open stage; must answer 200."""
    answer = await http.post(
        f"/approvals/requests/{request['id']}/decisions",
        json={"stage": request["current_stage"], "decision": decision, "comment": comment},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    result: Json = answer.json()
    return result


async def plan_in_status(http: httpx.AsyncClient, plan_id: str, status: str) -> Json:
    """Wait for planning to show the plan in ``status``."""

    async def reached() -> Json | None:
        detail: Json = await get_json(http, f"/planning/plans/{plan_id}")
        return detail if detail["plan"]["status"] == status else None

    return await eventually(reached)


async def assert_nothing_set_up(http: httpx.AsyncClient, plan_id: str) -> None:
    """What approval sets up is absent: no tasks, no schedule baseline, no default alert rules."""
    assert (await get_json(http, f"/tasks/plans/{plan_id}/tasks"))["items"] == []
    variance = await http.get(f"/tasks/plans/{plan_id}/variance", headers=MANAGER)
    assert (variance.status_code, variance.json()["type"]) == (404, "/problems/not-found")
    assert (await get_json(http, "/alerts/rules", plan_id=plan_id))["items"] == []


def assert_problem(answer: httpx.Response, status: int, slug: str, rule: str) -> Json:
    """The answer is RFC 9457 problem+json of this type, naming this rule."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    problem: Json = answer.json()
    assert (problem["type"], problem["status"], problem["rule"]) == (
        f"/problems/{slug}",
        status,
        rule,
    )
    assert problem["instance"] == answer.request.url.path
    return problem
