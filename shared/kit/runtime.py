"""One service's moving parts: engine, sessions, relay and consumers, started and stopped as one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter
from sqlalchemy import MetaData, extract, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.contract.events import CATALOGUE
from shared.kit import migrations
from shared.kit.bus.consumer import ConsumerLoop
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.health import BrokerWatch
from shared.kit.bus.inbox import Inbox, Subscriber
from shared.kit.bus.relay import Relay
from shared.kit.bus.tables import BusTables
from shared.kit.bus.topics import TopicSpec, ensure_kafka_topics, service_topics
from shared.kit.bus.transport import Transport
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.jobs import PeriodicJob
from shared.kit.listen import listen
from shared.kit.observability import DEAD_LETTERS, OUTBOX_OLDEST_AGE, OUTBOX_PENDING
from shared.kit.settings import BusKind, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything the kit needs to run a service; each service declares one in app.py."""

    name: str
    metadata: MetaData
    bus: BusTables
    migrations_dir: Path
    routers: Sequence[APIRouter]
    subscribers: Sequence[Subscriber] = field(default=())
    jobs: Sequence[PeriodicJob] = field(default=())
    # Scrape-time gauges a service reads from its own tables (e.g. alerts firing).
    observers: Sequence[Callable[[AsyncSession], Awaitable[None]]] = field(default=())
    description: str = ""


def build_transport(settings: Settings, bus_engine: AsyncEngine) -> Transport:
    """The transport the settings ask for."""
    if settings.bus_kind is BusKind.KAFKA:
        from shared.kit.bus.kafka import KafkaTransport

        if not settings.kafka_bootstrap_servers:
            raise ValueError("BUS=kafka needs KAFKA_BOOTSTRAP_SERVERS")
        return KafkaTransport(
            settings.kafka_bootstrap_servers,
            settings.kafka_client_id,
            enable_idempotence=settings.kafka_enable_idempotence,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        )
    return EmbeddedTransport(bus_engine)


def _waker(wake: asyncio.Event) -> Callable[[str], None]:
    """A listener callback that sets ``wake`` whatever the payload."""
    return lambda _payload: wake.set()


class ServiceRuntime:
    """Starts migrations, the relay and the consumers of one service; stops them cleanly."""

    def __init__(
        self,
        definition: ServiceDefinition,
        settings: Settings,
        database_url: str,
        transport: Transport | None = None,
        *,
        consumers: bool = True,
    ) -> None:
        self.definition = definition
        self.settings = settings
        self.engine = create_engine(
            database_url,
            pool_size=settings.db_pool_size,
            application_name=definition.name,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        self.sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(self.engine)
        self.transport = transport or build_transport(settings, self.engine)
        self.publisher = self.transport.publisher()
        self.broker_watch = BrokerWatch(self.publisher, settings.kafka_readiness_timeout_seconds)
        self.relay = Relay(
            self.engine,
            definition.bus.outbox,
            self.publisher,
            topic_prefix=settings.topic_prefix,
            batch_size=settings.relay_batch_size,
            idle_poll_seconds=settings.relay_idle_poll_seconds,
        )
        self.inboxes = {
            s.group: Inbox(
                s,
                definition.bus,
                self.sessions,
                CATALOGUE,
                max_attempts=settings.consumer_max_attempts,
                after_commit=self.relay.wake,
            )
            for s in definition.subscribers
        }
        self.consumers = [
            ConsumerLoop(
                self.transport.subscription(
                    settings.consumer_group(inbox.consumer),
                    [settings.topic(t) for t in inbox.subscriber.topics],
                ),
                inbox,
            )
            for inbox in self.inboxes.values()
            if consumers  # off: the inboxes stay, for a caller that delivers records itself
        ]
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def migrate(self) -> None:
        """Apply this service's pending migrations."""
        await migrations.upgrade(self.engine, self.definition.name, self.definition.migrations_dir)

    async def start(self, *, background: bool = True) -> None:
        """Migrate (if configured), connect the publisher and start the loops."""
        if self.settings.migrate_on_start:
            await self.migrate()
        await self.publisher.start()
        if self.settings.bus_kind is BusKind.KAFKA and self.settings.kafka_create_topics:
            await ensure_kafka_topics(self.settings, self.topics())
        if background:
            self._stop.clear()
            name = self.definition.name
            self._tasks = [
                asyncio.create_task(self.relay.run(self._stop), name=f"{name}-relay"),
                asyncio.create_task(self.broker_watch.run(self._stop), name=f"{name}-broker-watch"),
            ]
            self._tasks += [
                asyncio.create_task(c.run(self._stop), name=c.inbox.consumer)
                for c in self.consumers
            ]
            if self.settings.jobs_enabled:
                for job in self.definition.jobs:
                    wake = asyncio.Event() if job.wake_channel else None
                    self._tasks.append(
                        asyncio.create_task(
                            job.run(
                                self.sessions,
                                self.settings,
                                self._stop,
                                after_commit=self.relay.wake,
                                wake=wake,
                            ),
                            name=f"{name}-{job.name}",
                        )
                    )
                    if job.wake_channel and wake is not None:
                        self._tasks.append(
                            asyncio.create_task(
                                listen(
                                    self.engine,
                                    job.wake_channel,
                                    _waker(wake),
                                    self._stop,
                                ),
                                name=f"{name}-{job.name}-listener",
                            )
                        )

    def topics(self) -> list[TopicSpec]:
        """The Kafka topics this service publishes to or consumes from."""
        d = self.definition
        return service_topics(d.name, d.subscribers, CATALOGUE, self.settings)

    def request_stop(self) -> None:
        """Ask the loops to wind down without waiting; ``stop`` then finds them finishing.
        Lets a caller with several runtimes stop them together instead of one after another."""
        self._stop.set()

    async def stop(self) -> None:
        """Stop the loops (consumers leave after their current batch), flush, disconnect."""
        self._stop.set()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            for task in done:
                if not task.cancelled() and task.exception():
                    log.error(
                        "%s stopped with an error", task.get_name(), exc_info=task.exception()
                    )
        await self.publisher.stop()
        await self.engine.dispose()

    async def observe(self) -> None:
        """Refresh the gauges a scrape reads from the database: outbox backlog, dead letters."""
        outbox, dead = self.definition.bus.outbox, self.definition.bus.dead_letters
        name = self.definition.name
        try:
            async with self.engine.connect() as conn:
                pending, oldest = (
                    await conn.execute(
                        select(
                            func.count(),
                            func.coalesce(
                                extract("epoch", func.now() - func.min(outbox.c.created_at)),
                                0,
                            ),
                        ).where(outbox.c.sent_at.is_(None))
                    )
                ).one()
                parked: dict[str, int] = dict(
                    (
                        await conn.execute(
                            select(dead.c.consumer, func.count())
                            .where(dead.c.status == "parked")
                            .group_by(dead.c.consumer)
                        )
                    ).all()
                )
        except Exception:  # a scrape must still answer when the database does not
            log.warning("%s: could not read bus gauges", name, exc_info=True)
            return
        for observer in self.definition.observers:
            try:
                async with self.sessions() as session:
                    await observer(session)
            except Exception:  # a scrape must still answer when one gauge cannot be read
                log.warning("%s: observer %s failed", name, observer.__name__, exc_info=True)
        OUTBOX_PENDING.labels(name).set(pending)
        OUTBOX_OLDEST_AGE.labels(name).set(float(oldest))
        for consumer in {*self.inboxes, *parked}:
            DEAD_LETTERS.labels(consumer).set(parked.get(consumer, 0))

    async def database_ready(self) -> bool:
        """True when the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # any failure means not ready; the reason is logged
            log.warning("%s: database not reachable", self.definition.name, exc_info=True)
            return False
        return True

    @property
    def bus_ready(self) -> bool:
        """True when the broker answers, the relay's last publish worked and every consumer is
        connected."""
        return (
            self.broker_watch.healthy
            and self.relay.healthy
            and all(c.healthy for c in self.consumers)
        )
