"""Everything the evaluation report shows, gathered from the metrics service's own functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import service
from services.metrics.dictionary import derived
from services.metrics.dictionary.catalogue import Dictionary
from services.metrics.kpis import payouts
from services.metrics.kpis import service as kpis_service
from services.metrics.kpis.repository import KpisRepository
from services.metrics.reporting.diagnosis import EFFICIENCY_METRICS, Diagnosis, diagnose
from services.metrics.reporting.repository import sources_by_metric
from services.metrics.rollups import service as rollups_service
from services.metrics.schemas import (
    DecompositionRead,
    Evaluation,
    PlanKpis,
    PlanRollups,
    RollupPeriod,
)
from shared.contract.metric_dictionary import MetricKind
from shared.kit.errors import NotFound

FUNNEL = ("impressions", "clicks", "conversions", "registrations", "first_orders")
CHANNEL_METRICS = ("cost", "impressions", "clicks", "conversions", "registrations", "gmv")


def ratio(top: Decimal | None, bottom: Decimal | None) -> Decimal | None:
    """top / bottom, or None when either is missing or the bottom is zero."""
    return None if top is None or not bottom else top / bottom


@dataclass(frozen=True)
class ChannelLine:
    """One channel of the plan, in the current version or moved away from in an earlier one."""

    channel_id: uuid.UUID | None
    name: str
    in_current_plan: bool
    planned: Decimal | None
    sums: dict[str, Decimal]

    def _ratio(self, top: str, bottom: str) -> Decimal | None:
        return ratio(self.sums.get(top), self.sums.get(bottom))

    @property
    def spend(self) -> Decimal | None:
        """Net cost in the plan currency."""
        return self.sums.get("cost")

    @property
    def ctr(self) -> Decimal | None:
        """Clicks per impression."""
        return self._ratio("clicks", "impressions")

    @property
    def cvr(self) -> Decimal | None:
        """Conversions per click."""
        return self._ratio("conversions", "clicks")

    @property
    def cac(self) -> Decimal | None:
        """Cost per new registered user."""
        return self._ratio("cost", "registrations")

    @property
    def roi(self) -> Decimal | None:
        """GMV per unit of cost (shown 1:N)."""
        return self._ratio("gmv", "cost")

    @property
    def remaining(self) -> Decimal | None:
        """Planned budget less net spend."""
        if self.planned is None:
            return None
        return self.planned - (self.spend or Decimal(0))


@dataclass(frozen=True)
class TrendPoint:
    """An objective's figure to a day, and where the target's pace says it should be."""

    day: date
    value: Decimal | None
    pace: Decimal | None


@dataclass(frozen=True)
class Trend:
    """The daily trend of one objective."""

    objective_id: uuid.UUID
    metric: str
    points: list[TrendPoint]


@dataclass
class ReportData:
    """The evaluation and what the report adds to it."""

    evaluation: Evaluation
    kpis: PlanKpis
    starts_on: date
    ends_on: date
    channels: list[ChannelLine]
    trends: list[Trend]
    funnel: list[tuple[str, Decimal]]
    trees: list[tuple[uuid.UUID, DecompositionRead]]
    sources: dict[str, list[str]]
    dictionary: Dictionary
    diagnosis: Diagnosis
    names: dict[str, str] = field(default_factory=dict)
    # Metrics with figures on days a source may still restate (after ``kpis.final_through``).
    unsettled: set[str] = field(default_factory=set)


def _add(into: dict[str, Decimal], values: dict[str, Decimal | None]) -> None:
    for metric, value in values.items():
        if value is not None:
            into[metric] = into.get(metric, Decimal(0)) + value


async def gather(
    session: AsyncSession,
    plan_id: uuid.UUID,
    as_of: date,
    timezone: str,
    language: str,
    known_at: datetime | None = None,
) -> ReportData:
    """The evaluation, channels, daily trends, funnel, decomposition trees and diagnosis of a
    plan, its sentences in ``language``; with ``known_at``, its figures as the system knew
    them then."""
    evaluation = await service.evaluation(session, plan_id, as_of, known_at)
    standing = await kpis_service.kpis(session, plan_id, as_of, known_at)
    target = await KpisRepository(session).target(plan_id)
    if target is None:
        raise NotFound(f"no targets known for plan {plan_id}")
    dictionary = await derived.dictionary(session)
    last = max(min(as_of, target.ends_on), target.starts_on)
    objective_metrics = [o.metric for o in standing.objectives]
    wanted = sorted(
        {
            *CHANNEL_METRICS,
            *EFFICIENCY_METRICS,
            *FUNNEL,
            *dictionary.base_metrics(objective_metrics),
        }
    )
    daily = await rollups_service.rollups(
        session,
        plan_id,
        grain="day",
        metrics=sorted({*wanted, *objective_metrics}),
        first=target.starts_on,
        last=last,
        timezone=timezone,
        known_at=known_at,
    )
    if not isinstance(daily, PlanRollups):  # asked by the day, never hourly
        raise TypeError("daily rollups came back hourly")
    per_channel: dict[uuid.UUID | None, dict[str, Decimal]] = {}
    totals: dict[str, Decimal] = {}
    for period in daily.periods:
        for line in period.channels:
            _add(per_channel.setdefault(line.channel_id, {}), line.values)
    for sums in per_channel.values():
        _add(totals, {m: v for m, v in sums.items() if dictionary.additive(m)})
    channels = _channels(target.channels, target.history, per_channel)
    trends = [
        _trend(
            o.objective_id, o.metric, daily.periods, standing, dictionary, target.starts_on, last
        )
        for o in standing.objectives
    ]
    trees = []
    for objective in standing.objectives:
        try:
            tree = await payouts.standing(session, plan_id, objective.objective_id, as_of, known_at)
        except NotFound:
            continue
        trees.append((objective.objective_id, tree))
    return ReportData(
        evaluation=evaluation,
        kpis=standing,
        starts_on=target.starts_on,
        ends_on=target.ends_on,
        channels=channels,
        trends=trends,
        funnel=[(m, totals[m]) for m in FUNNEL if totals.get(m)],
        trees=trees,
        sources=await sources_by_metric(session, plan_id, target.starts_on, last),
        dictionary=dictionary,
        diagnosis=await diagnose(
            session,
            target,
            {line.channel_id: (line.name, line.sums) for line in channels if line.channel_id},
            target.starts_on,
            last,
            language,
            known_at,
        ),
        names={o.metric: dictionary.name(o.metric) for o in standing.objectives},
        unsettled={
            metric
            for period in daily.periods
            if standing.final_through is not None and period.end > standing.final_through
            for metric, value in period.values.items()
            if value is not None
        },
    )


def _channels(
    current: list[dict[str, object]],
    history: list[dict[str, object]],
    sums: dict[uuid.UUID | None, dict[str, Decimal]],
) -> list[ChannelLine]:
    """Every channel the plan has had, newest version's first; facts of no channel at the end."""
    lines: dict[uuid.UUID | None, ChannelLine] = {}
    for channel in current:
        channel_id = uuid.UUID(str(channel["channel_id"]))
        budget = channel.get("planned_budget")
        planned = Decimal(str(budget["amount"])) if isinstance(budget, dict) else None
        lines[channel_id] = ChannelLine(
            channel_id, str(channel["name"]), True, planned, sums.get(channel_id, {})
        )
    for kept in reversed(history):
        earlier = kept.get("channels")
        for channel in earlier if isinstance(earlier, list) else []:
            channel_id = uuid.UUID(str(channel["channel_id"]))
            if channel_id not in lines:
                lines[channel_id] = ChannelLine(
                    channel_id, str(channel["name"]), False, Decimal(0), sums.get(channel_id, {})
                )
    for key, figures in sums.items():
        if key not in lines:
            name = "plan level" if key is None else "unmapped channel"
            lines[key] = ChannelLine(key, name, False, None, figures)
    return list(lines.values())


def _trend(
    objective_id: uuid.UUID,
    metric: str,
    periods: list[RollupPeriod],
    standing: PlanKpis,
    dictionary: Dictionary,
    starts_on: date,
    last: date,
) -> Trend:
    """Cumulative counters and money, ratios of cumulative sums, indexes as reported; the pace
    line is the target pro-rated from the first day to the due day (flat for ratios)."""
    objective = next(o for o in standing.objectives if o.objective_id == objective_id)
    definition = dictionary.get(metric)
    accumulating = dictionary.accumulates(metric)
    goal = objective.target
    if objective.target_kind == "relative" and objective.baseline is not None:
        goal = objective.baseline * (1 + objective.target / 100)
    span = (objective.due_on - starts_on).days + 1
    running: dict[str, Decimal] = {}
    carried: Decimal | None = None
    points = []
    # Every day of the campaign so far, a day without facts included: the pace line starts at
    # the first day and a quiet day shows as flat.
    reported_by_day = {period.start: period.values for period in periods}
    for offset in range((last - starts_on).days + 1):
        day = starts_on + timedelta(days=offset)
        values = reported_by_day.get(day, {})
        _add(running, {m: v for m, v in values.items() if dictionary.additive(m)})
        if accumulating:
            value = running.get(metric)
        elif definition is not None and definition.numerator and definition.denominator:
            value = ratio(running.get(definition.numerator), running.get(definition.denominator))
        else:
            reported = values.get(metric)
            carried = reported if reported is not None else carried
            value = carried
        elapsed = offset + 1
        pace = goal * min(elapsed, span) / span if accumulating else goal
        if definition is not None and definition.kind is MetricKind.RATIO and not accumulating:
            pace = goal
        points.append(TrendPoint(day, value, pace))
    return Trend(objective_id, metric, points)
