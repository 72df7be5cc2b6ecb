"""Every query of the metrics service outside the ingest hot path; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.models import (
    DirtyDay,
    EvaluationNote,
    Fact,
    LateNotice,
    Mapping,
    PlanTarget,
    Source,
)


class MetricsRepository:
    """Sources, mappings, targets and fact aggregates in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        """Insert a row."""
        self.session.add(row)
        await self.session.flush()

    async def source(self, source_id: uuid.UUID) -> Source | None:
        """One source."""
        return await self.session.get(Source, source_id, with_for_update=True)

    async def sources(self) -> Sequence[Source]:
        """Every source by name."""
        return (await self.session.scalars(select(Source).order_by(Source.name))).all()

    async def upsert_mapping(
        self, source_id: uuid.UUID, entity: str, plan_id: uuid.UUID, channel_id: uuid.UUID | None
    ) -> None:
        """Map a platform campaign to a plan and channel."""
        statement = insert(Mapping).values(
            source_id=source_id, entity=entity, plan_id=plan_id, channel_id=channel_id
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[Mapping.source_id, Mapping.entity],
                set_={"plan_id": plan_id, "channel_id": channel_id},
            )
        )

    async def target(self, plan_id: uuid.UUID) -> PlanTarget | None:
        """A plan's targets as planning last published them."""
        return await self.session.get(PlanTarget, plan_id)

    async def sums(
        self,
        plan_id: uuid.UUID,
        until: date,
        channel_id: uuid.UUID | None = None,
        day: date | None = None,
    ) -> dict[str, Decimal]:
        """Each metric summed over a plan (or one channel), up to a day or for one day."""
        query = (
            select(Fact.metric, func.sum(Fact.value))
            .where(Fact.plan_id == plan_id)
            .group_by(Fact.metric)
        )
        query = query.where(Fact.day == day) if day else query.where(Fact.day <= until)
        if channel_id is not None:
            query = query.where(Fact.channel_id == channel_id)
        return dict((await self.session.execute(query)).all())

    async def latest(self, plan_id: uuid.UUID, until: date) -> dict[str, Decimal]:
        """Each metric's total on its latest reported day (for indices like search volume)."""
        per_day = (
            select(Fact.metric, Fact.day, func.sum(Fact.value).label("total"))
            .where(Fact.plan_id == plan_id, Fact.day <= until)
            .group_by(Fact.metric, Fact.day)
            .subquery()
        )
        query = (
            select(per_day.c.metric, per_day.c.total)
            .distinct(per_day.c.metric)
            .order_by(per_day.c.metric, per_day.c.day.desc())
        )
        return dict((await self.session.execute(query)).all())

    async def channel_sums(
        self, plan_id: uuid.UUID, until: date
    ) -> dict[uuid.UUID | None, dict[str, Decimal]]:
        """Metric sums per channel of a plan."""
        query = (
            select(Fact.channel_id, Fact.metric, func.sum(Fact.value))
            .where(Fact.plan_id == plan_id, Fact.day <= until)
            .group_by(Fact.channel_id, Fact.metric)
        )
        out: dict[uuid.UUID | None, dict[str, Decimal]] = {}
        for channel, metric, total in (await self.session.execute(query)).all():
            out.setdefault(channel, {})[metric] = total
        return out

    async def daily(self, plan_id: uuid.UUID, metric: str) -> list[tuple[date, Decimal]]:
        """A metric's daily totals for a plan, for trend charts."""
        query = (
            select(Fact.day, func.sum(Fact.value))
            .where(Fact.plan_id == plan_id, Fact.metric == metric)
            .group_by(Fact.day)
            .order_by(Fact.day)
        )
        return [(d, v) for d, v in (await self.session.execute(query)).all()]

    async def take_dirty(self, limit: int = 500) -> Sequence[DirtyDay]:
        """Claim changed plan/channel/days to publish; another replica skips what we hold."""
        rows = (
            await self.session.scalars(
                select(DirtyDay).limit(limit).with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            await self.session.execute(
                delete(DirtyDay).where(
                    DirtyDay.plan_id == row.plan_id,
                    DirtyDay.channel_key == row.channel_key,
                    DirtyDay.day == row.day,
                )
            )
        return rows

    async def mapped_sources(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Each (source, plan) pair a mapping connects: the sources expected to report."""
        query = select(Mapping.source_id, Mapping.plan_id).distinct()
        return [(s, p) for s, p in (await self.session.execute(query)).all()]

    async def has_facts(self, source_id: uuid.UUID, day: date) -> bool:
        """True when the source reported anything for that day."""
        query = select(Fact.metric).where(Fact.source_id == source_id, Fact.day == day).limit(1)
        return (await self.session.scalars(query)).first() is not None

    async def claim_late_notice(self, source_id: uuid.UUID, plan_id: uuid.UUID, day: date) -> bool:
        """Record a late notice once; False when this source, plan and day already had one."""
        claimed = await self.session.execute(
            insert(LateNotice)
            .values(source_id=source_id, plan_id=plan_id, business_day=day)
            .on_conflict_do_nothing()
            .returning(LateNotice.source_id)
        )
        return claimed.first() is not None

    async def notes(self, plan_id: uuid.UUID) -> dict[uuid.UUID, EvaluationNote]:
        """Users' analysis and suggestions per objective."""
        rows = await self.session.scalars(
            select(EvaluationNote).where(EvaluationNote.plan_id == plan_id)
        )
        return {n.objective_id: n for n in rows}

    async def upsert_note(self, values: dict[str, object]) -> None:
        """Store the analysis and suggestion of one evaluation row."""
        statement = insert(EvaluationNote).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[EvaluationNote.plan_id, EvaluationNote.objective_id],
                set_={k: statement.excluded[k] for k in ("data_source", "analysis", "suggestion")},
            )
        )
