"""Data late: after the 17:00 cut-off, each mapped source missing yesterday is announced once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.models import bus
from services.metrics.sources.freshness import JOBS
from shared.kit.db import create_engine
from shared.kit.settings import Settings
from tests.harness.factories import metrics as factories
from tests.metrics.helpers import canonical

BEFORE_CUTOFF = datetime(2024, 6, 8, 8, 59, tzinfo=UTC)  # 16:59 in Shanghai
AFTER_CUTOFF = datetime(2024, 6, 8, 9, 1, tzinfo=UTC)


async def test_a_silent_source_is_late_once_and_a_reporting_one_is_not(
    database_url: str, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plan = uuid.uuid4()
    silent, _secret = await factories.source(sessions)
    talking, secret = await factories.source(sessions)
    for source in (silent, talking):
        await factories.map_entities(sessions, source, plan, "c1")
    batch = canonical("2024-06-08T02:00:00Z", ("c1", "2024-06-07", "clicks", "10"))
    assert (await factories.ingest(sessions, talking, secret, batch))["inserted"] == 1
    engine = create_engine(database_url)
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
    ] == [(str(silent), "2024-06-07")]
    assert late[0].envelope["data"]["plan_id"] == str(plan)
