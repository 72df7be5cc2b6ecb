"""Queries of the channel diagnosis: plan budgets, CLTV parameters, cohorts; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on, insert

from services.metrics.fx.currency import Rate
from services.metrics.fx.repository import FxRepository
from services.metrics.models import ChannelParameters, CohortRevenue, Mapping, PlanBudget
from services.metrics.repository import Repository
from shared.contract.cohorts import CohortRevenueRow


class ChannelsRepository(Repository):
    """A plan's budget as planning announced it, its parameters and its cohorts."""

    async def budget(self, plan_id: uuid.UUID) -> PlanBudget | None:
        """The plan's budget lines and reserve, or None before planning announced them."""
        return await self.session.get(PlanBudget, plan_id)

    async def keep_budget(
        self,
        plan_id: uuid.UUID,
        version: int,
        currency: str,
        lines: list[dict[str, Any]],
        reserve: Decimal | None,
    ) -> None:
        """Store a version's budget; an older version arriving late changes nothing."""
        statement = insert(PlanBudget).values(
            plan_id=plan_id,
            version=version,
            currency=currency,
            lines=lines,
            contingency_reserve=reserve,
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[PlanBudget.plan_id],
                set_={
                    "version": statement.excluded.version,
                    "currency": statement.excluded.currency,
                    "lines": statement.excluded.lines,
                    "contingency_reserve": statement.excluded.contingency_reserve,
                },
                where=PlanBudget.version < statement.excluded.version,
            )
        )

    async def parameters(self, plan_id: uuid.UUID) -> ChannelParameters | None:
        """The plan's CLTV parameters, or None when never set."""
        return await self.session.get(ChannelParameters, plan_id)

    async def mappings(self, source_id: uuid.UUID) -> dict[str, tuple[uuid.UUID, uuid.UUID | None]]:
        """entity → (plan, channel) of a source's mapped entities."""
        query = select(Mapping.entity, Mapping.plan_id, Mapping.channel_id).where(
            Mapping.source_id == source_id
        )
        return {e: (p, c) for e, p, c in (await self.session.execute(query)).all()}

    async def keep_cohorts(
        self,
        source_id: uuid.UUID,
        currency: str,
        rows: Sequence[CohortRevenueRow],
        reported_at: datetime,
        mapped: dict[str, tuple[uuid.UUID, uuid.UUID | None]],
    ) -> int:
        """Upsert cohort rows (a newer report wins); returns how many were stored or revised."""
        values = [
            {
                "source_id": source_id,
                "entity": r.entity,
                "cohort_on": r.cohort_on,
                "age_days": r.age_days,
                "customers": r.customers,
                "revenue": r.revenue,
                "currency": currency,
                "reported_at": reported_at,
                "plan_id": mapped[r.entity][0] if r.entity in mapped else None,
                "channel_id": mapped[r.entity][1] if r.entity in mapped else None,
            }
            for r in rows
        ]
        statement = insert(CohortRevenue).values(values)
        result = await self.session.execute(
            statement.on_conflict_do_update(
                constraint="pk_cohort_revenues",
                set_={
                    c: statement.excluded[c]
                    for c in ("customers", "revenue", "currency", "reported_at", "plan_id")
                }
                | {"channel_id": statement.excluded.channel_id},
                where=CohortRevenue.reported_at <= statement.excluded.reported_at,
            ).returning(CohortRevenue.entity)
        )
        return len(result.all())

    async def newest_cohorts(
        self, plan_id: uuid.UUID, first: date, last: date
    ) -> list[tuple[uuid.UUID | None, date, int, Decimal, Decimal, str]]:
        """(channel, cohort day, age, customers, revenue, currency) of each cohort acquired in
        [first, last], at its oldest reported age."""
        newest = (
            select(CohortRevenue)
            .ext(
                distinct_on(CohortRevenue.source_id, CohortRevenue.entity, CohortRevenue.cohort_on)
            )
            .where(
                CohortRevenue.plan_id == plan_id,
                CohortRevenue.cohort_on >= first,
                CohortRevenue.cohort_on <= last,
            )
            .order_by(
                CohortRevenue.source_id,
                CohortRevenue.entity,
                CohortRevenue.cohort_on,
                CohortRevenue.age_days.desc(),
            )
            .subquery()
        )
        query = select(
            newest.c.channel_id,
            newest.c.cohort_on,
            newest.c.age_days,
            newest.c.customers,
            newest.c.revenue,
            newest.c.currency,
        ).order_by(newest.c.cohort_on)
        return [
            (c, d, a, n, r, cur) for c, d, a, n, r, cur in (await self.session.execute(query)).all()
        ]

    async def rates(self) -> list[Rate]:
        """Every stored exchange rate, for converting cohort revenue into the plan's currency."""
        return [
            Rate(r.base, r.quote, r.valid_from, r.rate)
            for r, _until in await FxRepository(self.session).fx_rates(None, None)
        ]
