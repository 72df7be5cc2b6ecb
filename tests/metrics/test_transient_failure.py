"""A database that cannot take a webhook just now gets a 503 with Retry-After, never a 2xx for
data it did not store; the platform's redelivery of the same delivery then stores it once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.kit.settings import Settings
from tests.harness.apps import one_service
from tests.metrics.helpers import canonical, post, register


@pytest.fixture
async def impatient(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The metrics service whose statements give up after 300 ms."""
    quick = settings.model_copy(update={"db_statement_timeout_ms": 300})
    async with one_service("metrics", quick, database_url) as (_app, http):
        yield http


async def test_a_locked_fact_table_gets_503_and_the_redelivery_stores_the_batch_once(
    impatient: httpx.AsyncClient, database_url: str
) -> None:
    source, secret = await register(impatient)
    batch = canonical("2024-06-08T09:00:00Z", ("cmp-1", "2024-06-07", "clicks", "120"))
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    maintenance = await asyncpg.connect(libpq)
    try:
        locked = maintenance.transaction()
        await locked.start()
        await maintenance.execute("LOCK TABLE metrics.facts IN ACCESS EXCLUSIVE MODE")
        refused = await post(impatient, source, secret, batch, delivery_id="msg_1")
        await locked.rollback()
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "1"
        assert await maintenance.fetchval("SELECT count(*) FROM metrics.facts") == 0
        assert await maintenance.fetchval("SELECT count(*) FROM metrics.deliveries") == 0

        stored = await post(impatient, source, secret, batch, delivery_id="msg_1")
        assert stored.status_code == 200, stored.text
        again = await post(impatient, source, secret, batch, delivery_id="msg_1")
        assert again.json() == stored.json()
        assert await maintenance.fetchval("SELECT sum(value) FROM metrics.facts") == 120
        assert await maintenance.fetchval("SELECT count(*) FROM metrics.fact_revisions") == 1
    finally:
        await maintenance.close()
