"""Sources, their entity mappings and late notices; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from services.metrics.models import Fact, LateNotice, Mapping, Source
from services.metrics.repository import Repository
from shared.kit.pagination import PageWindow, keyset

# A re-mapped campaign: its facts move with the mapping at once (not only when re-reported), and
# the old and the new plan/channel days are marked; all CTEs read the same snapshot, so ``old``
# sees the places before the UPDATE. A mark already there is updated, not skipped, so it stays
# locked until this commit (see MARK_DIRTY in facts/sql.py).
MOVE_ENTITY = text(
    """
    WITH old AS (
        SELECT DISTINCT plan_id, channel_id, day FROM metrics.facts
        WHERE source_id = :source AND entity = :entity
            AND (plan_id IS DISTINCT FROM CAST(:plan AS uuid)
                OR channel_id IS DISTINCT FROM CAST(:channel AS uuid))
    ), moved AS (
        UPDATE metrics.facts SET plan_id = :plan, channel_id = CAST(:channel AS uuid)
        WHERE source_id = :source AND entity = :entity
            AND (plan_id IS DISTINCT FROM CAST(:plan AS uuid)
                OR channel_id IS DISTINCT FROM CAST(:channel AS uuid))
    ), flags AS (
        UPDATE metrics.fraud_flags SET plan_id = :plan, channel_id = CAST(:channel AS uuid)
        WHERE source_id = :source AND entity = :entity
    )
    INSERT INTO metrics.dirty_days (plan_id, channel_key, day)
    SELECT DISTINCT place.plan_id, place.channel_key, old.day
    FROM old CROSS JOIN LATERAL (VALUES
        (old.plan_id, coalesce(old.channel_id::text, 'plan')), (old.plan_id, 'plan'),
        (CAST(:plan AS uuid), coalesce(CAST(CAST(:channel AS uuid) AS text), 'plan')),
        (CAST(:plan AS uuid), 'plan')
    ) AS place(plan_id, channel_key)
    WHERE place.plan_id IS NOT NULL
    ORDER BY 1, 2, 3
    ON CONFLICT (plan_id, channel_key, day) DO UPDATE SET day = EXCLUDED.day
    """
)


class SourcesRepository(Repository):
    """Sources, mappings and who is expected to report."""

    async def source(self, source_id: uuid.UUID) -> Source | None:
        """One source."""
        return await self.session.get(Source, source_id, with_for_update=True)

    async def sources(self, window: PageWindow) -> Sequence[Source]:
        """Up to ``limit + 1`` sources after the cursor, by name."""
        return (
            await self.session.scalars(keyset(select(Source), window, Source.name, Source.id))
        ).all()

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

    async def move_entity(
        self, source_id: uuid.UUID, entity: str, plan_id: uuid.UUID, channel_id: uuid.UUID | None
    ) -> None:
        """Carry a re-mapped campaign's facts and fraud flags to its new plan and channel, and
        mark the days of both the old and the new place for the snapshot job."""
        await self.session.execute(
            MOVE_ENTITY,
            {"source": source_id, "entity": entity, "plan": plan_id, "channel": channel_id},
        )

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

    async def settlement_days(self, plan_id: uuid.UUID) -> int | None:
        """The longest settlement window of the sources mapped to a plan (None: no source)."""
        query = (
            select(func.max(Source.settlement_days))
            .join(Mapping, Mapping.source_id == Source.id)
            .where(Mapping.plan_id == plan_id)
        )
        found = await self.session.scalar(query)
        return None if found is None else int(found)
