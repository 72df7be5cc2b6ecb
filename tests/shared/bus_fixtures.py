"""Building blocks for bus tests: planning's outbox feeding a recording consumer in tasks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.planning.models import bus as planning_bus
from services.tasks.models import bus as tasks_bus
from shared.contract.envelope import Envelope
from shared.contract.events import CATALOGUE, PlanCreatedV1
from shared.kit.bus.inbox import Inbox, Subscriber
from shared.kit.bus.outbox import Outbox
from shared.kit.bus.transport import Message, Publisher, TransportUnavailable

# planning's outbox, as the planning service writes it
outbox = Outbox(planning_bus.outbox, source="planning")

TOPIC = "planning.plan"


def plan_event(subject: str, seq: int) -> PlanCreatedV1:
    """A plan event whose name carries its subject and sequence, to check order downstream."""
    return PlanCreatedV1(
        plan_id=uuid.uuid5(uuid.NAMESPACE_URL, subject),
        name=f"{subject}#{seq}",
        product="p",
        owner_id="o",
        starts_on=date(2024, 5, 1),
        ends_on=date(2024, 6, 30),
        currency="CNY",
    )


async def record_committed(
    sessions: async_sessionmaker[AsyncSession], subject: str, seq: int
) -> None:
    """Record one event in its own committed transaction."""
    async with sessions() as session, session.begin():
        await outbox.record(session, plan_event(subject, seq), subject=subject)


async def unsent(engine: AsyncEngine) -> int:
    """How many outbox rows are still pending."""
    table = planning_bus.outbox
    async with engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


@dataclass
class Recorder:
    """A handler that remembers every event it applied (in a committed transaction or not)."""

    applied: list[str] = field(default_factory=list)
    fail_names: set[str] = field(default_factory=set)
    error: Callable[[str], Exception] = ValueError

    async def __call__(
        self, event: PlanCreatedV1, _envelope: Envelope, _session: AsyncSession
    ) -> None:
        if event.name in self.fail_names:
            raise self.error(f"cannot apply {event.name}")
        self.applied.append(event.name)

    def names_for(self, subject: str) -> list[str]:
        """The applied event names of one subject, in application order."""
        return [n for n in self.applied if n.startswith(f"{subject}#")]


def recording_inbox(
    sessions: async_sessionmaker[AsyncSession], recorder: Recorder, *, max_attempts: int = 3
) -> Inbox:
    """An inbox in the tasks schema whose handler is ``recorder``."""
    subscriber = Subscriber(
        service="tasks",
        handler=recorder,
        event_types=frozenset({PlanCreatedV1.event_type}),
        topics=(TOPIC,),
        name="recorder",
    )
    return Inbox(
        subscriber, tasks_bus, sessions, CATALOGUE, max_attempts=max_attempts, retry_delay=0.0
    )


class SimulatedCrash(Exception):
    """Stands for the process dying at a fault point."""


class FaultyPublisher:
    """Wraps a publisher: can be down, or 'crash' right after a successful publish."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.down = False
        self.crash_after_publish = False

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def probe(self, timeout_seconds: float) -> None:
        if self.down:
            raise TransportUnavailable("broker down (simulated)")
        await self.inner.probe(timeout_seconds)

    async def publish(self, messages: Sequence[Message]) -> None:
        if self.down:
            raise TransportUnavailable("broker down (simulated)")
        await self.inner.publish(messages)
        if self.crash_after_publish:
            raise SimulatedCrash("killed after publish, before mark-sent")
