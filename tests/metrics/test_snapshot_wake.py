"""The snapshot follows the data: the commit that marks a plan-day dirty wakes the snapshot job
(NOTIFY metrics_dirty), in this process or any other, instead of leaving it to the next tick."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from services.metrics.rollups.snapshots import DIRTY_CHANNEL, JOBS
from tests.metrics.helpers import canonical, map_entities, post, register


def _libpq(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def test_a_mapped_report_notifies_the_snapshot_job_when_it_commits(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    (job,) = JOBS
    assert job.wake_channel == DIRTY_CHANNEL
    source, secret = await register(metrics_client)
    plan_id = uuid.uuid4()
    await map_entities(metrics_client, source, plan_id, "cmp-1")
    notified = asyncio.Event()

    def hear(*_args: object) -> None:
        notified.set()

    listener = await asyncpg.connect(_libpq(database_url))
    try:
        await listener.add_listener(DIRTY_CHANNEL, hear)
        report = canonical("2024-06-08T09:00:00Z", ("cmp-1", "2024-06-07", "clicks", "5"))
        stored = await post(metrics_client, source, secret, report)
        assert stored.status_code == 200, stored.text
        # The notification arrives on the listener's own connection: wait for it, not a tick.
        await asyncio.wait_for(notified.wait(), timeout=10)
    finally:
        await listener.close()
