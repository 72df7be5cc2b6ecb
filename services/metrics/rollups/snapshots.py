"""The snapshot job: changed plan-days rolled up and announced."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.dictionary import derived
from services.metrics.dictionary.catalogue import Dictionary
from services.metrics.kpis import kpi
from services.metrics.kpis.repository import KpisRepository
from services.metrics.kpis.service import final_through, kpis
from services.metrics.models import outbox
from services.metrics.rollups.repository import RollupsRepository
from shared.contract.events.metrics import (
    KpiSnapshotV1,
    MetricsUpdatedV1,
    MetricValue,
    ObjectiveAchievement,
    SpendRecordedV1,
)
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.contract.types import Money
from shared.kit.jobs import PeriodicJob
from shared.kit.settings import Settings

DAY_METRICS = (
    "impressions",
    "clicks",
    "conversions",
    "cost",
    "ctr",
    "conversion_rate",
    "cpc",
    "cpa",
)


def _part(sums: dict[str, Decimal], metric: str | None) -> Decimal | None:
    return sums.get(metric) if metric else None


def _derived_values(
    metrics: Dictionary, sums: dict[str, Decimal], provisional: bool
) -> list[MetricValue]:
    """Every derived metric's value on a channel-day, so alert rules can watch them too."""
    return [
        MetricValue(metric=m, value=metrics.value_of(m, sums, {}), provisional=provisional)
        for m in sorted(metrics.derived)
    ]


async def publish_snapshots(session: AsyncSession, now: datetime, settings: Settings) -> None:
    """Coalesced: one KPI snapshot per changed plan, one metrics update per changed channel-day.

    The claimed plan-days' daily and hourly rollups are recomputed from facts in the same
    transaction (days and hours in the company time zone). A claimed day is a source's own day:
    its hours may land on the company day beside it, which is announced too.
    """
    repo = RollupsRepository(session)
    # Oldest day first, so a consumer judging in arrival order meets the newest day last.
    dirty = sorted(await repo.take_dirty(), key=lambda d: (d.plan_id, d.channel_key, d.day))
    plans = {d.plan_id for d in dirty}
    # The claimed days' rollups first, so the snapshots below (and every later read) sum them.
    written = await repo.refresh_rollups(
        [(d.plan_id, d.day) for d in dirty], settings.company_timezone
    )
    changed = sorted(
        {(d.plan_id, d.channel_key, d.day) for d in dirty}
        | written
        | {(plan, "plan", day) for plan, _channel, day in written},
        key=lambda k: (str(k[0]), k[1], k[2]),
    )
    finals = {p: await final_through(session, p, now.date()) for p in plans}
    metrics = await derived.dictionary(session)
    for plan_id, channel_key, on in changed:
        channel = None if channel_key == "plan" else uuid.UUID(channel_key)
        sums = await repo.sums(plan_id, on, channel, day=on)
        final = finals[plan_id]
        await outbox.record(
            session,
            MetricsUpdatedV1(
                plan_id=plan_id,
                channel_id=channel,
                day=on,
                as_of=now,
                values=[
                    MetricValue(
                        metric=m,
                        value=kpi.value_of(m, sums, {}),
                        numerator=_part(sums, METRIC_DICTIONARY[m].numerator),
                        denominator=_part(sums, METRIC_DICTIONARY[m].denominator),
                        provisional=final is not None and on > final,
                    )
                    for m in DAY_METRICS
                ]
                + _derived_values(metrics, sums, final is not None and on > final),
            ),
            subject=str(plan_id),
        )
    for plan_id in plans:
        target = await KpisRepository(session).target(plan_id)
        if target is None:
            continue
        today = now.date()
        standing = await kpis(session, plan_id, today)
        await outbox.record(
            session,
            KpiSnapshotV1(
                plan_id=plan_id,
                plan_version=target.version,
                as_of=now,
                objectives=[
                    ObjectiveAchievement(
                        objective_id=o.objective_id,
                        metric=o.metric,
                        target=o.target,
                        actual=o.actual,
                        expected_to_date=o.expected_to_date,
                        achievement=o.achievement,
                        provisional=standing.provisional,
                    )
                    for o in standing.objectives
                ],
                excluded_entity_days=standing.excluded_entity_days,
            ),
            subject=str(plan_id),
        )
        for channel, sums in (await repo.channel_sums(plan_id, today)).items():
            if "cost" in sums:
                await outbox.record(
                    session,
                    SpendRecordedV1(
                        plan_id=plan_id,
                        channel_id=channel,
                        through_day=today,
                        spend_to_date=Money(
                            amount=sums["cost"].quantize(Decimal("0.01")), currency=target.currency
                        ),
                    ),
                    subject=str(plan_id),
                )


# Woken by the commit that marks a day dirty (NOTIFY metrics_dirty, a trigger on dirty_days), so
# a report reaches the snapshot in milliseconds; 50 ms apart at most, so a stream of small
# commits is rolled up in batches; every 2 s anyway, should a notification be lost.
DIRTY_CHANNEL = "metrics_dirty"
JOBS = [
    PeriodicJob(
        "metrics-snapshots",
        publish_snapshots,
        interval_seconds=2,
        wake_channel=DIRTY_CHANNEL,
        min_interval_seconds=0.05,
    )
]
