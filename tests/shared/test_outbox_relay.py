"""The transactional outbox and its relay, on real PostgreSQL and the embedded log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.planning.models import bus as planning_bus
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.outbox import Pending
from shared.kit.bus.relay import Relay
from shared.kit.bus.transport import TransportUnavailable
from shared.kit.db import create_engine, create_sessionmaker
from tests.polling import eventually
from tests.shared.bus_fixtures import (
    TOPIC,
    FaultyPublisher,
    Recorder,
    SimulatedCrash,
    outbox,
    plan_event,
    record_committed,
    recording_inbox,
    unsent,
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def transport(engine: AsyncEngine) -> EmbeddedTransport:
    transport = EmbeddedTransport(engine, poll_seconds=0.05)
    await transport.ensure_schema()
    return transport


class Rollback(Exception):
    pass


async def consume_all(
    transport: EmbeddedTransport, recorder: Recorder, sessions: async_sessionmaker[AsyncSession]
) -> list[str]:
    """Deliver everything on the topic through a recording inbox; return the outcomes."""
    inbox = recording_inbox(sessions, recorder)
    subscription = transport.subscription("tasks.recorder", [TOPIC])
    await subscription.start()
    outcomes = []
    while records := await subscription.fetch(100, 0.05):
        outcomes += [await inbox.receive(r.value) for r in records]
        await subscription.commit()
    await subscription.stop()
    return outcomes


async def test_an_event_whose_transaction_rolled_back_is_never_published(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], transport: EmbeddedTransport
) -> None:
    await record_committed(sessions, "kept", 1)

    async def record_then_fail() -> None:
        async with sessions() as session, session.begin():
            await outbox.record(session, plan_event("dropped", 1), subject="dropped")
            raise Rollback

    with pytest.raises(Rollback):
        await record_then_fail()

    relay = Relay(engine, planning_bus.outbox, transport.publisher())
    assert await relay.drain() == 1

    recorder = Recorder()
    await consume_all(transport, recorder, sessions)
    assert recorder.applied == ["kept#1"]


async def test_a_relay_killed_between_publish_and_mark_sent_republishes_and_inbox_applies_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], transport: EmbeddedTransport
) -> None:
    await record_committed(sessions, "plan-a", 1)
    crashing = FaultyPublisher(transport.publisher())
    crashing.crash_after_publish = True
    with pytest.raises(SimulatedCrash):
        await Relay(engine, planning_bus.outbox, crashing).publish_pending()
    assert await unsent(engine) == 1  # the mark-sent never committed

    assert await Relay(engine, planning_bus.outbox, transport.publisher()).drain() == 1
    assert await unsent(engine) == 0

    recorder = Recorder()
    outcomes = await consume_all(transport, recorder, sessions)
    assert outcomes == ["applied", "duplicate"]  # delivered twice …
    assert recorder.applied == ["plan-a#1"]  # … applied once


async def test_with_the_transport_down_rows_wait_then_arrive_in_order_per_subject(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], transport: EmbeddedTransport
) -> None:
    subjects = ["s1", "s2", "s3"]
    for seq in range(1, 5):
        for subject in subjects:
            await record_committed(sessions, subject, seq)
    publisher = FaultyPublisher(transport.publisher())
    publisher.down = True
    relay = Relay(engine, planning_bus.outbox, publisher, idle_poll_seconds=0.05, batch_size=5)

    with pytest.raises(TransportUnavailable):
        await relay.drain()
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    await eventually(lambda: _resolved(not relay.healthy))
    assert await unsent(engine) == 12  # nothing lost, nothing marked

    publisher.down = False
    await eventually(lambda: _zero(engine))
    stop.set()
    await running

    recorder = Recorder()
    await consume_all(transport, recorder, sessions)
    for subject in subjects:
        assert recorder.names_for(subject) == [f"{subject}#{n}" for n in range(1, 5)]


async def test_the_relay_wakes_on_commit_without_waiting_for_its_poll(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], transport: EmbeddedTransport
) -> None:
    # A poll interval far longer than the test's deadline: only LISTEN/NOTIFY can wake it.
    relay = Relay(engine, planning_bus.outbox, transport.publisher(), idle_poll_seconds=3600)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    await asyncio.wait_for(relay.listening.wait(), timeout=5)
    for seq in (1, 2):  # the second wake-up comes after a full cycle of the relay's loop
        await record_committed(sessions, "woken", seq)
        await eventually(lambda: _zero(engine), timeout=5)
    stop.set()
    await running


async def test_a_second_relay_of_the_same_service_stands_by_while_the_first_runs(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], transport: EmbeddedTransport
) -> None:
    first = Relay(engine, planning_bus.outbox, transport.publisher(), idle_poll_seconds=0.05)
    second = Relay(engine, planning_bus.outbox, transport.publisher(), idle_poll_seconds=0.05)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(first.run(stop_first))
    await asyncio.wait_for(first.listening.wait(), timeout=5)
    running_second = asyncio.create_task(second.run(stop_second))
    await record_committed(sessions, "x", 1)
    await eventually(lambda: _zero(engine))
    assert not second.listening.is_set()

    stop_first.set()  # the standby takes over once the lock is free
    await running_first
    await asyncio.wait_for(second.listening.wait(), timeout=5)
    stop_second.set()
    await running_second


async def _resolved(value: bool) -> bool:
    return value


async def _zero(engine: AsyncEngine) -> bool:
    return await unsent(engine) == 0


async def test_a_lower_id_committed_after_a_higher_one_is_still_published(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], transport: EmbeddedTransport
) -> None:
    relay = Relay(engine, planning_bus.outbox, transport.publisher())
    async with sessions() as slow, slow.begin():
        await outbox.record(slow, plan_event("slow", 1), subject="slow")  # takes the lower id
        await record_committed(sessions, "fast", 1)  # higher id, committed first
        assert await relay.drain() == 1  # only what is committed is visible
    # The slow transaction committed after the relay moved past its id: a cursor would skip it.
    assert await relay.drain() == 1
    assert await unsent(engine) == 0

    recorder = Recorder()
    await consume_all(transport, recorder, sessions)
    assert sorted(recorder.applied) == ["fast#1", "slow#1"]


async def test_events_recorded_together_keep_their_order_subjects_and_correlation_ids(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    batch = [
        Pending(plan_event("b", 1), "b", "req-1"),
        Pending(plan_event("a", 2), "a", None),
        Pending(plan_event("b", 3), "b", "req-3"),
    ]
    async with sessions() as session, session.begin():
        recorded = await outbox.record_many(session, batch)
    table = planning_bus.outbox
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(table.c.event_id, table.c.subject, table.c.topic, table.c.envelope).order_by(
                    table.c.id
                )
            )
        ).all()
    assert [r.event_id for r in rows] == [e.id for e in recorded]
    assert [(r.subject, r.topic) for r in rows] == [
        ("b", TOPIC),
        ("a", TOPIC),
        ("b", TOPIC),
    ]
    assert [(r.envelope["data"]["name"], r.envelope["correlation_id"]) for r in rows] == [
        ("b#1", "req-1"),
        ("a#2", None),
        ("b#3", "req-3"),
    ]
