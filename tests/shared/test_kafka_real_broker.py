"""The Kafka transport against a real broker: a Tansu of the suite, or KAFKA_BOOTSTRAP_SERVERS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.kit.bus.kafka import KafkaSubscription, KafkaTransport
from shared.kit.bus.transport import Message
from tests.kafka_broker import TEST_HEARTBEAT_INTERVAL_MS, TEST_SESSION_TIMEOUT_MS, KafkaBroker

pytestmark = pytest.mark.kafka

DEADLINE_SECONDS = 30.0


@pytest.fixture
def transport(kafka_broker: KafkaBroker) -> KafkaTransport:
    return KafkaTransport(
        kafka_broker.bootstrap_servers,
        "bus-real-broker-test",
        enable_idempotence=kafka_broker.idempotence,
        session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=TEST_HEARTBEAT_INTERVAL_MS,
    )


@pytest.fixture
async def topic(kafka_broker: KafkaBroker) -> AsyncIterator[str]:
    name = f"bus-test-{uuid.uuid4()}"
    admin = AIOKafkaAdminClient(
        bootstrap_servers=kafka_broker.bootstrap_servers, client_id="bus-real-broker-test"
    )
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=3, replication_factor=kafka_broker.replication_factor)]
        )
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def fetch_until(subscription: KafkaSubscription, count: int) -> list[Message]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    received: list[Message] = []
    while len(received) < count and loop.time() < deadline:
        received.extend(await subscription.fetch(max_records=count, timeout_seconds=0.5))
    return received


async def publish(transport: KafkaTransport, messages: list[Message]) -> None:
    publisher = transport.publisher()
    await publisher.start()
    try:
        await publisher.publish(messages)
    finally:
        await publisher.stop()


def events(topic: str, subject: str, count: int, first: int = 0) -> list[Message]:
    return [
        Message(topic, subject, f'{{"n":{n}}}'.encode(), (("event-type", b"test"),))
        for n in range(first, first + count)
    ]


async def test_committed_records_are_not_delivered_to_the_next_member(
    transport: KafkaTransport, topic: str
) -> None:
    group = f"bus-test-{uuid.uuid4()}"
    subject = str(uuid.uuid4())
    sent = events(topic, subject, 3)
    await publish(transport, sent)

    first = transport.subscription(group, [topic])
    await first.start()
    try:
        assert await fetch_until(first, 3) == sent
        await first.commit()
    finally:
        await first.stop()

    # A marker published afterwards proves the second member is reading, without a fixed wait.
    marker = events(topic, subject, 1, first=3)
    await publish(transport, marker)
    second = transport.subscription(group, [topic])
    await second.start()
    try:
        assert await fetch_until(second, 1) == marker
        assert await second.fetch(max_records=10, timeout_seconds=0.5) == []
    finally:
        await second.stop()


async def test_uncommitted_records_come_again_after_rewind_and_to_the_next_member(
    transport: KafkaTransport, topic: str
) -> None:
    group = f"bus-test-{uuid.uuid4()}"
    sent = events(topic, str(uuid.uuid4()), 3)
    await publish(transport, sent)

    first = transport.subscription(group, [topic])
    await first.start()
    try:
        assert await fetch_until(first, 3) == sent
        await first.rewind()
        assert await fetch_until(first, 3) == sent
    finally:
        await first.stop()

    second = transport.subscription(group, [topic])
    await second.start()
    try:
        assert await fetch_until(second, 3) == sent
    finally:
        await second.stop()
