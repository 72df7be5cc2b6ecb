"""Embedded-bus group membership: one reader per group, and one connection per process for all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.contract.types import Role
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.transport import Message
from shared.kit.db import create_engine
from tests.conftest import bearer

APP = "membership-test"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, application_name=APP)
    yield engine
    await engine.dispose()


async def lock_holders(engine: AsyncEngine, application_name: str) -> int:
    """How many connections of that application hold advisory locks."""
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                text(
                    "SELECT count(DISTINCT l.pid) FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = :app "
                    "AND a.datname = current_database()"
                ),
                {"app": application_name},
            )
            or 0
        )


async def test_one_connection_holds_every_group_of_a_process(engine: AsyncEngine) -> None:
    transport = EmbeddedTransport(engine, poll_seconds=0.05)
    subscriptions = [transport.subscription(f"group-{n}", ["topic"]) for n in range(12)]
    for subscription in subscriptions:
        await subscription.start()
        assert await subscription.fetch(10, 0.01) == []  # joins its group
    assert await lock_holders(engine, APP) == 1
    for subscription in subscriptions:
        await subscription.stop()
    assert await lock_holders(engine, APP) == 0


@pytest.mark.parametrize("same_process", [True, False])
async def test_a_group_has_one_reader_and_the_next_takes_over_from_the_commit(
    engine: AsyncEngine, same_process: bool
) -> None:
    first_process = EmbeddedTransport(engine, poll_seconds=0.05)
    other_process = first_process if same_process else EmbeddedTransport(engine, poll_seconds=0.05)
    publisher = first_process.publisher()
    await publisher.start()
    await publisher.publish([Message("topic", "k", f"{n}".encode()) for n in range(3)])

    first = first_process.subscription("group", ["topic"])
    second = other_process.subscription("group", ["topic"])
    await first.start()
    await second.start()
    assert [m.value for m in await first.fetch(2, 0.01)] == [b"0", b"1"]
    await first.commit()
    assert await second.fetch(10, 0.01) == []  # the first still reads this group
    await first.stop()
    assert [m.value for m in await second.fetch(10, 0.01)] == [b"2"]
    await second.stop()


async def test_the_all_in_one_holds_one_membership_connection_and_serves_64_clients(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # Every consumer group of the five services has joined once the bus engine holds locks.
    async def joined() -> bool:
        return await lock_holders(engine, "bus") == 1

    for _ in range(200):
        if await joined():
            break
        await asyncio.sleep(0.05)
    assert await lock_holders(engine, "bus") == 1

    headers = bearer(Role.SUPERVISOR)
    answers = await asyncio.gather(
        *(client.get("/planning/plans", headers=headers) for _ in range(64))
    )
    assert [a.status_code for a in answers] == [200] * 64


async def test_a_consumer_in_another_process_is_woken_by_the_append_not_its_poll(
    engine: AsyncEngine,
) -> None:
    # Two transports on one database stand for two processes: the publisher's in-process wake
    # cannot reach the reader, only the NOTIFY committed with the append can.
    writer, reader = EmbeddedTransport(engine), EmbeddedTransport(engine, poll_seconds=3600)
    publisher, subscription = writer.publisher(), reader.subscription("woken", ["wake-topic"])
    await publisher.start()
    await subscription.start()
    try:
        assert await subscription.fetch(10, 0.01) == []  # member now, nothing yet
        # An hour to wait: without the notification the fetch would not return in the test's time.
        waiting = asyncio.create_task(subscription.fetch(10, 3600))
        await asyncio.sleep(0)
        await publisher.publish([Message("wake-topic", "k", b"v")])
        records = await asyncio.wait_for(waiting, 30)
        assert [r.value for r in records] == [b"v"]
    finally:
        await subscription.stop()
