"""What the broker holds, set against what each service's outbox and inbox say.

Read from the broker itself: every prefixed topic from its first offset with a group-less
consumer, and each consumer group's committed offsets. Read from each service's schema: the
outbox (what it published) and the inbox (what each of its consumers applied).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from allinone.app import DEFINITIONS
from shared.contract.events import CATALOGUE
from shared.kit.bus.topics import service_topics
from shared.kit.db import create_engine
from shared.kit.settings import Settings


@dataclass(frozen=True)
class Record:
    """One event as the broker holds it."""

    topic: str  # without the prefix
    partition: int
    offset: int
    key: str
    event_id: str
    event_type: str


@dataclass(frozen=True)
class Ledger:
    """The broker's topics, the groups' offsets and the services' bus tables at one moment."""

    records: list[Record]
    end_offsets: dict[TopicPartition, int]
    committed: dict[str, dict[TopicPartition, int]]  # prefixed group → partition → offset
    published: dict[str, str]  # outbox event id → unprefixed topic (sent rows)
    unsent: int
    applied: dict[str, set[str]]  # consumer (unprefixed group) → event ids in its inbox
    parked: int

    def discrepancies(self, settings: Settings) -> list[str]:
        """Everything that breaks "each event once on the broker, once in each inbox"."""
        found: list[str] = []
        if self.unsent:
            found.append(f"{self.unsent} outbox rows not yet sent")
        copies = Counter(r.event_id for r in self.records)
        for event_id, topic in sorted(self.published.items()):
            on_topic = sum(1 for r in self.records if r.event_id == event_id and r.topic == topic)
            if on_topic != 1:
                found.append(f"outbox event {event_id} is on {topic} {on_topic} times")
        strangers = sorted(set(copies) - set(self.published))
        if strangers:
            found.append(f"on the broker but in no outbox: {strangers}")
        for definition in DEFINITIONS:
            for subscriber in definition.subscribers:
                expected = {
                    r.event_id
                    for r in self.records
                    if r.topic in subscriber.topics and r.event_type in subscriber.event_types
                }
                applied = self.applied.get(subscriber.group, set())
                if missing := expected - applied:
                    found.append(f"{subscriber.group} has not applied {sorted(missing)}")
                if extra := applied - expected:
                    found.append(f"{subscriber.group} applied events not on its topics: {extra}")
                group = settings.consumer_group(subscriber.group)
                for partition, end in self.end_offsets.items():
                    if partition.topic not in {settings.topic(t) for t in subscriber.topics}:
                        continue
                    committed = self.committed.get(group, {}).get(partition, 0)
                    if committed != end:
                        found.append(f"{group} committed {committed} of {end} on {partition}")
        return found


def all_topics(settings: Settings) -> list[str]:
    """Every prefixed topic any service publishes to or consumes from."""
    return sorted(
        {
            spec.name
            for d in DEFINITIONS
            for spec in service_topics(d.name, d.subscribers, CATALOGUE, settings)
        }
    )


async def read_broker(
    settings: Settings, timeout_seconds: float = 30
) -> tuple[list[Record], dict[TopicPartition, int]]:
    """Every record of every topic, from the first offset to the end offsets read at the start."""
    servers = settings.kafka_bootstrap_servers or ""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers, group_id=None, enable_auto_commit=False, client_id="ledger"
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata partitions_for_topic reads
        partitions = [
            TopicPartition(topic, p)
            for topic in all_topics(settings)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        listed: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        raw = []
        async with asyncio.timeout(timeout_seconds):
            while behind := await _behind(consumer, partitions):
                batches = await consumer.getmany(*behind, timeout_ms=500)
                raw += [r for records in batches.values() for r in records]
        # Tansu answers ListOffsets with the last batch's first offset + 1, short of the end
        # when a batch held several records; the high watermark of a fetch is right.
        ends = {p: max(listed[p], consumer.highwater(p) or 0) for p in partitions}
    finally:
        await consumer.stop()
    records = []
    for r in raw:
        envelope = json.loads(r.value)
        records.append(
            Record(
                r.topic.removeprefix(settings.topic_prefix),
                r.partition,
                r.offset,
                (r.key or b"").decode(),
                envelope["id"],
                envelope["type"],
            )
        )
    return records, ends


async def _behind(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> list[TopicPartition]:
    """Partitions not yet fetched at all, or read short of their high watermark."""
    behind = []
    for partition in partitions:
        highwater = consumer.highwater(partition)
        if highwater is None or await consumer.position(partition) < highwater:
            behind.append(partition)
    return behind


async def committed_offsets(
    settings: Settings, partitions: list[TopicPartition]
) -> dict[str, dict[TopicPartition, int]]:
    """Each prefixed consumer group's committed offset on each partition of its topics."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers or "", client_id="ledger"
    )
    await admin.start()
    try:
        result: dict[str, dict[TopicPartition, int]] = {}
        for subscriber in (s for d in DEFINITIONS for s in d.subscribers):
            group = settings.consumer_group(subscriber.group)
            topics = {settings.topic(t) for t in subscriber.topics}
            # Partitions named, one group per request: Tansu answers "all partitions" and
            # several groups at once in a shape aiokafka cannot decode.
            offsets = await admin.list_consumer_group_offsets(
                group, partitions=[p for p in partitions if p.topic in topics]
            )
            result[group] = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        return result
    finally:
        await admin.close()


async def read_ledger(settings: Settings, database_url: str) -> Ledger:
    """The database first, then the broker's records, then the groups' offsets: whatever moves
    meanwhile shows as a difference that goes away once the system is quiet (waited for)."""
    published: dict[str, str] = {}
    applied: dict[str, set[str]] = {}
    unsent = parked = 0
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            for d in DEFINITIONS:
                outbox, inbox, dead = d.bus.outbox, d.bus.inbox, d.bus.dead_letters
                rows = (
                    await conn.execute(select(outbox.c.event_id, outbox.c.topic, outbox.c.sent_at))
                ).all()
                published |= {str(r.event_id): r.topic for r in rows if r.sent_at is not None}
                unsent += sum(1 for r in rows if r.sent_at is None)
                for consumer, event_id in (
                    await conn.execute(select(inbox.c.consumer, inbox.c.event_id))
                ).all():
                    applied.setdefault(consumer, set()).add(str(event_id))
                parked += await conn.scalar(select(func.count()).select_from(dead)) or 0
    finally:
        await engine.dispose()
    records, ends = await read_broker(settings)
    committed = await committed_offsets(settings, list(ends))
    return Ledger(records, ends, committed, published, unsent, applied, parked)
