"""Idempotency-Key on real PostgreSQL: one effect per key, replays, reuse refused, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData, func, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.idempotency import IdempotencyKeyInFlight, IdempotencyKeyReused, IdempotencyKeys


class Created(BaseModel):
    serial: int
    name: str


class Body(BaseModel):
    name: str


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def keys(engine: AsyncEngine) -> IdempotencyKeys:
    metadata = MetaData(schema="kit_idempotency")
    keys = IdempotencyKeys.define(metadata)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA kit_idempotency"))
        await conn.run_sync(metadata.create_all)
    return keys


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


class Effects:
    """Counts how often the guarded effect really ran."""

    def __init__(self) -> None:
        self.count = 0

    async def create(self, name: str) -> Created:
        self.count += 1
        return Created(serial=self.count, name=name)


async def _create(
    keys: IdempotencyKeys,
    sessions: async_sessionmaker[AsyncSession],
    effects: Effects,
    *,
    key: str | None,
    body: Body,
    principal: str = "amy",
) -> Created:
    async with sessions() as session, session.begin():
        return await keys.run(
            session,
            key=key,
            principal=principal,
            scope="POST /things",
            request=body,
            produce=lambda: effects.create(body.name),
            model=Created,
        )


async def test_a_retry_with_the_same_key_replays_the_first_answer(
    keys: IdempotencyKeys, sessions: async_sessionmaker[AsyncSession]
) -> None:
    effects = Effects()
    first = await _create(keys, sessions, effects, key="k1", body=Body(name="a"))
    again = await _create(keys, sessions, effects, key="k1", body=Body(name="a"))
    assert again == first
    assert effects.count == 1


async def test_keys_are_per_caller_and_absent_keys_do_not_dedupe(
    keys: IdempotencyKeys, sessions: async_sessionmaker[AsyncSession]
) -> None:
    effects = Effects()
    await _create(keys, sessions, effects, key="k1", body=Body(name="a"), principal="amy")
    await _create(keys, sessions, effects, key="k1", body=Body(name="a"), principal="bob")
    await _create(keys, sessions, effects, key=None, body=Body(name="a"))
    await _create(keys, sessions, effects, key=None, body=Body(name="a"))
    assert effects.count == 4


async def test_reusing_a_key_for_a_different_request_is_refused(
    keys: IdempotencyKeys, sessions: async_sessionmaker[AsyncSession]
) -> None:
    effects = Effects()
    await _create(keys, sessions, effects, key="k1", body=Body(name="a"))
    with pytest.raises(IdempotencyKeyReused) as refused:
        await _create(keys, sessions, effects, key="k1", body=Body(name="b"))
    assert refused.value.extensions["field"] == "Idempotency-Key"
    assert effects.count == 1


async def test_a_failed_request_leaves_its_key_free(
    keys: IdempotencyKeys, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def failing() -> Created:
        raise RuntimeError("the effect failed")

    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await keys.run(
                session,
                key="k1",
                principal="amy",
                scope="POST /things",
                request=Body(name="a"),
                produce=failing,
                model=Created,
            )
    effects = Effects()
    created = await _create(keys, sessions, effects, key="k1", body=Body(name="a"))
    assert created.serial == 1


async def test_a_retry_while_the_first_is_in_flight_is_409_then_replays_after_it(
    keys: IdempotencyKeys, sessions: async_sessionmaker[AsyncSession]
) -> None:
    effects = Effects()
    first_claimed = asyncio.Event()
    release_first = asyncio.Event()

    async def slow_create() -> Created:
        created = await effects.create("a")
        first_claimed.set()
        await release_first.wait()
        return created

    async def first() -> Created:
        async with sessions() as session, session.begin():
            return await keys.run(
                session,
                key="k1",
                principal="amy",
                scope="POST /things",
                request=Body(name="a"),
                produce=slow_create,
                model=Created,
            )

    first_task = asyncio.create_task(first())
    await first_claimed.wait()
    with pytest.raises(IdempotencyKeyInFlight):
        await _create(keys, sessions, effects, key="k1", body=Body(name="a"))
    release_first.set()
    answer = await first_task
    assert await _create(keys, sessions, effects, key="k1", body=Body(name="a")) == answer
    assert effects.count == 1


async def test_a_key_older_than_a_day_is_free_again(
    keys: IdempotencyKeys, sessions: async_sessionmaker[AsyncSession]
) -> None:
    effects = Effects()
    await _create(keys, sessions, effects, key="k1", body=Body(name="a"))
    async with sessions() as session, session.begin():
        await session.execute(
            update(keys.table).values(created_at=func.now() - timedelta(hours=25))
        )
    again = await _create(keys, sessions, effects, key="k1", body=Body(name="b"))
    assert again.serial == 2
