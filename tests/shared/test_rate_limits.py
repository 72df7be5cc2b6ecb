"""Per-client rate limits: past the window a client gets 429 with Retry-After; reads, other
clients and other sources are not held back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from allinone.app import create_allinone_app
from shared.contract.types import Role
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.metrics.helpers import canonical, post, register


@pytest.fixture
async def strict(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The all-in-one app allowing 5 writes per client and 3 webhooks per source a minute."""
    tight = settings.model_copy(
        update={"rate_limit_writes": "5/minute", "rate_limit_webhooks": "3/minute"}
    )
    app, root = create_allinone_app(tight, database_url=database_url)
    async with root.router.lifespan_context(root):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_a_client_past_its_write_window_gets_429_and_others_carry_on(
    strict: httpx.AsyncClient,
) -> None:
    noisy, quiet = bearer(Role.TECH, "noisy"), bearer(Role.TECH, "quiet")
    channel = {"url": "http://team.test/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    answers = [
        (await strict.put(f"/alerts/channels/c{n}", json=channel, headers=noisy)).status_code
        for n in range(6)
    ]
    assert answers == [200] * 5 + [429]
    refused = await strict.put("/alerts/channels/c9", json=channel, headers=noisy)
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["type"].endswith("/rate-limited")
    listed = await strict.get("/alerts/channels", headers=noisy)
    # c9 never stored
    assert [c["id"] for c in listed.json()["items"]] == [f"c{n}" for n in range(5)]
    assert (await strict.put("/alerts/channels/q", json=channel, headers=quiet)).status_code == 200


async def test_webhooks_are_counted_per_source(strict: httpx.AsyncClient) -> None:
    first, first_secret = await register(strict)
    second, second_secret = await register(strict)
    batch = canonical("2024-06-08T09:00:00Z", ("cmp-1", "2024-06-07", "clicks", "1"))
    codes = [(await post(strict, first, first_secret, batch)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert (await post(strict, second, second_secret, batch)).status_code == 200
