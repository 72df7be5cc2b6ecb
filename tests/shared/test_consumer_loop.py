"""The consumer loop over the Kafka transport (aiokafka-level fake) and real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.envelope import Envelope
from shared.kit.bus.consumer import ConsumerLoop
from shared.kit.bus.inbox import InfrastructureError
from shared.kit.bus.kafka import KafkaTransport
from shared.kit.bus.transport import Message
from shared.kit.db import create_engine, create_sessionmaker
from tests.shared.bus_fixtures import TOPIC, Recorder, plan_event, recording_inbox
from tests.shared.kafka_fake import FakeBroker


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_offsets_are_committed_only_after_the_effects_committed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    broker = FakeBroker(partitions_per_topic=1)
    transport = KafkaTransport(
        "fake:9092",
        "test",
        producer_factory=broker.producer_factory,
        consumer_factory=broker.consumer_factory,
    )
    publisher = transport.publisher()
    await publisher.start()
    messages = [
        Message(
            TOPIC,
            "a",
            Envelope.wrap(plan_event("a", n), source="planning", subject="a")
            .model_dump_json()
            .encode(),
        )
        for n in (1, 2)
    ]
    await publisher.publish(messages)

    def database_down(message: str) -> Exception:
        return OperationalError("INSERT", {}, ConnectionError(message))

    recorder = Recorder(fail_names={"a#2"}, error=database_down)
    loop = ConsumerLoop(
        transport.subscription("tasks.recorder", [TOPIC]),
        recording_inbox(sessions, recorder),
        fetch_timeout_seconds=0.2,
    )
    await loop.subscription.start()
    with pytest.raises(InfrastructureError):
        await loop.poll_once()
    assert broker.committed_offset("tasks.recorder", TOPIC, 0) in (None, 0)

    recorder.fail_names.clear()  # the database is back: the batch comes again
    await loop.subscription.rewind()
    assert await loop.poll_once() == 2
    assert recorder.applied == ["a#1", "a#2"]  # a#1 again was a duplicate, so no second effect
    assert broker.committed_offset("tasks.recorder", TOPIC, 0) == 2
    await loop.subscription.stop()
    await publisher.stop()
