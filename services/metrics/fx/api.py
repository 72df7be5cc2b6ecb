"""Exchange-rate routes: finance keeps the rates the plans' figures convert with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.metrics.access import RateKeeper
from services.metrics.fx import rates
from services.metrics.schemas import FxRateIn, FxRateRead
from shared.contract.types import CurrencyCode
from shared.kit.app import Session
from shared.kit.input import IsoDate
from shared.kit.pagination import Page, Paging, page_in_memory

router = APIRouter(tags=["metrics"])


@router.put("/fx-rates/{base}/{quote}/{valid_from}", response_model=FxRateRead)
async def set_fx_rate(
    base: CurrencyCode,
    quote: CurrencyCode,
    valid_from: IsoDate,
    data: FxRateIn,
    session: Session,
    keeper: RateKeeper,
) -> FxRateRead:
    """1 base = rate quote from valid_from until the pair's next rate; the inverse is implied.

    The plans' figures that convert with it are recomputed by the snapshot job."""
    return await rates.set_rate(
        session, base, quote, valid_from, data, keeper.subject, datetime.now(UTC)
    )


@router.get("/fx-rates", response_model=Page[FxRateRead])
async def fx_rates(
    session: Session,
    _keeper: RateKeeper,
    paging: Paging,
    base: Annotated[CurrencyCode | None, Query(description="only rates from this currency")] = None,
    quote: Annotated[
        CurrencyCode | None, Query(description="only rates into this currency")
    ] = None,
) -> Page[FxRateRead]:
    """Stored rates by pair and day, each with the day it gives way to the pair's next one."""
    stored = await rates.list_rates(session, base, quote)
    return paging.respond(
        page_in_memory(stored, paging.window, lambda r: (r.base, r.quote, r.valid_from))
    )
