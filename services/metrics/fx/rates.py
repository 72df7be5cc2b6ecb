"""Exchange rates: finance sets them, the plans' money follows (see currency.py for the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.fx import currency
from services.metrics.fx.repository import FxRepository
from services.metrics.models import FxRate, PlanTarget
from services.metrics.rollups.repository import RollupsRepository
from services.metrics.schemas import FxRateIn, FxRateRead, MissingRate
from shared.kit.errors import Conflict, RuleViolated


def _read(rate: FxRate, until: date | None) -> FxRateRead:
    return FxRateRead(
        base=rate.base,
        quote=rate.quote,
        valid_from=rate.valid_from,
        valid_until=until,
        rate=rate.rate,
        set_by=rate.set_by,
        set_at=rate.set_at,
    )


async def set_rate(
    session: AsyncSession,
    base: str,
    quote: str,
    valid_from: date,
    data: FxRateIn,
    who: str,
    now: datetime,
) -> FxRateRead:
    """Store 1 base = rate quote from a day on; the plan-days it converts are recomputed.

    Setting the rate it already has changes nothing (no recomputation).
    """
    if base == quote:
        raise RuleViolated("a rate needs two different currencies", field="quote", rule="pair")
    repo = FxRepository(session)
    inverse = await repo.fx_rate(quote, base, valid_from)
    if inverse is not None:
        raise Conflict(
            f"{quote}/{base} is already set from {valid_from} ({inverse.rate}); a pair has one "
            f"rate a day and its inverse is implied: change that one",
            field="base",
            rule="one-rate-a-day",
        )
    stored = await repo.fx_rate(base, quote, valid_from)
    if stored is None:
        stored = FxRate(base=base, quote=quote, valid_from=valid_from, rate=data.rate)
        stored.set_by, stored.set_at = who, now
        await repo.add(stored)
    elif stored.rate != data.rate:
        stored.rate, stored.set_by, stored.set_at = data.rate, who, now
        await session.flush()
    else:
        return _read(stored, await repo.next_fx_rate_day(base, quote, valid_from))
    until = await repo.next_fx_rate_day(base, quote, valid_from)
    await repo.mark_rate_dirty(base, quote, valid_from, until)
    return _read(stored, until)


async def list_rates(
    session: AsyncSession, base: str | None, quote: str | None
) -> list[FxRateRead]:
    """Stored rates by pair and day (optionally of one base and/or quote currency)."""
    return [_read(r, until) for r, until in await FxRepository(session).fx_rates(base, quote)]


async def missing(
    repo: RollupsRepository,
    target: PlanTarget,
    first: date,
    last: date,
    metrics: Sequence[str] = currency.MONEY_METRICS,
) -> list[MissingRate]:
    """The currency pairs whose money a plan's figures in a window leave out for want of a rate."""
    money = [m for m in metrics if currency.is_money(m)]
    if not money or first > last:
        return []
    gaps = await repo.unconverted(target.plan_id, first, last, money)
    return [
        MissingRate(
            base=m.base, quote=m.quote, first_day=m.first_day, last_day=m.last_day, days=m.days
        )
        for m in currency.missing_rates(gaps, target.currency)
    ]
