"""Channel efficiency per plan and channel, and the reallocation a diagnosis recommends."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.diagnosis import channels as rules
from services.metrics.diagnosis.channels_repository import ChannelsRepository
from services.metrics.diagnosis.channels_schemas import (
    ChannelEfficiency,
    ChannelParametersIn,
    ChannelParametersRead,
    ChannelTrend,
    Cltv,
    CohortPosted,
    ExpectedEffect,
    MoveOut,
    PlanChannelEfficiency,
    Recommendation,
)
from services.metrics.facts.callers import authenticate
from services.metrics.fx import currency
from services.metrics.kpis.service import targets
from services.metrics.models import ChannelParameters, PlanTarget
from services.metrics.reporting.i18n import Words
from services.metrics.rollups.repository import RollupsRepository
from services.metrics.sources.repository import SourcesRepository
from shared.contract.cohorts import CohortRevenueBatch
from shared.contract.events.planning import PlanTargetsSetV1
from shared.kit.errors import NotFound, RuleViolated


async def on_budget(session: AsyncSession, event: PlanTargetsSetV1) -> None:
    """Keep the plan version's budget lines and contingency reserve."""
    lines = [
        {
            "budget_line_id": str(line.budget_line_id),
            "name": line.name,
            "channel_id": str(line.channel_id) if line.channel_id else None,
            "planned": str(line.planned.amount),
        }
        for line in event.budget_lines
    ]
    reserve = event.contingency_reserve.amount if event.contingency_reserve else None
    await ChannelsRepository(session).keep_budget(
        event.plan_id, event.version, event.currency, lines, reserve
    )


async def contingency_reserve(session: AsyncSession, plan_id: uuid.UUID) -> Decimal | None:
    """The reserve of the plan's newest budget, or None before planning announced one."""
    budget = await ChannelsRepository(session).budget(plan_id)
    return None if budget is None else budget.contingency_reserve


async def parameters(session: AsyncSession, plan_id: uuid.UUID) -> ChannelParametersRead:
    """The plan's CLTV parameters; the defaults (nothing set, floor 1) when never set."""
    stored = await ChannelsRepository(session).parameters(plan_id)
    if stored is None:
        return ChannelParametersRead(
            plan_id=plan_id,
            gross_margin=None,
            purchase_frequency=None,
            lifespan_years=None,
            cltv_cac_floor=rules.DEFAULT_FLOOR,
            set_by=None,
            set_at=None,
        )
    return ChannelParametersRead.model_validate(stored, from_attributes=True)


async def set_parameters(
    session: AsyncSession, plan_id: uuid.UUID, data: ChannelParametersIn, by: str, now: datetime
) -> ChannelParametersRead:
    """Replace the plan's parameters (a PUT: the same body twice leaves the same state)."""
    await targets(session, plan_id)  # only a plan metrics knows
    repo = ChannelsRepository(session)
    stored = await repo.parameters(plan_id)
    if stored is None:
        stored = ChannelParameters(plan_id=plan_id)
        session.add(stored)
    stored.gross_margin, stored.purchase_frequency = data.gross_margin, data.purchase_frequency
    stored.lifespan_years, stored.cltv_cac_floor = data.lifespan_years, data.cltv_cac_floor
    stored.set_by, stored.set_at = by, now
    await session.flush()
    return await parameters(session, plan_id)


def rule_parameters(read: ChannelParametersRead) -> rules.Parameters:
    """The stored parameters as the rules read them."""
    return rules.Parameters(
        gross_margin=read.gross_margin,
        purchase_frequency=read.purchase_frequency,
        lifespan_years=read.lifespan_years,
        cltv_cac_floor=read.cltv_cac_floor,
    )


async def _channel_figures(
    session: AsyncSession, plan_id: uuid.UUID, first: date, last: date, metrics: tuple[str, ...]
) -> dict[str, rules.Figures]:
    """channel id → its sums over [first, last], net of excluded fraud, in the plan currency."""
    sums: dict[str, dict[str, Decimal]] = defaultdict(dict)
    days = await RollupsRepository(session).channel_days(plan_id, first, last, metrics)
    for _day, channel, metric, gross, net, _entities in days:
        value = net if net is not None else gross
        sums[channel][metric] = sums[channel].get(metric, Decimal(0)) + value
    return {channel: rules.Figures.of(values) for channel, values in sums.items()}


async def cohorts_by_channel(
    session: AsyncSession, target: PlanTarget, first: date, last: date
) -> dict[str, list[rules.Cohort]]:
    """channel id → its cohorts acquired in [first, last], revenue in the plan's currency.

    A cohort whose revenue has no exchange rate for its day is left out, as money facts are."""
    repo = ChannelsRepository(session)
    rows = await repo.newest_cohorts(target.plan_id, first, last)
    rates = await repo.rates() if any(r[5] != target.currency for r in rows) else []
    out: dict[str, list[rules.Cohort]] = defaultdict(list)
    for channel, day, age, customers, revenue, money in rows:
        converted = currency.convert("revenue", revenue, money, target.currency, day, rates)
        if channel is not None and converted is not None:
            out[str(channel)].append(rules.Cohort(customers, converted, age))
    return out


async def efficiency(
    session: AsyncSession, plan_id: uuid.UUID, first: date, last: date, language: str
) -> PlanChannelEfficiency:
    """Spend, new customers, CAC, AOV, repeat rate, CLTV both ways, CLTV/CAC, ROI per channel."""
    if last < first:
        raise RuleViolated("the period ends before it starts", field="to", rule="period-order")
    target = await targets(session, plan_id)
    words = Words(language, target.currency)
    read = await parameters(session, plan_id)
    params = rule_parameters(read)
    figures = await _channel_figures(session, plan_id, first, last, rules.METRICS)
    cohorts = await cohorts_by_channel(session, target, first, last)
    rows = [
        judged(
            uuid.UUID(str(channel["channel_id"])),
            str(channel["name"]),
            figures.get(str(channel["channel_id"]), rules.Figures()),
            cohorts.get(str(channel["channel_id"]), []),
            params,
            words,
        )
        for channel in target.channels
    ]
    return PlanChannelEfficiency(
        plan_id=plan_id,
        currency=target.currency,
        from_=first,
        to=last,
        parameters=read,
        channels=rows,
    )


def judged(
    channel_id: uuid.UUID,
    name: str,
    own: rules.Figures,
    own_cohorts: list[rules.Cohort],
    params: rules.Parameters,
    words: Words,
) -> ChannelEfficiency:
    """One channel's efficiency from its sums and cohorts: CLTV by cohort when there are
    cohorts, else by formula; CLTV/CAC and the ineffective mark, its reason in ``words``."""
    by_cohort = rules.cohort_cltv(own_cohorts, params.gross_margin) if own_cohorts else None
    classical = rules.classical_cltv(rules.aov(own), params)
    used = by_cohort if by_cohort is not None else classical
    acquisition = rules.cac(own)
    ratio, mark = rules.judge(acquisition, own, used, params.cltv_cac_floor)
    return ChannelEfficiency(
        channel_id=channel_id,
        name=name,
        spend=own.spend,
        new_customers=own.new_customers,
        orders=own.orders,
        gmv=own.gmv,
        cac=acquisition,
        aov=rules.aov(own),
        repeat_purchase_rate=rules.repeat_rate(own),
        roi=rules.roi(own),
        cltv=Cltv(
            basis="cohort" if by_cohort is not None else "classical" if classical else None,
            value=used,
            cohort=by_cohort,
            cohort_customers=sum((c.customers for c in own_cohorts), Decimal(0)),
            cohort_oldest_age_days=max((c.age_days for c in own_cohorts), default=None),
            classical=classical,
        ),
        cltv_cac=ratio,
        ineffective=mark.ineffective,
        code=mark.code,
        reason=words(mark.message, **mark.values) if mark.message else None,
    )


async def post_cohorts(
    session: AsyncSession,
    source_id: uuid.UUID,
    headers: dict[str, str | None],
    body: bytes,
    now: datetime,
) -> CohortPosted:
    """Store a source's cohort rows, authenticated as its fact deliveries are."""
    source = await SourcesRepository(session).source(source_id)
    if source is None:
        raise NotFound(f"no source {source_id}")
    authenticate(
        {"kind": source.kind, "secrets": source.secrets, "token_subjects": source.token_subjects},
        headers,
        body,
        now,
    )
    try:
        batch = CohortRevenueBatch.model_validate_json(body)
    except ValidationError as invalid:
        errors = [
            {
                "field": ".".join(map(str, e["loc"])) or "body",
                "rule": e["type"],
                "message": e["msg"],
            }
            for e in invalid.errors()
        ]
        raise RuleViolated(
            "the cohort batch is invalid: "
            + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            field=errors[0]["field"],
            rule="cohort-batch",
            errors=errors,
        ) from None
    repo = ChannelsRepository(session)
    mapped = await repo.mappings(source_id)
    stored = await repo.keep_cohorts(
        source_id, source.currency, batch.rows, batch.report_time, mapped
    )
    unmapped = sorted({r.entity for r in batch.rows if r.entity not in mapped})
    return CohortPosted(rows=len(batch.rows), stored=stored, unmapped_entities=unmapped)


def _lines_by_channel(lines: list[dict[str, Any]]) -> dict[str, list[rules.Line]]:
    out: dict[str, list[rules.Line]] = defaultdict(list)
    for line in lines:
        if line["channel_id"] is not None:
            out[line["channel_id"]].append(
                rules.Line(line["budget_line_id"], line["name"], Decimal(line["planned"]))
            )
    return out


async def recommend(
    session: AsyncSession, plan_id: uuid.UUID, as_of: date, days: int, share: Decimal
) -> Recommendation:
    """From each channel's CAC over the last ``days`` days (and the ``days`` before), propose
    moving ``share`` of the weakest channel's remaining budget to the strongest one."""
    target = await targets(session, plan_id)
    budget = await ChannelsRepository(session).budget(plan_id)
    recent_first = as_of - timedelta(days=days - 1)
    previous_first = recent_first - timedelta(days=days)
    recent = await _channel_figures(session, plan_id, recent_first, as_of, rules.METRICS)
    previous = await _channel_figures(
        session, plan_id, previous_first, recent_first - timedelta(days=1), rules.METRICS
    )
    spent = await _channel_figures(session, plan_id, target.starts_on, as_of, (rules.SPEND,))
    lines = _lines_by_channel(budget.lines if budget else [])
    channels = [
        rules.ChannelRecent(
            channel_id=str(c["channel_id"]),
            name=c["name"],
            recent=recent.get(str(c["channel_id"]), rules.Figures()),
            previous=previous.get(str(c["channel_id"]), rules.Figures()),
            lines=lines.get(str(c["channel_id"]), []),
            spent_to_date=spent.get(str(c["channel_id"]), rules.Figures()).spend,
        )
        for c in target.channels
    ]
    proposal = rules.propose(
        channels,
        all_lines_planned=[Decimal(line["planned"]) for line in (budget.lines if budget else [])],
        reserve=budget.contingency_reserve if budget else None,
        share=share,
    )
    trends = [
        ChannelTrend(
            channel_id=uuid.UUID(c.channel_id),
            name=c.name,
            recent_spend=c.recent.spend,
            recent_new_customers=c.recent.new_customers,
            recent_cac=c.recent_cac,
            previous_cac=rules.cac(c.previous),
            cac_change=c.trend,
            remaining_budget=c.remaining,
        )
        for c in channels
    ]
    answer = Recommendation(
        plan_id=plan_id,
        as_of=as_of,
        days=days,
        offered=proposal.move is not None,
        code=proposal.code,
        reason=proposal.reason,
        reserve_share=(
            proposal.reserve_share.quantize(rules.RATIO)
            if proposal.reserve_share is not None
            else None
        ),
        channels=trends,
        move=None,
        expected=None,
        assumptions=proposal.assumptions,
        adjustment=None,
    )
    if proposal.move is None:
        return answer
    return _with_move(answer, proposal.move, target.currency)


def _with_move(answer: Recommendation, move: rules.Move, money: str) -> Recommendation:
    """The recommendation with its move, expected effect and the adjustment body for planning."""
    out = MoveOut(
        from_channel_id=uuid.UUID(move.weak.channel_id),
        from_channel=move.weak.name,
        from_budget_line_id=uuid.UUID(move.from_line.budget_line_id),
        to_channel_id=uuid.UUID(move.strong.channel_id),
        to_channel=move.strong.name,
        to_budget_line_id=uuid.UUID(move.to_line.budget_line_id),
        amount=move.amount,
        currency=money,
    )
    expected = ExpectedEffect(
        extra_new_customers=move.extra_new_customers,
        forgone_new_customers=move.forgone_new_customers,
        net_new_customers=move.extra_new_customers - move.forgone_new_customers,
    )
    weak_cac = move.weak.recent_cac
    reason = (
        f"diagnosis over the last {answer.days} days to {answer.as_of}: move {move.amount} "
        f"{money} from {move.weak.name!r} (CAC "
        f"{weak_cac if weak_cac is not None else 'n/a, no new customers'}) to "
        f"{move.strong.name!r} (CAC {move.strong.recent_cac}); expected "
        f"+{expected.extra_new_customers} new customers at most"
    )
    diagnosis = answer.model_copy(update={"move": out, "expected": expected})
    adjustment = {
        "kind": "budget_reallocation",
        "reason": reason,
        "moves": [
            {
                "from_budget_line_id": str(out.from_budget_line_id),
                "to_budget_line_id": str(out.to_budget_line_id),
                "amount": str(out.amount),
            }
        ],
        "diagnosis": diagnosis.model_dump(mode="json", exclude={"adjustment"}),
    }
    return diagnosis.model_copy(update={"adjustment": adjustment})
