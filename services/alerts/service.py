"""Alerts' operations: rules (and the default ones), reacting to observations, people's actions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import evaluation, lifecycle, rules
from services.alerts.models import Alert, Channel, PlanBudget, Rule, Silence, idempotency
from services.alerts.repository import AlertRepository
from services.alerts.rules import TARGET_KINDS, Observation
from services.alerts.schemas import (
    AlertFilter,
    AlertRead,
    ChannelIn,
    ChannelRead,
    EvaluationRead,
    NotificationRead,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    SilenceCreate,
    SilenceRead,
    unknown_metric,
)
from shared.contract.events.metrics import (
    KpiSnapshotV1,
    MetricDefinedV1,
    MetricsUpdatedV1,
    SpendRecordedV1,
)
from shared.contract.events.planning import PlanTargetsSetV1
from shared.contract.events.tasks import TaskCreatedV1
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.kit.errors import Conflict, DomainError, NotFound
from shared.kit.http import check_version
from shared.kit.notify.targets import storable
from shared.kit.secrets import secret_box

DEFAULT_CHANNEL = "default"
CHANNEL_DAY_KINDS = ("threshold", "change_over_period", "relative_to_target")
DEFAULT_EVENT_RULES = (
    ("task overdue", "tasks.task.overdue", "warning"),
    ("data late", "metrics.source.data_late", "warning"),
    ("fraud suspected", "metrics.plan.fraud_suspected", "critical"),
    ("approval overdue", "approvals.request.overdue", "info"),
    ("budget line overspent", "planning.plan.budget_line_overspent", "warning"),
)


async def create_rule_once(
    session: AsyncSession, data: RuleCreate, caller: str, key: str | None
) -> RuleRead:
    """Store a rule, once per Idempotency-Key."""
    return await idempotency.run(
        session,
        key=key,
        principal=caller,
        scope="POST /alerts/rules",
        request=data,
        produce=lambda: create_rule(session, data),
        model=RuleRead,
    )


async def create_rule(session: AsyncSession, data: RuleCreate) -> RuleRead:
    """Store a rule."""
    if data.kind != "event":
        derived = await AlertRepository(session).derived_metrics()
        if problem := unknown_metric(data.metric, derived):
            raise UnknownMetric(problem)
    rule = Rule(
        id=uuid.uuid4(),
        **data.model_dump(exclude={"follow_up"}),
        follow_up=data.follow_up.model_dump() if data.follow_up else None,
    )
    await AlertRepository(session).add(rule)
    return RuleRead.model_validate(rule)


async def get_rule(session: AsyncSession, rule_id: uuid.UUID, *, for_update: bool = False) -> Rule:
    """One rule or NotFound."""
    rule = await AlertRepository(session).rule(rule_id, for_update=for_update)
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    return rule


async def update_rule(
    session: AsyncSession, rule_id: uuid.UUID, data: RuleUpdate, if_match: str | None
) -> RuleRead:
    """Tune a rule (If-Match guards concurrent edits)."""
    rule = await get_rule(session, rule_id, for_update=True)
    check_version(rule.row_version, if_match)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(rule, field, value)
    rule.row_version += 1
    await session.flush()
    return RuleRead.model_validate(rule)


async def list_rules(session: AsyncSession, plan_id: uuid.UUID | None) -> list[RuleRead]:
    """Rules of a plan and the global ones, or all."""
    return [
        RuleRead.model_validate(r) for r in await AlertRepository(session).rules(plan_id=plan_id)
    ]


async def on_targets(session: AsyncSession, event: PlanTargetsSetV1) -> None:
    """Each objective gets the '20 % below target' rule unless the plan opted out."""
    repo = AlertRepository(session)
    await repo.keep_budget(
        PlanBudget(
            plan_id=event.plan_id,
            starts_on=event.starts_on,
            ends_on=event.ends_on,
            currency=event.currency,
            channels={str(c.channel_id): str(c.planned_budget.amount) for c in event.channels},
        )
    )
    existing = {r.objective_id or r.event_type: r for r in await repo.default_rules(event.plan_id)}
    if not event.default_alert_rules:
        for kept in existing.values():
            kept.enabled = False
        return
    for objective in event.objectives:
        found = existing.get(objective.objective_id)
        rule = found or Rule(
            id=uuid.uuid4(),
            name=f"{objective.metric} {rules.DEFAULT_THRESHOLD}% below target",
            kind="relative_to_target",
            plan_id=event.plan_id,
            objective_id=objective.objective_id,
            metric=objective.metric,
            direction="below",
            threshold=rules.DEFAULT_THRESHOLD,
            recovery=rules.default_recovery("relative_to_target", rules.DEFAULT_THRESHOLD),
            severity="warning",
            labels={"objective": objective.type.value},
            channels=[DEFAULT_CHANNEL],
            is_default=True,
        )
        if found is None:
            await repo.add(rule)
        rule.target = objective.target_value if objective.target_kind == "absolute" else None
        rule.enabled = True
    for name, event_type, severity in DEFAULT_EVENT_RULES:
        if event_type not in existing:
            await repo.add(
                Rule(
                    id=uuid.uuid4(),
                    name=name,
                    kind="event",
                    plan_id=event.plan_id,
                    event_type=event_type,
                    threshold=Decimal(0),
                    recovery=rules.default_recovery("event", Decimal(0)),
                    severity=severity,
                    labels={},
                    channels=[DEFAULT_CHANNEL],
                    is_default=True,
                )
            )
    await session.flush()


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


async def on_task_created(session: AsyncSession, event: TaskCreatedV1) -> None:
    """Link the follow-up task the tasks service made for an alert back to the alert."""
    if event.alert_id is None:
        return
    alert = await AlertRepository(session).alert(event.alert_id, for_update=True)
    if alert is not None and alert.follow_up_task_id is None:
        alert.follow_up_task_id = event.task_id
        alert.row_version += 1


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


async def get_alert(
    session: AsyncSession, alert_id: uuid.UUID, *, for_update: bool = False
) -> Alert:
    """One alert or NotFound."""
    alert = await AlertRepository(session).alert(alert_id, for_update=for_update)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


async def read(session: AsyncSession, alert: Alert) -> AlertRead:
    """An alert with the evaluations and notifications behind it."""
    repo = AlertRepository(session)
    return AlertRead.model_validate(alert).model_copy(
        update={
            "evaluations": [
                EvaluationRead.model_validate(e) for e in await repo.evaluations(alert.id)
            ],
            "notifications": [
                NotificationRead.model_validate(n) for n in await repo.notifications(alert.id)
            ],
        }
    )


async def list_alerts(session: AsyncSession, where: AlertFilter, *, limit: int) -> list[AlertRead]:
    """Alerts newest first, filtered (history is kept, unlike Alertmanager)."""
    alerts = await AlertRepository(session).alerts(where, limit=limit)
    return [await read(session, a) for a in alerts]


async def acknowledge(
    session: AsyncSession,
    alert_id: uuid.UUID,
    by: str,
    note: str | None,
    now: datetime,
    if_match: str | None,
) -> AlertRead:
    """Take an alert on."""
    alert = await get_alert(session, alert_id, for_update=True)
    check_version(alert.row_version, if_match)
    if alert.state != "firing":
        raise Conflict(
            f"only a firing alert can be acknowledged; this one is {alert.state}",
            rule="alert-lifecycle",
        )
    await lifecycle.acknowledge(session, alert, by, note, now)
    return await read(session, alert)


async def resolve(
    session: AsyncSession,
    alert_id: uuid.UUID,
    by: str,
    reason: str,
    now: datetime,
    if_match: str | None,
) -> AlertRead:
    """Close an alert by hand."""
    alert = await get_alert(session, alert_id, for_update=True)
    check_version(alert.row_version, if_match)
    if alert.state == "resolved":
        raise Conflict("the alert is already resolved", rule="alert-lifecycle")
    await lifecycle.resolve(session, alert, now, by=by, reason=reason)
    alert.row_version += 1
    return await read(session, alert)


async def assign(session: AsyncSession, alert_id: uuid.UUID, assignee: str) -> AlertRead:
    """Say who is on it."""
    alert = await get_alert(session, alert_id, for_update=True)
    alert.assignee = assignee
    alert.row_version += 1
    return await read(session, alert)


async def create_silence_once(
    session: AsyncSession, data: SilenceCreate, author: str, key: str | None
) -> SilenceRead:
    """Mute matching alerts' notifications for a window, once per Idempotency-Key."""
    return await idempotency.run(
        session,
        key=key,
        principal=author,
        scope="POST /alerts/silences",
        request=data,
        produce=lambda: create_silence(session, data, author),
        model=SilenceRead,
    )


async def create_silence(session: AsyncSession, data: SilenceCreate, author: str) -> SilenceRead:
    """Mute matching alerts' notifications for a window."""
    silence = Silence(id=uuid.uuid4(), **data.model_dump(), author=author)
    await AlertRepository(session).add(silence)
    return SilenceRead.model_validate(silence)


async def expire_silence(
    session: AsyncSession, silence_id: uuid.UUID, now: datetime
) -> SilenceRead:
    """End a silence now."""
    silence = await AlertRepository(session).silence(silence_id)
    if silence is None:
        raise NotFound(f"no silence {silence_id}")
    silence.ends_at = min(silence.ends_at, now)
    await session.flush()
    return SilenceRead.model_validate(silence)


async def put_channel(session: AsyncSession, channel_id: str, data: ChannelIn) -> ChannelRead:
    """Create or change a notification channel."""
    repo = AlertRepository(session)
    fields = data.model_dump(mode="json", exclude={"url", "secret", "previous_secrets"})
    fields["url"] = None if data.url is None else str(data.url)
    fields["sealed_secret"] = secret_box().seal(storable(data.secrets()))
    channel = await repo.channel(channel_id)
    if channel is None:
        channel = Channel(id=channel_id, **fields)
        await repo.add(channel)
    else:
        for name, value in fields.items():
            setattr(channel, name, value)
        await session.flush()
    return ChannelRead.model_validate(channel)


async def list_channels(session: AsyncSession) -> list[ChannelRead]:
    """Every notification channel."""
    return [ChannelRead.model_validate(c) for c in await AlertRepository(session).channels()]


class UnknownMetric(DomainError):
    """A rule names a metric that is neither built in nor a derived one learnt of.

    Answered exactly as the body's validation error was before metrics could be derived."""

    status, slug, title = 422, "validation", "Invalid request"

    def __init__(self, message: str) -> None:
        error = {"field": "body", "location": "body", "message": f"Value error, {message}"}
        super().__init__("Invalid input: body", errors=[{**error, "code": "value_error"}])


async def remember_metric(session: AsyncSession, event: MetricDefinedV1) -> None:
    """A derived metric metrics defined: rules may watch it from now on."""
    await AlertRepository(session).remember_derived_metric(event)
