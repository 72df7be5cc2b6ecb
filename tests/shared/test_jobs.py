"""Periodic jobs: one transaction per run, the clock injected, failures survive to the next tick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.jobs import PeriodicJob
from shared.kit.listen import listen
from shared.kit.settings import Settings
from tests.polling import eventually

NOON = datetime(2024, 6, 7, 4, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE job_runs (at timestamptz PRIMARY KEY)"))
    yield engine
    await engine.dispose()


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.scalar(text("SELECT count(*) FROM job_runs"))) or 0)


async def record_run(session: AsyncSession, now: datetime, _settings: Settings) -> None:
    await session.execute(
        text("INSERT INTO job_runs VALUES (:at) ON CONFLICT DO NOTHING"), {"at": now}
    )


async def test_a_run_commits_its_effect_with_the_time_it_was_given(
    engine: AsyncEngine, settings: Settings
) -> None:
    job = PeriodicJob("record", record_run)
    await job.run_once(create_sessionmaker(engine), settings, NOON)
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT at FROM job_runs")) == NOON


async def test_a_failing_run_rolls_back_and_the_loop_keeps_going(
    engine: AsyncEngine, settings: Settings
) -> None:
    calls = 0
    stop = asyncio.Event()

    async def fail_then_record(session: AsyncSession, now: datetime, s: Settings) -> None:
        nonlocal calls
        calls += 1
        await record_run(session, now.replace(minute=calls), s)
        if calls == 1:
            raise RuntimeError("first run fails after writing")
        stop.set()

    job = PeriodicJob("flaky", fail_then_record, interval_seconds=0.01)
    await asyncio.wait_for(
        job.run(create_sessionmaker(engine), settings, stop, clock=lambda: NOON), 10
    )
    assert calls == 2
    assert await _count(engine) == 1  # the failed run's write was rolled back


async def test_a_job_with_a_wake_channel_runs_again_on_the_commit_that_notifies_it(
    engine: AsyncEngine, settings: Settings
) -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    runs = 0

    async def _runs_reached(n: int) -> bool:
        return runs >= n

    async def count_runs(session: AsyncSession, now: datetime, s: Settings) -> None:
        nonlocal runs
        runs += 1

    # An hour between ticks: only the notification can bring the second and third runs.
    job = PeriodicJob("woken", count_runs, interval_seconds=3600, wake_channel="job_test_wake")
    listener = asyncio.create_task(listen(engine, "job_test_wake", lambda _: wake.set(), stop))
    await asyncio.wait_for(wake.wait(), 10)  # set once listening, for what it could have missed
    runner = asyncio.create_task(job.run(create_sessionmaker(engine), settings, stop, wake=wake))
    try:
        await eventually(lambda: _runs_reached(1))
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_notify('job_test_wake', '')"))
        await eventually(lambda: _runs_reached(2))
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_notify('job_test_wake', '')"))
        await eventually(lambda: _runs_reached(3))
        assert runs == 3
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(listener, runner), 10)
