"""Planning's domain operations on plans and their sections: plain functions over a session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import SERVICE, rules
from services.planning.models import (
    Base,
    BudgetLine,
    Channel,
    Objective,
    Partner,
    Persona,
    Phase,
    Plan,
    RetrospectiveRow,
    Risk,
    bus,
    idempotency,
)
from services.planning.repository import PlanRepository
from services.planning.schemas import (
    BudgetLineRead,
    ChannelRead,
    ObjectiveRead,
    PartnerRead,
    PersonaRead,
    PhaseRead,
    PlanCreate,
    PlanDetail,
    PlanPage,
    PlanRead,
    PlanStatus,
    PlanUpdate,
    RetrospectiveRowRead,
    RiskRead,
)
from shared.contract.events.metrics import MetricDefinedV1
from shared.contract.events.planning import (
    BudgetLineOverspentV1,
    PlanCreatedV1,
    PlanUpdatedV1,
)
from shared.contract.types import Money
from shared.kit.auth import Principal
from shared.kit.bus.outbox import Outbox
from shared.kit.errors import Conflict, NotFound, RuleViolated
from shared.kit.http import check_version
from shared.kit.pagination import decode_cursor, encode_cursor
from shared.kit.wording import a_or_an

outbox = Outbox(bus.outbox, source=SERVICE)


class PlanNotFound(NotFound):
    """No plan with this id."""


class PlanNotEditable(Conflict):
    """The plan's status does not allow this change."""

    slug = "plan-not-editable"


@dataclass(frozen=True)
class SectionSpec:
    """How one section of a plan is stored and shown."""

    model: type[Base]
    read: type[BaseModel]


CENTS = Decimal("0.01")

SECTIONS: dict[str, SectionSpec] = {
    "objectives": SectionSpec(Objective, ObjectiveRead),
    "audience": SectionSpec(Persona, PersonaRead),
    "channels": SectionSpec(Channel, ChannelRead),
    "budget": SectionSpec(BudgetLine, BudgetLineRead),
    "phases": SectionSpec(Phase, PhaseRead),
    "risks": SectionSpec(Risk, RiskRead),
    "partners": SectionSpec(Partner, PartnerRead),
}
# Partners are worked with while the plan runs, so they stay editable after approval.
_OPEN_SECTIONS = {"partners": frozenset(PlanStatus) - {PlanStatus.COMPLETED, PlanStatus.ARCHIVED}}


def parse_uuid(text: str | None, field: str) -> uuid.UUID | None:
    """A UUID from a cursor, or the client's error."""
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise RuleViolated("cursor is not one this API issued", field=field) from exc


async def create_plan(
    session: AsyncSession, data: PlanCreate, actor: Principal, *, key: str | None = None
) -> PlanDetail:
    """Create a draft plan (once per Idempotency-Key) with ``planning.plan.created``."""
    return await idempotency.run(
        session,
        key=key,
        principal=actor.subject,
        scope="POST /planning/plans",
        request=data,
        produce=lambda: _create_plan(session, data, actor),
        model=PlanDetail,
    )


async def _create_plan(session: AsyncSession, data: PlanCreate, actor: Principal) -> PlanDetail:
    owner_id = data.owner_id or actor.subject
    plan = await PlanRepository(session).insert(
        Plan(
            id=uuid.uuid4(),
            name=data.name,
            product=data.product,
            owner_id=owner_id,
            # Naming another owner does not lock the creator out of their own work.
            members=rules.team_members(owner_id, [actor.subject]),
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            currency=data.currency,
            departments=data.departments,
            # As NUMERIC(18, 2) stores it (the schema allows 2 places), so the answer shows
            # "0.00" as a read of the row would, without reading it back.
            contingency_reserve=data.contingency_reserve.quantize(CENTS),
            default_alert_rules=data.default_alert_rules,
            created_by=actor.subject,
        )
    )
    await outbox.record(
        session,
        PlanCreatedV1(
            plan_id=plan.id,
            name=plan.name,
            product=plan.product,
            owner_id=plan.owner_id,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            currency=plan.currency,
        ),
        subject=str(plan.id),
    )
    # A plan just inserted has no section rows yet: its detail needs no reads.
    return _detail_of(plan, {name: [] for name in SECTIONS}, [])


async def get_plan(session: AsyncSession, plan_id: uuid.UUID, *, for_update: bool = False) -> Plan:
    """One plan, or PlanNotFound."""
    plan = await PlanRepository(session).get_or_none(plan_id, for_update=for_update)
    if plan is None:
        raise PlanNotFound(f"no plan {plan_id}")
    return plan


async def get_detail(session: AsyncSession, plan_id: uuid.UUID) -> PlanDetail:
    """A plan with all its sections."""
    return await detail(session, await get_plan(session, plan_id))


async def detail(session: AsyncSession, plan: Plan) -> PlanDetail:
    """Read every section of a loaded plan."""
    repo = PlanRepository(session)
    sections: dict[str, list[Any]] = {}
    for name, spec in SECTIONS.items():
        rows = await repo.section(spec.model, plan.id)
        sections[name] = [spec.read.model_validate(row) for row in rows]
    retrospective = [
        RetrospectiveRowRead.model_validate(r)
        for r in await repo.section(RetrospectiveRow, plan.id)
    ]
    return _detail_of(plan, sections, retrospective)


def _detail_of(
    plan: Plan, sections: dict[str, list[Any]], retrospective: list[RetrospectiveRowRead]
) -> PlanDetail:
    planned = [line.planned for line in sections["budget"]]
    return PlanDetail(
        plan=PlanRead.model_validate(plan),
        retrospective=retrospective,
        total_budget=rules.total_budget(planned, plan.contingency_reserve),
        reserve_share=rules.reserve_share(planned, plan.contingency_reserve),
        **sections,
    )


async def list_plans(
    session: AsyncSession, *, cursor: str | None, limit: int, **filters: Any
) -> PlanPage:
    """A page of plans in a stable order."""
    after = parse_uuid(decode_cursor(cursor), "cursor")
    rows = await PlanRepository(session).list_page(after=after, limit=limit, **filters)
    items = [PlanRead.model_validate(plan) for plan in rows[:limit]]
    next_cursor = encode_cursor(str(items[-1].id)) if len(rows) > limit else None
    return PlanPage(items=items, next_cursor=next_cursor)


def touch(plan: Plan) -> None:
    """Count a change: a new row version for If-Match, a new update time."""
    plan.revision += 1
    # A Python value, not now(): an SQL expression would expire the attribute until reloaded.
    plan.updated_at = datetime.now(UTC)


async def editable_plan(
    session: AsyncSession, plan_id: uuid.UUID, if_match: str | None, section: str = ""
) -> Plan:
    """The locked plan, if its version matches and its status allows editing."""
    plan = await get_plan(session, plan_id, for_update=True)
    check_version(plan.revision, if_match)
    if PlanStatus(plan.status) not in _OPEN_SECTIONS.get(section, rules.EDITABLE):
        raise PlanNotEditable(
            f"{a_or_an(plan.status)} plan changes only through an adjustment",
            rule="editable-status",
            plan_status=plan.status,
        )
    return plan


async def update_plan(
    session: AsyncSession,
    plan_id: uuid.UUID,
    data: PlanUpdate,
    if_match: str | None,
    actor: Principal,
) -> PlanDetail:
    """Edit the header of a draft or rejected plan (handing it over is the owner's call)."""
    plan = await editable_plan(session, plan_id, if_match)
    if data.owner_id is not None and data.owner_id != plan.owner_id:
        rules.check_team_keeper(actor, plan.owner_id, field="owner_id")
        # The previous owner stays on the team they led.
        plan.members = rules.team_members(data.owner_id, [plan.owner_id, *plan.members])
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise RuleViolated(f"{field} cannot be cleared", field=field, rule="required")
        setattr(plan, field, value)
    if plan.ends_on < plan.starts_on:
        raise RuleViolated(
            "the plan must end on or after its start date", field="ends_on", rule="period-order"
        )
    touch(plan)
    await session.flush()
    await session.refresh(plan)
    await outbox.record(
        session,
        PlanUpdatedV1(
            plan_id=plan.id,
            version=plan.version,
            name=plan.name,
            product=plan.product,
            owner_id=plan.owner_id,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            currency=plan.currency,
        ),
        subject=str(plan.id),
    )
    return await detail(session, plan)


async def update_forecast(
    session: AsyncSession, plan_id: uuid.UUID, line_id: uuid.UUID, forecast: Decimal
) -> BudgetLineRead:
    """Re-forecast a line of a live plan; crossing above plan raises an overspend event."""
    plan = await get_plan(session, plan_id, for_update=True)
    if PlanStatus(plan.status) not in rules.ADJUSTABLE:
        raise PlanNotEditable(
            f"forecasts are kept for approved and active plans, not {plan.status} ones",
            rule="forecast-status",
        )
    line = await PlanRepository(session).budget_line(line_id, for_update=True)
    if line is None or line.plan_id != plan.id:
        raise NotFound(f"no budget line {line_id} in plan {plan_id}")
    was_over = line.forecast > line.planned
    line.forecast = forecast
    if forecast > line.planned and not was_over:
        await outbox.record(
            session,
            BudgetLineOverspentV1(
                plan_id=plan.id,
                budget_line_id=line.id,
                channel_id=line.channel_id,
                cost_type=line.cost_type,
                planned=Money(amount=line.planned, currency=plan.currency),
                forecast=Money(amount=forecast, currency=plan.currency),
            ),
            subject=str(plan.id),
        )
    touch(plan)
    await session.flush()
    return BudgetLineRead.model_validate(line)


async def remember_metric(session: AsyncSession, event: MetricDefinedV1) -> None:
    """A derived metric metrics defined: objectives may name it from now on."""
    await PlanRepository(session).remember_derived_metric(event)
