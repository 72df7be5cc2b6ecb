"""Evaluation routes: the evaluation table as JSON, a printable page, CSV or XLSX, and notes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from fastapi.responses import HTMLResponse

from services.metrics import service
from services.metrics.access import Analyst, KnownAt, as_known
from services.metrics.reporting import pages
from services.metrics.reporting.responses import XLSX, AcceptLanguage, Lang
from services.metrics.schemas import Evaluation, EvaluationNoteIn
from shared.kit.app import Session
from shared.kit.auth import Authenticated
from shared.kit.input import IsoDate

router = APIRouter(tags=["metrics"])


@router.get("/plans/{plan_id}/evaluation", response_model=Evaluation)
async def evaluation(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    known_at: KnownAt = None,
) -> Evaluation:
    """The evaluation table (docs/domain.md §6) and the channel comparison; with ``known_at``,
    its figures as the system knew them then."""
    return await service.evaluation(session, plan_id, *as_known(as_of, known_at))


@router.get("/plans/{plan_id}/evaluation.html", response_class=HTMLResponse)
async def evaluation_page(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    known_at: KnownAt = None,
) -> HTMLResponse:
    """The same report as a printable page with charts, in zh-CN or English."""
    day, known = as_known(as_of, known_at)
    page, tag = await pages.html(session, plan_id, day, lang, accept_language, known)
    return HTMLResponse(page, headers={"Content-Language": tag, "Vary": "Accept-Language"})


@router.get("/plans/{plan_id}/evaluation.csv", response_class=Response)
async def evaluation_csv(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    known_at: KnownAt = None,
) -> Response:
    """Every section of the report as CSV (plain numbers; ratios as fractions)."""
    day, known = as_known(as_of, known_at)
    text, tag = await pages.csv(session, plan_id, day, lang, accept_language, known)
    return Response(
        text.encode("utf-8-sig"),  # the BOM lets spreadsheet programs read the Chinese text
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Language": tag,
            "Content-Disposition": f'attachment; filename="evaluation-{plan_id}.csv"',
        },
    )


@router.get("/plans/{plan_id}/evaluation.xlsx", response_class=Response)
async def evaluation_xlsx(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    known_at: KnownAt = None,
) -> Response:
    """Every section of the report as a worksheet (numbers as numbers, money formatted)."""
    day, known = as_known(as_of, known_at)
    body, tag = await pages.xlsx(session, plan_id, day, lang, accept_language, known)
    return Response(
        body,
        media_type=XLSX,
        headers={
            "Content-Language": tag,
            "Content-Disposition": f'attachment; filename="evaluation-{plan_id}.xlsx"',
        },
    )


@router.put("/plans/{plan_id}/evaluation/{objective_id}", status_code=status.HTTP_204_NO_CONTENT)
async def annotate(
    plan_id: uuid.UUID,
    objective_id: uuid.UUID,
    note: EvaluationNoteIn,
    session: Session,
    _analyst: Analyst,
) -> None:
    """Add the data source, analysis and suggestion to a row."""
    await service.annotate(session, plan_id, objective_id, note)
