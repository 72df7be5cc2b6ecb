"""Every query of the alerts service; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts.models import (
    Alert,
    Channel,
    Evaluation,
    JudgedThrough,
    Notification,
    PlanBudget,
    Rule,
    SeenValue,
    Silence,
    known_metrics,
)
from services.alerts.schemas import AlertFilter
from shared.contract.events.metrics import MetricDefinedV1
from shared.kit.pagination import PageWindow, keyset


class AlertRepository:
    """Rules, alerts, silences, channels and notifications in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: object) -> None:
        """Insert rows."""
        self.session.add_all(rows)
        await self.session.flush()

    async def rule(self, rule_id: uuid.UUID, *, for_update: bool = False) -> Rule | None:
        """One rule."""
        query = select(Rule).where(Rule.id == rule_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def rules(
        self, window: PageWindow, *, plan_id: uuid.UUID | None = None
    ) -> Sequence[Rule]:
        """Up to ``limit + 1`` rules of a plan (and global ones), or of all, oldest first."""
        query = select(Rule)
        if plan_id is not None:
            query = query.where(or_(Rule.plan_id == plan_id, Rule.plan_id.is_(None)))
        return (await self.session.scalars(keyset(query, window, Rule.created_at, Rule.id))).all()

    async def enabled_rules(self, plan_id: uuid.UUID, *, kind: Sequence[str]) -> Sequence[Rule]:
        """Enabled rules of some kinds that apply to a plan."""
        query = select(Rule).where(
            Rule.enabled,
            or_(Rule.plan_id == plan_id, Rule.plan_id.is_(None)),
            Rule.kind.in_(kind),
        )
        return (await self.session.scalars(query.order_by(Rule.created_at))).all()

    async def remember_values(
        self, plan_id: uuid.UUID, scope: str, day: date, values: dict[str, Decimal | None]
    ) -> None:
        """Keep a day's latest values (a restatement replaces the earlier one)."""
        if not values:
            return
        insert = pg_insert(SeenValue).values(
            [
                {"plan_id": plan_id, "scope": scope, "metric": m, "day": day, "value": v}
                for m, v in values.items()
            ]
        )
        await self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["plan_id", "scope", "metric", "day"],
                set_={"value": insert.excluded.value},
            )
        )

    async def seen_value(
        self, plan_id: uuid.UUID, scope: str, metric: str, day: date
    ) -> Decimal | None:
        """A remembered value, if that day was seen."""
        row = await self.session.get(SeenValue, (plan_id, scope, metric, day))
        return None if row is None else row.value

    async def keep_budget(self, budget: PlanBudget) -> None:
        """Replace a plan's budgets with the latest announced."""
        await self.session.merge(budget)
        await self.session.flush()

    async def plan_budget(self, plan_id: uuid.UUID) -> PlanBudget | None:
        """A plan's period and channel budgets."""
        return await self.session.get(PlanBudget, plan_id)

    async def default_rules(self, plan_id: uuid.UUID) -> Sequence[Rule]:
        """The rules made from a plan's targets."""
        query = select(Rule).where(Rule.plan_id == plan_id, Rule.is_default)
        return (await self.session.scalars(query)).all()

    async def advance_judged_through(self, fingerprint: str, data_at: datetime) -> bool:
        """Move the subject's newest judged data point to ``data_at``; False when it is older.

        One statement, so two consumers judging the same subject cannot both win.
        """
        statement = (
            pg_insert(JudgedThrough)
            .values(fingerprint=fingerprint, data_at=data_at)
            .on_conflict_do_update(
                index_elements=[JudgedThrough.fingerprint],
                set_={"data_at": data_at},
                where=JudgedThrough.data_at <= data_at,
            )
            .returning(JudgedThrough.fingerprint)
        )
        return (await self.session.execute(statement)).first() is not None

    async def open_alert(self, fingerprint: str) -> Alert | None:
        """The alert of a fingerprint that is not resolved yet, locked."""
        query = (
            select(Alert)
            .where(Alert.fingerprint == fingerprint, Alert.state != "resolved")
            .with_for_update()
        )
        return (await self.session.scalars(query)).first()

    async def open_for_condition(self, event_type: str, subject: uuid.UUID) -> Sequence[Alert]:
        """Unresolved alerts an event rule raised for one subject (a task, request, source)."""
        query = (
            select(Alert)
            .join(Rule, Rule.id == Alert.rule_id)
            .where(
                Rule.event_type == event_type,
                Alert.objective_id == subject,
                Alert.state != "resolved",
            )
            .with_for_update(of=Alert)
        )
        return (await self.session.scalars(query)).all()

    async def alert(self, alert_id: uuid.UUID, *, for_update: bool = False) -> Alert | None:
        """One alert."""
        query = select(Alert).where(Alert.id == alert_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def alerts(self, where: AlertFilter, window: PageWindow) -> Sequence[Alert]:
        """Up to ``limit + 1`` alerts after the cursor, newest first, filtered."""
        query = select(Alert)
        for column, value in (
            (Alert.plan_id, where.plan_id),
            (Alert.state, where.state),
            (Alert.severity, where.severity),
        ):
            if value is not None:
                query = query.where(column == value)
        if where.since is not None:
            query = query.where(Alert.started_at >= where.since)
        if where.until is not None:
            query = query.where(Alert.started_at < where.until)
        paged = keyset(query, window, Alert.started_at, Alert.id, descending=True)
        return (await self.session.scalars(paged)).all()

    async def firing_critical(self, plan_id: uuid.UUID) -> bool:
        """True when a critical alert of the plan is firing (it inhibits the plan's warnings)."""
        query = select(Alert.id).where(
            Alert.plan_id == plan_id,
            Alert.severity == "critical",
            Alert.state.in_(("firing", "acknowledged")),
        )
        return (await self.session.scalars(query.limit(1))).first() is not None

    async def active_silences(self, at: datetime) -> Sequence[Silence]:
        """Silences in force at a moment."""
        query = select(Silence).where(Silence.starts_at <= at, Silence.ends_at > at)
        return (await self.session.scalars(query)).all()

    async def silence(self, silence_id: uuid.UUID, *, for_update: bool = True) -> Silence | None:
        """One silence (locked, unless only read)."""
        return await self.session.get(Silence, silence_id, with_for_update=for_update)

    async def channels(
        self, ids: Sequence[str] | None = None, *, level: int | None = None
    ) -> Sequence[Channel]:
        """Notification channels by id, or by escalation level."""
        query = select(Channel).order_by(Channel.id)
        if ids is not None:
            query = query.where(Channel.id.in_(ids))
        if level is not None:
            query = query.where(Channel.escalation_level == level)
        return (await self.session.scalars(query)).all()

    async def channels_page(self, window: PageWindow) -> Sequence[Channel]:
        """Up to ``limit + 1`` notification channels after the cursor, by id."""
        return (await self.session.scalars(keyset(select(Channel), window, Channel.id))).all()

    async def channel(self, channel_id: str) -> Channel | None:
        """One channel."""
        return await self.session.get(Channel, channel_id)

    async def due_notifications(self, now: datetime, limit: int = 100) -> Sequence[Notification]:
        """Pending notifications whose time has come; another worker skips what we hold."""
        query = (
            select(Notification)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def waiting_batch(self, channel_id: str, group_key: str) -> datetime | None:
        """When the group's not-yet-attempted batch goes out, if one is waiting."""
        query = select(func.min(Notification.next_attempt_at)).where(
            Notification.channel_id == channel_id,
            Notification.group_key == group_key,
            Notification.status == "pending",
            func.jsonb_array_length(Notification.attempts) == 0,
        )
        return (await self.session.scalars(query)).first()

    async def last_sent(self, channel_id: str, group_key: str) -> datetime | None:
        """When the group last got a message through."""
        query = select(func.max(Notification.sent_at)).where(
            Notification.channel_id == channel_id, Notification.group_key == group_key
        )
        return (await self.session.scalars(query)).first()

    async def unacknowledged(self) -> Sequence[Alert]:
        """Firing alerts nobody took on, locked for the watch."""
        query = select(Alert).where(Alert.state == "firing").with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def open_by_severity(self) -> dict[str, int]:
        """How many alerts are firing or acknowledged, per severity."""
        query = (
            select(Alert.severity, func.count())
            .where(Alert.state.in_(("firing", "acknowledged")))
            .group_by(Alert.severity)
        )
        return {severity: int(n) for severity, n in (await self.session.execute(query)).all()}

    async def evaluations(self, alert_id: uuid.UUID) -> Sequence[Evaluation]:
        """An alert's evidence, oldest first."""
        query = (
            select(Evaluation)
            .where(Evaluation.alert_id == alert_id)
            .order_by(Evaluation.at, Evaluation.id)
        )
        return (await self.session.scalars(query)).all()

    async def notifications(self, alert_id: uuid.UUID) -> Sequence[Notification]:
        """An alert's notifications."""
        query = (
            select(Notification)
            .where(Notification.alert_id == alert_id)
            .order_by(Notification.next_attempt_at)
        )
        return (await self.session.scalars(query)).all()

    async def remember_derived_metric(self, event: MetricDefinedV1) -> None:
        """Keep a derived metric the metrics service announced (the newest version wins)."""
        await known_metrics.remember(self.session, event)

    async def derived_metrics(self) -> dict[str, str]:
        """The derived metrics known so far: key → kind."""
        return await known_metrics.kinds(self.session)
