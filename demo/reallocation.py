"""Step 5 of the story: budget moves from the pop-up store to feed ads, the committee approves
the adjustment, and the plan reaches version 2."""

from __future__ import annotations

from typing import Any

import httpx

from demo.actors import FINANCE, MANAGER, SALES, SPECIALIST, decide_all
from demo.harness import say, until


async def move_budget(
    http: httpx.AsyncClient, plan_id: str, plan: dict[str, Any]
) -> dict[str, Any]:
    """Propose the move on ``plan``'s budget lines and see it approved; returns version 2."""
    lines = {line["name"]: line["id"] for line in plan["budget"]}
    (
        await http.post(
            f"/planning/plans/{plan_id}/adjustments",
            headers=SPECIALIST,
            json={
                "kind": "budget_reallocation",
                "reason": "pop-up converts poorly; feed ads convert well",
                "moves": [
                    {
                        "from_budget_line_id": lines["offline events"],
                        "to_budget_line_id": lines["feed ads"],
                        "amount": "100000.00",
                    }
                ],
            },
        )
    ).raise_for_status()
    await decide_all(http, "adjustment", [MANAGER, SALES, FINANCE])

    async def version_two() -> dict[str, Any] | None:
        detail: dict[str, Any] = (
            await http.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
        ).json()
        return detail if detail["plan"]["version"] == 2 else None

    plan = await until(version_two, "plan version 2")
    changes = (
        await http.get(f"/planning/plans/{plan_id}/versions/2/changes", headers=SPECIALIST)
    ).json()
    say(
        f"   plan version 2: {len(changes['changes'])} changes, feed ads now "
        f"{next(b['planned'] for b in plan['budget'] if b['name'] == 'feed ads')} CNY"
    )
    return plan
