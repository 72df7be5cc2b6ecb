"""An in-memory fake of the aiokafka producer and consumer surface the Kafka transport uses.

One ``FakeBroker`` holds topics → partitions → append-only record lists and the committed
offsets per (group, partition). Bind clients to it through its factories::

    broker = FakeBroker()
    transport = KafkaTransport("fake:9092", "svc",
                               producer_factory=broker.producer_factory,
                               consumer_factory=broker.consumer_factory)

Simplification: every consumer is assigned all partitions of its topics (no rebalancing
between members of one group); members of a group still share committed offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import (
    CommitFailedError,
    ConsumerStoppedError,
    IllegalStateError,
    KafkaConnectionError,
)
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord, RecordMetadata, TopicPartition


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record as the broker holds it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int


class FakeBroker:
    """Topics, partitions, committed offsets and injectable failures, all in memory."""

    def __init__(self, partitions_per_topic: int = 3) -> None:
        self.partitions_per_topic = partitions_per_topic
        self.topics: dict[str, list[list[StoredRecord]]] = {}
        self.committed: dict[tuple[str, TopicPartition], int] = {}
        self.producers: list[FakeProducer] = []
        self.consumers: list[FakeConsumer] = []
        self.down = False
        self._failing_deliveries = 0
        self._failing_commits = 0
        self._partitioner = DefaultPartitioner()
        self._appended = asyncio.Condition()

    def producer_factory(self, **kwargs: Any) -> FakeProducer:
        """Stand-in for AIOKafkaProducer(**kwargs), bound to this broker."""
        producer = FakeProducer(self, **kwargs)
        self.producers.append(producer)
        return producer

    def consumer_factory(self, *topics: str, **kwargs: Any) -> FakeConsumer:
        """Stand-in for AIOKafkaConsumer(*topics, **kwargs), bound to this broker."""
        consumer = FakeConsumer(self, *topics, **kwargs)
        self.consumers.append(consumer)
        return consumer

    def fail_next_deliveries(self, count: int = 1) -> None:
        """The next ``count`` sends resolve their delivery future with KafkaConnectionError."""
        self._failing_deliveries += count

    def fail_next_commits(self, count: int = 1) -> None:
        """The next ``count`` commits raise CommitFailedError and store nothing."""
        self._failing_commits += count

    def partitions(self, topic: str) -> list[list[StoredRecord]]:
        """The partitions of a topic, auto-creating it like a default broker does."""
        return self.topics.setdefault(topic, [[] for _ in range(self.partitions_per_topic)])

    def partition_for(self, topic: str, key: bytes) -> int:
        """The partition aiokafka's default partitioner picks for key."""
        ids = list(range(len(self.partitions(topic))))
        partition: int = self._partitioner(key, ids, ids)
        return partition

    def records(self, topic: str) -> list[StoredRecord]:
        """Every record of a topic, partition by partition, in offset order."""
        return [record for partition in self.partitions(topic) for record in partition]

    def committed_offset(self, group: str, topic: str, partition: int) -> int | None:
        """The offset group committed for the partition, if any."""
        return self.committed.get((group, TopicPartition(topic, partition)))

    def _take_delivery_failure(self) -> bool:
        if self._failing_deliveries:
            self._failing_deliveries -= 1
            return True
        return False

    def _take_commit_failure(self) -> bool:
        if self._failing_commits:
            self._failing_commits -= 1
            return True
        return False

    async def _append(self, record: StoredRecord) -> None:
        self.partitions(record.topic)[record.partition].append(record)
        async with self._appended:
            self._appended.notify_all()

    async def _wait_for_append(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds), self._appended:
                await self._appended.wait()


class FakeProducer:
    """Stand-in for AIOKafkaProducer: deliveries resolve on a later loop turn, in order."""

    def __init__(self, broker: FakeBroker, **kwargs: Any) -> None:
        self.broker = broker
        self.kwargs = kwargs
        self.started = False
        self.stopped = False
        self._pending: list[asyncio.Task[None]] = []
        self.client = self

    async def fetch_all_metadata(self) -> None:
        """Answer a metadata request (the producer's client is the producer itself here)."""
        if self.broker.down:
            raise KafkaConnectionError("Unable to get cluster metadata over all known brokers")

    async def start(self) -> None:
        """Fail like aiokafka's bootstrap when the broker is down."""
        if self.broker.down:
            raise KafkaConnectionError(
                f"Unable to bootstrap from {self.kwargs.get('bootstrap_servers')}"
            )
        self.started = True

    async def stop(self) -> None:
        """Wait for in-flight deliveries, then close."""
        await asyncio.gather(*self._pending, return_exceptions=True)
        self.stopped = True

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        """Queue one record; the returned future resolves once the broker stored it."""
        if not self.started or self.stopped:
            raise RuntimeError("FakeProducer.send() outside start()/stop()")
        if partition is None:
            partition = self.broker.partition_for(topic, key) if key is not None else 0
        record = StoredRecord(
            topic=topic,
            partition=partition,
            offset=-1,
            key=key,
            value=value,
            headers=tuple(headers or ()),
            timestamp=timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        )
        fail = self.broker._take_delivery_failure()
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        previous = self._pending[-1] if self._pending else None
        self._pending.append(asyncio.create_task(self._deliver(record, fail, delivery, previous)))
        return delivery

    async def _deliver(
        self,
        record: StoredRecord,
        fail: bool,
        delivery: asyncio.Future[Any],
        previous: asyncio.Task[None] | None,
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)  # keeps per-key order
        await asyncio.sleep(0)  # the acknowledgement arrives later, never inside send()
        if fail:
            delivery.set_exception(KafkaConnectionError("Connection to broker lost"))
            return
        log = self.broker.partitions(record.topic)[record.partition]
        stored = StoredRecord(
            record.topic,
            record.partition,
            len(log),
            record.key,
            record.value,
            record.headers,
            record.timestamp,
        )
        await self.broker._append(stored)
        delivery.set_result(
            RecordMetadata(
                topic=stored.topic,
                partition=stored.partition,
                topic_partition=TopicPartition(stored.topic, stored.partition),
                offset=stored.offset,
                timestamp=stored.timestamp,
                timestamp_type=0,
                log_start_offset=0,
            )
        )


class FakeConsumer:
    """Stand-in for AIOKafkaConsumer subscribed to topics with a group_id."""

    def __init__(self, broker: FakeBroker, *topics: str, **kwargs: Any) -> None:
        self.broker = broker
        self.topics = topics
        self.kwargs = kwargs
        self.group: str = kwargs["group_id"]
        self.stopped = False
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        """Join the group: take every partition, starting at the committed offset."""
        if self.broker.down:
            raise KafkaConnectionError(
                f"Unable to bootstrap from {self.kwargs.get('bootstrap_servers')}"
            )
        reset = self.kwargs.get("auto_offset_reset", "latest")
        for topic in self.topics:
            for number, log in enumerate(self.broker.partitions(topic)):
                tp = TopicPartition(topic, number)
                committed = self.broker.committed.get((self.group, tp))
                if committed is None:
                    committed = 0 if reset == "earliest" else len(log)
                self._positions[tp] = committed

    async def stop(self) -> None:
        """Leave; commits only if enable_auto_commit was left on, as aiokafka does."""
        if self.kwargs.get("enable_auto_commit", True) and not self.stopped:
            self._store(dict(self._positions))
        self.stopped = True

    def highwater(self, partition: TopicPartition) -> int | None:
        """The offset after the partition's last record, as of now."""
        return len(self.broker.partitions(partition.topic)[partition.partition])

    def assignment(self) -> set[TopicPartition]:
        """All partitions of the subscribed topics."""
        return set(self._positions)

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]:
        """Records after the current positions, waiting up to timeout_ms for the first one."""
        if self.stopped:
            raise ConsumerStoppedError()
        if max_records is not None and max_records < 1:
            raise ValueError("`max_records` must be a positive Integer")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while True:
            batch = self._take(partitions or tuple(sorted(self._positions)), max_records)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            await self.broker._wait_for_append(remaining)

    def _take(
        self, partitions: tuple[TopicPartition, ...], max_records: int | None
    ) -> dict[TopicPartition, list[Any]]:
        budget = max_records if max_records is not None else 10**9
        batch: dict[TopicPartition, list[Any]] = {}
        for tp in partitions:
            log = self.broker.partitions(tp.topic)[tp.partition]
            chosen = log[self._positions[tp] : self._positions[tp] + budget]
            if not chosen:
                continue
            batch[tp] = [_consumer_record(record) for record in chosen]
            self._positions[tp] += len(chosen)
            budget -= len(chosen)
            if budget == 0:
                break
        return batch

    async def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit the consumed positions (or the given offsets) for the group."""
        if not self._positions:
            raise IllegalStateError("No partitions assigned")
        if self.broker._take_commit_failure():
            raise CommitFailedError()
        self._store(offsets if offsets is not None else dict(self._positions))

    def _store(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            self.broker.committed[(self.group, tp)] = offset

    async def committed(self, partition: TopicPartition) -> int | None:
        """The group's committed offset for partition, or None."""
        return self.broker.committed.get((self.group, partition))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Set the next fetch position."""
        if partition not in self._positions:
            raise IllegalStateError(f"Partition {partition} is not assigned")
        self._positions[partition] = offset

    async def seek_to_beginning(self, *partitions: TopicPartition) -> bool:
        """Move to offset 0 (nothing is ever deleted here)."""
        for tp in partitions or tuple(self._positions):
            self.seek(tp, 0)
        return True

    async def seek_to_committed(self, *partitions: TopicPartition) -> dict[TopicPartition, Any]:
        """Like aiokafka 0.14: seeks only where the committed offset is > 0."""
        result: dict[TopicPartition, int | None] = {}
        for tp in partitions or tuple(self._positions):
            offset = await self.committed(tp)
            result[tp] = offset
            if offset and offset > 0:
                self.seek(tp, offset)
        return result


def _consumer_record(record: StoredRecord) -> Any:
    return ConsumerRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        timestamp_type=0,
        key=record.key,
        value=record.value,
        checksum=None,
        serialized_key_size=len(record.key) if record.key is not None else -1,
        serialized_value_size=len(record.value) if record.value is not None else -1,
        headers=record.headers,
    )
