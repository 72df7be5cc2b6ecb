"""The two buses the harness runs over: the embedded log (PostgreSQL) and Kafka.

The harness process uses a bus to prepare it and to ask how much of the log the consumer group
has not committed yet (the heal phase is over only when that reaches 0); the worker processes
build the kit's transport for it from the environment the harness hands them.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chaos.schema import GROUP, TOPIC_PREFIX
from shared.contract.events.planning import PlanCreatedV1
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.kafka import KafkaTransport

# Tansu numbers group generations from 0, so aiokafka sends no LeaveGroup, and a killed member
# never does: its partitions move only after the session timeout. Keep it at Kafka's minimum.
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 1_000


@dataclass(frozen=True)
class KafkaTarget:
    """A Kafka-protocol broker to run against, and what it can do."""

    bootstrap_servers: str
    idempotence: bool
    partitions: int = 3
    replication_factor: int = 1


class HarnessBus(Protocol):
    """What the harness needs of a bus."""

    name: str
    topic_prefix: str
    group: str

    async def prepare(self) -> None: ...

    def worker_env(self) -> dict[str, str]: ...

    async def unconsumed(self) -> int: ...

    async def close(self) -> None: ...


def _topics(prefix: str) -> list[str]:
    return [prefix + PlanCreatedV1.topic_name()]


class EmbeddedBus:
    """The embedded log in the run's own database; its offsets are rows we can count."""

    name = "embedded"

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.topic_prefix = TOPIC_PREFIX
        self.group = GROUP

    async def prepare(self) -> None:
        """Create the log's tables."""
        await EmbeddedTransport(self.engine).ensure_schema()

    def worker_env(self) -> dict[str, str]:
        """Workers find the log through CHAOS_DATABASE_URL already."""
        return {"CHAOS_BUS": self.name}

    async def unconsumed(self) -> int:
        """Records in the log past the group's committed position."""
        async with self.engine.connect() as conn:
            end = await conn.scalar(text("SELECT coalesce(sum(next_offset), 0) FROM bus.topics"))
            committed = await conn.scalar(
                text(
                    "SELECT coalesce(sum(next_offset), 0) FROM bus.group_offsets "
                    "WHERE group_id = :group"
                ),
                {"group": self.group},
            )
        return int(end or 0) - int(committed or 0)

    async def close(self) -> None:
        """Nothing of its own to close."""


class KafkaBus:
    """A topic and a consumer group of this run only, so runs can share a broker."""

    name = "kafka"

    def __init__(self, target: KafkaTarget) -> None:
        self.target = target
        run_id = uuid.uuid4().hex[:8]
        self.topic_prefix = f"{TOPIC_PREFIX}{run_id}."
        self.group = f"{GROUP}.{run_id}"
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def prepare(self) -> None:
        """Create the topic, and the clients that read the group's lag."""
        servers = self.target.bootstrap_servers
        self._admin = AIOKafkaAdminClient(bootstrap_servers=servers, client_id="chaos-harness")
        await self._admin.start()
        topics = _topics(self.topic_prefix)
        await self._admin.create_topics(
            [NewTopic(t, self.target.partitions, self.target.replication_factor) for t in topics]
        )
        self._partitions = [
            TopicPartition(t, p) for t in topics for p in range(self.target.partitions)
        ]
        # No group: this consumer only looks past the group's offsets; it never joins or commits.
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=servers, client_id="chaos-harness", enable_auto_commit=False
        )
        await self._offsets.start()
        self._offsets.assign(self._partitions)

    def worker_env(self) -> dict[str, str]:
        """Where the broker is and how the workers' clients are set."""
        return {
            "CHAOS_BUS": self.name,
            "CHAOS_TOPIC_PREFIX": self.topic_prefix,
            "CHAOS_GROUP": self.group,
            "KAFKA_BOOTSTRAP_SERVERS": self.target.bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": str(self.target.idempotence).lower(),
        }

    async def unconsumed(self) -> int:
        """Records on the topic at or past the group's committed offsets (0 when consumed).

        Read by fetching from the committed offsets rather than from ListOffsets: Tansu answers
        "latest" with the last batch's first offset + 1, short of the real end.
        """
        assert self._admin is not None, "prepare() first"  # noqa: S101
        assert self._offsets is not None, "prepare() first"  # noqa: S101
        committed = await self._admin.list_consumer_group_offsets(
            self.group, partitions=self._partitions
        )
        for partition in self._partitions:
            meta = committed.get(partition)
            self._offsets.seek(partition, max(meta.offset, 0) if meta else 0)
        batches = await self._offsets.getmany(timeout_ms=1_000, max_records=10_000)
        return sum(len(records) for records in batches.values())

    async def close(self) -> None:
        """Delete the run's topic and close the clients."""
        if self._offsets is not None:
            await self._offsets.stop()
        if self._admin is not None:
            try:
                await self._admin.delete_topics(_topics(self.topic_prefix))
            finally:
                await self._admin.close()


def worker_transport(engine: AsyncEngine) -> tuple[EmbeddedTransport | KafkaTransport, str, str]:
    """The transport, topic prefix and group a worker process uses (from its environment)."""
    if os.environ.get("CHAOS_BUS", "embedded") == "embedded":
        return EmbeddedTransport(engine, poll_seconds=0.05), TOPIC_PREFIX, GROUP
    transport = KafkaTransport(
        os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        "chaos-worker",
        enable_idempotence=os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "true") == "true",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
    )
    return transport, os.environ["CHAOS_TOPIC_PREFIX"], os.environ["CHAOS_GROUP"]
