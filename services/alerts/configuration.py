"""Alerts' configuration: rules (and each plan's default ones), silences, notification channels,
and the derived metrics rules may watch."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts import rules
from services.alerts.models import Channel, PlanBudget, Rule, Silence, idempotency
from services.alerts.repository import AlertRepository
from services.alerts.schemas import (
    ChannelIn,
    ChannelRead,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    SilenceCreate,
    SilenceRead,
    unknown_metric,
)
from shared.contract.events.metrics import (
    MetricDefinedV1,
)
from shared.contract.events.planning import PlanTargetsSetV1
from shared.kit.errors import DomainError, NotFound
from shared.kit.http import check_version
from shared.kit.notify.targets import storable
from shared.kit.pagination import Page, PageWindow, page_of
from shared.kit.secrets import secret_box

DEFAULT_CHANNEL = "default"
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


async def list_rules(
    session: AsyncSession, plan_id: uuid.UUID | None, window: PageWindow
) -> Page[RuleRead]:
    """A page of the rules of a plan and the global ones, or of all, oldest first."""
    rows = await AlertRepository(session).rules(window, plan_id=plan_id)
    return page_of(rows, window, lambda r: (r.created_at, r.id), RuleRead.model_validate)


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


async def get_silence(session: AsyncSession, silence_id: uuid.UUID) -> SilenceRead:
    """One silence, or 404."""
    silence = await AlertRepository(session).silence(silence_id, for_update=False)
    if silence is None:
        raise NotFound(f"no silence {silence_id}")
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


async def list_channels(session: AsyncSession, window: PageWindow) -> Page[ChannelRead]:
    """A page of the notification channels, by id."""
    rows = await AlertRepository(session).channels_page(window)
    return page_of(rows, window, lambda c: (c.id,), ChannelRead.model_validate)


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
