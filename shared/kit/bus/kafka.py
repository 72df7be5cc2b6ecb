"""The Kafka transport: aiokafka clients behind the Publisher and Subscription protocols."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import ConsumerStoppedError, KafkaError

from shared.kit.bus.transport import Message, TransportUnavailable
from shared.kit.observability import CONSUMER_LAG

ClientFactory = Callable[..., Any]

# What aiokafka raises when the broker is unreachable or refuses; TimeoutError is an OSError.
_BROKER_ERRORS = (KafkaError, ConsumerStoppedError, OSError)


@contextmanager
def _broker_errors(action: str, bootstrap_servers: str) -> Iterator[None]:
    """Re-raise aiokafka and socket errors as TransportUnavailable."""
    try:
        yield
    except TransportUnavailable:
        raise
    except _BROKER_ERRORS as exc:
        name, detail = type(exc).__name__, str(exc)
        # aiokafka's messages already start with the class name; a bare TimeoutError has none.
        reason = detail if detail.startswith(name) else f"{name}: {detail}".rstrip(": ")
        raise TransportUnavailable(
            f"Kafka at {bootstrap_servers}: {action} failed: {reason}"
        ) from exc


class _Client:
    """One aiokafka client, built on start() and dropped on stop()."""

    def __init__(
        self, bootstrap_servers: str, client_id: str, factory: ClientFactory, start_timeout: float
    ) -> None:
        self._servers = bootstrap_servers
        self._client_id = client_id
        self._factory = factory
        self._start_timeout = start_timeout
        self._client: Any = None

    async def _start(self, *args: str, **kwargs: Any) -> None:
        # Built here, not in __init__: aiokafka binds to the running event loop on construction.
        client = self._factory(
            *args, bootstrap_servers=self._servers, client_id=self._client_id, **kwargs
        )
        try:
            with self._errors(f"{type(self).__name__} start"):
                # An address that drops packets would otherwise hang for request_timeout_ms.
                async with asyncio.timeout(self._start_timeout):
                    await client.start()
        except BaseException:
            with self._errors("closing after a failed start"):
                await client.stop()
            raise
        self._client = client

    async def stop(self) -> None:
        """Disconnect; a later start() connects again."""
        client, self._client = self._client, None
        if client is not None:
            with self._errors(f"{type(self).__name__} stop"):
                await client.stop()

    def _started(self) -> Any:
        if self._client is None:
            raise RuntimeError(f"{type(self).__name__} used before start()")
        return self._client

    def _errors(self, action: str) -> AbstractContextManager[None]:
        return _broker_errors(action, self._servers)


class KafkaPublisher(_Client):
    """A producer that waits for every acknowledgement (idempotent unless the broker lacks it)."""

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        factory: ClientFactory,
        start_timeout: float,
        enable_idempotence: bool,
    ) -> None:
        super().__init__(bootstrap_servers, client_id, factory, start_timeout)
        self._enable_idempotence = enable_idempotence

    async def start(self) -> None:
        """Connect; raise TransportUnavailable if the broker cannot be reached."""
        await self._start(acks="all", enable_idempotence=self._enable_idempotence)

    async def probe(self, timeout_seconds: float) -> None:
        """Ask the cluster for its metadata; raise TransportUnavailable if no broker answers.

        aiokafka's fetch and idle producer never fail while the broker is gone (they retry
        quietly), so readiness needs a question that must be answered.
        """
        producer = self._started()
        with self._errors("probe"):
            async with asyncio.timeout(timeout_seconds):
                await producer.client.fetch_all_metadata()

    async def publish(self, messages: Sequence[Message]) -> None:
        """Send all messages and return once every one is acknowledged by all in-sync replicas."""
        producer = self._started()
        deliveries: list[asyncio.Future[Any]] = []
        with self._errors("publish"):
            try:
                for message in messages:
                    key = message.key.encode("utf-8")
                    headers = list(message.headers)
                    deliveries.append(
                        await producer.send(message.topic, message.value, key=key, headers=headers)
                    )
                await asyncio.gather(*deliveries)
            except BaseException:
                # Observe every outcome so no failed delivery is left unretrieved.
                await asyncio.gather(*deliveries, return_exceptions=True)
                raise


class KafkaSubscription(_Client):
    """A consumer-group member whose offsets move only on commit()."""

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        factory: ClientFactory,
        start_timeout: float,
        group: str,
        topics: Sequence[str],
        group_settings: dict[str, int],
    ) -> None:
        super().__init__(bootstrap_servers, client_id, factory, start_timeout)
        self._group = group
        self._topics = tuple(topics)
        self._group_settings = group_settings
        self._fetched_since_commit = False

    async def start(self) -> None:
        """Join the group; raise TransportUnavailable if the broker cannot be reached."""
        await self._start(
            *self._topics,
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self._group_settings,
        )
        self._fetched_since_commit = False

    async def fetch(self, max_records: int, timeout_seconds: float) -> Sequence[Message]:
        """Next records after the current position, in order per partition; empty on timeout."""
        consumer = self._started()
        with self._errors("fetch"):
            batches = await consumer.getmany(
                timeout_ms=int(timeout_seconds * 1000), max_records=max_records
            )
        messages = [
            Message(
                topic=record.topic,
                key=record.key.decode("utf-8") if record.key is not None else "",
                value=record.value if record.value is not None else b"",
                headers=tuple((name, value) for name, value in record.headers or ()),
            )
            for records in batches.values()
            for record in records
        ]
        self._fetched_since_commit = self._fetched_since_commit or bool(messages)
        for partition, records in batches.items():
            highwater = consumer.highwater(partition)
            if records and highwater is not None:
                CONSUMER_LAG.labels(self._group, partition.topic, str(partition.partition)).set(
                    highwater - records[-1].offset - 1
                )
        return messages

    async def commit(self) -> None:
        """Commit the position after everything fetched so far."""
        consumer = self._started()
        if not self._fetched_since_commit:
            return  # Nothing moved; also avoids IllegalStateError before the first assignment.
        with self._errors("commit"):
            # Without arguments aiokafka commits the consumed position of every assigned partition.
            await consumer.commit()
        self._fetched_since_commit = False

    async def rewind(self) -> None:
        """Go back to the last committed position, so uncommitted records are fetched again."""
        consumer = self._started()
        with self._errors("rewind"):
            if not consumer.assignment():
                return  # A later assignment starts from the committed offsets anyway.
            committed = await consumer.seek_to_committed()
            # seek_to_committed() only seeks when the offset is > 0; a partition with nothing
            # committed (None) or committed at 0 would otherwise keep its uncommitted position.
            for partition, offset in committed.items():
                if offset is None:
                    await consumer.seek_to_beginning(partition)
                elif offset == 0:
                    consumer.seek(partition, 0)


class KafkaTransport:
    """Publishers and subscriptions for one Kafka cluster."""

    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        *,
        producer_factory: ClientFactory = AIOKafkaProducer,
        consumer_factory: ClientFactory = AIOKafkaConsumer,
        start_timeout_seconds: float = 30.0,
        enable_idempotence: bool = True,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
    ) -> None:
        self._servers = bootstrap_servers
        self._client_id = client_id
        self._producer_factory = producer_factory
        self._consumer_factory = consumer_factory
        self._start_timeout = start_timeout_seconds
        self._enable_idempotence = enable_idempotence
        self._group_settings = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
        }

    def publisher(self) -> KafkaPublisher:
        """A new publisher."""
        return KafkaPublisher(
            self._servers,
            self._client_id,
            self._producer_factory,
            self._start_timeout,
            self._enable_idempotence,
        )

    def subscription(self, group: str, topics: Sequence[str]) -> KafkaSubscription:
        """A new subscription for a consumer group."""
        return KafkaSubscription(
            self._servers,
            self._client_id,
            self._consumer_factory,
            self._start_timeout,
            group,
            topics,
            self._group_settings,
        )
