"""The Kafka topics a service needs, and their creation or verification at start-up.

A service needs the topics it publishes (its events in the catalogue) and the topics it
consumes. Brokers in production run with auto-creation off, so each service creates what is
missing with the configured partitions, replication and retention; ``make topics`` prints the
same list for an admin who prefers to create them by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.contract.envelope import EventPayload
from shared.kit.bus.inbox import Subscriber
from shared.kit.settings import Settings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code


@dataclass(frozen=True)
class TopicSpec:
    """One topic as a Kafka admin would create it."""

    name: str
    partitions: int
    replication_factor: int
    retention_ms: int

    def describe(self) -> str:
        """The topic as a kafka-topics.sh command line."""
        return (
            f"kafka-topics.sh --create --if-not-exists --topic {self.name} "
            f"--partitions {self.partitions} --replication-factor {self.replication_factor} "
            f"--config retention.ms={self.retention_ms}"
        )


def service_topics(
    service: str,
    subscribers: Sequence[Subscriber],
    catalogue: Iterable[type[EventPayload]],
    settings: Settings,
) -> list[TopicSpec]:
    """The prefixed topics one service publishes to or consumes from."""
    published = {p.topic_name() for p in catalogue if p.event_type.split(".")[0] == service}
    consumed = {topic for s in subscribers for topic in s.topics}
    return [
        TopicSpec(
            name=settings.topic(name),
            partitions=settings.kafka_topic_partitions,
            replication_factor=settings.kafka_replication_factor,
            retention_ms=settings.kafka_retention_ms,
        )
        for name in sorted(published | consumed)
    ]


class TopicAdmin(Protocol):
    """The part of aiokafka's AIOKafkaAdminClient this module uses."""

    async def list_topics(self) -> list[str]: ...

    async def create_topics(self, new_topics: list[Any], timeout_ms: int | None = None) -> Any: ...


class TopicCreationFailed(RuntimeError):
    """The broker refused to create a topic the service needs."""


async def ensure_topics(admin: TopicAdmin, specs: Sequence[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return their names."""
    from aiokafka.admin import NewTopic

    existing = set(await admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    if not missing:
        return []
    response = await admin.create_topics(
        [
            NewTopic(
                s.name,
                s.partitions,
                s.replication_factor,
                topic_configs={"retention.ms": str(s.retention_ms)},
            )
            for s in missing
        ]
    )
    failures = [
        f"{error[0]}: error {error[1]} {error[2] if len(error) > 2 else ''}".strip()
        for error in getattr(response, "topic_errors", [])
        if error[1] not in (0, TOPIC_ALREADY_EXISTS)
    ]
    if failures:
        raise TopicCreationFailed("Kafka refused to create topics: " + "; ".join(failures))
    created = [s.name for s in missing]
    log.info("created Kafka topics %s", created)
    return created


async def ensure_kafka_topics(settings: Settings, specs: Sequence[TopicSpec]) -> list[str]:
    """Connect an admin client to the configured brokers and ensure ``specs`` exist."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers or "", client_id=settings.kafka_client_id
    )
    await admin.start()
    try:
        return await ensure_topics(admin, specs)
    finally:
        await admin.close()
