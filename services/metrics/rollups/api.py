"""Rollup routes: metrics per hour, day, week or month and channel, as JSON or a file."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.metrics.access import KnownAt, as_known
from services.metrics.reporting import datasets
from services.metrics.reporting.responses import ExportForm, download
from services.metrics.rollups import service as rollups_service
from services.metrics.schemas import AnyRollups, Grain, PlanRollups, RollupGrain
from shared.kit.app import Session
from shared.kit.auth import Authenticated
from shared.kit.input import IsoDate, IsoDateTime
from shared.kit.settings import get_settings

router = APIRouter(tags=["metrics"])


@router.get("/plans/{plan_id}/rollups.{form}", response_class=Response)
async def rollups_export(
    plan_id: uuid.UUID,
    form: ExportForm,
    session: Session,
    _caller: Authenticated,
    metric: Annotated[list[str], Query(min_length=1, max_length=20)],
    grain: Grain = "day",
    first: Annotated[IsoDate | None, Query(alias="from")] = None,
    last: Annotated[IsoDate | None, Query(alias="to")] = None,
    known_at: KnownAt = None,
) -> Response:
    """Day, week or month rollups as CSV or XLSX: the plan's totals and each channel's."""
    today, known = as_known(None, known_at)
    figures = await rollups_service.rollups(
        session,
        plan_id,
        grain=grain,
        metrics=metric,
        first=first,
        last=last or today,
        timezone=get_settings().company_timezone,
        known_at=known,
    )
    if not isinstance(figures, PlanRollups):  # day, week and month are never hourly
        raise TypeError(f"{grain} rollups came back hourly")
    return download(datasets.rollup_tables(figures), f"rollups-{plan_id}", form, figures.currency)


@router.get("/plans/{plan_id}/rollups", response_model=AnyRollups)
async def rollups(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    metric: Annotated[list[str], Query(min_length=1, max_length=20)],
    grain: RollupGrain = "day",
    first: Annotated[IsoDate | None, Query(alias="from")] = None,
    last: Annotated[IsoDate | None, Query(alias="to")] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="grain=hour: first hour (no offset: company time)")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="grain=hour: end, excluded; at most 31 days on")
    ] = None,
    known_at: KnownAt = None,
) -> AnyRollups:
    """Metrics per hour, day, week or month and channel, in the company time zone (ratios of
    sums). Hours cover facts reported by the hour; ``since``/``until`` bound them. With
    ``known_at``, the figures the system knew then (to its company day, unless ``to``)."""
    today, known = as_known(None, known_at)
    return await rollups_service.rollups(
        session,
        plan_id,
        grain=grain,
        metrics=metric,
        first=first,
        last=last or today,
        timezone=get_settings().company_timezone,
        since=since,
        until=until,
        known_at=known,
    )
