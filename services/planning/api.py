"""Planning's routes: parse, authorise, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel

from services.planning import adjustments, lifecycle, sections, service, targets, team
from services.planning.schemas import (
    AdjustmentCreate,
    AdjustmentRead,
    BudgetLineIn,
    BudgetLineRead,
    ChannelIn,
    Decision,
    DecompositionNodeIn,
    DecompositionNodeRead,
    ForecastUpdate,
    ObjectiveIn,
    PartnerIn,
    PartnerRead,
    PartnerReviewIn,
    PersonaIn,
    PhaseIn,
    PlanCreate,
    PlanDetail,
    PlanPage,
    PlanStatus,
    PlanTeam,
    PlanUpdate,
    RetrospectivePage,
    RetrospectiveRowIn,
    RiskIn,
    Section,
    VersionComparison,
    VersionRead,
)
from shared.contract.types import ChannelType, Role
from shared.kit.app import Session
from shared.kit.auth import Authenticated, Principal, require
from shared.kit.http import IfMatch, set_etag, set_location
from shared.kit.idempotency import IdempotencyKey
from shared.kit.input import IsoDate
from shared.kit.pagination import Page, Paging

Planner = Annotated[Principal, Depends(require(Role.SPECIALIST, Role.SUPERVISOR, Role.MANAGER))]
BudgetKeeper = Annotated[Principal, Depends(require(Role.SPECIALIST, Role.MANAGER, Role.FINANCE))]
Items = 200  # rows per section in one request


async def _plan_writer(plan_id: uuid.UUID, session: Session, actor: Planner) -> Principal:
    await team.authorise_write(session, plan_id, actor)
    return actor


async def _budget_writer(plan_id: uuid.UUID, session: Session, actor: BudgetKeeper) -> Principal:
    # Finance reforecasts every plan's lines; specialists only their team's.
    await team.authorise_write(session, plan_id, actor, also=[Role.FINANCE])
    return actor


# A planner on the plan's team (its owner or a member), or a supervisor or manager.
PlanWriter = Annotated[Principal, Depends(_plan_writer)]
BudgetWriter = Annotated[Principal, Depends(_budget_writer)]

router = APIRouter(prefix="/plans", tags=["plans"])
knowledge = APIRouter(prefix="/retrospectives", tags=["retrospectives"])


def _shown(response: Response, detail: PlanDetail) -> PlanDetail:
    set_etag(response, detail.plan.revision)
    return detail


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlanDetail)
async def create_plan(
    data: PlanCreate,
    session: Session,
    actor: Planner,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> PlanDetail:
    """Create a draft campaign plan (a retry with the same Idempotency-Key creates nothing)."""
    detail = await service.create_plan(session, data, actor, key=key)
    set_location(response, request, "get_plan", plan_id=detail.plan.id)
    return _shown(response, detail)


@router.get("", response_model=PlanPage)
async def list_plans(
    session: Session,
    _caller: Authenticated,
    paging: Paging,
    status: PlanStatus | None = None,
    owner_id: Annotated[str | None, Query(max_length=100)] = None,
    active_on: Annotated[IsoDate | None, Query(description="plans running on this day")] = None,
    period_from: Annotated[IsoDate | None, Query(description="plans ending on or after")] = None,
    period_to: Annotated[IsoDate | None, Query(description="plans starting on or before")] = None,
    channel_type: Annotated[ChannelType | None, Query(description="plans using it")] = None,
) -> PlanPage:
    """Plans, filtered by status, owner, period and channel, in a stable order."""
    page = await service.list_plans(
        session,
        cursor=paging.window.cursor,
        limit=paging.window.limit,
        status=status,
        owner_id=owner_id,
        active_on=active_on,
        overlaps_from=period_from,
        overlaps_to=period_to,
        channel_type=channel_type,
    )
    return paging.respond(page)


@router.get("/{plan_id}", response_model=PlanDetail)
async def get_plan(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated, response: Response
) -> PlanDetail:
    """One plan with every section; the ETag is its row version for If-Match."""
    return _shown(response, await service.get_detail(session, plan_id))


@router.patch("/{plan_id}", response_model=PlanDetail)
async def update_plan(
    plan_id: uuid.UUID,
    data: PlanUpdate,
    session: Session,
    actor: PlanWriter,
    response: Response,
    if_match: IfMatch = None,
) -> PlanDetail:
    """Edit a draft or rejected plan's header (only its owner or an overseer hands it over)."""
    detail = await service.update_plan(session, plan_id, data, if_match, actor)
    return _shown(response, detail)


@router.put("/{plan_id}/members", response_model=PlanDetail)
async def set_members(
    plan_id: uuid.UUID,
    data: PlanTeam,
    session: Session,
    actor: PlanWriter,
    response: Response,
    if_match: IfMatch = None,
) -> PlanDetail:
    """Name the plan's members (its owner, a supervisor or a manager may)."""
    return _shown(response, await team.set_members(session, plan_id, data, actor, if_match))


def _section_route(section: Section, item: type[BaseModel], summary: str) -> None:
    """PUT /plans/{id}/<section>: replace one section of a draft plan with If-Match."""

    async def replace(
        plan_id: uuid.UUID,
        items: list[BaseModel],
        session: Session,
        _actor: PlanWriter,
        response: Response,
        if_match: IfMatch = None,
    ) -> PlanDetail:
        detail = await sections.replace_section(session, plan_id, section, items, if_match)
        return _shown(response, detail)

    # The body's item model differs per section; FastAPI reads it from the annotation.
    replace.__annotations__["items"] = Annotated[list[item], Body(max_length=Items)]  # type: ignore[valid-type]
    replace.__doc__ = summary
    router.put(
        f"/{{plan_id}}/{section}",
        response_model=PlanDetail,
        name=f"put_{section}",
        summary=f"Replace the {section}",
    )(replace)


for _section, _item, _summary in (
    ("objectives", ObjectiveIn, "Replace the goal consensus table (SMART objectives)."),
    ("audience", PersonaIn, "Replace the audience personas."),
    ("channels", ChannelIn, "Replace the channel mix (send an existing channel's id to keep it)."),
    ("budget", BudgetLineIn, "Replace the budget lines."),
    ("phases", PhaseIn, "Replace the execution plan's phases."),
    ("risks", RiskIn, "Replace the risk register (high risks are announced as risk_raised)."),
    (
        "partners",
        PartnerIn,
        "Replace the partners (editable while the plan runs; reviews are kept).",
    ),
):
    _section_route(_section, _item, _summary)  # type: ignore[arg-type]


@router.post(
    "/{plan_id}/partners/{partner_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=PartnerRead,
)
async def review_partner(
    plan_id: uuid.UUID,
    partner_id: uuid.UUID,
    review: PartnerReviewIn,
    session: Session,
    actor: PlanWriter,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> PartnerRead:
    """Record a periodic performance review of a partner (once per Idempotency-Key); the
    review is kept with the partner, in the plan's partners section (``Location``)."""
    set_location(response, request, "get_plan", plan_id=plan_id)
    return await targets.review_partner_once(
        session, plan_id, partner_id, review, actor.subject, key
    )


@router.put(
    "/{plan_id}/objectives/{objective_id}/decomposition", response_model=DecompositionNodeRead
)
async def decompose(
    plan_id: uuid.UUID,
    objective_id: uuid.UUID,
    root: DecompositionNodeIn,
    session: Session,
    _actor: PlanWriter,
) -> DecompositionNodeRead:
    """Split an objective's target over regions, cities and schools (the root holds it all)."""
    return await targets.set_decomposition(session, plan_id, objective_id, root)


@router.get(
    "/{plan_id}/objectives/{objective_id}/decomposition", response_model=DecompositionNodeRead
)
async def decomposition(
    plan_id: uuid.UUID, objective_id: uuid.UUID, session: Session, _caller: Authenticated
) -> DecompositionNodeRead:
    """The tree with sums, gaps, achievement and KPI payout (capped at 200 %) per node."""
    return await targets.get_decomposition(session, plan_id, objective_id)


@router.patch("/{plan_id}/budget/{line_id}", response_model=BudgetLineRead)
async def reforecast(
    plan_id: uuid.UUID,
    line_id: uuid.UUID,
    data: ForecastUpdate,
    session: Session,
    _actor: BudgetWriter,
) -> BudgetLineRead:
    """Update the forecast of a line of an approved or active plan."""
    return await service.update_forecast(session, plan_id, line_id, data.forecast)


@router.post("/{plan_id}/submit", response_model=PlanDetail)
async def submit(
    plan_id: uuid.UUID,
    session: Session,
    actor: PlanWriter,
    response: Response,
    if_match: IfMatch = None,
) -> PlanDetail:
    """Submit for approval; refused with every rule that does not hold."""
    return _shown(response, await lifecycle.submit(session, plan_id, actor, if_match))


async def _step(
    session: Session,
    plan_id: uuid.UUID,
    target: PlanStatus,
    actor: Principal,
    decision: Decision | None,
    if_match: str | None,
) -> PlanDetail:
    reason = decision.reason if decision else None
    return await lifecycle.step(
        session, plan_id, target, actor.subject, if_match=if_match, reason=reason
    )


@router.post("/{plan_id}/activate", response_model=PlanDetail)
async def activate(
    plan_id: uuid.UUID,
    session: Session,
    actor: PlanWriter,
    response: Response,
    decision: Decision | None = None,
    if_match: IfMatch = None,
) -> PlanDetail:
    """Put an approved plan live."""
    detail = await _step(session, plan_id, PlanStatus.ACTIVE, actor, decision, if_match)
    return _shown(response, detail)


@router.post("/{plan_id}/complete", response_model=PlanDetail)
async def complete(
    plan_id: uuid.UUID,
    session: Session,
    actor: PlanWriter,
    response: Response,
    decision: Decision | None = None,
    if_match: IfMatch = None,
) -> PlanDetail:
    """Close an active plan; evaluation and retrospective follow."""
    detail = await _step(session, plan_id, PlanStatus.COMPLETED, actor, decision, if_match)
    return _shown(response, detail)


@router.post("/{plan_id}/archive", response_model=PlanDetail)
async def archive(
    plan_id: uuid.UUID,
    session: Session,
    actor: PlanWriter,
    response: Response,
    decision: Decision | None = None,
    if_match: IfMatch = None,
) -> PlanDetail:
    """Archive a completed plan."""
    detail = await _step(session, plan_id, PlanStatus.ARCHIVED, actor, decision, if_match)
    return _shown(response, detail)


@router.put("/{plan_id}/retrospective", response_model=PlanDetail)
async def file_retrospective(
    plan_id: uuid.UUID,
    rows: Annotated[list[RetrospectiveRowIn], Body(max_length=Items)],
    session: Session,
    _actor: PlanWriter,
    response: Response,
    if_match: IfMatch = None,
) -> PlanDetail:
    """Record the retrospective of a completed plan."""
    return _shown(response, await lifecycle.file_retrospective(session, plan_id, rows, if_match))


@router.get("/{plan_id}/versions", response_model=Page[VersionRead])
async def list_versions(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated, paging: Paging
) -> Page[VersionRead]:
    """Every kept version (approval, then one per applied adjustment), by version number."""
    return paging.respond(await lifecycle.versions_page(session, plan_id, paging.window))


@router.get("/{plan_id}/versions/{version}/changes", response_model=VersionComparison)
async def compare_version(
    plan_id: uuid.UUID,
    version: Annotated[int, Path(ge=2, le=100_000)],
    session: Session,
    _caller: Authenticated,
) -> VersionComparison:
    """What a version changed against the one before it."""
    return await lifecycle.compare_version(session, plan_id, version)


@router.post(
    "/{plan_id}/adjustments", status_code=status.HTTP_201_CREATED, response_model=AdjustmentRead
)
async def request_adjustment(
    plan_id: uuid.UUID,
    data: AdjustmentCreate,
    session: Session,
    actor: PlanWriter,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> AdjustmentRead:
    """Propose an adjustment to an approved or active plan (the committee decides it)."""
    made = await adjustments.request(session, plan_id, data, actor, key=key)
    set_location(response, request, "get_adjustment", plan_id=plan_id, adjustment_id=made.id)
    return made


@router.get("/{plan_id}/adjustments", response_model=Page[AdjustmentRead])
async def list_adjustments(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated, paging: Paging
) -> Page[AdjustmentRead]:
    """A plan's adjustments and their outcomes, oldest first."""
    return paging.respond(await adjustments.list_for_plan(session, plan_id, paging.window))


@router.get("/{plan_id}/adjustments/{adjustment_id}", response_model=AdjustmentRead)
async def get_adjustment(
    plan_id: uuid.UUID, adjustment_id: uuid.UUID, session: Session, _caller: Authenticated
) -> AdjustmentRead:
    """One adjustment of a plan and its outcome."""
    return await adjustments.get_one(session, plan_id, adjustment_id)


@knowledge.get("", response_model=RetrospectivePage)
async def search_retrospectives(
    session: Session,
    _caller: Authenticated,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=200, description="text to look for")] = None,
) -> RetrospectivePage:
    """The knowledge base: retrospective rows of every plan."""
    window = paging.window
    page = await lifecycle.search_retrospectives(
        session, text=q, cursor=window.cursor, limit=window.limit
    )
    return paging.respond(page)
