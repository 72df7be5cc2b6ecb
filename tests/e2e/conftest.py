"""The all-in-one app as the end-to-end stories use it: served on a loopback port, or in-process
on the suite's Kafka broker."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from allinone.app import create_allinone_app
from demo.harness import serving
from shared.kit.settings import BusKind, Settings
from tests.harness.apps import all_in_one
from tests.kafka_broker import KafkaBroker, kafka_settings


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live(database_url: str) -> Iterator[str]:
    """The all-in-one app with its relays, consumers and jobs, on a loopback port."""
    settings = Settings(
        database_url=database_url, bus=BusKind.EMBEDDED, relay_idle_poll_seconds=0.05
    )
    app, _root = create_allinone_app(settings, database_url=database_url)
    port = free_port()
    with serving(app, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def kafka_client(
    database_url: str, kafka_broker: KafkaBroker
) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``client`` (all five services in one process, every relay and consumer running),
    but on the Kafka broker, with topics and consumer groups of this test alone: tests sharing
    the broker never read one another's events."""
    settings = kafka_settings(
        database_url,
        kafka_broker,
        topic_prefix=f"e2e-{uuid.uuid4().hex[:8]}.",
        consumer_max_attempts=3,
        migrate_on_start=False,  # the template is migrated, as for ``client``
    )
    async with all_in_one(settings, database_url) as (_dispatcher, _root, http):
        yield http
