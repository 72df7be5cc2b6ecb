"""Metrics' routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import (
    APIRouter,
    Body,
    Depends,
    FastAPI,
    Header,
    Path,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import HTMLResponse

from services.metrics import service
from services.metrics.dictionary import derived
from services.metrics.experiments import service as experiments_service
from services.metrics.experiments.schemas import (
    ExperimentCreate,
    ExperimentRead,
    ExperimentReview,
)
from services.metrics.facts import coalesce, ingest
from services.metrics.fraud import review
from services.metrics.fx import rates
from services.metrics.kpis import payouts
from services.metrics.kpis import service as kpis_service
from services.metrics.reporting import datasets, export, pages
from services.metrics.reporting import tables as tables_
from services.metrics.rollups import service as rollups_service
from services.metrics.schemas import (
    AnyRollups,
    DecompositionRead,
    DerivedMetricIn,
    Evaluation,
    EvaluationNoteIn,
    FlagStatus,
    FraudDecision,
    FraudFlagCreate,
    FraudFlagRead,
    FxRateIn,
    FxRateRead,
    Grain,
    MappingIn,
    MetricRead,
    PlanKpis,
    PlanRollups,
    RollupGrain,
    SourceCreate,
    SourceRead,
)
from services.metrics.sources import service as sources_service
from shared.contract.metric_dictionary import METRIC_KEY_PATTERN
from shared.contract.types import CurrencyCode, Role
from shared.kit.app import Session, runtime_of
from shared.kit.auth import Authenticated, Principal, require
from shared.kit.errors import DomainError
from shared.kit.idempotency import IdempotencyKey
from shared.kit.input import IsoDate, IsoDateTime
from shared.kit.runtime import ServiceRuntime
from shared.kit.settings import get_settings

Operator = Annotated[Principal, Depends(require(Role.TECH, Role.ADMIN))]
Analyst = Annotated[
    Principal,
    Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER, Role.SALES, Role.FINANCE)),
]
# Who reviews fraud flags: team leads own the ambassadors' payouts, tech owns the data.
Reviewer = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.MANAGER, Role.TECH))]
FlagReader = Annotated[
    Principal,
    Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.TECH)),
]
# Who keeps the exchange rates: finance owns them, tech runs the data.
RateKeeper = Annotated[Principal, Depends(require(Role.FINANCE, Role.TECH, Role.ADMIN))]
MAX_BODY = 10 * 1024 * 1024  # a 10,000-row batch is well under this
MAX_IN_FLIGHT = 16
QUEUE_SECONDS = 5.0

SMALL_BODY = 64 * 1024  # a body this small may be a small delivery, coalesced with others


@asynccontextmanager
async def _coalescing(app: FastAPI) -> AsyncIterator[None]:
    """The app's coalescer of small deliveries: started after the runtime, stopped (its last
    group stored) before the runtime's engine goes."""
    runtime: ServiceRuntime = app.state.runtime
    coalescer = coalesce.Coalescer(runtime.sessions, runtime.relay.wake)
    await coalescer.start()
    app.state.coalescer = coalescer
    try:
        yield
    finally:
        app.state.coalescer = None  # late requests take the one-transaction path
        await coalescer.stop()


router = APIRouter(tags=["metrics"], lifespan=_coalescing)
_in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)


class PayloadTooLarge(DomainError):
    """The body is over the size cap."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class Busy(DomainError):
    """Too many ingests at once; the platform should retry."""

    status, slug, title = 503, "busy", "Busy, retry later"


def _today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(get_settings().company_timezone)).date()


@router.post("/webhooks/{source_id}", status_code=status.HTTP_200_OK, max_body_size=MAX_BODY)
async def webhook(source_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Signed batch ingestion (Standard Webhooks); stored whole or refused with per-row errors.

    An internal source's system posts the same batches with its service token (``Authorization:
    Bearer``) instead of a signature, and its delivery id as ``Idempotency-Key`` or webhook-id.

    Small deliveries are stored with others in one transaction; larger ones each in their own.
    Either way the answer is sent after the commit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes", limit=MAX_BODY)
    headers = {
        k: request.headers.get(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    # An internal source's service token; a system may name its delivery id the usual HTTP
    # way (a platform's signature covers webhook-id, so that header wins when both come).
    headers["authorization"] = request.headers.get("authorization")
    headers["webhook-id"] = headers["webhook-id"] or request.headers.get("idempotency-key")
    body: bytes | None = None
    parsed: ingest.Report | None = None
    coalescer: coalesce.Coalescer | None = getattr(request.app.state, "coalescer", None)
    small = declared is not None and declared.isdigit() and int(declared) <= SMALL_BODY
    if coalescer is not None and small:
        body = await request.body()
        parsed = ingest.parse_report(body, datetime.now(UTC))
        if parsed is not None and len(parsed.rows) <= coalesce.SMALL_ROWS:
            return await coalescer.submit(source_id, headers, body, parsed, datetime.now(UTC))
    try:
        # A short queue absorbs bursts; past it, shed load and let the platform retry.
        await asyncio.wait_for(_in_flight.acquire(), timeout=QUEUE_SECONDS)
    except TimeoutError:
        raise Busy("too many deliveries in progress", retry_after=1) from None
    try:
        if body is None:
            body = await request.body()
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes", limit=MAX_BODY)
        return await ingest.ingest_alone(
            runtime_of(request), source_id, headers, body, datetime.now(UTC), report=parsed
        )
    finally:
        _in_flight.release()


@router.get("/dictionary", response_model=list[MetricRead])
async def dictionary(session: Session, _caller: Authenticated) -> list[MetricRead]:
    """Every metric: its definition and how it aggregates (ratios are ratios of sums).

    The built-in metrics come first, then the derived ones with their formulas."""
    return await derived.entries(session)


@router.put("/dictionary/{key}", response_model=MetricRead)
async def define_metric(
    key: Annotated[str, Path(pattern=METRIC_KEY_PATTERN)],
    data: DerivedMetricIn,
    session: Session,
    operator: Operator,
) -> MetricRead:
    """Define or redefine a derived metric by a formula over summable metrics.

    There is no DELETE: objectives and alert rules in other services may name the metric, and
    metrics cannot see them; a redefinition keeps the key and bumps its version instead."""
    return await derived.define(session, key, data, operator.subject, datetime.now(UTC))


@router.post("/sources", status_code=status.HTTP_201_CREATED, response_model=SourceRead)
async def create_source(
    data: SourceCreate, session: Session, operator: Operator, key: IdempotencyKey = None
) -> SourceRead:
    """Register a source; its first signing secret is shown in this answer (and its retries)."""
    return await sources_service.create_source_once(session, data, operator.subject, key)


@router.get("/sources", response_model=list[SourceRead])
async def list_sources(session: Session, _operator: Operator) -> list[SourceRead]:
    """Every source (secrets hidden)."""
    return await sources_service.list_sources(session)


@router.post("/sources/{source_id}/secrets", response_model=SourceRead)
async def rotate_secret(
    source_id: uuid.UUID,
    session: Session,
    _operator: Operator,
    retire: Annotated[
        str | None, Query(max_length=40, description="id of a secret to retire")
    ] = None,
) -> SourceRead:
    """Add a new secret (both verify until the old one is retired), or retire one."""
    return await sources_service.rotate_secret(session, source_id, retire)


@router.put("/sources/{source_id}/mappings", status_code=status.HTTP_204_NO_CONTENT)
async def map_entities(
    source_id: uuid.UUID,
    items: Annotated[list[MappingIn], Body(max_length=1000)],
    session: Session,
    _operator: Operator,
) -> None:
    """Map platform campaign ids to plans and channels."""
    await sources_service.map_entities(session, source_id, items)


@router.get("/plans/{plan_id}/kpis", response_model=PlanKpis)
async def kpis(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated, as_of: IsoDate | None = None
) -> PlanKpis:
    """Per objective: actual, achievement, expected to date and projection at the due date."""
    return await kpis_service.kpis(session, plan_id, as_of or _today())


def _download(tables: list[tables_.Table], name: str, form: str, currency: str | None) -> Response:
    """The tables as a CSV or XLSX attachment."""
    if form == "csv":
        return Response(
            export.to_csv(tables).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        export.to_xlsx(tables, currency or "CNY", "en"),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


ExportForm = Annotated[str, Path(pattern="^(csv|xlsx)$")]


@router.get("/plans/{plan_id}/kpis.{form}", response_class=Response)
async def kpis_export(
    plan_id: uuid.UUID,
    form: ExportForm,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
) -> Response:
    """The KPIs as CSV or XLSX (numbers as numbers, money formatted)."""
    standing = await kpis_service.kpis(session, plan_id, as_of or _today())
    return _download(datasets.kpi_tables(standing), f"kpis-{plan_id}", form, standing.currency)


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
) -> Response:
    """Day, week or month rollups as CSV or XLSX: the plan's totals and each channel's."""
    figures = await rollups_service.rollups(
        session,
        plan_id,
        grain=grain,
        metrics=metric,
        first=first,
        last=last or _today(),
        timezone=get_settings().company_timezone,
    )
    if not isinstance(figures, PlanRollups):  # day, week and month are never hourly
        raise TypeError(f"{grain} rollups came back hourly")
    return _download(datasets.rollup_tables(figures), f"rollups-{plan_id}", form, figures.currency)


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
) -> AnyRollups:
    """Metrics per hour, day, week or month and channel, in the company time zone (ratios of
    sums). Hours cover facts reported by the hour; ``since``/``until`` bound them."""
    return await rollups_service.rollups(
        session,
        plan_id,
        grain=grain,
        metrics=metric,
        first=first,
        last=last or _today(),
        timezone=get_settings().company_timezone,
        since=since,
        until=until,
    )


@router.get("/plans/{plan_id}/evaluation", response_model=Evaluation)
async def evaluation(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated, as_of: IsoDate | None = None
) -> Evaluation:
    """The evaluation table (docs/domain.md §6) and the channel comparison."""
    return await service.evaluation(session, plan_id, as_of or _today())


Lang = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
        description="zh-CN or en; else Accept-Language, else the company language",
    ),
]
AcceptLanguage = Annotated[str | None, Header(max_length=500)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/plans/{plan_id}/evaluation.html", response_class=HTMLResponse)
async def evaluation_page(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """The same report as a printable page with charts, in zh-CN or English."""
    page, tag = await pages.html(session, plan_id, as_of or _today(), lang, accept_language)
    return HTMLResponse(page, headers={"Content-Language": tag, "Vary": "Accept-Language"})


@router.get("/plans/{plan_id}/evaluation.csv", response_class=Response)
async def evaluation_csv(
    plan_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Every section of the report as CSV (plain numbers; ratios as fractions)."""
    text, tag = await pages.csv(session, plan_id, as_of or _today(), lang, accept_language)
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
) -> Response:
    """Every section of the report as a worksheet (numbers as numbers, money formatted)."""
    body, tag = await pages.xlsx(session, plan_id, as_of or _today(), lang, accept_language)
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


@router.get("/plans/{plan_id}/fraud-flags", response_model=list[FraudFlagRead])
async def fraud_flags(
    plan_id: uuid.UUID,
    session: Session,
    _reader: FlagReader,
    status: FlagStatus | None = None,
) -> list[FraudFlagRead]:
    """Entity-days suspected of fake registrations, and the reviewers' decisions."""
    return await review.fraud_flags(session, plan_id, status)


@router.post(
    "/plans/{plan_id}/fraud-flags",
    status_code=status.HTTP_201_CREATED,
    response_model=FraudFlagRead,
)
async def flag_entity_day(
    plan_id: uuid.UUID,
    data: FraudFlagCreate,
    session: Session,
    reviewer: Reviewer,
    key: IdempotencyKey = None,
) -> FraudFlagRead:
    """Flag an entity-day by hand (suspected, or excluded from net figures at once)."""
    now = datetime.now(UTC)
    return await review.flag_entity_day_once(session, plan_id, data, reviewer.subject, now, key)


@router.put("/plans/{plan_id}/fraud-flags/{flag_id}", response_model=FraudFlagRead)
async def decide_fraud_flag(
    plan_id: uuid.UUID,
    flag_id: uuid.UUID,
    decision: FraudDecision,
    session: Session,
    reviewer: Reviewer,
) -> FraudFlagRead:
    """Exclude the entity-day from net KPI figures, or clear the suspicion."""
    return await review.decide_fraud_flag(
        session, plan_id, flag_id, decision, reviewer.subject, datetime.now(UTC)
    )


@router.post(
    "/plans/{plan_id}/experiments",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentRead,
)
async def create_experiment(
    plan_id: uuid.UUID,
    data: ExperimentCreate,
    session: Session,
    analyst: Analyst,
    key: IdempotencyKey = None,
) -> ExperimentRead:
    """Start an A/B experiment: arms of fact entities (the control first) compared on a
    proportion metric, with the minimum sample per arm fixed in advance."""
    now = datetime.now(UTC)
    return await experiments_service.create_experiment_once(
        session, plan_id, data, analyst.subject, now, key
    )


@router.get("/plans/{plan_id}/experiments", response_model=list[ExperimentRead])
async def list_experiments(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated
) -> list[ExperimentRead]:
    """A plan's experiments, oldest first."""
    return await experiments_service.experiments(session, plan_id)


@router.get("/plans/{plan_id}/experiments/{experiment_id}/review", response_model=ExperimentReview)
async def review_experiment(
    plan_id: uuid.UUID, experiment_id: uuid.UUID, session: Session, _caller: Authenticated
) -> ExperimentReview:
    """Each arm's rate with its 95 % interval, the uplift against the control, the p-value of
    a fixed-horizon two-proportion z-test and the verdict (winner, no difference, not enough
    data)."""
    return await experiments_service.review(session, plan_id, experiment_id)


@router.get(
    "/plans/{plan_id}/objectives/{objective_id}/decomposition", response_model=DecompositionRead
)
async def decomposition(
    plan_id: uuid.UUID,
    objective_id: uuid.UUID,
    session: Session,
    _caller: Authenticated,
    as_of: IsoDate | None = None,
) -> DecompositionRead:
    """Per region, city and school: actual from its channel codes' facts, achievement and the
    KPI payout rate (capped at 200 %), against the pace of its target."""
    return await payouts.standing(session, plan_id, objective_id, as_of or _today())


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


@router.get("/fx-rates", response_model=list[FxRateRead])
async def fx_rates(
    session: Session,
    _keeper: RateKeeper,
    base: CurrencyCode | None = None,
    quote: CurrencyCode | None = None,
) -> list[FxRateRead]:
    """Stored rates by pair and day, each with the day it gives way to the pair's next one."""
    return await rates.list_rates(session, base, quote)
