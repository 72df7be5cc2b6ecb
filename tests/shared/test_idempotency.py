"""Idempotency-Key on real PostgreSQL: one effect per key, replays, reuse refused, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.idempotency import IdempotencyKeyReused, IdempotencyKeys


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


async def test_a_concurrent_retry_waits_for_the_first_and_replays_it(
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
    retry_task = asyncio.create_task(
        _create(keys, sessions, effects, key="k1", body=Body(name="a"))
    )
    done, _ = await asyncio.wait({retry_task}, timeout=0.2)
    assert not done, "the retry must wait for the first request's transaction"
    release_first.set()
    assert await retry_task == await first_task
    assert effects.count == 1
