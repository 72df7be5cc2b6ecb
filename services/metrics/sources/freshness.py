"""Freshness: each mapped source's data for yesterday is due by the daily cut-off (a setting,
17:00 company time unless configured)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.models import outbox
from services.metrics.sources.repository import SourcesRepository
from shared.contract.events.metrics import DataLateV1
from shared.kit.jobs import PeriodicJob
from shared.kit.settings import Settings


async def flag_late_sources(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """After the cut-off, announce once per source, plan and day what has not arrived."""
    zone = ZoneInfo(settings.company_timezone)
    local = now.astimezone(zone)
    if local.time() < settings.data_cutoff:
        return
    day = local.date() - timedelta(days=1)
    cutoff_at = datetime.combine(local.date(), settings.data_cutoff, zone)
    repo = SourcesRepository(session)
    for source_id, plan_id in await repo.mapped_sources():
        if await repo.has_facts(source_id, day):
            continue
        if await repo.claim_late_notice(source_id, plan_id, day):
            await outbox.record(
                session,
                DataLateV1(
                    source_id=source_id, plan_id=plan_id, business_day=day, cutoff_at=cutoff_at
                ),
                subject=str(source_id),
            )


JOBS = [PeriodicJob("metrics-freshness", flag_late_sources, interval_seconds=300)]
