"""The products plans promote, and a plan's funnel counts per channel; flushes, never commits.

Counts come from the rollups read path (``RollupsRepository``), so restatement, currency,
company days and fraud exclusion apply exactly as they do to every other figure.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.metrics.models import PlanProduct, PlanTarget, PlanVersion
from services.metrics.repository import Repository
from services.metrics.rollups.repository import RollupsRepository

ChannelCounts = dict[str, dict[str, Decimal]]  # channel key (id, or "plan") → metric → sum


class FunnelsRepository(Repository):
    """Plan products, earlier campaigns of a product, and summed funnel counts."""

    async def remember_product(self, plan_id: uuid.UUID, product: str, *, replace: bool) -> None:
        """Keep a plan's product; ``replace`` is false for the creation event, so a late
        ``created`` never undoes an edit that arrived before it."""
        statement = insert(PlanProduct).values(plan_id=plan_id, product=product)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[PlanProduct.plan_id], set_={"product": statement.excluded.product}
            )
            if replace
            else statement.on_conflict_do_nothing(index_elements=[PlanProduct.plan_id])
        )

    async def product(self, plan_id: uuid.UUID) -> str | None:
        """The product a plan promotes, when planning has said."""
        return await self.session.scalar(
            select(PlanProduct.product).where(PlanProduct.plan_id == plan_id)
        )

    async def remember_version(self, plan_id: uuid.UUID, version: int, in_force_from: date) -> None:
        """Keep the day a plan version came into force; a redelivery changes nothing."""
        statement = insert(PlanVersion).values(
            plan_id=plan_id, version=version, in_force_from=in_force_from
        )
        await self.session.execute(statement.on_conflict_do_nothing())

    async def versions(self, plan_id: uuid.UUID) -> list[tuple[int, date]]:
        """(version, day it came into force) of a plan, oldest first."""
        rows = await self.session.execute(
            select(PlanVersion.version, PlanVersion.in_force_from)
            .where(PlanVersion.plan_id == plan_id)
            .order_by(PlanVersion.version)
        )
        return [(v, d) for v, d in rows.all()]

    async def earlier_campaigns(
        self, product: str, plan_id: uuid.UUID, before: date, limit: int
    ) -> Sequence[PlanTarget]:
        """Approved plans of the same product that started before ``before``, latest first."""
        query = (
            select(PlanTarget)
            .join(PlanProduct, PlanProduct.plan_id == PlanTarget.plan_id)
            .where(
                PlanProduct.product == product,
                PlanTarget.plan_id != plan_id,
                PlanTarget.starts_on < before,
            )
            .order_by(PlanTarget.starts_on.desc(), PlanTarget.plan_id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def channel_counts(
        self,
        plan_id: uuid.UUID,
        first: date,
        last: date,
        metrics: Sequence[str],
        known_at: datetime | None = None,
    ) -> ChannelCounts:
        """Each channel's net sums of counters over [first, last] (an entity-day excluded as
        fraudulent counts nothing; a metric never reported is absent, not 0); with
        ``known_at``, as the system knew them then."""
        rollups = RollupsRepository(self.session, known_at)
        rows = await rollups.channel_days(plan_id, first, last, metrics)
        counts: ChannelCounts = {}
        for _day, channel_key, metric, _gross, net, _entities in rows:
            per_metric = counts.setdefault(channel_key, {})
            per_metric[metric] = per_metric.get(metric, Decimal(0)) + (net or Decimal(0))
        return counts
