"""Messages built from a state read as English: "an approved plan", "a submitted plan"."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.kit.wording import a_or_an
from tests.harness.factories.planning import approved_plan, seeded_plan
from tests.planning.helpers import SPECIALIST


async def test_an_approved_plan_is_refused_with_an_not_a(
    planning_client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plan = await approved_plan(sessions)
    refused = await planning_client.patch(
        f"/planning/plans/{plan.plan.id}", json={"name": "x"}, headers=SPECIALIST
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == "an approved plan changes only through an adjustment"
    submitted = await seeded_plan(sessions)
    await planning_client.post(f"/planning/plans/{submitted.plan.id}/submit", headers=SPECIALIST)
    frozen = await planning_client.patch(
        f"/planning/plans/{submitted.plan.id}", json={"name": "x"}, headers=SPECIALIST
    )
    assert frozen.json()["detail"] == "a submitted plan changes only through an adjustment"


def test_the_article_follows_the_first_sound_of_vowel_and_consonant_words() -> None:
    assert [a_or_an(w) for w in ("approved", "index", "draft", "executing", "Open")] == [
        "an approved",
        "an index",
        "a draft",
        "an executing",
        "an Open",
    ]
