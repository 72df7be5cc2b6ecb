"""The target projection and each objective's standing."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.dictionary import derived
from services.metrics.dictionary.catalogue import BUILT_IN, Dictionary
from services.metrics.facts.repository import FactsRepository
from services.metrics.fraud.repository import FraudRepository
from services.metrics.fx import currency, rates
from services.metrics.fx.repository import FxRepository
from services.metrics.kpis import kpi
from services.metrics.kpis.repository import KpisRepository
from services.metrics.models import PlanTarget
from services.metrics.rollups.repository import Figures, RollupsRepository
from services.metrics.schemas import ObjectiveKpi, PlanKpis
from services.metrics.sources.repository import SourcesRepository
from shared.contract.events.planning import PlanTargetsSetV1
from shared.kit.errors import NotFound, RuleViolated


async def on_targets(session: AsyncSession, event: PlanTargetsSetV1) -> None:
    """Keep the newest targets of a plan, and the earlier versions' for comparison."""
    repo = KpisRepository(session)
    current = await repo.target(event.plan_id)
    objectives = [o.model_dump(mode="json") for o in event.objectives]
    channels = [c.model_dump(mode="json") for c in event.channels]
    if current is None:
        await repo.add(
            PlanTarget(
                plan_id=event.plan_id,
                version=event.version,
                name=event.name,
                starts_on=event.starts_on,
                ends_on=event.ends_on,
                currency=event.currency,
                objectives=objectives,
                channels=channels,
                history=[],
            )
        )
        if event.currency != currency.DEFAULT_PLAN_CURRENCY:
            await FxRepository(session).mark_money_dirty(
                event.plan_id
            )  # facts so far were taken to be in CNY
        return
    if event.version <= current.version:
        return  # an older version arriving late changes nothing
    current.history = [
        *current.history,
        # Channels kept too: the report shows the ones a budget move took out of the mix.
        {
            "version": current.version,
            "objectives": current.objectives,
            "channels": current.channels,
        },
    ]
    current.version, current.name = event.version, event.name
    current.starts_on, current.ends_on = event.starts_on, event.ends_on
    current.objectives, current.channels = objectives, channels
    await session.flush()


async def targets(session: AsyncSession, plan_id: uuid.UUID) -> PlanTarget:
    target = await KpisRepository(session).target(plan_id)
    if target is None:
        raise NotFound(f"no targets known for plan {plan_id} (it is not approved yet)")
    return target


def _standing(
    objective: dict[str, Any],
    target: PlanTarget,
    sums: dict[str, Decimal],
    latest: dict[str, Decimal],
    as_of: date,
    metrics: Dictionary = BUILT_IN,
) -> kpi.Achievement:
    return kpi.achievement(
        metric=objective["metric"],
        target_kind=objective["target_kind"],
        target=Decimal(objective["target_value"]),
        baseline=Decimal(objective["baseline_value"]) if objective["baseline_value"] else None,
        value=metrics.value_of(objective["metric"], sums, latest),
        starts_on=target.starts_on,
        due_on=date.fromisoformat(objective["due_on"]),
        as_of=as_of,
        accumulating=metrics.accumulates(objective["metric"]),
    )


def as_known(
    as_of: date | None, known_at: datetime | None, now: datetime, timezone: str
) -> tuple[date, datetime | None]:
    """The day figures run to and the time they are known at, from a request's ``as_of`` and
    ``known_at``.

    ``known_at`` without an offset is read in the company time zone; without ``as_of`` the
    figures run to its company day (else to today). A time after ``now`` is refused: what the
    system will know then is not known yet, and answering with today's figures would pass them
    off as final. A time before any data answers with nothing known (no figures), as it was.
    """
    zone = ZoneInfo(timezone)
    if known_at is not None and known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=zone)
    if known_at is not None and known_at > now:
        raise RuleViolated(
            f"known_at {known_at.isoformat()} is in the future: figures can be asked as known "
            "at a past time or now",
            field="known_at",
            rule="known-at-past",
        )
    day = as_of or (known_at or now).astimezone(zone).date()
    return day, known_at


async def kpis(
    session: AsyncSession, plan_id: uuid.UUID, as_of: date, known_at: datetime | None = None
) -> PlanKpis:
    """Each objective's actual, achievement, expected-to-date and projection.

    The headline figures are net of entity-days excluded as fraudulent; gross is shown beside.
    With ``known_at``, figures and exclusions are the ones the system knew then (targets,
    derived-metric definitions and exchange rates are today's).
    """
    target = await targets(session, plan_id)
    repo = RollupsRepository(session, known_at)
    metrics = await derived.dictionary(session)
    # The campaign counts from its first day; what came before is the previous period.
    figures = await repo.figures(plan_id, as_of, since=target.starts_on)
    gross_sums, gross_latest = summable(figures, net=False)
    excluded = await FraudRepository(session).excluded_entity_days(plan_id, as_of, known_at)
    if excluded:
        net_sums, net_latest = summable(figures, net=True)
    else:
        net_sums, net_latest = gross_sums, gross_latest
    rows = []
    for objective in target.objectives:
        gross = _standing(objective, target, gross_sums, gross_latest, as_of, metrics)
        standing = _standing(objective, target, net_sums, net_latest, as_of, metrics)
        rows.append(
            ObjectiveKpi(
                objective_id=objective["objective_id"],
                type=objective["type"],
                metric=objective["metric"],
                target_kind=objective["target_kind"],
                target=Decimal(objective["target_value"]),
                baseline=Decimal(objective["baseline_value"])
                if objective["baseline_value"]
                else None,
                actual=standing.actual,
                achievement=standing.achievement,
                expected_to_date=standing.expected_to_date,
                projected_at_due=standing.projected,
                due_on=objective["due_on"],
                actual_gross=gross.actual,
                achievement_gross=gross.achievement,
                actual_net=standing.actual,
                achievement_net=standing.achievement,
                additive=metrics.additive(objective["metric"]),
            )
        )
    final = await final_through(session, plan_id, as_of)
    last = await FactsRepository(session).last_day(plan_id, as_of) if final is not None else None
    return PlanKpis(
        plan_id=plan_id,
        plan_version=target.version,
        as_of=as_of,
        objectives=rows,
        excluded_entity_days=excluded,
        final_through=final,
        provisional=final is not None and last is not None and last > final,
        currency=target.currency,
        missing_rates=await rates.missing(repo, target, target.starts_on, as_of),
        known_at=known_at,
    )


def summable(figures: Figures, *, net: bool) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Gross or net sums and latest-day totals, less those that are no right total."""
    sums, latest = (
        (figures.net_sums, figures.net_latest)
        if net
        else (figures.gross_sums, figures.gross_latest)
    )
    return kpi.summable(sums, latest, figures.entity_days, figures.latest_entities)


async def final_through(session: AsyncSession, plan_id: uuid.UUID, today: date) -> date | None:
    """The last day whose figures no source of the plan will restate any more (Meta freezes
    after 28 days, AppsFlyer after 2): today minus the longest settlement window."""
    window = await SourcesRepository(session).settlement_days(plan_id)
    return None if window is None else today - timedelta(days=window)
