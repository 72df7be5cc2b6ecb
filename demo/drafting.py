"""Steps 1–2 of the story: a specialist drafts the campaign and its tasks, the approvers pass it
from their inboxes, and it goes live with the alert rules made from its targets."""

from __future__ import annotations

from typing import Any

import httpx

from demo import seed
from demo.actors import FINANCE, MANAGER, SPECIALIST, SUPERVISOR, decide_all
from demo.harness import say, until


async def put(
    http: httpx.AsyncClient, plan: dict[str, Any], section: str, body: Any
) -> dict[str, Any]:
    """Replace a plan section with If-Match."""
    answer = await http.put(
        f"/planning/plans/{plan['plan']['id']}/{section}",
        json=body,
        headers={**SPECIALIST, "If-Match": f'"{plan["plan"]["revision"]}"'},
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


async def draft(http: httpx.AsyncClient) -> dict[str, Any]:
    """The plan with every section filled in, and its WBS tasks; returns the plan."""
    created = await http.post("/planning/plans", json=seed.PLAN, headers=SPECIALIST)
    created.raise_for_status()
    plan = created.json()
    plan_id = plan["plan"]["id"]
    plan = await put(http, plan, "objectives", [*seed.OBJECTIVES, seed.ROI_OBJECTIVE])
    plan = await put(http, plan, "audience", seed.AUDIENCE)
    plan = await put(http, plan, "channels", seed.CHANNELS)
    plan = await put(http, plan, "phases", seed.PHASES)
    channels = {c["name"]: c["id"] for c in plan["channels"]}
    plan = await put(http, plan, "budget", seed.budget(list(channels.values())))
    plan = await put(http, plan, "risks", seed.RISKS)
    say(
        f"   budget {plan['total_budget']} CNY, "
        f"reserve {plan['plan']['contingency_reserve']}"
        f" ({float(plan['reserve_share']):.1%})"
    )

    async def tasks_know_plan() -> bool:
        return (await http.get(f"/tasks/plans/{plan_id}", headers=SPECIALIST)).status_code == 200

    await until(tasks_know_plan, "the tasks service to learn the plan")
    for row in seed.WBS:
        (
            await http.post(f"/tasks/plans/{plan_id}/tasks", json=row, headers=SPECIALIST)
        ).raise_for_status()
    schedule = (await http.get(f"/tasks/plans/{plan_id}/schedule", headers=SPECIALIST)).json()
    say(f"   tasks M-001…M-004 created; critical path {' → '.join(schedule['critical_path'])}")
    result: dict[str, Any] = plan
    return result


async def approve(http: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    """Submit, approve from the inboxes, activate; returns the approved plan."""
    (await http.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)).raise_for_status()
    await decide_all(http, "plan", [SUPERVISOR, MANAGER, FINANCE])

    async def approved() -> dict[str, Any] | None:
        detail: dict[str, Any] = (
            await http.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
        ).json()
        return detail if detail["plan"]["status"] == "approved" else None

    plan = await until(approved, "the plan to be approved")
    (await http.post(f"/planning/plans/{plan_id}/activate", headers=SPECIALIST)).raise_for_status()

    async def default_rules() -> list[dict[str, Any]] | None:
        rules: list[dict[str, Any]] = (
            await http.get("/alerts/rules", params={"plan_id": plan_id}, headers=SPECIALIST)
        ).json()["items"]
        return rules or None

    rules = await until(default_rules, "default alert rules")
    say(f"   approved and active; {len(rules)} default alert rules made from its targets")
    return plan
