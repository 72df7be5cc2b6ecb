"""Metrics' evaluation: the docs/domain.md §6 table, with users' notes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.dictionary import derived
from services.metrics.dictionary.catalogue import BUILT_IN, Dictionary
from services.metrics.kpis import kpi
from services.metrics.kpis.repository import KpisRepository
from services.metrics.kpis.service import kpis, summable, targets
from services.metrics.models import PlanTarget
from services.metrics.rollups.repository import RollupsRepository
from services.metrics.schemas import (
    ChannelFigures,
    EarlierTarget,
    Evaluation,
    EvaluationNoteIn,
    EvaluationRow,
    ObjectiveKpi,
    PeriodComparison,
)
from shared.kit.errors import NotFound

FOUR = Decimal("0.0001")


async def _previous_period(
    repo: RollupsRepository, target: PlanTarget, as_of: date, metrics: Dictionary = BUILT_IN
) -> Callable[[str], PeriodComparison | None]:
    """Each metric over the campaign so far against the equally long period before its start
    (net of excluded fraud both times): what the campaign changed."""
    last = min(as_of, target.ends_on)
    length = (last - target.starts_on).days + 1
    if length < 1:
        return lambda _metric: None
    first_before = target.starts_on - timedelta(days=length)
    last_before = target.starts_on - timedelta(days=1)
    now = await repo.figures(target.plan_id, last, since=target.starts_on)
    then = await repo.figures(target.plan_id, last_before, since=first_before)

    def compare(metric: str) -> PeriodComparison:
        current = metrics.value_of(metric, *summable(now, net=True))
        earlier = metrics.value_of(metric, *summable(then, net=True))
        change = (current / earlier - 1) if current is not None and earlier else None
        return PeriodComparison(
            first_day=first_before,
            last_day=last_before,
            actual=None if earlier is None else f"{earlier.normalize():f}",
            change=None if change is None else f"{change * 100:+.0f}%",
        )

    return compare


def _earlier_targets(target: PlanTarget, row: ObjectiveKpi) -> list[EarlierTarget]:
    """The objective's target in earlier versions, where an adjustment changed it."""
    earlier = []
    current = row.target
    for kept in reversed(target.history):
        found = next(
            (o for o in kept["objectives"] if o["objective_id"] == str(row.objective_id)), None
        )
        if found is None:
            continue
        value = Decimal(found["target_value"])
        if value != current:
            ratio = (
                (row.actual / value).quantize(Decimal("0.0001")) if row.actual and value else None
            )
            earlier.append(
                EarlierTarget(
                    version=kept["version"],
                    target=_shown(row, value) or "",
                    achievement=_percent(ratio),
                )
            )
        current = value
    return earlier[::-1]


def _percent(ratio: Decimal | None) -> str | None:
    return None if ratio is None else f"{(ratio * 100).quantize(Decimal('1'))}%"


def _shown(row: ObjectiveKpi, value: Decimal | None) -> str | None:
    if value is None:
        return None
    if row.target_kind == "relative":
        return f"{value.normalize():+f}%"
    if row.metric == "roi":
        return f"1:{value.normalize():f}"
    return (
        f"{value.quantize(Decimal('1')):,}"
        if value == value.to_integral()
        else f"{value.normalize():,f}"
    )


async def evaluation(
    session: AsyncSession, plan_id: uuid.UUID, as_of: date, known_at: datetime | None = None
) -> Evaluation:
    """The docs/domain.md §6 table, with users' analysis, plus the channel comparison; with
    ``known_at``, the figures as the system knew them then (the notes are today's)."""
    target = await targets(session, plan_id)
    repo = RollupsRepository(session, known_at)
    notes = await KpisRepository(session).notes(plan_id)
    standing = await kpis(session, plan_id, as_of, known_at)
    metrics = await derived.dictionary(session)
    before = await _previous_period(repo, target, as_of, metrics)
    rows = []
    for row in standing.objectives:
        note = notes.get(row.objective_id)
        rows.append(
            EvaluationRow(
                objective_id=row.objective_id,
                dimension=row.type.replace("_", " "),
                metric=metrics.name(row.metric),
                target=_shown(row, row.target) or "",
                actual=_shown(row, row.actual),
                achievement=_percent(row.achievement),
                previous_period=before(row.metric),
                earlier_targets=_earlier_targets(target, row),
                data_source=note.data_source if note else None,
                analysis=note.analysis if note else None,
                suggestion=note.suggestion if note else None,
            )
        )
    names = {uuid.UUID(c["channel_id"]): c["name"] for c in target.channels}
    channels = [
        ChannelFigures(
            channel_id=channel,
            name=names.get(channel, "unmapped") if channel else "plan level",
            cost=sums.get("cost"),
            ctr=kpi.value_of("ctr", sums, {}),
            conversion_rate=kpi.value_of("conversion_rate", sums, {}),
            roi=kpi.value_of("roi", sums, {}),
        )
        for channel, sums in (await repo.channel_sums(plan_id, as_of)).items()
    ]
    return Evaluation(
        plan_id=plan_id,
        plan_name=target.name,
        plan_version=target.version,
        as_of=as_of,
        rows=rows,
        channels=sorted(channels, key=lambda c: c.name),
        currency=target.currency,
        missing_rates=standing.missing_rates,
        known_at=known_at,
    )


async def annotate(
    session: AsyncSession, plan_id: uuid.UUID, objective_id: uuid.UUID, note: EvaluationNoteIn
) -> None:
    """Add analysis, suggestion and the data source to an evaluation row."""
    target = await targets(session, plan_id)
    if str(objective_id) not in {o["objective_id"] for o in target.objectives}:
        raise NotFound(f"plan {plan_id} has no objective {objective_id}")
    await KpisRepository(session).upsert_note(
        {"plan_id": plan_id, "objective_id": objective_id, **note.model_dump()}
    )
