"""A plan's lifecycle: submission, approval outcomes, activation, versions and retrospective."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.planning import rules, targets
from services.planning.models import (
    BudgetLine,
    Channel,
    Objective,
    Plan,
    PlanVersion,
    RetrospectiveRow,
    Risk,
)
from services.planning.repository import PlanRepository
from services.planning.schemas import (
    PlanDetail,
    PlanStatus,
    RetrospectivePage,
    RetrospectiveRowIn,
    RetrospectiveRowRead,
    VersionChange,
    VersionComparison,
    VersionRead,
)
from services.planning.service import (
    PlanNotEditable,
    detail,
    get_plan,
    outbox,
    parse_uuid,
    touch,
)
from services.planning.settings import get_planning_settings
from shared.contract.events.planning import (
    BudgetLineTarget,
    ChannelTarget,
    ObjectiveTarget,
    PlanActivatedV1,
    PlanApprovedV1,
    PlanArchivedV1,
    PlanCompletedV1,
    PlanRejectedV1,
    PlanStatusChangedPayload,
    PlanSubmittedV1,
    PlanTargetsSetV1,
)
from shared.contract.types import Money
from shared.kit.auth import Principal
from shared.kit.errors import NotFound, RuleViolated
from shared.kit.http import check_version
from shared.kit.pagination import Page, PageWindow, decode_cursor, encode_cursor, page_of
from shared.kit.wording import a_or_an

_STATUS_EVENTS: dict[PlanStatus, type[PlanStatusChangedPayload]] = {
    PlanStatus.APPROVED: PlanApprovedV1,
    PlanStatus.REJECTED: PlanRejectedV1,
    PlanStatus.ACTIVE: PlanActivatedV1,
    PlanStatus.COMPLETED: PlanCompletedV1,
    PlanStatus.ARCHIVED: PlanArchivedV1,
}


def _move(plan: Plan, target: PlanStatus) -> None:
    current = PlanStatus(plan.status)
    if not rules.can_move(current, target):
        allowed = ", ".join(sorted(rules.TRANSITIONS[current])) or "none"
        raise PlanNotEditable(
            f"{a_or_an(current)} plan cannot become {target} (allowed next: {allowed})",
            rule="lifecycle",
            plan_status=current.value,
        )
    plan.status = target.value
    touch(plan)


async def submit(
    session: AsyncSession, plan_id: uuid.UUID, actor: Principal, if_match: str | None
) -> PlanDetail:
    """Submit a draft or rejected plan for approval once every rule holds."""
    plan = await get_plan(session, plan_id, for_update=True)
    check_version(plan.revision, if_match)
    _move(plan, PlanStatus.SUBMITTED)
    repo = PlanRepository(session)
    objectives = await repo.section(Objective, plan.id)
    lines = await repo.section(BudgetLine, plan.id)
    settings = get_planning_settings()
    findings = rules.submission_findings(
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        objectives=objectives,
        planned=[line.planned for line in lines],
        reserve=plan.contingency_reserve,
        risks=await repo.section(Risk, plan.id),
        reserve_min=settings.reserve_min_share,
        reserve_max=settings.reserve_max_share,
        derived_metrics=await repo.derived_metrics(),
    )
    if findings:
        raise RuleViolated(
            "the plan cannot be submitted: " + "; ".join(f.message for f in findings),
            rule=findings[0].rule,
            field=findings[0].field,
            errors=[{"field": f.field, "rule": f.rule, "message": f.message} for f in findings],
        )
    total = rules.total_budget([line.planned for line in lines], plan.contingency_reserve)
    await session.flush()
    await outbox.record(
        session,
        PlanSubmittedV1(
            plan_id=plan.id,
            version=plan.version,
            name=plan.name,
            owner_id=plan.owner_id,
            submitted_by=actor.subject,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            total_budget=Money(amount=total, currency=plan.currency),
            contingency_reserve=Money(amount=plan.contingency_reserve, currency=plan.currency),
        ),
        subject=str(plan.id),
    )
    await session.refresh(plan)
    return await detail(session, plan)


async def step(
    session: AsyncSession,
    plan_id: uuid.UUID,
    target: PlanStatus,
    actor: str,
    *,
    if_match: str | None = None,
    reason: str | None = None,
) -> PlanDetail:
    """Move a plan along its lifecycle and publish the matching event."""
    plan = await get_plan(session, plan_id, for_update=True)
    check_version(plan.revision, if_match)
    _move(plan, target)
    if target is PlanStatus.APPROVED:
        await freeze_version(session, plan, "approved", None)
    await session.flush()
    event = _STATUS_EVENTS[target](plan_id=plan.id, version=plan.version, by=actor, reason=reason)
    await outbox.record(session, event, subject=str(plan.id))
    if target is PlanStatus.APPROVED:
        await publish_targets(session, plan)
    await session.refresh(plan)
    return await detail(session, plan)


async def on_plan_decision(
    session: AsyncSession, plan_id: uuid.UUID, approved: bool, by: str, reason: str | None
) -> None:
    """Apply an approval outcome to a submitted plan (a repeat or late outcome changes nothing)."""
    plan = await PlanRepository(session).get_or_none(plan_id, for_update=True)
    if plan is None or plan.status != PlanStatus.SUBMITTED:
        return
    target = PlanStatus.APPROVED if approved else PlanStatus.REJECTED
    await step(session, plan_id, target, by, reason=reason)


async def snapshot(session: AsyncSession, plan: Plan) -> dict[str, Any]:
    """What a version freezes: the plan's commitments, not its running figures."""
    current = await detail(session, plan)
    running = {"actual_value", "achievement", "progress_as_of", "committed", "actual", "forecast"}
    data = current.model_dump(mode="json", exclude={"retrospective": True})
    header = data.pop("plan")
    for volatile in ("revision", "status", "updated_at", "created_at", "version"):
        header.pop(volatile)
    for name in ("objectives", "channels", "budget"):
        data[name] = [{k: v for k, v in row.items() if k not in running} for row in data[name]]
    return {"plan": header, **data}


async def freeze_version(
    session: AsyncSession, plan: Plan, reason: str, adjustment_id: uuid.UUID | None
) -> None:
    """Keep the plan as it is now as its current version (at approval and per adjustment)."""
    await PlanRepository(session).add(
        PlanVersion(
            plan_id=plan.id,
            version=plan.version,
            snapshot=await snapshot(session, plan),
            reason=reason,
            adjustment_id=adjustment_id,
        )
    )


async def publish_targets(session: AsyncSession, plan: Plan) -> None:
    """The full set of objectives and channels, so consumers need no REST call."""
    repo = PlanRepository(session)
    lines = await repo.section(BudgetLine, plan.id)
    budget_by_channel: dict[uuid.UUID, Decimal] = {}
    for line in lines:
        if line.channel_id is not None:
            budget_by_channel[line.channel_id] = (
                budget_by_channel.get(line.channel_id, Decimal(0)) + line.planned
            )
    await outbox.record(
        session,
        PlanTargetsSetV1(
            plan_id=plan.id,
            version=plan.version,
            name=plan.name,
            owner_id=plan.owner_id,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            currency=plan.currency,
            default_alert_rules=plan.default_alert_rules,
            objectives=[
                ObjectiveTarget(
                    objective_id=o.id,
                    type=o.type,
                    metric=o.metric,
                    target_kind=o.target_kind,
                    target_value=o.target_value,
                    baseline_value=o.baseline_value,
                    owner_id=o.owner_id,
                    due_on=o.due_on,
                )
                for o in await repo.section(Objective, plan.id)
            ],
            channels=[
                ChannelTarget(
                    channel_id=c.id,
                    channel_type=c.channel_type,
                    name=c.name,
                    planned_budget=Money(
                        amount=budget_by_channel.get(c.id, Decimal(0)), currency=plan.currency
                    ),
                )
                for c in await repo.section(Channel, plan.id)
            ],
            budget_lines=[
                BudgetLineTarget(
                    budget_line_id=line.id,
                    name=line.name,
                    cost_type=line.cost_type,
                    channel_id=line.channel_id,
                    planned=Money(amount=line.planned, currency=plan.currency),
                )
                for line in lines
            ],
            contingency_reserve=Money(amount=plan.contingency_reserve, currency=plan.currency),
        ),
        subject=str(plan.id),
    )
    # The trees go out again with the targets, so metrics paces them by the current due dates.
    for objective in await repo.section(Objective, plan.id):
        await targets.publish_decomposition(session, plan, objective)


async def versions(session: AsyncSession, plan_id: uuid.UUID) -> list[VersionRead]:
    """Every kept version of a plan."""
    await get_plan(session, plan_id)
    return [VersionRead.model_validate(v) for v in await PlanRepository(session).versions(plan_id)]


async def versions_page(
    session: AsyncSession, plan_id: uuid.UUID, window: PageWindow
) -> Page[VersionRead]:
    """A page of a plan's kept versions, oldest first."""
    await get_plan(session, plan_id)
    rows = await PlanRepository(session).versions_page(plan_id, window)
    return page_of(rows, window, lambda v: (v.version,), VersionRead.model_validate)


async def compare_version(
    session: AsyncSession, plan_id: uuid.UUID, version: int
) -> VersionComparison:
    """What changed from the previous version to ``version``."""
    kept = {v.version: v for v in await versions(session, plan_id)}
    if version not in kept or version - 1 not in kept:
        raise NotFound(f"plan {plan_id} has no versions {version - 1} and {version} to compare")
    changes = rules.compare(kept[version - 1].snapshot, kept[version].snapshot)
    return VersionComparison(
        version=version,
        previous=version - 1,
        changes=[VersionChange(path=p, before=b, after=a) for p, b, a in changes],
    )


async def file_retrospective(
    session: AsyncSession,
    plan_id: uuid.UUID,
    rows: Sequence[RetrospectiveRowIn],
    if_match: str | None,
) -> PlanDetail:
    """Record the retrospective of a completed (or archived) plan, replacing any earlier one."""
    plan = await get_plan(session, plan_id, for_update=True)
    check_version(plan.revision, if_match)
    if plan.status not in (PlanStatus.COMPLETED, PlanStatus.ARCHIVED):
        raise PlanNotEditable(
            f"a retrospective follows completion; this plan is {plan.status}",
            rule="retrospective-after-completion",
        )
    await PlanRepository(session).replace_section(
        RetrospectiveRow,
        plan.id,
        [
            RetrospectiveRow(id=uuid.uuid4(), plan_id=plan.id, position=n, **row.model_dump())
            for n, row in enumerate(rows)
        ],
    )
    touch(plan)
    await session.flush()
    await session.refresh(plan)
    return await detail(session, plan)


async def search_retrospectives(
    session: AsyncSession, *, text: str | None, cursor: str | None, limit: int
) -> RetrospectivePage:
    """The knowledge base: retrospective rows of every plan, searched by text."""
    after = parse_uuid(decode_cursor(cursor), "cursor")
    rows = await PlanRepository(session).search_retrospectives(text=text, after=after, limit=limit)
    items = [RetrospectiveRowRead.model_validate(r) for r in rows[:limit]]
    return RetrospectivePage(
        items=items, next_cursor=encode_cursor(str(items[-1].id)) if len(rows) > limit else None
    )


async def record_progress(
    session: AsyncSession,
    objective_id: uuid.UUID,
    actual: Decimal | None,
    achievement: Decimal | None,
    as_of: datetime,
) -> None:
    """Show metrics' latest achievement on the objective (an older snapshot is ignored)."""
    objective = await PlanRepository(session).objective(objective_id)
    if objective is None or (objective.progress_as_of and objective.progress_as_of >= as_of):
        return
    objective.actual_value, objective.achievement, objective.progress_as_of = (
        actual,
        achievement,
        as_of,
    )
    await session.flush()


async def record_commitment(
    session: AsyncSession, plan_id: uuid.UUID, line_id: uuid.UUID, amount: Decimal
) -> None:
    """An approved expense is committed spend on its budget line."""
    line = await PlanRepository(session).budget_line(line_id, for_update=True)
    if line is None or line.plan_id != plan_id:
        return
    line.committed += amount
    await session.flush()


async def record_spend(
    session: AsyncSession, plan_id: uuid.UUID, channel_id: uuid.UUID | None, spend_to_date: Decimal
) -> None:
    """Actual spend to date of a channel lands on its channel-fee line (or its first line)."""
    lines = await PlanRepository(session).channel_lines(plan_id, channel_id)
    if lines:
        lines[0].actual = spend_to_date
        await session.flush()
