"""Fraud flags; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from services.metrics.facts.repository import counted
from services.metrics.models import DirtyDay, Fact, FactRevision, FraudArrivalMark, FraudFlag
from services.metrics.repository import Repository
from shared.kit.pagination import PageWindow, keyset

EXCLUDED = "excluded"


class FraudRepository(Repository):
    """Flags on entity-days and their review."""

    async def claim_fraud_flag(self, values: dict[str, Any]) -> bool:
        """Record a flag once; False when that entity-day already has one for the signal."""
        claimed = await self.session.execute(
            insert(FraudFlag).values(**values).on_conflict_do_nothing().returning(FraudFlag.id)
        )
        return claimed.first() is not None

    async def fraud_flags(
        self, plan_id: uuid.UUID, status: str | None, window: PageWindow
    ) -> Sequence[FraudFlag]:
        """Up to ``limit + 1`` of a plan's flags after the cursor, newest day first."""
        query = select(FraudFlag).where(FraudFlag.plan_id == plan_id)
        if status is not None:
            query = query.where(FraudFlag.status == status)
        paged = keyset(query, window, FraudFlag.day, FraudFlag.id, descending=True)
        return (await self.session.scalars(paged)).all()

    async def fraud_flag(self, flag_id: uuid.UUID) -> FraudFlag | None:
        """One flag, locked for a decision."""
        return await self.session.get(FraudFlag, flag_id, with_for_update=True)

    async def excluded_entity_days(
        self, plan_id: uuid.UUID, until: date, known_at: datetime | None = None
    ) -> int:
        """How many entity-days of a plan up to a day are excluded from net figures (as known
        at a time: by an exclusion decided by then)."""
        query = select(FraudFlag.source_id, FraudFlag.entity, FraudFlag.day).where(
            FraudFlag.plan_id == plan_id, FraudFlag.day <= until, FraudFlag.status == EXCLUDED
        )
        if known_at is not None:
            query = query.where(FraudFlag.decided_at <= known_at)
        days = query.distinct().subquery()
        return int(await self.session.scalar(select(func.count()).select_from(days)) or 0)

    async def mark_dirty(self, plan_id: uuid.UUID, channel_id: uuid.UUID | None, day: date) -> None:
        """Have the snapshot job republish a plan-day (e.g. after an exclusion changed net)."""
        keys = {"plan", str(channel_id or "plan")}
        await self.session.execute(
            insert(DirtyDay)
            .values([{"plan_id": plan_id, "channel_key": k, "day": day} for k in sorted(keys)])
            .on_conflict_do_nothing()
        )

    async def facts_between(
        self,
        first: date,
        last: date,
        metrics: Sequence[str],
        plans: Sequence[uuid.UUID] | None = None,
    ) -> list[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID, str, date, str, Decimal]]:
        """(plan, channel, source, entity, day, metric, value) of mapped facts in a window (of
        some plans, else all); an entity-day reported by the hour has its hours summed (as
        ``counted`` says)."""
        keys = (Fact.plan_id, Fact.channel_id, Fact.source_id, Fact.entity, Fact.day, Fact.metric)
        query = (
            select(*keys, func.sum(Fact.value))
            .where(
                Fact.plan_id.is_not(None),
                Fact.day >= first,
                Fact.day <= last,
                Fact.metric.in_(metrics),
                counted(),
            )
            .group_by(*keys)
        )
        if plans is not None:
            query = query.where(Fact.plan_id.in_(plans))
        return [
            (p, c, s, e, d, m, v)
            for p, c, s, e, d, m, v in (await self.session.execute(query)).all()
            if p is not None
        ]

    async def entity_day(
        self, source_id: uuid.UUID, entity: str, day: date
    ) -> tuple[uuid.UUID | None, uuid.UUID | None] | None:
        """The plan and channel an entity-day's facts carry, None when it has no facts."""
        query = (
            select(Fact.plan_id, Fact.channel_id)
            .where(Fact.source_id == source_id, Fact.entity == entity, Fact.day == day)
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def last_revision(self) -> int:
        """The newest fact revision's id (0 before any)."""
        return int(await self.session.scalar(select(func.max(FactRevision.id))) or 0)

    async def arrival_floor(self, before: datetime) -> int | None:
        """Where the arrivals job reads from: the mark of its latest run at or before
        ``before``, else its oldest kept one; None before its first run."""
        older = await self.session.scalar(
            select(FraudArrivalMark.last_revision)
            .where(FraudArrivalMark.at <= before)
            .order_by(FraudArrivalMark.at.desc())
            .limit(1)
        )
        if older is not None:
            return int(older)
        oldest = await self.session.scalar(
            select(FraudArrivalMark.last_revision).order_by(FraudArrivalMark.at).limit(1)
        )
        return None if oldest is None else int(oldest)

    async def mark_arrivals(self, at: datetime, last_revision: int, keep_after: datetime) -> None:
        """Remember how far a run read, and forget the marks no run will read from again."""
        await self.session.execute(
            insert(FraudArrivalMark)
            .values(at=at, last_revision=last_revision)
            .on_conflict_do_nothing()
        )
        await self.session.execute(delete(FraudArrivalMark).where(FraudArrivalMark.at < keep_after))

    async def touched_plan_days(
        self, after: int, through: int, metrics: Sequence[str]
    ) -> set[tuple[uuid.UUID, date]]:
        """The mapped plan-days whose facts of these metrics revisions (after, through] wrote."""
        query = (
            select(Fact.plan_id, FactRevision.day)
            .join(
                Fact,
                (Fact.source_id == FactRevision.source_id)
                & (Fact.entity == FactRevision.entity)
                & (Fact.day == FactRevision.day)
                & (Fact.hour == FactRevision.hour)
                & (Fact.metric == FactRevision.metric),
            )
            .where(
                FactRevision.id > after,
                FactRevision.id <= through,
                FactRevision.metric.in_(metrics),
                Fact.plan_id.is_not(None),
            )
            .distinct()
        )
        return {(p, d) for p, d in (await self.session.execute(query)).all() if p is not None}
