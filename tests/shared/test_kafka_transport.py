"""The Kafka transport against an in-memory aiokafka fake: what is sent, committed, redelivered."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from datetime import date

import pytest
from prometheus_client import REGISTRY

from shared.contract.envelope import Envelope
from shared.contract.events.planning import PlanCreatedV1
from shared.kit.bus.kafka import KafkaTransport
from shared.kit.bus.transport import Message, Subscription, Transport, TransportUnavailable
from tests.shared.kafka_fake import FakeBroker

SERVERS = "kafka-a:9092,kafka-b:9092"
TOPIC = "planning.plan"
GROUP = "tasks.planning-plan"


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker(partitions_per_topic=3)


@pytest.fixture
def transport(broker: FakeBroker) -> Transport:
    return KafkaTransport(
        SERVERS,
        "planning",
        producer_factory=broker.producer_factory,
        consumer_factory=broker.consumer_factory,
    )


def plan_created(subject: str, name: str = "Spring launch") -> Message:
    payload = PlanCreatedV1(
        plan_id=uuid.UUID(subject),
        name=name,
        product="search",
        owner_id="user-1",
        starts_on=date(2025, 3, 1),
        ends_on=date(2025, 3, 31),
        currency="EUR",
    )
    envelope = Envelope.wrap(payload, source="planning", subject=subject)
    return Message(
        topic=TOPIC,
        key=subject,
        value=envelope.model_dump_json().encode(),
        headers=(("event-type", b"planning.plan.created"), ("event-version", b"1")),
    )


def events_for_one_plan(count: int) -> list[Message]:
    subject = str(uuid.uuid4())
    return [plan_created(subject, name=f"rev {n}") for n in range(count)]


async def publish(transport: Transport, messages: Sequence[Message]) -> None:
    publisher = transport.publisher()
    await publisher.start()
    try:
        await publisher.publish(messages)
    finally:
        await publisher.stop()


async def subscribe(transport: Transport) -> Subscription:
    subscription = transport.subscription(GROUP, [TOPIC])
    await subscription.start()
    return subscription


async def fetch_until_quiet(subscription: Subscription) -> list[Message]:
    received: list[Message] = []
    # Small batches so the position moves across several fetches.
    while batch := await subscription.fetch(max_records=2, timeout_seconds=0.05):
        received.extend(batch)
    return received


def key_in_another_partition(broker: FakeBroker, taken: int) -> str:
    while True:
        subject = str(uuid.uuid4())
        if broker.partition_for(TOPIC, subject.encode()) != taken:
            return subject


async def test_publish_sends_topic_key_value_and_headers_as_given(
    broker: FakeBroker, transport: Transport
) -> None:
    message = plan_created(str(uuid.uuid4()))

    await publish(transport, [message])

    [record] = broker.records(TOPIC)
    assert record.topic == TOPIC
    assert record.key == message.key.encode("utf-8")
    assert record.value == message.value
    assert Envelope.model_validate_json(record.value).subject == message.key
    assert record.headers == message.headers


async def test_publish_returns_only_once_every_message_is_stored(
    broker: FakeBroker, transport: Transport
) -> None:
    messages = [plan_created(str(uuid.uuid4())) for _ in range(5)]
    publisher = transport.publisher()
    await publisher.start()

    await publisher.publish(messages)

    # Checked before stop(), which would flush anything still in flight.
    stored = [r.value for r in broker.records(TOPIC)]
    assert len(stored) == len(messages)
    assert set(stored) == {m.value for m in messages}
    await publisher.stop()


async def test_one_key_lands_in_one_partition_in_publish_order(
    broker: FakeBroker, transport: Transport
) -> None:
    plans = [events_for_one_plan(3) for _ in range(4)]
    interleaved = [event for round_ in zip(*plans, strict=True) for event in round_]

    await publish(transport, interleaved)

    for events in plans:
        key = events[0].key.encode()
        stored = [r for r in broker.records(TOPIC) if r.key == key]
        assert {r.partition for r in stored} == {broker.partition_for(TOPIC, key)}
        assert [r.value for r in stored] == [e.value for e in events]
    subscription = await subscribe(transport)
    received = await fetch_until_quiet(subscription)
    for events in plans:
        assert [m for m in received if m.key == events[0].key] == events


async def test_producer_waits_for_all_replicas_and_is_idempotent(
    broker: FakeBroker, transport: Transport
) -> None:
    await publish(transport, events_for_one_plan(1))

    [producer] = broker.producers
    assert producer.kwargs["acks"] == "all"
    assert producer.kwargs["enable_idempotence"] is True
    assert producer.kwargs["bootstrap_servers"] == SERVERS
    assert producer.kwargs["client_id"] == "planning"


async def test_consumer_joins_its_group_without_auto_commit_reading_from_earliest(
    broker: FakeBroker, transport: Transport
) -> None:
    events = events_for_one_plan(2)
    await publish(transport, events)

    subscription = await subscribe(transport)

    [consumer] = broker.consumers
    assert consumer.topics == (TOPIC,)
    assert consumer.kwargs["group_id"] == GROUP
    assert consumer.kwargs["enable_auto_commit"] is False
    assert consumer.kwargs["auto_offset_reset"] == "earliest"
    assert consumer.kwargs["bootstrap_servers"] == SERVERS
    # Records published before the group first joined are not skipped.
    assert await fetch_until_quiet(subscription) == events


async def test_uncommitted_records_come_again_to_the_next_member_of_the_group(
    transport: Transport,
) -> None:
    events = events_for_one_plan(3)
    await publish(transport, events)
    first = await subscribe(transport)
    assert await fetch_until_quiet(first) == events

    await first.stop()

    second = await subscribe(transport)
    assert await fetch_until_quiet(second) == events


async def test_committed_records_do_not_come_again(
    broker: FakeBroker, transport: Transport
) -> None:
    events = events_for_one_plan(3)
    await publish(transport, events)
    first = await subscribe(transport)
    assert await fetch_until_quiet(first) == events

    await first.commit()
    await first.stop()

    partition = broker.partition_for(TOPIC, events[0].key.encode())
    assert broker.committed_offset(GROUP, TOPIC, partition) == 3
    second = await subscribe(transport)
    assert await fetch_until_quiet(second) == []
    later = plan_created(events[0].key, name="renamed")
    await publish(transport, [later])
    assert await fetch_until_quiet(second) == [later]


async def test_commit_covers_what_was_fetched_not_the_end_of_the_topic(
    transport: Transport,
) -> None:
    events = events_for_one_plan(3)
    await publish(transport, events)
    first = await subscribe(transport)
    assert await first.fetch(max_records=2, timeout_seconds=1) == events[:2]

    await first.commit()
    await first.stop()

    second = await subscribe(transport)
    assert await fetch_until_quiet(second) == events[2:]


async def test_rewind_before_any_commit_fetches_everything_again(
    transport: Transport,
) -> None:
    events = events_for_one_plan(3)
    await publish(transport, events)
    subscription = await subscribe(transport)
    assert await fetch_until_quiet(subscription) == events

    await subscription.rewind()

    assert await fetch_until_quiet(subscription) == events


async def test_rewind_goes_back_to_the_last_commit_only(transport: Transport) -> None:
    events = events_for_one_plan(4)
    await publish(transport, events[:2])
    subscription = await subscribe(transport)
    assert await fetch_until_quiet(subscription) == events[:2]
    await subscription.commit()
    await publish(transport, events[2:])
    assert await fetch_until_quiet(subscription) == events[2:]

    await subscription.rewind()

    assert await fetch_until_quiet(subscription) == events[2:]


async def test_rewind_refetches_a_partition_whose_committed_offset_is_zero(
    broker: FakeBroker, transport: Transport
) -> None:
    committed_plan = events_for_one_plan(1)
    await publish(transport, committed_plan)
    subscription = await subscribe(transport)
    assert await fetch_until_quiet(subscription) == committed_plan
    # Commits position 0 for the partitions that were still empty.
    await subscription.commit()
    taken = broker.partition_for(TOPIC, committed_plan[0].key.encode())
    other = plan_created(key_in_another_partition(broker, taken))
    await publish(transport, [other])
    assert (
        broker.committed_offset(GROUP, TOPIC, broker.partition_for(TOPIC, other.key.encode())) == 0
    )
    assert await fetch_until_quiet(subscription) == [other]

    await subscription.rewind()

    assert await fetch_until_quiet(subscription) == [other]


async def test_fetch_waits_for_a_record_published_meanwhile(transport: Transport) -> None:
    subscription = await subscribe(transport)
    event = events_for_one_plan(1)
    waiting = asyncio.create_task(subscription.fetch(max_records=10, timeout_seconds=10))

    await publish(transport, event)

    assert await asyncio.wait_for(waiting, timeout=5) == event
    assert await subscription.fetch(max_records=10, timeout_seconds=0.01) == []


async def test_failed_delivery_raises_and_a_retry_leaves_no_gap(
    broker: FakeBroker, transport: Transport
) -> None:
    events = events_for_one_plan(3)
    publisher = transport.publisher()
    await publisher.start()
    broker.fail_next_deliveries(1)

    with pytest.raises(TransportUnavailable, match=re.escape(SERVERS)):
        await publisher.publish(events)

    assert events[0].value not in [r.value for r in broker.records(TOPIC)]
    await publisher.publish(events)
    await publisher.stop()
    stored = [r.value for r in broker.records(TOPIC)]
    assert stored[-3:] == [e.value for e in events]


async def test_publisher_start_with_the_broker_down_names_the_servers(
    broker: FakeBroker, transport: Transport
) -> None:
    broker.down = True
    publisher = transport.publisher()

    with pytest.raises(TransportUnavailable, match=re.escape(SERVERS)):
        await publisher.start()

    [producer] = broker.producers
    assert producer.stopped, "a producer that failed to start must be closed"


async def test_subscription_start_with_the_broker_down_names_the_servers(
    broker: FakeBroker, transport: Transport
) -> None:
    broker.down = True
    subscription = transport.subscription(GROUP, [TOPIC])

    with pytest.raises(TransportUnavailable, match=re.escape(SERVERS)):
        await subscription.start()

    [consumer] = broker.consumers
    assert consumer.stopped, "a consumer that failed to start must be closed"
    broker.down = False
    await subscription.start()
    assert len(broker.consumers) == 2


async def test_failed_commit_raises_and_the_records_stay_uncommitted(
    broker: FakeBroker, transport: Transport
) -> None:
    events = events_for_one_plan(3)
    await publish(transport, events)
    first = await subscribe(transport)
    assert await fetch_until_quiet(first) == events
    broker.fail_next_commits(1)

    with pytest.raises(TransportUnavailable, match="commit"):
        await first.commit()

    await first.stop()
    second = await subscribe(transport)
    assert await fetch_until_quiet(second) == events


async def test_consumer_lag_is_what_remains_behind_the_high_watermark(
    broker: FakeBroker, transport: Transport
) -> None:
    events = events_for_one_plan(5)
    await publish(transport, events)
    consumer = await subscribe(transport)
    assert await consumer.fetch(max_records=2, timeout_seconds=1) == events[:2]
    partition = str(broker.partition_for(TOPIC, events[0].key.encode()))
    labels = {"consumer": GROUP, "topic": TOPIC, "partition": partition}
    assert REGISTRY.get_sample_value("consumer_lag_records", labels) == 3
    await fetch_until_quiet(consumer)
    assert REGISTRY.get_sample_value("consumer_lag_records", labels) == 0
