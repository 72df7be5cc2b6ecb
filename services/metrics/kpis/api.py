"""KPI routes: each objective's standing, as JSON or a file, and its target decomposition."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.metrics.access import KnownAt, as_known
from services.metrics.kpis import payouts
from services.metrics.kpis import service as kpis_service
from services.metrics.reporting import datasets
from services.metrics.reporting.responses import ExportForm, download
from services.metrics.schemas import DecompositionRead, PlanKpis
from shared.kit.app import Session
from shared.kit.auth import Authenticated
from shared.kit.input import IsoDate

router = APIRouter(tags=["metrics"])


@router.get("/plans/{plan_id}/kpis", response_model=PlanKpis)
async def kpis(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    known_at: KnownAt = None,
) -> PlanKpis:
    """Per objective: actual, achievement, expected to date and projection at the due date;
    with ``known_at``, as the system knew them then."""
    return await kpis_service.kpis(session, plan_id, *as_known(as_of, known_at))


@router.get("/plans/{plan_id}/kpis.{form}", response_class=Response)
async def kpis_export(
    plan_id: uuid.UUID,
    form: ExportForm,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    known_at: KnownAt = None,
) -> Response:
    """The KPIs as CSV or XLSX (numbers as numbers, money formatted)."""
    standing = await kpis_service.kpis(session, plan_id, *as_known(as_of, known_at))
    return download(datasets.kpi_tables(standing), f"kpis-{plan_id}", form, standing.currency)


@router.get(
    "/plans/{plan_id}/objectives/{objective_id}/decomposition", response_model=DecompositionRead
)
async def decomposition(
    plan_id: uuid.UUID,
    objective_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    known_at: KnownAt = None,
) -> DecompositionRead:
    """Per region, city and school: actual from its channel codes' facts, achievement and the
    KPI payout rate (capped at 200 %), against the pace of its target; with ``known_at``, as
    the system knew them then."""
    return await payouts.standing(session, plan_id, objective_id, *as_known(as_of, known_at))
