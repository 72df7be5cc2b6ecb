"""The knowledge base finds English words in any inflection and Chinese text as written."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.harness.factories.planning import approved_plan
from tests.planning.helpers import SPECIALIST

ROWS: list[dict[str, Any]] = [
    {
        "stage": "pop-up event",
        "what_worked": "the turnstile counted every visitor",
        "fell_short": "queues at the entrance",
        "root_cause": "one gate for the whole venue",
        "measure": "open a second gate",
        "owner_id": "manager-li",
        "due_on": "2024-07-15",
    },
    {
        "stage": "校园活动",
        "what_worked": "闸机计数准确",
        "fell_short": "入口排队过长",
        "root_cause": "只有一个入口",
        "measure": "增加入口",
        "owner_id": "manager-li",
        "due_on": "2024-07-15",
    },
]


async def _search(client: httpx.AsyncClient, q: str) -> list[str]:
    found = await client.get("/planning/retrospectives", params={"q": q}, headers=SPECIALIST)
    assert found.status_code == 200, found.text
    return [r["stage"] for r in found.json()["items"]]


async def test_plurals_phrases_and_chinese_text_are_found(
    planning_client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plan_id = (await approved_plan(sessions)).plan.id
    for step in ("activate", "complete"):
        assert (
            await planning_client.post(f"/planning/plans/{plan_id}/{step}", headers=SPECIALIST)
        ).is_success
    filed = await planning_client.put(
        f"/planning/plans/{plan_id}/retrospective", json=ROWS, headers=SPECIALIST
    )
    assert filed.status_code == 200, filed.text
    assert await _search(planning_client, "turnstiles") == [
        "pop-up event"
    ]  # the row says "turnstile"
    assert await _search(planning_client, "queue") == ["pop-up event"]  # ... and "queues"
    assert await _search(planning_client, "visitors counted") == [
        "pop-up event"
    ]  # words in any order
    assert await _search(planning_client, '"counted every visitor"') == ["pop-up event"]
    assert await _search(planning_client, "turnstile -queues") == []  # websearch syntax excludes
    assert await _search(planning_client, "闸机") == ["校园活动"]  # Chinese: as a substring
    assert await _search(planning_client, "排队") == ["校园活动"]
    # What it does not find: Chinese by meaning or other wording (no word segmentation, no
    # synonyms), and English words that share no stem.
    assert await _search(planning_client, "检票口") == []  # another word for a gate
    assert (
        await _search(planning_client, "gates queuing") == []
    )  # "queuing" does not stem to "queue"
