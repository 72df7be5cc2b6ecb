"""Judging what other services report (KPI snapshots, channel-day metrics, spend, conditions)
against the enabled rules; each observation goes to the alert lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import evaluation, lifecycle
from services.alerts.repository import AlertRepository
from services.alerts.rules import TARGET_KINDS, Observation
from shared.contract.events.metrics import (
    KpiSnapshotV1,
    MetricsUpdatedV1,
    SpendRecordedV1,
)
from shared.contract.metric_dictionary import METRIC_DICTIONARY

CHANNEL_DAY_KINDS = ("threshold", "change_over_period", "relative_to_target")


async def on_kpi_snapshot(session: AsyncSession, event: KpiSnapshotV1, now: datetime) -> None:
    """Judge each objective against its relative-to-target and projected-miss rules.

    Accumulating metrics (registrations, cost) are held to the target pro-rated to elapsed
    time; ratios (CTR, ROI) to the target as is.
    """
    rules = await AlertRepository(session).enabled_rules(event.plan_id, kind=TARGET_KINDS)
    derived = await AlertRepository(session).derived_metrics() if rules else {}
    for rule in rules:
        for objective in event.objectives:
            if rule.objective_id not in (None, objective.objective_id):
                continue
            if rule.objective_id is None and (
                rule.target is not None or rule.metric != objective.metric
            ):
                continue  # a plan-wide rule with its own target is judged per channel-day
            accumulates = _accumulates(objective.metric, derived)
            if rule.kind == "projected_miss":
                value = evaluation.projected(
                    objective.actual, objective.target, objective.expected_to_date, accumulates
                )
                target = objective.target
                said = f"{objective.metric} heading for {value} against {target} at the due date"
            else:
                value = objective.actual
                target = (
                    objective.expected_to_date
                    if accumulates and objective.expected_to_date
                    else objective.target
                )
                said = f"{objective.metric} {value} against {target} expected"
            await lifecycle.observe(
                session,
                rule,
                Observation(value=value, target=target, provisional=objective.provisional),
                now,
                plan_id=event.plan_id,
                objective_id=objective.objective_id,
                summary=said,
                data_at=event.as_of,
            )


def start_of(day: date) -> datetime:
    """A business day as the instant data about it is ordered by."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _accumulates(metric: str, derived: Mapping[str, str] | None = None) -> bool:
    known = METRIC_DICTIONARY.get(metric)
    kind = known.kind.value if known is not None else (derived or {}).get(metric)
    return kind in ("counter", "money")


async def on_metrics_updated(session: AsyncSession, event: MetricsUpdatedV1, now: datetime) -> None:
    """Judge metric rules of the plan (and global ones) on one channel-day's values, and keep
    the values so change-over-period rules can compare with them later."""
    repo = AlertRepository(session)
    scope = str(event.channel_id) if event.channel_id else "plan"
    await repo.remember_values(
        event.plan_id, scope, event.day, {v.metric: v.value for v in event.values}
    )
    values = {v.metric: v for v in event.values}
    for rule in await repo.enabled_rules(event.plan_id, kind=CHANNEL_DAY_KINDS):
        if rule.objective_id or rule.metric not in values:
            continue
        if rule.kind == "relative_to_target" and rule.target is None:
            continue  # targets come from objectives: judged on KPI snapshots
        if rule.channel_id is not None and rule.channel_id != event.channel_id:
            continue
        seen = values[rule.metric]
        where = f"channel {event.channel_id}" if event.channel_id else "the plan"
        value = seen.value
        if rule.kind == "change_over_period":
            before = event.day - timedelta(days=rule.period_days)
            previous = await repo.seen_value(event.plan_id, scope, rule.metric, before)
            value = evaluation.percent_change(seen.value, previous)
            said = f"{rule.metric} {seen.value} on {event.day} against {previous} on {before}"
        else:
            said = f"{rule.metric} {seen.value} on {event.day}"
        await lifecycle.observe(
            session,
            rule,
            Observation(value=value, sample=seen.denominator, provisional=seen.provisional),
            now,
            plan_id=event.plan_id,
            channel_id=event.channel_id,
            summary=f"{said} for {where} ({rule.name})",
            data_at=start_of(event.day),
        )


async def on_spend(session: AsyncSession, event: SpendRecordedV1, now: datetime) -> None:
    """Judge budget pacing: a channel's spend to date against its budget's share of time."""
    repo = AlertRepository(session)
    budget = await repo.plan_budget(event.plan_id)
    if budget is None or event.channel_id is None:
        return
    planned = budget.channels.get(str(event.channel_id))
    for rule in await repo.enabled_rules(event.plan_id, kind=("budget_pacing",)):
        if rule.channel_id not in (None, event.channel_id):
            continue
        deviation = None
        if planned is not None and event.spend_to_date.currency == budget.currency:
            deviation = evaluation.pacing_deviation(
                event.spend_to_date.amount,
                Decimal(planned),
                budget.starts_on,
                budget.ends_on,
                event.through_day,
            )
        await lifecycle.observe(
            session,
            rule,
            Observation(value=deviation),
            now,
            plan_id=event.plan_id,
            channel_id=event.channel_id,
            summary=(
                f"spend {event.spend_to_date.amount} {event.spend_to_date.currency} through "
                f"{event.through_day} against a budget of {planned}: "
                f"{'n/a' if deviation is None else f'{deviation:+.1f}%'} off pace ({rule.name})"
            ),
            data_at=start_of(event.through_day),
        )


async def on_event(
    session: AsyncSession,
    event_type: str,
    plan_id: uuid.UUID | None,
    subject: uuid.UUID,
    summary: str,
    now: datetime,
) -> None:
    """A non-metric condition (task overdue, data late …) fires the plan's rule for it once."""
    if plan_id is None:
        return
    for rule in await AlertRepository(session).enabled_rules(plan_id, kind=("event",)):
        if rule.event_type == event_type:
            await lifecycle.observe(
                session,
                rule,
                Observation(value=Decimal(1)),
                now,
                plan_id=plan_id,
                objective_id=subject,
                summary=summary,
            )


async def on_condition_cleared(
    session: AsyncSession, event_type: str, subject: uuid.UUID, reason: str, now: datetime
) -> None:
    """The condition an event rule fired on is over (the task finished, the stage was decided,
    the data arrived): its alerts resolve by themselves, as metric alerts do on recovery."""
    for alert in await AlertRepository(session).open_for_condition(event_type, subject):
        await lifecycle.resolve(session, alert, now, by=None, reason=reason)
        alert.row_version += 1
