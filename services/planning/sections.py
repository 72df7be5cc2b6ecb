"""A plan's sections replaced whole: each row checked, ids kept, high risks raised."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import rules
from services.planning.models import Base, BudgetLine, Channel, Phase, Plan
from services.planning.repository import PlanRepository
from services.planning.schemas import (
    BudgetLineIn,
    ChannelIn,
    ObjectiveIn,
    PartnerIn,
    PhaseIn,
    PlanDetail,
    RiskIn,
    Section,
)
from services.planning.service import SECTIONS, detail, editable_plan, outbox, touch
from shared.contract.events.planning import RiskRaisedV1
from shared.kit.errors import RuleViolated


async def replace_section(
    session: AsyncSession,
    plan_id: uuid.UUID,
    section: Section,
    items: Sequence[BaseModel],
    if_match: str | None,
) -> PlanDetail:
    """Replace one section of a draft or rejected plan with the rows given."""
    plan = await editable_plan(session, plan_id, if_match, section)
    repo = PlanRepository(session)
    spec = SECTIONS[section]
    previous = {row.id: row for row in await repo.section(spec.model, plan.id)}  # type: ignore[attr-defined]
    await _check_section(session, plan, section, items)
    _check_own_ids(section, items, previous)
    rows = [
        _row(spec.model, plan.id, n, item, previous.get(getattr(item, "id", None)))
        for n, item in enumerate(items)
    ]
    _check_unique_ids(section, rows)
    await repo.replace_section(spec.model, plan.id, rows)
    if section == "risks":
        await _raise_high_risks(session, plan, rows, previous)
    touch(plan)
    await session.flush()
    await session.refresh(plan)
    return await detail(session, plan)


def _row(model: type[Base], plan_id: uuid.UUID, position: int, item: BaseModel, old: Any) -> Base:
    values = item.model_dump(exclude={"id"})
    if isinstance(item, RiskIn):
        values["level"] = rules.risk_level(item.likelihood, item.impact)
    if isinstance(item, PartnerIn):
        values["reviews"] = old.reviews if old is not None else []
    if isinstance(item, BudgetLineIn):
        values["forecast"] = item.forecast if item.forecast is not None else item.planned
        values["committed"] = old.committed if old is not None else Decimal(0)
        values["actual"] = old.actual if old is not None else Decimal(0)
    return model(
        id=getattr(item, "id", None) or uuid.uuid4(), plan_id=plan_id, position=position, **values
    )


def _check_own_ids(section: str, items: Sequence[BaseModel], previous: dict[Any, Any]) -> None:
    """An id names a row this section already has; new rows get theirs from the server."""
    for n, item in enumerate(items):
        given = getattr(item, "id", None)
        if given is not None and given not in previous:
            raise RuleViolated(
                f"{section} item {n} names id {given}, which is not a row of this plan's "
                f"{section}; leave id out to add a row",
                field=f"{section}.{n}.id",
                rule="own-row-id",
            )


def _check_unique_ids(section: str, rows: Sequence[Any]) -> None:
    seen: set[uuid.UUID] = set()
    for n, row in enumerate(rows):
        if row.id in seen:
            raise RuleViolated(
                f"{section} item {n} repeats id {row.id}",
                field=f"{section}.{n}.id",
                rule="unique-id",
            )
        seen.add(row.id)


async def _check_section(
    session: AsyncSession, plan: Plan, section: str, items: Sequence[BaseModel]
) -> None:
    """Rules that need the plan: dates inside its period, references to its own rows."""
    repo = PlanRepository(session)
    derived = await repo.derived_metrics() if section == "objectives" else {}
    for n, item in enumerate(items):
        where = f"{section}.{n}"
        if isinstance(item, ObjectiveIn):
            findings = rules.submission_findings(
                starts_on=plan.starts_on,
                ends_on=plan.ends_on,
                objectives=[item],  # type: ignore[list-item]
                planned=[Decimal(1)],
                reserve=Decimal(0),
                risks=[],
                reserve_min=Decimal(0),
                reserve_max=Decimal(1),
                derived_metrics=derived,
            )
            if findings:
                first = findings[0]
                raise RuleViolated(
                    first.message, field=first.field.replace("objectives.0", where), rule=first.rule
                )
        if isinstance(item, PhaseIn):
            if item.ends_on < item.starts_on:
                raise RuleViolated(
                    "a phase must end on or after its start",
                    field=f"{where}.ends_on",
                    rule="period-order",
                )
            if item.starts_on < plan.starts_on or item.ends_on > plan.ends_on:
                raise RuleViolated(
                    f"phase {item.name!r} lies outside the plan period",
                    field=f"{where}.starts_on",
                    rule="phase-within-plan",
                )
        if isinstance(item, BudgetLineIn):
            channels = {c.id for c in await repo.section(Channel, plan.id)}
            phases = {p.id for p in await repo.section(Phase, plan.id)}
            if item.channel_id is not None and item.channel_id not in channels:
                raise RuleViolated(
                    f"channel {item.channel_id} is not in this plan's channel mix",
                    field=f"{where}.channel_id",
                    rule="known-channel",
                )
            if item.phase_id is not None and item.phase_id not in phases:
                raise RuleViolated(
                    f"phase {item.phase_id} is not a phase of this plan",
                    field=f"{where}.phase_id",
                    rule="known-phase",
                )
    if section == "channels":
        kept = {item.id for item in items if isinstance(item, ChannelIn) and item.id}
        for line in await repo.section(BudgetLine, plan.id):
            if line.channel_id is not None and line.channel_id not in kept:
                raise RuleViolated(
                    f"budget line {line.name!r} still uses channel {line.channel_id}",
                    field="channels",
                    rule="channel-in-use",
                )


async def _raise_high_risks(
    session: AsyncSession, plan: Plan, rows: Sequence[Any], previous: dict[Any, Any]
) -> None:
    for risk in rows:
        before = previous.get(risk.id)
        if risk.level == "high" and (before is None or before.level != "high"):
            await outbox.record(
                session,
                RiskRaisedV1(
                    plan_id=plan.id,
                    risk_id=risk.id,
                    title=risk.title,
                    category=risk.category,
                    likelihood=risk.likelihood,
                    impact=risk.impact,
                    level=risk.level,
                    owner_id=risk.owner_id,
                    due_on=risk.due_on,
                ),
                subject=str(plan.id),
            )
