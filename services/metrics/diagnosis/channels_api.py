"""Routes of the channel diagnosis: efficiency, CLTV parameters, cohorts, recommendations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.metrics.diagnosis import channels_service
from services.metrics.diagnosis.channels_schemas import (
    ChannelParametersIn,
    ChannelParametersRead,
    CohortPosted,
    PlanChannelEfficiency,
    Recommendation,
)
from services.metrics.reporting.i18n import choose
from services.metrics.reporting.responses import AcceptLanguage, Lang
from shared.contract.types import Role
from shared.kit.app import Session
from shared.kit.auth import Authenticated, Principal, require
from shared.kit.input import IsoDate
from shared.kit.settings import get_settings

router = APIRouter(tags=["diagnosis"])

# Who sets a plan's CLTV assumptions: marketing owns the plan, finance the margins.
ParameterKeeper = Annotated[
    Principal,
    Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER, Role.FINANCE)),
]


@router.get("/plans/{plan_id}/channels/efficiency", response_model=PlanChannelEfficiency)
async def channel_efficiency(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    first: Annotated[IsoDate, Query(alias="from")],
    last: Annotated[IsoDate, Query(alias="to")],
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> PlanChannelEfficiency:
    """Per channel over [from, to]: spend (plan currency), new customers (registered and
    ordered), CAC, AOV, repeat-purchase rate, CLTV by cohort and by formula, CLTV/CAC, ROI, and
    the ineffective mark with its code and reason (in zh-CN or en, as the report is)."""
    language = choose(lang, accept_language, get_settings().company_language)
    return await channels_service.efficiency(session, plan_id, first, last, language)


@router.get("/plans/{plan_id}/channels/parameters", response_model=ChannelParametersRead)
async def channel_parameters(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated
) -> ChannelParametersRead:
    """The plan's classical-CLTV parameters and CLTV/CAC floor."""
    return await channels_service.parameters(session, plan_id)


@router.put("/plans/{plan_id}/channels/parameters", response_model=ChannelParametersRead)
async def set_channel_parameters(
    plan_id: uuid.UUID, data: ChannelParametersIn, session: Session, keeper: ParameterKeeper
) -> ChannelParametersRead:
    """Replace the plan's gross margin, purchase frequency, lifespan and CLTV/CAC floor."""
    return await channels_service.set_parameters(
        session, plan_id, data, keeper.subject, datetime.now(UTC)
    )


@router.get("/plans/{plan_id}/channels/recommendation", response_model=Recommendation)
async def channel_recommendation(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
    share: Annotated[Decimal, Query(gt=0, le=1, max_digits=5, decimal_places=4)] = Decimal("0.5"),
) -> Recommendation:
    """Move ``share`` of the weakest channel's remaining budget to the strongest, judged by
    CAC over the last ``days`` days; ``adjustment`` is the body to post to planning's
    adjustments, which the committee then decides."""
    return await channels_service.recommend(session, plan_id, as_of, days, share)


@router.post("/sources/{source_id}/cohorts", response_model=CohortPosted)
async def post_cohorts(source_id: uuid.UUID, request: Request, session: Session) -> CohortPosted:
    """Revenue per acquisition cohort by age in days (shared/contract/cohorts.py), posted by an
    internal source with its service token, or signed by a platform; a newer report wins."""
    body = await request.body()
    headers = {
        k: request.headers.get(k)
        for k in ("webhook-id", "webhook-timestamp", "webhook-signature", "authorization")
    }
    headers["webhook-id"] = headers["webhook-id"] or request.headers.get("idempotency-key")
    return await channels_service.post_cohorts(session, source_id, headers, body, datetime.now(UTC))
