"""A service on a real Kafka-protocol broker: its consumer groups, and readiness without it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from distributed.broker import LocalBroker
from services.tasks.app import DEFINITION as TASKS
from shared.kit.app import create_service_app
from shared.kit.settings import Settings
from tests.kafka_broker import KafkaBroker, kafka_settings
from tests.polling import eventually

pytestmark = pytest.mark.kafka


async def groups_with_members(servers: str, groups: set[str]) -> set[str]:
    """Which of these groups have members now.

    Tansu answers DescribeGroups, not ListGroups, and only for one group per request.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, client_id="group-listing-test")
    await admin.start()
    try:
        found = set()
        for name in sorted(groups):
            for response in await admin.describe_consumer_groups([name]):
                found |= {str(g[1]) for g in response.groups if g[0] == 0 and g[5]}
        return found
    finally:
        await admin.close()


@pytest.fixture
def frozen_broker() -> Iterator[LocalBroker]:
    """A broker of this test's own, which it may freeze without disturbing the others."""
    with LocalBroker() as broker:
        yield broker


@pytest.fixture
async def tasks_on(database_url: str) -> AsyncIterator[object]:
    """Start the tasks service on given settings; the yielded function returns its client."""
    stack: list[tuple[object, httpx.AsyncClient]] = []

    async def start(settings: Settings) -> httpx.AsyncClient:
        app = create_service_app(TASKS, settings=settings, database_url=database_url)
        context = app.router.lifespan_context(app)
        await context.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        stack.append((context, client))
        return client

    yield start
    for context, client in reversed(stack):
        await client.aclose()
        await context.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_consumer_groups_carry_the_environment_prefix(
    database_url: str, kafka_broker: KafkaBroker, tasks_on: object
) -> None:
    prefix = f"env-{uuid.uuid4().hex[:8]}."
    settings = kafka_settings(database_url, kafka_broker, topic_prefix=prefix)
    await tasks_on(settings)  # type: ignore[operator]
    expected = {f"{prefix}{subscriber.group}" for subscriber in TASKS.subscribers}
    # The same names without the prefix are another environment's groups on this broker.
    unprefixed = {subscriber.group for subscriber in TASKS.subscribers}

    async def joined() -> set[str] | None:
        groups = await groups_with_members(kafka_broker.bootstrap_servers, expected | unprefixed)
        return groups if expected <= groups else None

    groups = await eventually(joined, timeout=60, interval=0.5)
    assert not unprefixed & groups


async def test_readiness_follows_the_broker_away_and_back(
    database_url: str, frozen_broker: LocalBroker, tasks_on: object
) -> None:
    broker = KafkaBroker(frozen_broker.bootstrap_servers, "Tansu", idempotence=False)
    settings = kafka_settings(database_url, broker, kafka_readiness_timeout_seconds=3)
    client: httpx.AsyncClient = await tasks_on(settings)  # type: ignore[operator]

    async def status_is(code: int) -> bool:
        return (await client.get("/readyz")).status_code == code

    await eventually(lambda: status_is(200), timeout=60, interval=0.2)
    frozen_broker.pause()
    try:
        await eventually(lambda: status_is(503), timeout=60, interval=0.2)
        answer = await client.get("/readyz", headers={"Accept-Language": "en"})
        assert answer.json()["detail"] == "database ok, bus down"
    finally:
        frozen_broker.resume()
    await eventually(lambda: status_is(200), timeout=60, interval=0.2)
