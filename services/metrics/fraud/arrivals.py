"""Fraud on arrival: the signals of the plan-days a batch touched, within a minute of it.

The ten-minute scan (review.scan_fraud) re-examines every recent day; this job follows the
fact revisions instead (their id is the ingestion order, and the ingest path writes one per
reported value already), so nothing is added to the hot ingest path. Each run reads the
revisions after the mark of a run at least ``arrival_overlap_seconds`` earlier: a batch whose
transaction took ids before a newer batch's but committed after the previous run is still read
(a flag is claimed once per entity-day and signal, so reading a batch twice raises nothing
twice). The very first run only marks: the scan covers what came before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.fraud import signals as fraud
from services.metrics.fraud.repository import FraudRepository
from services.metrics.fraud.review import FRAUD_METRICS, company_day, examine_plan_days
from shared.kit.jobs import PeriodicJob
from shared.kit.settings import Settings

KEEP_MARKS = timedelta(hours=1)


async def examine_arrivals(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Examine the plan-days the revisions since the last runs touched (recent days only: a
    backfill of old days waits for nobody, and the scan's window is the recent days)."""
    thresholds = fraud.DEFAULTS
    repo = FraudRepository(session)
    overlap = timedelta(seconds=thresholds.arrival_overlap_seconds)
    floor = await repo.arrival_floor(now - overlap)
    through = await repo.last_revision()
    await repo.mark_arrivals(now, through, now - max(KEEP_MARKS, overlap * 2))
    if floor is None or through <= floor:
        return
    today = company_day(now, settings)
    oldest = today - timedelta(days=thresholds.history_days)
    touched = {
        (plan_id, day)
        for plan_id, day in await repo.touched_plan_days(floor, through, FRAUD_METRICS)
        if oldest <= day <= today
    }
    if touched:
        days = [day for _, day in touched]
        await examine_plan_days(session, now, min(days), max(days), touched)


JOBS = [
    PeriodicJob(
        "metrics-fraud-arrivals",
        examine_arrivals,
        interval_seconds=fraud.DEFAULTS.arrival_interval_seconds,
    )
]
