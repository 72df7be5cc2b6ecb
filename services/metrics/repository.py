"""Every query of the metrics service outside the ingest hot path; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVarTuple

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.models import (
    DirtyDay,
    EvaluationNote,
    Fact,
    FraudFlag,
    LateNotice,
    Mapping,
    PlanTarget,
    Source,
)

Ts = TypeVarTuple("Ts")
EXCLUDED = "excluded"


def net_of_exclusions(query: Select[*Ts]) -> Select[*Ts]:
    """Leave out the facts of entity-days a reviewer excluded as fraudulent."""
    return query.where(
        ~exists().where(
            FraudFlag.source_id == Fact.source_id,
            FraudFlag.entity == Fact.entity,
            FraudFlag.day == Fact.day,
            FraudFlag.status == EXCLUDED,
        )
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
        *,
        net: bool = False,
    ) -> dict[str, Decimal]:
        """Each metric summed over a plan (or one channel), up to a day or for one day.

        ``net`` leaves out the entity-days excluded as fraudulent; gross counts everything.
        """
        query = (
            select(Fact.metric, func.sum(Fact.value))
            .where(Fact.plan_id == plan_id)
            .group_by(Fact.metric)
        )
        query = query.where(Fact.day == day) if day else query.where(Fact.day <= until)
        if channel_id is not None:
            query = query.where(Fact.channel_id == channel_id)
        if net:
            query = net_of_exclusions(query)
        return dict((await self.session.execute(query)).all())

    async def latest(
        self, plan_id: uuid.UUID, until: date, *, net: bool = False
    ) -> dict[str, Decimal]:
        """Each metric's total on its latest reported day (for indices like search volume)."""
        per_day_query = (
            select(Fact.metric, Fact.day, func.sum(Fact.value).label("total"))
            .where(Fact.plan_id == plan_id, Fact.day <= until)
            .group_by(Fact.metric, Fact.day)
        )
        per_day = (net_of_exclusions(per_day_query) if net else per_day_query).subquery()
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

    async def facts_between(
        self, first: date, last: date, metrics: Sequence[str]
    ) -> list[tuple[uuid.UUID, uuid.UUID | None, uuid.UUID, str, date, str, Decimal]]:
        """(plan, channel, source, entity, day, metric, value) of mapped facts in a window."""
        query = select(
            Fact.plan_id,
            Fact.channel_id,
            Fact.source_id,
            Fact.entity,
            Fact.day,
            Fact.metric,
            Fact.value,
        ).where(
            Fact.plan_id.is_not(None),
            Fact.day >= first,
            Fact.day <= last,
            Fact.metric.in_(metrics),
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

    async def claim_fraud_flag(self, values: dict[str, Any]) -> bool:
        """Record a flag once; False when that entity-day already has one for the signal."""
        claimed = await self.session.execute(
            insert(FraudFlag).values(**values).on_conflict_do_nothing().returning(FraudFlag.id)
        )
        return claimed.first() is not None

    async def fraud_flags(self, plan_id: uuid.UUID, status: str | None) -> Sequence[FraudFlag]:
        """A plan's flags, newest day first."""
        query = select(FraudFlag).where(FraudFlag.plan_id == plan_id)
        if status is not None:
            query = query.where(FraudFlag.status == status)
        query = query.order_by(
            FraudFlag.day.desc(), FraudFlag.entity, FraudFlag.signal, FraudFlag.id
        )
        return (await self.session.scalars(query)).all()

    async def fraud_flag(self, flag_id: uuid.UUID) -> FraudFlag | None:
        """One flag, locked for a decision."""
        return await self.session.get(FraudFlag, flag_id, with_for_update=True)

    async def mark_dirty(self, plan_id: uuid.UUID, channel_id: uuid.UUID | None, day: date) -> None:
        """Have the snapshot job republish a plan-day (e.g. after an exclusion changed net)."""
        keys = {"plan", str(channel_id or "plan")}
        await self.session.execute(
            insert(DirtyDay)
            .values([{"plan_id": plan_id, "channel_key": k, "day": day} for k in sorted(keys)])
            .on_conflict_do_nothing()
        )

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
