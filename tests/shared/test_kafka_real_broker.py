"""The Kafka transport against a real broker; runs only when KAFKA_BOOTSTRAP_SERVERS is set."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.kit.bus.kafka import KafkaSubscription, KafkaTransport
from shared.kit.bus.transport import Message

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        reason="no Kafka broker: set KAFKA_BOOTSTRAP_SERVERS to run the real-broker lane",
    ),
    pytest.mark.kafka,
]

DEADLINE_SECONDS = 30.0


@pytest.fixture
def servers() -> str:
    return os.environ["KAFKA_BOOTSTRAP_SERVERS"]


@pytest.fixture
def transport(servers: str) -> KafkaTransport:
    return KafkaTransport(servers, "bus-real-broker-test")


@pytest.fixture
async def topic(servers: str) -> AsyncIterator[str]:
    name = f"bus-test-{uuid.uuid4()}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, client_id="bus-real-broker-test")
    await admin.start()
    try:
        replicas = int(os.environ.get("KAFKA_TEST_REPLICATION_FACTOR", "1"))
        await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=replicas)])
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
