"""Exchange rates; flushes, never commits."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import aliased

from services.metrics.fx.sql import CURRENCY_PARAMS, MARK_MONEY_DIRTY, MARK_RATE_DIRTY
from services.metrics.models import FxRate
from services.metrics.repository import Repository


class FxRepository(Repository):
    """Stored exchange rates, and the days their changes re-roll."""

    async def fx_rate(self, base: str, quote: str, valid_from: date) -> FxRate | None:
        """One stored rate, locked for a change."""
        return await self.session.get(FxRate, (base, quote, valid_from), with_for_update=True)

    async def next_fx_rate_day(self, base: str, quote: str, after: date) -> date | None:
        """The day the pair's next rate (either direction) takes over from one set on ``after``."""
        query = select(func.min(FxRate.valid_from)).where(
            tuple_(FxRate.base, FxRate.quote).in_([(base, quote), (quote, base)]),
            FxRate.valid_from > after,
        )
        found: date | None = await self.session.scalar(query)
        return found

    async def fx_rates(
        self, base: str | None, quote: str | None
    ) -> list[tuple[FxRate, date | None]]:
        """Stored rates by pair and day, each with the day its pair's next rate takes over."""
        pair = (func.least(FxRate.base, FxRate.quote), func.greatest(FxRate.base, FxRate.quote))
        ranked = select(
            FxRate,
            func.lead(FxRate.valid_from)
            .over(partition_by=pair, order_by=FxRate.valid_from)
            .label("until"),
        ).subquery()
        rate = aliased(FxRate, ranked)
        query = select(rate, ranked.c.until).order_by(rate.base, rate.quote, rate.valid_from)
        if base is not None:
            query = query.where(rate.base == base)
        if quote is not None:
            query = query.where(rate.quote == quote)
        return [(r, until) for r, until in (await self.session.execute(query)).all()]

    async def mark_rate_dirty(
        self, base: str, quote: str, valid_from: date, until: date | None
    ) -> None:
        """Have the snapshot job recompute the plan-days a rate set on a day converts."""
        await self.session.execute(
            MARK_RATE_DIRTY,
            {"base": base, "quote": quote, "valid_from": valid_from, "until": until}
            | CURRENCY_PARAMS,
        )

    async def mark_money_dirty(self, plan_id: uuid.UUID) -> None:
        """Have the snapshot job recompute every day of a plan that has money facts."""
        await self.session.execute(MARK_MONEY_DIRTY, {"plan": plan_id} | CURRENCY_PARAMS)
