"""Fraud flags; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from services.metrics.facts.repository import counted
from services.metrics.models import DirtyDay, Fact, FraudFlag
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

    async def excluded_entity_days(self, plan_id: uuid.UUID, until: date) -> int:
        """How many entity-days of a plan up to a day are excluded from net figures."""
        days = (
            select(FraudFlag.source_id, FraudFlag.entity, FraudFlag.day)
            .where(
                FraudFlag.plan_id == plan_id, FraudFlag.day <= until, FraudFlag.status == EXCLUDED
            )
            .distinct()
            .subquery()
        )
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
        self, first: date, last: date, metrics: Sequence[str]
    ) -> list[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID, str, date, str, Decimal]]:
        """(plan, channel, source, entity, day, metric, value) of mapped facts in a window; an
        entity-day reported by the hour has its hours summed (as ``counted`` says)."""
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
