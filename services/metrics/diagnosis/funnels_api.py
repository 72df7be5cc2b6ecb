"""Funnel and trend routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.metrics.access import company_today
from services.metrics.diagnosis import funnels_service
from services.metrics.diagnosis.funnels_schemas import PlanFunnels, PlanTrends
from services.metrics.reporting.i18n import Words, choose
from services.metrics.reporting.responses import AcceptLanguage, Lang
from shared.kit.app import Session
from shared.kit.auth import Authenticated
from shared.kit.input import IsoDate
from shared.kit.settings import get_settings

router = APIRouter(tags=["metrics"])

First = Annotated[
    IsoDate | None, Query(alias="from", description="first day; default the plan's start")
]
Last = Annotated[IsoDate | None, Query(alias="to", description="last day; default today")]


@router.get("/plans/{plan_id}/funnels", response_model=PlanFunnels)
async def funnels(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    response: Response,
    first: First = None,
    last: Last = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> PlanFunnels:
    """Impressions → clicks → registrations → first orders → next-day retained, per channel:
    each step's conversion against the plan's other channels and the equally long period
    before, and the bottleneck (the largest relative shortfall) named in the reader's language.
    """
    settings = get_settings()
    words = Words(choose(lang, accept_language, settings.company_language), "CNY")
    found = await funnels_service.plan_funnels(
        session, plan_id, first, last or company_today(), words
    )
    response.headers["Content-Language"] = words.tag
    response.headers["Vary"] = "Accept-Language"
    return found


@router.get("/plans/{plan_id}/trends", response_model=PlanTrends)
async def trends(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    first: First = None,
    last: Last = None,
    metric: Annotated[
        list[str] | None,
        Query(max_length=20, description="the KPIs to trace; default the objectives' metrics"),
    ] = None,
) -> PlanTrends:
    """Each KPI against the equally long period before and the same days of the product's
    earlier campaigns: direction, absolute and relative change; no_data where a side has none."""
    return await funnels_service.plan_trends(
        session, plan_id, first, last or company_today(), metric
    )
