"""Data late: after the 17:00 cut-off, each mapped source missing yesterday is announced once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from services.metrics.models import bus
from services.metrics.sources.freshness import JOBS
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.settings import Settings
from tests.metrics.helpers import canonical, map_entities, post, register

BEFORE_CUTOFF = datetime(2024, 6, 8, 8, 59, tzinfo=UTC)  # 16:59 in Shanghai
AFTER_CUTOFF = datetime(2024, 6, 8, 9, 1, tzinfo=UTC)


async def test_a_silent_source_is_late_once_and_a_reporting_one_is_not(
    client: httpx.AsyncClient, database_url: str, settings: Settings
) -> None:
    plan = uuid.uuid4()
    silent, _secret = await register(client)
    talking, secret = await register(client)
    for source in (silent, talking):
        await map_entities(client, source, plan, "c1")
    batch = canonical("2024-06-08T02:00:00Z", ("c1", "2024-06-07", "clicks", "10"))
    assert (await post(client, talking, secret, batch)).status_code == 200
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    (job,) = JOBS
    await job.run_once(sessions, settings, BEFORE_CUTOFF)
    for _ in range(2):
        await job.run_once(sessions, settings, AFTER_CUTOFF)
    async with engine.connect() as conn:
        late = (
            await conn.execute(
                select(bus.outbox.c.envelope).where(
                    bus.outbox.c.event_type == "metrics.source.data_late"
                )
            )
        ).all()
    await engine.dispose()
    assert [
        (e.envelope["data"]["source_id"], e.envelope["data"]["business_day"]) for e in late
    ] == [(silent, "2024-06-07")]
    assert late[0].envelope["data"]["plan_id"] == str(plan)
